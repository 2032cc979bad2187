"""Model strings: 'provider/model[@base_url]' → a typed spec, parsed once. Keys only from environment variables.

The spec is what every stage passes on: provider, model, base URL (the provider's default unless the
string gives one) and the key variable, from the registry (models/providers.py); a sweep adds the
agent's display name and the model's own generation settings (`with_tags`)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, ConfigDict

from ..core.errors import UserError
from .generation import Generation
from .providers import PROVIDERS

LOCAL = "local"
SCRIPTED = "scripted"
DOUBLES = ("judge", "synth")  # scripted/judge[:...] and scripted/synth[:...]: the judge and synth test doubles


class ModelSpecError(UserError, ValueError):
    pass


class ModelSpec(BaseModel):
    model_config = ConfigDict(frozen=True)  # shared: parse_model returns one spec per model string
    raw: str  # the model string (normalised): what runs, ids and the store name the model by
    provider: str
    model: str
    base_url: str | None = None
    key_env: str | None = None
    url_given: bool = False  # the string named its endpoint (MODEL@URL)
    double: str | None = None  # scripted/judge or scripted/synth: which test double (None: a scripted policy)
    # run data a sweep attaches (not part of the model string): display name, family, reasoning
    name: str | None = None
    family: str | None = None
    reasoning: bool = False
    generation: Generation | None = None  # this model's own generation settings, wherever it plays

    @property
    def is_remote(self) -> bool:
        return PROVIDERS[self.provider].remote

    @property
    def schema_by_grammar(self) -> bool:
        """The backend decodes under the JSON-schema grammar, so prompts need not spell the schema out."""
        return PROVIDERS[self.provider].schema_by_grammar

    @property
    def unbound(self) -> str:
        """The model string without its endpoint URL ('compat/x@http://h:1234/v1' → 'compat/x')."""
        return self.raw.split("@", 1)[0]

    def tags(self) -> tuple[str | None, str | None, bool]:
        return self.name, self.family, self.reasoning

    def with_tags(
        self,
        name: str | None = None,
        family: str | None = None,
        reasoning: bool = False,
        generation: Generation | None = None,
    ) -> ModelSpec:
        return self.model_copy(
            update={"name": name, "family": family, "reasoning": reasoning, "generation": generation}
        )


@lru_cache(maxsize=4096)
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

        double = rest.partition(":")[0]
        if double not in DOUBLES:  # the judge and synth doubles parse their own
            parse_policy(rest)  # an unknown policy fails here, before any call
        return ModelSpec(raw=text, provider=provider, model=rest, double=double if double in DOUBLES else None)
    if provider == LOCAL:
        return ModelSpec(raw=text, provider=provider, model=rest)
    if provider not in PROVIDERS or not PROVIDERS[provider].remote:
        raise ModelSpecError(f"model {mask_url(text)!r}: unknown provider {provider!r}; known: {', '.join(PROVIDERS)}")
    model, at, url = rest.partition("@")
    default_url, key_env = PROVIDERS[provider].base_url, PROVIDERS[provider].key_env
    base_url = url if at else default_url
    if not base_url:
        raise ModelSpecError(
            f"model {mask_url(text)!r}: provider {provider!r} needs a base URL, e.g. {provider}/MODEL@http://host:8000/v1"
        )
    if not model.strip():
        raise ModelSpecError(f"model {mask_url(text)!r}: empty model name; expected {provider}/MODEL")
    check_base_url(base_url, f"model {mask_url(text)!r}")
    return ModelSpec(
        raw=text, provider=provider, model=model, base_url=base_url.rstrip("/"), key_env=key_env, url_given=bool(at)
    )


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
