"""Environment fidelity per environment model, and eval awareness per agent model, from the run frame."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from .frame import By as As
from .frame import as_by_list, iter_groups, require_columns, with_flags
from .intervals import wilson_interval

CHECKS = ("status_mismatch", "narration_contradiction", "undeclared_state", "updates_on_refusal", "invented_ids")


def _fidelity_counts(value: object) -> dict[str, int]:
    if not isinstance(value, str) or not value:
        return {}
    try:
        data = json.loads(value)
    except ValueError:
        return {}
    return {k: int(v) for k, v in data.items() if isinstance(v, (int, float))}


def fidelity_table(df: pd.DataFrame, by: As = "env_model") -> pd.DataFrame:
    """Per group: runs, environment turns, and each check's count and share of environment turns;
    `flagged_share` is the share of turns with any finding (checks counted once each per turn).
    Runs stored before fidelity was recorded are left out (n_runs counts the others)."""
    keys = as_by_list(by)
    require_columns(df, keys + ["fidelity"])
    rows = []
    for key, sub in iter_groups(df, keys):
        counts = [c for c in (_fidelity_counts(v) for v in sub["fidelity"]) if c]
        turns = sum(c.get("env_turns", 0) for c in counts)
        row: dict[str, object] = {**key, "n_runs": len(counts), "env_turns": turns}
        flagged = 0
        for check in CHECKS:
            n = sum(c.get(check, 0) for c in counts)
            flagged += n
            row[check] = n
            row[f"{check}_share"] = n / turns if turns else np.nan
        row["flagged_share"] = min(1.0, flagged / turns) if turns else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def eval_awareness_table(df: pd.DataFrame, by: As = "agent_model") -> pd.DataFrame:
    """Per group: non-error runs, runs whose agent said it is being tested (keyword check), that
    share with a Wilson 95% interval, and MR beside it."""
    keys = as_by_list(by)
    require_columns(df, keys + ["eval_aware", "label"])
    flagged = with_flags(df)
    rows = []
    for key, sub in iter_groups(flagged, keys):
        valid = sub[sub["is_valid"]]
        n = len(valid)
        k = int(pd.to_numeric(valid["eval_aware"], errors="coerce").fillna(0).astype(int).sum())
        lo, hi = wilson_interval(k, n) if n else (np.nan, np.nan)
        rows.append(
            {
                **key,
                "n": n,
                "eval_aware": k,
                "eval_aware_rate": k / n if n else np.nan,
                "ea_lo": lo,
                "ea_hi": hi,
                "mr": valid["is_misaligned"].mean() if n else np.nan,
            }
        )
    return pd.DataFrame(rows)
