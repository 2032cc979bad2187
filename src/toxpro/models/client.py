"""The one wrapper every model call goes through: concurrency and rate limits per endpoint
(models/limits.py), budget checks and usage charges, and the calls in flight. Retries and timeouts
are the transport's, under the call policy (models/retry.py) the model was built with.

Runs (runner/sweep.py), the action monitor, judges (judge/run.py) and synthesis calls all go through
`LimitedModel`; the budget is anything with `check()` (raises to refuse a call) and
`charge(role, model, prompt_tokens, completion_tokens, cached_tokens)` (runner/budget.Budget)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from .base import ChatModel, ChatRequest, ChatResponse
from .limits import EndpointLimits


class Meter(Protocol):
    def check(self) -> None: ...

    def charge(
        self, role: str, model: str, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0
    ) -> None: ...


class CallTracker:
    """Model calls in flight and when each started (for progress lines)."""

    def __init__(self) -> None:
        self._started: dict[int, float] = {}
        self._next = 0

    @contextmanager
    def call(self) -> Iterator[None]:
        self._next += 1
        key = self._next
        self._started[key] = time.monotonic()
        try:
            yield
        finally:
            self._started.pop(key, None)

    @property
    def in_flight(self) -> int:
        return len(self._started)

    @property
    def oldest_s(self) -> float:
        return time.monotonic() - min(self._started.values()) if self._started else 0.0


class LimitedModel:
    """A model whose calls share its endpoint's concurrency and rate limits, and a budget when given."""

    def __init__(
        self,
        model: ChatModel,
        limits: EndpointLimits,
        role: str = "agent",
        budget: Meter | None = None,
        tracker: CallTracker | None = None,
    ):
        self.model, self.limits, self.role, self.budget = model, limits, role, budget
        self.tracker = tracker or CallTracker()
        self.name, self.endpoint = model.name, model.endpoint

    async def chat(self, request: ChatRequest) -> ChatResponse:
        if self.budget is None:
            async with self.limits.slot(self.endpoint):
                with self.tracker.call():
                    return await self.model.chat(request)
        self.budget.check()
        async with self.limits.slot(self.endpoint):
            self.budget.check()  # the cap may have been reached while this call waited for a slot
            with self.tracker.call():
                response = await self.model.chat(request)
        u = response.usage
        self.budget.charge(self.role, self.name, u.prompt_tokens, u.completion_tokens, u.cached_tokens)
        return response

    async def aclose(self) -> None:
        await self.model.aclose()
