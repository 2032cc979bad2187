"""toxpro: diagnose Toxic Proactivity in LLM agents.

The Python API (toxpro/api.py): `load(dir)` gives a stored `Experiment` (`.frame()`, `.runs()`,
`.report()`); `simulate(...)` runs one run under one `RunSettings`; `sweep(config)` runs a `SweepConfig`.
Everything else is imported on first use, so `import toxpro` stays cheap (no pandas, no model SDKs).
"""

from __future__ import annotations

import sys
import types
from importlib import import_module
from typing import Any

__version__ = "0.1.0"

from .api import Experiment, SweepResult, load, simulate, sweep  # noqa: E402  (stdlib imports only)

_LAZY = {
    "SweepConfig": "runner.config",
    "RunSettings": "simulate.records",
    "RunRecord": "simulate.records",
    "Condition": "scenario.conditions",
    "Scenario": "scenario.schema",
    "UserError": "errors",
}

__all__ = ["Experiment", "SweepResult", "__version__", "load", "simulate", "sweep", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'toxpro' has no attribute {name!r}")
    return getattr(import_module(f".{_LAZY[name]}", __name__), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


class _Package(types.ModuleType):
    """`toxpro.simulate` stays the API function once the engine package `toxpro.simulate` is imported
    (the import system would set the attribute to the package; the package stays in sys.modules, so
    `from toxpro.simulate import RunSettings` and `import toxpro.simulate.engine` work as before)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "simulate" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
# `import toxpro.simulate.engine as m` looks the submodule up as f"{toxpro.simulate.__name__}.engine" in
# sys.modules once the attribute is this function: give it the package's dotted name (repr uses __qualname__).
simulate.__name__ = "toxpro.simulate"
