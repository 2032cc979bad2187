"""A sweep from its config: resolve, plan, check and run it into its store (`toxpro run`, `toxpro.sweep`).

Nothing here prints: notes go to a callback, refusals are raised, and the caller reports progress."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from ..core.errors import UserError
from ..models.limits import EndpointLimits
from ..scenario.loader import resolve
from ..scenario.schema import Scenario
from ..simulate.records import RunSettings, Turn
from ..store.compat import require_compatible
from ..store.secrets import redact
from ..store.sqlite import RunStore, StoreError
from .budget import Budget
from .config import SweepConfig
from .lock import experiment_lock
from .replay import ReplaySource
from .shard import select_shard
from .sweep import PlannedRun, Progress, charge_stored, execute, monitor_model, plan, todo_runs


class SweepRefused(UserError):
    """A sweep that cannot start: nothing is left to run, or the replay source cannot be read."""


@dataclass
class Sweep:
    """A planned sweep with its store open, ready to estimate or run."""

    config: SweepConfig
    scenarios: list[Scenario]
    settings: RunSettings
    planned: list[PlannedRun]
    store: RunStore
    budget: Budget
    replay: ReplaySource | None

    @property
    def run_ids(self) -> list[str]:
        return [p.run_id for p in self.planned]

    def pending(self, retry_errors: bool = False) -> int:
        """How many planned runs are not stored yet (or stored as errors, with retry_errors)."""
        return len(todo_runs(self.planned, self.store, retry_errors))

    def dry_run_lines(self) -> list[str]:
        """The plan's estimate (calls, tokens, cost) and what it leaves out; nothing is called."""
        from .estimate import estimate

        charge_stored(self.budget, self.planned, self.store)
        lines = [redact(estimate(self.planned, self.settings, self.store, self.budget))]
        watched = sum(1 for p in self.planned if monitor_model(p))
        if watched:
            lines.append(
                f"safeguards: {watched} planned runs have an action monitor, one more call per turn "
                "(not in the estimate above)"
            )
        if self.replay is not None:
            lines.append(
                f"replay: {len(self.replay)} recorded cells in {self.config.replay_from}; replayed "
                "environment replies cost nothing, so the estimate is an upper bound"
            )
        return lines

    def execute(
        self,
        *,
        retry_errors: bool = False,
        on_progress: Callable[[Progress], None] | None = None,
        on_turn: Callable[[PlannedRun, Turn], None] | None = None,
    ) -> Progress:
        """Run every pending run with the config's executor; each is stored as it ends. A model that cannot
        be built raises ModelError; a missing Ray raises RayUnavailable."""
        config = self.config
        if config.executor == "ray":
            from .ray_executor import execute_ray

            return execute_ray(
                self.planned,
                self.store,
                concurrency=config.concurrency,
                experiment=config.out,
                retry_errors=retry_errors,
                on_progress=on_progress,
                budget=self.budget,
                replay=self.replay,
                address=config.ray_address,
                policy=config.retry_policy(),  # --timeout, --retries and --transport reach every worker
            )
        limits = EndpointLimits(config.concurrency, config.limits, config.rpm)
        return asyncio.run(
            execute(
                self.planned,
                self.store,
                concurrency=config.concurrency,
                limits=limits,
                experiment=config.out,
                retry_errors=retry_errors,
                on_progress=on_progress,
                budget=self.budget,
                replay=self.replay,
                on_turn=on_turn,
                policy=config.retry_policy(),
            )
        )

    def frame(self):
        """The run table of this sweep's planned runs that are stored."""
        frame = self.store.frame()
        return frame[frame["run_id"].isin(self.run_ids)]


@contextmanager
def open_sweep(
    config: SweepConfig, *, shard: tuple[int, int] | None = None, on_note: Callable[[str], None] | None = None
) -> Iterator[Sweep]:
    """Plan a sweep and open its store under the experiment's write lock (one writer per directory);
    the store is closed (WAL checkpointed) on leaving. Notes (skipped cells, the shard) go to on_note.
    Raises a ScenarioError or StoreError (UserErrors) on bad input, SweepRefused when nothing can run."""
    note = on_note or (lambda text: None)
    with experiment_lock(config.out), ExitStack() as closing:
        scenarios = resolve(config.scenarios or None)
        settings = config.settings()
        skipped: list[str] = []
        planned = plan(
            scenarios,
            config.agent_models(),
            config.resolved_envs(),
            config.condition_list(),
            config.repeats,
            settings,
            config.seed,
            settings_of=config.settings_for if config.generation else None,
            skipped=skipped,
            tags=config.agent_tags(),
            safeguard_arms=config.safeguard_arms(),
        )
        for reason in skipped:
            note(f"skipped: {reason}")
        if skipped and not planned:
            raise SweepRefused("error: no planned run is left once those cells are skipped")
        if shard is not None:
            whole = len(planned)
            planned = select_shard(planned, *shard)
            note(f"shard {shard[0]}/{shard[1]}: {len(planned)} of {whole} planned runs")
        replay = None
        if config.replay_from:
            try:
                replay = ReplaySource.from_store(config.replay_from)
            except StoreError as exc:
                raise SweepRefused(f"error: --replay-from: {exc}") from None
        store = closing.enter_context(RunStore(config.out))
        require_compatible(store, settings, "this sweep")  # a StoreError (exit 2) names each differing setting
        store.set_meta("last_sweep", config.model_dump(mode="json"))
        if shard is not None:
            store.set_meta("shard", list(shard))
        yield Sweep(config, scenarios, settings, planned, store, config.budget(), replay)
