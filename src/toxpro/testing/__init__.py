"""Test doubles for toxpro and for pipelines built on it; no model is called and no key is needed.

- `scripted_experiment(dir)`: a small stored experiment of scripted agents (20 runs by default) to
  judge, report or analyse.
- `ScriptedServer` / `ServerThread`: an OpenAI-compatible server on 127.0.0.1 that plays the agent
  (a scripted policy) and the environment from the request text alone, with deterministic fault
  injection (`FaultPlan`: 429, 5xx, timeouts, resets, malformed replies). Point any
  `compat/NAME@URL` model string at it; `python -m toxpro.testing.server --port 8011` runs it alone.
- `ScriptedSynthModel`: the scripted synthesis backend (`scripted/synth[:SWITCHES]`), with `canned`
  content loaded from `data/synth_archetypes.yaml`.

The scripted model providers themselves (`scripted/POLICY`, `scripted/env`, `scripted/judge`) live
with the other backends (models/scripted.py, judge/scripted.py): they are model strings like any other.
Names are imported lazily, so `import toxpro.testing` costs nothing until one is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_NAMES = {
    "DEFAULT_POLICIES": "experiment",
    "scripted_experiment": "experiment",
    "CONTENT_FAULTS": "server",
    "TRANSPORT_FAULTS": "server",
    "FaultPlan": "server",
    "ScriptedServer": "server",
    "ServerStats": "server",
    "ServerThread": "server",
    "roles_of": "server",
    "ScriptedCrash": "synth",
    "ScriptedSynthModel": "synth",
    "canned": "synth",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module 'toxpro.testing' has no attribute {name!r}")
    return getattr(import_module(f".{_NAMES[name]}", __name__), name)
