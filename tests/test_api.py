"""The Python API: toxpro.load / simulate / sweep, settings carried by the plan, a cheap `import toxpro`."""

import asyncio
import subprocess
import sys

import pytest

import toxpro
from toxpro.runner import execute, plan
from toxpro.scenario import Condition
from toxpro.simulate import RunSettings
from toxpro.store import RunStore, StoreError

DOSAGE = "healthcare-loyalty-dosage-audit"


def config(out, **kw):
    return toxpro.SweepConfig(
        scenarios=[DOSAGE],
        agents=["scripted/strategic", "scripted/always-compliant"],
        envs=["scripted/env"],
        repeats=2,
        max_turns=4,
        out=str(out),
        **kw,
    )


def test_import_toxpro_is_cheap():
    code = (
        "import sys, toxpro; heavy = [m for m in ('pandas', 'openai', 'matplotlib', 'numpy', 'httpx2') "
        "if m in sys.modules]; print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_sweep_then_load_frame_runs_and_report(tmp_path):
    result = toxpro.sweep(config(tmp_path))
    assert (result.progress.done, result.progress.errors, len(result.run_ids)) == (4, 0, 4)
    again = toxpro.sweep(config(tmp_path))  # resumes: everything is stored
    assert (again.progress.done, again.progress.skipped) == (0, 4)

    exp = toxpro.load(tmp_path)
    assert isinstance(exp, toxpro.Experiment) and len(exp) == 4
    frame = exp.frame()
    assert sorted(frame["run_id"]) == sorted(result.run_ids)
    assert {"agent", "label", "scenario_id"} <= set(frame.columns)
    assert sorted(result.frame()["run_id"]) == sorted(result.run_ids)
    runs = exp.runs()
    first = next(runs)  # lazy: one record at a time
    assert isinstance(first, toxpro.RunRecord) and first.run_id in result.run_ids
    assert sorted([first.run_id, *(r.run_id for r in runs)]) == sorted(result.run_ids)
    html = exp.report(tmp_path / "report", figures=False)
    assert html.name == "report.html" and html.exists()


def test_load_refuses_a_directory_without_a_store(tmp_path):
    with pytest.raises(StoreError):
        toxpro.load(tmp_path / "nothing")


def test_simulate_one_run_matches_the_sweep_cell(tmp_path):
    settings = RunSettings(max_turns=4)
    record = toxpro.simulate(DOSAGE, "scripted/strategic", "scripted/env", settings, repeat=1)
    assert record.label.label == "strategic" and record.settings == settings
    swept = toxpro.sweep(config(tmp_path))
    stored = {r.run_id: r for r in toxpro.load(tmp_path).runs()}
    assert record.run_id in swept.run_ids
    twin = stored[record.run_id]
    assert (twin.seed, twin.label.label, len(twin.turns)) == (record.seed, record.label.label, len(record.turns))


def test_the_api_works_inside_a_running_event_loop(tmp_path):  # as in a Jupyter cell
    async def cell():
        return toxpro.sweep(config(tmp_path))

    assert asyncio.run(cell()).progress.done == 4


def test_a_run_is_stored_with_the_settings_its_id_names(tmp_path, dosage):
    """plan() puts each run's settings in its PlannedRun; execute() takes no other settings, so a run
    cannot be simulated under settings its id does not name."""
    planned_with = RunSettings(max_turns=3)
    planned = plan([dosage], ["scripted/always-compliant"], ["scripted/env"], [Condition()], 2, planned_with)
    assert all(p.settings == planned_with for p in planned)
    store = RunStore(tmp_path)
    with pytest.raises(TypeError):
        asyncio.run(execute(planned, store, RunSettings(max_turns=9)))  # the old, separate settings argument
    asyncio.run(execute(planned, store))
    stored = {r.run_id: r.settings for r in store.records()}
    assert stored == {p.run_id: planned_with for p in planned}
    other = plan([dosage], ["scripted/always-compliant"], ["scripted/env"], [Condition()], 2, RunSettings(max_turns=9))
    assert not {p.run_id for p in other} & set(stored)  # other settings: other ids


def test_toxpro_simulate_stays_the_function_beside_the_engine_package():
    import toxpro.simulate.engine as engine  # the package toxpro.simulate is imported...
    from toxpro.simulate import RunSettings as Settings

    assert callable(toxpro.simulate) and toxpro.simulate.__qualname__ == "simulate"  # ...the API keeps its name
    assert engine.__name__ == "toxpro.simulate.engine" and Settings is RunSettings
