"""Per-turn tool-role shares: which role the t-th tool call had, among runs that made at least t calls."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .frame import ROLES, By, as_by_list, iter_groups, require_columns, roles_of, with_flags
from .intervals import wilson_arrays

TURN_COLUMNS = ["turn", "role", "count", "n_running", "share", "share_lo", "share_hi"]


def role_shares_by_turn(
    df: pd.DataFrame,
    by: By = "agent_model",
    *,
    max_turn: int | None = None,
    include_errors: bool = False,
) -> pd.DataFrame:
    """Tidy table: <by...>, turn (1-based call index), role, count, n_running, share, share_lo, share_hi.

    n_running(t) = runs with at least t tool calls (the "still running" runs); count = those whose t-th
    call had `role`; share = count / n_running with a Wilson 95% interval. All six roles appear at every
    turn (count 0 included), so shares at a turn sum to 1. Error runs are left out unless include_errors.
    """
    by = as_by_list(by)
    require_columns(df, ["label", "roles", *by])
    flagged = with_flags(df)
    if not include_errors:
        flagged = flagged[flagged["is_valid"]]
    parts = []
    for key, sub in iter_groups(flagged, by):
        seqs = [roles_of(v) for v in sub["roles"]]
        longest = max((len(s) for s in seqs), default=0)
        last = longest if max_turn is None else min(longest, max_turn)
        extra = sorted({r for s in seqs for r in s} - set(ROLES))  # tolerate unknown roles, listed last
        role_list = [*ROLES, *extra]
        for t in range(1, last + 1):
            at_t = [s[t - 1] for s in seqs if len(s) >= t]
            counts = pd.Series(at_t, dtype=object).value_counts()
            for role in role_list:
                parts.append(
                    {**key, "turn": t, "role": role, "count": int(counts.get(role, 0)), "n_running": len(at_t)}
                )
    out = pd.DataFrame(parts, columns=[*by, "turn", "role", "count", "n_running"])
    with np.errstate(divide="ignore", invalid="ignore"):
        out["share"] = np.where(out["n_running"] > 0, out["count"] / out["n_running"].clip(lower=1), np.nan)
    out["share_lo"], out["share_hi"] = wilson_arrays(out["count"], out["n_running"])
    return out[[*by, *TURN_COLUMNS]]
