"""The direct transport: OpenAI-compatible endpoints without the SDK's request pipeline.

The default for self-hosted servers (`--transport auto`, models/providers.self_hosted); hosted APIs
use the official SDK (models/openai_compat.py). This one sends the same request (JSON body, Bearer
auth) and maps statuses to the same errors and messages, but skips the SDK's request pipeline
(option models, a TypedDict transform of every message, telemetry headers: ~0.7 ms of CPU per call)
and httpx2's client layer: calls go through aiohttp, whose C parser and keep-alive pool cost a third
of httpcore2's per-request CPU (benchmarks/RESULTS.md, issue 13). When a proxy is configured in the
environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY) calls go through httpx2's client, which honours it
(and NO_PROXY) exactly as the SDK would."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import time
import zlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import httpx2

from ..core.canonical import compact_json
from .base import ChatRequest, ChatResponse, ModelError, ToolCall, Usage
from .providers import api_key
from .reasoning import provider_reasoning, split_think
from .retry import RetryableError, RetryPolicy, parse_retry_after, with_retries
from .spec import ModelSpec

try:  # the SDK's own User-Agent, without importing the SDK (~0.5 s)
    USER_AGENT = f"AsyncOpenAI/Python {version('openai')}"
except PackageNotFoundError:  # pragma: no cover
    USER_AGENT = "AsyncOpenAI/Python"


def _status_message(response: httpx2.Response | _Reply) -> str:
    """The SDK's APIStatusError message: 'Error code: 429 - <error.message>'."""
    message = f"Error code: {response.status_code}"
    try:
        body = json.loads(response.text.strip())
    except ValueError:
        return message
    error = body.get("error", body) if isinstance(body, dict) else None
    text = error.get("message") if isinstance(error, dict) else None
    return f"{message} - {text}" if isinstance(text, str) and text else message


class _Reply:
    """What the status-error path needs of a response: status, headers, text."""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], content: bytes):
        self.status_code = status
        self.headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in headers}
        self.content = content

    @property
    def text(self) -> str:
        return _decoded(self).decode("utf-8", errors="replace")


def _decoded(reply: _Reply) -> bytes:
    """Undo a gzip/deflate Content-Encoding (none is asked for, but a server may send one)."""
    encoding = reply.headers.get("content-encoding", "").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        try:
            return zlib.decompress(reply.content, 47 if encoding != "deflate" else zlib.MAX_WBITS)
        except zlib.error:
            return zlib.decompress(reply.content, -zlib.MAX_WBITS) if encoding == "deflate" else reply.content
    return reply.content


def _proxied() -> bool:
    return any(os.environ.get(v) or os.environ.get(v.lower()) for v in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"))


def _classify_status(response: httpx2.Response | _Reply) -> Exception:
    return status_error(
        response.status_code, _status_message(response), parse_retry_after(response.headers.get("retry-after"))
    )


def status_error(status: int, text: str, retry_after: float | None) -> Exception:
    """HTTP status → retryable (429, 5xx, 408, 409) or final error, as for every transport."""
    message = f"HTTP {status}: {text[:300]}"
    if status == 429:
        return RetryableError(ModelError("rate_limit", message, status=status), retry_after)
    if status >= 500 or status in (408, 409):
        return RetryableError(ModelError("server", message, status=status), retry_after)
    if status in (401, 403):
        return ModelError("auth", message, status=status)
    return ModelError("bad_request", message, status=status)


def _classify(exc: Exception) -> Exception:
    """Transport failures → retryable ModelErrors (kinds and messages as the SDK-based client had)."""
    if isinstance(exc, (httpx2.TimeoutException, TimeoutError)):  # aiohttp's timeouts are TimeoutErrors
        return RetryableError(ModelError("timeout", "request timed out"))
    if isinstance(exc, (httpx2.HTTPError, aiohttp.ClientError)):
        return RetryableError(ModelError("connection", f"connection failed: {type(exc).__name__}"))
    return ModelError("other", f"{type(exc).__name__}: {exc}")


@functools.cache
def _ssl_context():
    """One default SSL context per process (building one loads the CA bundle: ~80 ms)."""
    return httpx2.create_ssl_context()


class _Msg:
    """A response message dict seen through provider_reasoning's attribute/model_extra lens."""

    def __init__(self, message: dict):
        self.model_extra = message


def _parse_body(body: Any) -> tuple[str, str, list[ToolCall], str, Usage]:
    """(content, reasoning, tool calls, finish reason, usage) from a chat.completion body."""
    choices = body.get("choices") if isinstance(body, dict) else None
    if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
        raise RetryableError(ModelError("server", "response has no choices"))
    choice = choices[0]
    msg = choice.get("message")
    msg = msg if isinstance(msg, dict) else {}
    content = msg.get("content")
    answer, think = split_think(content if isinstance(content, str) else "")
    reasoning = "\n".join(r for r in (provider_reasoning(_Msg(msg)), think) if r)
    calls = []
    for c in msg.get("tool_calls") or []:
        fn = c.get("function") if isinstance(c, dict) else None
        if fn:
            calls.append(ToolCall(id=c.get("id") or "", name=fn.get("name"), arguments=fn.get("arguments") or ""))
    return answer, reasoning, calls, choice.get("finish_reason") or "", usage_of(body.get("usage"))


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def usage_of(usage: Any) -> Usage:
    """A body's `usage`: prompt-cache hits from prompt_tokens_details.cached_tokens (OpenAI, OpenRouter,
    vLLM) or prompt_cache_hit_tokens (DeepSeek); reasoning from completion_tokens_details.reasoning_tokens."""
    usage = usage if isinstance(usage, dict) else {}
    prompt_details = usage.get("prompt_tokens_details")
    completion_details = usage.get("completion_tokens_details")
    cached = _count(prompt_details.get("cached_tokens")) if isinstance(prompt_details, dict) else 0
    cached = cached or _count(usage.get("prompt_cache_hit_tokens"))
    reasoning = _count(completion_details.get("reasoning_tokens")) if isinstance(completion_details, dict) else 0
    return Usage(
        prompt_tokens=_count(usage.get("prompt_tokens")),
        completion_tokens=_count(usage.get("completion_tokens")),
        cached_tokens=cached,
        reasoning_tokens=reasoning,
    )


def response_from_body(body: bytes, latency: float) -> ChatResponse:
    """A chat.completion body (bytes as received) → ChatResponse; both transports parse it this way."""
    try:
        # bytes: JSON is UTF-8 (RFC 8259); json, as orjson would turn integers beyond 64 bits into floats
        raw_body = json.loads(body)
    except ValueError as exc:
        raise RetryableError(ModelError("server", f"unparseable response body: {exc}")) from None
    answer, reasoning, calls, finish, usage = _parse_body(raw_body)
    return ChatResponse(
        content=answer,
        reasoning=reasoning,
        tool_calls=calls,
        finish_reason=finish,
        usage=usage,
        latency_s=latency,
        raw=raw_body,
    )


async def chat_with_retries(once, request: ChatRequest, policy: RetryPolicy) -> ChatResponse:
    """One call through the retry layer, the retry count recorded on the response."""
    causes: list = []
    response, retries = await with_retries(lambda: once(request), policy, causes)
    response.retries, response.retry_causes = retries, causes
    return response


def request_body(model: str, request: ChatRequest, merge_extra: bool = True) -> dict:
    """The chat.completions request body, the same for both transports (the SDK takes the
    provider-specific fields apart, as extra_body)."""
    s = request.sampling
    kwargs: dict = {
        "model": model,
        "messages": request.messages,
        "max_tokens": s.max_tokens,
        "temperature": s.temperature,
    }
    if s.top_p is not None:
        kwargs["top_p"] = s.top_p
    if s.seed is not None and s.send_seed:
        kwargs["seed"] = s.seed
    if s.reasoning_effort:
        kwargs["reasoning_effort"] = s.reasoning_effort
    if request.tools:
        kwargs["tools"] = [
            {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
            for t in request.tools
        ]
        kwargs["tool_choice"] = "required"
    elif request.json_schema is not None and s.json_mode:
        kwargs["response_format"] = {"type": "json_object"}
    return {**kwargs, **s.extra_body} if s.extra_body and merge_extra else kwargs


def _without_userinfo(url: str) -> str:
    """The URL without user:password@ (the key goes in the Bearer header; aiohttp refuses both)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2])) if "@" in parts.netloc else url


class DirectHTTPModel:
    """Calls go through one aiohttp session (C HTTP parser, asyncio-native keep-alive pool: ~0.4 ms
    of client CPU per request against httpcore2's 1.3 ms, benchmarks/RESULTS.md), or through httpx2's
    client when a proxy is configured. A session belongs to the event loop that made it: a call from
    another loop opens a new one."""

    def __init__(self, spec: ModelSpec, policy: RetryPolicy | None = None, max_connections: int = 256):
        self.spec = spec
        self.name = spec.raw
        self.endpoint = spec.base_url or spec.raw
        self.policy = policy or RetryPolicy()
        self.max_connections = max_connections
        self._url = _without_userinfo(f"{spec.base_url}/chat/completions")
        self._headers = {
            "Authorization": f"Bearer {api_key(spec)}",
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._send = self._send_httpx if _proxied() else self._send_aiohttp

    def _session(self):
        """This loop's client (aiohttp session or, behind a proxy, httpx2 client), made on first use."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            if isinstance(self._client, aiohttp.ClientSession):
                self._client.detach()  # its loop is gone: its connections cannot be closed from here
            t = self.policy.timeout_s
            if self._send == self._send_aiohttp:
                self._client = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(  # a plain-HTTP server needs no CA bundle (~80 ms to load)
                        limit=self.max_connections,
                        limit_per_host=0,
                        ssl=_ssl_context() if self._url.startswith("https:") else True,
                        keepalive_timeout=5.0,
                    ),
                    timeout=aiohttp.ClientTimeout(total=None, connect=t, sock_connect=t, sock_read=t),
                    cookie_jar=aiohttp.DummyCookieJar(),
                    auto_decompress=False,  # _decoded undoes a Content-Encoding, as for every path
                    skip_auto_headers=("Accept-Encoding",),
                )
            else:  # httpx2 resolves the environment's proxies (and NO_PROXY) as the SDK would
                self._client = httpx2.AsyncClient(
                    limits=httpx2.Limits(
                        max_connections=self.max_connections, max_keepalive_connections=self.max_connections
                    ),
                    timeout=t,
                    verify=_ssl_context(),
                )
            self._loop = loop
        return self._client

    async def _send_aiohttp(self, session, body: bytes) -> _Reply:
        async with session.post(self._url, data=body, headers=self._headers) as r:
            content = await r.read()
            return _Reply(r.status, list(r.raw_headers), content)

    async def _send_httpx(self, client, body: bytes) -> _Reply:
        r = await client.post(self._url, content=body, headers=self._headers)  # decodes any Content-Encoding
        return _Reply(
            r.status_code,
            [
                (k.encode("latin-1"), v.encode("latin-1"))
                for k, v in r.headers.items()
                if k.lower() != "content-encoding"
            ],
            r.content,
        )

    async def _once(self, request: ChatRequest) -> ChatResponse:
        body = compact_json(request_body(self.spec.model, request))
        client = self._session()
        start = time.perf_counter()
        try:
            reply = await self._send(client, body)
        except (TimeoutError, httpx2.HTTPError, aiohttp.ClientError) as exc:
            raise _classify(exc) from None
        latency = time.perf_counter() - start
        if not 200 <= reply.status_code < 300:
            raise _classify_status(reply)
        return response_from_body(_decoded(reply), latency)

    async def chat(self, request: ChatRequest) -> ChatResponse:
        return await chat_with_retries(self._once, request, self.policy)

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await (client.close() if isinstance(client, aiohttp.ClientSession) else client.aclose())
