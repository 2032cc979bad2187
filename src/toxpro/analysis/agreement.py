"""Inter-rater agreement: Cohen's kappa (statsmodels), Fleiss' kappa (statsmodels), Krippendorff's
alpha (the `krippendorff` package) and percent agreement, on plain rating lists.

What this module adds to the libraries: missing ratings (None or NaN) are dropped, numbers of any
type that are equal count as one category, categories are ordered (numbers numerically), and a
coefficient whose chance term leaves nothing to explain (every rating in one category) is NaN, not
1 or a division warning."""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from typing import Any, Literal

import krippendorff
import numpy as np
import pandas as pd

Metric = Literal["nominal", "interval"]


def is_missing(x: Any) -> bool:
    """None, pd.NA or a float NaN."""
    if x is None or x is pd.NA:
        return True
    try:
        return isinstance(x, float) and math.isnan(x)
    except TypeError:
        return False


def normalise(x: Any) -> Any:
    """numpy/pandas scalars → plain Python, so 1, 1.0 and np.int64(1) are one category."""
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return int(x) if float(x).is_integer() else float(x)
    return x


def _sort_key(x: Any) -> tuple:
    return (0, float(x), "") if isinstance(x, (int, float)) and not isinstance(x, bool) else (1, 0.0, str(x))


def cohen_kappa(
    a: Sequence[Hashable],
    b: Sequence[Hashable],
    *,
    weights: Literal[None, "linear", "quadratic"] = None,
    categories: Sequence[Hashable] | None = None,
) -> float:
    """Cohen's kappa for two raters over the items both rated (pairs with a missing rating dropped).

    weights: None (nominal), "linear" or "quadratic" disagreement weights over `categories` in
    order (default: the observed values sorted, numbers numerically)."""
    from statsmodels.stats.inter_rater import cohens_kappa

    if len(a) != len(b):
        raise ValueError(f"raters rated different numbers of items: {len(a)} vs {len(b)}")
    pairs = [(normalise(x), normalise(y)) for x, y in zip(a, b) if not is_missing(x) and not is_missing(y)]
    if not pairs:
        return float("nan")
    seen = {x for p in pairs for x in p}
    cats = [normalise(c) for c in categories] if categories is not None else sorted(seen, key=_sort_key)
    index = {c: i for i, c in enumerate(cats)}
    unknown = seen - set(index)
    if unknown:
        raise ValueError(f"ratings outside the categories: {sorted(map(str, unknown))}")
    if len(seen) < 2:  # both raters used one and the same category: no chance disagreement to beat
        return float("nan")
    table = np.zeros((len(cats), len(cats)))
    np.add.at(table, ([index[x] for x, _ in pairs], [index[y] for _, y in pairs]), 1)
    return float(cohens_kappa(table, wt=weights, return_results=False))


def fleiss_kappa_counts(counts: Sequence[Sequence[float]] | np.ndarray) -> float:
    """Fleiss' kappa from an items × categories matrix of how many raters chose each category;
    every item must have the same number n ≥ 2 of ratings."""
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

    m = np.asarray(counts, dtype=float)
    if m.ndim != 2 or m.shape[0] == 0:
        return float("nan")
    totals = m.sum(axis=1)
    if not np.allclose(totals, totals[0]):
        raise ValueError("Fleiss' kappa needs the same number of ratings for every item")
    if totals[0] < 2:
        raise ValueError("Fleiss' kappa needs at least 2 ratings per item")
    if (m.sum(axis=0) > 0).sum() < 2:  # one category only: chance agreement is 1
        return float("nan")
    return float(sm_fleiss_kappa(m, method="fleiss"))


def _counts(ratings: Iterable[Sequence[Hashable]]) -> tuple[np.ndarray, list[Hashable]]:
    """items × categories counts of the non-missing ratings, and the categories in order."""
    rows = [[normalise(x) for x in item if not is_missing(x)] for item in ratings]
    cats = sorted({x for r in rows for x in r}, key=_sort_key)
    index = {c: i for i, c in enumerate(cats)}
    m = np.zeros((len(rows), len(cats)))
    item = np.asarray([i for i, r in enumerate(rows) for _ in r], dtype=int)
    np.add.at(m, (item, np.asarray([index[x] for r in rows for x in r], dtype=int)), 1)
    return m, cats


def fleiss_kappa(ratings: Sequence[Sequence[Hashable]]) -> float:
    """Fleiss' kappa from an items × raters table of categories (a fixed number of ratings per item;
    raters need not be the same people for every item)."""
    if len(ratings) == 0:
        return float("nan")
    m, _ = _counts(ratings)
    return fleiss_kappa_counts(m)


def krippendorff_alpha(ratings: Sequence[Sequence[Hashable]], metric: Metric = "nominal") -> float:
    """Krippendorff's alpha from an items × raters table; missing ratings are None/NaN.

    Items with fewer than 2 ratings are not pairable and are left out; NaN when fewer than two
    categories remain among the pairable ratings."""
    m, cats = _counts(ratings)
    m = m[m.sum(axis=1) >= 2]
    if m.shape[0] == 0 or len(cats) == 0:
        return float("nan")
    if metric == "nominal":
        domain = np.arange(len(cats), dtype=float)
    elif metric == "interval":
        try:
            domain = np.asarray([float(c) for c in cats])
        except (TypeError, ValueError):
            raise ValueError("interval alpha needs numeric ratings") from None
    else:
        raise ValueError(f"unknown metric {metric!r}; use nominal or interval")
    used = m.sum(axis=0) > 0
    if used.sum() < 2:
        return float("nan")
    return float(krippendorff.alpha(value_counts=m[:, used], value_domain=domain[used], level_of_measurement=metric))


def percent_agreement(ratings: Sequence[Sequence[Hashable]]) -> float:
    """Share of items (with ≥ 2 ratings) on which every rating is the same."""
    rows = [[normalise(x) for x in item if not is_missing(x)] for item in ratings]
    rows = [r for r in rows if len(r) >= 2]
    if not rows:
        return float("nan")
    return float(np.mean([len(set(r)) == 1 for r in rows]))
