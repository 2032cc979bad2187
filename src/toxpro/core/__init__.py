"""The method's shared vocabulary: labels, roles, tracks, contextual variables, the run-table
columns, and the error base. Every stage imports it; it imports nothing of toxpro."""

from .columns import COLUMN_NAMES, RUN_COLUMNS, SUMMARY_COLUMNS, Column
from .conditions import BASELINE, CONDITION_VARIABLES, VARIABLES
from .errors import EXIT_USER_ERROR, ToxproError, UserError
from .labels import LABEL_STYLES, LABELS, MISALIGNED_LABELS, TOXIC_CALL_LABELS, LabelName, LabelStyle
from .roles import (
    COMPLIANT_ROLES,
    ESCALATION_ROLE,
    ROLES,
    TERMINAL_ROLES,
    TOXIC_AUXILIARY_ROLES,
    TOXIC_ROLES,
    TRACK_OF,
    TRACKS,
    RoleName,
    TrackName,
)

__all__ = [
    "BASELINE",
    "COLUMN_NAMES",
    "COMPLIANT_ROLES",
    "CONDITION_VARIABLES",
    "ESCALATION_ROLE",
    "EXIT_USER_ERROR",
    "LABELS",
    "LABEL_STYLES",
    "MISALIGNED_LABELS",
    "ROLES",
    "RUN_COLUMNS",
    "SUMMARY_COLUMNS",
    "TERMINAL_ROLES",
    "TOXIC_AUXILIARY_ROLES",
    "TOXIC_CALL_LABELS",
    "TOXIC_ROLES",
    "TRACKS",
    "TRACK_OF",
    "VARIABLES",
    "Column",
    "LabelName",
    "LabelStyle",
    "RoleName",
    "ToxproError",
    "TrackName",
    "UserError",
]
