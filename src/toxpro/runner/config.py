"""Sweep configuration from command-line flags or a sweep YAML file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..core.conditions import VARIABLES
from ..core.errors import UserError
from ..models.base import Sampling
from ..models.prices import DEFAULT_PRICES
from ..models.retry import RetryPolicy
from ..models.spec import SCRIPTED, ModelSpec, parse_model
from ..scenario.conditions import Condition, grid, one_at_a_time, parse_assignments
from ..scenario.loader import NoAliasLoader
from ..simulate.presets import PRESETS, preset_settings
from ..simulate.records import AgentPrompt, EnvPrompt, Outcomes, RunSettings, Termination
from .budget import CAP_KEYS, Budget, unpriced
from .generation import Generation, parse_generation_flags, settings_for


class SweepConfigError(UserError, ValueError):
    pass


class AgentSpec(BaseModel):
    """An agent under test: its model string, and how tables and figures name and group it."""

    model_config = ConfigDict(extra="forbid")
    model: str
    name: str | None = None  # display name; default: the model string without its endpoint URL
    family: str | None = None  # e.g. qwen, gpt; the strategic-vs-direct figure fits one line per family
    reasoning: bool = False  # a reasoning model (marked in figures)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value):
        """'MODEL' or 'NAME=MODEL' (NAME without '/' or ':', so 'scripted/stochastic:strategic=0.2' is a model)."""
        if isinstance(value, str):
            name, sep, model = value.partition("=")
            if sep and name.strip() and "/" not in name and ":" not in name:
                return {"name": name.strip(), "model": model.strip()}
            return {"model": value}
        return value

    @field_validator("model")
    @classmethod
    def _model_parses(cls, value: str) -> str:
        return parse_model(value).raw

    @field_validator("name", "family")
    @classmethod
    def _plain(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or "/" in value or ":" in value):
            raise ValueError(f"{value!r}: must be non-empty, without '/' or ':'")
        return value.strip() if value else value

    def tags(self) -> tuple[str | None, str | None, bool]:
        return self.name, self.family, self.reasoning


class SweepConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    out: str = "experiments/default"
    scenarios: list[str] = Field(default_factory=list)
    agents: list[AgentSpec] = Field(default_factory=lambda: [AgentSpec(model="local")])
    envs: list[str] = Field(default_factory=list)
    conditions: list[str] = Field(default_factory=list)
    paired: bool = False
    repeats: int = Field(default=1, ge=1)
    seed: int = 0
    concurrency: int = Field(default=8, ge=1)
    limits: dict[str, int] = Field(default_factory=dict)
    rpm: dict[str, float] = Field(default_factory=dict)
    # Run settings. Unset keys take the preset's value (toxpro's default protocol, or `paper`).
    preset: str = "toxpro"
    protocol: Literal["json", "tools"] = "json"
    memory: Literal["stateless", "full"] = "stateless"
    max_turns: int = Field(default=20, ge=1, le=200)
    shuffle: bool = True
    outcomes: Outcomes = "rules"
    termination: Termination = "executed"
    agent_prompt: AgentPrompt = "situation-first"
    env_prompt: EnvPrompt = "toxpro"
    stakeholder_directive: bool = False
    security_at_baseline: bool = True
    history_window: int = Field(default=6, ge=1, le=100)
    agent_sampling: Sampling = Field(default_factory=lambda: Sampling(max_tokens=4096))
    env_sampling: Sampling = Field(default_factory=lambda: Sampling(temperature=0.3, max_tokens=512))
    generation: dict[str, Generation] = Field(default_factory=dict)  # model string → its own generation settings
    budget_tokens: dict[str, int] = Field(default_factory=dict)  # role (agent|environment|total) → max tokens
    budget_usd: dict[str, float] = Field(default_factory=dict)  # role (agent|environment|total) → max US$
    # model prefix → [in, out(, cached in)] US$ per 1M tokens, over the built-in table (models/prices.py)
    prices: dict[str, tuple[float, float] | tuple[float, float, float]] = Field(default_factory=dict)
    on_budget: Literal["drop", "finish"] = "drop"  # what in-flight runs do when a cap is reached
    timeout_s: float = Field(default=60.0, gt=0, le=3600)  # per call attempt
    retries: int = Field(default=3, ge=0, le=20)  # retries after the first attempt (429, 5xx, timeouts, resets)
    executor: Literal["async", "ray"] = "async"
    # remote endpoints: auto = direct HTTP for self-hosted servers, the openai SDK for hosted APIs
    transport: Literal["auto", "sdk", "direct"] = "auto"
    ray_address: str | None = None  # an existing Ray cluster; default: start a local one
    replay_from: str | None = None  # an experiment directory whose environment replies are replayed
    # Safeguard arms, each run beside the unguarded arm on the same cells and seeds (toxpro.safeguards.spec):
    # "reminder:strong", "monitor:model=openai/gpt-4o-mini,mode=trajectory", "constraints+escalation", or a list
    safeguards: list[str | list[str]] = Field(default_factory=list)

    @field_validator("safeguards")
    @classmethod
    def _safeguards_parse(cls, value: list) -> list:
        from ..safeguards.spec import arms

        arms(value)
        return value

    def safeguard_arms(self):
        from ..safeguards.spec import arms

        return arms(self.safeguards)

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
    def _priced(self) -> SweepConfig:
        if self.budget_usd:
            missing = unpriced([*self.agent_models(), *self.resolved_envs()], self.price_table())
            if missing:
                raise ValueError(
                    f"budget_usd needs a price for every model; none matches {', '.join(missing)} "
                    "(add prices: {MODEL_PREFIX: [USD_PER_1M_IN, USD_PER_1M_OUT]})"
                )
        return self

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, value: str) -> str:
        if value not in PRESETS:
            raise ValueError(f"unknown preset {value!r}; known: {', '.join(PRESETS)}")
        return value

    @field_validator("envs")
    @classmethod
    def _models_parse(cls, value: list[str]) -> list[str]:
        return [parse_model(v).raw for v in value]

    @field_validator("agents")
    @classmethod
    def _agents_distinct(cls, value: list[AgentSpec]) -> list[AgentSpec]:
        names: dict[str, str] = {}
        models: dict[str, str | None] = {}
        for a in value:
            if a.model in models and models[a.model] != a.name:
                raise ValueError(f"model {a.model!r} is listed twice with different names")
            models[a.model] = a.name
            if a.name is not None and names.setdefault(a.name, a.model) != a.model:
                raise ValueError(f"name {a.name!r} is given to two models: {names[a.name]!r} and {a.model!r}")
        return value

    @field_validator("generation")
    @classmethod
    def _generation_keys(cls, value: dict[str, Generation]) -> dict[str, Generation]:
        return {parse_model(k).raw: g for k, g in value.items()}

    def agent_models(self) -> list[str]:
        return list(dict.fromkeys(a.model for a in self.agents))

    def model_specs(self) -> dict[str, ModelSpec]:
        """Every model of the sweep (agents, then environments) as its spec: display tags for agents,
        and the model's own generation settings."""
        specs = {m: parse_model(m).with_tags(generation=self.generation.get(m)) for m in self.resolved_envs()}
        for a in self.agents:
            specs[a.model] = parse_model(a.model).with_tags(*a.tags(), generation=self.generation.get(a.model))
        return specs

    def agent_tags(self) -> dict[str, tuple[str | None, str | None, bool]]:
        specs = self.model_specs()
        return {m: specs[m].tags() for m in self.agent_models()}

    @field_validator("conditions")
    @classmethod
    def _conditions_parse(cls, value: list[str]) -> list[str]:
        parse_assignments(value)
        return value

    def resolved_envs(self) -> list[str]:
        if self.envs:
            return self.envs
        models = self.agent_models()
        return ["scripted/env"] if all(parse_model(a).provider == SCRIPTED for a in models) else [models[0]]

    def condition_spec(self) -> tuple[dict[str, list[str]], list[str]]:
        """The conditions as {variable: levels}, a variable given more than once combined (union of its levels,
        in the design's order), and notes saying what was combined."""
        spec: dict[str, list[str]] = {}
        given: dict[str, list[str]] = {}
        for item in self.conditions:
            for var, levels in parse_assignments([item]).items():
                spec[var] = [*spec.get(var, []), *(lv for lv in levels if lv not in spec.get(var, []))]
                given.setdefault(var, []).append(item)
        notes = []
        for var, items in given.items():
            spec[var] = [lv for lv in VARIABLES[var] if lv in spec[var]]
            if len(items) > 1:
                notes.append(
                    f"{var} is given {len(items)} times ({', '.join(items)}); combined: {var}={'|'.join(spec[var])}"
                )
        return spec, notes

    def condition_list(self) -> list[Condition]:
        spec, _ = self.condition_spec()
        if self.paired:
            if not spec:
                return one_at_a_time()
            base = Condition()
            return [
                base,
                *(
                    base.model_copy(update={var: lv})
                    for var, levels in spec.items()
                    for lv in levels
                    if lv != getattr(base, var)
                ),
            ]
        return grid([f"{v}={'|'.join(levels)}" for v, levels in spec.items()]) if spec else [Condition()]

    def condition_notes(self) -> list[str]:
        """What the CLI says about how the conditions were read (combined variables, paired with levels)."""
        spec, notes = self.condition_spec()
        if self.paired and spec:
            base = Condition()
            parts = []
            for var, levels in spec.items():
                dev = [lv for lv in levels if lv != getattr(base, var)]
                parts.append(
                    f"{var}={'|'.join(dev)}"
                    if dev
                    else f"{var} (only its baseline level {getattr(base, var)} was given: no deviation)"
                )
            n = len(self.condition_list())
            notes.append(
                f"--paired with -c: the baseline plus one-variable deviations to {', '.join(parts)} "
                f"({n} cells); without -c, --paired deviates every variable to every level"
            )
        return notes

    def budget(self) -> Budget:
        return Budget(
            tokens=dict(self.budget_tokens),
            usd=dict(self.budget_usd),
            prices=self.price_table(),
            on_budget=self.on_budget,
        )

    def settings(self) -> RunSettings:
        """The preset's settings with every key this config sets explicitly on top."""
        explicit = {name: getattr(self, name) for name in _SETTING_KEYS if name in self.model_fields_set}
        if "shuffle" in self.model_fields_set:
            explicit["shuffle_tools"] = self.shuffle
        explicit.pop("shuffle", None)
        explicit |= {"call_timeout_s": self.timeout_s, "call_attempts": self.retries + 1}
        return preset_settings(self.preset, **explicit)

    def retry_policy(self) -> RetryPolicy:
        """The call policy of every model call of the sweep: attempts, timeout and transport."""
        return RetryPolicy(max_attempts=self.retries + 1, timeout_s=self.timeout_s, transport=self.transport)

    def settings_for(self, agent: str, env: str) -> RunSettings:
        """A run's settings: the sweep's, with the agent's and environment's own generation settings."""
        specs = self.model_specs()
        return settings_for(self.settings(), specs[agent], specs[env])


_SETTING_KEYS = (
    "protocol",
    "memory",
    "max_turns",
    "shuffle",
    "outcomes",
    "termination",
    "agent_prompt",
    "env_prompt",
    "stakeholder_directive",
    "security_at_baseline",
    "history_window",
    "agent_sampling",
    "env_sampling",
)


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


def sweep_from_flags(
    *,
    scenarios,
    agents,
    envs,
    repeats,
    conditions,
    paired,
    out,
    seed,
    concurrency,
    limits,
    rpm,
    protocol=None,
    memory=None,
    max_turns=None,
    shuffle=None,
    temperature=None,
    env_temperature=None,
    max_tokens=None,
    env_max_tokens=None,
    reasoning_effort=None,
    preset=None,
    outcomes=None,
    termination=None,
    agent_prompt=None,
    env_prompt=None,
    stakeholder_directive=None,
    security_at_baseline=None,
    generation=(),
    budget_tokens=(),
    budget_usd=(),
    prices=(),
    on_budget="drop",
    timeout_s=60.0,
    retries=3,
    safeguards=(),
) -> SweepConfig:
    """A config from command-line flags; a flag left at None keeps the preset's value."""
    data = {
        "out": out,
        "scenarios": scenarios,
        "agents": agents or ["local"],
        "envs": envs,
        "conditions": conditions,
        "paired": paired,
        "repeats": repeats,
        "seed": seed,
        "concurrency": concurrency,
        "limits": _pairs(limits, "limit", int),
        "rpm": _pairs(rpm, "rpm", float),
        "on_budget": on_budget,
        "budget_tokens": _pairs(list(budget_tokens), "budget-tokens", int),
        "budget_usd": _usd(list(budget_usd)),
        "prices": _prices(list(prices)),
        "timeout_s": timeout_s,
        "retries": retries,
        "safeguards": list(safeguards),
    }
    optional = {
        "preset": preset,
        "protocol": protocol,
        "memory": memory,
        "max_turns": max_turns,
        "shuffle": shuffle,
        "outcomes": outcomes,
        "termination": termination,
        "agent_prompt": agent_prompt,
        "env_prompt": env_prompt,
        "stakeholder_directive": stakeholder_directive,
        "security_at_baseline": security_at_baseline,
    }
    data |= {k: v for k, v in optional.items() if v is not None}
    base = preset_settings(preset or "toxpro") if (preset or "toxpro") in PRESETS else RunSettings()
    agent_s = {"temperature": temperature, "max_tokens": max_tokens, "reasoning_effort": reasoning_effort}
    env_s = {"temperature": env_temperature, "max_tokens": env_max_tokens}
    if any(v is not None for v in agent_s.values()):
        data["agent_sampling"] = base.agent_sampling.model_copy(
            update={k: v for k, v in agent_s.items() if v is not None}
        )
    if any(v is not None for v in env_s.values()):
        data["env_sampling"] = base.env_sampling.model_copy(update={k: v for k, v in env_s.items() if v is not None})
    try:
        if generation:
            data["generation"] = parse_generation_flags(list(generation))
        return SweepConfig(**data)
    except ValidationError as exc:
        raise SweepConfigError(
            "\n".join(
                f"--{'.'.join(map(str, e['loc'])) or '(flags)'}: {e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors()
            )
        ) from None


_FLAG = {"timeout_s": "timeout"}  # config keys whose command-line flag has another name


def with_overrides(config: SweepConfig, **values) -> SweepConfig:
    """The config with some keys replaced (command-line flags that also apply to sweep files)."""
    values = {k: v for k, v in values.items() if v is not None}
    if not values:
        return config
    try:
        return SweepConfig.model_validate({**config.model_dump(exclude_unset=True), **values})
    except ValidationError as exc:
        raise SweepConfigError(
            "\n".join(
                f"--{_FLAG.get(str(e['loc'][0]), '.'.join(map(str, e['loc'])).replace('_', '-')) if e['loc'] else '(flags)'}: "
                f"{e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors()
            )
        ) from None


def sweep_from_file(path: str | Path) -> SweepConfig:
    path = Path(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=NoAliasLoader)
    except OSError as exc:
        raise SweepConfigError(f"{path}:(file): cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise SweepConfigError(
            f"{path}:(file): not UTF-8 text (offset {exc.start}); sweep files are UTF-8 YAML"
        ) from None
    except yaml.YAMLError as exc:
        raise SweepConfigError(f"{path}:(root): invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SweepConfigError(f"{path}:(root): expected a mapping")
    data.setdefault("out", str(path.parent / path.stem))
    try:
        return SweepConfig.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"{path}:{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        ]
        raise SweepConfigError("\n".join(lines)) from None
