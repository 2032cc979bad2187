"""Spending caps for a sweep: tokens and US dollars, per role (agent, environment) or in total.

A sweep's spend counts the runs of its plan already stored and what dropped runs spent before
(kept in the store's meta as `budget_unstored`), so an interrupted sweep resumed with the same
caps does not get a fresh allowance, plus every call made now. When a cap is reached the sweep
starts no new run; in-flight runs are dropped at their next model call ("drop", the default: they
are not stored, so they run again once the cap is raised) or allowed to finish and be stored
("finish", which may overshoot the cap by what those runs spend). Calls already in flight when the
cap is reached always complete, so "drop" overshoots by at most those calls.

Prices are US dollars per 1,000 tokens, [input, output], keyed by model-string prefix; the longest
matching prefix wins. Scripted and local models cost nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ROLES = ("agent", "environment")
CAP_KEYS = (*ROLES, "total")
FREE_PROVIDERS = ("scripted/", "local/")
OnBudget = Literal["drop", "finish"]


class BudgetExhausted(Exception):
    """Raised instead of a model call once a cap is reached (never stored: the run is dropped)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def price_for(model: str, prices: dict[str, tuple[float, float]]) -> tuple[float, float] | None:
    """(usd per 1k input tokens, usd per 1k output tokens) for a model string; None when unknown."""
    best = max((k for k in prices if model.startswith(k)), key=len, default=None)
    if best is not None:
        return prices[best]
    if model == "local" or model.startswith(FREE_PROVIDERS):
        return (0.0, 0.0)
    return None


def unpriced(models: list[str], prices: dict[str, tuple[float, float]]) -> list[str]:
    return [m for m in dict.fromkeys(models) if price_for(m, prices) is None]


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int, prices: dict[str, tuple[float, float]]) -> float:
    p_in, p_out = price_for(model, prices) or (0.0, 0.0)
    return (prompt_tokens * p_in + completion_tokens * p_out) / 1000.0


@dataclass
class Budget:
    tokens: dict[str, int] = field(default_factory=dict)  # role | total → cap
    usd: dict[str, float] = field(default_factory=dict)
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)
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

    def charge(self, role: str, model: str, prompt_tokens: int, completion_tokens: int) -> None:
        self.spent_tokens[role] = self.spent_tokens.get(role, 0) + prompt_tokens + completion_tokens
        self.spent_usd[role] = self.spent_usd.get(role, 0.0) + cost_usd(model, prompt_tokens, completion_tokens,
                                                                         self.prices)
        if self.reason is None:
            self.reason = self._over()

    def charge_record_usage(self, agent_model: str, env_model: str, usage: dict) -> None:
        """Charge a stored run's usage (the record's `usage` object as a dict)."""
        self.charge("agent", agent_model, int(usage.get("agent_prompt") or 0), int(usage.get("agent_completion") or 0))
        self.charge("environment", env_model, int(usage.get("env_prompt") or 0), int(usage.get("env_completion") or 0))
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
