"""Sweeps over scenarios × models × conditions × repeats."""

from .limits import EndpointLimits
from .sweep import PlannedRun, Progress, execute, plan

__all__ = ["EndpointLimits", "PlannedRun", "Progress", "execute", "plan"]
