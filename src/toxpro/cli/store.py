"""Commands that move runs between stores and formats: `merge`, `export`, `import-inspect`."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import DEFAULT_EXPERIMENT, console, fail


def merge(
    out: Path = typer.Argument(..., help="output experiment directory (created if needed)"),
    inputs: list[Path] = typer.Argument(..., help="experiment directories to copy runs from, in order of priority"),
) -> None:
    """Merge run stores (e.g. the shards of one sweep): duplicates by run id are skipped, conflicts reported
    (the first kept; exit code 1 when there were any)."""
    from ..runner.lock import experiment_lock
    from ..store import StoreError
    from ..store.merge import format_report, merge_stores

    try:
        with experiment_lock(out, "toxpro merge"):
            report = merge_stores(out, list(inputs))
    except StoreError as exc:
        fail(str(exc))
    console.print(format_report(report), markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(1 if report.conflicts else 0)


def export(
    experiment: Path = typer.Argument(Path(DEFAULT_EXPERIMENT)),
    fmt: str = typer.Option(..., "--format", "-f", help="jsonl | parquet | inspect"),
    out: Path = typer.Option(..., "--out", "-o", help="jsonl: file; parquet and inspect: directory"),
) -> None:
    """Export the stored runs: JSONL (one line per run), Parquet (runs + turns) or Inspect AI .eval logs."""
    from ..store import StoreError
    from ..store.export import ExportError, export_runs

    try:
        paths = export_runs(experiment, out, fmt)
    except (StoreError, ExportError) as exc:
        fail(str(exc))
    for path in paths:
        console.print(str(path), markup=False, highlight=False, soft_wrap=True)


def import_inspect(
    logs: list[Path] = typer.Argument(..., help="Inspect .eval/.json logs of toxpro/toxic_proactivity, or directories"),
    out: Path = typer.Option(Path(DEFAULT_EXPERIMENT), "--out", "-o", help="experiment directory (holds runs.sqlite)"),
) -> None:
    """Store the runs of Inspect logs (native task or toxpro export) so report, judge and show work on them."""
    try:
        from ..inspect_bridge.importer import LogImportError, import_logs
    except ImportError:
        fail("import-inspect needs inspect-ai: pip install 'toxpro[inspect]'")
    try:
        result = import_logs(list(logs), out)
    except LogImportError as exc:
        fail(str(exc))
    console.print(
        f"{result.stored} runs stored, {result.duplicates} already stored, from {result.logs} logs "
        f"into {out / 'runs.sqlite'}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    for line in result.without_record:
        console.print(f"skipped (no toxpro run in it): {line}", markup=False, highlight=False, soft_wrap=True)
