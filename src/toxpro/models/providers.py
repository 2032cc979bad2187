"""The provider registry: one entry per provider (default base URL, key variable, how its ChatModel is built).

A new provider is one `Provider(...)` in PROVIDERS; only a provider that needs a new kind of client
also needs a new module (and a builder here). `build_model` (models/factory.py) is a lookup in this table."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .base import ModelError
from .retry import RetryPolicy

if TYPE_CHECKING:
    from .base import ChatModel
    from .spec import ModelSpec

TRANSPORTS = ("auto", "sdk", "direct")


@dataclass(frozen=True)
class BuildOptions:
    """What a build needs besides the spec: the role's slot (local contexts), the call policy
    (attempts, timeout, transport) and the scripted backend's simulated latency."""

    slot: str = "agent"
    policy: RetryPolicy | None = None
    scripted_latency_s: float = 0.0


def _http(spec: ModelSpec, options: BuildOptions) -> ChatModel:
    """An OpenAI-compatible endpoint: the openai SDK for hosted APIs, direct HTTP for self-hosted servers."""
    policy = options.policy or RetryPolicy()
    transport = (policy.transport or "auto").strip().lower() or "auto"
    if transport == "auto":
        transport = "direct" if self_hosted(spec) else "sdk"
    if transport == "direct":
        from .direct_http import DirectHTTPModel

        return DirectHTTPModel(spec, policy=options.policy)
    if transport != "sdk":
        raise ModelError("config", f"transport {transport!r}: use auto (default), sdk (the openai SDK) or direct")
    from .openai_compat import OpenAICompatModel

    return OpenAICompatModel(spec, policy=options.policy)


def _local(spec: ModelSpec, options: BuildOptions) -> ChatModel:
    from .local import LocalModel

    return LocalModel(spec, slot=options.slot)


def _scripted(spec: ModelSpec, options: BuildOptions) -> ChatModel:
    from .scripted import ScriptedModel

    return ScriptedModel(spec.model, latency_s=options.scripted_latency_s)


@dataclass(frozen=True)
class Provider:
    name: str
    build: Callable[[ModelSpec, BuildOptions], ChatModel]
    base_url: str | None = None  # default endpoint; None: the model string must give one (MODEL@URL)
    key_env: str | None = None  # environment variable holding the API key
    key_optional: bool = False  # a server of one's own: no key needed ("not-needed" is sent)
    self_hosted: bool = False  # the `auto` transport sends it requests directly (models/direct_http.py)
    remote: bool = True  # an HTTP endpoint (base URL, key); False for the in-process backends
    schema_by_grammar: bool = False  # decodes under the JSON-schema grammar (no schema needed in the prompt)


PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider("openai", _http, "https://api.openai.com/v1", "OPENAI_API_KEY"),
        Provider("openrouter", _http, "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
        Provider("together", _http, "https://api.together.xyz/v1", "TOGETHER_API_KEY"),
        Provider("deepseek", _http, "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
        Provider("vllm", _http, None, "VLLM_API_KEY", key_optional=True, self_hosted=True),
        Provider("ollama", _http, "http://localhost:11434/v1", None, key_optional=True, self_hosted=True),
        Provider("llamacpp", _http, "http://localhost:8080/v1", None, key_optional=True, self_hosted=True),
        Provider("compat", _http, None, "TOXPRO_API_KEY", key_optional=True, self_hosted=True),
        Provider("local", _local, remote=False, schema_by_grammar=True),  # llama-cpp-python in process
        Provider("scripted", _scripted, remote=False),  # deterministic test doubles
    )
}


def provider(name: str) -> Provider:
    return PROVIDERS[name]


def api_key(spec: ModelSpec) -> str:
    """The spec's API key from its environment variable; a ModelError('config') when a needed one is unset."""
    if spec.key_env and os.environ.get(spec.key_env):
        return os.environ[spec.key_env]
    if PROVIDERS[spec.provider].key_optional:
        return "not-needed"
    raise ModelError("config", f"model {spec.raw}: set the environment variable {spec.key_env} to your API key")


def self_hosted(spec: ModelSpec) -> bool:
    """A server of one's own (a self-hosted provider, or a loopback or private address)."""
    if PROVIDERS[spec.provider].self_hosted:
        return True
    host = urlsplit(spec.base_url or "").hostname or ""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private
