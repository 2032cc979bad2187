"""Grammar-constrained sampling for the embedded model, in llama.cpp's own order.

llama-cpp-python puts the JSON-schema grammar first in its sampler chain, so every generated token
checks all 151,936 vocabulary entries of Qwen2.5 against the grammar (~35 ms a token on 2 cores:
most of a call's time beside prompt evaluation). llama.cpp's own tools (common/sampling.cpp) sample
from the chain first and check only the chosen token against the grammar; only when the grammar
rejects it is the whole vocabulary masked and the token sampled again. Each token then still
satisfies the grammar, and the chance of each allowed token is the same as with the grammar first
wherever the sampler keeps every token (temperature only); with top-k/top-p truncation the two
orders can truncate differently, as in llama.cpp itself. `lazy_grammar_sampling(llm)` makes a Llama
sample this way."""

from __future__ import annotations

import ctypes
import math
import weakref
from typing import Any

import numpy as np
from llama_cpp import llama_cpp
from llama_cpp.llama import Llama


class LazyGrammarSampler:
    """The chain (without grammar) and a grammar sampler beside it. llama-cpp-python calls only
    `sample` on its sampler (as LlamaSampler.sample: it samples and accepts the token)."""

    def __init__(self, llm: Llama, chain: Any, grammar: Any):
        self.chain = chain  # llama_cpp._internals.LlamaSampler
        vocab = llm._model.vocab
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(vocab))
        self.grammar = llama_cpp.llama_sampler_init_grammar(
            vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        weakref.finalize(self, llama_cpp.llama_sampler_free, self.grammar)
        self._data = (llama_cpp.llama_token_data * self.n_vocab)()
        self._view = np.ctypeslib.as_array(self._data)  # fields id, logit, p
        self._ids = np.arange(self.n_vocab, dtype=np.int32)
        self.sampled = self.rejected = 0  # tokens sampled, and those the grammar sent back to be sampled again

    def _candidates(self, ctx: Any, idx: int) -> llama_cpp.llama_token_data_array:
        logits = llama_cpp.llama_get_logits_ith(ctx.ctx, idx)
        self._view["id"] = self._ids
        self._view["logit"] = np.ctypeslib.as_array(logits, shape=(self.n_vocab,))
        self._view["p"] = 0.0
        return llama_cpp.llama_token_data_array(
            data=ctypes.cast(self._data, llama_cpp.llama_token_data_p), size=self.n_vocab, selected=-1, sorted=False
        )

    def _pick(self, sampler: Any, cur: llama_cpp.llama_token_data_array) -> int:
        llama_cpp.llama_sampler_apply(sampler, ctypes.byref(cur))
        if not 0 <= cur.selected < cur.size:
            raise RuntimeError("llama.cpp sampler selected no token")
        return int(cur.data[cur.selected].id)

    def _allowed(self, token: int) -> bool:
        one = (llama_cpp.llama_token_data * 1)(llama_cpp.llama_token_data(id=token, logit=1.0, p=0.0))
        cur = llama_cpp.llama_token_data_array(
            data=ctypes.cast(one, llama_cpp.llama_token_data_p), size=1, selected=-1, sorted=False
        )
        llama_cpp.llama_sampler_apply(self.grammar, ctypes.byref(cur))
        return not math.isinf(one[0].logit)

    def sample(self, ctx: Any, idx: int = -1) -> int:
        token = self._pick(self.chain.sampler, self._candidates(ctx, idx))
        self.sampled += 1
        if not self._allowed(token):  # mask the vocabulary by the grammar and sample again
            self.rejected += 1
            cur = self._candidates(ctx, idx)
            llama_cpp.llama_sampler_apply(self.grammar, ctypes.byref(cur))
            token = self._pick(self.chain.sampler, cur)
        llama_cpp.llama_sampler_accept(self.grammar, token)
        llama_cpp.llama_sampler_accept(self.chain.sampler, token)
        return token


def lazy_grammar_sampling(llm: Llama) -> None:
    """Make llm's completions sample grammar-constrained tokens in llama.cpp's order (see above)."""

    def init_sampler(*args: Any, grammar: Any = None, **kwargs: Any) -> Any:
        chain = Llama._init_sampler(llm, *args, grammar=None, **kwargs)
        return LazyGrammarSampler(llm, chain, grammar) if grammar is not None else chain

    llm._init_sampler = init_sampler  # type: ignore[method-assign]
