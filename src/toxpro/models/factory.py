"""Build a ChatModel from a model string."""

from __future__ import annotations

import os

from .base import ChatModel
from .retry import RetryPolicy
from .spec import LOCAL, SCRIPTED, ModelSpec, parse_model


def build_model(text: str | ModelSpec, slot: str = "agent", policy: RetryPolicy | None = None,
                scripted_latency_s: float = 0.0) -> ChatModel:
    spec = parse_model(text) if isinstance(text, str) else text
    if spec.provider == SCRIPTED:
        from .scripted import ScriptedModel

        return ScriptedModel(spec.model, latency_s=scripted_latency_s)
    if spec.provider == LOCAL:
        from .local import LocalModel

        return LocalModel(spec, slot=slot)
    transport = os.environ.get("TOXPRO_TRANSPORT", "sdk").strip().lower() or "sdk"
    if transport == "direct":
        from .direct_http import DirectHTTPModel

        return DirectHTTPModel(spec, policy=policy)
    if transport != "sdk":
        from .base import ModelError

        raise ModelError("config", f"TOXPRO_TRANSPORT={transport!r}: use sdk (the openai SDK, default) or direct")
    from .openai_compat import OpenAICompatModel

    return OpenAICompatModel(spec, policy=policy)
