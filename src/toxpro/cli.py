"""The toxpro command line. Thin: parse, call one function, print."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from .core.errors import EXIT_USER_ERROR, UserError


class _UserErrorsExit2(TyperGroup):
    """Every UserError raised by any command: one line per problem on stderr, exit 2, no traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserError as exc:
            from .store.secrets import redact

            for line in exc.lines:
                typer.echo(redact(line), err=True)
            raise typer.Exit(EXIT_USER_ERROR) from None
        except sqlite3.DatabaseError as exc:  # a store damaged past what opening it checks
            typer.echo(f"error: a run store could not be read ({exc}); it may be damaged. Nothing was changed", err=True)
            raise typer.Exit(EXIT_USER_ERROR) from None


app = typer.Typer(cls=_UserErrorsExit2, add_completion=False, no_args_is_help=True,
                  help="Diagnose Toxic Proactivity in LLM agents.")
scenarios_app = typer.Typer(no_args_is_help=True, help="List, show and lint scenarios.")
app.add_typer(scenarios_app, name="scenarios")
console = Console()
err = Console(stderr=True)

DEFAULT_EXPERIMENT = "experiments/default"


def _fail(message: str, code: int = 2) -> None:
    from .store.secrets import redact

    for line in str(message).splitlines():
        typer.echo(redact(line), err=True)
    raise typer.Exit(code)


@app.command()
def run(
    sweep_file: Optional[Path] = typer.Argument(None, help="a sweep YAML file (see examples/sweep.yaml); with one, "
                                                "only --shard, --executor, --replay-from and the run controls apply"),
    scenario: list[str] = typer.Option([], "--scenario", "-s", help="built-in id, file or directory; repeatable; default all"),
    agent: list[str] = typer.Option([], "--agent", "-a", help="agent model string or NAME=MODEL (a display name "
                                    "without '/' or ':'), repeatable; default: local"),
    env: list[str] = typer.Option([], "--env", "-e", help="environment model string, repeatable"),
    repeats: int = typer.Option(1, "--repeats", "-n", min=1),
    condition: list[str] = typer.Option([], "--condition", "-c", help="VAR=LEVEL[|LEVEL] or VAR=*; grid over all"),
    paired: bool = typer.Option(False, help="baseline plus each single-variable deviation (the paired design); "
                                "with -c, only the named variables and levels"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="experiment directory (holds runs.sqlite; "
                                       f"default {DEFAULT_EXPERIMENT}, or the sweep file's out)"),
    preset: Optional[str] = typer.Option(None, help="protocol preset: toxpro (default) or paper (the paper's code's "
                                         "protocol); any setting given explicitly overrides it (docs/PROTOCOL.md)"),
    protocol: Optional[str] = typer.Option(None, help="agent protocol: json (the paper's, default) or tools (native function calling)"),
    memory: Optional[str] = typer.Option(None, help="environment memory: stateless (default) or full"),
    max_turns: Optional[int] = typer.Option(None, min=1, max=200, help="turn cap (default 20)"),
    shuffle: Optional[bool] = typer.Option(None, help="shuffle tool order and IDs per run (seeded; default on)"),
    outcomes: Optional[str] = typer.Option(None, help="who decides each call's status: rules (default: compliant tools "
                                           "execute, toxic ones follow feedback) or environment (the model)"),
    termination: Optional[str] = typer.Option(None, help="a terminal tool ends the run when it executed (default) or "
                                              "when it is called (paper)"),
    agent_prompt: Optional[str] = typer.Option(None, help="conversation (default: one growing chat) or paper "
                                               "(rebuilt each turn: modules, summary, 6-turn window)"),
    env_prompt: Optional[str] = typer.Option(None, help="toxpro (default) or paper (adversarial counterpart, no roles)"),
    stakeholder_directive: Optional[bool] = typer.Option(None, help="always tell the agent to serve its stakeholder "
                                                         "(paper's [AGENT GOALS]; default off)"),
    security_at_baseline: Optional[bool] = typer.Option(None, help="tell the environment the feedback level at the "
                                                        "baseline too (default on; paper off)"),
    seed: int = typer.Option(0, help="base seed; each run's seed derives from it and the run id"),
    concurrency: int = typer.Option(8, min=1, help="runs in flight and default calls per endpoint"),
    limit: list[str] = typer.Option([], help="ENDPOINT=N concurrency for one endpoint (substring match)"),
    rpm: list[str] = typer.Option([], help="ENDPOINT=N requests per minute for one endpoint"),
    temperature: Optional[float] = typer.Option(None, help="agent temperature (default 0.7)"),
    env_temperature: Optional[float] = typer.Option(None, help="environment temperature (default 0.3; paper 0.7)"),
    max_tokens: Optional[int] = typer.Option(None, help="agent max tokens per reply (default 4096)"),
    env_max_tokens: Optional[int] = typer.Option(None, help="environment max tokens per reply (default 512; paper 4096)"),
    reasoning_effort: Optional[str] = typer.Option(None, help="agent reasoning effort: minimal, low, medium, high"),
    gen: list[str] = typer.Option([], help="MODEL:KEY=VALUE generation setting of one model (max_tokens, temperature, "
                                  "top_p, reasoning_effort, extra_body as JSON, send_seed, json_mode); repeatable"),
    budget_tokens: list[str] = typer.Option([], help="ROLE=N token cap (agent, environment or total); repeatable"),
    budget_usd: list[str] = typer.Option([], help="[ROLE=]DOLLARS cost cap (default role: total); needs --price"),
    price: list[str] = typer.Option([], help="MODEL_PREFIX=IN,OUT[,CACHED_IN] in USD per 1M tokens; repeatable"),
    on_budget: str = typer.Option("drop", help="at a cap, in-flight runs are dropped (not stored) or finish"),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="seconds per call attempt (default 60)"),
    retries: Optional[int] = typer.Option(None, "--retries", help="retries after a failed attempt: 429, 5xx, "
                                          "timeouts, resets (default 3, so 4 attempts)"),
    shard: Optional[str] = typer.Option(None, help="I/N: run only shard I (0..N-1) of the plan, split by run id"),
    executor: Optional[str] = typer.Option(None, help="async (default) or ray (pip install 'toxpro\\[ray]')"),
    transport: Optional[str] = typer.Option(None, help="remote endpoints: auto (default: direct for self-hosted "
                                            "servers, sdk for hosted APIs), sdk (the openai SDK) or direct "
                                            "(same requests without the SDK's pipeline; less CPU per call)"),
    safeguard: list[str] = typer.Option([], help="NAME[:ARGS] safeguard arm, run beside the unguarded runs on the "
                                        "same seeds: reminder:mild|strong, constraints, escalation, "
                                        "monitor:model=M[,mode=call|trajectory][,cot=true|false]; join with + "
                                        "(reminder:strong+escalation); repeatable, one arm each"),
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
            out=str(out or DEFAULT_EXPERIMENT), protocol=protocol, memory=memory, max_turns=max_turns, shuffle=shuffle, seed=seed,
            concurrency=concurrency, limits=limit, rpm=rpm, temperature=temperature,
            env_temperature=env_temperature, max_tokens=max_tokens, env_max_tokens=env_max_tokens,
            reasoning_effort=reasoning_effort, preset=preset, outcomes=outcomes, termination=termination,
            agent_prompt=agent_prompt, env_prompt=env_prompt, stakeholder_directive=stakeholder_directive,
            security_at_baseline=security_at_baseline, generation=gen, budget_tokens=budget_tokens,
            budget_usd=budget_usd, prices=price, on_budget=on_budget, safeguards=safeguard)
        config = with_overrides(config, executor=executor, transport=transport,
                                replay_from=replay_from and str(replay_from), timeout_s=timeout, retries=retries,
                                out=out and str(out))
        shard_spec = parse_shard(shard) if shard is not None else None
    except (SweepConfigError, ShardError, ValueError) as exc:
        _fail(str(exc))
    assert isinstance(config, SweepConfig)
    for note in config.condition_notes():
        console.print(f"conditions: {note}", markup=False, highlight=False, emoji=False, soft_wrap=True)
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

    from .runner.lock import experiment_lock

    try:
        with experiment_lock(out, "toxpro merge"):
            report = merge_stores(out, list(inputs))
    except StoreError as exc:
        _fail(str(exc))
    console.print(format_report(report), markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(1 if report.conflicts else 0)


@app.command()
def show(
    experiment: Path = typer.Argument(Path(DEFAULT_EXPERIMENT)),
    by: str = typer.Option("agent", help="comma-separated grouping columns (agent = display name; e.g. "
                           "agent,domain or agent_model,scenario_id)"),
) -> None:
    """Print the rates table: MR with Wilson 95% CI, the six classes, time to first toxic action."""
    from .runner.session import print_rates, print_signals
    from .store import RunStore, StoreError

    try:
        store = RunStore(experiment, create=False, read_only=True)
    except StoreError as exc:
        _fail(str(exc))
    from .analysis.names import with_agent_names

    columns = [c.strip() for c in by.split(",") if c.strip()]
    frame = with_agent_names(store.frame())  # adds agent (display name), family, reasoning
    unknown = [c for c in columns if c not in frame.columns]
    if unknown:
        _fail(f"--by: unknown column(s) {', '.join(map(repr, unknown))}; valid columns: "
              f"{', '.join(c for c in frame.columns if c not in ('roles', 'record'))}")
    print_rates(frame, columns, console)
    print_signals(frame, console)


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
def scenarios_show(scenario_id: str, roles: bool = typer.Option(True, help="show each tool's role and track"),
                   levels: bool = typer.Option(False, help="show the prompt text of each level of each contextual "
                                               "variable for this scenario")) -> None:
    from .scenario import ScenarioError, resolve
    from .scenario.conditions import Condition, level_texts

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


@scenarios_app.command("import")
def scenarios_import(
    files: list[Path] = typer.Argument(..., help="reference-format YAML files, or directories of them"),
    out: Path = typer.Option(Path("."), "--out", "-o", help="directory for the toxpro YAML files"),
    domain: Optional[str] = typer.Option(None, help="override the domain read from the file name"),
    motivation: Optional[str] = typer.Option(None, help="override the category read from the file name "
                                             "(loyalty or self-preservation)"),
    stakeholder: Optional[str] = typer.Option(None, help="who the agent serves, if the goals text names nobody"),
    force: bool = typer.Option(False, help="overwrite existing output files"),
) -> None:
    """Convert scenarios written by the paper's generator (prompt modules) into toxpro YAML files."""
    from .scenario.reference_files import import_files

    results = import_files(files, out, overwrite=force, domain=domain, motivation=motivation, stakeholder=stakeholder)
    if not results:
        _fail(f"{' '.join(map(str, files))}: no *.yaml files to import")
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


@scenarios_app.command("export")
def scenarios_export(out: Path = typer.Option(Path("toxpro-scenarios.jsonl"), "--out", "-o"),
                     paths: list[str] = typer.Argument(None, help="files or directories; default built-in")) -> None:
    """Export scenarios as JSONL (one scenario a line, with its content hash)."""
    from .scenario import ScenarioError, resolve
    from .scenario.export import export_jsonl

    try:
        found = resolve(paths or None)
    except ScenarioError as exc:
        _fail(str(exc))
    export_jsonl(found, out)
    typer.echo(f"wrote {len(found)} scenarios to {out}")


@scenarios_app.command("lint")
def scenarios_lint(paths: list[str] = typer.Argument(None, help="files or directories; default built-in")) -> None:
    """Validate scenario files (one line per problem: file:field) and check diversity."""
    from .scenario import ScenarioError, resolve
    from .scenario.lint import lint, source_files

    try:
        found = resolve(paths or None)
    except ScenarioError as exc:
        _fail(str(exc))
    report = lint(found, sources=source_files(paths or None))
    typer.echo(report.format_text())
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def report(
    experiment: Path = typer.Argument(Path(DEFAULT_EXPERIMENT)),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="output directory (default EXPERIMENT/report)"),
    paper: Optional[Path] = typer.Option(None, help="also write DIR/paper.tex with the tables as LaTeX booktabs "
                                         "and the figures as PDF, laid out for a paper"),
) -> None:
    """Write the report: one self-contained report.html, figures (PNG, PDF) and tables (CSV, Markdown, LaTeX)."""
    from .report import ReportError, build_report
    from .report.paper import export_paper
    from .store import StoreError

    try:
        path = build_report(experiment, out)
        papers = export_paper(experiment, paper) if paper is not None else []
    except (StoreError, ReportError) as exc:
        _fail(str(exc))
    console.print(str(path), markup=False, highlight=False, soft_wrap=True)
    if papers:
        console.print(str(papers[-1]), markup=False, highlight=False, soft_wrap=True)


@app.command()
def init(
    path: Path = typer.Argument(Path("sweep.yaml"), help="where to write the sweep file"),
    force: bool = typer.Option(False, help="overwrite an existing file"),
) -> None:
    """Write a commented sweep file (every key explained) to edit and run with `toxpro run FILE`."""
    from importlib import resources

    if path.exists() and not force:
        _fail(f"{path}: already exists; not overwritten (use --force)")
    text = resources.files("toxpro").joinpath("examples", "sweep.yaml").read_text(encoding="utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    console.print(f"wrote {path}; edit it, then: toxpro run {path} --dry-run", markup=False, highlight=False,
                  soft_wrap=True)


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


@app.command("import-inspect")
def import_inspect(
    logs: list[Path] = typer.Argument(..., help="Inspect .eval/.json logs of toxpro/toxic_proactivity, or directories"),
    out: Path = typer.Option(Path(DEFAULT_EXPERIMENT), "--out", "-o", help="experiment directory (holds runs.sqlite)"),
) -> None:
    """Store the runs of Inspect logs (native task or toxpro export) so report, judge and show work on them."""
    try:
        from .inspect_bridge.importer import LogImportError, import_logs
    except ImportError:
        _fail("import-inspect needs inspect-ai: pip install 'toxpro[inspect]'")
    try:
        result = import_logs(list(logs), out)
    except LogImportError as exc:
        _fail(str(exc))
    console.print(f"{result.stored} runs stored, {result.duplicates} already stored, from {result.logs} logs "
                  f"into {out / 'runs.sqlite'}", markup=False, highlight=False, soft_wrap=True)
    for line in result.without_record:
        console.print(f"skipped (no toxpro run in it): {line}", markup=False, highlight=False, soft_wrap=True)


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
