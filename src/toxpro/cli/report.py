"""`toxpro show` (the rates table) and `toxpro report` (HTML, figures, tables)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .common import DEFAULT_EXPERIMENT, console, fail


def show(
    experiment: Path = typer.Argument(Path(DEFAULT_EXPERIMENT)),
    by: str = typer.Option(
        "agent",
        help="comma-separated grouping columns (agent = display name; e.g. agent,domain or agent_model,scenario_id)",
    ),
) -> None:
    """Print the rates table: MR with Wilson 95% CI, the six classes, time to first toxic action."""
    from ..api import load
    from ..store import StoreError
    from .tables import print_rates, print_signals

    try:
        frame = load(experiment).frame()  # with agent (display name), family, reasoning
    except StoreError as exc:
        fail(str(exc))
    columns = [c.strip() for c in by.split(",") if c.strip()]
    unknown = [c for c in columns if c not in frame.columns]
    if unknown:
        fail(
            f"--by: unknown column(s) {', '.join(map(repr, unknown))}; valid columns: "
            f"{', '.join(c for c in frame.columns if c not in ('roles', 'record'))}"
        )
    print_rates(frame, columns, console)
    print_signals(frame, console)


def report(
    experiment: Path = typer.Argument(Path(DEFAULT_EXPERIMENT)),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="output directory (default EXPERIMENT/report)"),
    paper: Optional[Path] = typer.Option(
        None,
        help="also write DIR/paper.tex with the tables as LaTeX booktabs and the figures as PDF, laid out for a paper",
    ),
) -> None:
    """Write the report: one self-contained report.html, figures (PNG, PDF) and tables (CSV, Markdown, LaTeX)."""
    from ..report import ReportError, build_report
    from ..report.paper import export_paper
    from ..store import StoreError

    try:
        path = build_report(experiment, out)
        papers = export_paper(experiment, paper) if paper is not None else []
    except (StoreError, ReportError) as exc:
        fail(str(exc))
    console.print(str(path), markup=False, highlight=False, soft_wrap=True)
    if papers:
        console.print(str(papers[-1]), markup=False, highlight=False, soft_wrap=True)
