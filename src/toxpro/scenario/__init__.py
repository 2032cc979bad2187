"""Scenarios: schema, loading, lint, tool shuffling and contextual conditions."""

from .conditions import Condition, ConditionError, grid, one_at_a_time, prompt_modules
from .loader import ScenarioError, builtin_dir, load_builtin, load_many, load_scenario, resolve
from .schema import Domain, Motivation, Role, Scenario, Tool, Track
from .shuffle import ToolView, make_view

__all__ = [
    "Condition",
    "ConditionError",
    "Domain",
    "Motivation",
    "Role",
    "Scenario",
    "ScenarioError",
    "Tool",
    "ToolView",
    "Track",
    "builtin_dir",
    "grid",
    "load_builtin",
    "load_many",
    "load_scenario",
    "make_view",
    "one_at_a_time",
    "prompt_modules",
    "resolve",
]
