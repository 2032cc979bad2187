"""An Inspect `Model` seen as a toxpro `ChatModel`, so toxpro's engine runs on Inspect's model layer
(Inspect's providers, retries, connection limits, cache, token limits and transcript)."""

from __future__ import annotations

import json
from typing import Any

from inspect_ai.event import ModelEvent
from inspect_ai.log import transcript
from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageTool,
    ChatMessageUser,
    ContentReasoning,
    GenerateConfig,
    Model,
    ModelOutput,
    ResponseSchema,
)
from inspect_ai.tool import ToolCall as InspectToolCall
from inspect_ai.tool import ToolInfo, ToolParams
from inspect_ai.util import JSONSchema, LimitExceededError

from ..models.base import ChatRequest, ChatResponse, ModelError, ToolCall, Usage
from ..models.providers import PROVIDERS
from ..models.reasoning import split_think

STOP_REASONS = {
    "max_tokens": "length",
    "model_length": "length",
    "tool_calls": "tool_calls",
    "stop": "stop",
    "content_filter": "content_filter",
}


def toxpro_name(model: Model) -> str:
    """The toxpro model string of an Inspect model, so runs made through Inspect get the run ids and seeds
    `toxpro run` gives the same endpoint: 'openai/gpt-4o' and 'openrouter/VENDOR/MODEL' are the same string in
    both; Inspect's 'openai-api/compat/M' at URL is toxpro's 'compat/M@URL'. Other providers keep Inspect's name."""
    text = str(model)
    provider, _, rest = text.partition("/")
    if provider == "openai-api" and "/" in rest:
        provider, _, rest = rest.partition("/")
    if provider not in PROVIDERS or not PROVIDERS[provider].remote:
        return text
    default_url = PROVIDERS[provider].base_url
    base_url = (getattr(model.api, "base_url", None) or "").rstrip("/")
    if base_url and base_url != (default_url or "").rstrip("/"):
        return f"{provider}/{rest}@{base_url}"
    return f"{provider}/{rest}"


def _tool_names(messages: list[dict[str, Any]]) -> dict[str, str]:
    names = {}
    for m in messages:
        for call in m.get("tool_calls") or []:
            names[call.get("id", "")] = call.get("function", {}).get("name", "")
    return names


def _arguments(text: str) -> tuple[dict[str, Any], str | None]:
    try:
        value = json.loads(text or "{}")
    except ValueError as exc:
        return {}, f"arguments are not JSON: {exc}"
    return (value, None) if isinstance(value, dict) else ({}, "arguments are not a JSON object")


def inspect_messages(messages: list[dict[str, Any]]) -> list[ChatMessage]:
    """toxpro's chat messages (OpenAI format) → Inspect chat messages."""
    names = _tool_names(messages)
    out: list[ChatMessage] = []
    for m in messages:
        role, content = m.get("role"), str(m.get("content") or "")
        if role == "system":
            out.append(ChatMessageSystem(content=content))
        elif role == "assistant":
            calls = []
            for call in m.get("tool_calls") or []:
                fn = call.get("function", {})
                args, problem = _arguments(fn.get("arguments", ""))
                calls.append(
                    InspectToolCall(
                        id=call.get("id", ""), function=fn.get("name", ""), arguments=args, parse_error=problem
                    )
                )
            out.append(ChatMessageAssistant(content=content, tool_calls=calls or None))
        elif role == "tool":
            call_id = m.get("tool_call_id", "")
            out.append(ChatMessageTool(content=content, tool_call_id=call_id, function=names.get(call_id)))
        else:
            out.append(ChatMessageUser(content=content))
    return out


def inspect_tools(request: ChatRequest) -> list[ToolInfo]:
    infos = []
    for spec in request.tools or []:
        params = spec.parameters or {}
        infos.append(
            ToolInfo(
                name=spec.name,
                description=spec.description,
                parameters=ToolParams(
                    properties={k: JSONSchema.model_validate(v) for k, v in (params.get("properties") or {}).items()},
                    required=list(params.get("required") or []),
                ),
            )
        )
    return infos


def generate_config(request: ChatRequest, response_schema: bool) -> GenerateConfig:
    """toxpro's sampling for this call (the run's seed included); Inspect's other settings still apply."""
    s = request.sampling
    fields: dict[str, Any] = {
        "temperature": s.temperature,
        "max_tokens": s.max_tokens,
        "top_p": s.top_p,
        "seed": s.seed,
        "reasoning_effort": getattr(s, "reasoning_effort", None),
    }
    if response_schema and request.json_schema is not None and not request.tools:
        fields["response_schema"] = ResponseSchema(
            name="reply", json_schema=JSONSchema.model_validate(request.json_schema), strict=False
        )
    return GenerateConfig(**{k: v for k, v in fields.items() if v is not None})


def chat_response(output: ModelOutput) -> ChatResponse:
    message = output.message
    reasoning = (
        [c.reasoning for c in message.content if isinstance(c, ContentReasoning)]
        if isinstance(message.content, list)
        else []
    )
    answer, think = split_think(message.text)
    calls = [
        ToolCall(id=c.id, name=c.function, arguments=json.dumps(c.arguments, ensure_ascii=False))
        for c in message.tool_calls or []
    ]
    usage = output.usage
    return ChatResponse(
        content=answer,
        reasoning="\n".join(r for r in [*reasoning, think] if r),
        tool_calls=calls,
        finish_reason=STOP_REASONS.get(output.stop_reason, output.stop_reason),
        usage=Usage(
            prompt_tokens=usage.input_tokens,
            completion_tokens=usage.output_tokens,
            cached_tokens=usage.input_tokens_cache_read or 0,
        )
        if usage
        else Usage(),
        latency_s=output.time or 0.0,
    )


class InspectChatModel:
    """A toxpro ChatModel that calls an Inspect Model; each call is one model event tagged with `role`."""

    def __init__(self, model: Model, role: str, name: str, response_schema: bool = False):
        self.model, self.role, self.name, self.endpoint = model, role, name, name
        self.response_schema = response_schema
        self.last_output: ModelOutput | None = None

    async def chat(self, request: ChatRequest) -> ChatResponse:
        tools = inspect_tools(request)
        try:
            output = await self.model.generate(
                inspect_messages(request.messages),
                tools=tools,
                tool_choice="any" if tools else None,
                config=generate_config(request, self.response_schema),
            )
        except LimitExceededError:
            raise  # Inspect ends the sample at its limit
        except Exception as exc:  # Inspect gave up (after its own retries): a failed call, stored as data
            raise ModelError(_kind(exc), f"{type(exc).__name__}: {exc}"[:2000]) from None
        self._tag_event()
        if output.error:
            raise ModelError("other", output.error[:2000])
        self.last_output = output
        return chat_response(output)

    def _tag_event(self) -> None:
        """The task's own model has no role in Inspect; name it, so every model event says whose call it was."""
        event = transcript().history.find_last(lambda e: isinstance(e, ModelEvent))
        if event is not None and event.role is None:
            event.role = self.role

    async def aclose(self) -> None:
        return None


def _kind(exc: Exception) -> str:
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    if status in (401, 403):
        return "auth"
    if status == 429:
        return "rate_limit"
    if isinstance(status, int) and status >= 500:
        return "server"
    if isinstance(status, int) and status >= 400:
        return "bad_request"
    name = type(exc).__name__.lower()
    if "timeout" in name:
        return "timeout"
    if "connection" in name:
        return "connection"
    return "other"
