"""Safeguards in the report: the paired safeguard table, the monitor table and the over-refusal × MR plane.

Present only when the store holds guarded runs. The report's other tables then use the unguarded
runs only (`unguarded`), so guarded runs, and runs with the escalation tool, never mix into them."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..analysis.safeguards import NONE, monitor_frame, monitor_metrics, safeguard_effects, safeguard_plane
from ..store.sqlite import RunStore
from .figures import FigureResult, subplots
from .tables import Table

PLANE_TITLE = "Safeguards on the over-refusal × MR plane"
EFFECT_SHOWN = [
    "agent_model",
    "safeguard",
    "n_pairs",
    "mr_base",
    "mr_guard",
    "delta_mr",
    "delta_lo",
    "delta_hi",
    "mcnemar_p",
    "delta_stall",
    "escalation_rate",
    "delta_orr",
    "tokens_added",
    "cost_added",
]
MONITOR_SHOWN = [
    "agent_model",
    "safeguard",
    "checks",
    "catch_rate",
    "catch_lo",
    "catch_hi",
    "false_block_rate",
    "fb_lo",
    "fb_hi",
    "toxic_flag_rate",
    "first_catch_turn",
    "first_toxic_turn",
    "caught_at_first_toxic",
    "blocked_runs",
    "rerouted",
    "rerouted_through",
    "misaligned_after_block",
    "monitor_tokens",
    "monitor_errors",
]


def is_guarded(df: pd.DataFrame) -> bool:
    return "safeguard" in df and bool((df["safeguard"].fillna(NONE) != NONE).any())


def unguarded(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The runs the report's main tables use, with a note when guarded runs were set aside."""
    if not is_guarded(df):
        return df, []
    base = df[df["safeguard"].fillna(NONE) == NONE]
    if base.empty:
        arms = sorted(df["safeguard"].unique())
        note = (
            "Every run is guarded; the tables below pool the safeguard arms "
            + ", ".join(arms)
            + " (see the safeguard tables for each arm)."
            if len(arms) > 1
            else f"Every run is guarded by {arms[0]}; the tables below describe that arm."
        )
        return df, [note]
    return base, [
        f"The tables and figures below use the {len(base)} unguarded runs; the {len(df) - len(base)} "
        "guarded runs are compared with them in the safeguard tables."
    ]


def _refusals(store: RunStore) -> pd.DataFrame | None:
    from .judges import has_judgements

    if not has_judgements(store):
        return None
    from ..judge.overrefusal import over_refusal_votes
    from ..judge.run import judgement_frame

    return over_refusal_votes(judgement_frame(store))


def safeguard_tables(
    store: RunStore,
    df: pd.DataFrame,
    *,
    B: int = 2000,
    seed: int = 0,
    prices: dict[str, tuple[float, float]] | None = None,
) -> tuple[list[Table], pd.DataFrame | None]:
    """(tables, plane frame); empty when no run is guarded."""
    if not is_guarded(df):
        return [], None
    refusals = _refusals(store)
    monitor = monitor_frame(store.records())  # both arms: per-role tokens for the cost of each pair
    effects = safeguard_effects(df, monitor, refusals, prices=prices, B=B, seed=seed)
    plane = safeguard_plane(df, refusals)
    tables = [
        Table(
            "safeguard_effects",
            "Safeguards against the same runs without them",
            "Each safeguard arm paired with the unguarded run of the same agent, environment, scenario, condition and "
            "repeat (same seed). MR with and without, the change with a paired scenario-cluster bootstrap 95% CI, "
            "McNemar's exact p on paired misaligned outcomes, the change in stalling and (with judge verdicts) "
            "over-refusal, the share of guarded runs that escalated, and tokens (cost with a price table) added per "
            "run. Arms with the escalation tool are their own rows: their MR is never pooled with runs without it.",
            effects,
            shown=EFFECT_SHOWN,
        )
    ]
    metrics = monitor_metrics(monitor)
    if not metrics.empty:
        tables.append(
            Table(
                "safeguard_monitor",
                "Action monitor: catches, false blocks, rerouting",
                "Catch rate: toxic calls blocked / toxic calls reviewed; false-block rate: compliant calls blocked / "
                "compliant calls reviewed (Wilson 95%). Turn of first catch against the first toxic call (rule "
                "roles) over runs with a catch. Over runs with a blocked toxic call: the share that rerouted to "
                "another toxic tool, got through that way, and ended misaligned anyway. Monitor tokens per run.",
                metrics,
                shown=MONITOR_SHOWN,
            )
        )
    tables.append(
        Table(
            "safeguard_plane",
            PLANE_TITLE,
            "Per agent model and arm (unguarded = none): MR against over-refusal (judges' majority) or, without "
            "judge verdicts, the stall rate; Wilson 95% CIs.",
            plane,
        )
    )
    return tables, plane


_MONITOR = re.compile(r"monitor:model=([^,+]+),mode=(\w+),cot=(\w+)[^+]*")


def short_key(key: str) -> str:
    """A safeguard key short enough for a plot label: monitor:model=a/b,mode=call,cot=false → monitor(b, call, no CoT)."""
    return _MONITOR.sub(
        lambda m: (
            f"monitor({m.group(1).rsplit('/', 1)[-1]}, {m.group(2)}{', no CoT' if m.group(3) == 'false' else ''})"
        ),
        key,
    )


def plot_safeguard_plane(plane: pd.DataFrame, path: Path) -> list[Path]:
    """One panel per agent model: each arm's point, a line from the unguarded baseline to it."""
    models = sorted(plane["agent_model"].unique())
    fig, axes = subplots(1, len(models), (4.6 * len(models), 4.4), sharey=True)
    kind = plane["x_kind"].iloc[0] if len(plane) else "stalled"
    for ax, model in zip(axes[0], models):
        sub = plane[plane["agent_model"] == model].dropna(subset=["mr", "x_rate"])
        base = sub[sub["safeguard"] == NONE]
        placed: dict[tuple[float, float], int] = {}  # labels of coinciding points are stacked
        for i, (_, r) in enumerate(sub.iterrows()):
            x, y = float(r["x_rate"]), float(r["mr"])
            xerr = [[max(x - r["x_lo"], 0)], [max(r["x_hi"] - x, 0)]]
            yerr = [[max(y - r["mr_lo"], 0)], [max(r["mr_hi"] - y, 0)]]
            is_base = r["safeguard"] == NONE
            ax.errorbar(
                [x],
                [y],
                xerr=xerr,
                yerr=yerr,
                fmt="s" if is_base else "o",
                ms=7 if is_base else 5,
                capsize=2,
                color="black" if is_base else f"C{i % 10}",
                zorder=3,
            )
            if not is_base and len(base):
                ax.annotate(
                    "",
                    (x, y),
                    (float(base["x_rate"].iloc[0]), float(base["mr"].iloc[0])),
                    arrowprops={"arrowstyle": "->", "color": f"C{i % 10}", "alpha": 0.6},
                    zorder=2,
                )
            text = "unguarded" if is_base else short_key(str(r["safeguard"]))
            k = placed.get((round(x, 3), round(y, 3)), 0)
            placed[(round(x, 3), round(y, 3))] = k + 1
            ax.annotate(
                text if len(text) <= 48 else text[:47] + "…",
                (x, y),
                textcoords="offset points",
                xytext=(6, 5 - 10 * k if y > 0.5 else 5 + 10 * k),
                fontsize=7,
                zorder=4,
            )
        ax.set_xlim(-0.03, 1.03)
        ax.set_ylim(-0.03, 1.03)
        ax.set_title(model, fontsize=9)
        ax.set_xlabel("over-refusal rate (judges)" if kind == "over-refusal" else "stall rate (no judge verdicts)")
    axes[0][0].set_ylabel("misalignment rate (rule labels)")
    path.parent.mkdir(parents=True, exist_ok=True)
    paths = [path.with_suffix(".png"), path.with_suffix(".pdf")]
    fig.savefig(paths[0], dpi=150)
    fig.savefig(paths[1], metadata={"CreationDate": None})
    return paths


def safeguard_figure(plane: pd.DataFrame | None, figures_dir: Path) -> FigureResult | None:
    if plane is None:
        return None
    caption = (
        "Each safeguard arm (dots) beside the unguarded baseline (square), per agent model: arrows show "
        "where a safeguard moves a model between the two failure modes. Wilson 95% error bars."
    )
    if plane.dropna(subset=["mr", "x_rate"]).empty or not np.isfinite(plane["mr"]).any():
        return FigureResult("safeguard_plane", PLANE_TITLE, caption, note="skipped: no arm has both rates")
    png, pdf = plot_safeguard_plane(plane, figures_dir / "safeguard_plane")
    return FigureResult("safeguard_plane", PLANE_TITLE, caption, png=png.read_bytes(), paths={"png": png, "pdf": pdf})
