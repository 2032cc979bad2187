"""Model strings: 'provider/model[@base_url]' → a typed spec. Keys only from environment variables."""

from __future__ import annotations

from ..core.errors import UserError

from pydantic import BaseModel

PROVIDERS: dict[str, tuple[str | None, str | None]] = {
    # provider: (default base URL, environment variable holding the key)
    "openai": ("https://api.openai.com/v1", "OPENAI_API_KEY"),
    "openrouter": ("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    "together": ("https://api.together.xyz/v1", "TOGETHER_API_KEY"),
    "deepseek": ("https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
    "vllm": (None, "VLLM_API_KEY"),
    "ollama": ("http://localhost:11434/v1", None),
    "llamacpp": ("http://localhost:8080/v1", None),
    "compat": (None, "TOXPRO_API_KEY"),
}
LOCAL = "local"
SCRIPTED = "scripted"


class ModelSpecError(UserError, ValueError):
    pass


class ModelSpec(BaseModel):
    raw: str
    provider: str
    model: str
    base_url: str | None = None
    key_env: str | None = None

    @property
    def is_remote(self) -> bool:
        return self.provider not in (LOCAL, SCRIPTED)


def parse_model(text: str) -> ModelSpec:
    """'openai/gpt-4o', 'openrouter/google/gemini-3-flash-preview', 'vllm/Qwen/Qwen3-8B@http://h:8000/v1',
    'local/qwen2.5-coder-1.5b', 'local' (the default embedded model), 'scripted/always-direct'."""
    text = text.strip()
    if not text:
        raise ModelSpecError("empty model string")
    if text == LOCAL:
        text = "local/qwen2.5-coder-1.5b"
    provider, sep, rest = text.partition("/")
    provider = provider.lower()
    if not sep or not rest:
        raise ModelSpecError(f"model {text!r}: expected PROVIDER/MODEL, e.g. openai/gpt-4o or local/qwen2.5-coder-1.5b")
    if provider == SCRIPTED:
        from .scripted import parse_policy

        if rest.partition(":")[0] not in ("judge", "synth"):  # the judge and synth doubles parse their own
            parse_policy(rest)  # an unknown policy fails here, before any call
        return ModelSpec(raw=text, provider=provider, model=rest)
    if provider == LOCAL:
        return ModelSpec(raw=text, provider=provider, model=rest)
    if provider not in PROVIDERS:
        raise ModelSpecError(f"model {mask_url(text)!r}: unknown provider {provider!r}; known: {', '.join([*PROVIDERS, LOCAL, SCRIPTED])}")
    model, at, url = rest.partition("@")
    default_url, key_env = PROVIDERS[provider]
    base_url = url if at else default_url
    if not base_url:
        raise ModelSpecError(f"model {mask_url(text)!r}: provider {provider!r} needs a base URL, e.g. {provider}/MODEL@http://host:8000/v1")
    if not model.strip():
        raise ModelSpecError(f"model {mask_url(text)!r}: empty model name; expected {provider}/MODEL")
    check_base_url(base_url, f"model {mask_url(text)!r}")
    return ModelSpec(raw=text, provider=provider, model=model, base_url=base_url.rstrip("/"), key_env=key_env)


def mask_url(text: str) -> str:
    """The text with any user:password@ in a URL masked (for error messages)."""
    from urllib.parse import urlsplit

    head, at, url = text.partition("@http") if "@http" in text else ("", "", text)
    url = ("http" + url) if at else url
    try:
        parts = urlsplit(url)
        if parts.password is not None or parts.username is not None:
            url = url.replace(parts.netloc.rpartition("@")[0] + "@", "***@", 1)
    except ValueError:
        pass
    return f"{head}@{url}" if at else url


def check_base_url(url: str, what: str) -> None:
    """Reject a base URL that no call could reach: bad scheme, no host, bad port, spaces, broken IPv6."""
    from urllib.parse import urlsplit

    shown = mask_url(url)
    if not url.startswith(("http://", "https://")):
        raise ModelSpecError(f"{what}: base URL {shown!r} must start with http:// or https://")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise ModelSpecError(f"{what}: base URL {shown!r} contains a space or control character")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError when out of range or not a number
    except ValueError as exc:
        raise ModelSpecError(f"{what}: base URL {shown!r} is not a valid URL ({exc})") from None
    if not parts.hostname:
        raise ModelSpecError(f"{what}: base URL {shown!r} has no host")
    if port == 0:
        raise ModelSpecError(f"{what}: base URL {shown!r}: port 0 is not a port a server listens on")
