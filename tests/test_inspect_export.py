"""`toxpro export -f inspect`: logs Inspect reads fully, with the native task's metrics, and that import back."""

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytest.importorskip("inspect_ai")

from inspect_ai import eval as inspect_eval  # noqa: E402
from inspect_ai.analysis import evals_df, events_df, messages_df, samples_df  # noqa: E402
from inspect_ai.log import bundle_log_dir, read_eval_log, read_eval_log_samples  # noqa: E402
from inspect_ai.model import get_model  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from toxpro.cli import app  # noqa: E402
from toxpro.inspect_bridge.importer import import_logs  # noqa: E402
from toxpro.inspect_bridge.task import toxic_proactivity  # noqa: E402
from toxpro.scenario.loader import load_builtin  # noqa: E402
from toxpro.store import RunStore  # noqa: E402
from toxpro.testing import ScriptedServer, ServerThread, roles_of  # noqa: E402

POLICY = "stochastic:strategic=0.3,direct=0.2,failed=0.15,stalled=0.1,garbage=0.1"
REPEATS = 3
ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Two agents × two conditions × 2 scenarios × 3 repeats through toxpro run, Inspect for one agent, exports."""
    root = tmp_path_factory.mktemp("export")
    with ServerThread(ScriptedServer(roles=roles_of(load_builtin()))) as srv:
        agents = [f"compat/{POLICY}@{srv.base_url}", f"compat/always-compliant@{srv.base_url}"]
        args = [
            "run",
            "-e",
            f"compat/env@{srv.base_url}",
            "-s",
            "healthcare-loyalty-dosage-audit",
            "-s",
            "finance-selfpres-trading-halt",
            "-c",
            "feedback=high|medium",
            "-n",
            str(REPEATS),
            "--max-turns",
            "6",
            "-o",
            str(root / "exp"),
        ]
        for a in agents:
            args += ["-a", a]
        assert runner.invoke(app, args).exit_code == 0
        agent = get_model(f"openai-api/compat/{POLICY}", base_url=srv.base_url, api_key="unused")
        env = get_model("openai-api/compat/env", base_url=srv.base_url, api_key="unused")
        (native,) = inspect_eval(
            toxic_proactivity(
                scenarios="healthcare-loyalty-dosage-audit,finance-selfpres-trading-halt",
                conditions="feedback=high|medium",
                max_turns=6,
            ),
            model=agent,
            model_roles={"environment": env},
            epochs=REPEATS,
            log_dir=str(root / "native"),
            display="none",
        )
    result = runner.invoke(app, ["export", str(root / "exp"), "-f", "inspect", "-o", str(root / "logs")])
    assert result.exit_code == 0, result.output
    return root, RunStore(root / "exp"), native, sorted((root / "logs").glob("*.eval"))


def test_one_log_per_task_definition_with_unique_task_ids(exported):
    _, store, _, paths = exported
    assert len(paths) == 2
    logs = [read_eval_log(str(p)) for p in paths]
    assert len({log.eval.task_id for log in logs}) == 2
    for log in logs:
        assert log.eval.task == "toxpro/toxic_proactivity" and log.eval.model.startswith("openai-api/compat/")
        assert log.eval.model_roles["environment"].model == "openai-api/compat/env"
        assert log.eval.config.epochs == REPEATS and len(log.eval.dataset.sample_ids) == 4
        assert log.stats.started_at and log.stats.completed_at and log.stats.completed_at >= log.stats.started_at
        assert set(log.stats.role_usage) == {"agent", "environment"}
        assert log.stats.role_usage["agent"].total_tokens > 0 and log.stats.role_usage["environment"].total_tokens > 0


def test_samples_epochs_errors_and_events(exported):
    _, store, _, paths = exported
    rows = {r["run_id"]: r for r in store.rows()}
    seen = 0
    for path in paths:
        for s in read_eval_log_samples(str(path)):  # needs sample ids and epochs to match the header
            record = s.store["toxpro:record"]
            row = rows[record["run_id"]]
            seen += 1
            assert s.id == f"{row['scenario_id']}|{row['condition_key']}" and s.epoch == row["repeat"] + 1
            if row["label"] == "error":
                assert s.error is not None and not s.scores
            else:
                assert s.error is None and s.scores["toxpro_label"].answer == row["label"]
            calls = sum(1 + len(t["env_calls"]) for t in record["turns"])
            assert [e.role for e in s.events if e.event == "model"].count("agent") == len(record["turns"])
            assert sum(e.event == "model" for e in s.events) == calls
    assert seen == len(rows) == 2 * 2 * 2 * REPEATS


def test_results_equal_the_native_inspect_run(exported):
    _, _, native, paths = exported
    logs = [read_eval_log(str(p)) for p in paths]
    (same,) = [log for log in logs if "stochastic" in log.eval.model]
    ours = {k: v.value for k, v in same.results.scores[0].metrics.items()}
    theirs = {k: v.value for k, v in native.results.scores[0].metrics.items()}
    assert ours.keys() == theirs.keys() and ours == pytest.approx(theirs)
    assert same.results.completed_samples == native.results.completed_samples


def test_dataframes_read_the_exports(exported):
    root, store, _, paths = exported
    logs = str(root / "logs")
    assert len(evals_df(logs)) == 2
    samples = samples_df(logs)
    assert len(samples) == store.count()
    messages = messages_df(logs)
    assert set(messages["role"]) >= {"system", "user", "assistant"}
    events = events_df(logs)
    assert {"model", "tool"} <= set(events["event"])


def test_view_bundle_lists_the_logs(exported, tmp_path):
    root, _, _, paths = exported
    bundle_log_dir(str(root / "logs"), str(tmp_path / "www"))
    listing = json.loads((tmp_path / "www" / "logs" / "listing.json").read_text())
    assert {Path(p).name for p in paths} <= set(listing)
    assert (tmp_path / "www" / "index.html").exists()


def test_exports_import_back_to_the_same_runs(exported, tmp_path):
    root, store, _, _ = exported
    result = import_logs([root / "logs"], tmp_path / "back")
    assert result.stored == store.count() and not result.without_record
    assert {r["run_id"]: r["label"] for r in RunStore(tmp_path / "back").rows()} == {
        r["run_id"]: r["label"] for r in store.rows()
    }


def entry_point_env(tmp_path):
    """Environment for an `inspect` subprocess that sees the entry point pyproject declares (through a
    dist-info of its own, in case the installed toxpro predates it)."""
    target = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["inspect_ai"]["toxpro"]
    assert target == "toxpro.inspect_bridge._registry"
    info = tmp_path / "site" / "toxpro_entry-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toxpro-entry\nVersion: 0\n")
    (info / "entry_points.txt").write_text(f"[inspect_ai]\ntoxpro = {target}\n")
    # ROOT/src goes on the path only when the installed toxpro is not this checkout: on the path, its
    # toxpro.egg-info (from `pip install -e`, without direct_url.json) would hide the editable install
    # from Inspect, which then registers toxpro's objects without their "toxpro/" namespace
    import toxpro

    installed_here = Path(toxpro.__file__).resolve().is_relative_to((ROOT / "src").resolve())
    paths = [str(tmp_path / "site")] + ([] if installed_here else [str(ROOT / "src")])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


@pytest.mark.parametrize("agent", ["stochastic", "always-compliant"])
def test_inspect_score_rescores_an_export(exported, tmp_path, agent):
    _, _, _, all_paths = exported
    # each agent's log by its model, not by file order (the names hold a digest of the server's port)
    paths = [p for p in all_paths if f"compat/{agent}" in read_eval_log(str(p), header_only=True).eval.model]
    env = {**entry_point_env(tmp_path), "COMPAT_API_KEY": "unused"}  # Inspect builds the log's model client
    out = tmp_path / "rescored.eval"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "inspect_ai",
            "score",
            str(paths[0]),
            "--scorer",
            "toxpro/toxpro_label",
            "--action",
            "overwrite",
            "--output-file",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    before, after = read_eval_log(str(paths[0])), read_eval_log(str(out))
    assert {k: v.value for k, v in after.results.scores[0].metrics.items()} == pytest.approx(
        {k: v.value for k, v in before.results.scores[0].metrics.items()}
    )


def test_inspect_eval_finds_the_task_through_the_entry_point(tmp_path):
    """`inspect eval toxpro/toxic_proactivity` as a user runs it (the entry point pyproject declares)."""
    with ServerThread(ScriptedServer(roles=roles_of(load_builtin()))) as srv:
        env = {**entry_point_env(tmp_path), "COMPAT_BASE_URL": srv.base_url, "COMPAT_API_KEY": "unused"}
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "inspect_ai",
                "eval",
                "toxpro/toxic_proactivity",
                "--model",
                "openai-api/compat/always-direct",
                "--model-role",
                "environment=openai-api/compat/env",
                "-T",
                "scenarios=healthcare-loyalty-dosage-audit,finance-selfpres-trading-halt",
                "-T",
                "max_turns=4",
                "--limit",
                "1",
                "--epochs",
                "2",
                "--log-dir",
                str(tmp_path / "logs"),
                "--display",
                "none",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    (path,) = (tmp_path / "logs").glob("*.eval")
    log = read_eval_log(str(path))
    assert log.status == "success" and len(log.samples) == 2
    assert {s.scores["toxpro_label"].answer for s in log.samples} == {"direct"}


def test_models_inspect_cannot_call_are_exported_as_none(tmp_path, dosage):
    from spine_helpers import sweep

    store, planned, _ = sweep(tmp_path / "exp", [dosage], ["scripted/strategic"], repeats=2)
    (path,) = runner_export(tmp_path)
    log = read_eval_log(str(path))
    assert log.eval.model == "none/none" and log.eval.model_roles["environment"].model == "none/none"
    assert log.eval.metadata["toxpro_agent_model"] == "scripted/strategic"
    assert log.eval.metadata["toxpro_env_model"] == "scripted/env"
    assert {s.scores["toxpro_label"].answer for s in log.samples} == {"strategic"} and len(log.samples) == 2
    assert set(log.stats.model_usage) == {"scripted/strategic", "scripted/env"}


def runner_export(tmp_path):
    result = runner.invoke(app, ["export", str(tmp_path / "exp"), "-f", "inspect", "-o", str(tmp_path / "logs")])
    assert result.exit_code == 0, result.output
    return sorted((tmp_path / "logs").glob("*.eval"))


def test_export_to_a_file_name_is_a_clear_error(tmp_path, dosage):
    from spine_helpers import sweep

    sweep(tmp_path / "exp", [dosage], ["scripted/always-direct"], repeats=1)
    result = runner.invoke(app, ["export", str(tmp_path / "exp"), "-f", "inspect", "-o", str(tmp_path / "x.eval")])
    assert result.exit_code == 2 and "x.eval: for inspect, --out is a directory" in result.output


def test_rescoring_metrics_leave_errored_runs_out():
    """`inspect score` scores errored samples too (answer 'error', value 0): MR, the clustered stderr and
    the epoch reducer count only the runs MR counts, so re-scored metrics equal the export's."""
    from inspect_ai.scorer import SampleScore, Score, stderr

    from toxpro.inspect_bridge.scoring import mr, run_stderr, toxpro_runs

    def sample(label, scenario, value=None):
        v = int(label in ("strategic", "direct")) if value is None else value
        return SampleScore(
            score=Score(value=v, answer=label, metadata={"labels": [label]}), sample_metadata={"scenario_id": scenario}
        )

    runs = [sample("strategic", "a"), sample("robust", "a"), sample("direct", "b"), sample("robust", "c")]
    errored = [sample("error", "b"), sample("error", "d")]
    inspects = stderr(cluster="scenario_id")(runs)  # the library's value over the runs MR counts
    assert run_stderr(cluster="scenario_id")(runs + errored) == inspects > 0
    assert stderr(cluster="scenario_id")(runs + errored) != inspects  # what Inspect's own metric would give
    assert mr()(runs + errored) == mr()(runs) == 0.5
    reduced = toxpro_runs()([Score(value=1, answer="strategic"), Score(value=0, answer="error")])
    assert reduced.value == 1 and reduced.metadata["labels"] == ["strategic", "error"]
    only_errors = toxpro_runs()([Score(value=0, answer="error")] * 2)
    assert only_errors.value == 0 and run_stderr(cluster="scenario_id")(
        [SampleScore(score=only_errors, sample_metadata={"scenario_id": "x"})] + runs
    ) == run_stderr(cluster="scenario_id")(runs)
