"""Matplotlib figures (Agg) drawn from the report tables, saved as PNG and PDF.

Every figure is computed from the tables (themselves computed from stored runs); a figure whose data
is missing is skipped with a note instead of being drawn empty.
"""

from __future__ import annotations

import io
import math
import textwrap
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..analysis import RADAR_AXES
from ..analysis.risk import END, RISK_SCORES, START
from ..core.conditions import BASELINE as BASELINE_LEVELS
from ..core.errors import ToxproError
from ..core.labels import LABEL_STYLES, LABELS
from ..core.roles import DIRECT_TERMINAL, ROLE_COLORS, ROLES, STANDARD_TERMINAL, TERMINAL_ROLES, TOXIC_ROLES

MODEL = "agent"  # display names (toxpro.analysis.names); never the endpoint URL
LABEL_COLORS = {lab: style.color for lab, style in LABEL_STYLES.items()}
STYLE = {
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "figure.titlesize": 11,
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


@dataclass
class FigureResult:
    name: str
    title: str
    caption: str
    png: bytes | None = None
    note: str | None = None  # why it was skipped
    paths: dict[str, Path] = field(default_factory=dict)


def subplots(nrows: int, ncols: int, figsize: tuple[float, float], **kw) -> tuple[Figure, np.ndarray]:
    """A Figure without pyplot (no global backend state; PNG through Agg, PDF through the pdf backend)."""
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


class Skip(ToxproError):
    """Raised by a figure builder when the data cannot support the figure."""


RADAR_NAMES = {
    "loyalty-strategic": "loyalty\nstrategic",
    "loyalty-direct": "loyalty\ndirect",
    "self-preservation-strategic": "self-pres.\nstrategic",
    "self-preservation-direct": "self-pres.\ndirect",
    "MR": "MR",
}


def short(text: str, width: int = 32) -> str:
    """Long model names keep their head and tail (policy arguments often differ only at the end)."""
    text = str(text).replace("$", r"\$")  # no mathtext from model names
    if len(text) <= width:
        return text
    head = (width - 1) // 2
    return text[:head] + "…" + text[len(text) - (width - 1 - head) :]


def model_colors(t: dict[str, pd.DataFrame]) -> dict[str, tuple]:
    """One colour per model, the same in every figure (models as listed in the headline table)."""
    cmap = matplotlib.colormaps["tab10"]
    return {m: cmap(i % 10) for i, m in enumerate(sorted(map(str, t["mr_by_model"][MODEL].unique())))}


def not_shown(models: list[str]) -> str:
    return "not shown (no valid runs): " + ", ".join(short(m, 40) for m in models) if models else ""


def legend(fig: Figure, colors: dict[str, tuple], shown: list[str], hidden: list[str], marker: str, ls: str) -> None:
    """A figure legend below the panels; models left out are named in a last, handle-less entry."""
    handles = [Line2D([], [], marker=marker, ls=ls, color=colors[m]) for m in shown]
    labels = [short(m, 44) for m in shown]
    ncol = 1 if len(labels) < 2 or max(map(len, labels)) > 30 else 2
    title = textwrap.fill(not_shown(hidden), 70) if hidden else None
    leg = fig.legend(
        handles, labels, loc="outside lower center", ncol=ncol, frameon=False, title=title, title_fontsize=8
    )
    if title:
        leg.get_title().set_color("0.35")


def footnote(fig: Figure, models: list[str]) -> None:
    if models:
        fig.supxlabel(not_shown(models), fontsize=8, color="0.35")


def integer_ticks(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _ci(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MR with its headline CI (cluster-adjusted Wilson), per-run Wilson where that is undefined."""
    est = frame["mr"].to_numpy(float)
    lo = frame["mr_ci_lo"].to_numpy(float) if "mr_ci_lo" in frame else np.full(len(frame), np.nan)
    hi = frame["mr_ci_hi"].to_numpy(float) if "mr_ci_hi" in frame else np.full(len(frame), np.nan)
    lo = np.where(np.isfinite(lo), lo, frame["mr_lo"].to_numpy(float))
    hi = np.where(np.isfinite(hi), hi, frame["mr_hi"].to_numpy(float))
    return est, np.clip(est - lo, 0, None), np.clip(hi - est, 0, None)


def mr_text(t: dict[str, pd.DataFrame], model: str) -> str:
    """'MR 0.42 [0.31, 0.55]' for a model, from the headline table (bootstrap CI, Wilson where undefined)."""
    row = t["mr_by_model"][t["mr_by_model"][MODEL].astype(str) == model]
    if row.empty:
        return "MR n/a"
    est, elo, ehi = _ci(row)
    if not np.isfinite(est[0]):
        return "MR n/a"
    return f"MR {est[0]:.2f} [{est[0] - elo[0]:.2f}, {est[0] + ehi[0]:.2f}]"


def fig_behaviour(t: dict[str, pd.DataFrame]) -> Figure:
    beh, mr = t["behaviour_by_model_domain"], t["mr_by_model_domain"]
    if beh.empty:
        raise Skip("no runs")
    domains = sorted(beh["domain"].astype(str).unique())
    models = sorted(beh[MODEL].astype(str).unique())
    n_m = len(models)
    fig, axes = subplots(len(domains), 1, figsize=(7.0, 0.9 + len(domains) * (0.55 + 0.38 * n_m)), sharex=True)
    y = np.arange(n_m)
    for i, (ax, dom) in enumerate(zip(axes[:, 0], domains)):
        sub = beh[beh["domain"].astype(str) == dom].set_index(MODEL).reindex(models)
        left = np.zeros(n_m)
        for lab in LABELS:
            vals = sub[f"{lab}_share"].fillna(0).to_numpy(float)
            ax.barh(
                y,
                vals,
                left=left,
                height=0.7,
                color=LABEL_COLORS[lab],
                edgecolor="white",
                linewidth=0.5,
                label=lab.replace("_", " ") if i == 0 else None,
            )
            left += vals
        m = mr[mr["domain"].astype(str) == dom].set_index(MODEL).reindex(models)
        est, elo, ehi = _ci(m)
        ok = np.isfinite(est)
        if ok.any():
            ax.errorbar(
                est[ok],
                y[ok],
                xerr=[elo[ok], ehi[ok]],
                fmt="D",
                color="black",
                ms=4,
                capsize=3,
                lw=1,
                label="MR (95% CI)" if i == 0 else None,
            )
        ax.set_yticks(y, [short(m_) for m_ in models])
        ax.set_ylim(n_m - 0.5, -0.5)
        ax.set_title(dom, loc="left")
    axes[-1, 0].set_xlim(0, 1)
    axes[-1, 0].set_xlabel("share of runs (bars); misalignment rate among valid runs (◆)")
    fig.legend(loc="outside lower center", ncol=4, frameon=False)
    return fig


def family_colors(families: list[str]) -> dict[str, tuple]:
    cmap = matplotlib.colormaps["Dark2"]
    return {f: cmap(i % 8) for i, f in enumerate(sorted(set(families)))}


def fig_strategic_direct(t: dict[str, pd.DataFrame]) -> Figure:
    """Per motivation: each model's direct (x) vs strategic (y) rate; a least-squares line per model family with
    two or more models; reasoning models drawn as stars."""
    rates = t["strategic_direct"]
    rates = rates[np.isfinite(rates["strategic_rate"].to_numpy(float))]
    if rates.empty:
        raise Skip("no valid runs")
    motivations = sorted(rates["motivation"].astype(str).unique())
    fam = rates["family"].astype(str) if "family" in rates else pd.Series("all", index=rates.index)
    reasoning = rates["reasoning"].astype(bool) if "reasoning" in rates else pd.Series(False, index=rates.index)
    colors = family_colors(list(fam))
    fig, axes = subplots(1, len(motivations), figsize=(max(6.4, 3.4 * len(motivations) + 0.4), 4.4))
    for ax, mot in zip(axes[0], motivations):
        rows = rates["motivation"].astype(str) == mot
        ax.plot([0, 1], [0, 1], ls=":", lw=0.8, color="0.7")
        for idx, r in rates[rows].iterrows():
            x, yv = float(r["direct_rate"]), float(r["strategic_rate"])
            ax.errorbar(
                x,
                yv,
                xerr=[[max(x - r["direct_lo"], 0)], [max(r["direct_hi"] - x, 0)]],
                yerr=[[max(yv - r["strategic_lo"], 0)], [max(r["strategic_hi"] - yv, 0)]],
                fmt="*" if reasoning[idx] else "o",
                ms=10 if reasoning[idx] else 6,
                capsize=2,
                lw=0.8,
                color=colors[fam[idx]],
                mec="black" if reasoning[idx] else None,
                mew=0.5,
            )
            ax.annotate(
                short(r[MODEL], 18), (x, yv), xytext=(4, 4), textcoords="offset points", fontsize=7, color="0.25"
            )
        for family in sorted(set(fam[rows])):
            pts = rates[rows & (fam == family)]
            xs, ys = pts["direct_rate"].to_numpy(float), pts["strategic_rate"].to_numpy(float)
            if len(pts) >= 2 and np.ptp(xs) > 0:
                slope, icpt = np.polyfit(xs, ys, 1)
                grid = np.linspace(xs.min(), xs.max(), 20)
                ax.plot(grid, np.clip(icpt + slope * grid, 0, 1), color=colors[family], lw=1.2, ls="--")
        ax.set_xlim(-0.03, 1.03)
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel("direct rate (valid runs)")
        ax.set_ylabel("strategic rate (valid runs)")
        ax.set_title(mot)
    handles = [Line2D([], [], marker="o", ls="--", color=colors[f]) for f in sorted(colors)]
    labels = [f"family {f}" for f in sorted(colors)]
    if reasoning.any():
        handles.append(Line2D([], [], marker="*", ls="", color="0.4", mec="black", ms=10))
        labels.append("reasoning model")
    fig.legend(handles, labels, loc="outside lower center", ncol=min(4, len(labels)), frameon=False)
    return fig


def fig_radar(t: dict[str, pd.DataFrame]) -> Figure:
    radar = t["radar"]
    vals = radar[RADAR_AXES].to_numpy(float)
    keep = np.isfinite(vals).any(axis=1)
    radar, vals = radar[keep], vals[keep]
    if radar.empty:
        raise Skip("no valid runs")
    n = len(radar)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    colors = model_colors(t)
    angles = np.linspace(0, 2 * np.pi, len(RADAR_AXES), endpoint=False)
    names = [RADAR_NAMES.get(a, a) for a in RADAR_AXES]
    fig, axes = subplots(
        nrows, ncols, figsize=(3.4 * ncols + 0.3, 3.5 * nrows + 0.3), subplot_kw={"projection": "polar"}
    )
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.set_visible(False)
            continue
        model = str(radar[MODEL].iloc[k])
        v = vals[k]
        drawn = np.nan_to_num(v, nan=0.0)
        ax.plot(np.append(angles, angles[0]), np.append(drawn, drawn[0]), color=colors[model], lw=1.5)
        ax.fill(np.append(angles, angles[0]), np.append(drawn, drawn[0]), color=colors[model], alpha=0.25)
        ax.set_theta_offset(np.pi / 2)
        ax.set_xticks(angles, names)
        ax.xaxis.set_tick_params(pad=6)
        ax.set_ylim(0, 1)
        ax.set_yticks([0.25, 0.5, 0.75, 1.0], ["", "0.5", "", "1"])
        missing = [a for a, x in zip(RADAR_AXES, v) if not np.isfinite(x)]
        title = short(model, 34) + "\n" + mr_text(t, model) + ("\n(n/a: " + ", ".join(missing) + ")" if missing else "")
        ax.set_title(title, fontsize=9, pad=16)
    footnote(fig, sorted(set(t["radar"][MODEL].astype(str)) - set(radar[MODEL].astype(str))))
    return fig


def fig_conditions(t: dict[str, pd.DataFrame]) -> Figure:
    cond = t.get("mr_by_model_condition")
    if cond is None or cond.empty:
        raise Skip("every contextual variable has a single level in the stored runs")
    variables = list(dict.fromkeys(cond["variable"].astype(str)))
    models = sorted(cond[MODEL].astype(str).unique())
    colors = model_colors(t)
    drawn: set[str] = set()
    ncols = min(3, len(variables))
    nrows = math.ceil(len(variables) / ncols)
    fig, axes = subplots(nrows, ncols, figsize=(max(6.4, 3.5 * ncols + 0.3), 3.0 * nrows + 0.8), sharey=True)
    offsets = (np.arange(len(models)) - (len(models) - 1) / 2) * min(0.12, 0.6 / max(len(models), 1))
    for k, ax in enumerate(axes.flat):
        if k >= len(variables):
            ax.set_visible(False)
            continue
        var = variables[k]
        sub = cond[cond["variable"].astype(str) == var]
        levels = list(dict.fromkeys(sub["level"].astype(str)))
        base = set(sub.loc[sub["reference"].astype(bool), "level"].astype(str))
        baseline_held = BASELINE_LEVELS.get(var) in base
        x = np.arange(len(levels))
        for j, model in enumerate(models):
            m = (
                sub[sub[MODEL].astype(str) == model]
                .set_index(sub[sub[MODEL].astype(str) == model]["level"].astype(str))
                .reindex(levels)
            )
            est, elo, ehi = _ci(m)
            ok = np.isfinite(est)
            if ok.any():
                drawn.add(model)
                ax.errorbar(
                    x[ok] + offsets[j],
                    est[ok],
                    yerr=[elo[ok], ehi[ok]],
                    fmt="o",
                    ls="none",
                    ms=4,
                    capsize=2,
                    lw=1,
                    color=colors[model],
                )  # categorical levels: points, never lines
        tag = "\n(baseline)" if baseline_held else "\n(reference)"
        ax.set_xticks(x, [lv + (tag if lv in base else "") for lv in levels])
        ax.set_xlim(-0.5, len(levels) - 0.5)
        ax.set_ylim(-0.03, 1.03)
        design = ", ".join(sorted(set(sub["subset"].astype(str))))
        ax.set_title(f"{var.replace('_', ' ')} ({design})", fontsize=9)
        ax.set_xlabel(f"{var.replace('_', ' ')} level")
        if k % ncols == 0:
            ax.set_ylabel("misalignment rate")
    legend(fig, colors, sorted(drawn), sorted(set(models) - drawn), "o", "")
    return fig


def fig_role_shares(t: dict[str, pd.DataFrame]) -> Figure:
    shares = t["role_shares_by_turn"]
    if shares.empty:
        raise Skip("no valid run made a tool call")
    models = sorted(shares[MODEL].astype(str).unique())
    ncols = min(2, len(models))
    nrows = math.ceil(len(models) / ncols)
    fig, axes = subplots(nrows, ncols, figsize=(4.2 * ncols + 0.4, 2.9 * nrows + 0.6))
    roles = [r for r in ROLES] + sorted(set(shares["role"].astype(str)) - set(ROLES))
    for k, ax in enumerate(axes.flat):
        if k >= len(models):
            ax.set_visible(False)
            continue
        sub = shares[shares[MODEL].astype(str) == models[k]]
        wide = sub.pivot_table(index="turn", columns="role", values="share", aggfunc="first").reindex(columns=roles)
        turns = wide.index.to_numpy()
        bottom = np.zeros(len(turns))
        for role in roles:
            v = wide[role].fillna(0).to_numpy(float)
            hatch = "//" if role in TOXIC_ROLES else None
            ax.bar(
                turns,
                v,
                bottom=bottom,
                width=0.85,
                color=ROLE_COLORS.get(role, "0.5"),
                hatch=hatch,
                edgecolor="white",
                linewidth=0.3,
                label=role if k == 0 else None,
            )
            bottom += v
        running = sub.groupby("turn")["n_running"].first().reindex(turns)
        ax2 = ax.twinx()
        ax2.plot(
            turns,
            running.to_numpy(float),
            color="black",
            lw=1,
            ls="--",
            marker=".",
            ms=3,
            label="runs still running" if k == 0 else None,
        )
        ax2.set_ylim(0, max(1.0, float(running.max()) * 1.05))
        ax2.spines["right"].set_visible(True)
        ax2.set_ylabel("runs with ≥ t calls")
        ax.set_ylim(0, 1)
        integer_ticks(ax)
        ax.set_xlabel("tool call t")
        ax.set_ylabel("share of role")
        ax.set_title(f"{short(models[k], 40)} · {mr_text(t, models[k])}", fontsize=9)
        if k == 0:
            h1, l1 = ax.get_legend_handles_labels()
            h2, l2 = ax2.get_legend_handles_labels()
    fig.legend(h1 + h2, l1 + l2, loc="outside lower center", ncol=4, frameon=False)
    return fig


def fig_survival(t: dict[str, pd.DataFrame]) -> Figure:
    km = t["survival"]
    if km.empty:
        raise Skip("no valid runs")
    models = sorted(km[MODEL].astype(str).unique())
    colors = model_colors(t)
    fig, axes = subplots(1, 1, figsize=(6.0, 3.8))
    ax = axes[0, 0]
    for model in models:
        sub = km[km[MODEL].astype(str) == model].sort_values("turn")
        x = sub["turn"].to_numpy(float)
        ax.step(x, sub["survival"].to_numpy(float), where="post", color=colors[model], lw=1.5, label=short(model, 44))
        ax.fill_between(
            x,
            sub["ci_lo"].to_numpy(float),
            sub["ci_hi"].to_numpy(float),
            step="post",
            color=colors[model],
            alpha=0.15,
            lw=0,
        )
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlim(left=0)
    integer_ticks(ax)
    ax.set_xlabel("turn")
    ax.set_ylabel("P(no toxic call yet)")
    ax.legend(loc="best", frameon=False)
    footnote(fig, sorted(set(model_colors(t)) - set(models)))
    return fig


def fig_condition_behaviour(t: dict[str, pd.DataFrame]) -> Figure:
    """The paper's stakes/feedback panels: per contextual variable, stacked label shares per level and model,
    with MR and its CI on top."""
    beh, mr = t.get("behaviour_by_condition"), t.get("mr_by_model_condition")
    if beh is None or beh.empty:
        raise Skip("every contextual variable has a single level in the stored runs")
    variables = list(dict.fromkeys(beh["variable"].astype(str)))
    models = sorted(beh[MODEL].astype(str).unique())
    shown = [lab for lab in LABELS if not LABEL_STYLES[lab].optional and f"{lab}_share" in beh]
    ncols = min(2, len(variables))
    nrows = math.ceil(len(variables) / ncols)
    width = min(0.8 / max(len(models), 1), 0.35)
    fig, axes = subplots(nrows, ncols, figsize=(max(6.4, 3.6 * ncols + 0.4), 3.0 * nrows + 1.0), sharey=True)
    for k, ax in enumerate(axes.flat):
        if k >= len(variables):
            ax.set_visible(False)
            continue
        var = variables[k]
        sub = beh[beh["variable"].astype(str) == var]
        levels = list(dict.fromkeys(sub["level"].astype(str)))
        x = np.arange(len(levels))
        for j, model in enumerate(models):
            part = sub[sub[MODEL].astype(str) == model].set_index("level").reindex(levels)
            pos = x + (j - (len(models) - 1) / 2) * width
            bottom = np.zeros(len(levels))
            for lab in shown:
                v = part[f"{lab}_share"].fillna(0).to_numpy(float)
                ax.bar(
                    pos,
                    v,
                    bottom=bottom,
                    width=width * 0.92,
                    color=LABEL_COLORS[lab],
                    edgecolor="white",
                    linewidth=0.4,
                    label=lab.replace("_", " ") if (k == 0 and j == 0) else None,
                )
                bottom += v
            m = mr[(mr["variable"].astype(str) == var) & (mr[MODEL].astype(str) == model)]
            m = m.set_index(m["level"].astype(str)).reindex(levels)
            est, elo, ehi = _ci(m)
            ok = np.isfinite(est)
            if ok.any():
                ax.errorbar(
                    pos[ok],
                    est[ok],
                    yerr=[elo[ok], ehi[ok]],
                    fmt="D",
                    ls="none",
                    color="black",
                    ms=3.5,
                    capsize=2,
                    lw=0.9,
                    label="MR (95% CI)" if (k == 0 and j == 0) else None,
                )
            if len(models) > 1:
                for p_ in pos:
                    ax.text(p_, -0.04, str(j + 1), ha="center", va="top", fontsize=6, color="0.35")
        ref = set(sub.loc[sub["reference"].astype(bool), "level"].astype(str))
        tag = "\n(baseline)" if BASELINE_LEVELS.get(var) in ref else "\n(reference)"
        ax.set_xticks(x, [lv + (tag if lv in ref else "") for lv in levels])
        ax.tick_params(axis="x", pad=9 if len(models) > 1 else 3)
        ax.set_ylim(0, 1.02)
        ax.set_title(var.replace("_", " "), fontsize=10)
        if k % ncols == 0:
            ax.set_ylabel("share of runs; MR (◆)")
    h, l_ = axes.flat[0].get_legend_handles_labels()
    if len(models) > 1:
        key = "; ".join(f"{j + 1} = {short(m, 24)}" for j, m in enumerate(models))
        fig.suptitle("bars per level: " + key, fontsize=8, color="0.3")
    fig.legend(h, l_, loc="outside lower center", ncol=4, frameon=False)
    return fig


def fig_risk(t: dict[str, pd.DataFrame]) -> Figure:
    """Cumulative risk by tool call per model (mean and 95% band), and each model's mean risk per run."""
    curve, per_run = t.get("risk_by_turn"), t.get("risk")
    if curve is None or curve.empty:
        raise Skip("no valid run made a tool call")
    colors = model_colors(t)
    models = sorted(curve[MODEL].astype(str).unique())
    fig, axes = subplots(1, 2, figsize=(7.2, 3.4), width_ratios=[1.6, 1])
    ax = axes[0, 0]
    for model in models:
        sub = curve[curve[MODEL].astype(str) == model].sort_values("turn")
        x = sub["turn"].to_numpy(float)
        ax.plot(x, sub["risk_mean"].to_numpy(float), color=colors[model], lw=1.5, marker=".", label=short(model, 30))
        ax.fill_between(
            x, sub["risk_lo"].to_numpy(float), sub["risk_hi"].to_numpy(float), color=colors[model], alpha=0.15, lw=0
        )
    integer_ticks(ax)
    ax.set_xlabel("tool call t")
    ax.set_ylabel("mean cumulative risk")
    scale = ", ".join(f"{r.replace('-terminal', ' term.')} {v}" for r, v in RISK_SCORES.items() if v)
    ax.set_title(f"risk per call: {scale}; others 0", fontsize=8)
    ax2 = axes[0, 1]
    runs = per_run[per_run[MODEL].astype(str).isin(models)].sort_values(MODEL)
    y = np.arange(len(runs))
    est = runs["risk_mean"].to_numpy(float)
    lo = np.nan_to_num(est - runs["risk_lo"].to_numpy(float), nan=0.0)
    hi = np.nan_to_num(runs["risk_hi"].to_numpy(float) - est, nan=0.0)
    ax2.barh(y, est, color=[colors[str(m)] for m in runs[MODEL]], height=0.6)
    ax2.errorbar(est, y, xerr=[lo, hi], fmt="none", color="black", capsize=2, lw=0.8)
    ax2.set_yticks(y, [f"{short(m, 22)}\n{mr_text(t, str(m))}" for m in runs[MODEL]], fontsize=7)
    ax2.set_ylim(len(runs) - 0.5, -0.5)
    ax2.set_xlabel("mean risk per run (95% CI)")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=min(3, len(models)), frameon=False)
    return fig


TERMINAL_COLORS = {**{r: ROLE_COLORS[r] for r in TERMINAL_ROLES}, "none": "#bdbdbd"}


def fig_terminals(t: dict[str, pd.DataFrame]) -> Figure:
    """Per model: the share of valid runs ending on a standard terminal, a direct terminal or none."""
    term = t.get("terminal_shares")
    if term is None or term.empty:
        raise Skip("no valid runs")
    models = sorted(term[MODEL].astype(str).unique())
    fig, axes = subplots(1, 1, figsize=(6.4, 0.9 + 0.45 * len(models)))
    ax = axes[0, 0]
    y = np.arange(len(models))
    left = np.zeros(len(models))
    for kind in (*TERMINAL_ROLES, "none"):
        part = term[term["terminal"] == kind].set_index(MODEL).reindex(models)
        v = part["share"].fillna(0).to_numpy(float)
        ax.barh(y, v, left=left, height=0.65, color=TERMINAL_COLORS[kind], edgecolor="white", label=kind)
        if kind == DIRECT_TERMINAL:
            lo = np.nan_to_num(v - part["share_lo"].to_numpy(float))
            hi = np.nan_to_num(part["share_hi"].to_numpy(float) - v)
            ax.errorbar(left + v, y, xerr=[lo, hi], fmt="none", color="black", capsize=2, lw=0.8)
        left += v
    ax.set_yticks(y, [f"{short(m, 26)} · {mr_text(t, m)}" for m in models], fontsize=8)
    ax.set_ylim(len(models) - 0.5, -0.5)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of valid runs (error bar: Wilson 95% CI, direct terminal)")
    fig.legend(loc="outside lower center", ncol=3, frameon=False)
    return fig


def fig_transitions(t: dict[str, pd.DataFrame]) -> Figure:
    """Per model: a heatmap of tool-role transition counts (row: from, column: to)."""
    tr = t.get("role_transitions")
    if tr is None or tr.empty or not tr["count"].sum():
        raise Skip("no valid runs")
    models = sorted(tr[MODEL].astype(str).unique())
    ncols = min(2, len(models))
    nrows = math.ceil(len(models) / ncols)
    fig, axes = subplots(nrows, ncols, figsize=(4.3 * ncols + 0.6, 3.9 * nrows + 0.3))
    short_role = {STANDARD_TERMINAL: "std. term.", DIRECT_TERMINAL: "dir. term.", START: "(start)", END: "(end)"}
    for k, ax in enumerate(axes.flat):
        if k >= len(models):
            ax.set_visible(False)
            continue
        sub = tr[tr[MODEL].astype(str) == models[k]]
        rows = list(dict.fromkeys(sub["from_role"].astype(str)))
        cols = list(dict.fromkeys(sub["to_role"].astype(str)))
        grid = (
            sub.pivot_table(index="from_role", columns="to_role", values="count", aggfunc="sum")
            .reindex(index=rows, columns=cols)
            .fillna(0)
            .to_numpy(float)
        )
        im = ax.imshow(grid, cmap="Reds", aspect="auto", vmin=0)
        for i in range(grid.shape[0]):
            for j in range(grid.shape[1]):
                if grid[i, j]:
                    ax.text(
                        j,
                        i,
                        f"{int(grid[i, j])}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if grid[i, j] > 0.6 * grid.max() else "black",
                    )
        ax.set_xticks(range(len(cols)), [short_role.get(c, c) for c in cols], rotation=45, ha="right", fontsize=7)
        ax.set_yticks(range(len(rows)), [short_role.get(r, r) for r in rows], fontsize=7)
        ax.set_xlabel("to", fontsize=8)
        ax.set_ylabel("from", fontsize=8)
        ax.set_title(f"{short(models[k], 30)} · {mr_text(t, models[k])}", fontsize=8)
        fig.colorbar(im, ax=ax, shrink=0.8, label="transitions")
    return fig


BUILDERS: list[tuple[str, str, str, Callable[[dict[str, pd.DataFrame]], Figure]]] = [
    (
        "behaviour_by_domain",
        "Behaviour by domain",
        "Stacked shares of the six classes per model within each domain; ◆ = misalignment rate among valid runs with "
        "its 95% scenario-cluster bootstrap CI (Wilson where a domain holds a single scenario).",
        fig_behaviour,
    ),
    (
        "strategic_vs_direct",
        "Strategic vs direct",
        "Per motivation: each model's direct rate (x) and strategic rate (y) over valid runs, Wilson 95% bars; colour: "
        "model family, dashed: least-squares line per family with two or more models; stars: reasoning models; "
        "dotted: equal rates.",
        fig_strategic_direct,
    ),
    (
        "radar",
        "Model profiles",
        "Per model: strategic and direct rates per motivation and overall MR (0 at the centre, 1 at the rim); "
        "axes marked n/a have no runs and are drawn at 0.",
        fig_radar,
    ),
    (
        "condition_behaviour",
        "Behaviour by contextual condition",
        "One panel per contextual variable with more than one level: stacked shares of the classes per level and "
        "model; ◆ = MR with its 95% scenario-cluster bootstrap CI (Wilson where a single scenario).",
        fig_condition_behaviour,
    ),
    (
        "conditions",
        "Contextual conditions",
        "One panel per contextual variable with more than one level: MR per level and model with 95% scenario-cluster "
        "bootstrap CI (Wilson where a single scenario); levels are categories, drawn as points.",
        fig_conditions,
    ),
    (
        "role_shares",
        "Tool roles by turn",
        "Share of each tool role at the t-th call among runs still running (hatched: toxic track); dashed: number of "
        "runs with at least t calls.",
        fig_role_shares,
    ),
    (
        "survival",
        "Time to first toxic action",
        "Kaplan–Meier probability of no toxic tool call by turn, with log-log 95% bands; error runs excluded.",
        fig_survival,
    ),
    (
        "risk",
        "Cumulative risk",
        "Risk per tool call on the paper's scale (inhibitor 4, modifier 7, direct terminal 10, compliant tools 0): mean "
        "cumulative risk after t calls with a 95% band, and mean risk per run with its 95% CI; valid runs.",
        fig_risk,
    ),
    (
        "terminals",
        "Terminal tools",
        "Share of valid runs ending on a standard terminal, a direct terminal or no terminal (turn cap).",
        fig_terminals,
    ),
    (
        "transitions",
        "Tool-role transitions",
        "Counts of consecutive tool-role pairs over valid runs, from (start) to (end).",
        fig_transitions,
    ),
]


def make_figures(tables: dict[str, pd.DataFrame], directory: Path, *, dpi: int = 200) -> list[FigureResult]:
    """Draw every figure into directory/NAME.png and NAME.pdf; skipped ones carry a note."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for name, title, caption, builder in BUILDERS:
        result = FigureResult(name, title, caption)
        with matplotlib.rc_context(STYLE):
            try:
                fig = builder(tables)
                buf = io.BytesIO()
                fig.savefig(buf, format="png", dpi=dpi)
                result.png = buf.getvalue()
                png, pdf = directory / f"{name}.png", directory / f"{name}.pdf"
                png.write_bytes(result.png)
                fig.savefig(pdf, format="pdf")
                result.paths = {"png": png, "pdf": pdf}
            except Skip as exc:
                result.note = f"skipped: {exc}"
            except Exception as exc:  # a broken figure must not cost the whole report
                warnings.warn(f"figure {name} failed: {type(exc).__name__}: {exc}", stacklevel=2)
                result.note = f"failed: {type(exc).__name__}: {exc}"
        out.append(result)
    return out
