"""Token prices, one unit everywhere: US dollars per 1,000,000 tokens, keyed by model-string prefix.

A price is [input, output] or [input, output, cached_input]; cached input (prompt tokens a
provider served from its prompt cache, `Usage.cached_tokens`) costs cached_input where given and
the full input price otherwise. Reasoning tokens are billed as output (providers count them in
completion_tokens). The built-in table is small and goes stale: a sweep file's `prices:`, `--price`,
`toxpro synth --prices FILE` and the TOXPRO_PRICES environment variable (inline JSON) override or
extend it. The longest matching prefix wins; local and scripted models cost nothing; a model with
no matching prefix has an unknown cost (reported as such, never guessed)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NamedTuple

from ..core.errors import ToxproError

PER_TOKENS = 1_000_000
FREE_PROVIDERS = ("scripted/", "local/")


class Price(NamedTuple):
    input: float
    output: float
    cached_input: float | None = None  # None: cached prompt tokens cost the full input price

    @property
    def cached(self) -> float:
        return self.input if self.cached_input is None else self.cached_input


PriceLike = Price | tuple[float, ...] | list[float]

# Checked against the providers' price pages (2026); check yours before relying on a cap.
DEFAULT_PRICES: dict[str, Price] = {
    "local": Price(0.0, 0.0, 0.0),
    "scripted": Price(0.0, 0.0, 0.0),
    "ollama/": Price(0.0, 0.0, 0.0),
    "llamacpp/": Price(0.0, 0.0, 0.0),
    "openai/gpt-4o-mini": Price(0.15, 0.60, 0.075),
    "openai/gpt-4o": Price(2.50, 10.00, 1.25),
    "openai/gpt-4.1-nano": Price(0.10, 0.40, 0.025),
    "openai/gpt-4.1-mini": Price(0.40, 1.60, 0.10),
    "openai/gpt-4.1": Price(2.00, 8.00, 0.50),
    "openai/gpt-5-mini": Price(0.25, 2.00, 0.025),
    "openai/gpt-5-nano": Price(0.05, 0.40, 0.005),
    "openai/gpt-5": Price(1.25, 10.00, 0.125),
    "openai/o4-mini": Price(1.10, 4.40, 0.275),
    "deepseek/": Price(0.27, 1.10, 0.07),
    "openrouter/openai/gpt-4o-mini": Price(0.15, 0.60, 0.075),
    "openrouter/google/gemini-2.5-flash": Price(0.30, 2.50, 0.075),
    "openrouter/deepseek/": Price(0.27, 1.10, 0.07),
    "together/": Price(0.60, 0.60),
}


class PriceError(ToxproError, ValueError):
    pass


def as_price(value: Any, where: str = "price") -> Price:
    """[input, output] or [input, output, cached_input] (USD per 1M tokens, each >= 0) → Price."""
    if isinstance(value, Price):
        return value
    if isinstance(value, dict):
        value = [value.get("input"), value.get("output"), *([value["cached_input"]] if "cached_input" in value else [])]
    try:
        numbers = [float(v) for v in value]
    except (TypeError, ValueError):
        numbers = []
    if len(numbers) not in (2, 3):
        raise PriceError(f"{where}: expected [input, output] or [input, output, cached_input] in USD per 1M tokens")
    if any(n < 0 for n in numbers):
        raise PriceError(f"{where}: prices must be >= 0")
    return Price(*numbers)


def load_prices(
    path: str | Path | None = None, env: str | None = None, extra: dict[str, Any] | None = None
) -> dict[str, Price]:
    """The built-in table, then TOXPRO_PRICES (or env), then the file at path, then extra (later wins)."""
    import yaml

    table = dict(DEFAULT_PRICES)
    sources: list[tuple[str, object]] = []
    env_text = os.environ.get("TOXPRO_PRICES") if env is None else env
    if env_text:
        try:
            sources.append(("TOXPRO_PRICES", json.loads(env_text)))
        except ValueError as exc:
            raise PriceError(f"TOXPRO_PRICES: not JSON: {exc}") from None
    if path is not None:
        try:
            sources.append((str(path), yaml.safe_load(Path(path).read_text(encoding="utf-8"))))
        except (OSError, yaml.YAMLError) as exc:
            raise PriceError(f"{path}: cannot read prices: {exc}") from None
    if extra:
        sources.append(("prices", extra))
    for where, data in sources:
        if not isinstance(data, dict):
            raise PriceError(f"{where}: expected a mapping PREFIX -> [input, output(, cached_input)] per 1M tokens")
        for prefix, value in data.items():
            table[str(prefix)] = as_price(value, f"{where}:{prefix}")
    return table


def price_for(model: str, table: dict[str, PriceLike] | None = None) -> Price | None:
    table = DEFAULT_PRICES if table is None else table
    best = max((p for p in table if model.startswith(p)), key=len, default=None)
    if best is not None:
        return as_price(table[best], best)
    if model == "local" or model.startswith(FREE_PROVIDERS):
        return Price(0.0, 0.0, 0.0)
    return None


def cost_usd(
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
    table: dict[str, PriceLike] | None = None,
    cached_tokens: int = 0,
) -> float | None:
    """US dollars for one call (or a sum of calls); None when the model has no price."""
    price = price_for(model, table)
    if price is None:
        return None
    cached = min(max(cached_tokens, 0), prompt_tokens)
    return (
        (prompt_tokens - cached) * price.input + cached * price.cached + completion_tokens * price.output
    ) / PER_TOKENS


def format_cost(value: float | None) -> str:
    if value is None:
        return "unknown (no price for this model; see --prices)"
    return f"${value:.4f}"
