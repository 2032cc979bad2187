"""Saved llama.cpp states for the embedded model: one context shared by roles and runs.

`PrefixStates` is llama-cpp-python's LlamaRAMCache (Llama looks up the saved state with the
longest common token prefix before a completion and saves one after it) with two changes: a saved
state that is a prefix of a newer one is dropped (a conversation's turn t is superseded by turn
t+1), and states are saved without the logits buffer. Llama.save_state copies `scores`, n_batch x
vocabulary floats (512 x 151,936 x 4 bytes = 311 MB for Qwen2.5) per call, although a restored
state is always re-decoded from its last token before sampling (`_requires_eval`), so those
logits are never read (with logits_all off, llama-cpp-python never reads that buffer):
`save_state_light` keeps one row and `load_state_light` does not fill it. A state then costs the KV cells it holds
(Qwen2.5-1.5B: 28 KB per token, 70 MB for a 2,500-token conversation)."""

from __future__ import annotations

import ctypes
from typing import Any

from llama_cpp import llama_cpp
from llama_cpp.llama import Llama, LlamaState
from llama_cpp.llama_cache import LlamaRAMCache


class PrefixStates(LlamaRAMCache):
    def __setitem__(self, key, value: LlamaState) -> None:
        key = tuple(key)
        for old in [k for k in self.cache_state if len(k) <= len(key) and key[: len(k)] == k]:
            del self.cache_state[old]
        self.cache_state[key] = value
        while self.cache_size > self.capacity_bytes and len(self.cache_state) > 1:
            self.cache_state.popitem(last=False)


def save_state_light(llm: Llama) -> LlamaState:
    """Llama.save_state without copying the logits buffer (one row kept; load_state broadcasts it)."""
    ctx = llm._ctx.ctx
    size = llama_cpp.llama_state_get_size(ctx)
    buffer = (ctypes.c_uint8 * int(size))()
    n_bytes = int(llama_cpp.llama_state_get_data(ctx, buffer, size))
    if n_bytes > int(size):
        raise RuntimeError("llama.cpp state larger than reported")
    return LlamaState(
        scores=llm.scores[:1].copy(),
        input_ids=llm.input_ids.copy(),
        n_tokens=llm.n_tokens,
        llama_state=ctypes.string_at(buffer, n_bytes),
        llama_state_size=n_bytes,
        seed=llm._seed,
    )


def load_state_light(llm: Llama, state: LlamaState) -> None:
    """Llama.load_state without filling the logits buffer: with logits_all off llama-cpp-python never
    reads it (sampling reads llama.cpp's own logits, refreshed by decoding the suffix)."""
    llm.input_ids = state.input_ids.copy()
    llm.n_tokens = state.n_tokens
    llm._requires_eval = True
    llm._seed = state.seed
    data = (ctypes.c_uint8 * state.llama_state_size).from_buffer_copy(state.llama_state)
    if llama_cpp.llama_state_set_data(llm._ctx.ctx, data, state.llama_state_size) != state.llama_state_size:
        raise RuntimeError("llama.cpp did not take the saved state")


def reset_perf(llm: Llama) -> None:
    llama_cpp.llama_perf_context_reset(llm._ctx.ctx)


def perf_counters(llm: Llama, wall_s: float) -> dict[str, Any]:
    """Where a call's time went: prompt tokens evaluated (not reused), prompt evaluation and
    generation time (llama.cpp's counters), and the rest (template, grammar, state save/restore)."""
    data = llama_cpp.llama_perf_context(llm._ctx.ctx)
    p_s, g_s = data.t_p_eval_ms / 1000, data.t_eval_ms / 1000
    return {
        "prompt_evaluated": int(data.n_p_eval),
        "prompt_eval_s": round(p_s, 3),
        "generated": int(data.n_eval),
        "generate_s": round(g_s, 3),
        "other_s": round(max(0.0, wall_s - p_s - g_s), 3),
    }
