"""Response cache: identical requests (model, messages, sampling, schema) are answered from SQLite."""

from __future__ import annotations

import hashlib
import json

from ..models.base import ChatModel, ChatRequest, ChatResponse
from .store import SynthStore


def cache_key(model_name: str, request: ChatRequest) -> str:
    body = {
        "model": model_name,
        "messages": request.messages,
        "sampling": request.sampling.model_dump(mode="json"),
        "schema": request.json_schema,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


async def cached_chat(store: SynthStore | None, model: ChatModel, request: ChatRequest) -> tuple[ChatResponse, bool]:
    """(response, served_from_cache). Without a store every call goes to the model."""
    if store is None:
        return await model.chat(request), False
    key = cache_key(model.name, request)
    hit = store.cache_get(key)
    if hit is not None:
        return ChatResponse.model_validate(hit), True
    response = await model.chat(request)
    body = response.model_dump(mode="json")
    body["raw"] = None  # the provider body can be large; content, usage and finish reason are what is reused
    store.cache_put(key, model.name, body)
    return response, False
