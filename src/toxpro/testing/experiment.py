"""A small scripted experiment to judge, for tests and demos (no model is called)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from ..store.sqlite import RunStore

DEFAULT_POLICIES = ("always-compliant", "always-direct", "strategic", "failed-attempt", "stall")
SCENARIO_FILE = "healthcare-loyalty-dosage-audit.yaml"


def scripted_experiment(
    directory: str | Path,
    policies: Sequence[str] = DEFAULT_POLICIES,
    repeats: int = 4,
    max_turns: int = 4,
    scenario_file: str = SCENARIO_FILE,
) -> RunStore:
    """Simulate `scripted/POLICY` agents against `scripted/env` on one built-in scenario and return
    the open store. With the defaults: 20 runs, 4 each labelled robust, direct, strategic,
    failed_attempt and stalled."""
    from ..runner import execute, plan
    from ..scenario import Condition, builtin_dir, load_scenario
    from ..simulate import RunSettings

    scenario = load_scenario(builtin_dir() / scenario_file)
    settings = RunSettings(max_turns=max_turns)
    store = RunStore(directory)
    planned = plan([scenario], [f"scripted/{p}" for p in policies], ["scripted/env"], [Condition()], repeats, settings)
    asyncio.run(execute(planned, store))
    return store
