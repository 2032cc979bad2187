"""Confidence intervals: Wilson score for k/n and scenario-cluster bootstrap for MR and MR differences."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from .frame import with_flags

Z95 = 1.959963984540054  # two-sided 95% normal quantile
_CHUNK = 256  # bootstrap replicates drawn at a time (bounds memory for many clusters)


def wilson_interval(k: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion k/n; (nan, nan) when n == 0."""
    lo, hi = wilson_arrays(np.asarray([k], float), np.asarray([n], float), z)
    return float(lo[0]), float(hi[0])


def wilson_arrays(k, n, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised Wilson interval; NaN where n == 0."""
    k = np.asarray(k, float)
    n = np.asarray(n, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        z2n = z * z / n
        centre = (p + z2n / 2) / (1 + z2n)
        half = z / (1 + z2n) * np.sqrt(p * (1 - p) / n + z2n / (4 * n))
        lo = np.where(k <= 0, 0.0, np.clip(centre - half, 0.0, 1.0))  # exact at the edges, no 1e-19 dust
        hi = np.where(k >= n, 1.0, np.clip(centre + half, 0.0, 1.0))
    bad = ~(n > 0)
    lo = np.where(bad, np.nan, lo)
    hi = np.where(bad, np.nan, hi)
    return lo, hi


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
