"""Paired comparisons: environment replay, McNemar's exact test, environment sensitivity."""

import asyncio
import json
import math

import pandas as pd
import pytest
from spine_helpers import sweep
from typer.testing import CliRunner

from toxpro.analysis.paired import exact_p, mcnemar
from toxpro.analysis.sensitivity import env_sensitivity
from toxpro.cli import app
from toxpro.models import ChatRequest, ChatResponse, build_model
from toxpro.runner import plan
from toxpro.runner.replay import ReplayEnvironment, ReplaySource, Step, replayed_turns, requested_action
from toxpro.scenario import Condition
from toxpro.simulate import RunSettings, simulate
from toxpro.store import RunStore

runner = CliRunner()


class LiveEnv:
    """The scripted environment, with every live observation tagged, counting its calls."""

    def __init__(self):
        self.inner = build_model("scripted/env")
        self.name, self.endpoint, self.calls = "scripted/env", "scripted/env", 0

    async def chat(self, request):
        self.calls += 1
        response = await self.inner.chat(request)
        body = json.loads(response.content)
        body["observation"] += " LIVE"
        response.content = json.dumps(body)
        return response

    async def aclose(self):
        return None


def test_replay_until_the_agent_diverges(tmp_path, dosage):
    source, _, _ = sweep(tmp_path / "src", [dosage], ["scripted/always-compliant"], repeats=3)
    records = list(source.records())
    settings = RunSettings()
    # escalate:2 calls the validator (as the source did), then the inhibitor: replay, then live
    for p in plan([dosage], ["scripted/escalate:2"], ["scripted/env"], [Condition()], 3, settings):
        live = LiveEnv()
        env = ReplayEnvironment(
            live, records, scenario_hash=dosage.content_hash, condition_key=p.condition.key, repeat=p.repeat
        )
        record = asyncio.run(
            simulate(dosage, p.condition, build_model(p.agent_model), env, settings, p.seed, p.run_id, p.repeat)
        )
        src = next(r for r in records if r.repeat == p.repeat)
        assert [t.action.tool_role for t in record.turns] == ["validator", "inhibitor", "direct-terminal"]
        assert replayed_turns(record) == [True, False, False]
        assert record.turns[0].env == src.turns[0].env  # observation, status and state updates, as recorded
        assert record.turns[0].env_calls[0].response.raw == {
            "replayed": True,
            "source_run_id": src.run_id,
            "source_turn": 1,
        }
        assert record.turns[0].env_calls[0].response.usage.prompt_tokens == 0
        assert all(t.env.observation.endswith("LIVE") for t in record.turns[1:])
        assert live.calls == 2 and env.diverged_at == 2 and env.replayed == 1


def test_same_tool_different_parameters_diverges(dosage):
    step_request = ChatRequest(
        messages=[
            {"role": "system", "content": "env"},
            {
                "role": "user",
                "content": "Calls so far:\n(none)\n\nThe agent now calls x (role: validator) with parameters:\n"
                '{\n  "note": "a"\n}',
            },
        ],
        oracle={"tool_name": "x"},
    )
    assert requested_action(step_request) == ("x", {"note": "a"})
    assert requested_action(ChatRequest(messages=[{"role": "user", "content": "hi"}])) is None

    cell = (dosage.content_hash, Condition().key, 0)
    recorded = ReplaySource.from_cells(
        {cell: [Step("x", {"note": "b"}, '{"status": "ok", "observation": "old"}', "", "stop", "r1", 1)]}
    )

    class Live:
        name = endpoint = "live"
        calls = 0

        async def chat(self, request):
            Live.calls += 1
            return ChatResponse(content='{"status": "ok", "observation": "new", "state_updates": []}')

    env = ReplayEnvironment(Live(), recorded, scenario_hash=cell[0], condition_key=cell[1], repeat=0)
    reply = asyncio.run(env.chat(step_request))
    assert "new" in reply.content and Live.calls == 1 and env.diverged_at == 1  # same tool, other parameters
    same = ReplayEnvironment(Live(), recorded, scenario_hash=cell[0], condition_key=cell[1], repeat=0)
    matching = step_request.model_copy(
        update={
            "messages": [
                step_request.messages[0],
                {"role": "user", "content": step_request.messages[1]["content"].replace('"a"', '"b"')},
            ]
        }
    )
    assert "old" in asyncio.run(same.chat(matching)).content and Live.calls == 1
    other_cell = ReplayEnvironment(Live(), recorded, scenario_hash=cell[0], condition_key=cell[1], repeat=1)
    assert "new" in asyncio.run(other_cell.chat(matching)).content


def test_cli_replay_from_and_mcnemar(tmp_path):
    base = ["run", "-s", "healthcare-loyalty-dosage-audit", "-n", "6", "-q"]
    src = runner.invoke(app, [*base, "-a", "scripted/always-compliant", "-o", str(tmp_path / "src")])
    assert src.exit_code == 0, src.output
    dst = runner.invoke(
        app, [*base, "-a", "scripted/escalate:2", "-o", str(tmp_path / "dst"), "--replay-from", str(tmp_path / "src")]
    )
    assert dst.exit_code == 0, dst.output
    replayed = [replayed_turns(r) for r in RunStore(tmp_path / "dst").records()]
    assert replayed == [[True, False, False]] * 6
    # the same agent against its own recording replays every turn and gets the same labels
    same = runner.invoke(
        app,
        [
            *base,
            "-a",
            "scripted/always-compliant",
            "-o",
            str(tmp_path / "same"),
            "--replay-from",
            str(tmp_path / "src"),
        ],
    )
    assert same.exit_code == 0
    assert all(all(replayed_turns(r)) for r in RunStore(tmp_path / "same").records())
    missing = runner.invoke(
        app, [*base, "-a", "scripted/strategic", "-o", str(tmp_path / "x"), "--replay-from", str(tmp_path / "nowhere")]
    )
    assert missing.exit_code == 2 and "--replay-from" in missing.output
    frame = pd.concat([RunStore(tmp_path / "src").frame(), RunStore(tmp_path / "dst").frame()])
    result = mcnemar(frame, "scripted/always-compliant", "scripted/escalate:2")
    assert (result.n_pairs, result.a_only, result.b_only, result.both) == (6, 0, 6, 0)
    assert result.p_value == pytest.approx(2 / 2**6) and result.diff == -1.0


def _frame(rows):
    return pd.DataFrame(rows, columns=["agent_model", "env_model", "scenario_id", "condition_key", "repeat", "label"])


def test_mcnemar_against_hand_computed_values():
    assert exact_p(0, 0) == 1.0
    assert exact_p(8, 2) == pytest.approx(112 / 1024)  # 2 * (C(10,0)+C(10,1)+C(10,2)) / 2^10
    assert exact_p(2, 8) == exact_p(8, 2)
    assert exact_p(0, 5) == pytest.approx(2 / 32)
    assert exact_p(3, 3) == 1.0  # 2 * 42/64 > 1
    assert exact_p(1, 6) == pytest.approx(2 * (1 + 7) / 128)
    # 12 cells: both misaligned 2, A only 8, B only 2... built from labels
    outcomes = (
        [("direct", "strategic")] * 2
        + [("strategic", "robust")] * 5
        + [("direct", "failed_attempt")] * 3
        + [("stalled", "direct")] * 2
        + [("robust", "robust")] * 4
    )
    rows = []
    for i, (a, b) in enumerate(outcomes):
        rows += [("A", "E", "s1", "base", i, a), ("B", "E", "s1", "base", i, b)]
    rows += [
        ("A", "E", "s1", "base", 99, "error"),
        ("B", "E", "s1", "base", 99, "direct"),  # error: unpaired
        ("A", "E", "s2", "base", 0, "direct"),
    ]  # B never ran this cell: unpaired
    r = mcnemar(_frame(rows), "A", "B")
    assert (r.n_pairs, r.both, r.a_only, r.b_only, r.neither, r.unpaired) == (16, 2, 8, 2, 4, 2)
    assert r.p_value == pytest.approx(112 / 1024)
    assert r.mr_a == pytest.approx(10 / 16) and r.mr_b == pytest.approx(4 / 16)
    assert mcnemar(_frame(rows), "B", "A").p_value == r.p_value
    # runs against another environment are not paired with these
    other = rows + [("B", "E2", "s2", "base", 0, "robust")]
    assert mcnemar(_frame(other), "A", "B").unpaired == 3
    with pytest.raises(ValueError, match="duplicate"):
        mcnemar(_frame(rows + [rows[0]]), "A", "B")


def test_env_sensitivity():
    rows = (
        [("X", "E1", "s", "c", i, lab) for i, lab in enumerate(["direct", "strategic", "direct", "robust", "error"])]
        + [("X", "E2", "s", "c", i, lab) for i, lab in enumerate(["robust", "stalled", "direct", "failed_attempt"])]
        + [("Y", "E1", "s", "c", i, lab) for i, lab in enumerate(["direct", "direct"])]
        + [("Y", "E2", "s", "c", 0, "error")]
    )
    out = env_sensitivity(_frame(rows)).set_index("agent_model")
    assert list(out.columns[:2]) == ["E1", "E2"]
    assert out.loc["X", "E1"] == pytest.approx(0.75) and out.loc["X", "E2"] == pytest.approx(0.25)
    assert out.loc["X", "spread"] == pytest.approx(0.5) and out.loc["X", "n_envs"] == 2
    assert (out.loc["X", "min_env"], out.loc["X", "max_env"]) == ("E2", "E1")
    assert out.loc["Y", "E1"] == 1.0 and math.isnan(out.loc["Y", "E2"]) and math.isnan(out.loc["Y", "spread"])
    assert out.loc["Y", "n_envs"] == 1
    assert env_sensitivity(_frame([])).empty


def test_env_sensitivity_on_a_real_sweep(tmp_path, dosage):
    """The same agents against two environment models: in-process scripted/env and one over HTTP."""
    from toxpro.testing import ScriptedServer, ServerThread, roles_of

    policy = "scripted/stochastic:strategic=0.3,direct=0.2"
    with ServerThread(ScriptedServer(roles=roles_of([dosage]))) as srv:
        envs = ["scripted/env", f"compat/env@{srv.base_url}"]
        store, planned, progress = sweep(tmp_path, [dosage], [policy, "scripted/always-direct"], envs, repeats=20)
    assert progress.done == 80 and progress.errors == 0
    frame = store.frame()
    out = env_sensitivity(frame).set_index("agent_model")
    assert set(out.columns[:2]) == set(envs)
    rates = {
        e: frame[(frame.agent_model == policy) & (frame.env_model == e)]["label"].isin(["strategic", "direct"]).mean()
        for e in envs
    }
    assert out.loc[policy, "spread"] == pytest.approx(abs(rates[envs[0]] - rates[envs[1]]))
    assert out.loc["scripted/always-direct", "spread"] == 0.0
