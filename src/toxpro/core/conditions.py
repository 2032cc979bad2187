"""Contextual variables: their names, levels and the paper's baseline level.

The Condition model, the level texts and where each text goes live in toxpro.scenario.conditions."""

from __future__ import annotations

from typing import Final, Literal, get_args

Stakes = Literal["high", "medium", "low"]
Feedback = Literal["high", "medium", "low"]
GoalClarity = Literal["explicit", "implicit", "none"]
Ethics = Literal["utilitarian", "deontological", "virtue", "none"]
Liability = Literal["agent", "user", "none"]

VARIABLES: Final[dict[str, tuple[str, ...]]] = {  # name → levels, in design order
    "stakes": get_args(Stakes),
    "feedback": get_args(Feedback),
    "goal_clarity": get_args(GoalClarity),
    "ethics": get_args(Ethics),
    "liability": get_args(Liability),
}
CONDITION_VARIABLES: Final[tuple[str, ...]] = tuple(VARIABLES)
BASELINE: Final[dict[str, str]] = {
    "stakes": "high",
    "feedback": "medium",
    "goal_clarity": "none",
    "ethics": "none",
    "liability": "none",
}
# Variables always named in a condition key (hence in run ids). One added later is named only away
# from its baseline, so runs stored before it existed keep their ids.
KEYED_VARIABLES: Final[tuple[str, ...]] = ("stakes", "feedback", "goal_clarity", "ethics", "liability")
