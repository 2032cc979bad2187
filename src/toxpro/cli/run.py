"""`toxpro run` (plan, run and store a sweep, showing its progress) and `toxpro init`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from .common import DEFAULT_EXPERIMENT, console, fail

EXIT_ALL_FAILED = 1  # every run this sweep simulated ended as an error (exit 2 is for bad input)


def run(
    sweep_file: Optional[Path] = typer.Argument(
        None,
        help="a sweep YAML file (see examples/sweep.yaml); with one, "
        "only --shard, --executor, --replay-from and the run controls apply",
    ),
    scenario: list[str] = typer.Option(
        [], "--scenario", "-s", help="built-in id, file or directory; repeatable; default all"
    ),
    agent: list[str] = typer.Option(
        [],
        "--agent",
        "-a",
        help="agent model string or NAME=MODEL (a display name without '/' or ':'), repeatable; default: local",
    ),
    env: list[str] = typer.Option([], "--env", "-e", help="environment model string, repeatable"),
    repeats: int = typer.Option(1, "--repeats", "-n", min=1),
    condition: list[str] = typer.Option([], "--condition", "-c", help="VAR=LEVEL[|LEVEL] or VAR=*; grid over all"),
    paired: bool = typer.Option(
        False,
        help="baseline plus each single-variable deviation (the paired design); "
        "with -c, only the named variables and levels",
    ),
    out: Optional[Path] = typer.Option(
        None,
        "--out",
        "-o",
        help=f"experiment directory (holds runs.sqlite; default {DEFAULT_EXPERIMENT}, or the sweep file's out)",
    ),
    preset: Optional[str] = typer.Option(
        None,
        help="protocol preset: toxpro (default) or paper (the paper's code's "
        "protocol); any setting given explicitly overrides it (docs/PROTOCOL.md)",
    ),
    protocol: Optional[str] = typer.Option(
        None, help="agent protocol: json (the paper's, default) or tools (native function calling)"
    ),
    memory: Optional[str] = typer.Option(None, help="environment memory: stateless (default) or full"),
    max_turns: Optional[int] = typer.Option(None, min=1, max=200, help="turn cap (default 20)"),
    shuffle: Optional[bool] = typer.Option(None, help="shuffle tool order and IDs per run (seeded; default on)"),
    outcomes: Optional[str] = typer.Option(
        None,
        help="who decides each call's status: rules (default: compliant tools "
        "execute, toxic ones follow feedback) or environment (the model)",
    ),
    termination: Optional[str] = typer.Option(
        None, help="a terminal tool ends the run when it executed (default) or when it is called (paper)"
    ),
    agent_prompt: Optional[str] = typer.Option(
        None,
        help="situation-first (default: one growing chat, tools listed after the situation), conversation (v0.1: tools in the system prompt) or paper "
        "(rebuilt each turn: modules, summary, 6-turn window)",
    ),
    env_prompt: Optional[str] = typer.Option(
        None,
        help="toxpro (default: world state, then call history), history-first (call history before the state, so "
        "consecutive calls share a cacheable prefix) or paper (adversarial counterpart, no roles)",
    ),
    stakeholder_directive: Optional[bool] = typer.Option(
        None, help="always tell the agent to serve its stakeholder (paper's [AGENT GOALS]; default off)"
    ),
    security_at_baseline: Optional[bool] = typer.Option(
        None, help="tell the environment the feedback level at the baseline too (default on; paper off)"
    ),
    seed: int = typer.Option(0, help="base seed; each run's seed derives from it and the run id"),
    concurrency: int = typer.Option(8, min=1, help="runs in flight and default calls per endpoint"),
    limit: list[str] = typer.Option([], help="ENDPOINT=N concurrency for one endpoint (substring match)"),
    rpm: list[str] = typer.Option([], help="ENDPOINT=N requests per minute for one endpoint"),
    temperature: Optional[float] = typer.Option(None, help="agent temperature (default 0.7)"),
    env_temperature: Optional[float] = typer.Option(None, help="environment temperature (default 0.3; paper 0.7)"),
    max_tokens: Optional[int] = typer.Option(None, help="agent max tokens per reply (default 4096)"),
    env_max_tokens: Optional[int] = typer.Option(
        None, help="environment max tokens per reply (default 512; paper 4096)"
    ),
    reasoning_effort: Optional[str] = typer.Option(None, help="agent reasoning effort: minimal, low, medium, high"),
    gen: list[str] = typer.Option(
        [],
        help="MODEL:KEY=VALUE generation setting of one model (max_tokens, temperature, "
        "top_p, reasoning_effort, extra_body as JSON, send_seed, json_mode); repeatable",
    ),
    budget_tokens: list[str] = typer.Option([], help="ROLE=N token cap (agent, environment or total); repeatable"),
    budget_usd: list[str] = typer.Option([], help="[ROLE=]DOLLARS cost cap (default role: total); needs --price"),
    price: list[str] = typer.Option([], help="MODEL_PREFIX=IN,OUT[,CACHED_IN] in USD per 1M tokens; repeatable"),
    on_budget: str = typer.Option("drop", help="at a cap, in-flight runs are dropped (not stored) or finish"),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="seconds per call attempt (default 60)"),
    retries: Optional[int] = typer.Option(
        None, "--retries", help="retries after a failed attempt: 429, 5xx, timeouts, resets (default 3, so 4 attempts)"
    ),
    shard: Optional[str] = typer.Option(None, help="I/N: run only shard I (0..N-1) of the plan, split by run id"),
    executor: Optional[str] = typer.Option(None, help="async (default) or ray (pip install 'toxpro\\[ray]')"),
    transport: Optional[str] = typer.Option(
        None,
        help="remote endpoints: auto (default: direct for self-hosted "
        "servers, sdk for hosted APIs), sdk (the openai SDK) or direct "
        "(same requests without the SDK's pipeline; less CPU per call)",
    ),
    safeguard: list[str] = typer.Option(
        [],
        help="NAME[:ARGS] safeguard arm, run beside the unguarded runs on the "
        "same seeds: reminder:mild|strong, constraints, escalation, "
        "monitor:model=M[,mode=call|trajectory][,cot=true|false]; join with + "
        "(reminder:strong+escalation); repeatable, one arm each",
    ),
    replay_from: Optional[Path] = typer.Option(
        None,
        help="experiment whose environment replies are replayed while the agent's actions match (paired comparisons)",
    ),
    retry_errors: bool = typer.Option(False, help="run again the runs stored as errors"),
    dry_run: bool = typer.Option(False, help="print the plan and estimates (calls, tokens, cost); call nothing"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Simulate runs and store them; re-running the same command resumes."""
    from ..runner.config import SweepConfig, SweepConfigError, sweep_from_file, sweep_from_flags, with_overrides
    from ..runner.shard import ShardError, parse_shard

    try:
        config = (
            sweep_from_file(sweep_file)
            if sweep_file
            else sweep_from_flags(
                scenarios=scenario,
                agents=agent,
                envs=env,
                repeats=repeats,
                conditions=condition,
                paired=paired,
                out=str(out or DEFAULT_EXPERIMENT),
                protocol=protocol,
                memory=memory,
                max_turns=max_turns,
                shuffle=shuffle,
                seed=seed,
                concurrency=concurrency,
                limits=limit,
                rpm=rpm,
                temperature=temperature,
                env_temperature=env_temperature,
                max_tokens=max_tokens,
                env_max_tokens=env_max_tokens,
                reasoning_effort=reasoning_effort,
                preset=preset,
                outcomes=outcomes,
                termination=termination,
                agent_prompt=agent_prompt,
                env_prompt=env_prompt,
                stakeholder_directive=stakeholder_directive,
                security_at_baseline=security_at_baseline,
                generation=gen,
                budget_tokens=budget_tokens,
                budget_usd=budget_usd,
                prices=price,
                on_budget=on_budget,
                safeguards=safeguard,
            )
        )
        config = with_overrides(
            config,
            executor=executor,
            transport=transport,
            replay_from=replay_from and str(replay_from),
            timeout_s=timeout,
            retries=retries,
            out=out and str(out),
        )
        shard_spec = parse_shard(shard) if shard is not None else None
    except (SweepConfigError, ShardError, ValueError) as exc:
        fail(str(exc))
    assert isinstance(config, SweepConfig)
    for note in config.condition_notes():
        console.print(f"conditions: {note}", markup=False, highlight=False, emoji=False, soft_wrap=True)
    code = run_sweep(config, console=console, retry_errors=retry_errors, dry_run=dry_run, quiet=quiet, shard=shard_spec)
    raise typer.Exit(code)


def run_sweep(
    config,
    console: Console,
    retry_errors: bool = False,
    dry_run: bool = False,
    quiet: bool = False,
    shard: tuple[int, int] | None = None,
) -> int:
    """Run a sweep (runner.session.open_sweep) and show it: notes, estimate or progress, summary. The exit code."""
    from ..runner.session import SweepRefused, open_sweep

    def note(text: str) -> None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)

    try:
        with open_sweep(config, shard=shard, on_note=note) as sweep:
            if dry_run:
                for line in sweep.dry_run_lines():
                    console.print(line, markup=False)
                return 0
            return _execute(sweep, console, retry_errors, quiet)
    except SweepRefused as exc:
        console.print(str(exc), markup=False, highlight=False)
        return 2


def _execute(sweep, console: Console, retry_errors: bool, quiet: bool) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    from ..models.base import ModelError
    from ..runner.ray_executor import RayUnavailable
    from ..store.secrets import redact
    from .progress import LIVE_RUNS, ProgressLines, progress_info, turn_line, why_failed
    from .tables import print_rates

    config, planned = sweep.config, sweep.planned
    lines = not quiet and not console.is_terminal  # piped output: periodic progress lines instead of a bar
    fatal: str | None = None
    with Bar(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[info]}"),
        console=console,
        disable=quiet or lines,
        transient=False,
    ) as bar:
        task = bar.add_task("runs", total=len(planned), info="")
        ticker = ProgressLines(console, len(planned)) if lines else None

        def on_progress(p) -> None:
            bar.update(task, completed=p.skipped + p.done, info=progress_info(p))
            if ticker is not None:
                ticker.update(p)

        pending = sweep.pending(retry_errors)
        bar.update(task, completed=len(planned) - pending)
        live = (
            None
            if quiet or pending > LIVE_RUNS or config.executor == "ray"
            else (
                lambda p, turn: console.print(
                    f"  {p.scenario.id} #{p.repeat} {turn_line(turn)}", markup=False, soft_wrap=True
                )
            )
        )
        try:
            result = sweep.execute(retry_errors=retry_errors, on_progress=on_progress, on_turn=live)
        except (ModelError, RayUnavailable) as exc:
            fatal = exc.message if isinstance(exc, ModelError) else str(exc)
        except BaseException:
            bar.remove_task(task)  # no finished-looking bar under a traceback or an interrupt
            raise
        if fatal is not None:
            bar.remove_task(task)  # no bar (e.g. 0/192 or 192/192) below a fatal error
    if fatal is not None:
        console.print(redact(f"error: {fatal}"), markup=False, highlight=False, emoji=False, soft_wrap=True)
        return 2
    failed_all = result.done > 0 and result.errors == result.done
    if failed_all:
        console.print(
            redact(f"error: all {result.done} runs of this sweep failed; {why_failed(result)}"),
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    console.print(
        f"{result.done} runs simulated, {result.skipped} already stored, {result.errors} errors "
        f"in {result.elapsed_s:.1f}s",
        markup=False,
    )
    if result.budget_stop:
        fate = (
            f"{result.dropped} in-flight runs dropped (not stored)"
            if config.on_budget == "drop"
            else "the runs in flight finished and were stored"
        )
        console.print(
            f"budget: {result.budget_stop}. No new runs started ({result.not_started} left); {fate}. "
            f"Re-run this command with a higher cap to run the rest. {sweep.budget.summary()}",
            markup=False,
        )
    frame = sweep.frame()
    if not quiet:
        print_rates(frame, ["agent", "scenario_id"] if len(sweep.scenarios) <= 8 else ["agent"], console)
        if len(planned) == 1 and not frame.empty:
            _print_single(sweep.store, planned[0].run_id, console, turns=result.done == 0)  # live lines showed them
    console.print(f"stored in {sweep.store.path}", markup=False)
    return EXIT_ALL_FAILED if failed_all else 0


def _print_single(store, run_id: str, console: Console, turns: bool = True) -> None:
    from ..store.secrets import redact
    from .progress import turn_line

    record = store.get(run_id)
    if record is None:
        return
    console.print(
        f"run {record.run_id}: label [bold]{record.label.label}[/bold], "
        f"{len(record.turns)} turns, outcome {record.outcome}"
    )
    for turn in record.turns if turns else []:
        console.print(f"  {turn_line(turn)}", markup=False, soft_wrap=True)
    if record.error:
        console.print(redact(f"  error: {record.error.kind}: {record.error.message}"), markup=False)


def init(
    path: Path = typer.Argument(Path("sweep.yaml"), help="where to write the sweep file"),
    force: bool = typer.Option(False, help="overwrite an existing file"),
) -> None:
    """Write a commented sweep file (every key explained) to edit and run with `toxpro run FILE`."""
    from importlib import resources

    if path.exists() and not force:
        fail(f"{path}: already exists; not overwritten (use --force)")
    text = resources.files("toxpro").joinpath("examples", "sweep.yaml").read_text(encoding="utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    console.print(
        f"wrote {path}; edit it, then: toxpro run {path} --dry-run", markup=False, highlight=False, soft_wrap=True
    )
