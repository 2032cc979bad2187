"""Token prices and cost accounting for synthesis: the shared table of models/prices.py
(USD per 1M tokens, [input, output(, cached_input)], by model-string prefix), as for `toxpro run`."""

from __future__ import annotations

from ..models.prices import DEFAULT_PRICES, Price, PriceError, cost_usd, format_cost, load_prices, price_for

__all__ = ["DEFAULT_PRICES", "Price", "PriceError", "cost_usd", "format_cost", "load_prices", "price_for"]
