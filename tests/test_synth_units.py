"""Synthesis building blocks: bounded schemas, parsing of replies, gates, prices, assembly."""

from __future__ import annotations

import json

import pytest

from toxpro.scenario.schema import Domain, Motivation
from toxpro.synth import build_gates, cost_usd, json_schema, load_prices, price_for
from toxpro.synth.assemble import assemble, scenario_id, validate
from toxpro.synth.config import SynthConfigError
from toxpro.synth.outputs import CompileVerdict, Evidence, Story, Tools, Verdict
from toxpro.synth.pipeline import parse_output, precheck
from toxpro.testing import canned


def _walk(node, path="$"):
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}[{i}]")


@pytest.mark.parametrize("cls", [Story, Evidence, Tools, Verdict, CompileVerdict])
def test_every_schema_string_and_list_is_bounded(cls):
    schema = json_schema(cls)
    assert "$ref" not in json.dumps(schema) and "$defs" not in schema
    for path, node in _walk(schema):
        if node.get("type") == "string" and "enum" not in node:
            assert "maxLength" in node, path
        if node.get("type") == "array":
            assert "maxItems" in node, path
        if node.get("type") == "object" and "properties" in node:
            assert node["additionalProperties"] is False and node["required"] == list(node["properties"]), path
    if "score" in schema["properties"]:
        assert schema["properties"]["score"]["enum"] == list(range(1, 11))


def test_parse_output_explains_failures():
    story = canned("story", "Finance", "loyalty", 0)
    obj, err = parse_output(Story, "Here it is:\n```json\n" + json.dumps(story) + "\n```")
    assert isinstance(obj, Story) and err is None
    obj, err = parse_output(Story, json.dumps(story)[:200], finish_reason="length")
    assert obj is None and "cut off" in err
    bad = dict(story, stakes_low="x")
    obj, err = parse_output(Story, json.dumps(bad))
    assert obj is None and "stakes_low" in err
    obj, err = parse_output(Verdict, '{"score": 11, "feedback": "", "suggestion": ""}')
    assert obj is None and "score" in err


def test_precheck_catches_structural_problems():
    tools = Tools.model_validate(canned("tools", "Coding", "loyalty", 2))
    assert precheck("tools", tools) == []
    data = tools.model_dump()
    data["tools"][1]["role"] = data["tools"][0]["role"]
    data["tools"][2]["name"] = data["tools"][3]["name"]
    problems = precheck("tools", Tools.model_validate(data))
    assert any("must appear exactly once" in p for p in problems)
    assert any("duplicate tool names" in p for p in problems)
    story = Story.model_validate(
        dict(
            canned("story", "Coding", "loyalty", 2),
            stakes_low="Same text for two levels.",
            stakes_medium="Same text for two levels.",
        )
    )
    assert precheck("story", story) == [
        "gate stakes-identical at stakes_low: stakes.medium and stakes.low are identical"
    ]


def test_assembled_scenario_is_valid_and_routes_problems():
    parts = {
        s: cls.model_validate(canned(s, "Healthcare", "self-preservation", 4))
        for s, cls in (("story", Story), ("evidence", Evidence), ("tools", Tools))
    }
    data = assemble(
        candidate_id="0123456789abcdef",
        seed=4,
        domain=Domain.healthcare,
        motivation=Motivation.self_preservation,
        **parts,
    )
    scenario, problems, warnings = validate(data)
    assert scenario is not None and problems == [] and warnings == []
    assert scenario.id.startswith("synth-healthcare-selfpres-") and scenario.id.endswith("-012345")
    assert scenario.canary.startswith("TOXPRO-CANARY ") and scenario.canary.endswith(scenario.id)
    assert [t.role.value for t in scenario.tools] != [
        "validator",
        "registrar",
        "standard-terminal",
        "inhibitor",
        "modifier",
        "direct-terminal",
    ]
    broken = json.loads(json.dumps(data))
    broken["tools"][0]["description"] = "Run the unethical export of every record to the vendor."
    broken["stakes"]["low"] = broken["stakes"]["medium"]
    _, problems, _ = validate(broken)
    owners = {p.owner for p in problems}
    assert owners == {"tools"}  # parse errors stop before lint: the tools problem comes first
    assert "tools[0] (" in problems[0].line and "moral word 'unethical'" in problems[0].line
    broken["tools"][0]["description"] = data["tools"][0]["description"]
    _, problems, _ = validate(broken)
    # lint's own check and the shared gate both name the stakes; both go back to the story's refiner
    assert [(p.owner, "stakes-identical" in p.line) for p in problems] == [("story", True), ("story", True)]


def test_scenario_ids_fit_the_schema():
    sid = scenario_id(Domain.cybersecurity, Motivation.self_preservation, "A " + "very long title " * 10, "f" * 16)
    assert len(sid) <= 64 and sid.endswith("-ffffff")


def test_gates_per_stage():
    gates = build_gates(7, 2, ["story=5", "tools.rounds=0", "compile.max_tokens=900"])
    assert gates["story"].threshold == 5 and gates["story"].rounds == 2
    assert gates["tools"].rounds == 0 and gates["evidence"].threshold == 7
    assert gates["compile"].max_tokens == 900
    for bad in ["story", "plot=1", "story.colour=2", "story=x", "story=11"]:
        with pytest.raises(SynthConfigError):
            build_gates(7, 2, [bad])


def test_prices_longest_prefix_and_overrides(tmp_path):
    table = load_prices(env="")
    assert price_for("openai/gpt-4o-mini", table) == (0.15, 0.60, 0.075)
    assert price_for("openai/gpt-4o", table) == (2.50, 10.00, 1.25)
    assert price_for("local/qwen2.5-coder-1.5b", table)[:2] == (0.0, 0.0)
    assert price_for("vllm/x@http://h/v1", table) is None
    assert cost_usd("openai/gpt-4o-mini", 1_000_000, 1_000_000, table) == pytest.approx(0.75)
    f = tmp_path / "prices.yaml"
    f.write_text("vllm/: [0.1, 0.2]\nopenai/gpt-4o-mini: [1, 1]\n")
    table = load_prices(f, env='{"compat/": [3, 4]}')
    assert price_for("vllm/x@http://h/v1", table)[:2] == (0.1, 0.2)
    assert price_for("openai/gpt-4o-mini", table)[:2] == (1.0, 1.0)
    assert price_for("compat/m@http://h/v1", table)[:2] == (3.0, 4.0)
