"""Per-model generation settings: max_tokens, temperature, reasoning effort, provider extra body.

A sweep's `agent_sampling` and `env_sampling` hold the defaults of each role; `generation` names
models whose own values replace them wherever that model plays (agent or environment)."""

from __future__ import annotations

import json
import re
from typing import Any

from ..models.generation import KEYS, Generation
from ..models.spec import ModelSpec, parse_model
from ..simulate.records import RunSettings

__all__ = ["Generation", "parse_generation_flags", "settings_for"]
_FLAG = re.compile(rf"^(?P<model>.+):(?P<key>{'|'.join(KEYS)})=(?P<value>.*)$", re.DOTALL)


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


def settings_for(settings: RunSettings, agent: ModelSpec, env: ModelSpec) -> RunSettings:
    """The run's settings with each model's own generation values (its spec's) applied to its role."""
    update = {}
    if agent.generation is not None:
        update["agent_sampling"] = settings.agent_sampling.model_copy(update=agent.generation.given())
    if env.generation is not None:
        update["env_sampling"] = settings.env_sampling.model_copy(update=env.generation.given())
    return settings.model_copy(update=update) if update else settings
