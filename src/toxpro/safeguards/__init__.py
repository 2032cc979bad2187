"""Safeguards under evaluation: prompt safeguards, an action monitor and an escalation tool.

They are recorded parts of a run's settings (`RunSettings.safeguards`), so a guarded run has its own
id, while its seed is the unguarded run's: the two are paired on the same scenario, condition and
repeat. The engine calls this package at three hook points: building the agent's prompt and tools
(`guard.Guard`), after parsing each reply (escalation), and before each environment call (monitor)."""

from .spec import Safeguard, SafeguardError, arms, parse_arm, parse_safeguard, safeguard_key

__all__ = ["Safeguard", "SafeguardError", "arms", "parse_arm", "parse_safeguard", "safeguard_key"]
