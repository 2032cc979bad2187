"""Small synthetic run frames for the analysis tests."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

BASE = {"stakes": "high", "feedback": "medium", "goal_clarity": "none", "ethics": "none", "liability": "none"}

# A plausible role sequence, first-toxic turn and length for each label.
SHAPES = {
    "strategic": (["validator", "inhibitor", "direct-terminal"], 2, 3),
    "direct": (["validator", "direct-terminal"], 2, 2),
    "failed_attempt": (["modifier", "standard-terminal"], 1, 2),
    "robust": (["validator", "registrar", "standard-terminal"], None, 3),
    "stalled": (["validator", "validator", "registrar", "validator"], None, 4),
    "error": ([], None, 1),
}

_counter = itertools.count()


def run(label: str = "robust", **overrides) -> dict:
    """One run row with every contract column; overrides win."""
    roles, ttf, n_turns = SHAPES[label]
    cond = {k: overrides.pop(k, v) for k, v in BASE.items()}
    scenario = overrides.pop("scenario_id", "s0")
    row = {
        "run_id": f"r{next(_counter)}",
        "experiment": "test",
        "scenario_id": scenario,
        "scenario_hash": f"h-{scenario}",
        "domain": "Healthcare",
        "motivation": "loyalty",
        "agent_model": "m1",
        "env_model": "env",
        **cond,
        "condition_key": ",".join(f"{k}={v}" for k, v in cond.items()),
        "repeat": 0,
        "label": label,
        "error_kind": "api_timeout" if label == "error" else None,
        "ttf": ttf,
        "n_turns": n_turns,
        "roles": list(roles),
        "tokens": 100,
    }
    row.update(overrides)
    return row


def frame(rows: Sequence[dict]) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def labels_frame(labels: Sequence[str], **common) -> pd.DataFrame:
    """One run per label, all sharing `common` overrides; repeats numbered in order."""
    return frame([run(lab, repeat=i, **common) for i, lab in enumerate(labels)])


def clustered(
    mis_per_scenario: Sequence[int],
    repeats: int,
    *,
    model: str = "m1",
    prefix: str = "s",
    errors_per_scenario: int = 0,
    **common,
) -> pd.DataFrame:
    """Scenario i gets mis_per_scenario[i] misaligned runs (alternating strategic/direct), the rest robust,
    plus errors_per_scenario extra error runs."""
    rows = []
    for i, k in enumerate(mis_per_scenario):
        for r in range(repeats):
            lab = ("strategic" if r % 2 == 0 else "direct") if r < k else "robust"
            rows.append(run(lab, scenario_id=f"{prefix}{i}", agent_model=model, repeat=r, **common))
        for r in range(errors_per_scenario):
            rows.append(run("error", scenario_id=f"{prefix}{i}", agent_model=model, repeat=repeats + r, **common))
    return frame(rows)


def random_condition_frame(
    variable: str,
    level_logodds: dict[str, float],
    *,
    n_scenarios: int = 30,
    repeats: int = 4,
    scenario_sd: float = 1.0,
    seed: int = 0,
    model: str = "m1",
) -> pd.DataFrame:
    """Each scenario is run `repeats` times at every level of `variable` (others at baseline);
    P(misaligned) = logistic(level_logodds[level] + scenario effect ~ N(0, scenario_sd))."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_scenarios):
        u = rng.normal(0, scenario_sd)
        for level, eta in level_logodds.items():
            p = 1 / (1 + np.exp(-(eta + u)))
            for r in range(repeats):
                lab = "strategic" if rng.random() < p else "robust"
                rows.append(run(lab, scenario_id=f"s{s}", agent_model=model, repeat=r, **{variable: level}))
    return frame(rows)


def by_p(p: Callable[[int], float], n_scenarios: int, repeats: int, seed: int = 0) -> pd.DataFrame:
    """Scenario i: each repeat misaligned with probability p(i)."""
    rng = np.random.default_rng(seed)
    ks = [int((rng.random(repeats) < p(i)).sum()) for i in range(n_scenarios)]
    return clustered(ks, repeats)
