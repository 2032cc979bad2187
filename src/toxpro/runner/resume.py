"""Resume a run at its last checkpointed turn: the models answer the calls those turns made from
the recorded replies, in order, then the live models take over. No finished turn is requested again."""

from __future__ import annotations

from collections import deque

from ..models.base import ChatModel, ChatRequest, ChatResponse, ModelError
from ..simulate.records import CallRecord, Turn


class Resumed:
    """A ChatModel whose first calls are answered from recorded call records."""

    def __init__(self, live: ChatModel, records: list[CallRecord]):
        self.live = live
        self.name, self.endpoint = live.name, live.endpoint
        self.pending = deque(records)
        self.replayed = 0

    async def chat(self, request: ChatRequest) -> ChatResponse:
        if not self.pending:
            return await self.live.chat(request)
        record = self.pending.popleft()
        self.replayed += 1
        if record.response is None:  # the recorded call failed for good: it fails the same way
            err = record.error
            raise ModelError(
                err.kind if err else "other",
                err.message if err else "recorded failure",
                err.retries if err else 0,
                err.status if err else None,
            )
        return record.response.model_copy(deep=True)

    async def aclose(self) -> None:
        return None  # the live model is shared; its owner closes it


def resumed_models(turns: list[Turn], agent: ChatModel, env: ChatModel, monitor: ChatModel | None):
    """(agent, environment, monitor) answering the checkpointed turns' calls first."""
    agent_calls = [t.agent_call for t in turns]
    env_calls = [c for t in turns for c in t.env_calls]
    monitor_calls = [c for t in turns if getattr(t, "monitor", None) is not None for c in t.monitor.calls]
    return (
        Resumed(agent, agent_calls),
        Resumed(env, env_calls),
        Resumed(monitor, monitor_calls) if monitor is not None else None,
    )
