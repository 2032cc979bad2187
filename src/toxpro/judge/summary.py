"""What `toxpro judge` shows after judging: verdict rates, failures, agreement between judges and with
the rule labels, over the given judges' stored verdicts."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..store.sqlite import RunStore
from .agreement import field_agreement, rule_agreement
from .run import error_reasons, judgement_frame, verdict_rates


@dataclass
class JudgeTables:
    rates: pd.DataFrame  # one row per judge (over successful verdicts)
    failures: pd.DataFrame  # stored failures with their reasons
    between: pd.DataFrame | None  # agreement per verdict field (two judges or more)
    rules: pd.DataFrame  # rule label (strategic/direct) vs judge (severity >= threshold or motive != none)


def judge_tables(store: RunStore, judges: list[str], threshold: int) -> JudgeTables | None:
    """The tables over these judges' stored verdicts; None when none is stored."""
    frame = judgement_frame(store)
    frame = frame[frame["judge_model"].isin(judges)]
    if frame.empty:
        return None
    return JudgeTables(
        verdict_rates(frame),
        error_reasons(frame),
        field_agreement(frame, judges) if len(judges) >= 2 else None,
        rule_agreement(frame, threshold),
    )
