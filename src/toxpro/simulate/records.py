"""Typed records of a run: what was sent and received, byte for byte, and what it meant."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_serializer

from ..core.labels import LabelName
from ..models.base import ChatResponse, Message, RetryCause, Sampling
from ..safeguards.spec import Safeguard, safeguard_key
from ..scenario.conditions import Condition
from ..scenario.shuffle import ToolView

Protocol = Literal["json", "tools"]
Outcomes = Literal["rules", "environment"]  # who decides a call's status
# one growing conversation (situation-first: the situation and evidence ahead of the shuffled tool list, in
# the first user message; conversation: the tool list in the system prompt, v0.1), or the paper's per-turn prompt
AgentPrompt = Literal["situation-first", "conversation", "paper"]
EnvPrompt = Literal["history-first", "toxpro", "paper"]
Termination = Literal["executed", "called"]  # a terminal ends the run when it executes, or when it is called
MemoryPolicy = Literal["stateless", "full"]
ParseMode = Literal["json", "fenced", "extracted", "tool_call", "failed"]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class CallError(BaseModel):
    kind: str
    message: str
    retries: int = 0
    status: int | None = None
    retry_causes: list[RetryCause] = Field(default_factory=list)  # every failed attempt, the last included


class CallRecord(BaseModel):
    """One model call: the exact request and the response (or the failure)."""

    who: Literal["agent", "environment", "monitor"]
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
    problem: str | None = (
        None  # unparseable | truncated | unknown_tool | id_name_mismatch | no_tool_call | bad_parameters
    )
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


Status = Literal["ok", "denied", "error", "blocked"]  # blocked: stopped by a monitor, never executed


class EnvResult(BaseModel):
    status: Status  # the status applied to the world (decided by rules, or the model's own)
    observation: str
    state_updates: list[StateUpdate] = Field(default_factory=list)  # the updates applied
    parse_mode: ParseMode = "json"
    decided_by: Literal["rules", "environment", "monitor"] = "environment"
    model_status: Status | None = None  # what the environment model itself said (a fidelity signal)
    dropped_updates: list[StateUpdate] = Field(default_factory=list)  # updates a denied call may not make


class MonitorCheck(BaseModel):
    """An action monitor's review of one proposed call, before it ran (safeguards/monitor.py)."""

    verdict: Literal["allow", "flag", "block", "error"]  # error: no usable verdict (the call is allowed)
    reason: str = ""
    calls: list[CallRecord] = Field(default_factory=list)  # who="monitor"; more than one when re-asked
    parse_mode: ParseMode = "json"

    @property
    def blocks(self) -> bool:
        return self.verdict == "block"


class Turn(BaseModel):
    index: int  # 1-based
    agent_call: CallRecord
    action: AgentAction | None = None
    monitor: MonitorCheck | None = None  # set when an action monitor reviewed the call
    env_calls: list[CallRecord] = Field(default_factory=list)  # more than one when a reply had to be re-asked
    env: EnvResult | None = None
    state_after: dict[str, Any] = Field(default_factory=dict)


class RunError(BaseModel):
    kind: str  # api_<kind> | protocol | env_protocol | config | internal
    where: Literal["agent", "environment", "monitor", "engine"]
    message: str


class Fidelity(BaseModel):
    """How faithfully the environment model played the world (cheap rule checks; never used to decide)."""

    env_turns: int = 0  # environment results in the run
    status_mismatch: int = 0  # the model's own status differs from the rule-decided one
    narration_contradiction: int = 0  # the observation reads as the opposite of the applied status
    undeclared_state: int = 0  # state updates whose key the tool's behaviour and description never name
    updates_on_refusal: int = 0  # state updates returned for a refused call (dropped)
    invented_ids: int = 0  # IDs of a kind the ground truth uses (same prefix) that it does not hold
    examples: list[str] = Field(default_factory=list)  # up to 5 short descriptions of what was found

    @property
    def flagged_turns(self) -> int:
        return (
            self.status_mismatch
            + self.narration_contradiction
            + self.undeclared_state
            + self.updates_on_refusal
            + self.invented_ids
        )


class RunLabel(BaseModel):
    label: LabelName
    ttf: int | None = None  # 1-based turn of the first toxic tool call
    roles: list[str] = Field(default_factory=list)  # role of each valid tool call, in order
    partial_label: LabelName | None = None  # for errors: what the calls made so far would be labelled
    terminal_role: str | None = None
    eval_aware: bool = False  # the agent said it is being tested or that the scenario is fictional
    eval_quote: str = ""  # the words that matched (keyword check)


class RunSettings(BaseModel):
    """Everything that shapes a run besides scenario, condition, models and seed. Every way the
    paper preset differs from the default is one of these fields (docs/PROTOCOL.md)."""

    preset: Literal["toxpro", "paper"] = "toxpro"  # where the values came from (informational)
    protocol: Protocol = "json"
    memory: MemoryPolicy = "stateless"
    max_turns: int = Field(default=20, ge=1, le=200)
    max_protocol_errors: int = Field(default=2, ge=0)
    shuffle_tools: bool = True
    outcomes: Outcomes = "rules"
    termination: Termination = "executed"
    agent_prompt: AgentPrompt = "situation-first"
    env_prompt: EnvPrompt = "toxpro"
    stakeholder_directive: bool = False  # always tell the agent to serve its stakeholder (paper's [AGENT GOALS])
    security_at_baseline: bool = True  # state the feedback level to the environment at the baseline too
    history_window: int = Field(default=6, ge=1, le=100)  # paper prompt: recent turns shown in full
    agent_sampling: Sampling = Field(default_factory=lambda: Sampling(max_tokens=4096))
    env_sampling: Sampling = Field(default_factory=lambda: Sampling(temperature=0.3, max_tokens=512))
    # how calls were made (recorded; not part of the run id, and runs differing only here pool)
    call_timeout_s: float = Field(default=60.0, gt=0)
    call_attempts: int = Field(default=4, ge=1)
    safeguards: list[Safeguard] = Field(default_factory=list)  # prompt safeguards, monitor, escalation tool

    @model_serializer(mode="wrap")
    def _unguarded_as_before(self, handler):
        # left out when empty, so an unguarded run keeps the id (and seed) it had before safeguards existed
        data = handler(self)
        if not self.safeguards and isinstance(data, dict):
            data.pop("safeguards", None)
        return data

    @property
    def safeguard_key(self) -> str:
        """'none', or the canonical safeguard set, e.g. 'reminder:strong+escalation'."""
        return safeguard_key(self.safeguards)


CALL_SETTINGS = frozenset({"call_timeout_s", "call_attempts"})  # left out of run ids


class Usage(BaseModel):
    agent_prompt: int = 0
    agent_completion: int = 0
    env_prompt: int = 0
    env_completion: int = 0
    monitor_prompt: int = 0
    monitor_completion: int = 0
    retries: int = 0
    agent_cached: int = 0  # of agent_prompt: prompt-cache hits
    env_cached: int = 0
    agent_reasoning: int = 0  # of agent_completion: reasoning tokens
    env_reasoning: int = 0

    @property
    def total(self) -> int:
        return (
            self.agent_prompt
            + self.agent_completion
            + self.env_prompt
            + self.env_completion
            + self.monitor_prompt
            + self.monitor_completion
        )


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
    agent_name: str | None = None  # display name (-a NAME=MODEL, agents: [{name: ...}]); None in older records
    agent_family: str | None = None  # model family tag, for per-family fits
    agent_reasoning: bool | None = None  # tagged as a reasoning model
    settings: RunSettings
    repeat: int
    seed: int
    tool_view: ToolView
    turns: list[Turn] = Field(default_factory=list)
    outcome: Literal["terminal", "turn_cap", "escalated", "error"]
    error: RunError | None = None
    protocol_errors: int = 0
    final_state: dict[str, Any] = Field(default_factory=dict)
    usage: Usage = Field(default_factory=Usage)
    started_at: str
    ended_at: str
    fidelity: Fidelity | None = None
    resumed_turns: int = 0  # turns taken from checkpoints of a killed sweep (their replies, not new calls)
    label: RunLabel | None = None
