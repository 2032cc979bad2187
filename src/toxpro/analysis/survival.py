"""Kaplan–Meier curves of "no toxic tool call yet" by turn (statsmodels), with Greenwood confidence intervals.

Event: the first toxic tool call (inhibitor, modifier or direct-terminal) at turn ttf; runs without one are
censored at n_turns. Error runs are excluded.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..core.labels import TOXIC_CALL_LABELS
from .frame import By, as_by_list, iter_groups, numeric, require_columns, with_flags
from .intervals import Z95

KM_COLUMNS = ["turn", "at_risk", "events", "censored", "survival", "ci_lo", "ci_hi"]


def kaplan_meier(times, events, *, ci: str = "log-log", z: float = Z95) -> pd.DataFrame:
    """KM estimate (statsmodels SurvfuncRight) on integer turns 0..max(times).

    at_risk(t) = runs with time >= t; events(t) / censored(t) = runs whose event / censoring is at t
    (events count before censoring on ties). S(t) = prod_{u<=t} (1 - d_u / n_u), carried between
    event turns; Greenwood: V(t) = sum_{u<=t} d_u / (n_u (n_u - d_u)), from statsmodels' standard
    error S·sqrt(V). ci="plain": S ± z·S·sqrt(V), clipped to [0, 1]; ci="log-log":
    S ** exp(± z·sqrt(V) / |log S|). Row turn 0 has S = 1. Where S = 1 the CI is (1, 1); once S = 0
    it is (0, 0).
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    if ci not in ("plain", "log-log"):
        raise ValueError("ci must be 'plain' or 'log-log'")
    t = np.asarray(times, float)
    e = np.asarray(events, bool)
    if t.size == 0:
        return pd.DataFrame(columns=KM_COLUMNS)
    if np.isnan(t).any() or (t < 0).any():
        raise ValueError("times must be non-negative numbers")
    t = t.astype(int)
    turns = np.arange(0, t.max() + 1)
    d = np.bincount(t[e], minlength=turns.size)
    c = np.bincount(t[~e], minlength=turns.size)
    at_risk = t.size - np.concatenate(([0], np.cumsum(d + c)[:-1]))
    fit = SurvfuncRight(t, e.astype(float))
    step = np.searchsorted(fit.surv_times, turns, side="right")  # event turns <= t; 0 before the first
    surv = np.concatenate(([1.0], fit.surv_prob))[step]
    se = np.concatenate(([0.0], fit.surv_prob_se))[step]
    with np.errstate(divide="ignore", invalid="ignore"):
        root_v = se / surv  # sqrt(V); NaN once S = 0, where the CI is (0, 0) anyway
        if ci == "plain":
            half = z * se
            lo, hi = np.clip(surv - half, 0, 1), np.clip(surv + half, 0, 1)
        else:
            w = z * root_v / np.abs(np.log(surv))
            lo, hi = surv ** np.exp(w), surv ** np.exp(-w)
        one, zero = surv >= 1.0, surv <= 0.0
        lo, hi = np.where(one, 1.0, lo), np.where(one, 1.0, hi)
        lo, hi = np.where(zero, 0.0, lo), np.where(zero, 0.0, hi)
    return pd.DataFrame(
        {"turn": turns, "at_risk": at_risk, "events": d, "censored": c, "survival": surv, "ci_lo": lo, "ci_hi": hi}
    )


def event_times(df: pd.DataFrame) -> pd.DataFrame:
    """Per valid run: time (ttf if any toxic call, else n_turns) and event (bool).

    Runs labelled with a toxic call (strategic, direct, failed_attempt) but lacking a ttf are dropped
    with a warning, as are runs with neither ttf nor n_turns.
    """
    require_columns(df, ["label", "ttf", "n_turns"])
    flagged = with_flags(df)
    valid = flagged[flagged["is_valid"]]
    ttf, n_turns = numeric(valid["ttf"]), numeric(valid["n_turns"])
    event = ttf.notna()
    time = ttf.where(event, n_turns)
    toxic_label = valid["label"].astype(str).isin(TOXIC_CALL_LABELS)
    bad = (toxic_label & ~event) | time.isna()
    if bad.any():
        warnings.warn(
            f"{int(bad.sum())} run(s) dropped from survival: toxic label without ttf or no n_turns", stacklevel=2
        )
    out = valid.loc[~bad].copy()
    out["time"] = time[~bad].astype(int)
    out["event"] = event[~bad].astype(bool)
    return out


def misalignment_survival(df: pd.DataFrame, by: By = "agent_model", *, ci: str = "log-log") -> pd.DataFrame:
    """Tidy KM table per group: <by...>, turn, at_risk, events, censored, survival, ci_lo, ci_hi."""
    by = as_by_list(by)
    require_columns(df, by)
    runs = event_times(df)
    parts = []
    for key, sub in iter_groups(runs, by):
        km = kaplan_meier(sub["time"], sub["event"], ci=ci)
        for col, val in reversed(list(key.items())):
            km.insert(0, col, val)
        parts.append(km)
    if not parts:
        return pd.DataFrame(columns=[*by, *KM_COLUMNS])
    return pd.concat(parts, ignore_index=True)
