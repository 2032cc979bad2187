"""The toxpro command line. Thin: parse, call one function, print."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Diagnose Toxic Proactivity in LLM agents.")
scenarios_app = typer.Typer(no_args_is_help=True, help="List, show and lint scenarios.")
app.add_typer(scenarios_app, name="scenarios")
console = Console()
err = Console(stderr=True)

DEFAULT_EXPERIMENT = "experiments/default"


def _fail(message: str, code: int = 2) -> None:
    for line in str(message).splitlines():
        typer.echo(line, err=True)
    raise typer.Exit(code)


@app.command()
def run(
    sweep_file: Optional[Path] = typer.Argument(None, help="a sweep YAML file (see examples/sweep.yaml); with one, "
                                                "only --shard, --executor, --replay-from and the run controls apply"),
    scenario: list[str] = typer.Option([], "--scenario", "-s", help="built-in id, file or directory; repeatable; default all"),
    agent: list[str] = typer.Option([], "--agent", "-a", help="agent model string, repeatable; default: local"),
    env: list[str] = typer.Option([], "--env", "-e", help="environment model string, repeatable"),
    repeats: int = typer.Option(1, "--repeats", "-n", min=1),
    condition: list[str] = typer.Option([], "--condition", "-c", help="VAR=LEVEL[|LEVEL] or VAR=*; grid over all"),
    paired: bool = typer.Option(False, help="baseline plus each single-variable deviation (the paired design)"),
    out: Path = typer.Option(Path(DEFAULT_EXPERIMENT), "--out", "-o", help="experiment directory (holds runs.sqlite)"),
    protocol: str = typer.Option("json", help="agent protocol: json (the paper's) or tools (native function calling)"),
    memory: str = typer.Option("stateless", help="environment memory: stateless or full"),
    max_turns: int = typer.Option(20, min=1, max=200),
    shuffle: bool = typer.Option(True, help="shuffle tool order and IDs per run (seeded)"),
    seed: int = typer.Option(0, help="base seed; each run's seed derives from it and the run id"),
    concurrency: int = typer.Option(8, min=1, help="runs in flight and default calls per endpoint"),
    limit: list[str] = typer.Option([], help="ENDPOINT=N concurrency for one endpoint (substring match)"),
    rpm: list[str] = typer.Option([], help="ENDPOINT=N requests per minute for one endpoint"),
    temperature: float = typer.Option(0.7, help="agent temperature"),
    env_temperature: float = typer.Option(0.3),
    max_tokens: int = typer.Option(768, help="agent max tokens per reply"),
    budget_tokens: list[str] = typer.Option([], help="ROLE=N token cap (agent, environment or total); repeatable"),
    budget_usd: list[str] = typer.Option([], help="[ROLE=]DOLLARS cost cap (default role: total); needs --price"),
    price: list[str] = typer.Option([], help="MODEL_PREFIX=IN,OUT[,CACHED_IN] in USD per 1M tokens; repeatable"),
    on_budget: str = typer.Option("drop", help="at a cap, in-flight runs are dropped (not stored) or finish"),
    shard: Optional[str] = typer.Option(None, help="I/N: run only shard I (0..N-1) of the plan, split by run id"),
    executor: Optional[str] = typer.Option(None, help="async (default) or ray (pip install 'toxpro[ray]')"),
    transport: Optional[str] = typer.Option(None, help="remote endpoints: auto (default: direct for self-hosted "
                                            "servers, sdk for hosted APIs), sdk (the openai SDK) or direct "
                                            "(same requests without the SDK's pipeline; less CPU per call)"),
    replay_from: Optional[Path] = typer.Option(None, help="experiment whose environment replies are replayed "
                                               "while the agent's actions match (paired comparisons)"),
    retry_errors: bool = typer.Option(False, help="run again the runs stored as errors"),
    dry_run: bool = typer.Option(False, help="print the plan and estimates (calls, tokens, cost); call nothing"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Simulate runs and store them; re-running the same command resumes."""
    from .runner.config import SweepConfig, SweepConfigError, sweep_from_file, sweep_from_flags, with_overrides
    from .runner.session import run_sweep
    from .runner.shard import ShardError, parse_shard

    try:
        config = sweep_from_file(sweep_file) if sweep_file else sweep_from_flags(
            scenarios=scenario, agents=agent, envs=env, repeats=repeats, conditions=condition, paired=paired,
            out=str(out), protocol=protocol, memory=memory, max_turns=max_turns, shuffle=shuffle, seed=seed,
            concurrency=concurrency, limits=limit, rpm=rpm, temperature=temperature,
            env_temperature=env_temperature, max_tokens=max_tokens, budget_tokens=budget_tokens,
            budget_usd=budget_usd, prices=price, on_budget=on_budget)
        config = with_overrides(config, executor=executor, transport=transport,
                                replay_from=replay_from and str(replay_from))
        shard_spec = parse_shard(shard) if shard is not None else None
    except (SweepConfigError, ShardError, ValueError) as exc:
        _fail(str(exc))
    assert isinstance(config, SweepConfig)
    code = run_sweep(config, console=console, retry_errors=retry_errors, dry_run=dry_run, quiet=quiet,
                     shard=shard_spec)
    raise typer.Exit(code)


@app.command()
def merge(
    out: Path = typer.Argument(..., help="output experiment directory (created if needed)"),
    inputs: list[Path] = typer.Argument(..., help="experiment directories to copy runs from, in order of priority"),
) -> None:
    """Merge run stores (e.g. the shards of one sweep): duplicates by run id are skipped, conflicts reported
    (the first kept; exit code 1 when there were any)."""
    from .store import StoreError
    from .store.merge import format_report, merge_stores

    try:
        report = merge_stores(out, list(inputs))
    except StoreError as exc:
        _fail(str(exc))
    console.print(format_report(report), markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(1 if report.conflicts else 0)


@app.command()
def show(
    experiment: Path = typer.Argument(Path(DEFAULT_EXPERIMENT)),
    by: str = typer.Option("agent_model,scenario_id", help="comma-separated grouping columns"),
) -> None:
    """Print the rates table: MR with Wilson 95% CI, the six classes, time to first toxic action."""
    from .runner.session import print_rates
    from .store import RunStore, StoreError

    try:
        store = RunStore(experiment, create=False)
    except StoreError as exc:
        _fail(str(exc))
    print_rates(store.frame(), [c.strip() for c in by.split(",") if c.strip()], console)


@scenarios_app.command("list")
def scenarios_list(paths: list[str] = typer.Argument(None, help="files or directories; default built-in")) -> None:
    from .scenario import ScenarioError, resolve

    try:
        found = resolve(paths or None)
    except ScenarioError as exc:
        _fail(str(exc))
    table = Table(title=f"{len(found)} scenarios")
    for col in ("id", "domain", "motivation", "title", "hash"):
        table.add_column(col, overflow="fold")
    for s in found:
        table.add_row(s.id, s.domain.value, s.motivation.value, s.title, s.content_hash[:12])
    console.print(table)


@scenarios_app.command("show")
def scenarios_show(scenario_id: str, roles: bool = typer.Option(True, help="show each tool's role and track")) -> None:
    from .scenario import ScenarioError, resolve

    try:
        (s,) = resolve([scenario_id])
    except ScenarioError as exc:
        _fail(str(exc))
    console.print(f"[bold]{s.title}[/bold]  ({s.id} v{s.version}, {s.domain.value}, {s.motivation.value})")
    console.print(f"hash {s.content_hash}\n", markup=False)
    console.print(s.situation, markup=False)
    table = Table()
    for col in ("tool", "track", "role", "description") if roles else ("tool", "description"):
        table.add_column(col, overflow="fold")
    for t in s.tools:
        table.add_row(*((t.name, t.track.value, t.role.value, t.description) if roles else (t.name, t.description)))
    console.print(table)


@scenarios_app.command("import")
def scenarios_import(reference: Path, out: Path = typer.Option(Path("."), "--out", "-o", help="directory for the YAML")) -> None:
    """Convert a scenario in the paper's reference format into a toxpro YAML file."""
    import yaml as _yaml

    from .scenario import ScenarioError
    from .scenario.importer import import_reference

    try:
        scenario, notes = import_reference(reference)
    except ScenarioError as exc:
        _fail(str(exc), code=1)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{scenario.id}.yaml"
    if target.exists():
        _fail(f"{target}: already exists; not overwritten", code=1)
    target.write_text(_yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False, allow_unicode=True))
    for note in notes:
        typer.echo(f"note: {note}")
    typer.echo(f"wrote {target} (roles mapped from IDs 1-6; {len(notes)} notes)")


@scenarios_app.command("export")
def scenarios_export(out: Path = typer.Option(Path("toxpro-scenarios.jsonl"), "--out", "-o"),
                     paths: list[str] = typer.Argument(None, help="files or directories; default built-in")) -> None:
    """Export scenarios as JSONL (one scenario a line, with its content hash)."""
    from .scenario import ScenarioError, resolve
    from .scenario.export import export_jsonl

    try:
        found = resolve(paths or None)
    except ScenarioError as exc:
        _fail(str(exc), code=1)
    export_jsonl(found, out)
    typer.echo(f"wrote {len(found)} scenarios to {out}")


@scenarios_app.command("lint")
def scenarios_lint(paths: list[str] = typer.Argument(None, help="files or directories; default built-in")) -> None:
    """Validate scenario files (one line per problem: file:field) and check diversity."""
    from .scenario import ScenarioError, resolve
    from .scenario.lint import lint

    try:
        found = resolve(paths or None)
    except ScenarioError as exc:
        _fail(str(exc), code=1)
    report = lint(found)
    typer.echo(report.format_text())
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def report(
    experiment: Path = typer.Argument(Path(DEFAULT_EXPERIMENT)),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="output directory (default EXPERIMENT/report)"),
) -> None:
    """Write the report: one self-contained report.html, figures (PNG, PDF) and tables (CSV, Markdown, LaTeX)."""
    from .report import ReportError, build_report
    from .store import StoreError

    try:
        path = build_report(experiment, out)
    except (StoreError, ReportError) as exc:
        _fail(str(exc))
    console.print(str(path), markup=False, highlight=False, soft_wrap=True)


@app.command()
def export(
    experiment: Path = typer.Argument(Path(DEFAULT_EXPERIMENT)),
    fmt: str = typer.Option(..., "--format", "-f", help="jsonl | parquet | inspect"),
    out: Path = typer.Option(..., "--out", "-o", help="jsonl: file; parquet and inspect: directory"),
) -> None:
    """Export the stored runs: JSONL (one line per run), Parquet (runs + turns) or Inspect AI .eval logs."""
    from .store import StoreError
    from .store.export import ExportError, export_runs

    try:
        paths = export_runs(experiment, out, fmt)
    except (StoreError, ExportError) as exc:
        _fail(str(exc))
    for path in paths:
        console.print(str(path), markup=False, highlight=False, soft_wrap=True)


def _register_extensions() -> None:
    from .judge.commands import register as register_judge
    from .synth.commands import register as register_synth

    register_judge(app)
    register_synth(app)


_register_extensions()


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
