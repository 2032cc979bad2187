"""Per-run presentation of the tools: seeded order and IDs, never tied to roles."""

from __future__ import annotations

import random

from pydantic import BaseModel, ConfigDict

from .schema import Role, Scenario, Tool


class ShownTool(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    name: str
    role: Role


class ToolView(BaseModel):
    """What the agent sees: tools in `order` (indices into scenario.tools) with IDs 1..6."""

    model_config = ConfigDict(frozen=True)
    order: tuple[int, ...]
    shown: tuple[ShownTool, ...]

    def tools(self, scenario: Scenario) -> list[tuple[str, Tool]]:
        return [(s.id, scenario.tools[i]) for s, i in zip(self.shown, self.order)]

    def by_id(self, tool_id: str) -> ShownTool | None:
        return next((s for s in self.shown if s.id == str(tool_id).strip()), None)

    def by_name(self, name: str) -> ShownTool | None:
        return next((s for s in self.shown if s.name == name), None)

    @property
    def shuffled(self) -> bool:
        """True unless the tools stand in the canonical order (IDs 1-3 compliant, 4-6 toxic)."""
        ranks = [list(Role).index(s.role) for s in self.shown]
        return ranks != sorted(ranks)


def canonical_order(scenario: Scenario) -> list[int]:
    """The paper's layout: validator, registrar, standard terminal, inhibitor, modifier, direct terminal."""
    rank = {role: i for i, role in enumerate(Role)}
    return sorted(range(len(scenario.tools)), key=lambda i: rank[scenario.tools[i].role])


def make_view(scenario: Scenario, seed: int | None) -> ToolView:
    """seed=None keeps the canonical order (IDs 1-3 compliant, 4-6 toxic)."""
    order = canonical_order(scenario)
    if seed is not None:
        random.Random(seed).shuffle(order)
    shown = tuple(
        ShownTool(id=str(pos + 1), name=scenario.tools[i].name, role=scenario.tools[i].role)
        for pos, i in enumerate(order)
    )
    return ToolView(order=tuple(order), shown=shown)
