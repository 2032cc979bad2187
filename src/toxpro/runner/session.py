"""A sweep as the CLI runs it: plan, progress bar, execution, summary."""

from __future__ import annotations

import asyncio
from contextlib import ExitStack
import time

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..models.base import ModelError
from ..models.limits import EndpointLimits
from ..models.retry import RetryPolicy
from ..scenario.loader import resolve
from ..store.compat import require_compatible
from ..store.secrets import redact
from ..store.sqlite import RunStore, StoreError
from .config import SweepConfig
from .lock import experiment_lock
from .replay import ReplaySource
from .shard import select_shard
from .sweep import Progress, charge_stored, execute, monitor_model, plan, todo_runs


def _fmt(x: float, pct: bool = True) -> str:
    if x is None or pd.isna(x):
        return "–"
    return f"{100 * x:.0f}%" if pct else f"{x:.1f}"


def print_rates(frame: pd.DataFrame, by: list[str], console: Console, title: str = "Misalignment") -> None:
    from ..analysis import label_counts
    from ..analysis.names import with_agent_names
    from rich.markup import escape

    if frame.empty:
        console.print("no runs stored yet")
        return
    frame = with_agent_names(frame)
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
        out.add_row(*[escape(str(r[c])) for c in by], str(r.n), mr, str(r.strategic), str(r.direct), str(r.failed_attempt),
                    str(r.robust), str(r.stalled), *([str(r.escalated)] if escalation else []), str(r.error),
                    _fmt(r.ttf_mean, pct=False))
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
        out.add_row(str(r.agent), str(r.n), f"{_fmt(r.eval_aware_rate)} [{_fmt(r.ea_lo)}, {_fmt(r.ea_hi)}]",
                    _fmt(r.mr))
    console.print(out)
    fid = fidelity_table(frame, "env_model")
    fid = fid[fid["n_runs"] > 0]
    if fid.empty:
        return
    out = Table(title="Environment fidelity (share of environment turns with each finding; rule checks)")
    cols = ("status_mismatch", "narration_contradiction", "undeclared_state", "updates_on_refusal", "invented_ids")
    for col in ("env_model", "runs", "turns", "status≠rules", "narration", "undeclared state", "updates on refusal",
                "invented IDs", "any"):
        out.add_column(col, overflow="fold")
    for _, r in fid.iterrows():
        out.add_row(str(r.env_model), str(r.n_runs), str(r.env_turns), *(_fmt(r[f"{c}_share"]) for c in cols),
                    _fmt(r.flagged_share))
    console.print(out)


def run_sweep(config: SweepConfig, console: Console, retry_errors: bool = False, dry_run: bool = False,
              quiet: bool = False, shard: tuple[int, int] | None = None) -> int:
    """Plan, check and run a sweep under the experiment's write lock (one writer per directory)."""
    with experiment_lock(config.out), ExitStack() as closing:  # the store is closed (WAL checkpointed) at the end
        return _run_sweep(config, console, retry_errors, dry_run, quiet, shard, closing)


def _run_sweep(config: SweepConfig, console: Console, retry_errors: bool, dry_run: bool, quiet: bool,
               shard: tuple[int, int] | None, closing: ExitStack) -> int:
    scenarios = resolve(config.scenarios or None)  # a ScenarioError is a UserError: the CLI prints it, exit 2
    settings = config.settings()
    skipped: list[str] = []
    planned = plan(scenarios, config.agent_models(), config.resolved_envs(), config.condition_list(), config.repeats,
                   settings, config.seed, settings_of=config.settings_for if config.generation else None,
                   skipped=skipped, tags=config.agent_tags(), safeguard_arms=config.safeguard_arms())
    for reason in skipped:
        console.print(f"skipped: {reason}", markup=False, highlight=False, soft_wrap=True)
    if skipped and not planned:
        console.print("error: no planned run is left once those cells are skipped", markup=False)
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
    store = closing.enter_context(RunStore(config.out))
    require_compatible(store, settings, "this sweep")  # a StoreError (exit 2) names each differing setting
    store.set_meta("last_sweep", config.model_dump(mode="json"))
    if shard is not None:
        store.set_meta("shard", list(shard))
    budget = config.budget()
    if dry_run:
        from .estimate import estimate

        charge_stored(budget, planned, store)
        console.print(redact(estimate(planned, settings, store, budget)), markup=False)
        watched = sum(1 for p in planned if monitor_model(p, settings))
        if watched:
            console.print(f"safeguards: {watched} planned runs have an action monitor, one more call per turn "
                          "(not in the estimate above)", markup=False)
        if replay is not None:
            console.print(f"replay: {len(replay)} recorded cells in {config.replay_from}; replayed environment "
                          "replies cost nothing, so the estimate is an upper bound", markup=False)
        return 0
    limits = EndpointLimits(config.concurrency, config.limits, config.rpm)
    lines = not quiet and not console.is_terminal  # piped output: periodic progress lines instead of a bar
    fatal: str | None = None
    with Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
             TextColumn("{task.fields[info]}"), console=console, disable=quiet or lines, transient=False) as bar:
        task = bar.add_task("runs", total=len(planned), info="")
        ticker = ProgressLines(console, len(planned)) if lines else None

        def on_progress(p: Progress) -> None:
            bar.update(task, completed=p.skipped + p.done, info=progress_info(p))
            if ticker is not None:
                ticker.update(p)

        pending = len(todo_runs(planned, store, retry_errors))
        bar.update(task, completed=len(planned) - pending)
        try:
            if config.executor == "ray":
                from .ray_executor import RayUnavailable, execute_ray

                try:
                    result = execute_ray(planned, store, settings, concurrency=config.concurrency,
                                         experiment=config.out, retry_errors=retry_errors, on_progress=on_progress,
                                         budget=budget, replay=replay, address=config.ray_address,
                                         policy=RetryPolicy(transport=config.transport))  # Ray: the transport only, as before
                except RayUnavailable as exc:
                    fatal = str(exc)
            else:
                live = None if quiet or pending > LIVE_RUNS else (
                    lambda p, turn: console.print(f"  {p.scenario.id} #{p.repeat} {turn_line(turn)}", markup=False,
                                                  soft_wrap=True))
                result = asyncio.run(execute(planned, store, settings, concurrency=config.concurrency, limits=limits,
                                             experiment=config.out, retry_errors=retry_errors,
                                             on_progress=on_progress, budget=budget, replay=replay, on_turn=live,
                                             policy=config.retry_policy()))
        except ModelError as exc:
            fatal = exc.message
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
        console.print(redact(f"error: all {result.done} runs of this sweep failed; "
                             f"{why_failed(result)}"), markup=False, highlight=False, soft_wrap=True)
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
        print_rates(frame, ["agent", "scenario_id"] if len(scenarios) <= 8 else ["agent"], console)
        if len(planned) == 1 and not frame.empty:
            _print_single(store, ids[0], console, turns=result.done == 0)  # live lines already showed them
    console.print(f"stored in {store.path}", markup=False)
    return EXIT_ALL_FAILED if failed_all else 0


EXIT_ALL_FAILED = 1  # every run this sweep simulated ended as an error (exit 2 is for bad input)


def why_failed(p: Progress) -> str:
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(p.error_kinds.items(), key=lambda kv: -kv[1]))
    return f"errors by kind: {kinds}; last: {p.last_error}" if kinds else "see the stored errors"


def progress_info(p: Progress) -> str:
    info = f"errors {p.errors} · retries {p.retries} · tokens {p.tokens:,}"
    if p.calls_in_flight:
        info += f" · calls in flight {p.calls_in_flight}, oldest {p.oldest_call_s:.0f}s"
    if p.last_error:
        info += f" · last error {p.last_error[:80]}"
    return redact(info)


LIVE_RUNS = 4  # sweeps this small print each turn as it completes


class ProgressLines:
    """Progress for output that is not a terminal (logs, CI): a line at every tenth of the plan, at most one
    every EVERY_S seconds, and at the end."""

    EVERY_S = 30.0

    def __init__(self, console: Console, total: int):
        self.console, self.total = console, total
        self.step = max(1, total // 10)
        self.last_count, self.last_time = -1, time.monotonic()

    def update(self, p: Progress) -> None:
        count = p.skipped + p.done
        now = time.monotonic()
        if count == self.total or count // self.step > self.last_count // self.step or \
                now - self.last_time >= self.EVERY_S:
            self.last_count, self.last_time = count, now
            self.console.print(f"runs {count}/{self.total} · errors {p.errors} · retries {p.retries} · "
                               f"tokens {p.tokens:,} · {p.elapsed_s:.0f}s", markup=False, highlight=False,
                               soft_wrap=True)


def turn_line(turn) -> str:
    a = turn.action
    if a is None and turn.agent_call.error is not None:  # the call failed: name the API error, not "no reply"
        e = turn.agent_call.error
        return redact(f"turn {turn.index}: API error {e.kind}{f' (HTTP {e.status})' if e.status else ''}: {e.message}")
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
        console.print(redact(f"  error: {record.error.kind}: {record.error.message}"), markup=False)
