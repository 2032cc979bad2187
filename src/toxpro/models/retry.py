"""The one retry layer: exponential backoff with jitter, honouring Retry-After."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC
from typing import TypeVar

from pydantic import BaseModel
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_random_exponential

from ..core.errors import ToxproError
from .base import ModelError, RetryCause

T = TypeVar("T")
RETRYABLE = frozenset({"rate_limit", "server", "timeout", "connection"})


class RetryPolicy(BaseModel):
    """The call policy of a model: attempts and backoff, the timeout of each attempt, and the transport
    of OpenAI-compatible endpoints; passed to every build (models/providers.py), Ray workers included."""

    max_attempts: int = 4  # the first try and 3 retries (--retries)
    base_s: float = 1.0
    max_wait_s: float = 30.0
    max_retry_after_s: float = 120.0
    timeout_s: float = 60.0  # per attempt (--timeout)
    transport: str = "auto"  # auto: direct HTTP for self-hosted servers, the SDK for hosted APIs; sdk; direct


class RetryableError(ToxproError):
    def __init__(self, error: ModelError, retry_after_s: float | None = None):
        super().__init__(error.message)
        self.error = error
        self.retry_after_s = retry_after_s


def _wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    backoff = wait_random_exponential(multiplier=policy.base_s, max=policy.max_wait_s)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableError) and exc.retry_after_s is not None:
            return min(max(exc.retry_after_s, 0.0), policy.max_retry_after_s)
        return backoff(state)

    return wait


def _cause(error: ModelError) -> RetryCause:
    return RetryCause(kind=error.kind, status=error.status, message=error.message[:300])


async def with_retries(
    call: Callable[[], Awaitable[T]], policy: RetryPolicy, causes: list[RetryCause] | None = None
) -> tuple[T, int]:
    """Run `call`; it raises RetryableError for transient faults, ModelError for final ones.

    Returns (result, retries); `causes` (when given) receives the cause of each failed attempt.
    Raises ModelError carrying the retry count and the causes when attempts run out."""
    causes = [] if causes is None else causes
    try:  # the common case, a first attempt that succeeds, without building tenacity's retry loop
        return await call(), 0
    except RetryableError as exc:
        causes.append(_cause(exc.error))
        first: RetryableError | None = exc
    except ModelError as exc:
        exc.retries, exc.retry_causes = 0, [*causes, _cause(exc)]
        raise
    attempts = 0
    try:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(policy.max_attempts),
            wait=_wait(policy),
            retry=retry_if_exception(lambda e: isinstance(e, RetryableError)),
            reraise=True,
        ):
            with attempt:
                attempts += 1
                if first is not None:  # attempt 1 (above) failed: tenacity waits and counts from it
                    failed, first = first, None
                    raise failed
                try:
                    return await call(), attempts - 1
                except RetryableError as exc:
                    causes.append(_cause(exc.error))
                    raise
    except RetryableError as exc:
        err = exc.error
        final = ModelError(err.kind, f"{err.message} (gave up after {attempts} attempts)", attempts - 1, err.status)
        final.retry_causes = causes
        raise final from None
    except ModelError as exc:
        exc.retries = attempts - 1
        exc.retry_causes = [*causes, _cause(exc)]
        raise
    raise AssertionError("unreachable")


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        from datetime import datetime
        from email.utils import parsedate_to_datetime

        try:
            return (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None
