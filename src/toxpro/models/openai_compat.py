"""Any OpenAI-compatible endpoint through the official SDK (SDK retries off; ours on)."""

from __future__ import annotations

import json
import os
import time

import httpx2
import openai

from .base import ChatRequest, ChatResponse, ModelError, ToolCall, Usage
from .reasoning import provider_reasoning, split_think
from .retry import RetryableError, RetryPolicy, parse_retry_after, with_retries
from .spec import ModelSpec

KEY_OPTIONAL = {"vllm", "ollama", "llamacpp", "compat"}


def _api_key(spec: ModelSpec) -> str:
    if spec.key_env and os.environ.get(spec.key_env):
        return os.environ[spec.key_env]
    if spec.provider in KEY_OPTIONAL:
        return "not-needed"
    raise ModelError("config", f"model {spec.raw}: set the environment variable {spec.key_env} to your API key")


def _classify(exc: Exception) -> Exception:
    if isinstance(exc, openai.APITimeoutError):
        return RetryableError(ModelError("timeout", "request timed out"))
    if isinstance(exc, openai.APIConnectionError):
        return RetryableError(ModelError("connection", f"connection failed: {type(exc.__cause__ or exc).__name__}"))
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        message = f"HTTP {status}: {str(exc.message)[:300]}"
        retry_after = parse_retry_after(exc.response.headers.get("retry-after")) if exc.response is not None else None
        if status == 429:
            return RetryableError(ModelError("rate_limit", message, status=status), retry_after)
        if status >= 500 or status in (408, 409):
            return RetryableError(ModelError("server", message, status=status), retry_after)
        if status in (401, 403):
            return ModelError("auth", message, status=status)
        return ModelError("bad_request", message, status=status)
    return ModelError("other", f"{type(exc).__name__}: {exc}")


class OpenAICompatModel:
    def __init__(self, spec: ModelSpec, policy: RetryPolicy | None = None, max_connections: int = 256):
        self.spec = spec
        self.name = spec.raw
        self.endpoint = spec.base_url or spec.raw
        self.policy = policy or RetryPolicy()
        self._client = openai.AsyncOpenAI(
            api_key=_api_key(spec),
            base_url=spec.base_url,
            max_retries=0,
            timeout=self.policy.timeout_s,
            http_client=httpx2.AsyncClient(
                limits=httpx2.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
                timeout=self.policy.timeout_s,
            ),
        )

    def _kwargs(self, request: ChatRequest) -> dict:
        s = request.sampling
        kwargs: dict = {"model": self.spec.model, "messages": request.messages, "max_tokens": s.max_tokens,
                        "temperature": s.temperature}
        if s.top_p is not None:
            kwargs["top_p"] = s.top_p
        if s.seed is not None:
            kwargs["seed"] = s.seed
        if request.tools:
            kwargs["tools"] = [
                {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
                for t in request.tools
            ]
            kwargs["tool_choice"] = "required"
        elif request.json_schema is not None:
            kwargs["response_format"] = {"type": "json_object"}
        return kwargs

    async def _once(self, request: ChatRequest) -> ChatResponse:
        start = time.perf_counter()
        try:
            raw = await self._client.chat.completions.with_raw_response.create(**self._kwargs(request))
            body_text = raw.http_response.text
            completion = raw.parse()
        except (openai.APIError, httpx2.HTTPError) as exc:
            raise _classify(exc) from None
        except (json.JSONDecodeError, ValueError) as exc:
            raise RetryableError(ModelError("server", f"unparseable response body: {exc}")) from None
        latency = time.perf_counter() - start
        if not getattr(completion, "choices", None):
            raise RetryableError(ModelError("server", "response has no choices"))
        choice = completion.choices[0]
        msg = choice.message
        answer, think = split_think(msg.content or "")
        reasoning = "\n".join(r for r in (provider_reasoning(msg), think) if r)
        calls = [
            ToolCall(id=c.id or "", name=c.function.name, arguments=c.function.arguments or "")
            for c in (msg.tool_calls or []) if getattr(c, "function", None)
        ]
        usage = completion.usage
        cached = getattr(getattr(usage, "prompt_tokens_details", None), "cached_tokens", 0) or 0
        try:
            raw_body = json.loads(body_text)
        except ValueError:
            raw_body = {"text": body_text}
        return ChatResponse(
            content=answer, reasoning=reasoning, tool_calls=calls, finish_reason=choice.finish_reason or "",
            usage=Usage(prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
                        completion_tokens=getattr(usage, "completion_tokens", 0) or 0, cached_tokens=cached),
            latency_s=latency, raw=raw_body,
        )

    async def chat(self, request: ChatRequest) -> ChatResponse:
        response, retries = await with_retries(lambda: self._once(request), self.policy)
        response.retries = retries
        return response

    async def aclose(self) -> None:
        await self._client.close()
