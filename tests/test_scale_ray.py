"""--executor ray: the same planned runs as Ray tasks on a local 2-CPU instance; the driver writes the store."""

import pytest
from spine_helpers import implied_label, sweep

from toxpro.runner import plan
from toxpro.runner.budget import Budget
from toxpro.runner.replay import ReplaySource, replayed_turns
from toxpro.scenario import Condition
from toxpro.simulate import RunSettings
from toxpro.store import RunStore
from toxpro.testing import ScriptedServer, ServerThread, roles_of


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_without_ray_the_cli_says_how_to_install_it(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from toxpro.cli import app

    monkeypatch.setitem(__import__("sys").modules, "ray", None)  # import ray → ImportError
    result = CliRunner().invoke(
        app,
        [
            "run",
            "-s",
            "healthcare-loyalty-dosage-audit",
            "-a",
            "scripted/strategic",
            "--executor",
            "ray",
            "-o",
            str(tmp_path),
            "-q",
        ],
    )
    assert result.exit_code == 2 and "pip install 'toxpro[ray]'" in result.output


def test_ray_executor_matches_the_async_executor(tmp_path, dosage, local_ray):
    from toxpro.runner.ray_executor import execute_ray

    policy = "stochastic:strategic=0.3,direct=0.2,failed=0.1"
    settings = RunSettings(max_turns=6)
    with ServerThread(ScriptedServer(roles=roles_of([dosage]))) as srv:
        agents = [f"compat/{policy}@{srv.base_url}", "scripted/always-compliant"]
        envs = [f"compat/env@{srv.base_url}"]
        planned = plan([dosage], agents, envs, [Condition()], 6, settings)
        store = RunStore(tmp_path / "ray")
        progress = execute_ray(planned, store, concurrency=4, experiment="ray")
        local, _, _ = sweep(tmp_path / "async", [dosage], agents, envs, repeats=6, settings=settings)
        again = execute_ray(planned, store, concurrency=4)  # resume: nothing left
    assert progress.done == 12 and progress.errors == 0 and again.done == 0 and again.skipped == 12
    got = {r["run_id"]: r for r in store.rows()}
    want = {r["run_id"]: r for r in local.rows()}
    assert got.keys() == want.keys()
    for rid, r in got.items():
        assert (r["label"], r["n_turns"], r["tokens"]) == (
            want[rid]["label"],
            want[rid]["n_turns"],
            want[rid]["tokens"],
        )
        if r["agent_model"].startswith("compat/"):
            assert r["label"] == implied_label(policy, r["seed"])


def test_ray_executor_budget_and_replay(tmp_path, dosage, local_ray):
    from toxpro.runner.ray_executor import execute_ray

    settings = RunSettings()
    source, _, _ = sweep(tmp_path / "src", [dosage], ["scripted/always-compliant"], repeats=4)
    planned = plan([dosage], ["scripted/escalate:2"], ["scripted/env"], [Condition()], 4, settings)
    store = RunStore(tmp_path / "dst")
    progress = execute_ray(planned, store, concurrency=2, replay=ReplaySource.from_store(str(tmp_path / "src")))
    assert progress.done == 4
    assert [replayed_turns(r) for r in store.records()] == [[True, False, False]] * 4
    capped = RunStore(tmp_path / "capped")
    planned = plan([dosage], ["scripted/always-compliant"], ["scripted/env"], [Condition()], 12, settings)
    result = execute_ray(planned, capped, concurrency=2, budget=Budget(tokens={"total": 20_000}))
    assert result.budget_stop and capped.count() == result.done < 12
    assert result.done + result.dropped + result.not_started == 12


def test_ray_workers_get_the_sweeps_timeout_and_retries(tmp_path, dosage, local_ray):
    import toxpro

    def config(out, timeout_s):
        return toxpro.SweepConfig(
            scenarios=["healthcare-loyalty-dosage-audit"],
            agents=[f"compat/always-compliant@{srv.base_url}"],
            envs=["scripted/env"],
            repeats=2,
            max_turns=2,
            out=str(out),
            executor="ray",
            timeout_s=timeout_s,
            retries=0,
        )

    with ServerThread(ScriptedServer(roles=roles_of([dosage]), latency_s=1.0)) as srv:  # replies after 1 s
        short = toxpro.sweep(config(tmp_path / "short", timeout_s=0.25))
        calls_short = srv.server.stats.requests
        patient = toxpro.sweep(config(tmp_path / "patient", timeout_s=30))
    kinds = [r["error_kind"] for r in RunStore(tmp_path / "short").rows()]
    assert (short.progress.done, short.progress.errors) == (2, 2) and kinds == ["api_timeout", "api_timeout"]
    assert calls_short == 2  # retries=0: one attempt per run (the default, 3 retries, makes 8)
    assert patient.progress.errors == 0 and patient.progress.done == 2
