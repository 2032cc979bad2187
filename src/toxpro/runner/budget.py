"""Spending caps for a sweep: tokens and US dollars, per role (agent, environment) or in total.

A sweep's spend counts the runs of its plan already stored and what dropped runs spent before
(kept in the store's meta as `budget_unstored`), so an interrupted sweep resumed with the same
caps does not get a fresh allowance, plus every call made now. When a cap is reached the sweep
starts no new run; in-flight runs are dropped at their next model call ("drop", the default: they
are not stored, so they run again once the cap is raised) or allowed to finish and be stored
("finish", which may overshoot the cap by what those runs spend). Calls already in flight when the
cap is reached always complete, so "drop" overshoots by at most those calls.

Prices are those of models/prices.py: US dollars per 1M tokens, [input, output(, cached_input)],
keyed by model-string prefix (the built-in table, overridden by the sweep's `prices:`); the longest
matching prefix wins; prompt tokens served from a provider's cache are charged at the cached-input
price. Scripted and local models cost nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..core.errors import ToxproError
from ..models import prices as _prices
from ..models.prices import Price, PriceLike

ROLES = ("agent", "environment")
CAP_KEYS = (*ROLES, "total")
OnBudget = Literal["drop", "finish"]


class BudgetExhausted(ToxproError):
    """Raised instead of a model call once a cap is reached (never stored: the run is dropped)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def price_for(model: str, prices: dict[str, PriceLike]) -> Price | None:
    """The model's Price (USD per 1M tokens) in this table; None when unknown."""
    return _prices.price_for(model, prices)


def unpriced(models: list[str], prices: dict[str, PriceLike]) -> list[str]:
    return [m for m in dict.fromkeys(models) if price_for(m, prices) is None]


def cost_usd(
    model: str, prompt_tokens: int, completion_tokens: int, prices: dict[str, PriceLike], cached_tokens: int = 0
) -> float:
    """US dollars; 0 for a model without a price (the sweep refuses dollar caps for such models)."""
    return _prices.cost_usd(model, prompt_tokens, completion_tokens, prices, cached_tokens) or 0.0


@dataclass
class Budget:
    tokens: dict[str, int] = field(default_factory=dict)  # role | total → cap
    usd: dict[str, float] = field(default_factory=dict)
    prices: dict[str, PriceLike] = field(default_factory=lambda: dict(_prices.DEFAULT_PRICES))
    on_budget: OnBudget = "drop"
    spent_tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROLES, 0))
    spent_usd: dict[str, float] = field(default_factory=lambda: dict.fromkeys(ROLES, 0.0))
    reason: str | None = None  # set once a cap is reached

    @property
    def active(self) -> bool:
        return bool(self.tokens or self.usd)

    @property
    def exhausted(self) -> bool:
        return self.reason is not None

    def charge(self, role: str, model: str, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> None:
        """Token caps count every token (cached ones too); dollars price cached prompt tokens as cached."""
        self.spent_tokens[role] = self.spent_tokens.get(role, 0) + prompt_tokens + completion_tokens
        self.spent_usd[role] = self.spent_usd.get(role, 0.0) + cost_usd(
            model, prompt_tokens, completion_tokens, self.prices, cached_tokens
        )
        if self.reason is None:
            self.reason = self._over()

    def charge_record_usage(self, agent_model: str, env_model: str, usage: dict) -> None:
        """Charge a stored run's usage (the record's `usage` object as a dict)."""
        for role, model, key in (("agent", agent_model, "agent"), ("environment", env_model, "env")):
            self.charge(
                role,
                model,
                int(usage.get(f"{key}_prompt") or 0),
                int(usage.get(f"{key}_completion") or 0),
                int(usage.get(f"{key}_cached") or 0),
            )
        if usage.get("monitor_prompt") or usage.get("monitor_completion"):  # tokens only: the record names no price
            self.charge("monitor", "", int(usage.get("monitor_prompt") or 0), int(usage.get("monitor_completion") or 0))

    def _over(self) -> str | None:
        for key, cap in self.tokens.items():
            spent = sum(self.spent_tokens.values()) if key == "total" else self.spent_tokens.get(key, 0)
            if spent >= cap:
                return f"{key} token budget reached: {spent:,} ≥ {cap:,} tokens"
        for key, cap in self.usd.items():
            spent = sum(self.spent_usd.values()) if key == "total" else self.spent_usd.get(key, 0.0)
            if spent >= cap:
                return f"{key} cost budget reached: ${spent:,.4f} ≥ ${cap:,.4f}"
        return None

    def snapshot(self) -> dict:
        return {"tokens": dict(self.spent_tokens), "usd": dict(self.spent_usd)}

    def charge_snapshot(self, spent: dict) -> None:
        """Add spend recorded elsewhere (e.g. dropped runs of an earlier invocation)."""
        for role, n in (spent.get("tokens") or {}).items():
            self.spent_tokens[role] = self.spent_tokens.get(role, 0) + int(n)
        for role, usd in (spent.get("usd") or {}).items():
            self.spent_usd[role] = self.spent_usd.get(role, 0.0) + float(usd)
        if self.reason is None:
            self.reason = self._over()

    def check(self) -> None:
        """Before a model call: raise BudgetExhausted when the cap is reached and in-flight runs are dropped."""
        if self.reason is not None and self.on_budget == "drop":
            raise BudgetExhausted(self.reason)

    def summary(self) -> str:
        tokens = " · ".join(f"{r} {self.spent_tokens.get(r, 0):,}" for r in ROLES)
        usd = sum(self.spent_usd.values())
        return f"spent tokens: {tokens}; cost ${usd:,.4f}"
