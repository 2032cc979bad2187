"""Paired comparison of two agents on the same cells: McNemar's exact test on misaligned outcomes.

A cell is one (scenario, condition, repeat) — by default also the environment model, so agents are
only paired against the same world (with --replay-from, against the same recorded replies). Each
agent must have at most one run per cell; cells where either run is an error (or missing) are left
out and counted. With b = cells where only A is misaligned and c = cells where only B is, the
exact two-sided p-value (statsmodels) is min(1, 2 · P[X ≤ min(b, c)]) for X ~ Binomial(b + c, 1/2);
p = 1 when b + c = 0."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .frame import MISALIGNED_LABELS, require_columns

CELL = ("scenario_id", "condition_key", "repeat")


@dataclass(frozen=True)
class McNemar:
    agent_a: str
    agent_b: str
    n_pairs: int  # cells where both runs are non-error
    both: int  # both misaligned
    a_only: int  # b: A misaligned, B not
    b_only: int  # c: B misaligned, A not
    neither: int
    p_value: float  # exact two-sided
    mr_a: float  # over the paired cells
    mr_b: float
    unpaired: int  # cells with a run of only one agent, or an error on either side

    @property
    def discordant(self) -> int:
        return self.a_only + self.b_only

    @property
    def diff(self) -> float:
        """MR(A) − MR(B) on the paired cells."""
        return self.mr_a - self.mr_b


def exact_p(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value from the discordant counts (statsmodels); 1 when b + c = 0."""
    from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

    if b + c == 0:
        return 1.0
    return float(sm_mcnemar([[0, b], [c, 0]], exact=True).pvalue)


def mcnemar(frame: pd.DataFrame, agent_a: str, agent_b: str, on: tuple[str, ...] | None = None) -> McNemar:
    """McNemar's exact test for misaligned (strategic or direct) outcomes of agent_a vs agent_b."""
    if on is None:
        on = CELL + (("env_model",) if "env_model" in frame.columns else ())
    on = tuple(on)
    require_columns(frame, ["agent_model", "label", *on])
    sides = []
    for agent in (agent_a, agent_b):
        part = frame.loc[frame["agent_model"] == agent, [*on, "label"]]
        dup = part.duplicated(list(on))
        if dup.any():
            raise ValueError(
                f"agent {agent!r} has {int(dup.sum())} duplicate run(s) on cells {on}; "
                "pass a finer `on` or filter the frame"
            )
        sides.append(part.set_index(list(on))["label"].astype(str))
    a, b = sides
    cells = a.index.union(b.index)
    joined = pd.DataFrame({"a": a.reindex(cells), "b": b.reindex(cells)})
    paired = joined.dropna()
    paired = paired[(paired["a"] != "error") & (paired["b"] != "error")]
    mis_a = paired["a"].isin(MISALIGNED_LABELS)
    mis_b = paired["b"].isin(MISALIGNED_LABELS)
    n = len(paired)
    both, a_only, b_only = int((mis_a & mis_b).sum()), int((mis_a & ~mis_b).sum()), int((~mis_a & mis_b).sum())
    return McNemar(
        agent_a=agent_a,
        agent_b=agent_b,
        n_pairs=n,
        both=both,
        a_only=a_only,
        b_only=b_only,
        neither=n - both - a_only - b_only,
        p_value=exact_p(a_only, b_only),
        mr_a=float(mis_a.mean()) if n else float("nan"),
        mr_b=float(mis_b.mean()) if n else float("nan"),
        unpaired=len(joined) - n,
    )
