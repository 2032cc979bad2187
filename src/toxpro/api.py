"""The Python API (notebooks, scripts): load a stored experiment, simulate one run, run a sweep.

    import toxpro
    exp = toxpro.load("experiments/default")
    exp.frame()            # the analysis frame: one row per run (pandas)
    exp.runs()             # the stored RunRecords, read one at a time
    exp.report("out/")     # the HTML report; returns the path of report.html

`simulate` and `sweep` take one settings object each (RunSettings, SweepConfig): the same types the
command line builds, so a run made here has the id, seed and store row `toxpro run` would give it.
Bad input raises a toxpro UserError (toxpro.core.errors) naming the file or field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import pandas as pd

    from .runner.config import SweepConfig
    from .runner.sweep import Progress
    from .scenario.conditions import Condition
    from .scenario.schema import Scenario
    from .simulate.records import RunRecord, RunSettings
    from .store.sqlite import RunStore

T = TypeVar("T")


@dataclass(frozen=True)
class Experiment:
    """A stored experiment: a directory holding runs.sqlite. Every call opens the store read-only, so an
    Experiment can be kept while a sweep writes to the same directory."""

    path: Path

    def _open(self) -> RunStore:
        from .store.sqlite import RunStore

        return RunStore(self.path, create=False, read_only=True)

    def frame(self) -> pd.DataFrame:
        """The analysis frame: one row per stored run (labels, condition, usage, ...), with the agent's
        display name, family and reasoning flag (columns agent, family, reasoning)."""
        from .analysis.names import with_agent_names

        with self._open() as store:
            return with_agent_names(store.frame())

    def runs(self) -> Iterator[RunRecord]:
        """The stored RunRecords (turns, calls, label), in run-id order, decoded one at a time."""
        with self._open() as store:
            yield from store.records("ORDER BY run_id")

    def report(self, out_dir: str | Path | None = None, **options: Any) -> Path:
        """Write the HTML report (figures and tables beside it) to out_dir (default EXPERIMENT/report);
        options as for toxpro.report.build_report. Returns the path of report.html."""
        from .report import build_report

        return build_report(self.path, out_dir, **options)

    def __len__(self) -> int:
        with self._open() as store:
            return int(store.count())


def load(directory: str | Path) -> Experiment:
    """The experiment stored in `directory` (checked now: a missing or damaged store raises StoreError)."""
    experiment = Experiment(Path(directory))
    experiment._open().close()
    return experiment


def simulate(
    scenario: Scenario | str,
    agent: str,
    env: str,
    settings: RunSettings | None = None,
    *,
    condition: Condition | None = None,
    repeat: int = 0,
    seed: int = 0,
) -> RunRecord:
    """Simulate and label one run (not stored): `scenario` (a Scenario, a built-in id or a file) with the
    agent and environment model strings under `settings` (default RunSettings()) and `condition`
    (default the baseline). The run gets the id and seed a sweep with base seed `seed` gives repeat
    `repeat` of this cell."""
    import asyncio

    from .models.factory import build_model
    from .models.retry import RetryPolicy
    from .runner.sweep import monitor_model, plan, run_one
    from .scenario.conditions import Condition
    from .simulate.records import RunSettings

    settings = settings or RunSettings()
    (planned,) = plan([_scenario(scenario)], [agent], [env], [condition or Condition()], repeat + 1, settings, seed)[
        -1:
    ]
    policy = RetryPolicy(max_attempts=settings.call_attempts, timeout_s=settings.call_timeout_s)

    async def go() -> RunRecord:
        models = {
            "agent": build_model(agent, slot="agent", policy=policy),
            "environment": build_model(env, slot="environment", policy=policy),
        }
        watcher = monitor_model(planned)
        if watcher:
            models["monitor"] = build_model(watcher, slot="monitor", policy=policy)
        try:
            return await run_one(planned, models["agent"], models["environment"], "", monitor=models.get("monitor"))
        finally:
            for model in models.values():
                await model.aclose()

    return _run(lambda: asyncio.run(go()))


@dataclass
class SweepResult:
    """What one `sweep` call did, and the experiment it stored into."""

    experiment: Experiment
    progress: Progress  # runs simulated, skipped (already stored), errors, tokens, budget stop
    run_ids: list[str]  # every planned run of this sweep (stored now or before)
    notes: list[str] = field(default_factory=list)  # skipped cells, the shard

    def frame(self) -> pd.DataFrame:
        """The analysis frame of this sweep's runs only."""
        frame = self.experiment.frame()
        return frame[frame["run_id"].isin(self.run_ids)]


def sweep(
    config: SweepConfig,
    *,
    retry_errors: bool = False,
    shard: tuple[int, int] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> SweepResult:
    """Run a sweep (scenarios × agents × environments × conditions × repeats, as in `toxpro run FILE`) into
    config.out; runs stored before are skipped, so calling it again resumes. Raises a UserError on bad
    input (SweepRefused when nothing can run) and ModelError when a model cannot be built."""
    from .runner.session import open_sweep

    def go() -> SweepResult:
        notes: list[str] = []
        with open_sweep(config, shard=shard, on_note=notes.append) as planned:
            progress = planned.execute(retry_errors=retry_errors, on_progress=on_progress)
            return SweepResult(Experiment(Path(config.out)), progress, planned.run_ids, notes)

    return _run(go)


def _scenario(scenario: Scenario | str) -> Scenario:
    if not isinstance(scenario, str):
        return scenario
    from .scenario.loader import ScenarioError, resolve

    found = resolve([scenario])
    if len(found) != 1:
        raise ScenarioError([f"{scenario}: names {len(found)} scenarios; simulate takes one"])
    return found[0]


def _run(work: Callable[[], T]) -> T:
    """work() here, or in a thread when this thread runs an event loop (Jupyter), where asyncio.run fails."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()
