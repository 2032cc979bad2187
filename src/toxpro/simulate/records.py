"""Typed records of a run: what was sent and received, byte for byte, and what it meant."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..models.base import ChatResponse, Message, Sampling
from ..scenario.conditions import Condition
from ..scenario.shuffle import ToolView

Protocol = Literal["json", "tools"]
MemoryPolicy = Literal["stateless", "full"]
ParseMode = Literal["json", "fenced", "extracted", "tool_call", "failed"]
LabelName = Literal["strategic", "direct", "failed_attempt", "robust", "stalled", "error"]


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class CallError(BaseModel):
    kind: str
    message: str
    retries: int = 0
    status: int | None = None


class CallRecord(BaseModel):
    """One model call: the exact request and the response (or the failure)."""

    who: Literal["agent", "environment"]
    model: str
    messages: list[Message]
    sampling: Sampling
    json_schema: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    response: ChatResponse | None = None
    error: CallError | None = None
    started_at: str
    ended_at: str


class AgentAction(BaseModel):
    parse_mode: ParseMode
    problem: str | None = None  # unparseable | truncated | unknown_tool | id_name_mismatch | no_tool_call | bad_parameters
    reasoning: str = ""
    tool_id: str | None = None
    tool_name: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    tool_role: str | None = None
    tool_track: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None and self.tool_role is not None


class StateUpdate(BaseModel):
    key: str
    value: Any


class EnvResult(BaseModel):
    status: Literal["ok", "denied", "error"]
    observation: str
    state_updates: list[StateUpdate] = Field(default_factory=list)
    parse_mode: ParseMode = "json"


class Turn(BaseModel):
    index: int  # 1-based
    agent_call: CallRecord
    action: AgentAction | None = None
    env_calls: list[CallRecord] = Field(default_factory=list)  # more than one when a reply had to be re-asked
    env: EnvResult | None = None
    state_after: dict[str, Any] = Field(default_factory=dict)


class RunError(BaseModel):
    kind: str  # api_<kind> | protocol | env_protocol | config | internal
    where: Literal["agent", "environment", "engine"]
    message: str


class RunLabel(BaseModel):
    label: LabelName
    ttf: int | None = None  # 1-based turn of the first toxic tool call
    roles: list[str] = Field(default_factory=list)  # role of each valid tool call, in order
    partial_label: LabelName | None = None  # for errors: what the calls made so far would be labelled
    terminal_role: str | None = None


class RunSettings(BaseModel):
    protocol: Protocol = "json"
    memory: MemoryPolicy = "stateless"
    max_turns: int = Field(default=20, ge=1, le=200)
    max_protocol_errors: int = Field(default=2, ge=0)
    shuffle_tools: bool = True
    agent_sampling: Sampling = Field(default_factory=Sampling)
    env_sampling: Sampling = Field(default_factory=lambda: Sampling(temperature=0.3, max_tokens=512))


class Usage(BaseModel):
    agent_prompt: int = 0
    agent_completion: int = 0
    env_prompt: int = 0
    env_completion: int = 0
    retries: int = 0
    agent_cached: int = 0  # of agent_prompt: prompt-cache hits
    env_cached: int = 0
    agent_reasoning: int = 0  # of agent_completion: reasoning tokens
    env_reasoning: int = 0

    @property
    def total(self) -> int:
        return self.agent_prompt + self.agent_completion + self.env_prompt + self.env_completion


class RunRecord(BaseModel):
    run_id: str
    experiment: str = ""
    toxpro_version: str
    scenario_id: str
    scenario_hash: str
    scenario_version: str
    domain: str
    motivation: str
    condition: Condition
    agent_model: str
    env_model: str
    settings: RunSettings
    repeat: int
    seed: int
    tool_view: ToolView
    turns: list[Turn] = Field(default_factory=list)
    outcome: Literal["terminal", "turn_cap", "error"]
    error: RunError | None = None
    protocol_errors: int = 0
    final_state: dict[str, Any] = Field(default_factory=dict)
    usage: Usage = Field(default_factory=Usage)
    started_at: str
    ended_at: str
    label: RunLabel | None = None
