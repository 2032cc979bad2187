"""The Scenario schema: one dilemma, its evidence and its six dual-track tools."""

from __future__ import annotations

import hashlib
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..core import roles as vocabulary
from ..core.canonical import canonical_json


class Domain(str, Enum):
    healthcare = "Healthcare"
    finance = "Finance"
    cybersecurity = "Cybersecurity"
    coding = "Coding"


class Motivation(str, Enum):
    loyalty = "loyalty"
    self_preservation = "self-preservation"


class Track(str, Enum):  # the values of toxpro.core.roles.TRACKS
    compliant = "compliant"
    toxic = "toxic"


class Role(str, Enum):  # the values of toxpro.core.roles.ROLES, in its order
    validator = "validator"
    registrar = "registrar"
    standard_terminal = "standard-terminal"
    inhibitor = "inhibitor"
    modifier = "modifier"
    direct_terminal = "direct-terminal"

    @property
    def track(self) -> Track:
        return Track(vocabulary.TRACK_OF[self.value])

    @property
    def is_terminal(self) -> bool:
        return self.value in vocabulary.TERMINAL_ROLES


TOXIC_ROLES = frozenset(Role(r) for r in vocabulary.TOXIC_ROLES)
ALL_ROLES = tuple(Role)

_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{1,63}$"
_TOOL_NAME_PATTERN = r"^[a-zA-Z_][a-zA-Z0-9_]{0,63}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tool(Strict):
    name: str = Field(pattern=_TOOL_NAME_PATTERN)
    description: str = Field(min_length=10, max_length=600)
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="JSON schema of the tool's arguments",
    )
    track: Track
    role: Role
    behaviour: str = Field(
        min_length=10, max_length=1200, description="how the environment reacts (never shown to the agent)"
    )

    @model_validator(mode="after")
    def _track_matches_role(self) -> Tool:
        if self.role.track != self.track:
            raise ValueError(
                f"role {self.role.value} belongs to the {self.role.track.value} track, not {self.track.value}"
            )
        return self

    @field_validator("parameters")
    @classmethod
    def _parameters_are_object_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        if value.get("type") != "object":
            raise ValueError('must be a JSON schema with "type": "object"')
        props = value.get("properties", {})
        if not isinstance(props, dict):
            raise ValueError("properties must be a mapping")
        for key, sub in props.items():
            if not isinstance(sub, dict) or "type" not in sub:
                raise ValueError(f"property {key!r} needs a type")
        for req in value.get("required", []):
            if req not in props:
                raise ValueError(f"required property {req!r} is not defined")
        return value


class StakesText(Strict):
    high: str = Field(min_length=10, max_length=1500)
    medium: str = Field(min_length=10, max_length=1500)
    low: str = Field(min_length=10, max_length=1500)


class PromptModule(Strict):
    """One module of a prompt as the paper's generator writes it: a bracketed heading and a body."""

    heading: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=20000)
    scope: Literal["always", "once"] = "always"


class SourceModules(Strict):
    """The prompt modules of an imported scenario, verbatim. The paper preset shows these texts."""

    agent: list[PromptModule] = Field(min_length=1)
    environment: list[PromptModule] = Field(min_length=1)


class GoalText(Strict):
    """The stakeholder named in goal-clarity conditions."""

    stakeholder: str = Field(min_length=2, max_length=200)
    interest: str = Field(min_length=5, max_length=400)


class Scenario(Strict):
    id: str = Field(pattern=_ID_PATTERN)
    version: str = Field(default="1.0", pattern=r"^\d+(\.\d+){0,2}$")
    domain: Domain
    motivation: Motivation
    title: str = Field(min_length=5, max_length=200)
    canary: str = Field(default="", max_length=200)
    agent_role: str = Field(min_length=10, max_length=2000)
    agent_goals: list[str] = Field(min_length=1, max_length=12)
    situation: str = Field(min_length=10, max_length=4000, description="the user's request that opens the run")
    stakes: StakesText | None = Field(
        default=None, description="graded stakes texts; None: not graded (only the baseline level runs)"
    )
    goal: GoalText
    evidence: dict[str, Any] = Field(min_length=1, description="ground truth shown to the agent and environment")
    initial_state: dict[str, Any] = Field(default_factory=dict)
    tools: list[Tool]
    environment: str = Field(min_length=10, max_length=4000, description="instructions for the environment model")
    tags: list[str] = Field(default_factory=list)
    source_modules: SourceModules | None = Field(
        default=None, description="the original prompt modules of an imported file (used by the paper preset)"
    )

    @field_validator("tools")
    @classmethod
    def _six_tools_one_per_role(cls, tools: list[Tool]) -> list[Tool]:
        problems: list[str] = []
        if len(tools) != 6:
            problems.append(f"exactly 6 tools are required, found {len(tools)}")
        names = [t.name for t in tools]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            problems.append(f"duplicate tool names: {', '.join(dupes)}")
        roles = [t.role for t in tools]
        for role in Role:
            count = roles.count(role)
            if count != 1:
                problems.append(f"role {role.value} must appear exactly once, found {count}")
        if problems:
            raise ValueError("; ".join(problems))
        return tools

    def tool_by_role(self, role: Role) -> Tool:
        return next(t for t in self.tools if t.role == role)

    def tool_by_name(self, name: str) -> Tool | None:
        return next((t for t in self.tools if t.name == name), None)

    @property
    def content_hash(self) -> str:
        return content_hash(self)


def content_hash(scenario: Scenario) -> str:
    """sha256 over the canonical JSON of every field (stable across YAML formatting)."""
    payload = canonical_json(scenario.model_dump(mode="json"))
    return hashlib.sha256(payload.encode()).hexdigest()


from .gates import MORAL_WORDS as MORAL_WORDS  # noqa: E402  (re-exported; the word lists live in gates.py)
