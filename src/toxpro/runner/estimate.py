"""Dry-run estimates: calls, tokens and cost a sweep would spend, before spending anything."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..models.prices import DEFAULT_PRICES
from ..scenario.conditions import FEEDBACK_TEXT
from ..scenario.shuffle import make_view
from ..simulate import prompts
from ..simulate.records import RunSettings
from ..store.sqlite import RunStore
from .budget import Budget, cost_usd, price_for
from .sweep import PlannedRun

CHARS_PER_TOKEN = 4
TYPICAL_TURNS = 6  # what runs of API models took in our pilots; the cap bounds the worst case
# Providers cache a prompt's prefix once it is this long (OpenAI: 1,024 tokens; DeepSeek caches
# shorter ones too, so this errs towards paying more). Cached prompt tokens are priced at the
# model's cached-input price (models/prices.py), at the full input price where it has none.
CACHE_MIN_TOKENS = 1024


@dataclass
class Estimate:
    planned: int
    todo: int
    typical_turns: int
    max_turns: int
    calls_typical: int = 0
    calls_worst: int = 0
    # role → [prompt tokens, completion tokens]
    tokens: dict[str, list[int]] = field(default_factory=lambda: {"agent": [0, 0], "environment": [0, 0]})
    tokens_worst: dict[str, list[int]] = field(default_factory=lambda: {"agent": [0, 0], "environment": [0, 0]})
    cached: dict[str, int] = field(default_factory=lambda: {"agent": 0, "environment": 0})  # of the prompt tokens
    usd: dict[str, float] = field(default_factory=lambda: {"agent": 0.0, "environment": 0.0})
    usd_worst: dict[str, float] = field(default_factory=lambda: {"agent": 0.0, "environment": 0.0})
    unpriced: list[str] = field(default_factory=list)
    runs_within_budget: int | None = None  # at typical spend, how many of the runs to do fit the caps
    budget_note: str = ""

    @property
    def total_tokens(self) -> int:
        return sum(sum(v) for v in self.tokens.values())

    @property
    def total_tokens_worst(self) -> int:
        return sum(sum(v) for v in self.tokens_worst.values())

    def format(self) -> str:
        if not self.todo:
            return f"{self.planned} runs planned, all already stored: nothing to spend."
        a, e = (sum(self.tokens[r]) for r in ("agent", "environment"))
        lines = [
            f"{self.planned} runs planned, {self.todo} to simulate ({self.planned - self.todo} stored).",
            f"calls ≈ {self.calls_typical:,} (typical {self.typical_turns} turns) and at most {self.calls_worst:,}",
            f"tokens ≈ agent {a:,} + environment {e:,} = {self.total_tokens:,} "
            f"(worst case at the turn cap {self.total_tokens_worst:,})",
        ]
        cached = sum(self.cached.values())
        if cached:
            lines.append(
                f"of the prompt tokens ≈ {cached:,} are repeated prefixes a provider's prompt cache serves "
                f"(agent {self.cached['agent']:,}, environment {self.cached['environment']:,}; "
                f"priced at cached-input rates)"
            )
        usd, worst = sum(self.usd.values()), sum(self.usd_worst.values())
        if worst:
            lines.append(
                f"cost ≈ ${usd:,.2f} (agent ${self.usd['agent']:,.2f} + environment "
                f"${self.usd['environment']:,.2f}); worst case ${worst:,.2f}"
            )
        if self.unpriced:
            lines.append(
                f"no price for {', '.join(self.unpriced)}: not counted in the cost "
                "(add `prices:` to the sweep file, USD per 1M tokens)"
            )
        if self.budget_note:
            lines.append(self.budget_note)
        return "\n".join(lines)


def _per_run(p: PlannedRun, settings: RunSettings, turns: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """((agent prompt, completion, cached prompt), (env prompt, completion, cached prompt)) for `turns` turns."""
    view = make_view(p.scenario, None)
    sys_a = len(prompts.agent_system(p.scenario, p.condition, view, settings.protocol)) // CHARS_PER_TOKEN
    open_a = len(prompts.agent_opening(p.scenario, p.condition)) // CHARS_PER_TOKEN
    sys_e = len(prompts.env_system(p.scenario, p.condition, FEEDBACK_TEXT[p.condition.feedback])) // CHARS_PER_TOKEN
    # a typical reply: a third of max_tokens, at most 300 tokens (reasoning tokens are not counted here)
    reply_a = min(settings.agent_sampling.max_tokens, 900) // 3
    reply_e = min(settings.env_sampling.max_tokens, 900) // 3
    if settings.agent_prompt == "paper":  # rebuilt each turn: the window holds at most history_window turns
        w = settings.history_window
        prompts_a = [sys_a + open_a + min(t, w) * (reply_a + reply_e) + max(0, t - w) * 40 for t in range(turns)]
        # only the standing modules repeat from call to call
        cached_a = (turns - 1) * sys_a if sys_a >= CACHE_MIN_TOKENS and turns > 1 else 0
    else:  # the conversation grows each turn: prompt t = base + t*(reply + observation)
        prompts_a = [sys_a + open_a + t * (reply_a + reply_e) for t in range(turns)]
        # each agent call repeats the previous one's prompt (append-only)
        cached_a = sum(prev for prev in prompts_a[:-1] if prev >= CACHE_MIN_TOKENS)
    # each environment call repeats its system prompt
    cached_e = (turns - 1) * sys_e if sys_e >= CACHE_MIN_TOKENS and turns > 1 else 0
    return (sum(prompts_a), turns * reply_a, cached_a), (turns * (sys_e + 200), turns * reply_e, cached_e)


def estimate_numbers(
    planned: list[PlannedRun], settings: RunSettings, store: RunStore, budget: Budget | None = None
) -> Estimate:
    done = store.done_ids()
    todo = [p for p in planned if p.run_id not in done]
    typical = min(TYPICAL_TURNS, settings.max_turns)
    est = Estimate(
        planned=len(planned),
        todo=len(todo),
        typical_turns=typical,
        max_turns=settings.max_turns,
        calls_typical=2 * typical * len(todo),
        calls_worst=2 * settings.max_turns * len(todo),
    )
    prices = budget.prices if budget is not None else dict(DEFAULT_PRICES)
    per_run_usd: list[dict[str, float]] = []
    per_run_tokens: list[dict[str, int]] = []
    cache: dict[tuple, tuple] = {}
    for p in todo:
        key = (id(p.scenario), p.condition.key)
        if key not in cache:
            cache[key] = (_per_run(p, settings, typical), _per_run(p, settings, settings.max_turns))
        (ta, te), (wa, we) = cache[key]
        run_usd = {"agent": 0.0, "environment": 0.0}
        for role, model, typ, worst in (("agent", p.agent_model, ta, wa), ("environment", p.env_model, te, we)):
            est.tokens[role][0] += typ[0]
            est.tokens[role][1] += typ[1]
            est.tokens_worst[role][0] += worst[0]
            est.tokens_worst[role][1] += worst[1]
            est.cached[role] += typ[2]
            if price_for(model, prices) is None:
                if model not in est.unpriced:
                    est.unpriced.append(model)
                continue
            c = cost_usd(model, typ[0], typ[1], prices, typ[2])
            est.usd[role] += c
            est.usd_worst[role] += cost_usd(model, worst[0], worst[1], prices, worst[2])
            run_usd[role] += c
        per_run_usd.append(run_usd)
        per_run_tokens.append({"agent": ta[0] + ta[1], "environment": te[0] + te[1]})
    if budget is not None and budget.active and todo:
        est.runs_within_budget, est.budget_note = _fit(budget, per_run_tokens, per_run_usd, len(todo))
    return est


def _fit(budget: Budget, tokens: list[dict[str, int]], usd: list[dict[str, float]], todo: int) -> tuple[int, str]:
    """How many of the runs to do fit under the caps at typical spend (after what is stored)."""
    spent_tok = dict(budget.spent_tokens)
    spent_usd = dict(budget.spent_usd)

    def over(spent: dict, caps: dict) -> bool:
        return any((sum(spent.values()) if k == "total" else spent.get(k, 0)) > cap for k, cap in caps.items())

    fit = 0
    for tok, cost in zip(tokens, usd):
        for role in ("agent", "environment"):
            spent_tok[role] = spent_tok.get(role, 0) + tok[role]
            spent_usd[role] = spent_usd.get(role, 0.0) + cost[role]
        if over(spent_tok, budget.tokens) or over(spent_usd, budget.usd):
            break
        fit += 1
    caps = [f"{k} {v:,} tokens" for k, v in budget.tokens.items()] + [f"{k} ${v:,.2f}" for k, v in budget.usd.items()]
    if fit >= todo:
        return fit, f"budget ({'; '.join(caps)}): the typical estimate fits"
    return fit, (
        f"budget ({'; '.join(caps)}): at the typical estimate the sweep stops after about {fit:,} of {todo:,} runs"
    )


def estimate(planned: list[PlannedRun], settings: RunSettings, store: RunStore, budget: Budget | None = None) -> str:
    return estimate_numbers(planned, settings, store, budget).format()
