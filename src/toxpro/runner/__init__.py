"""Sweeps over scenarios × models × conditions × repeats: scheduling, limits, budgets, shards, replay.

Paired tests and environment sensitivity (pandas) live in analysis.paired and analysis.sensitivity."""

from ..models.limits import EndpointLimits
from .budget import Budget, BudgetExhausted
from .replay import ReplayEnvironment, ReplaySource, replayed_turns
from .shard import parse_shard, select_shard
from .sweep import PlannedRun, Progress, execute, plan

__all__ = [
    "Budget",
    "BudgetExhausted",
    "EndpointLimits",
    "PlannedRun",
    "Progress",
    "ReplayEnvironment",
    "ReplaySource",
    "execute",
    "parse_shard",
    "plan",
    "replayed_turns",
    "select_shard",
]
