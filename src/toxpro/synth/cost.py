"""Token prices per model-string prefix (USD per million tokens) and cost accounting.

The table is small and will go stale: override or extend it with a JSON/YAML file mapping
PREFIX -> [input, output] (`--prices FILE`) or the TOXPRO_PRICES environment variable (same format,
inline JSON). The longest matching prefix wins; local and scripted models cost nothing; a model
with no matching prefix has an unknown cost (reported as such, never guessed)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml

Price = tuple[float, float]  # USD per 1M input tokens, per 1M output tokens

DEFAULT_PRICES: dict[str, Price] = {
    "local": (0.0, 0.0),
    "scripted": (0.0, 0.0),
    "ollama/": (0.0, 0.0),
    "llamacpp/": (0.0, 0.0),
    "openai/gpt-4o-mini": (0.15, 0.60),
    "openai/gpt-4o": (2.50, 10.00),
    "openai/gpt-4.1-nano": (0.10, 0.40),
    "openai/gpt-4.1-mini": (0.40, 1.60),
    "openai/gpt-4.1": (2.00, 8.00),
    "openai/gpt-5-mini": (0.25, 2.00),
    "openai/gpt-5-nano": (0.05, 0.40),
    "openai/gpt-5": (1.25, 10.00),
    "openai/o4-mini": (1.10, 4.40),
    "deepseek/": (0.27, 1.10),
    "openrouter/openai/gpt-4o-mini": (0.15, 0.60),
    "openrouter/google/gemini-2.5-flash": (0.30, 2.50),
    "openrouter/deepseek/": (0.27, 1.10),
    "together/": (0.60, 0.60),
}


class PriceError(ValueError):
    pass


def load_prices(path: str | Path | None = None, env: str | None = None) -> dict[str, Price]:
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
    for where, data in sources:
        if not isinstance(data, dict):
            raise PriceError(f"{where}: expected a mapping PREFIX -> [input_usd_per_1m, output_usd_per_1m]")
        for prefix, value in data.items():
            try:
                pin, pout = (float(v) for v in value)
            except (TypeError, ValueError):
                raise PriceError(f"{where}:{prefix}: expected [input_usd_per_1m, output_usd_per_1m]") from None
            table[str(prefix)] = (pin, pout)
    return table


def price_for(model: str, table: dict[str, Price] | None = None) -> Price | None:
    table = DEFAULT_PRICES if table is None else table
    matches = [p for p in table if model.startswith(p)]
    if not matches:
        return None
    return table[max(matches, key=len)]


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int,
             table: dict[str, Price] | None = None) -> float | None:
    price = price_for(model, table)
    if price is None:
        return None
    return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000


def format_cost(value: float | None) -> str:
    if value is None:
        return "unknown (no price for this model; see --prices)"
    return f"${value:.4f}"
