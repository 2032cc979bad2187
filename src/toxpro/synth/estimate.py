"""Dry-run estimate of a synthesis request: calls, tokens and cost, before any call is made.

Prompt sizes are measured by rendering the real prompts with canned parts of typical size (the
scripted backend's content); replies are sized the same way. 'typical' assumes every gate passes on
its first score; 'at most' assumes every gate uses all its rounds (for compile: one part refined per
round)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..testing.synth import canned
from . import prompts
from .config import SynthConfig
from .cost import Price, cost_usd, format_cost
from .outputs import PART_MODELS, PART_STAGES, STAGES
from .pipeline import schema_in_prompt

CHARS_PER_TOKEN = 4
VERDICT_TOKENS = 90


@dataclass
class Tally:
    calls: int = 0
    prompt: int = 0
    completion: int = 0
    cost: float | None = 0.0

    def add(self, model: str, prompt: int, completion: int, prices: dict[str, Price], times: int = 1) -> None:
        self.calls += times
        self.prompt += prompt * times
        self.completion += completion * times
        c = cost_usd(model, prompt * times, completion * times, prices)
        self.cost = None if (c is None or self.cost is None) else self.cost + c

    def merge(self, other: Tally, times: int = 1) -> None:
        self.calls += other.calls * times
        self.prompt += other.prompt * times
        self.completion += other.completion * times
        self.cost = None if (other.cost is None or self.cost is None) else self.cost + other.cost * times


@dataclass
class Estimate:
    config: SynthConfig
    todo: int
    stored: int
    typical: dict[str, Tally] = field(default_factory=dict)
    worst: dict[str, Tally] = field(default_factory=dict)

    def total(self, which: dict[str, Tally]) -> Tally:
        t = Tally()
        for v in which.values():
            t.merge(v)
        return t

    def format_text(self) -> str:
        c = self.config
        models = ", ".join(f"{r} {c.model_for(r)}" for r in ("generator", "discriminator", "refiner"))
        lines = [
            f"synth dry run: {c.domain.value} x {c.motivation.value}, stakes {c.stakes}, n={c.n} "
            f"(seeds {c.seed}..{c.seed + c.n - 1}); {self.todo} to generate, {self.stored} already stored",
            f"models: {models}",
            "gates: " + ", ".join(f"{s} >= {c.gate(s).threshold} in {c.gate(s).rounds} round(s)" for s in STAGES),
            "stage      calls typical/at most   tokens typical / at most          cost typical / at most",
        ]
        for s in [*STAGES, *(["judge-check"] if "judge-check" in self.typical else [])]:
            a, b = self.typical[s], self.worst[s]
            lines.append(
                f"  {s:<9} {a.calls:>6} / {b.calls:<8} {a.prompt + a.completion:>12,} / "
                f"{b.prompt + b.completion:<14,} {format_cost(a.cost)} / {format_cost(b.cost)}"
            )
        a, b = self.total(self.typical), self.total(self.worst)
        lines.append(
            f"  {'total':<9} {a.calls:>6} / {b.calls:<8} {a.prompt + a.completion:>12,} / "
            f"{b.prompt + b.completion:<14,} {format_cost(a.cost)} / {format_cost(b.cost)}"
        )
        lines.append("(estimates from prompt sizes x rounds x n at ~4 characters per token; nothing was called)")
        return "\n".join(lines)


def _tokens(messages: list[dict[str, str]] | str) -> int:
    text = messages if isinstance(messages, str) else "".join(m["content"] for m in messages)
    return max(1, len(text) // CHARS_PER_TOKEN)


def estimate(config: SynthConfig, prices: dict[str, Price], stored: int = 0) -> Estimate:
    todo = max(0, config.n - stored)
    kw = {"domain": config.domain, "motivation": config.motivation, "stakes": config.stakes}
    gen, judge, ref = (config.model_for(r) for r in ("generator", "discriminator", "refiner"))
    ws = {m: schema_in_prompt(m) for m in (gen, judge, ref)}
    parts: dict[str, Any] = {}
    out = Estimate(config, todo, stored)
    for stage in PART_STAGES:
        body = canned(stage, config.domain.value, config.motivation.value, config.seed)
        obj = PART_MODELS[stage].model_validate(body)
        reply = min(_tokens(json.dumps(body)), config.gate(stage).max_tokens)
        p_gen = _tokens(
            prompts.generator(stage, seed=config.seed, parts=parts, avoid_titles=[], with_schema=ws[gen], **kw)
        )
        p_judge = _tokens(prompts.discriminator(stage, candidate=obj, parts=parts, with_schema=ws[judge], **kw))
        p_ref = _tokens(
            prompts.refiner(
                stage,
                candidate=obj,
                raw="",
                feedback="x" * 300,
                suggestion="x" * 200,
                parts=parts,
                with_schema=ws[ref],
                **kw,
            )
        )
        rounds = config.gate(stage).rounds
        typ, worst = Tally(), Tally()
        typ.add(gen, p_gen, reply, prices)
        typ.add(judge, p_judge, VERDICT_TOKENS, prices)
        worst.add(gen, p_gen, reply, prices)
        worst.add(judge, p_judge, VERDICT_TOKENS, prices, times=rounds + 1)
        worst.add(ref, p_ref, reply, prices, times=rounds)
        out.typical[stage], out.worst[stage] = typ, worst
        parts[stage] = obj
    scenario_like = {k: v.model_dump(mode="json") for k, v in parts.items()}
    p_judge = _tokens(
        prompts.discriminator("compile", candidate=scenario_like, parts=parts, with_schema=ws[judge], **kw)
    )
    p_ref = _tokens(
        prompts.refiner(
            "tools",
            candidate=parts["tools"],
            raw="",
            feedback="x" * 300,
            suggestion="",
            parts=parts,
            with_schema=ws[ref],
            **kw,
        )
    )
    reply = _tokens(json.dumps(scenario_like["tools"]))
    rounds = config.gate("compile").rounds
    typ, worst = Tally(), Tally()
    typ.add(judge, p_judge, VERDICT_TOKENS, prices)
    worst.add(judge, p_judge, VERDICT_TOKENS, prices, times=rounds + 1)
    worst.add(ref, p_ref, reply, prices, times=rounds)
    out.typical["compile"], out.worst["compile"] = typ, worst
    for which in (out.typical, out.worst):
        for stage, tally in which.items():
            scaled = Tally()
            scaled.merge(tally, times=todo)
            which[stage] = scaled
    if config.judge_check:  # once per request, before the candidates (free when already stored)
        from .judgecheck import _visible, known_bad, known_good

        check = Tally()
        for data in [*known_good().values(), *known_bad().values()]:
            check.add(
                judge,
                _tokens(
                    prompts.discriminator("compile", candidate=_visible(data), parts={}, with_schema=ws[judge], **kw)
                ),
                VERDICT_TOKENS,
                prices,
            )
        out.typical["judge-check"] = out.worst["judge-check"] = check
    return out


def finished_candidates(config: SynthConfig, out_dir: str | Path) -> int:
    """How many of the request's candidates OUT_DIR's synth.sqlite holds as finished (their calls are not
    estimated again); 0 without a store."""
    if not (Path(out_dir) / "synth.sqlite").exists():
        return 0
    from .store import SynthStore

    with SynthStore(out_dir) as store:
        ids = {config.candidate_id(i) for i in range(config.n)}
        return sum(
            1 for c in store.candidates() if c["id"] in ids and c["status"] in ("accepted", "rejected", "compiled")
        )
