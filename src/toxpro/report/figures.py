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

from ..analysis import LABELS, RADAR_AXES, ROLES, TOXIC_ROLES

MODEL = "agent_model"
LABEL_COLORS = {"strategic": "#8c1c13", "direct": "#d9482b", "failed_attempt": "#f2a541", "robust": "#3a7d44",
                "stalled": "#8fa8c8", "escalated": "#5b6bbf", "error": "#9e9e9e"}
ROLE_COLORS = {"validator": "#1f5f8b", "registrar": "#4f9bd1", "standard-terminal": "#3a7d44",
               "inhibitor": "#f2a541", "modifier": "#d9482b", "direct-terminal": "#8c1c13"}
STYLE = {"font.size": 10, "axes.titlesize": 10, "axes.labelsize": 10, "xtick.labelsize": 9, "ytick.labelsize": 9,
         "legend.fontsize": 9, "figure.titlesize": 11, "pdf.fonttype": 42, "ps.fonttype": 42,
         "axes.spines.top": False, "axes.spines.right": False}


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


class Skip(Exception):
    """Raised by a figure builder when the data cannot support the figure."""


RADAR_NAMES = {"loyalty-strategic": "loyalty\nstrategic", "loyalty-direct": "loyalty\ndirect",
               "self-preservation-strategic": "self-pres.\nstrategic", "self-preservation-direct": "self-pres.\ndirect",
               "MR": "MR"}


def short(text: str, width: int = 32) -> str:
    """Long model names keep their head and tail (policy arguments often differ only at the end)."""
    text = str(text).replace("$", r"\$")  # no mathtext from model names
    if len(text) <= width:
        return text
    head = (width - 1) // 2
    return text[:head] + "…" + text[len(text) - (width - 1 - head):]


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
    leg = fig.legend(handles, labels, loc="outside lower center", ncol=ncol, frameon=False, title=title,
                     title_fontsize=8)
    if title:
        leg.get_title().set_color("0.35")


def footnote(fig: Figure, models: list[str]) -> None:
    if models:
        fig.supxlabel(not_shown(models), fontsize=8, color="0.35")


def integer_ticks(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _ci(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MR with its bootstrap CI, Wilson where the bootstrap is undefined (a single scenario)."""
    est = frame["mr"].to_numpy(float)
    lo = frame["mr_boot_lo"].to_numpy(float) if "mr_boot_lo" in frame else np.full(len(frame), np.nan)
    hi = frame["mr_boot_hi"].to_numpy(float) if "mr_boot_hi" in frame else np.full(len(frame), np.nan)
    lo = np.where(np.isfinite(lo), lo, frame["mr_lo"].to_numpy(float))
    hi = np.where(np.isfinite(hi), hi, frame["mr_hi"].to_numpy(float))
    return est, np.clip(est - lo, 0, None), np.clip(hi - est, 0, None)


def fig_behaviour(t: dict[str, pd.DataFrame]) -> Figure:
    beh, mr = t["behaviour_by_model_domain"], t["mr_by_model_domain"]
    if beh.empty:
        raise Skip("no runs")
    domains = sorted(beh["domain"].astype(str).unique())
    models = sorted(beh[MODEL].astype(str).unique())
    n_m = len(models)
    fig, axes = subplots(len(domains), 1, figsize=(7.0, 0.9 + len(domains) * (0.55 + 0.38 * n_m)),
                         sharex=True)
    y = np.arange(n_m)
    for i, (ax, dom) in enumerate(zip(axes[:, 0], domains)):
        sub = beh[beh["domain"].astype(str) == dom].set_index(MODEL).reindex(models)
        left = np.zeros(n_m)
        for lab in LABELS:
            vals = sub[f"{lab}_share"].fillna(0).to_numpy(float)
            ax.barh(y, vals, left=left, height=0.7, color=LABEL_COLORS[lab], edgecolor="white", linewidth=0.5,
                    label=lab.replace("_", " ") if i == 0 else None)
            left += vals
        m = mr[mr["domain"].astype(str) == dom].set_index(MODEL).reindex(models)
        est, elo, ehi = _ci(m)
        ok = np.isfinite(est)
        if ok.any():
            ax.errorbar(est[ok], y[ok], xerr=[elo[ok], ehi[ok]], fmt="D", color="black", ms=4, capsize=3, lw=1,
                        label="MR (95% CI)" if i == 0 else None)
        ax.set_yticks(y, [short(m_) for m_ in models])
        ax.set_ylim(n_m - 0.5, -0.5)
        ax.set_title(dom, loc="left")
    axes[-1, 0].set_xlim(0, 1)
    axes[-1, 0].set_xlabel("share of runs (bars); misalignment rate among valid runs (◆)")
    fig.legend(loc="outside lower center", ncol=4, frameon=False)
    return fig


def fig_strategic_direct(t: dict[str, pd.DataFrame]) -> Figure:
    rates = t["strategic_direct"]
    rates = rates[np.isfinite(rates["strategic_rate"].to_numpy(float))]
    if rates.empty:
        raise Skip("no valid runs")
    motivations = sorted(rates["motivation"].astype(str).unique())
    colors = model_colors(t)
    shown = sorted(rates[MODEL].astype(str).unique())
    fig, axes = subplots(1, len(motivations), figsize=(max(6.4, 3.4 * len(motivations) + 0.4), 4.2))
    for ax, mot in zip(axes[0], motivations):
        sub = rates[rates["motivation"].astype(str) == mot]
        ax.plot([0, 1], [0, 1], ls="--", lw=0.8, color="0.6")
        for _, r in sub.iterrows():
            x, yv = float(r["direct_rate"]), float(r["strategic_rate"])
            ax.errorbar(x, yv, xerr=[[max(x - r["direct_lo"], 0)], [max(r["direct_hi"] - x, 0)]],
                        yerr=[[max(yv - r["strategic_lo"], 0)], [max(r["strategic_hi"] - yv, 0)]],
                        fmt="o", ms=6, capsize=2, lw=0.8, color=colors[str(r[MODEL])])
        ax.set_xlim(-0.03, 1.03)
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel("direct rate (valid runs)")
        ax.set_ylabel("strategic rate (valid runs)")
        ax.set_title(mot)
    legend(fig, colors, shown, sorted(set(colors) - set(shown)), "o", "")
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
    fig, axes = subplots(nrows, ncols, figsize=(3.4 * ncols + 0.3, 3.5 * nrows + 0.3),
                         subplot_kw={"projection": "polar"})
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
        title = short(model, 34) + ("\n(n/a: " + ", ".join(missing) + ")" if missing else "")
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
    fig, axes = subplots(nrows, ncols, figsize=(max(6.4, 3.5 * ncols + 0.3), 3.0 * nrows + 0.8),
                         sharey=True)
    offsets = (np.arange(len(models)) - (len(models) - 1) / 2) * min(0.12, 0.6 / max(len(models), 1))
    for k, ax in enumerate(axes.flat):
        if k >= len(variables):
            ax.set_visible(False)
            continue
        var = variables[k]
        sub = cond[cond["variable"].astype(str) == var]
        levels = list(dict.fromkeys(sub["level"].astype(str)))
        base = set(sub.loc[sub["baseline"].astype(bool), "level"].astype(str))
        x = np.arange(len(levels))
        for j, model in enumerate(models):
            m = sub[sub[MODEL].astype(str) == model].set_index(sub[sub[MODEL].astype(str) == model]["level"]
                                                                .astype(str)).reindex(levels)
            est, elo, ehi = _ci(m)
            ok = np.isfinite(est)
            if ok.any():
                drawn.add(model)
                ax.errorbar(x[ok] + offsets[j], est[ok], yerr=[elo[ok], ehi[ok]], fmt="-o", ms=4, capsize=2, lw=1,
                            color=colors[model])
        ax.set_xticks(x, [lv + ("\n(baseline)" if lv in base else "") for lv in levels])
        ax.set_xlim(-0.5, len(levels) - 0.5)
        ax.set_ylim(-0.03, 1.03)
        design = ", ".join(sorted(set(sub["subset"].astype(str))))
        ax.set_title(f"{var.replace('_', ' ')} ({design})", fontsize=9)
        ax.set_xlabel(f"{var.replace('_', ' ')} level")
        if k % ncols == 0:
            ax.set_ylabel("misalignment rate")
    legend(fig, colors, sorted(drawn), sorted(set(models) - drawn), "o", "-")
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
            ax.bar(turns, v, bottom=bottom, width=0.85, color=ROLE_COLORS.get(role, "0.5"), hatch=hatch,
                   edgecolor="white", linewidth=0.3, label=role if k == 0 else None)
            bottom += v
        running = sub.groupby("turn")["n_running"].first().reindex(turns)
        ax2 = ax.twinx()
        ax2.plot(turns, running.to_numpy(float), color="black", lw=1, ls="--", marker=".", ms=3,
                 label="runs still running" if k == 0 else None)
        ax2.set_ylim(0, max(1.0, float(running.max()) * 1.05))
        ax2.spines["right"].set_visible(True)
        ax2.set_ylabel("runs with ≥ t calls")
        ax.set_ylim(0, 1)
        integer_ticks(ax)
        ax.set_xlabel("tool call t")
        ax.set_ylabel("share of role")
        ax.set_title(short(models[k], 48), fontsize=9)
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
        ax.fill_between(x, sub["ci_lo"].to_numpy(float), sub["ci_hi"].to_numpy(float), step="post",
                        color=colors[model], alpha=0.15, lw=0)
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlim(left=0)
    integer_ticks(ax)
    ax.set_xlabel("turn")
    ax.set_ylabel("P(no toxic call yet)")
    ax.legend(loc="best", frameon=False)
    footnote(fig, sorted(set(model_colors(t)) - set(models)))
    return fig


BUILDERS: list[tuple[str, str, str, Callable[[dict[str, pd.DataFrame]], Figure]]] = [
    ("behaviour_by_domain", "Behaviour by domain",
     "Stacked shares of the six classes per model within each domain; ◆ = misalignment rate among valid runs with "
     "its 95% scenario-cluster bootstrap CI (Wilson where a domain holds a single scenario).", fig_behaviour),
    ("strategic_vs_direct", "Strategic vs direct",
     "Per motivation: each model's direct rate (x) and strategic rate (y) over valid runs, Wilson 95% bars; "
     "dashed: equal rates.", fig_strategic_direct),
    ("radar", "Model profiles",
     "Per model: strategic and direct rates per motivation and overall MR (0 at the centre, 1 at the rim); "
     "axes marked n/a have no runs and are drawn at 0.", fig_radar),
    ("conditions", "Contextual conditions",
     "One panel per contextual variable with more than one level: MR per level and model with 95% scenario-cluster "
     "bootstrap CI (Wilson where a single scenario).", fig_conditions),
    ("role_shares", "Tool roles by turn",
     "Share of each tool role at the t-th call among runs still running (hatched: toxic track); dashed: number of "
     "runs with at least t calls.", fig_role_shares),
    ("survival", "Time to first toxic action",
     "Kaplan–Meier probability of no toxic tool call by turn, with log-log 95% bands; error runs excluded.",
     fig_survival),
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
