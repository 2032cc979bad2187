"""The embedded local model: llama-cpp-python in process, JSON-schema-constrained decoding.

One llama.cpp model and context per weights file, shared by every role that uses those weights
(agent and environment load the file once). Calls on it are serialised by one lock. Each role's
conversations keep their KV cache through a prefix-state cache (`PrefixStates`, a LlamaRAMCache):
after every call the context's state (KV cache and token ids) is saved under the tokens it holds,
and a call starts from the saved state with the longest common token prefix. So the agent's
append-only conversation continues where its last turn ended, even when environment calls (or
other runs) used the context in between, and the stable system prompts of a scenario's roles are
evaluated once for all of its runs. `timings` in each call's raw record say how many prompt tokens
were evaluated and how long prompt evaluation and generation took."""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import threading
import time
from typing import Any

from .base import ChatRequest, ChatResponse, ModelError, ToolCall, Usage
from .reasoning import split_think
from .spec import ModelSpec
from .weights import WeightsError, resolve_weights

_CONTEXTS: dict[tuple[str, int], tuple[Any, threading.Lock]] = {}
LOAD_SECONDS: dict[tuple[str, int], float] = {}  # model load time per context (benchmarks print it)
_CONTEXTS_LOCK = threading.Lock()
_GRAMMARS: dict[str, Any] = {}


def close_all() -> None:
    """Free every llama.cpp context (also at exit, before the interpreter tears modules down)."""
    with _CONTEXTS_LOCK:
        for llm, _ in _CONTEXTS.values():
            try:
                llm.close()
            except Exception:  # pragma: no cover - best effort at shutdown
                pass
        _CONTEXTS.clear()


atexit.register(close_all)


def _threads() -> int:
    return int(os.environ.get("TOXPRO_THREADS") or os.cpu_count() or 1)


def _cache_bytes() -> int:
    return int(float(os.environ.get("TOXPRO_KV_CACHE_MB") or 1024) * 2**20)


def _context(path: str, n_ctx: int):
    key = (path, n_ctx)
    with _CONTEXTS_LOCK:
        if key not in _CONTEXTS:
            try:
                from llama_cpp import Llama
            except ImportError:
                raise ModelError(
                    "config",
                    "the embedded model needs llama-cpp-python: pip install 'toxpro[local]' "
                    "(scripts/install_local.sh builds and caches it)",
                ) from None
            from .local_states import PrefixStates, load_state_light, save_state_light

            start = time.perf_counter()
            llm = Llama(
                model_path=path,
                n_ctx=n_ctx,
                n_threads=_threads(),
                n_threads_batch=_threads(),
                n_batch=512,
                verbose=False,
                seed=0,
            )
            LOAD_SECONDS[key] = time.perf_counter() - start
            if os.environ.get("TOXPRO_GRAMMAR_SAMPLING", "lazy") != "full":  # full: llama-cpp-python's own order
                from .local_sampling import lazy_grammar_sampling

                lazy_grammar_sampling(llm)
            # the KV state without the (unread) 300 MB logits buffer; logits_all stays off
            llm.save_state = lambda: save_state_light(llm)
            llm.load_state = lambda state: load_state_light(llm, state)
            llm.set_cache(PrefixStates(_cache_bytes()))
            _CONTEXTS[key] = (llm, threading.Lock())
        return _CONTEXTS[key]


def _grammar(schema: dict[str, Any]):
    from llama_cpp import LlamaGrammar

    key = json.dumps(schema, sort_keys=True)
    if key not in _GRAMMARS:  # keep the schema's own property order: it is the order of generation
        _GRAMMARS[key] = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
    return _GRAMMARS[key]


def tool_call_schema(request: ChatRequest, max_str: int = 300) -> dict[str, Any]:
    """Native-tools protocol emulated with a grammar: {"name": one of the tools, "arguments": {...}}."""
    from .schema_bounds import bound_strings

    options = [
        {
            "type": "object",
            "properties": {"name": {"const": t.name}, "arguments": bound_strings(t.parameters, max_str)},
            "required": ["name", "arguments"],
            "additionalProperties": False,
        }
        for t in request.tools or []
    ]
    return {"anyOf": options}


class LocalModel:
    def __init__(self, spec: ModelSpec, slot: str = "agent", n_ctx: int = 8192):
        try:
            path, self.source = resolve_weights(spec.model)
        except WeightsError as exc:
            raise ModelError("config", str(exc)) from None
        self.path = str(path)
        self.name = spec.raw
        self.endpoint = f"local:{self.path}:{slot}"
        self.slot = slot
        self.n_ctx = n_ctx

    def _generate(self, request: ChatRequest) -> ChatResponse:
        llm, lock = _context(self.path, self.n_ctx)
        schema = tool_call_schema(request) if request.tools else request.json_schema
        s = request.sampling
        from .local_states import perf_counters, reset_perf

        with lock:
            start = time.perf_counter()
            reset_perf(llm)
            try:
                out = llm.create_chat_completion(
                    messages=[_plain(m) for m in request.messages],
                    temperature=s.temperature,
                    top_p=s.top_p if s.top_p is not None else 0.95,
                    max_tokens=min(s.max_tokens, self.n_ctx // 4),  # the grammar bounds replies anyway
                    seed=s.seed,
                    grammar=_grammar(schema) if schema else None,
                )
            except ValueError as exc:  # e.g. prompt longer than the context
                raise ModelError("bad_request", f"llama.cpp: {exc}") from None
            latency = time.perf_counter() - start
            timings = perf_counters(llm, latency)
        choice = out["choices"][0]
        answer, reasoning = split_think(choice["message"].get("content") or "")
        usage = out.get("usage") or {}
        prompt = usage.get("prompt_tokens", 0)
        out["timings"] = timings
        response = ChatResponse(
            content=answer,
            reasoning=reasoning,
            finish_reason=choice.get("finish_reason") or "",
            # cached: prompt tokens taken from a saved KV state instead of evaluated
            usage=Usage(
                prompt_tokens=prompt,
                completion_tokens=usage.get("completion_tokens", 0),
                cached_tokens=max(0, prompt - timings["prompt_evaluated"]),
            ),
            latency_s=latency,
            raw=out,
        )
        if request.tools:
            try:
                call = json.loads(answer)
                response.tool_calls = [
                    ToolCall(
                        id="call_0", name=str(call.get("name", "")), arguments=json.dumps(call.get("arguments", {}))
                    )
                ]
                response.content = ""
            except (ValueError, AttributeError):
                pass  # left as content: the engine records a protocol error
        return response

    async def chat(self, request: ChatRequest) -> ChatResponse:
        return await asyncio.to_thread(self._generate, request)

    async def aclose(self) -> None:
        return None


def _plain(message: dict[str, Any]) -> dict[str, Any]:
    """llama.cpp chat templates take role/content; tool turns become plain text."""
    role = message.get("role")
    content = message.get("content") or ""
    if role == "tool":
        return {"role": "user", "content": f"Tool result: {content}"}
    if role == "assistant" and message.get("tool_calls"):
        calls = [
            {"name": c["function"]["name"], "arguments": c["function"]["arguments"]} for c in message["tool_calls"]
        ]
        return {"role": "assistant", "content": json.dumps(calls[0] if len(calls) == 1 else calls)}
    return {"role": role, "content": content}
