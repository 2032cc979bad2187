"""Condition effects: MR difference vs baseline (paired cluster bootstrap) and logistic GEE odds ratios, Holm-adjusted.

For a variable V, only runs at baseline on every *other* contextual variable are used (the one-at-a-time
design), so each level of V is compared with the same scenarios at baseline. Error runs are excluded.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .frame import (
    BASELINE,
    CONDITION_VARIABLES,
    VARIABLE_LEVELS,
    By,
    as_by_list,
    iter_groups,
    require_columns,
    with_flags,
)
from .intervals import Z95, cluster_bootstrap_diff, normal_alpha

EFFECT_COLUMNS = [
    "variable",
    "level",
    "baseline",
    "n_base",
    "n_level",
    "mr_base",
    "mr_level",
    "diff",
    "diff_lo",
    "diff_hi",
    "paired",
    "n_scenarios",
    "odds_ratio",
    "or_lo",
    "or_hi",
    "p_value",
    "p_holm",
    "significant",
    "reason",
]


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm step-down adjusted p-values (statsmodels); NaN inputs stay NaN and do not count towards m."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(pvalues, float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="holm")[1]
    return out


def one_at_a_time_subset(df: pd.DataFrame, variable: str) -> pd.DataFrame:
    """Runs at baseline on every contextual variable except `variable` (columns absent count as baseline)."""
    mask = np.ones(len(df), bool)
    for other in CONDITION_VARIABLES:
        if other != variable and other in df.columns:
            mask &= (df[other].astype(str) == BASELINE[other]).to_numpy()
    return df[mask]


def _constant_reason(y: np.ndarray, what: str) -> str | None:
    if y.size == 0:
        return f"{what} has no valid runs"
    if y.min() == y.max():
        return f"separation: {what} all {int(y[0])}"
    return None


def gee_condition_effect(
    df: pd.DataFrame,
    variable: str,
    *,
    baseline: str | None = None,
    levels: Sequence[str] | None = None,
    cov_type: str = "robust",
    z: float = Z95,
) -> pd.DataFrame:
    """Logistic GEE misaligned ~ C(variable, Treatment(baseline)), binomial, exchangeable, groups=scenario_id.

    Fitted on the valid runs of `df` as given (filter with one_at_a_time_subset first).
    Returns one row per non-baseline level: level, odds_ratio, or_lo, or_hi, p_value, reason.
    A level whose runs (or the baseline's) are all 0 or all 1 is left out of the fit with NaN and a reason;
    so is everything when the outcome is constant, a level is absent or there is a single scenario.
    """
    import statsmodels.api as sm
    from statsmodels.genmod.cov_struct import Exchangeable

    require_columns(df, ["label", "scenario_id", variable])
    baseline = BASELINE[variable] if baseline is None else baseline
    flagged = with_flags(df)
    data = flagged[flagged["is_valid"]]
    value = data[variable].astype(str)
    if levels is None:
        present = set(value) - {baseline}
        levels = [lv for lv in VARIABLE_LEVELS.get(variable, ()) if lv in present] + sorted(
            present - set(VARIABLE_LEVELS.get(variable, ()))
        )
    levels = [lv for lv in levels if lv != baseline]
    y_all = data["is_misaligned"].to_numpy(float)
    rows = {
        lv: {"level": lv, "odds_ratio": np.nan, "or_lo": np.nan, "or_hi": np.nan, "p_value": np.nan, "reason": None}
        for lv in levels
    }

    def fail_all(reason: str) -> pd.DataFrame:
        for r in rows.values():
            r["reason"] = r["reason"] or reason
        return pd.DataFrame(list(rows.values()), columns=["level", "odds_ratio", "or_lo", "or_hi", "p_value", "reason"])

    y_base = y_all[(value == baseline).to_numpy()]
    if y_base.size == 0:
        return fail_all("baseline level absent")
    if y_all.min() == y_all.max():
        return fail_all(f"outcome constant (all {int(y_all[0])})")
    if reason := _constant_reason(y_base, "baseline"):
        return fail_all(reason)
    fit_levels = []
    for lv in levels:
        y_lv = y_all[(value == lv).to_numpy()]
        if y_lv.size == 0:
            rows[lv]["reason"] = "level absent"
        elif reason := _constant_reason(y_lv, f"level {lv}"):
            rows[lv]["reason"] = reason
        else:
            fit_levels.append(lv)
    if not fit_levels:
        return fail_all("no level to fit")
    keep = value.isin([baseline, *fit_levels]).to_numpy()
    sub = data[keep].sort_values("scenario_id", kind="stable")
    if sub["scenario_id"].nunique() < 2:
        return fail_all("single cluster")
    sub_value = sub[variable].astype(str).to_numpy()
    exog = np.column_stack([np.ones(len(sub))] + [(sub_value == lv).astype(float) for lv in fit_levels])
    endog = sub["is_misaligned"].to_numpy(float)
    groups = pd.factorize(sub["scenario_id"])[0]
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = sm.GEE(endog, exog, groups=groups, family=sm.families.Binomial(), cov_struct=Exchangeable())
            res = model.fit(cov_type=cov_type)
        params, bse = np.asarray(res.params), np.asarray(res.bse)
        pvals, ci = np.asarray(res.pvalues), np.asarray(res.conf_int(alpha=normal_alpha(z)))
    except Exception as exc:  # numerical failure: report, don't crash
        return fail_all(f"GEE failed: {type(exc).__name__}: {exc}")
    note = "; ".join(
        sorted(
            {
                str(w.message).splitlines()[0][:120]
                for w in caught
                if "converge" in str(w.message).lower() or "separation" in str(w.message).lower()
            }
        )
    )
    for j, lv in enumerate(fit_levels, start=1):
        b, se = params[j], bse[j]
        if np.isfinite(b) and abs(b) < 1e-9 and not (np.isfinite(se) and se > 1e-9):
            # the level equals the baseline in every scenario: OR exactly 1 with zero robust variance,
            # which BLAS rounding turns into a tiny positive or negative (then NaN) standard error
            rows[lv].update(odds_ratio=1.0, or_lo=1.0, or_hi=1.0, p_value=1.0, reason=note or None)
            continue
        if not (np.isfinite(b) and np.isfinite(se) and se > 0):
            rows[lv]["reason"] = "GEE gave a non-finite estimate"
            continue
        rows[lv].update(
            odds_ratio=float(np.exp(b)),
            or_lo=float(np.exp(ci[j, 0])),
            or_hi=float(np.exp(ci[j, 1])),
            p_value=float(pvals[j]),
            reason=note or None,
        )
    return pd.DataFrame(list(rows.values()), columns=["level", "odds_ratio", "or_lo", "or_hi", "p_value", "reason"])


def _join(*reasons: str | None) -> str | None:
    parts = [r for r in reasons if r]
    return "; ".join(parts) if parts else None


def condition_effects(
    df: pd.DataFrame,
    *,
    by: By = "agent_model",
    variables: Sequence[str] | None = None,
    B: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
    cov_type: str = "robust",
    holm_family: str = "by",
) -> pd.DataFrame:
    """Every non-baseline level of every contextual variable against baseline, within each `by` group.

    Columns: <by...>, variable, level, baseline, n_base, n_level (valid runs), mr_base, mr_level,
    diff (= mr_level - mr_base), diff_lo, diff_hi (scenario-cluster bootstrap, paired when both cover the
    same scenarios), paired, n_scenarios, odds_ratio, or_lo, or_hi, p_value (GEE, Wald), p_holm,
    significant (p_holm < alpha), reason (why something is NaN, or GEE warnings).
    Holm runs over all tests within each `by` group (holm_family="by") or over the whole table ("all").
    Levels listed are those that occur anywhere in df for that variable, in the design's order.
    """
    by = as_by_list(by)
    variables = [v for v in (variables or CONDITION_VARIABLES) if v in df.columns]
    require_columns(df, ["label", "scenario_id", *by])
    out_rows = []
    for key, group in iter_groups(df, by):
        for var in variables:
            base_level = BASELINE[var]
            present = set(df[var].astype(str)) - {base_level}
            known = [lv for lv in VARIABLE_LEVELS.get(var, ()) if lv in present]  # design order
            levels = known + sorted(present - set(known))
            if not levels:
                continue
            sub = one_at_a_time_subset(group, var)
            flagged = with_flags(sub)
            valid = flagged[flagged["is_valid"]]
            vals = sub[var].astype(str)
            base_runs = sub[(vals == base_level).to_numpy()]
            gee = gee_condition_effect(sub, var, baseline=base_level, levels=levels, cov_type=cov_type)
            gee = gee.set_index("level")
            vvals = valid[var].astype(str)
            nb = int((vvals == base_level).sum())
            mb = float(valid.loc[(vvals == base_level).to_numpy(), "is_misaligned"].mean()) if nb else np.nan
            for lv in levels:
                lv_runs = sub[(vals == lv).to_numpy()]
                nl = int((vvals == lv).sum())
                ml = float(valid.loc[(vvals == lv).to_numpy(), "is_misaligned"].mean()) if nl else np.nan
                if len(lv_runs) and len(base_runs):
                    ci = cluster_bootstrap_diff(lv_runs, base_runs, B=B, seed=seed)
                    boot = (ci.lo, ci.hi, ci.paired, ci.n_clusters, ci.reason)
                else:
                    boot = (np.nan, np.nan, None, 0, "level absent" if not len(lv_runs) else "baseline absent")
                g = gee.loc[lv]
                out_rows.append(
                    {
                        **key,
                        "variable": var,
                        "level": lv,
                        "baseline": base_level,
                        "n_base": nb,
                        "n_level": nl,
                        "mr_base": mb,
                        "mr_level": ml,
                        "diff": ml - mb,
                        "diff_lo": boot[0],
                        "diff_hi": boot[1],
                        "paired": boot[2],
                        "n_scenarios": boot[3],
                        "odds_ratio": g["odds_ratio"],
                        "or_lo": g["or_lo"],
                        "or_hi": g["or_hi"],
                        "p_value": g["p_value"],
                        "p_holm": np.nan,
                        "significant": False,
                        "reason": _join(
                            f"bootstrap: {boot[4]}" if boot[4] else None, f"gee: {g['reason']}" if g["reason"] else None
                        ),
                    }
                )
    out = pd.DataFrame(out_rows, columns=[*by, *EFFECT_COLUMNS])
    if out.empty:
        return out
    if holm_family == "all" or not by:
        out["p_holm"] = holm(out["p_value"].to_numpy(float))
    elif holm_family == "by":
        for _, part in out.groupby(by, sort=False, observed=True, dropna=False):
            out.loc[part.index, "p_holm"] = holm(part["p_value"].to_numpy(float))
    else:
        raise ValueError(f"holm_family must be 'by' or 'all', not {holm_family!r}")
    out["significant"] = (out["p_holm"] < alpha).fillna(False).astype(bool)
    return out
