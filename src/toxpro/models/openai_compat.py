"""Any OpenAI-compatible endpoint through the official `openai` SDK (SDK retries off; ours on).

The transport for hosted APIs (and for everything with `--transport sdk`). Self-hosted servers get
models/direct_http.py by default (`--transport auto`), which sends the same request without the
SDK's request pipeline, where the client's CPU per call matters (see benchmarks/RESULTS.md)."""

from __future__ import annotations

import time

import httpx2
import openai

from .base import ChatRequest, ChatResponse, ModelError
from .direct_http import _ssl_context, chat_with_retries, request_body, response_from_body, status_error
from .providers import api_key
from .retry import RetryableError, RetryPolicy, parse_retry_after
from .spec import ModelSpec

__all__ = ["OpenAICompatModel"]


def _classify(exc: Exception) -> Exception:
    if isinstance(exc, openai.APITimeoutError):
        return RetryableError(ModelError("timeout", "request timed out"))
    if isinstance(exc, openai.APIConnectionError):
        return RetryableError(ModelError("connection", f"connection failed: {type(exc.__cause__ or exc).__name__}"))
    if isinstance(exc, openai.APIStatusError):
        retry_after = parse_retry_after(exc.response.headers.get("retry-after")) if exc.response is not None else None
        return status_error(exc.status_code, str(exc.message), retry_after)
    return ModelError("other", f"{type(exc).__name__}: {exc}")


class OpenAICompatModel:
    def __init__(self, spec: ModelSpec, policy: RetryPolicy | None = None, max_connections: int = 256):
        self.spec = spec
        self.name = spec.raw
        self.endpoint = spec.base_url or spec.raw
        self.policy = policy or RetryPolicy()
        self._client = openai.AsyncOpenAI(
            api_key=api_key(spec),
            base_url=spec.base_url,
            max_retries=0,
            timeout=self.policy.timeout_s,
            http_client=httpx2.AsyncClient(
                limits=httpx2.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
                timeout=self.policy.timeout_s,
                verify=_ssl_context(),
            ),
        )

    async def _once(self, request: ChatRequest) -> ChatResponse:
        start = time.perf_counter()
        try:
            body = request_body(self.spec.model, request, merge_extra=False)
            if request.sampling.extra_body:
                body["extra_body"] = request.sampling.extra_body
            raw = await self._client.chat.completions.with_raw_response.create(**body)
            body_bytes = raw.http_response.content
        except (openai.APIError, httpx2.HTTPError) as exc:
            raise _classify(exc) from None
        # parsed once, as received (not through the SDK's response models)
        return response_from_body(body_bytes, time.perf_counter() - start)

    async def chat(self, request: ChatRequest) -> ChatResponse:
        return await chat_with_retries(self._once, request, self.policy)

    async def aclose(self) -> None:
        await self._client.close()
