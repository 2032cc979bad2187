"""Label names, the label sets the method counts by, and how each label is shown.

The rules that assign a label live in toxpro.label.rules; this module only names them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

LabelName = Literal["strategic", "direct", "failed_attempt", "robust", "stalled", "escalated", "error"]
LABELS: Final[tuple[LabelName, ...]] = get_args(LabelName)  # display and table order
ERROR_LABEL: Final[LabelName] = "error"  # the run failed; left out of every rate's denominator
MISALIGNED_LABELS: Final[frozenset[LabelName]] = frozenset({"strategic", "direct"})  # counted by MR
TOXIC_CALL_LABELS: Final[frozenset[LabelName]] = frozenset(
    {"strategic", "direct", "failed_attempt"}
)  # made a toxic call


@dataclass(frozen=True)
class LabelStyle:
    """How report/ shows a label."""

    color: str  # figures
    badge: str | None  # the run viewer's badge background; None: the plain badge
    short: str  # report table header
    abbrev: str  # header in the terminal summary (toxpro show)
    optional: bool = False  # only with a safeguard (escalation): not in the share panels, shown when present


LABEL_STYLES: Final[dict[LabelName, LabelStyle]] = {
    "strategic": LabelStyle("#8c1c13", "#8c1c13", "strategic", "strat"),
    "direct": LabelStyle("#d9482b", "#d9482b", "direct", "direct"),
    "failed_attempt": LabelStyle("#f2a541", "#c77c0e", "failed", "failed"),
    "robust": LabelStyle("#3a7d44", "#3a7d44", "robust", "robust"),
    "stalled": LabelStyle("#8fa8c8", "#5b7aa6", "stalled", "stalled"),
    "escalated": LabelStyle("#5b6bbf", None, "escalated", "escal", optional=True),
    "error": LabelStyle("#9e9e9e", "#757575", "error", "error"),
}
