"""One small async chat interface shared by every backend."""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from ..core.errors import ToxproError

Message = dict[str, Any]


class Sampling(BaseModel):
    """Generation settings of one model call (per model in sweeps: see runner.config)."""

    temperature: float = Field(default=0.7, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int = Field(default=768, ge=1, le=200_000)
    seed: int | None = None
    send_seed: bool = True  # pass the seed to the provider (the paper's code sends none)
    json_mode: bool = True  # ask for a JSON object (response_format) when a schema is given
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None
    extra_body: dict[str, Any] = Field(default_factory=dict)  # provider-specific request fields


class ToolSpec(BaseModel):
    """A tool as offered to a model (OpenAI function format)."""

    id: str
    name: str
    description: str
    parameters: dict[str, Any]


class ChatRequest(BaseModel):
    messages: list[Message]
    sampling: Sampling = Field(default_factory=Sampling)
    json_schema: dict[str, Any] | None = None  # constrain the reply to this schema where supported
    tools: list[ToolSpec] | None = None  # native function calling when set
    oracle: dict[str, Any] = Field(default_factory=dict)  # hidden facts only scripted backends may read


class ToolCall(BaseModel):
    id: str = ""
    name: str
    arguments: str  # raw JSON text as the model produced it


class Usage(BaseModel):
    """Tokens of one call as the provider reported them (0 where it reports nothing)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # of prompt_tokens: served from the provider's prompt cache (or the local KV cache)
    reasoning_tokens: int = 0  # of completion_tokens: hidden reasoning

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class RetryCause(BaseModel):
    """One failed attempt of a call: why it failed (stored beside the retry count)."""

    kind: str  # rate_limit | server | timeout | connection | ...
    status: int | None = None  # HTTP status, when there was one
    message: str = ""


class ChatResponse(BaseModel):
    content: str = ""
    reasoning: str = ""  # reasoning/thinking kept apart from the answer
    tool_calls: list[ToolCall] = Field(default_factory=list)
    finish_reason: str = ""
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    retries: int = 0
    retry_causes: list[RetryCause] = Field(default_factory=list)  # each failed attempt before this reply
    raw: dict[str, Any] | None = None  # the provider's response body as received


ErrorKind = Literal["auth", "rate_limit", "server", "timeout", "connection", "bad_request", "config", "other"]


class ModelError(ToxproError):
    """A call that failed for good (after retries); stored as data, never raised past a run."""

    def __init__(self, kind: ErrorKind, message: str, retries: int = 0, status: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retries = retries
        self.status = status
        self.retry_causes: list[RetryCause] = []  # every failed attempt (set by the retry layer)


@runtime_checkable
class ChatModel(Protocol):
    name: str  # the model string it was built from (no secrets)
    endpoint: str  # concurrency-limit key

    async def chat(self, request: ChatRequest) -> ChatResponse: ...

    async def aclose(self) -> None: ...
