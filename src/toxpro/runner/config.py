"""Sweep configuration from command-line flags or a sweep YAML file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..models.base import Sampling
from ..models.spec import parse_model
from ..scenario.loader import NoAliasLoader
from ..scenario.conditions import Condition, grid, one_at_a_time, parse_assignments
from ..simulate.records import RunSettings
from ..models.prices import DEFAULT_PRICES
from .budget import CAP_KEYS, Budget, unpriced


class SweepConfigError(ValueError):
    pass


class SweepConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    out: str = "experiments/default"
    scenarios: list[str] = Field(default_factory=list)
    agents: list[str] = Field(default_factory=lambda: ["local"])
    envs: list[str] = Field(default_factory=list)
    conditions: list[str] = Field(default_factory=list)
    paired: bool = False
    repeats: int = Field(default=1, ge=1)
    seed: int = 0
    concurrency: int = Field(default=8, ge=1)
    limits: dict[str, int] = Field(default_factory=dict)
    rpm: dict[str, float] = Field(default_factory=dict)
    protocol: Literal["json", "tools"] = "json"
    memory: Literal["stateless", "full"] = "stateless"
    max_turns: int = Field(default=20, ge=1, le=200)
    shuffle: bool = True
    agent_sampling: Sampling = Field(default_factory=Sampling)
    env_sampling: Sampling = Field(default_factory=lambda: Sampling(temperature=0.3, max_tokens=512))
    budget_tokens: dict[str, int] = Field(default_factory=dict)  # role (agent|environment|total) → max tokens
    budget_usd: dict[str, float] = Field(default_factory=dict)  # role (agent|environment|total) → max US$
    # model prefix → [in, out(, cached in)] US$ per 1M tokens, over the built-in table (models/prices.py)
    prices: dict[str, tuple[float, float] | tuple[float, float, float]] = Field(default_factory=dict)
    on_budget: Literal["drop", "finish"] = "drop"  # what in-flight runs do when a cap is reached
    executor: Literal["async", "ray"] = "async"
    # remote endpoints: auto = direct HTTP for self-hosted servers, the openai SDK for hosted APIs
    transport: Literal["auto", "sdk", "direct"] = "auto"
    ray_address: str | None = None  # an existing Ray cluster; default: start a local one
    replay_from: str | None = None  # an experiment directory whose environment replies are replayed

    @field_validator("budget_usd", mode="before")
    @classmethod
    def _usd_scalar(cls, value):
        return {"total": value} if isinstance(value, (int, float)) and not isinstance(value, bool) else value

    @field_validator("budget_tokens", "budget_usd")
    @classmethod
    def _cap_roles(cls, value: dict) -> dict:
        bad = [k for k in value if k not in CAP_KEYS]
        if bad:
            raise ValueError(f"unknown budget role(s) {', '.join(map(repr, bad))}; use {', '.join(CAP_KEYS)}")
        if any(v <= 0 for v in value.values()):
            raise ValueError("budgets must be positive")
        return value

    @field_validator("prices")
    @classmethod
    def _prices_positive(cls, value: dict) -> dict:
        for prefix, price in value.items():
            if any(p < 0 for p in price):
                raise ValueError(f"price for {prefix!r}: prices must be ≥ 0")
        return value

    def price_table(self) -> dict:
        """The built-in prices with this sweep's own over them."""
        return {**DEFAULT_PRICES, **self.prices}

    @model_validator(mode="after")
    def _priced(self) -> "SweepConfig":
        if self.budget_usd:
            missing = unpriced([*self.agents, *self.resolved_envs()], self.price_table())
            if missing:
                raise ValueError(f"budget_usd needs a price for every model; none matches {', '.join(missing)} "
                                 "(add prices: {MODEL_PREFIX: [USD_PER_1M_IN, USD_PER_1M_OUT]})")
        return self

    @field_validator("agents", "envs")
    @classmethod
    def _models_parse(cls, value: list[str]) -> list[str]:
        return [parse_model(v).raw for v in value]

    @field_validator("conditions")
    @classmethod
    def _conditions_parse(cls, value: list[str]) -> list[str]:
        parse_assignments(value)
        return value

    def resolved_envs(self) -> list[str]:
        if self.envs:
            return self.envs
        return ["scripted/env"] if all(a.startswith("scripted/") for a in self.agents) else [self.agents[0]]

    def condition_list(self) -> list[Condition]:
        if self.paired:
            names = list(parse_assignments(self.conditions)) or None
            return one_at_a_time(names)
        return grid(self.conditions) if self.conditions else [Condition()]

    def budget(self) -> Budget:
        return Budget(tokens=dict(self.budget_tokens), usd=dict(self.budget_usd), prices=self.price_table(),
                      on_budget=self.on_budget)

    def settings(self) -> RunSettings:
        return RunSettings(protocol=self.protocol, memory=self.memory, max_turns=self.max_turns,
                           shuffle_tools=self.shuffle, agent_sampling=self.agent_sampling,
                           env_sampling=self.env_sampling)


def _pairs(items: list[str], what: str, cast) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.rpartition("=")
        if not sep or not key:
            raise SweepConfigError(f"--{what} {item!r}: expected ENDPOINT=NUMBER")
        try:
            out[key] = cast(value)
        except ValueError:
            raise SweepConfigError(f"--{what} {item!r}: {value!r} is not a number") from None
    return out


def _usd(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        key, sep, value = item.rpartition("=")
        try:
            out[key if sep else "total"] = float(value)
        except ValueError:
            raise SweepConfigError(f"--budget-usd {item!r}: expected [ROLE=]DOLLARS") from None
    return out


_PRICE_FLAG = "expected MODEL_PREFIX=IN,OUT[,CACHED_IN] in USD per 1M tokens"


def _prices(items: list[str]) -> dict[str, tuple[float, ...]]:
    out = {}
    for item in items:
        key, sep, value = item.rpartition("=")
        try:
            price = tuple(float(x) for x in value.split(","))
        except ValueError:
            raise SweepConfigError(f"--price {item!r}: {_PRICE_FLAG}") from None
        if not sep or not key or len(price) not in (2, 3):
            raise SweepConfigError(f"--price {item!r}: {_PRICE_FLAG}")
        out[key] = price
    return out


def sweep_from_flags(*, scenarios, agents, envs, repeats, conditions, paired, out, protocol, memory, max_turns,
                     shuffle, seed, concurrency, limits, rpm, temperature, env_temperature, max_tokens,
                     budget_tokens=(), budget_usd=(), prices=(), on_budget="drop") -> SweepConfig:
    try:
        return SweepConfig(
            out=out, scenarios=scenarios, agents=agents or ["local"], envs=envs, conditions=conditions, paired=paired,
            repeats=repeats, seed=seed, concurrency=concurrency, limits=_pairs(limits, "limit", int),
            rpm=_pairs(rpm, "rpm", float), protocol=protocol, memory=memory, max_turns=max_turns, shuffle=shuffle,
            agent_sampling=Sampling(temperature=temperature, max_tokens=max_tokens),
            env_sampling=Sampling(temperature=env_temperature, max_tokens=512),
            budget_tokens=_pairs(list(budget_tokens), "budget-tokens", int), budget_usd=_usd(list(budget_usd)),
            prices=_prices(list(prices)), on_budget=on_budget,
        )
    except ValidationError as exc:
        raise SweepConfigError("\n".join(f"--{'.'.join(map(str, e['loc'])) or '(flags)'}: {e['msg'].removeprefix('Value error, ')}"
                                         for e in exc.errors())) from None


def with_overrides(config: SweepConfig, **values) -> SweepConfig:
    """The config with some keys replaced (command-line flags that also apply to sweep files)."""
    values = {k: v for k, v in values.items() if v is not None}
    if not values:
        return config
    try:
        return SweepConfig.model_validate({**config.model_dump(), **values})
    except ValidationError as exc:
        raise SweepConfigError("\n".join(f"--{'.'.join(map(str, e['loc'])).replace('_', '-') or '(flags)'}: "
                                         f"{e['msg'].removeprefix('Value error, ')}" for e in exc.errors())) from None


def sweep_from_file(path: str | Path) -> SweepConfig:
    path = Path(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=NoAliasLoader)
    except OSError as exc:
        raise SweepConfigError(f"{path}:(file): cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise SweepConfigError(f"{path}:(root): invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SweepConfigError(f"{path}:(root): expected a mapping")
    data.setdefault("out", str(path.parent / path.stem))
    try:
        return SweepConfig.model_validate(data)
    except ValidationError as exc:
        lines = [f"{path}:{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg'].removeprefix('Value error, ')}"
                 for e in exc.errors()]
        raise SweepConfigError("\n".join(lines)) from None
