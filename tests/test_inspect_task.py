"""The native Inspect task against the scripted OpenAI-compatible server: same run ids and labels as
`toxpro run`, model and tool events, scores, metrics, sample errors, limits; import back into a store."""

import collections

import pytest

pytest.importorskip("inspect_ai")

from inspect_ai import eval as inspect_eval  # noqa: E402
from inspect_ai.model import get_model  # noqa: E402
from spine_helpers import implied_label  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from toxpro.cli import app  # noqa: E402
from toxpro.core.labels import MISALIGNED_LABELS as MISALIGNED  # noqa: E402
from toxpro.inspect_bridge import RECORD_KEY  # noqa: E402
from toxpro.inspect_bridge.importer import import_logs  # noqa: E402
from toxpro.inspect_bridge.task import toxic_proactivity  # noqa: E402
from toxpro.scenario.conditions import Condition  # noqa: E402
from toxpro.scenario.loader import load_builtin  # noqa: E402
from toxpro.store import RunStore  # noqa: E402
from toxpro.testing import ScriptedServer, ServerThread, roles_of  # noqa: E402

POLICY = "stochastic:strategic=0.3,direct=0.2,failed=0.15,stalled=0.1,garbage=0.1"
SCENARIOS = "healthcare-loyalty-dosage-audit,finance-selfpres-trading-halt"
EPOCHS = 3
runner = CliRunner()


@pytest.fixture(scope="module")
def server():
    with ServerThread(ScriptedServer(roles=roles_of(load_builtin()))) as srv:
        yield srv


def inspect_models(srv, policy):
    agent = get_model(f"openai-api/compat/{policy}", base_url=srv.base_url, api_key="unused")
    env = get_model("openai-api/compat/env", base_url=srv.base_url, api_key="unused")
    return agent, env


@pytest.fixture(scope="module")
def both(server, tmp_path_factory):
    """The same experiment through `toxpro run` and through Inspect."""
    root = tmp_path_factory.mktemp("same")
    result = runner.invoke(
        app,
        [
            "run",
            "-a",
            f"compat/{POLICY}@{server.base_url}",
            "-e",
            f"compat/env@{server.base_url}",
            "-s",
            "healthcare-loyalty-dosage-audit",
            "-s",
            "finance-selfpres-trading-halt",
            "-c",
            "feedback=high|medium",
            "-n",
            str(EPOCHS),
            "--max-turns",
            "6",
            "-o",
            str(root / "toxpro"),
        ],
    )
    assert result.exit_code == 0, result.output
    agent, env = inspect_models(server, POLICY)
    (log,) = inspect_eval(
        toxic_proactivity(scenarios=SCENARIOS, conditions="feedback=high|medium", max_turns=6),
        model=agent,
        model_roles={"environment": env},
        epochs=EPOCHS,
        log_dir=str(root / "logs"),
        display="none",
    )
    return root, RunStore(root / "toxpro"), log


def test_same_run_ids_seeds_and_labels_as_toxpro_run(both):
    _, store, log = both
    assert log.status == "success" and len(log.samples) == 2 * 2 * EPOCHS
    via_toxpro = {r["run_id"]: (r["seed"], r["label"]) for r in store.rows()}
    via_inspect = {}
    for s in log.samples:
        record = s.store[RECORD_KEY]
        label = "error" if s.error else s.scores["toxpro_label"].answer
        via_inspect[record["run_id"]] = (record["seed"], label)
        assert s.id == f"{record['scenario_id']}|{Condition(**record['condition']).key}"
        assert s.epoch == record["repeat"] + 1
    assert via_inspect == via_toxpro
    for seed, label in via_inspect.values():  # and both are what the scripted policy implies for the seed
        assert label == implied_label(POLICY, seed)


def test_model_and_tool_events_carry_roles(both):
    _, _, log = both
    for s in log.samples:
        record = s.store[RECORD_KEY]
        calls = [c for t in record["turns"] for c in [t["agent_call"], *t["env_calls"]]]
        models = [e for e in s.events if e.event == "model"]
        assert [e.role for e in models] == [c["who"] for c in calls]
        valid = [t for t in record["turns"] if t["action"] and t["action"]["tool_role"] and not t["action"]["problem"]]
        tools = [e for e in s.events if e.event == "tool"]
        assert [e.function for e in tools] == [t["action"]["tool_name"] for t in valid]
        for e, t in zip(tools, valid):
            assert e.metadata["role"] == t["action"]["tool_role"] and e.metadata["track"] == t["action"]["tool_track"]
            assert e.metadata["status"] == t["env"]["status"] and t["env"]["observation"] in e.result
            assert (e.error is not None) == (t["env"]["status"] != "ok")
        assert s.messages[0].role == "system" and s.messages[1].role == "user"


def test_scores_metrics_and_errors(both):
    _, _, log = both
    scored = [s for s in log.samples if not s.error]
    errored = [s for s in log.samples if s.error]
    for s in scored:
        score = s.scores["toxpro_label"]
        record = s.store[RECORD_KEY]
        assert score.answer == record["label"]["label"] != "error"
        assert score.value == int(score.answer in MISALIGNED)
        assert score.metadata["roles"] == record["label"]["roles"] and score.metadata["ttf"] == record["label"]["ttf"]
        assert score.metadata["protocol_errors"] == record["protocol_errors"]
    for s in errored:
        assert not s.scores and "ended in error" in s.error.message and s.store[RECORD_KEY]["outcome"] == "error"
    metrics = {k: v.value for k, v in log.results.scores[0].metrics.items()}
    labels = [s.scores["toxpro_label"].answer for s in scored]
    assert metrics["mr"] == pytest.approx(sum(lab in MISALIGNED for lab in labels) / len(labels))
    counts = collections.Counter(labels)
    for name in ("strategic", "direct", "failed_attempt", "robust", "stalled"):
        assert metrics[name] == pytest.approx(counts[name] / len(labels))
    for key in ("domain", "motivation"):
        for group in {s.metadata[key] for s in scored}:
            sub = [s.scores["toxpro_label"].answer for s in scored if s.metadata[key] == group]
            assert metrics[f"mr[{group}]"] == pytest.approx(sum(lab in MISALIGNED for lab in sub) / len(sub))
    assert "stderr" in metrics and log.results.scores[0].metrics["stderr"].params == {"cluster": "scenario_id"}
    assert log.results.completed_samples == len(log.samples) - len(errored)


def test_import_back_gives_the_toxpro_store(both, tmp_path):
    root, store, log = both
    result = runner.invoke(app, ["import-inspect", str(root / "logs"), "-o", str(tmp_path / "imported")])
    assert result.exit_code == 0, result.output
    assert f"{len(log.samples)} runs stored" in result.output
    imported = {r["run_id"]: r["label"] for r in RunStore(tmp_path / "imported").rows()}
    assert imported == {r["run_id"]: r["label"] for r in store.rows()}
    again = import_logs([root / "logs"], tmp_path / "imported")
    assert again.stored == 0 and again.duplicates == len(log.samples)
    shown = runner.invoke(app, ["show", str(tmp_path / "imported")])
    assert shown.exit_code == 0 and "MR" in shown.output


def test_import_names_a_missing_path(tmp_path):
    result = runner.invoke(app, ["import-inspect", str(tmp_path / "nope"), "-o", str(tmp_path / "x")])
    assert result.exit_code == 2 and "nope: no such log file or directory" in result.output


def test_tools_protocol_token_limit_and_default_environment(server, tmp_path):
    agent, env = inspect_models(server, "always-compliant")
    (log,) = inspect_eval(
        toxic_proactivity(scenarios="healthcare-loyalty-dosage-audit", protocol="tools"),
        model=agent,
        model_roles={"environment": env},
        log_dir=str(tmp_path),
        display="none",
    )
    (s,) = log.samples
    assert s.scores["toxpro_label"].answer == "robust"
    assert [m.role for m in s.messages][2:4] == ["assistant", "tool"] and s.messages[2].tool_calls
    # 120 tokens per scripted call: a 500-token limit stops the run after two turns, labelled as a cut run
    agent, env = inspect_models(server, "stall")
    (log,) = inspect_eval(
        toxic_proactivity(scenarios="healthcare-loyalty-dosage-audit"),
        model=agent,
        model_roles={"environment": env},
        token_limit=500,
        log_dir=str(tmp_path),
        display="none",
    )
    (s,) = log.samples
    assert s.limit is not None and s.limit.type == "token"
    assert s.scores["toxpro_label"].answer == "stalled" and len(s.store[RECORD_KEY]["turns"]) == 2


def test_environment_defaults_to_the_agents_model(server, tmp_path):
    agent, _ = inspect_models(server, "always-direct")  # the scripted server plays the environment too
    (log,) = inspect_eval(
        toxic_proactivity(scenarios="healthcare-loyalty-dosage-audit"),
        model=agent,
        log_dir=str(tmp_path),
        display="none",
    )
    (s,) = log.samples
    record = s.store[RECORD_KEY]
    assert record["agent_model"] == record["env_model"] == f"compat/always-direct@{server.base_url}"
    assert s.scores["toxpro_label"].answer == "direct"
    assert [e.role for e in s.events if e.event == "model"] == ["agent", "environment"]


def test_cache_replays_every_call(server, tmp_path, monkeypatch):
    monkeypatch.setenv("INSPECT_CACHE_DIR", str(tmp_path / "cache"))
    agent, env = inspect_models(server, "strategic")
    logs = []
    for i in range(2):
        (log,) = inspect_eval(
            toxic_proactivity(scenarios="healthcare-loyalty-dosage-audit", max_turns=4),
            model=agent,
            model_roles={"environment": env},
            cache=True,
            log_dir=str(tmp_path / f"logs{i}"),
            display="none",
        )
        logs.append(log)
    requests = server.server.stats.requests
    first, second = (log.samples[0] for log in logs)
    assert {e.cache for e in first.events if e.event == "model"} == {"write"}
    assert {e.cache for e in second.events if e.event == "model"} == {"read"}
    assert second.store[RECORD_KEY]["label"] == first.store[RECORD_KEY]["label"]
    assert second.store[RECORD_KEY]["label"]["label"] == "strategic" and server.server.stats.requests == requests


def test_errored_runs_are_retried_sample_errors(server, tmp_path):
    agent, env = inspect_models(server, "garbage")
    (log,) = inspect_eval(
        toxic_proactivity(scenarios="healthcare-loyalty-dosage-audit"),
        model=agent,
        model_roles={"environment": env},
        retry_on_error=1,
        log_dir=str(tmp_path),
        display="none",
    )
    (s,) = log.samples
    assert s.error is not None and len(s.error_retries) == 1  # the scripted garbage fails again, as it should
    assert s.store[RECORD_KEY]["error"]["kind"] == "protocol"


def test_condition_arguments():
    grid = toxic_proactivity(
        scenarios=["healthcare-loyalty-dosage-audit"], conditions=["stakes=*", "feedback=low|high"]
    )
    assert len(grid.dataset) == 3 * 2
    paired = toxic_proactivity(scenarios="healthcare-loyalty-dosage-audit", conditions="paired")
    from toxpro.scenario.conditions import one_at_a_time

    assert [s.id.split("|")[1] for s in paired.dataset] == [c.key for c in one_at_a_time()]
    assert len(toxic_proactivity().dataset) == len(load_builtin()) == 32


@pytest.mark.parametrize(
    "args, message",
    [
        ({"scenarios": "no-such-scenario"}, "scenarios: no-such-scenario:(selector): not a built-in scenario id"),
        ({"protocol": "xml"}, "protocol"),
        ({"conditions": "stakes=huge"}, "stakes"),
        ({"max_turns": 0}, "max_turns"),
    ],
)
def test_bad_task_arguments_name_the_argument(args, message):
    from toxpro.inspect_bridge.task import TaskArgumentError

    with pytest.raises(TaskArgumentError, match="toxpro/toxic_proactivity: ") as info:
        toxic_proactivity(**args)
    assert message in str(info.value)


def test_toxpro_names_of_inspect_models():
    from toxpro.inspect_bridge.model import toxpro_name

    assert toxpro_name(get_model("openai/gpt-4o", api_key="unused")) == "openai/gpt-4o"
    assert (
        toxpro_name(get_model("openrouter/google/gemini-3-flash-preview", api_key="unused"))
        == "openrouter/google/gemini-3-flash-preview"
    )
    assert (
        toxpro_name(get_model("openai-api/vllm/Qwen/Qwen3-8B", base_url="http://gpu:8000/v1", api_key="unused"))
        == "vllm/Qwen/Qwen3-8B@http://gpu:8000/v1"
    )
    assert (
        toxpro_name(get_model("openai-api/acme/m1", base_url="http://h:1/v1", api_key="unused")) == "openai-api/acme/m1"
    )  # no toxpro provider of that name: Inspect's name is kept


def test_a_foreign_file_is_a_clear_import_error(tmp_path):
    bad = tmp_path / "x.eval"
    bad.write_text("not a log")
    result = runner.invoke(app, ["import-inspect", str(bad), "-o", str(tmp_path / "exp")])
    assert result.exit_code == 2 and "x.eval: not a readable Inspect log of the toxpro task" in result.output


def test_time_limit_keeps_the_turns_so_far(tmp_path):
    with ServerThread(ScriptedServer(roles=roles_of(load_builtin()), latency_s=0.3)) as slow:
        agent, env = inspect_models(slow, "stall")
        (log,) = inspect_eval(
            toxic_proactivity(scenarios="healthcare-loyalty-dosage-audit"),
            model=agent,
            model_roles={"environment": env},
            time_limit=2,
            log_dir=str(tmp_path),
            display="none",
        )
    (s,) = log.samples
    record = s.store[RECORD_KEY]
    assert s.limit is not None and s.limit.type == "time"
    # however many turns fitted (that depends on the machine), they are scored; none was toxic
    assert len(record["turns"]) < 20 and s.scores["toxpro_label"].answer == "stalled"
    assert record["outcome"] == "turn_cap"


def test_an_engine_failure_is_an_error_run_and_imports_as_one(server, tmp_path, monkeypatch):
    import toxpro.inspect_bridge.task as task_module

    async def broken(*args, on_turn=None, **kw):
        raise KeyError("engine bug")

    monkeypatch.setattr(task_module, "simulate", broken)
    agent, env = inspect_models(server, "always-direct")
    (log,) = inspect_eval(
        toxic_proactivity(scenarios="healthcare-loyalty-dosage-audit"),
        model=agent,
        model_roles={"environment": env},
        log_dir=str(tmp_path / "logs"),
        display="none",
    )
    (s,) = log.samples
    assert "engine bug" in s.error.message and s.store[RECORD_KEY]["outcome"] == "error"
    import_logs([tmp_path / "logs"], tmp_path / "exp")
    (row,) = RunStore(tmp_path / "exp").rows()
    assert row["label"] == "error" and row["error_kind"] == "internal"
