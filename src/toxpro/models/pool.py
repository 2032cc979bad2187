"""The one worker pool: runs, judges and synthesis candidates are worked off by a bounded number of
asyncio workers, in the order given.

Each worker takes the next item until none is left or `stop()` says so (a budget cap); workers start
`stagger_s` apart. When one worker raises (a crash, an interrupt), the others are cancelled and the
error propagates: nothing more is started or finished after it."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


async def run_pool(
    items: Iterable[T],
    work: Callable[[T], Awaitable[object]],
    workers: int,
    *,
    stagger_s: float = 0.0,
    stop: Callable[[], bool] | None = None,
) -> list[T]:
    """Await work(item) for each item, at most `workers` at a time; returns the items left unstarted."""
    queue = deque(items)

    async def worker(k: int) -> None:
        if k and stagger_s:
            await asyncio.sleep(k * stagger_s)
        while queue and not (stop is not None and stop()):
            await work(queue.popleft())

    tasks = [asyncio.ensure_future(worker(k)) for k in range(max(1, min(workers, len(queue))))]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return list(queue)
