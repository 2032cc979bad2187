"""`toxpro scenarios list|show|import|export|lint`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from .common import console, fail


def scenarios_list(paths: list[str] = typer.Argument(None, help="files or directories; default built-in")) -> None:
    from ..scenario import ScenarioError, resolve

    try:
        found = resolve(paths or None)
    except ScenarioError as exc:
        fail(str(exc))
    table = Table(title=f"{len(found)} scenarios")
    for col in ("id", "domain", "motivation", "title", "hash"):
        table.add_column(col, overflow="fold")
    for s in found:
        table.add_row(s.id, s.domain.value, s.motivation.value, s.title, s.content_hash[:12])
    console.print(table)


def scenarios_show(
    scenario_id: str,
    roles: bool = typer.Option(True, help="show each tool's role and track"),
    levels: bool = typer.Option(
        False, help="show the prompt text of each level of each contextual variable for this scenario"
    ),
) -> None:
    from ..scenario import ScenarioError, resolve
    from ..scenario.conditions import Condition, level_texts

    try:
        (s,) = resolve([scenario_id])
    except ScenarioError as exc:
        fail(str(exc))
    console.print(f"[bold]{s.title}[/bold]  ({s.id} v{s.version}, {s.domain.value}, {s.motivation.value})")
    console.print(f"hash {s.content_hash}\n", markup=False)
    console.print(s.situation, markup=False)
    table = Table()
    for col in ("tool", "track", "role", "description") if roles else ("tool", "description"):
        table.add_column(col, overflow="fold")
    for t in s.tools:
        table.add_row(*((t.name, t.track.value, t.role.value, t.description) if roles else (t.name, t.description)))
    console.print(table)
    if levels:
        base = Condition()
        table = Table(title="Contextual variables: the text each level adds (baseline marked *)")
        for col in ("variable", "level", "text"):
            table.add_column(col, overflow="fold")
        for variable, texts in level_texts(s).items():
            for level, text in texts.items():
                mark = "*" if getattr(base, variable) == level else ""
                table.add_row(variable, level + mark, text or "(no module)")
        console.print(table)


def scenarios_import(
    files: list[Path] = typer.Argument(..., help="reference-format YAML files, or directories of them"),
    out: Path = typer.Option(Path("."), "--out", "-o", help="directory for the toxpro YAML files"),
    domain: Optional[str] = typer.Option(None, help="override the domain read from the file name"),
    motivation: Optional[str] = typer.Option(
        None, help="override the category read from the file name (loyalty or self-preservation)"
    ),
    stakeholder: Optional[str] = typer.Option(None, help="who the agent serves, if the goals text names nobody"),
    force: bool = typer.Option(False, help="overwrite existing output files"),
) -> None:
    """Convert scenarios written by the paper's generator (prompt modules) into toxpro YAML files."""
    from ..scenario.reference_files import import_files

    results = import_files(files, out, overwrite=force, domain=domain, motivation=motivation, stakeholder=stakeholder)
    if not results:
        fail(f"{' '.join(map(str, files))}: no *.yaml files to import")
    for r in results:
        typer.echo(f"{r.source}:")
        for note in r.notes:
            typer.echo(f"  note: {note}")
        for problem in r.problems:
            typer.echo(f"  error: {problem}")
        if r.target is not None:
            graded = "graded stakes" if r.scenario.stakes else "stakes not graded (baseline only)"
            typer.echo(f"  wrote {r.target} ({len(r.notes)} notes; {graded})")
        else:
            typer.echo(f"  not imported ({len(r.problems)} error(s))")
    failed = sum(1 for r in results if r.target is None)
    if len(results) > 1:
        typer.echo(f"imported {len(results) - failed} of {len(results)} file(s)")
    raise typer.Exit(2 if failed else 0)


def scenarios_export(
    out: Path = typer.Option(Path("toxpro-scenarios.jsonl"), "--out", "-o"),
    paths: list[str] = typer.Argument(None, help="files or directories; default built-in"),
) -> None:
    """Export scenarios as JSONL (one scenario a line, with its content hash)."""
    from ..scenario import ScenarioError, resolve
    from ..scenario.export import export_jsonl

    try:
        found = resolve(paths or None)
    except ScenarioError as exc:
        fail(str(exc))
    export_jsonl(found, out)
    typer.echo(f"wrote {len(found)} scenarios to {out}")


def scenarios_lint(paths: list[str] = typer.Argument(None, help="files or directories; default built-in")) -> None:
    """Validate scenario files (one line per problem: file:field) and check diversity."""
    from ..scenario import ScenarioError, resolve
    from ..scenario.lint import lint, source_files

    try:
        found = resolve(paths or None)
    except ScenarioError as exc:
        fail(str(exc))
    report = lint(found, sources=source_files(paths or None))
    typer.echo(report.format_text())
    raise typer.Exit(0 if report.ok else 1)
