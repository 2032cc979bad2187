"""Parse model replies into actions. Never raises: a bad reply is an outcome with a reason."""

from __future__ import annotations

import json
import re
from typing import Any

from ..models.base import ChatResponse
from ..scenario.shuffle import ToolView
from .records import AgentAction, EnvResult, ParseMode, StateUpdate

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def _first_object(text: str) -> str | None:
    """The first balanced {...} in text, honouring strings."""
    start = text.find("{")
    while start != -1:
        depth, in_str, esc = 0, False, False
        for i in range(start, len(text)):
            ch = text[i]
            if in_str:
                if esc:
                    esc = False
                elif ch == "\\":
                    esc = True
                elif ch == '"':
                    in_str = False
                continue
            if ch == '"':
                in_str, esc = True, False
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    return text[start : i + 1]
        start = text.find("{", start + 1)
    return None


def parse_json_reply(text: str) -> tuple[Any, ParseMode]:
    """(object, mode) — mode 'failed' with None when no JSON object can be read."""
    stripped = (text or "").strip()
    try:
        return json.loads(stripped), "json"
    except ValueError:
        pass
    for block in _FENCE.findall(stripped):
        try:
            return json.loads(block.strip()), "fenced"
        except ValueError:
            continue
    candidate = _first_object(stripped)
    if candidate is not None:
        try:
            return json.loads(candidate), "extracted"
        except ValueError:
            pass
    return None, "failed"


def _resolve(view: ToolView, tool_id: Any, name: Any, action: AgentAction) -> AgentAction:
    by_id = view.by_id(str(tool_id)) if tool_id not in (None, "") else None
    by_name = view.by_name(str(name)) if name not in (None, "") else None
    action.tool_id = None if tool_id is None else str(tool_id)
    action.tool_name = None if name is None else str(name)
    if by_id and by_name and by_id.id != by_name.id:
        action.problem = "id_name_mismatch"
        return action
    chosen = by_id or by_name
    if chosen is None:
        action.problem = "unknown_tool"
        return action
    if (tool_id not in (None, "") and by_id is None) or (name not in (None, "") and by_name is None):
        action.problem = "unknown_tool"  # one of the two names nothing on offer
        return action
    action.tool_id, action.tool_name = chosen.id, chosen.name
    action.tool_role = chosen.role.value
    action.tool_track = chosen.role.track.value
    return action


def parse_agent_json(response: ChatResponse, view: ToolView) -> AgentAction:
    obj, mode = parse_json_reply(response.content)
    action = AgentAction(parse_mode=mode, reasoning=response.reasoning)
    if mode == "failed" or not isinstance(obj, dict):
        action.parse_mode = "failed"
        action.problem = "truncated" if response.finish_reason == "length" else "unparseable"
        return action
    reasoning = obj.get("reasoning")
    if isinstance(reasoning, str):
        action.reasoning = "\n".join(r for r in (response.reasoning, reasoning) if r)
    choice = obj.get("tool_choice")
    if not isinstance(choice, dict):
        action.problem = "no_tool_call"
        return action
    params = choice.get("parameters", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        action.problem = "bad_parameters"
        return action
    action.parameters = params
    return _resolve(view, choice.get("id"), choice.get("name"), action)


def parse_agent_tools(response: ChatResponse, view: ToolView) -> AgentAction:
    action = AgentAction(
        parse_mode="tool_call", reasoning="\n".join(r for r in (response.reasoning, response.content) if r)
    )
    if not response.tool_calls:
        action.parse_mode = "failed"
        action.problem = "truncated" if response.finish_reason == "length" else "no_tool_call"
        return action
    call = response.tool_calls[0]
    try:
        params = json.loads(call.arguments) if call.arguments.strip() else {}
    except ValueError:
        action.problem = "bad_parameters"
        action.tool_name = call.name
        return action
    if not isinstance(params, dict):
        action.problem = "bad_parameters"
        return action
    action.parameters = params
    return _resolve(view, None, call.name, action)


def parse_env(response: ChatResponse) -> EnvResult | None:
    obj, mode = parse_json_reply(response.content)
    if mode == "failed" or not isinstance(obj, dict):
        return None
    status = obj.get("status", "ok")
    observation = obj.get("observation")
    if status not in ("ok", "denied", "error") or not isinstance(observation, str):
        return None
    updates = []
    raw_updates = obj.get("state_updates") or []
    if isinstance(raw_updates, dict):  # tolerate {"key": value}
        raw_updates = [{"key": k, "value": v} for k, v in raw_updates.items()]
    if not isinstance(raw_updates, list):
        return None
    for item in raw_updates:
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            updates.append(StateUpdate(key=item["key"], value=item.get("value")))
    return EnvResult(status=status, observation=observation, state_updates=updates, parse_mode=mode)
