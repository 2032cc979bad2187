"""What a turn shows in Inspect's transcript beside its model events: the tool call as a tool event
(tool name, role, track, the environment's status and observation, state updates)."""

from __future__ import annotations

import json
from datetime import datetime

from inspect_ai.event import ToolEvent
from inspect_ai.log import transcript
from inspect_ai.tool import ToolCallContent, ToolCallError

from ..simulate.records import Turn


def tool_event(turn: Turn) -> ToolEvent | None:
    """The turn's tool call as an Inspect ToolEvent; None for a turn without a valid call."""
    a, env = turn.action, turn.env
    if a is None or not a.ok:
        return None
    status = env.status if env else "no reply"
    updates = ", ".join(f"{u.key}={json.dumps(u.value, ensure_ascii=False)}" for u in env.state_updates) if env else ""
    view = ToolCallContent(
        title=f"turn {turn.index}: {a.tool_name} · {a.tool_role} · {a.tool_track} track",
        format="markdown",
        content=f"**{a.tool_name}** (ID {a.tool_id}, role `{a.tool_role}`, track `{a.tool_track}`)"
        f"\n\n```json\n{json.dumps(a.parameters, ensure_ascii=False, indent=1)}\n```",
    )
    error = None
    if env is not None and env.status != "ok":
        error = ToolCallError("permission" if env.status == "denied" else "unknown", f"{env.status}: {env.observation}")
    calls = [turn.agent_call, *turn.env_calls]
    started, ended = datetime.fromisoformat(calls[0].started_at), datetime.fromisoformat(calls[-1].ended_at)
    return ToolEvent(
        id=f"turn-{turn.index}",
        function=a.tool_name or "",
        arguments=a.parameters,
        view=view,
        result=(env.observation if env else "") + (f"\n\nstate updates: {updates}" if updates else ""),
        error=error,
        timestamp=started,
        completed=ended,
        working_time=(ended - started).total_seconds(),
        metadata={
            "toxpro_turn": turn.index,
            "tool_id": a.tool_id,
            "role": a.tool_role,
            "track": a.tool_track,
            "status": status,
            "state_updates": [u.model_dump(mode="json") for u in env.state_updates] if env else [],
        },
    )


def record_turn(turn: Turn) -> None:
    """Add the turn's tool event to the running sample's transcript."""
    event = tool_event(turn)
    if event is not None:
        transcript()._event(event)  # Inspect has no public call for a tool event its own tools did not make
