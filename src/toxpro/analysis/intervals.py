"""Confidence intervals: Wilson score for k/n (statsmodels), its cluster-adjusted form, and the
scenario-cluster bootstrap for MR and MR differences."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from .frame import with_flags

Z95 = 1.959963984540054  # two-sided 95% normal quantile
_CHUNK = 256  # bootstrap replicates drawn at a time (bounds memory for many clusters)


def normal_alpha(z: float) -> float:
    """The two-sided level whose normal quantile is z (for library calls that take alpha)."""
    return math.erfc(z / math.sqrt(2))


def wilson_interval(k: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion k/n; (nan, nan) when n == 0."""
    lo, hi = wilson_arrays(np.asarray([k], float), np.asarray([n], float), z)
    return float(lo[0]), float(hi[0])


def wilson_arrays(k, n, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised Wilson interval (statsmodels) at normal quantile z; NaN where n == 0, exactly 0 / 1 at k = 0 / n."""
    from statsmodels.stats.proportion import proportion_confint

    k = np.asarray(k, float)
    n = np.asarray(n, float)
    ok = n > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        lo, hi = proportion_confint(np.where(ok, k, 0.0), np.where(ok, n, 1.0), alpha=normal_alpha(z), method="wilson")
    lo = np.where(k <= 0, 0.0, lo)  # exact at the edges, no 1e-19 dust
    hi = np.where(k >= n, 1.0, hi)
    return np.where(ok, lo, np.nan), np.where(ok, hi, np.nan)


@dataclass(frozen=True)
class BootstrapCI:
    """A point estimate with its percentile bootstrap interval; lo/hi are NaN when reason is set."""

    estimate: float
    lo: float
    hi: float
    n_clusters: int
    n_boot: int  # replicates with a defined statistic
    paired: bool | None = None  # only for differences
    reason: str | None = None


def cluster_counts(df: pd.DataFrame, cluster: str | list[str] = "scenario_id") -> pd.DataFrame:
    """Per cluster: mis (misaligned runs) and valid (non-error runs); clusters with only errors stay (valid=0)."""
    flagged = with_flags(df)
    out = flagged.groupby(cluster, sort=True, observed=True)[["is_misaligned", "is_valid"]].sum()
    return out.rename(columns={"is_misaligned": "mis", "is_valid": "valid"}).astype(float)


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den > 0 else float("nan")


def _weights(rng: np.random.Generator, n_clusters: int, size: int) -> np.ndarray:
    """Cluster multiplicities of `size` resamples-with-replacement of n_clusters clusters."""
    return rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=size).astype(float)


def _percentile(stats: np.ndarray, level: float) -> tuple[float, float, int]:
    stats = stats[np.isfinite(stats)]
    if stats.size == 0:
        return float("nan"), float("nan"), 0
    a = (1 - level) / 2
    lo, hi = np.quantile(stats, [a, 1 - a])
    return float(lo), float(hi), int(stats.size)


def cluster_bootstrap_mr(
    df: pd.DataFrame,
    *,
    cluster: str | list[str] = "scenario_id",
    B: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> BootstrapCI:
    """Percentile CI for pooled MR = sum(misaligned) / sum(valid), resampling whole clusters (scenarios)."""
    counts = cluster_counts(df, cluster)
    mis, valid = counts["mis"].to_numpy(), counts["valid"].to_numpy()
    est = _ratio(mis.sum(), valid.sum())
    n_c = len(counts)
    if valid.sum() == 0:
        return BootstrapCI(est, np.nan, np.nan, n_c, 0, reason="no valid runs")
    if n_c < 2:
        return BootstrapCI(est, np.nan, np.nan, n_c, 0, reason="single cluster")
    rng = np.random.default_rng(seed)
    stats = []
    for start in range(0, B, _CHUNK):
        w = _weights(rng, n_c, min(_CHUNK, B - start))
        with np.errstate(divide="ignore", invalid="ignore"):
            stats.append((w @ mis) / (w @ valid))
    lo, hi, used = _percentile(np.concatenate(stats), level)
    return BootstrapCI(est, lo, hi, n_c, used)


def cluster_bootstrap_diff(
    treated: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    cluster: str | list[str] = "scenario_id",
    paired: Literal["auto"] | bool = "auto",
    B: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> BootstrapCI:
    """CI for MR(treated) - MR(reference).

    paired="auto": resample the shared clusters jointly when both groups cover the same clusters,
    otherwise resample each group's clusters independently. paired=True forces pairing on the shared
    clusters only (the point estimate then uses those clusters); paired=False forces independence.
    """
    ct, cr = cluster_counts(treated, cluster), cluster_counts(reference, cluster)
    same = set(ct.index) == set(cr.index)
    use_pairs = same if paired == "auto" else bool(paired)
    if use_pairs:
        shared = ct.index.intersection(cr.index)
        ct, cr = ct.loc[shared], cr.loc[shared]
    est = _ratio(ct["mis"].sum(), ct["valid"].sum()) - _ratio(cr["mis"].sum(), cr["valid"].sum())
    n_c = len(ct) if use_pairs else len(ct) + len(cr)
    if ct["valid"].sum() == 0 or cr["valid"].sum() == 0:
        return BootstrapCI(est, np.nan, np.nan, n_c, 0, use_pairs, "a group has no valid runs")
    if min(len(ct), len(cr)) < 2:
        return BootstrapCI(est, np.nan, np.nan, n_c, 0, use_pairs, "single cluster")
    rng = np.random.default_rng(seed)
    mt, vt, mr_, vr = (a.to_numpy() for a in (ct["mis"], ct["valid"], cr["mis"], cr["valid"]))
    stats = []
    for start in range(0, B, _CHUNK):
        size = min(_CHUNK, B - start)
        wt = _weights(rng, len(ct), size)
        wr = wt if use_pairs else _weights(rng, len(cr), size)
        with np.errstate(divide="ignore", invalid="ignore"):
            stats.append((wt @ mt) / (wt @ vt) - (wr @ mr_) / (wr @ vr))
    lo, hi, used = _percentile(np.concatenate(stats), level)
    return BootstrapCI(est, lo, hi, n_c, used, use_pairs)


# --- the headline interval: Wilson on the design-effect-adjusted sample size -------------------


@dataclass(frozen=True)
class ClusterWilsonCI:
    """MR with a cluster-adjusted Wilson interval (see cluster_wilson_arrays); lo/hi NaN when reason is set."""

    estimate: float
    lo: float
    hi: float
    n: int  # valid runs
    n_clusters: int
    icc: float  # intra-cluster correlation (one-way ANOVA estimator, clipped to [0, 1])
    deff: float  # design effect 1 + (n_w - 1) * icc, n_w the size-weighted mean cluster size
    n_eff: float  # n / deff
    reason: str | None = None


def icc_anova(mis, valid) -> np.ndarray:
    """One-way ANOVA intra-cluster correlation of a binary outcome, per row of (S, K) arrays of
    misaligned and valid counts per cluster (clusters with no valid run are ignored).

    ICC = (MSB - MSW) / (MSB + (n0 - 1) MSW), with MSB = sum n_i (p_i - p)^2 / (K - 1),
    MSW = sum m_i (1 - p_i) / (N - K) and n0 = (N - sum n_i^2 / N) / (K - 1); clipped to [0, 1],
    0 where it is undefined (fewer than two clusters, no within-cluster degrees of freedom, or
    no variation at all)."""
    m = np.atleast_2d(np.asarray(mis, float))
    n = np.broadcast_to(np.atleast_2d(np.asarray(valid, float)), m.shape)
    present = n > 0
    k = present.sum(axis=1)
    big_n = n.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = m.sum(axis=1) / big_n
        p_i = np.where(present, m / np.where(present, n, 1), 0.0)
        msb = (n * (p_i - p[:, None]) ** 2).sum(axis=1) / (k - 1)
        msw = (m * (1 - p_i)).sum(axis=1) / (big_n - k)
        n0 = (big_n - (n**2).sum(axis=1) / big_n) / (k - 1)
        icc = (msb - msw) / (msb + (n0 - 1) * msw)
    icc = np.where((k >= 2) & (big_n > k) & np.isfinite(icc), icc, 0.0)
    return np.clip(icc, 0.0, 1.0)


def cluster_wilson_arrays(mis, valid, level: float = 0.95) -> dict[str, np.ndarray]:
    """Cluster-adjusted Wilson interval per row of (S, K) cluster counts (or one (K,) row).

    The pooled MR = sum(mis) / sum(valid) gets a Wilson score interval (statsmodels) computed on
    the effective sample size n_eff = N / deff, deff = 1 + (n_w - 1) ICC (Kish; n_w = sum n_i^2 / N)
    or the ratio estimator's cluster-robust variance over the binomial one, whichever is larger,
    with the t quantile on K - 1 degrees of freedom in place of the normal one (few clusters).
    Wilson keeps the interval inside [0, 1] and of non-zero width at MR = 0 or 1, where percentile
    bootstraps collapse to a point."""
    from scipy import stats
    from statsmodels.stats.proportion import proportion_confint

    m = np.atleast_2d(np.asarray(mis, float))
    n = np.broadcast_to(np.atleast_2d(np.asarray(valid, float)), m.shape)
    big_n = n.sum(axis=1)
    k = (n > 0).sum(axis=1)
    icc = icc_anova(m, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = m.sum(axis=1) / big_n
        n_w = (n**2).sum(axis=1) / big_n
    deff_anova = 1 + (np.nan_to_num(n_w, nan=1.0) - 1) * icc
    with np.errstate(divide="ignore", invalid="ignore"):  # the ratio estimator's cluster-robust variance
        resid = ((m - p[:, None] * n) ** 2).sum(axis=1) * k / np.maximum(k - 1, 1) / big_n**2
        deff_robust = np.where((p > 0) & (p < 1), resid / (p * (1 - p) / big_n), 1.0)
    deff = np.where(big_n > 0, np.maximum(deff_anova, np.nan_to_num(deff_robust, nan=1.0)), np.nan)
    n_eff = big_n / deff
    q = np.where(k >= 2, stats.t.ppf(0.5 + level / 2, np.maximum(k - 1, 1)), stats.norm.ppf(0.5 + level / 2))
    alpha = 2 * stats.norm.sf(q)  # the normal-quantile alpha that reproduces the t quantile in statsmodels
    ok = big_n > 0
    safe_n = np.where(ok, n_eff, 1.0)
    lo, hi = proportion_confint(np.where(ok, p, 0.0) * safe_n, safe_n, alpha=alpha, method="wilson")
    lo, hi = np.where(ok, lo, np.nan), np.where(ok, hi, np.nan)
    lo = np.where(ok & (p <= 0), 0.0, np.clip(lo, 0.0, 1.0))  # exact at the edges
    hi = np.where(ok & (p >= 1), 1.0, np.clip(hi, 0.0, 1.0))
    return {"mr": p, "lo": lo, "hi": hi, "icc": icc, "deff": deff, "n_eff": n_eff, "n_clusters": k, "n": big_n}


def cluster_wilson_mr(
    df: pd.DataFrame, *, cluster: str | list[str] = "scenario_id", level: float = 0.95
) -> ClusterWilsonCI:
    """The headline interval for pooled MR, runs clustered in scenarios (see cluster_wilson_arrays)."""
    counts = cluster_counts(df, cluster)
    mis, valid = counts["mis"].to_numpy(), counts["valid"].to_numpy()
    n_c = int((valid > 0).sum())
    if valid.sum() == 0:
        return ClusterWilsonCI(float("nan"), np.nan, np.nan, 0, n_c, np.nan, np.nan, 0.0, "no valid runs")
    r = cluster_wilson_arrays(mis, valid, level)
    return ClusterWilsonCI(
        float(r["mr"][0]),
        float(r["lo"][0]),
        float(r["hi"][0]),
        int(valid.sum()),
        n_c,
        float(r["icc"][0]),
        float(r["deff"][0]),
        float(r["n_eff"][0]),
    )
