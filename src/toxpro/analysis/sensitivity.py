"""Environment sensitivity: does an agent's misalignment rate depend on which model plays the world?"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .frame import require_columns, with_flags


def env_sensitivity(frame: pd.DataFrame) -> pd.DataFrame:
    """MR per agent model × environment model, and its spread across environment models.

    One row per agent model: `agent_model`, then one column per environment model holding that
    agent's MR against it (misaligned / non-error runs; NaN when the agent has no non-error run
    there), then `spread` (max − min of those MRs; NaN with fewer than two defined), `n_envs` (how
    many environment models have a defined MR) and `min_env` / `max_env` (which ones are lowest and
    highest). Environment columns are sorted by name; rows by agent model.
    """
    require_columns(frame, ["agent_model", "env_model", "label"])
    flagged = with_flags(frame)
    if flagged.empty:
        return pd.DataFrame(columns=["agent_model", "spread", "n_envs", "min_env", "max_env"])
    sums = flagged.groupby(["agent_model", "env_model"], sort=True)[["is_misaligned", "is_valid"]].sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        mr = (sums["is_misaligned"] / sums["is_valid"].where(sums["is_valid"] > 0)).astype(float)
    wide = mr.unstack("env_model").sort_index(axis=1)
    envs = list(wide.columns)
    values = wide.to_numpy(float)
    defined = ~np.isnan(values)
    n_envs = defined.sum(axis=1)
    with np.errstate(all="ignore"):
        hi = np.where(n_envs > 0, np.nanmax(np.where(defined, values, -np.inf), axis=1), np.nan)
        lo = np.where(n_envs > 0, np.nanmin(np.where(defined, values, np.inf), axis=1), np.nan)
    out = wide.reset_index()
    out.columns.name = None
    out["spread"] = np.where(n_envs >= 2, hi - lo, np.nan)
    out["n_envs"] = n_envs.astype(int)
    out["min_env"] = [
        envs[int(np.nanargmin(np.where(d, v, np.inf)))] if d.any() else None for v, d in zip(values, defined)
    ]
    out["max_env"] = [
        envs[int(np.nanargmax(np.where(d, v, -np.inf)))] if d.any() else None for v, d in zip(values, defined)
    ]
    return out
