"""Per-endpoint concurrency and requests-per-minute limits."""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager


class _Rate:
    """Spaces request starts evenly: at most `rpm` starts in any minute."""

    def __init__(self, rpm: float):
        self.interval = 60.0 / rpm
        self.next_at = 0.0
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self.lock:
            now = time.monotonic()
            delay = self.next_at - now
            self.next_at = max(now, self.next_at) + self.interval
        if delay > 0:
            await asyncio.sleep(delay)


class EndpointLimits:
    def __init__(
        self,
        default_concurrency: int = 8,
        concurrency: dict[str, int] | None = None,
        rpm: dict[str, float] | None = None,
    ):
        self.default_concurrency = default_concurrency
        self.concurrency = dict(concurrency or {})
        self.rpm = dict(rpm or {})
        self._sems: dict[str, asyncio.Semaphore] = {}
        self._rates: dict[str, _Rate] = {}

    def _match(self, table: dict, endpoint: str):
        return next((v for k, v in table.items() if k == endpoint or k in endpoint), None)

    @asynccontextmanager
    async def slot(self, endpoint: str):
        if endpoint not in self._sems:
            limit = self._match(self.concurrency, endpoint) or self.default_concurrency
            if endpoint.startswith("local:"):
                limit = 1  # one llama.cpp context computes one thing at a time
            self._sems[endpoint] = asyncio.Semaphore(limit)
            rpm = self._match(self.rpm, endpoint)
            if rpm:
                self._rates[endpoint] = _Rate(rpm)
        async with self._sems[endpoint]:
            if endpoint in self._rates:
                await self._rates[endpoint].wait()
            yield
