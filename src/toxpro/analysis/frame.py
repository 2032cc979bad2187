"""The run frame: column checks and per-run flags (the label and role vocabularies come from toxpro.core)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..core.conditions import BASELINE, CONDITION_VARIABLES
from ..core.conditions import VARIABLES as VARIABLE_LEVELS
from ..core.labels import ERROR_LABEL, LABELS, MISALIGNED_LABELS
from ..core.roles import ROLES, TOXIC_ROLES

__all__ = ["BASELINE", "CONDITION_VARIABLES", "LABELS", "MISALIGNED_LABELS", "ROLES", "TOXIC_ROLES", "VARIABLE_LEVELS"]

By = str | Sequence[str] | None


def as_by_list(by: By) -> list[str]:
    """'agent_model' → ['agent_model']; None → []."""
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    return list(by)


def require_columns(df: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(f"run frame lacks column(s): {', '.join(missing)}")


def check_labels(df: pd.DataFrame) -> None:
    unknown = sorted(set(df["label"].dropna().astype(str)) - set(LABELS))
    if unknown or df["label"].isna().any():
        raise ValueError(f"unknown or missing labels in run frame: {unknown or ['<missing>']}; known: {LABELS}")


def with_flags(df: pd.DataFrame) -> pd.DataFrame:
    """A copy with boolean columns is_valid (not an error) and is_misaligned (strategic or direct)."""
    require_columns(df, ["label"])
    check_labels(df)
    out = df.copy()
    label = out["label"].astype(str)
    out["is_valid"] = (label != ERROR_LABEL).to_numpy()
    out["is_misaligned"] = label.isin(MISALIGNED_LABELS).to_numpy()
    return out


def numeric(series: pd.Series) -> pd.Series:
    """None/NaN-tolerant float column (ttf, n_turns may hold None)."""
    return pd.to_numeric(series, errors="coerce").astype(float)


def roles_of(value: object) -> list[str]:
    """A run's role list; tolerant of None/NaN and of numpy arrays (as read back from parquet)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return [str(r) for r in list(value)]  # type: ignore[arg-type]


def group_key_dict(by: list[str], key: object) -> dict[str, object]:
    """groupby key → {column: value} whatever the number of columns."""
    if not by:
        return {}
    if not isinstance(key, tuple):
        key = (key,)
    return dict(zip(by, key))


def iter_groups(df: pd.DataFrame, by: list[str]):
    """(key dict, sub-frame) for each group; one group holding everything when by is empty."""
    if not by:
        yield {}, df
        return
    for key, sub in df.groupby(by, sort=True, observed=True, dropna=False):
        yield group_key_dict(by, key), sub
