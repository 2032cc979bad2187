"""Property-based tests: the reply parsers never raise and recover embedded JSON; shards partition plans."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toxpro.models.base import ChatResponse, ToolCall
from toxpro.runner import plan
from toxpro.runner.shard import parse_shard, select_shard, shard_of
from toxpro.scenario import Condition
from toxpro.scenario.shuffle import make_view
from toxpro.simulate import RunSettings
from toxpro.simulate.protocol import parse_agent_json, parse_agent_tools, parse_env, parse_json_reply

PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
# strings inside the object may hold braces, quotes, backslashes and newlines, but not ``` (see below)
safe_text = st.text(max_size=30).filter(lambda s: "```" not in s)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | safe_text,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(safe_text, kids, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(safe_text, json_values, max_size=5)
# prose around the object: anything without braces or backticks (which would start another candidate)
prose = st.text(alphabet=st.characters(blacklist_characters="{}`", blacklist_categories=("Cs",)), max_size=60)


@PROPS
@given(st.text(max_size=300), st.sampled_from(["stop", "length", "", "tool_calls"]))
def test_parsers_never_raise_on_arbitrary_text(dosage, text, finish):
    view = make_view(dosage, 7)
    obj, mode = parse_json_reply(text)
    assert mode in ("json", "fenced", "extracted", "failed") and (mode != "failed" or obj is None)
    response = ChatResponse(content=text, finish_reason=finish)
    action = parse_agent_json(response, view)
    assert action.ok or action.problem is not None
    assert parse_env(response) is None or parse_env(response).status in ("ok", "denied", "error")
    tools = ChatResponse(tool_calls=[ToolCall(name=text[:20] or "x", arguments=text)], finish_reason=finish)
    assert parse_agent_tools(tools, view).parse_mode in ("tool_call", "failed")


@PROPS
@given(json_values)
def test_parsers_never_raise_on_arbitrary_json(dosage, value):
    view = make_view(dosage, 3)
    text = json.dumps(value)
    for v in (
        value,
        {"tool_choice": value},
        {"tool_choice": {"id": value, "name": value, "parameters": value}},
        {"status": value, "observation": value, "state_updates": value},
    ):
        response = ChatResponse(content=json.dumps(v))
        parse_agent_json(response, view)
        parse_env(response)
    assert parse_json_reply(text)[0] == value


@PROPS
@given(json_objects, prose, prose, st.sampled_from(["plain", "fenced", "fenced-bare", "embedded"]))
def test_any_json_object_round_trips_from_prose_or_fences(obj, before, after, how):
    body = json.dumps(obj, indent=None if how != "fenced-bare" else 2, ensure_ascii=False)
    text = {
        "plain": body,
        "fenced": f"{before}\n```json\n{body}\n```\n{after}",
        "fenced-bare": f"{before}```\n{body}\n```{after}",
        "embedded": f"{before} {body} {after}",
    }[how]
    parsed, mode = parse_json_reply(text)
    assert parsed == obj
    assert mode in ("json", "fenced", "extracted")


@PROPS
@given(
    json_objects,
    prose,
    st.sampled_from(["ok", "denied", "error"]),
    st.lists(st.tuples(safe_text, json_values), max_size=4),
)
def test_env_replies_round_trip(dosage, extra, before, status, updates):
    obj = {
        **extra,
        "status": status,
        "observation": "done",
        "state_updates": [{"key": k, "value": v} for k, v in updates],
    }
    result = parse_env(ChatResponse(content=f"{before}```json\n{json.dumps(obj)}\n```"))
    assert result is not None and result.status == status and result.observation == "done"
    assert [(u.key, u.value) for u in result.state_updates] == updates


@PROPS
@given(st.integers(1, 24), st.integers(1, 40), st.integers(0, 2**31))
def test_shards_are_disjoint_and_cover_the_plan(dosage, n, repeats, seed):
    planned = plan(
        [dosage],
        ["scripted/strategic", "scripted/stall"],
        ["scripted/env"],
        [Condition()],
        repeats,
        RunSettings(),
        seed,
    )
    shards = [select_shard(planned, i, n) for i in range(n)]
    ids = [p.run_id for s in shards for p in s]
    assert len(ids) == len(set(ids)) == len(planned)  # disjoint, and nothing lost
    assert set(ids) == {p.run_id for p in planned}
    for i, s in enumerate(shards):
        assert all(shard_of(p.run_id, n) == i for p in s)
        assert [p.run_id for p in s] == [p.run_id for p in planned if p in s]  # plan order kept
    assert parse_shard(f"{n - 1}/{n}") == (n - 1, n)
