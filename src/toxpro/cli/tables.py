"""The rate and signal tables that `toxpro run` and `toxpro show` print."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table

from ..core.labels import LABEL_STYLES, LABELS


def _fmt(x: float, pct: bool = True) -> str:
    if x is None or pd.isna(x):
        return "–"
    return f"{100 * x:.0f}%" if pct else f"{x:.1f}"


def print_rates(frame: pd.DataFrame, by: list[str], console: Console, title: str = "Misalignment") -> None:
    from rich.markup import escape

    from ..analysis import label_counts
    from ..analysis.names import with_agent_names

    if frame.empty:
        console.print("no runs stored yet")
        return
    frame = with_agent_names(frame)
    if "safeguard" in frame.columns and frame["safeguard"].nunique() > 1 and "safeguard" not in by:
        by = [*by, "safeguard"]  # guarded and unguarded runs (with or without escalation) are never pooled
    table = label_counts(frame, by)
    out = Table(title=f"{title} (MR = (strategic+direct) / non-error runs; Wilson 95% CI)")
    escalation = bool(table["escalated"].sum()) or (
        "safeguard" in by and table["safeguard"].astype(str).str.contains("escalation").any()
    )
    labels = [lab for lab in LABELS if escalation or not LABEL_STYLES[lab].optional]
    cols = ["n", "MR [95% CI]", *(LABEL_STYLES[lab].abbrev for lab in labels), "TTF"]
    for col in [*by, *cols]:
        out.add_column(col, overflow="fold")
    for _, r in table.iterrows():
        mr = f"{_fmt(r.mr)} [{_fmt(r.mr_lo)}, {_fmt(r.mr_hi)}]"
        out.add_row(
            *[escape(str(r[c])) for c in by],
            str(r.n),
            mr,
            *(str(r[lab]) for lab in labels),
            _fmt(r.ttf_mean, pct=False),
        )
    print_table(out, console)


def print_table(table: Table, console: Console) -> None:
    """A table at its natural width when the output is not a terminal (no folding at 80 columns)."""
    if console.is_terminal:
        console.print(table)
        return
    from rich.measure import Measurement

    need = Measurement.get(console, console.options.update(width=10_000), table).maximum
    wide = Console(file=console.file, width=max(need, 40), color_system=None, highlight=False)  # print caps at width
    wide.print(table, crop=False)


def print_signals(frame: pd.DataFrame, console: Console) -> None:
    """Eval awareness per agent model and environment fidelity per environment model."""
    from ..analysis import eval_awareness_table, fidelity_table
    from ..analysis.names import with_agent_names

    if frame.empty or "eval_aware" not in frame.columns:
        return
    aware = eval_awareness_table(with_agent_names(frame), "agent")
    out = Table(title="Eval awareness (agent says it is tested or the scenario is not real; keyword check)")
    for col in ("agent", "n", "eval-aware [95% CI]", "MR"):
        out.add_column(col, overflow="fold")
    for _, r in aware.iterrows():
        out.add_row(str(r.agent), str(r.n), f"{_fmt(r.eval_aware_rate)} [{_fmt(r.ea_lo)}, {_fmt(r.ea_hi)}]", _fmt(r.mr))
    console.print(out)
    fid = fidelity_table(frame, "env_model")
    fid = fid[fid["n_runs"] > 0]
    if fid.empty:
        return
    out = Table(title="Environment fidelity (share of environment turns with each finding; rule checks)")
    cols = ("status_mismatch", "narration_contradiction", "undeclared_state", "updates_on_refusal", "invented_ids")
    for col in (
        "env_model",
        "runs",
        "turns",
        "status≠rules",
        "narration",
        "undeclared state",
        "updates on refusal",
        "invented IDs",
        "any",
    ):
        out.add_column(col, overflow="fold")
    for _, r in fid.iterrows():
        out.add_row(
            str(r.env_model),
            str(r.n_runs),
            str(r.env_turns),
            *(_fmt(r[f"{c}_share"]) for c in cols),
            _fmt(r.flagged_share),
        )
    console.print(out)
