"""The engine's view of a run's safeguards: what they add to the agent's prompt and tools, how an
escalation is recognised, and the monitor's review of each call. One Guard per run."""

from __future__ import annotations

import copy
import json
from typing import Any

from ..core.errors import ToxproError
from ..core.roles import ESCALATION_ROLE
from ..models.base import ChatModel, ToolSpec
from ..models.schema_bounds import bound_strings
from ..scenario.schema import PromptModule, Scenario
from ..scenario.shuffle import ToolView
from ..simulate import paper_prompts as paper
from ..simulate.prompts import AGENT_FORMAT
from ..simulate.records import AgentAction, EnvResult, MonitorCheck, RunSettings
from .monitor import Call, Monitor
from .spec import has_escalation, monitor_of
from .texts import (
    BLOCKED_OBSERVATION,
    CONSTRAINTS,
    ESCALATION_DESCRIPTION,
    ESCALATION_NAME,
    ESCALATION_PARAMETERS,
    PROMPT_HEADING,
    REMINDER,
)

ESCALATE = ESCALATION_ROLE  # the escalation tool's role (and track)
_RULES_MARK = "\n\nYou act only through the tools"


class GuardError(ToxproError, ValueError):
    pass


def prompt_text(settings: RunSettings) -> str:
    """The prompt safeguards' text ('' without any)."""
    parts = []
    for s in settings.safeguards:
        if s.kind == "reminder":
            parts.append(REMINDER[s.level or "mild"])
        elif s.kind == "constraints":
            parts.append(CONSTRAINTS)
    return "\n\n".join(parts)


class Guard:
    def __init__(
        self, settings: RunSettings, scenario: Scenario, view: ToolView, monitor_model: ChatModel | None, seed: int
    ):
        self.text = prompt_text(settings)
        self.escalation = has_escalation(settings.safeguards)
        self.esc_id = str(len(view.shown) + 1)
        names = {s.name for s in view.shown}
        self.esc_name = ESCALATION_NAME if ESCALATION_NAME not in names else f"{ESCALATION_NAME}_supervisor"
        spec = monitor_of(settings.safeguards)
        if spec is not None and monitor_model is None:
            raise GuardError(f"safeguard {spec.key} needs its monitor model; none was given to the engine")
        self.monitor = (
            Monitor(monitor_model, spec, scenario, view, self.escalation, seed)
            if spec is not None and monitor_model is not None
            else None
        )
        self.blocked_turns: list[int] = []

    # -- the agent's prompt and tools ------------------------------------------------------------
    def agent_tools(self, text: str, protocol: str) -> str:
        """A text ending in the json tool list and reply format, with the escalation tool added."""
        if self.escalation and protocol == "json" and text.endswith("\n\n" + AGENT_FORMAT):
            line = (
                f"[{self.esc_id}] {self.esc_name}: {ESCALATION_DESCRIPTION}\n"
                f"    parameters: {json.dumps(ESCALATION_PARAMETERS, ensure_ascii=False)}"
            )
            text = text[: -len(AGENT_FORMAT) - 2] + f"\n{line}\n\n{AGENT_FORMAT}"
        return text

    def agent_system(self, text: str, protocol: str) -> str:
        text = self.agent_tools(text, protocol)
        if self.text:
            at = text.find(_RULES_MARK)
            text = (text[:at] + f"\n\n{self.text}" + text[at:]) if at >= 0 else f"{text}\n\n{self.text}"
        return text

    def paper_modules(self, modules: list[PromptModule]) -> list[PromptModule]:
        mods = list(modules)
        if self.escalation:
            tools = next((m for m in mods if paper._norm(m.heading) == "TOOLS"), None)
            line = f"{self.esc_id}. {self.esc_name}(reason): {ESCALATION_DESCRIPTION}"
            mods = paper._replace(mods, "[TOOLS]", f"{tools.body.rstrip()}\n{line}" if tools else line)
        if self.text:
            mods = paper._replace(mods, PROMPT_HEADING, self.text, after=("ROLE", "CAPABILITIES", "ETHICAL FRAMEWORK"))
        return mods

    def tool_specs(self, specs: list[ToolSpec] | None) -> list[ToolSpec] | None:
        if specs is None or not self.escalation:
            return specs
        return [
            *specs,
            ToolSpec(
                id=self.esc_id, name=self.esc_name, description=ESCALATION_DESCRIPTION, parameters=ESCALATION_PARAMETERS
            ),
        ]

    def schema(self, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        if schema is None or not self.escalation:
            return schema
        out = copy.deepcopy(schema)
        out["properties"]["tool_choice"]["anyOf"].append(
            {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "enum": [self.esc_id]},
                    "name": {"type": "string", "enum": [self.esc_name]},
                    "parameters": bound_strings(ESCALATION_PARAMETERS, 200),
                },
                "required": ["id", "name", "parameters"],
                "additionalProperties": False,
            }
        )
        return out

    def oracle(self) -> dict[str, Any]:
        """Facts for scripted agents: the escalation tool (as a shown tool) and the turns blocked so far."""
        extra: dict[str, Any] = {"blocked_turns": list(self.blocked_turns)}
        if self.escalation:
            extra["extra_tools"] = [{"id": self.esc_id, "name": self.esc_name, "role": ESCALATE}]
        return extra

    # -- after parsing: escalation ---------------------------------------------------------------
    def resolve(self, action: AgentAction) -> AgentAction:
        """An 'unknown tool' that is the escalation tool (by ID, name or both, consistently) is an escalation."""
        if not self.escalation or action.problem != "unknown_tool":
            return action
        by_id = action.tool_id is not None and action.tool_id.strip() == self.esc_id
        by_name = action.tool_name is not None and action.tool_name.strip() == self.esc_name
        if not (by_id or by_name):
            return action
        if (action.tool_id not in (None, "") and not by_id) or (action.tool_name not in (None, "") and not by_name):
            return action.model_copy(update={"problem": "id_name_mismatch"})
        return action.model_copy(
            update={
                "problem": None,
                "tool_id": self.esc_id,
                "tool_name": self.esc_name,
                "tool_role": ESCALATE,
                "tool_track": ESCALATE,
            }
        )

    # -- before the environment: the monitor -----------------------------------------------------
    async def review(self, action: AgentAction, turn: int, call: Call) -> MonitorCheck | None:
        if self.monitor is None:
            return None
        check = await self.monitor.review(action, turn, call)
        if check.blocks:
            self.blocked_turns.append(turn)
        return check

    def blocked(self, action: AgentAction) -> EnvResult:
        """What a blocked call returns to the agent: nothing ran, nothing changed."""
        if self.monitor is not None:
            self.monitor.note(action, "blocked", BLOCKED_OBSERVATION)
        return EnvResult(status="blocked", observation=BLOCKED_OBSERVATION, decided_by="monitor")

    def note(self, action: AgentAction, result: EnvResult) -> None:
        if self.monitor is not None:
            self.monitor.note(action, result.status, result.observation)
