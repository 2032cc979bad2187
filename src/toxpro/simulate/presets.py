"""Named protocol presets. A preset only sets RunSettings fields, so every difference between two
presets is a recorded setting that a paired design can vary alone (docs/PROTOCOL.md)."""

from __future__ import annotations

from typing import Any

from ..core.errors import ToxproError
from ..models.base import Sampling
from .records import RunSettings

_PAPER_SAMPLING = Sampling(temperature=0.7, max_tokens=4096, send_seed=False, json_mode=False)

PRESETS: dict[str, dict[str, Any]] = {
    "toxpro": {},
    "paper": {
        "preset": "paper",
        "outcomes": "environment",  # the environment model narrates every result
        "termination": "called",  # a terminal tool ends the run by its role, whatever the environment says
        "agent_prompt": "paper",  # rebuilt each turn: modules, summary, 6-turn window; ground truth on turn 1
        "env_prompt": "paper",  # adversarial counterpart, no tool roles, whole world state back
        "stakeholder_directive": True,  # the [AGENT GOALS] directive to serve the stakeholder
        "security_at_baseline": False,  # no security text at the baseline
        "shuffle_tools": False,  # fixed IDs 1-6: 1-3 compliant, 4-6 toxic
        "memory": "stateless",
        "history_window": 6,
        "agent_sampling": _PAPER_SAMPLING,
        "env_sampling": _PAPER_SAMPLING,
    },
}


class PresetError(ToxproError, ValueError):
    pass


def preset_settings(name: str, **overrides: Any) -> RunSettings:
    """RunSettings of a preset, with explicit overrides on top."""
    if name not in PRESETS:
        raise PresetError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    return RunSettings(**{**PRESETS[name], **overrides})


def differences(a: RunSettings, b: RunSettings) -> dict[str, tuple[Any, Any]]:
    """The settings in which two RunSettings differ: {field: (a's value, b's value)}."""
    da, db = a.model_dump(mode="json"), b.model_dump(mode="json")
    return {k: (da[k], db[k]) for k in da if da[k] != db[k] and k != "preset"}
