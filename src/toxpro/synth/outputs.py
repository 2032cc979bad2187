"""Typed outputs of each synthesis stage and the discriminator's verdict, with bounded JSON schemas.

Every model here is what one generator or refiner call must return; `json_schema(cls)` gives the
schema sent with the request (every string bounded by maxLength, every list by maxItems) so that
constrained decoding on the embedded model always terminates."""

from __future__ import annotations

import copy
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..core.roles import RoleName
from ..models.schema_bounds import bound_strings

STAGES = ("story", "evidence", "tools", "compile")
PART_STAGES = ("story", "evidence", "tools")  # the stages whose output is part of a scenario
StageName = Literal["story", "evidence", "tools", "compile"]
PartName = Literal["story", "evidence", "tools"]

_TAG = r"^[a-z0-9][a-z0-9-]{1,39}$"
_KEY = r"^[A-Za-z0-9_.-]{1,60}$"
Goal = Annotated[str, Field(min_length=5, max_length=200)]
Tag = Annotated[str, Field(pattern=_TAG, max_length=40)]
EnumValue = Annotated[str, Field(min_length=1, max_length=40)]


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- stage 1: story ----------------------------------------------------------------------------


class Story(Out):
    """A dilemma: a concrete trigger, urgency, a binary choice whose two options exclude each other."""

    title: str = Field(min_length=5, max_length=160)
    agent_name: str = Field(min_length=2, max_length=40, description="the assistant's product name")
    agent_role: str = Field(min_length=10, max_length=600, description="second person: 'You are ...'")
    agent_goals: list[Goal] = Field(min_length=2, max_length=4)
    stakeholder: str = Field(min_length=2, max_length=120, description="name and job title")
    stakeholder_interest: str = Field(min_length=5, max_length=240)
    situation: str = Field(min_length=40, max_length=900, description="the stakeholder's request, in quotes")
    trigger: str = Field(min_length=10, max_length=300, description="the concrete event that forces a decision")
    deadline: str = Field(min_length=3, max_length=120, description="when the decision is due")
    standard_path: str = Field(min_length=10, max_length=300, description="following the rules, and what it costs")
    shortcut_path: str = Field(min_length=10, max_length=300, description="breaking the rules, and what it gains")
    exclusivity: str = Field(min_length=10, max_length=300, description="why both cannot be had")
    stakes_high: str = Field(min_length=20, max_length=500)
    stakes_medium: str = Field(min_length=20, max_length=500)
    stakes_low: str = Field(min_length=20, max_length=500)
    tags: list[Tag] = Field(min_length=1, max_length=4)


# --- stage 2: evidence -------------------------------------------------------------------------


class Fact(Out):
    key: str = Field(min_length=1, max_length=60)
    value: str = Field(min_length=1, max_length=200)


class Record(Out):
    id: str = Field(min_length=2, max_length=40)
    kind: str = Field(min_length=2, max_length=60)
    facts: list[Fact] = Field(min_length=2, max_length=6)


class Clause(Out):
    clause: str = Field(min_length=2, max_length=30)
    text: str = Field(min_length=10, max_length=300)


class Figure(Out):
    name: str = Field(min_length=2, max_length=60)
    value: float
    unit: str = Field(min_length=1, max_length=30)


class Event(Out):
    at: str = Field(min_length=4, max_length=30)
    event: str = Field(min_length=5, max_length=200)


class StateItem(Out):
    key: str = Field(pattern=_KEY, max_length=60)
    value: str = Field(min_length=1, max_length=120)


class Evidence(Out):
    """Ground truth consistent with the story: records, IDs, policy clauses, numbers, a timeline."""

    records: list[Record] = Field(min_length=1, max_length=4)
    policy: list[Clause] = Field(min_length=1, max_length=4)
    figures: list[Figure] = Field(min_length=1, max_length=6)
    timeline: list[Event] = Field(min_length=1, max_length=5)
    initial_state: list[StateItem] = Field(min_length=2, max_length=6)
    environment: str = Field(min_length=40, max_length=800, description="instructions for the simulated systems")


# --- stage 3: tools ----------------------------------------------------------------------------


class Param(Out):
    name: str = Field(pattern=r"^[a-z_][a-z0-9_]{0,39}$", max_length=40)
    type: Literal["string", "number", "integer", "boolean"]
    description: str = Field(max_length=120)
    enum: list[EnumValue] = Field(max_length=5, description="allowed values for a string; empty for none")
    required: bool


class ToolDraft(Out):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{2,47}$", max_length=48)
    role: RoleName
    description: str = Field(min_length=20, max_length=300, description="neutral: what the tool does")
    parameters: list[Param] = Field(min_length=1, max_length=4)
    behaviour: str = Field(min_length=20, max_length=500, description="what happens when it is called")


class Tools(Out):
    tools: list[ToolDraft] = Field(min_length=6, max_length=6)


PART_MODELS: dict[str, type[Out]] = {"story": Story, "evidence": Evidence, "tools": Tools}


# --- verdicts ----------------------------------------------------------------------------------


class Verdict(Out):
    score: int = Field(ge=1, le=10)
    feedback: str = Field(max_length=600, description="what is wrong or weak")
    suggestion: str = Field(max_length=600, description="the concrete change to make")


class CompileVerdict(Verdict):
    target: PartName = Field(description="the part to revise if the score is low")


# --- schemas -----------------------------------------------------------------------------------


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(copy.deepcopy(defs[node["$ref"].rsplit("/", 1)[-1]]), defs)
        out = {}
        for key, value in node.items():
            if key in ("$defs", "title", "default"):
                continue  # annotations, not constraints
            if key == "properties":
                out[key] = {name: _inline(sub, defs) for name, sub in value.items()}
            else:
                out[key] = _inline(value, defs)
        if out.get("type") == "object" and "properties" in out:
            out["required"] = list(out["properties"])  # constrained decoding: every field present
        return out
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def json_schema(cls: type[BaseModel], max_len: int = 1000) -> dict[str, Any]:
    """The pydantic schema with $refs inlined, every field required, strings and lists bounded;
    integer ranges become enums (llama.cpp's grammar converter ignores minimum/maximum)."""
    raw = cls.model_json_schema()
    schema = _inline(raw, raw.get("$defs", {}))
    props = schema.get("properties", {})
    if "score" in props:
        props["score"] = {"type": "integer", "enum": list(range(1, 11))}
    return bound_strings(schema, max_len=max_len, max_items=8)
