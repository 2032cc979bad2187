"""Per-model generation settings: max_tokens, temperature, reasoning effort, provider extra body.

A sweep's `agent_sampling` and `env_sampling` hold the defaults of each role; `generation` names
models whose own values replace them wherever that model plays (agent or environment)."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..models.spec import parse_model
from ..simulate.records import RunSettings

KEYS = ("max_tokens", "temperature", "top_p", "reasoning_effort", "extra_body", "send_seed", "json_mode")
_FLAG = re.compile(rf"^(?P<model>.+):(?P<key>{'|'.join(KEYS)})=(?P<value>.*)$", re.DOTALL)


class Generation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_tokens: int | None = Field(default=None, ge=1, le=200_000)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None
    extra_body: dict[str, Any] | None = None
    send_seed: bool | None = None
    json_mode: bool | None = None

    def given(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


def _value(key: str, text: str) -> Any:
    if key == "extra_body":
        return json.loads(text)
    if key in ("send_seed", "json_mode"):
        lowered = text.strip().lower()
        if lowered not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"{key} takes true or false, not {text!r}")
        return lowered in ("true", "1", "yes")
    return text.strip()


def parse_generation_flags(items: list[str]) -> dict[str, Generation]:
    """['openai/o3:reasoning_effort=high', 'openai/o3:max_tokens=8000'] → {'openai/o3': Generation(...)}."""
    raw: dict[str, dict[str, Any]] = {}
    for item in items:
        m = _FLAG.match(item.strip())
        if not m:
            raise ValueError(f"--gen {item!r}: expected MODEL:KEY=VALUE with KEY one of {', '.join(KEYS)}")
        try:
            value = _value(m["key"], m["value"])
        except ValueError as exc:
            raise ValueError(f"--gen {item!r}: {exc}") from None
        raw.setdefault(parse_model(m["model"]).raw, {})[m["key"]] = value
    return {model: Generation.model_validate(values) for model, values in raw.items()}


def settings_for(settings: RunSettings, agent: str, env: str, generation: dict[str, Generation]) -> RunSettings:
    """The run's settings with each model's own generation values applied to its role."""
    if not generation:
        return settings
    keyed = {parse_model(k).raw: g for k, g in generation.items()}
    update = {}
    if agent in keyed:
        update["agent_sampling"] = settings.agent_sampling.model_copy(update=keyed[agent].given())
    if env in keyed:
        update["env_sampling"] = settings.env_sampling.model_copy(update=keyed[env].given())
    return settings.model_copy(update=update) if update else settings
