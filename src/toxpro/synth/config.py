"""What one synthesis request asks for: the cell, the models per role, the gates per stage."""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..core.errors import UserError
from ..models.base import Sampling
from ..scenario.schema import Domain, Motivation
from .outputs import STAGES

Stakes = Literal["high", "medium", "low"]
ROLES = ("generator", "discriminator", "refiner")


class SynthConfigError(UserError, ValueError):
    pass


class StageGate(BaseModel):
    model_config = ConfigDict(frozen=True)
    threshold: int = Field(default=7, ge=1, le=10, description="minimum discriminator score to pass")
    rounds: int = Field(default=2, ge=0, le=10, description="refinements allowed before the candidate is rejected")
    max_tokens: int = Field(default=1200, ge=32, description="generator/refiner reply budget")


DEFAULT_MAX_TOKENS = {"story": 1200, "evidence": 1400, "tools": 2400, "compile": 2400}


class SynthConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    domain: Domain
    motivation: Motivation
    stakes: Stakes = "high"
    n: int = Field(default=4, ge=1, le=1000)
    seed: int = 0
    generator: str = "local"
    discriminator: str | None = None  # default: the generator
    refiner: str | None = None  # default: the generator
    gates: dict[str, StageGate] = Field(
        default_factory=lambda: {s: StageGate(max_tokens=DEFAULT_MAX_TOKENS[s]) for s in STAGES}
    )
    temperature: float = 0.8
    judge_temperature: float = 0.0
    refine_temperature: float = 0.5
    verdict_max_tokens: int = Field(default=400, ge=32)
    cache: bool = True
    concurrency: int = Field(default=1, ge=1, le=64)
    judge_check: bool = Field(default=True, description="score known-good and known-bad scenarios before the run")
    judge_margin: float = Field(default=2.0, ge=0, le=9, description="mean score gap the judge must show")
    trust_judge: bool = Field(default=False, description="go on when the judge fails the check (recorded)")
    blind_judge: str | None = Field(default=None, description="model that guesses tool roles blind; gates on leaks")
    blind_max_correct: int = Field(default=4, ge=1, le=6, description="reject when the blind judge recovers this many")

    def model_for(self, role: str) -> str:
        if role == "discriminator":
            return self.discriminator or self.generator
        if role == "refiner":
            return self.refiner or self.generator
        return self.generator

    @property
    def self_judged(self) -> bool:
        return self.model_for("discriminator") == self.generator

    def gate(self, stage: str) -> StageGate:
        return self.gates.get(stage) or StageGate(max_tokens=DEFAULT_MAX_TOKENS[stage])

    def sampling(self, role: str, stage: str, seed: int) -> Sampling:
        if role == "discriminator":
            return Sampling(temperature=self.judge_temperature, max_tokens=self.verdict_max_tokens, seed=seed)
        temperature = self.temperature if role == "generator" else self.refine_temperature
        return Sampling(temperature=temperature, max_tokens=self.gate(stage).max_tokens, seed=seed)

    def candidate_seed(self, index: int) -> int:
        return self.seed + index

    def candidate_id(self, index: int) -> str:
        """Stable across runs: the same cell, seed, index and generator resume the same candidate."""
        key = {
            "domain": self.domain.value,
            "motivation": self.motivation.value,
            "stakes": self.stakes,
            "seed": self.candidate_seed(index),
            "generator": self.generator,
        }
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]

    def public(self) -> dict:
        """What goes into provenance: every parameter, model strings as given (they hold no secrets)."""
        data = self.model_dump(mode="json")
        data["models"] = {r: self.model_for(r) for r in ROLES}
        return data


def parse_domain(text: str) -> Domain:
    for d in Domain:
        if text.strip().lower() == d.value.lower():
            return d
    raise SynthConfigError(f"--domain {text!r}: choose one of {', '.join(d.value for d in Domain)}")


def parse_motivation(text: str) -> Motivation:
    t = text.strip().lower().replace("_", "-")
    if t in ("selfpres", "self-pres", "self-preservation", "selfpreservation"):
        return Motivation.self_preservation
    if t == "loyalty":
        return Motivation.loyalty
    raise SynthConfigError(f"--motivation {text!r}: choose loyalty or self-preservation")


def build_gates(
    threshold: int, rounds: int, overrides: list[str] | None = None, max_tokens: int | None = None
) -> dict[str, StageGate]:
    """Per-stage gates from the global threshold/rounds plus STAGE.threshold=N / STAGE.rounds=N overrides
    (also STAGE=N as a threshold, and STAGE.max_tokens=N)."""
    fields: dict[str, dict[str, int]] = {
        s: {"threshold": threshold, "rounds": rounds, "max_tokens": max_tokens or DEFAULT_MAX_TOKENS[s]} for s in STAGES
    }
    for item in overrides or []:
        key, sep, value = item.partition("=")
        stage, _, field = key.strip().partition(".")
        field = field or "threshold"
        if not sep or stage not in STAGES or field not in ("threshold", "rounds", "max_tokens"):
            raise SynthConfigError(
                f"--gate {item!r}: expected STAGE[.threshold|.rounds|.max_tokens]=N with STAGE one of "
                f"{', '.join(STAGES)}"
            )
        try:
            fields[stage][field] = int(value)
        except ValueError:
            raise SynthConfigError(f"--gate {item!r}: {value!r} is not an integer") from None
    try:
        return {s: StageGate(**f) for s, f in fields.items()}
    except ValueError as exc:
        raise SynthConfigError(f"--gate: {exc}") from None
