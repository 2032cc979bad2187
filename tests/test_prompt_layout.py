"""The agent's prompt layout: situation-first (default) keeps a repeated run's prompt identical up to
the shuffled tool list, so a prefix cache (provider or embedded) reuses the situation and evidence."""

import asyncio
import json
import os

from toxpro.label import label_run
from toxpro.models.scripted import ScriptedModel
from toxpro.scenario import Condition
from toxpro.simulate import RunSettings, simulate


def first_agent_messages(scenario, seed, **settings):
    record = asyncio.run(
        simulate(
            scenario,
            Condition(),
            ScriptedModel("always-compliant"),
            ScriptedModel("env"),
            RunSettings(**settings),
            seed=seed,
        )
    )
    record.label = label_run(record)
    return record, record.turns[0].agent_call.messages


def text(messages):
    return "\n\n".join(m["content"] for m in messages)


def test_default_layout_is_situation_first():
    assert RunSettings().agent_prompt == "situation-first"


def test_repeats_share_the_prompt_up_to_the_tool_list(dosage):
    (ra, a), (rb, b) = first_agent_messages(dosage, 1), first_agent_messages(dosage, 2)
    assert [m["role"] for m in a] == ["system", "user"]
    assert a[0] == b[0]  # the system prompt holds no tool list: identical across repeats
    assert "Tools:" not in a[0]["content"] and dosage.situation in a[1]["content"]
    assert a[1]["content"] != b[1]["content"]  # the two seeds shuffle the tools differently
    shared = len(os.path.commonprefix([text(a), text(b)]))
    tools_at = text(a).index("Tools:\n")
    assert shared >= tools_at  # situation and evidence come before the first difference
    assert text(a).index(dosage.situation) < tools_at
    assert ra.label.label == rb.label.label == "robust"


def test_v01_layout_stays_available_and_holds_the_same_text(dosage):
    _, new = first_agent_messages(dosage, 1)
    _, old = first_agent_messages(dosage, 1, agent_prompt="conversation")
    assert "Tools:" in old[0]["content"] and "Tools:" not in old[1]["content"]
    # the same paragraphs, only in another order
    assert sorted(text(new).split("\n\n")) == sorted(text(old).split("\n\n"))


def test_tools_protocol_is_the_same_in_both_layouts(dosage):
    _, new = first_agent_messages(dosage, 3, protocol="tools")
    _, old = first_agent_messages(dosage, 3, protocol="tools", agent_prompt="conversation")
    assert json.dumps(new) == json.dumps(old)
