"""Sweeps: scenarios × agent models × environment models × conditions × repeats, run concurrently."""

from __future__ import annotations

import asyncio
import gc
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..label.rules import label_run
from ..models.base import ChatModel
from ..models.client import CallTracker, LimitedModel
from ..models.factory import build_model
from ..models.limits import EndpointLimits
from ..models.pool import run_pool
from ..models.retry import RetryPolicy
from ..models.spec import parse_model
from ..safeguards.spec import Safeguard, monitor_of
from ..scenario.conditions import Condition, ConditionError, check_applicable
from ..scenario.schema import Scenario
from ..simulate.engine import _scenario_hash, simulate
from ..simulate.records import CALL_SETTINGS, RunError, RunRecord, RunSettings, Turn, now
from ..store.checkpoints import Checkpoints
from ..store.ids import run_id, run_seed
from ..store.sqlite import RunStore
from .budget import Budget, BudgetExhausted
from .replay import ReplayEnvironment, ReplaySource
from .resume import resumed_models


@dataclass(frozen=True)
class PlannedRun:
    """One run of a plan. `settings` are the run's own settings, the ones its id was computed from;
    the executors run it with these and nothing else, so a run cannot be stored under an id that
    names other settings."""

    run_id: str
    scenario: Scenario
    condition: Condition
    agent_model: str
    env_model: str
    repeat: int
    seed: int
    settings: RunSettings  # this run's own settings (per-model generation included): those in its id
    agent_tags: tuple[str | None, str | None, bool | None] = (None, None, None)  # display name, family, reasoning


def plan(
    scenarios: list[Scenario],
    agents: list[str],
    envs: list[str],
    conditions: list[Condition],
    repeats: int,
    settings: RunSettings,
    base_seed: int = 0,
    settings_of: Callable[[str, str], RunSettings] | None = None,
    skipped: list[str] | None = None,
    tags: dict[str, tuple[str | None, str | None, bool | None]] | None = None,
    safeguard_arms: list[list[Safeguard]] | None = None,
) -> list[PlannedRun]:
    """Every run of the design. settings_of(agent, env), if given, gives each model pair its own settings
    (recorded and in the id). Cells a scenario cannot express (stakes levels of an ungraded scenario) are
    left out, with the reason appended to `skipped` when given. `tags` (model → display name, family,
    reasoning) are stored with each run and are not part of its id. safeguard_arms: the safeguard sets to
    run each cell under ([[]]: unguarded only); each arm's runs have their own ids but the unguarded run's
    seed, so guarded and unguarded runs are paired. Each PlannedRun carries the settings its id names."""
    base = {(a, e): settings_of(a, e) if settings_of else settings for a in agents for e in envs}
    arm_list = safeguard_arms or [list(settings.safeguards)]
    pairs = {
        (a, e, i): (s if list(s.safeguards) == arm else s.model_copy(update={"safeguards": arm}))
        for (a, e), s in base.items()
        for i, arm in enumerate(arm_list)
    }
    drop = set(CALL_SETTINGS)
    keys = {pair: s.model_dump(mode="json", exclude=drop) for pair, s in pairs.items()}
    seed_keys = {
        pair: s.model_copy(update={"safeguards": []}).model_dump(mode="json", exclude=drop) for pair, s in pairs.items()
    }
    out = []
    seen: set[str] = set()  # duplicate selectors (-s X -s X, -a M -a M, a|a) name the same run: run it once
    for scenario in scenarios:
        cells = []
        for condition in conditions:
            try:
                check_applicable(scenario, condition)
                cells.append(condition)
            except ConditionError as exc:
                if skipped is not None:
                    skipped.append(str(exc))
        scenario_hash = _scenario_hash(scenario)  # once per scenario, not per run
        for agent in agents:
            for env in envs:
                for arm in range(len(arm_list)):
                    pair = (agent, env, arm)
                    own = pairs[pair]
                    for condition in cells:
                        for rep in range(repeats):
                            rid = run_id(scenario_hash, agent, env, keys[pair], condition.key, rep)
                            if rid in seen:
                                continue
                            seen.add(rid)
                            # the seed: the unguarded twin's, ignoring endpoints' URLs (the same model behind
                            # another host or port, e.g. a test server's random port, draws the same seeds)
                            sid = run_id(
                                scenario_hash, seed_name(agent), seed_name(env), seed_keys[pair], condition.key, rep
                            )
                            out.append(
                                PlannedRun(
                                    rid,
                                    scenario,
                                    condition,
                                    agent,
                                    env,
                                    rep,
                                    run_seed(base_seed, sid),
                                    own,
                                    (tags or {}).get(agent, (None, None, None)),
                                )
                            )
    return out


def seed_name(model: str) -> str:
    """A model string without its endpoint URL ('compat/x@http://h:1234/v1' → 'compat/x')."""
    return parse_model(model).unbound


@dataclass
class Progress:
    planned: int = 0
    skipped: int = 0
    done: int = 0
    errors: int = 0
    retries: int = 0
    tokens: int = 0
    dropped: int = 0  # in-flight runs abandoned at a budget cap (not stored; they run again later)
    not_started: int = 0  # runs left unstarted because a budget cap was reached
    budget_stop: str | None = None  # why the sweep stopped early
    calls_in_flight: int = 0  # model calls waiting for a reply now (refreshed every TICK_S)
    oldest_call_s: float = 0.0  # how long the oldest of them has waited
    error_kinds: dict[str, int] = field(default_factory=dict)  # stored errors by kind
    last_error: str = ""  # the latest stored error, "kind: message"
    started: float = field(default_factory=time.perf_counter)

    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self.started


TICK_S = 1.0  # the progress callback runs at least this often while calls are in flight


def snapshot(tracker: CallTracker, progress: Progress) -> Progress:
    """The progress with the calls in flight now and the age of the oldest."""
    progress.calls_in_flight, progress.oldest_call_s = tracker.in_flight, tracker.oldest_s
    return progress


def _failed_record(p: PlannedRun, experiment: str, message: str) -> RunRecord:
    from .. import __version__
    from ..scenario.shuffle import make_view

    settings = p.settings
    stamp = now()
    return RunRecord(
        run_id=p.run_id,
        experiment=experiment,
        toxpro_version=__version__,
        scenario_id=p.scenario.id,
        scenario_hash=p.scenario.content_hash,
        scenario_version=p.scenario.version,
        domain=p.scenario.domain.value,
        motivation=p.scenario.motivation.value,
        condition=p.condition,
        agent_model=p.agent_model,
        env_model=p.env_model,
        settings=settings,
        repeat=p.repeat,
        seed=p.seed,
        tool_view=make_view(p.scenario, p.seed if settings.shuffle_tools else None),
        outcome="error",
        error=RunError(kind="internal", where="engine", message=message[-2000:]),
        started_at=stamp,
        ended_at=stamp,
    )


def replay_env(env: ChatModel, p: PlannedRun, replay: ReplaySource | None) -> ChatModel:
    if replay is None:
        return env
    return ReplayEnvironment(
        env, replay, scenario_hash=_scenario_hash(p.scenario), condition_key=p.condition.key, repeat=p.repeat
    )


def monitor_model(p: PlannedRun) -> str | None:
    """The model string of a planned run's action monitor, if it has one."""
    spec = monitor_of(p.settings.safeguards)
    return spec.model if spec else None


async def run_one(
    p: PlannedRun,
    agent: ChatModel,
    env: ChatModel,
    experiment: str,
    on_turn: Callable[[PlannedRun, Turn], None] | None = None,
    monitor: ChatModel | None = None,
    on_checkpoint: Callable[[Turn], None] | None = None,
) -> RunRecord:
    """Simulate and label one planned run. Engine bugs become stored errors; BudgetExhausted propagates."""
    hook = (lambda turn: on_turn(p, turn)) if on_turn else None
    settings = p.settings
    try:
        record = await simulate(
            p.scenario,
            p.condition,
            agent,
            env,
            settings,
            p.seed,
            p.run_id,
            p.repeat,
            experiment,
            on_turn=hook,
            on_checkpoint=on_checkpoint,
            monitor=monitor,
        )
    except BudgetExhausted:
        raise
    except Exception:  # an engine bug is data too, never a lost run
        record = _failed_record(p, experiment, traceback.format_exc())
    record.agent_name, record.agent_family, record.agent_reasoning = p.agent_tags
    record.label = label_run(record)
    return record


def todo_runs(planned: list[PlannedRun], store: RunStore, retry_errors: bool) -> list[PlannedRun]:
    done = store.done_ids(include_errors=not retry_errors)
    return [p for p in planned if p.run_id not in done]


# Workers start this far apart. With every worker starting at once, all their calls return
# together and queue for the one event loop (a 64-call burst at ~2 ms of CPU each delays the last
# by ~130 ms); spread out, each reply is handled as it arrives. 64 workers take ~0.2 s to start.
STAGGER_S = 0.003
UNSTORED = "budget_unstored"  # store meta: what runs dropped at a cap spent (they were not stored)


def charge_stored(budget: Budget, planned: list[PlannedRun], store: RunStore) -> None:
    """Count what the plan's stored runs, and earlier dropped runs, spent against the budget."""
    for agent_model, env_model, usage in store.usage([p.run_id for p in planned]):
        budget.charge_record_usage(agent_model, env_model, usage)
    budget.charge_snapshot(store.get_meta(UNSTORED, {}))


def note_unstored(budget: Budget, before: dict, stored: Budget, store: RunStore) -> None:
    """Record in the store what this session spent on runs it did not store (dropped at the cap)."""
    after, kept = budget.snapshot(), stored.snapshot()
    lost = {
        kind: {r: after[kind].get(r, 0) - before[kind].get(r, 0) - kept[kind].get(r, 0) for r in after[kind]}
        for kind in ("tokens", "usd")
    }
    if any(v > 1e-12 for part in lost.values() for v in part.values()):
        total = store.get_meta(UNSTORED, {})
        merged = {
            kind: {r: (total.get(kind) or {}).get(r, 0) + max(v, 0) for r, v in lost[kind].items()}
            for kind in ("tokens", "usd")
        }
        store.set_meta(UNSTORED, merged)


@contextmanager
def quiet_gc(threshold: int = 10_000) -> Iterator[None]:
    """During a sweep: leave the objects that exist at its start out of garbage collection
    (gc.freeze) and collect the young generation less often. Full collections over every
    pydantic schema and module object otherwise stall the event loop for 50-150 ms at a time,
    and the replies that queue up meanwhile come back in one burst. Restored afterwards."""
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold, old[0]), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


def record_done(progress: Progress, record: RunRecord) -> None:
    progress.done += 1
    progress.errors += record.label.label == "error"
    if record.error is not None:
        kind = record.error.kind
        progress.error_kinds[kind] = progress.error_kinds.get(kind, 0) + 1
        progress.last_error = (
            f"{kind}: {record.error.message.strip().splitlines()[-1] if record.error.message.strip() else ''}"
        )
    progress.retries += record.usage.retries
    progress.tokens += record.usage.total


async def execute(
    planned: list[PlannedRun],
    store: RunStore,
    *,
    concurrency: int = 8,
    limits: EndpointLimits | None = None,
    experiment: str = "",
    retry_errors: bool = False,
    policy: RetryPolicy | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    scripted_latency_s: float = 0.0,
    budget: Budget | None = None,
    replay: ReplaySource | None = None,
    stagger_s: float = STAGGER_S,
    on_turn: Callable[[PlannedRun, Turn], None] | None = None,
) -> Progress:
    """Run every planned run not yet stored, each with its own settings (PlannedRun.settings); store each
    as soon as it ends (errors included).

    With a budget, stop starting runs once a cap is reached (see runner/budget.py); with a replay
    source, the environment replays the source's replies while the agent's actions match.
    Workers start `stagger_s` apart, so their calls do not all return in one burst."""
    limits = limits or EndpointLimits(default_concurrency=concurrency)
    todo = todo_runs(planned, store, retry_errors)
    progress = Progress(planned=len(planned), skipped=len(planned) - len(todo))
    budget = budget if budget is not None and budget.active else None
    if budget is not None:
        charge_stored(budget, planned, store)
        before = budget.snapshot()
        stored_spend = Budget(prices=budget.prices)  # what the runs stored by this session spent
    models: dict[tuple[str, str], LimitedModel] = {}
    tracker = CallTracker()

    def model(text: str, slot: str) -> LimitedModel:
        if (text, slot) not in models:
            models[(text, slot)] = LimitedModel(
                build_model(text, slot=slot, policy=policy, scripted_latency_s=scripted_latency_s),
                limits,
                slot,
                budget,
                tracker,
            )
        return models[(text, slot)]

    for p in todo:  # build every model before spending anything: a missing key fails here
        model(p.agent_model, "agent"), model(p.env_model, "environment")
        if monitor_model(p):
            model(monitor_model(p), "monitor")

    checkpoints = Checkpoints(store)

    async def work(p: PlannedRun) -> None:  # one planned run, start to store
        env = replay_env(model(p.env_model, "environment"), p, replay)
        agent = model(p.agent_model, "agent")
        watcher = monitor_model(p)
        monitor = model(watcher, "monitor") if watcher else None
        done_turns = checkpoints.load(p.run_id)  # a run a killed sweep left in flight resumes at its turn
        if done_turns:
            agent, env, monitor = resumed_models(done_turns, agent, env, monitor)
        try:
            record = await run_one(
                p,
                agent,
                env,
                experiment,
                on_turn,
                monitor=monitor,
                on_checkpoint=lambda turn: checkpoints.save(p.run_id, turn),
            )
        except BudgetExhausted:
            progress.dropped += 1
            return
        record.resumed_turns = len(done_turns)
        store.put(record, replace=retry_errors, secrets=checkpoints.secrets)
        checkpoints.clear(p.run_id)
        record_done(progress, record)
        if budget is not None:
            stored_spend.charge_record_usage(record.agent_model, record.env_model, record.usage.model_dump())
        if on_progress:
            on_progress(snapshot(tracker, progress))

    async def ticker() -> None:  # a hung endpoint still shows: calls in flight and the oldest one's age
        while True:
            await asyncio.sleep(TICK_S)
            on_progress(snapshot(tracker, progress))

    exhausted = (lambda: budget.exhausted) if budget is not None else None
    left: list[PlannedRun] = []
    tick = asyncio.ensure_future(ticker()) if on_progress and todo else None
    try:
        with quiet_gc():
            left = await run_pool(todo, work, concurrency, stagger_s=stagger_s, stop=exhausted)
    finally:
        if tick is not None:
            tick.cancel()
        for m in models.values():
            await m.aclose()
        if budget is not None:
            note_unstored(budget, before, stored_spend, store)
    if budget is not None and budget.exhausted:
        progress.budget_stop = budget.reason
        progress.not_started = len(left)
    return progress
