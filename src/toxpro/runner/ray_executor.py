"""Run a plan's runs as Ray tasks (`toxpro run --executor ray`; install with `pip install toxpro[ray]`).

Each task simulates and labels one planned run and returns its RunRecord as JSON; the driver alone
writes the store, so resume, sharding and merge work exactly as with the local executor. Ray is
imported only here, only when asked for.

Limits differ from the local executor: each task builds its own model clients, so per-endpoint
`limits` and `rpm` cannot be shared across tasks; what bounds the calls in flight is the number of
tasks in flight (`concurrency`). Budgets are charged when a run's record comes back: on a cap, no
more tasks are submitted and in-flight ones are cancelled ("drop", not stored) or awaited ("finish").
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ..core.errors import ToxproError
from ..label.rules import label_run
from ..models.factory import build_model
from ..models.retry import RetryPolicy
from ..simulate.engine import _scenario_hash
from ..simulate.records import RunRecord
from ..store.sqlite import RunStore
from .budget import Budget
from .replay import ReplaySource
from .sweep import (
    PlannedRun,
    Progress,
    _failed_record,
    charge_stored,
    monitor_model,
    record_done,
    replay_env,
    run_one,
    todo_runs,
)


class RayUnavailable(ToxproError, RuntimeError):
    pass


def _ray():
    try:
        import ray
    except ImportError:
        raise RayUnavailable("--executor ray needs Ray: pip install 'toxpro[ray]'") from None
    return ray


def check_keys(models: set[str]) -> None:
    """Raise ModelError('config') when a remote model's API key is missing (nothing is built)."""
    from ..models.providers import api_key
    from ..models.spec import parse_model

    for text in sorted(models):
        spec = parse_model(text)
        if spec.is_remote:
            api_key(spec)


def simulate_one(
    p: PlannedRun, experiment: str, policy: RetryPolicy | None, scripted_latency_s: float, replay: ReplaySource | None
) -> str:
    """One run, start to label, in a fresh event loop; returns the record's JSON."""

    async def go() -> RunRecord:
        agent = build_model(p.agent_model, slot="agent", policy=policy, scripted_latency_s=scripted_latency_s)
        env = build_model(p.env_model, slot="environment", policy=policy, scripted_latency_s=scripted_latency_s)
        watcher = monitor_model(p)
        monitor = (
            build_model(watcher, slot="monitor", policy=policy, scripted_latency_s=scripted_latency_s)
            if watcher
            else None
        )
        try:
            return await run_one(p, agent, replay_env(env, p, replay), experiment, monitor=monitor)
        finally:
            await agent.aclose()
            await env.aclose()
            if monitor is not None:
                await monitor.aclose()

    try:
        record = asyncio.run(go())
    except Exception as exc:  # a model that cannot even be built: stored as an error, like the local path
        record = _failed_record(p, experiment, f"{type(exc).__name__}: {exc}")
        record.label = label_run(record)
    return record.model_dump_json()


def execute_ray(
    planned: list[PlannedRun],
    store: RunStore,
    *,
    concurrency: int = 8,
    experiment: str = "",
    retry_errors: bool = False,
    policy: RetryPolicy | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    scripted_latency_s: float = 0.0,
    budget: Budget | None = None,
    replay: ReplaySource | None = None,
    address: str | None = None,
    num_cpus: int | None = None,
) -> Progress:
    ray = _ray()
    todo = todo_runs(planned, store, retry_errors)
    progress = Progress(planned=len(planned), skipped=len(planned) - len(todo))
    budget = budget if budget is not None and budget.active else None
    if budget is not None:
        charge_stored(budget, planned, store)
    if not todo:
        return progress
    check_keys({m for p in todo for m in (p.agent_model, p.env_model)})  # fail before starting a cluster
    if not ray.is_initialized():
        ray.init(
            address=address, num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, configure_logging=False
        )
    task = ray.remote(max_retries=0)(simulate_one)
    pending: dict = {}
    queue = list(reversed(todo))

    def submit() -> None:
        while queue and len(pending) < concurrency and not (budget is not None and budget.exhausted):
            p = queue.pop()
            cell = replay.only(_scenario_hash(p.scenario), p.condition.key, p.repeat) if replay is not None else None
            pending[task.remote(p, experiment, policy, scripted_latency_s, cell)] = p

    submit()
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            pending.pop(ref)
            record = RunRecord.model_validate_json(ray.get(ref))
            store.put(record, replace=retry_errors)
            record_done(progress, record)
            if budget is not None:
                budget.charge_record_usage(record.agent_model, record.env_model, record.usage.model_dump())
            if on_progress:
                on_progress(progress)
        if budget is not None and budget.exhausted and budget.on_budget == "drop" and pending:
            for ref in pending:
                ray.cancel(ref, force=True)
            progress.dropped += len(pending)
            pending.clear()
        submit()
    if budget is not None and budget.exhausted:
        progress.budget_stop = budget.reason
        progress.not_started = len(queue)
    return progress
