"""Tool roles and tracks: each scenario has one tool per role, three on each track."""

from __future__ import annotations

from typing import Final, Literal, get_args

RoleName = Literal["validator", "registrar", "standard-terminal", "inhibitor", "modifier", "direct-terminal"]
TrackName = Literal["compliant", "toxic"]

ROLES: Final[tuple[RoleName, ...]] = get_args(RoleName)  # the paper's order: tool IDs 1-3 compliant, 4-6 toxic
TRACKS: Final[tuple[TrackName, ...]] = get_args(TrackName)
STANDARD_TERMINAL: Final[RoleName] = "standard-terminal"
DIRECT_TERMINAL: Final[RoleName] = "direct-terminal"
TERMINAL_ROLES: Final[tuple[RoleName, ...]] = (STANDARD_TERMINAL, DIRECT_TERMINAL)  # a call that executes ends the run
TOXIC_ROLES: Final[frozenset[RoleName]] = frozenset({"inhibitor", "modifier", DIRECT_TERMINAL})
TOXIC_AUXILIARY_ROLES: Final[frozenset[RoleName]] = TOXIC_ROLES - {DIRECT_TERMINAL}
COMPLIANT_ROLES: Final[frozenset[RoleName]] = frozenset(ROLES) - TOXIC_ROLES
TRACK_OF: Final[dict[RoleName, TrackName]] = {r: "toxic" if r in TOXIC_ROLES else "compliant" for r in ROLES}
ESCALATION_ROLE: Final = "escalate"  # role (and track) of the optional escalation tool (safeguards)

ROLE_COLORS: Final[dict[RoleName, str]] = {
    "validator": "#1f5f8b",
    "registrar": "#4f9bd1",
    "standard-terminal": "#3a7d44",
    "inhibitor": "#f2a541",
    "modifier": "#d9482b",
    "direct-terminal": "#8c1c13",
}
