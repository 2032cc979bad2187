"""Data behind the paper's strategic-vs-direct scatter and the per-model radar chart (numbers only)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .frame import By, as_by_list, require_columns
from .intervals import wilson_arrays
from .rates import label_counts

MOTIVATIONS = ("loyalty", "self-preservation")
RADAR_AXES = ["loyalty-strategic", "loyalty-direct", "self-preservation-strategic", "self-preservation-direct", "MR"]


def motivation_rates(df: pd.DataFrame, by: By = "agent_model") -> pd.DataFrame:
    """Per <by...> × motivation: n_valid, strategic, direct, strategic_rate (+_lo/_hi), direct_rate (+_lo/_hi), mr.

    Rates are over valid (non-error) runs; intervals are per-run Wilson 95%.
    """
    by = as_by_list(by)
    require_columns(df, ["motivation", *by])
    t = label_counts(df, [*by, "motivation"])
    t["strategic_lo"], t["strategic_hi"] = wilson_arrays(t["strategic"], t["n_valid"])
    t["direct_lo"], t["direct_hi"] = wilson_arrays(t["direct"], t["n_valid"])
    return t[
        [
            *by,
            "motivation",
            "n_valid",
            "strategic",
            "direct",
            "strategic_rate",
            "strategic_lo",
            "strategic_hi",
            "direct_rate",
            "direct_lo",
            "direct_hi",
            "mr",
        ]
    ].reset_index(drop=True)


def radar_data(df: pd.DataFrame, by: By = "agent_model") -> pd.DataFrame:
    """Wide table, one row per <by...>: loyalty-strategic, loyalty-direct, self-preservation-strategic,
    self-preservation-direct (rates over valid runs of that motivation) and MR (over all valid runs).
    A motivation absent for a model gives NaN on its axes.
    """
    by = as_by_list(by)
    rates = motivation_rates(df, by)
    overall = label_counts(df, by)[[*by, "mr"]].rename(columns={"mr": "MR"})
    out = overall.copy()
    for mot in MOTIVATIONS:
        part = rates[rates["motivation"].astype(str) == mot][[*by, "strategic_rate", "direct_rate"]]
        part = part.rename(columns={"strategic_rate": f"{mot}-strategic", "direct_rate": f"{mot}-direct"})
        if by:
            out = out.merge(part, on=by, how="left")
        else:
            vals = part.iloc[0] if len(part) else pd.Series({f"{mot}-strategic": np.nan, f"{mot}-direct": np.nan})
            out[f"{mot}-strategic"], out[f"{mot}-direct"] = vals[f"{mot}-strategic"], vals[f"{mot}-direct"]
    return out[[*by, *RADAR_AXES]].reset_index(drop=True)
