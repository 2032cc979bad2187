"""Labels: rule labels from tool roles; LLM judges live in toxpro.judge."""

from ..core.labels import LABELS
from ..core.labels import MISALIGNED_LABELS as MISALIGNED
from .rules import is_misaligned, label_roles, label_run, time_to_first_toxic

__all__ = ["LABELS", "MISALIGNED", "is_misaligned", "label_roles", "label_run", "time_to_first_toxic"]
