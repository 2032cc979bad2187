"""Build a ChatModel from a model string."""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

from .base import ChatModel
from .retry import RetryPolicy
from .spec import LOCAL, SCRIPTED, ModelSpec, parse_model


SELF_HOSTED = ("vllm", "ollama", "llamacpp", "compat")


def self_hosted(spec: ModelSpec) -> bool:
    """A server of one's own (a vLLM/Ollama/llama.cpp/compat provider, or a loopback or private address):
    the `auto` transport sends it requests directly (models/direct_http.py), hosted APIs through the SDK."""
    if spec.provider in SELF_HOSTED:
        return True
    host = urlsplit(spec.base_url or "").hostname or ""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private


def build_model(text: str | ModelSpec, slot: str = "agent", policy: RetryPolicy | None = None,
                scripted_latency_s: float = 0.0) -> ChatModel:
    spec = parse_model(text) if isinstance(text, str) else text
    if spec.provider == SCRIPTED:
        from .scripted import ScriptedModel

        return ScriptedModel(spec.model, latency_s=scripted_latency_s)
    if spec.provider == LOCAL:
        from .local import LocalModel

        return LocalModel(spec, slot=slot)
    transport = os.environ.get("TOXPRO_TRANSPORT", "auto").strip().lower() or "auto"
    if transport == "auto":
        transport = "direct" if self_hosted(spec) else "sdk"
    if transport == "direct":
        from .direct_http import DirectHTTPModel

        return DirectHTTPModel(spec, policy=policy)
    if transport != "sdk":
        from .base import ModelError

        raise ModelError("config", f"TOXPRO_TRANSPORT={transport!r}: use auto (default), sdk (the openai SDK) "
                                   "or direct")
    from .openai_compat import OpenAICompatModel

    return OpenAICompatModel(spec, policy=policy)
