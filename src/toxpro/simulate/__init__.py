"""The agent ↔ environment loop and its records."""

from .engine import simulate
from .records import RunLabel, RunRecord, RunSettings, Turn

__all__ = ["RunLabel", "RunRecord", "RunSettings", "Turn", "simulate"]
