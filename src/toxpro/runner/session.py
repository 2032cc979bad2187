"""A sweep as the CLI runs it: plan, progress bar, execution, summary."""

from __future__ import annotations

import asyncio
import os

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..models.base import ModelError
from ..scenario.conditions import ConditionError
from ..scenario.loader import ScenarioError, resolve
from ..store.sqlite import RunStore, StoreError
from .config import SweepConfig
from .limits import EndpointLimits
from .replay import ReplaySource
from .shard import select_shard
from .sweep import Progress, charge_stored, execute, monitor_model, plan, todo_runs


def _fmt(x: float, pct: bool = True) -> str:
    if x is None or pd.isna(x):
        return "–"
    return f"{100 * x:.0f}%" if pct else f"{x:.1f}"


def print_rates(frame: pd.DataFrame, by: list[str], console: Console, title: str = "Misalignment") -> None:
    from ..analysis import label_counts

    if frame.empty:
        console.print("no runs stored yet")
        return
    if "safeguard" in frame.columns and frame["safeguard"].nunique() > 1 and "safeguard" not in by:
        by = [*by, "safeguard"]  # guarded and unguarded runs (with or without escalation) are never pooled
    table = label_counts(frame, by)
    out = Table(title=f"{title} (MR = (strategic+direct) / non-error runs; Wilson 95% CI)")
    escalation = bool(table["escalated"].sum()) or ("safeguard" in by and
                                                    table["safeguard"].astype(str).str.contains("escalation").any())
    cols = ["n", "MR [95% CI]", "strat", "direct", "failed", "robust", "stalled", *(["escal"] if escalation else []),
            "error", "TTF"]
    for col in [*by, *cols]:
        out.add_column(col, overflow="fold")
    for _, r in table.iterrows():
        mr = f"{_fmt(r.mr)} [{_fmt(r.mr_lo)}, {_fmt(r.mr_hi)}]"
        out.add_row(*[str(r[c]) for c in by], str(r.n), mr, str(r.strategic), str(r.direct), str(r.failed_attempt),
                    str(r.robust), str(r.stalled), *([str(r.escalated)] if escalation else []), str(r.error),
                    _fmt(r.ttf_mean, pct=False))
    console.print(out)


def run_sweep(config: SweepConfig, console: Console, retry_errors: bool = False, dry_run: bool = False,
              quiet: bool = False, shard: tuple[int, int] | None = None) -> int:
    try:
        scenarios = resolve(config.scenarios or None)
    except ScenarioError as exc:
        for line in exc.problems:
            console.print(line, markup=False, highlight=False)
        return 2
    settings = config.settings()
    os.environ["TOXPRO_TRANSPORT"] = config.transport  # read by models.factory (and inherited by Ray workers)
    try:
        planned = plan(scenarios, config.agents, config.resolved_envs(), config.condition_list(), config.repeats,
                       settings, config.seed, settings_of=config.settings_for if config.generation else None,
                       safeguard_arms=config.safeguard_arms())
    except ConditionError as exc:
        console.print(f"error: {exc}", markup=False, highlight=False)
        return 2
    if shard is not None:
        whole = len(planned)
        planned = select_shard(planned, *shard)
        console.print(f"shard {shard[0]}/{shard[1]}: {len(planned)} of {whole} planned runs", markup=False)
    replay = None
    if config.replay_from:
        try:
            replay = ReplaySource.from_store(config.replay_from)
        except StoreError as exc:
            console.print(f"error: --replay-from: {exc}", markup=False, highlight=False)
            return 2
    store = RunStore(config.out)
    store.set_meta("last_sweep", config.model_dump(mode="json"))
    if shard is not None:
        store.set_meta("shard", list(shard))
    budget = config.budget()
    if dry_run:
        from .estimate import estimate

        charge_stored(budget, planned, store)
        console.print(estimate(planned, settings, store, budget), markup=False)
        watched = sum(1 for p in planned if monitor_model(p, settings))
        if watched:
            console.print(f"safeguards: {watched} planned runs have an action monitor, one more call per turn "
                          "(not in the estimate above)", markup=False)
        if replay is not None:
            console.print(f"replay: {len(replay)} recorded cells in {config.replay_from}; replayed environment "
                          "replies cost nothing, so the estimate is an upper bound", markup=False)
        return 0
    limits = EndpointLimits(config.concurrency, config.limits, config.rpm)
    with Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
             TextColumn("{task.fields[info]}"), console=console, disable=quiet, transient=False) as bar:
        task = bar.add_task("runs", total=len(planned), info="")

        def on_progress(p: Progress) -> None:
            bar.update(task, completed=p.skipped + p.done,
                       info=f"errors {p.errors} · retries {p.retries} · tokens {p.tokens:,}")

        pending = len(todo_runs(planned, store, retry_errors))
        bar.update(task, completed=len(planned) - pending)
        try:
            if config.executor == "ray":
                from .ray_executor import RayUnavailable, execute_ray

                try:
                    result = execute_ray(planned, store, settings, concurrency=config.concurrency,
                                         experiment=config.out, retry_errors=retry_errors, on_progress=on_progress,
                                         budget=budget, replay=replay, address=config.ray_address)
                except RayUnavailable as exc:
                    console.print(f"error: {exc}", markup=False, highlight=False)
                    return 2
            else:
                live = None if quiet or pending > LIVE_RUNS else (
                    lambda p, turn: console.print(f"  {p.scenario.id} #{p.repeat} {turn_line(turn)}", markup=False,
                                                  soft_wrap=True))
                result = asyncio.run(execute(planned, store, settings, concurrency=config.concurrency, limits=limits,
                                             experiment=config.out, retry_errors=retry_errors,
                                             on_progress=on_progress, budget=budget, replay=replay, on_turn=live))
        except ModelError as exc:
            console.print(f"error: {exc.message}", markup=False, highlight=False)
            return 2
    console.print(f"{result.done} runs simulated, {result.skipped} already stored, {result.errors} errors "
                  f"in {result.elapsed_s:.1f}s", markup=False)
    if result.budget_stop:
        fate = (f"{result.dropped} in-flight runs dropped (not stored)" if config.on_budget == "drop"
                else "the runs in flight finished and were stored")
        console.print(f"budget: {result.budget_stop}. No new runs started ({result.not_started} left); {fate}. "
                      f"Re-run this command with a higher cap to run the rest. {budget.summary()}", markup=False)
    ids = [p.run_id for p in planned]
    frame = store.frame()
    frame = frame[frame["run_id"].isin(ids)]
    if not quiet:
        print_rates(frame, ["agent_model", "scenario_id"] if len(scenarios) <= 8 else ["agent_model"], console)
        if len(planned) == 1 and not frame.empty:
            _print_single(store, ids[0], console, turns=result.done == 0)  # live lines already showed them
    console.print(f"stored in {store.path}", markup=False)
    return 0


LIVE_RUNS = 4  # sweeps this small print each turn as it completes


def turn_line(turn) -> str:
    a = turn.action
    what = f"{a.tool_name} ({a.tool_role}, {a.tool_track})" if a and a.ok else f"protocol error: {a.problem if a else 'no reply'}"
    status = f" → {turn.env.status}" if turn.env else ""
    monitor = getattr(turn, "monitor", None)
    checked = f" [monitor: {monitor.verdict}]" if monitor is not None and monitor.verdict != "allow" else ""
    return f"turn {turn.index}: {what}{checked}{status}"


def _print_single(store: RunStore, run_id: str, console: Console, turns: bool = True) -> None:
    record = store.get(run_id)
    if record is None:
        return
    console.print(f"run {record.run_id}: label [bold]{record.label.label}[/bold], "
                  f"{len(record.turns)} turns, outcome {record.outcome}")
    for turn in record.turns if turns else []:
        console.print(f"  {turn_line(turn)}", markup=False, soft_wrap=True)
    if record.error:
        console.print(f"  error: {record.error.kind}: {record.error.message}", markup=False)
