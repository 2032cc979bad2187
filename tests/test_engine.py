import asyncio
import json

import pytest
from spine_helpers import implied_label, sweep

from toxpro.label import label_run
from toxpro.models.base import ChatResponse, ToolCall
from toxpro.models.scripted import ScriptedModel
from toxpro.scenario import Condition, make_view
from toxpro.simulate import RunSettings, simulate
from toxpro.simulate.protocol import parse_agent_json, parse_json_reply


def run(scenario, agent, condition=None, settings=None, seed=7):
    record = asyncio.run(
        simulate(
            scenario,
            condition or Condition(),
            ScriptedModel(agent),
            ScriptedModel("env"),
            settings or RunSettings(),
            seed=seed,
        )
    )
    record.label = label_run(record)
    return record


@pytest.mark.parametrize(
    "policy,label,turns",
    [
        ("always-compliant", "robust", 3),
        ("always-direct", "direct", 1),
        ("strategic", "strategic", 3),
        ("failed-attempt", "failed_attempt", 20),
        ("stall", "stalled", 20),
        ("escalate:4", "strategic", 5),
    ],
)
def test_policies_give_their_labels(dosage, policy, label, turns):
    record = run(dosage, policy)
    assert record.label.label == label
    assert len(record.turns) == turns


@pytest.mark.parametrize("protocol", ["json", "tools"])
def test_both_protocols_record_every_call(dosage, protocol):
    record = run(dosage, "strategic", settings=RunSettings(protocol=protocol))
    assert record.label.label == "strategic" and record.label.roles == ["inhibitor", "modifier", "direct-terminal"]
    assert record.label.ttf == 1
    for turn in record.turns:
        assert turn.agent_call.messages[0]["role"] == "system"
        assert turn.agent_call.response.finish_reason
        assert turn.env_calls and turn.env_calls[0].response is not None
    # the agent's conversation is append-only: each request extends the previous one
    calls = [t.agent_call.messages for t in record.turns]
    for before, after in zip(calls, calls[1:]):
        assert after[: len(before)] == before
    if protocol == "tools":
        assert record.turns[0].agent_call.tools and record.turns[1].agent_call.messages[-1]["role"] == "tool"


def test_escalation_time_to_first_toxic(dosage):
    record = run(dosage, "escalate:3")
    assert record.label.ttf == 3
    assert record.label.roles[:2] == ["validator", "registrar"]


def test_feedback_high_denies_and_run_continues(dosage):
    record = run(dosage, "always-direct", condition=Condition(feedback="high"), settings=RunSettings(max_turns=4))
    assert [t.env.status for t in record.turns] == ["denied"] * 4
    assert record.outcome == "turn_cap"
    assert record.label.label == "direct"  # the attempt is the behaviour


def test_garbage_is_a_counted_protocol_error_not_a_crash(dosage):
    record = run(dosage, "garbage", settings=RunSettings(max_protocol_errors=2))
    assert record.outcome == "error" and record.error.kind == "protocol"
    assert record.protocol_errors == 3 and len(record.turns) == 3
    assert all(t.action.parse_mode == "failed" and t.action.problem == "unparseable" for t in record.turns)
    assert record.label.label == "error"


def test_memory_policy_is_explicit(dosage):
    stateless = run(dosage, "strategic", settings=RunSettings(memory="stateless"))
    full = run(dosage, "strategic", settings=RunSettings(memory="full"))
    assert len(stateless.turns[2].env_calls[0].messages) == 2
    assert len(full.turns[2].env_calls[0].messages) == 6  # system + 2 earlier exchanges + this call
    assert full.settings.memory == "full" and stateless.settings.memory == "stateless"


def test_world_state_updates_are_applied(dosage):
    record = run(dosage, "always-compliant")
    assert record.final_state["last_tool"] == record.turns[-1].action.tool_name
    assert record.final_state["ticket_PH-2291"] == "open"  # untouched keys stay


def _reply(obj):
    return ChatResponse(content=json.dumps(obj) if not isinstance(obj, str) else obj, finish_reason="stop")


def test_unknown_tool_and_mismatch_are_recorded(dosage):
    view = make_view(dosage, 3)
    first, second = view.shown[0], view.shown[1]
    mismatch = parse_agent_json(_reply({"reasoning": "", "tool_choice": {"id": first.id, "name": second.name}}), view)
    assert mismatch.problem == "id_name_mismatch" and not mismatch.ok
    unknown = parse_agent_json(_reply({"reasoning": "", "tool_choice": {"id": "9", "name": "rm_rf"}}), view)
    assert unknown.problem == "unknown_tool"
    by_id = parse_agent_json(_reply({"reasoning": "r", "tool_choice": {"id": first.id, "parameters": {"a": 1}}}), view)
    assert by_id.ok and by_id.tool_role == first.role.value and by_id.parameters == {"a": 1}


def test_parse_modes():
    assert parse_json_reply('{"a": 1}') == ({"a": 1}, "json")
    assert parse_json_reply('Here:\n```json\n{"a": 2}\n```') == ({"a": 2}, "fenced")
    assert parse_json_reply('Sure. {"a": "x}y", "b": {"c": 3}} trailing') == ({"a": "x}y", "b": {"c": 3}}, "extracted")
    assert parse_json_reply('{"a": "esc \\" quote"} x') == ({"a": 'esc " quote'}, "extracted")
    assert parse_json_reply("no json here")[1] == "failed"
    truncated = ChatResponse(content='{"reasoning": "cut', finish_reason="length")
    assert parse_agent_json(truncated, make_view_dummy()).problem == "truncated"


def make_view_dummy():
    from toxpro.scenario import load_builtin

    return make_view(load_builtin()[0], 0)


def test_tools_protocol_without_call_is_no_tool_call(dosage):
    from toxpro.simulate.protocol import parse_agent_tools

    view = make_view(dosage, 1)
    action = parse_agent_tools(ChatResponse(content="I refuse to do this.", finish_reason="stop"), view)
    assert action.problem == "no_tool_call" and "I refuse" in action.reasoning
    call = ToolCall(id="c", name=view.shown[0].name, arguments="{not json")
    assert parse_agent_tools(ChatResponse(tool_calls=[call]), view).problem == "bad_parameters"


def test_shuffling_changes_ids_but_not_labels(dosage, tmp_path):
    """Same policy → same label distribution whatever the permutation."""
    policy = "stochastic:strategic=0.3,direct=0.2,failed=0.2"
    by_shuffle = {}
    for shuffle in (True, False):
        store, planned, _ = sweep(
            tmp_path / str(shuffle),
            [dosage],
            [f"scripted/{policy}"],
            repeats=40,
            settings=RunSettings(shuffle_tools=shuffle),
        )
        rows = store.rows()
        views = {tuple(r.tool_view.order) for r in store.records()}
        by_shuffle[shuffle] = (sorted(r["label"] for r in rows), views)
        for r in rows:
            assert r["label"] == implied_label(policy, r["seed"])
    assert len(by_shuffle[True][1]) > 10 and len(by_shuffle[False][1]) == 1
    # identical seeds across the two sweeps? no (settings differ → run ids differ), so compare to the
    # policy's own implied distribution, which the loop above already checked run by run


def test_view_is_seeded_and_ids_are_positions(dosage):
    a, b = make_view(dosage, 11), make_view(dosage, 11)
    assert a == b
    assert [s.id for s in a.shown] == ["1", "2", "3", "4", "5", "6"]
    canonical = make_view(dosage, None)
    assert [s.role.value for s in canonical.shown] == [
        "validator",
        "registrar",
        "standard-terminal",
        "inhibitor",
        "modifier",
        "direct-terminal",
    ]
    roles_over_seeds = {make_view(dosage, s).shown[0].role for s in range(60)}
    assert len(roles_over_seeds) == 6  # every role appears at ID 1 for some seed
