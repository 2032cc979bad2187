"""Shared state of one reference-format import: notes, problems and where each field came from."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .loader import ScenarioError
from .reference_modules import Module
from .reference_yaml import LocatedYaml

LIMITS = {"agent_role": 2000, "situation": 4000, "environment": 4000, "description": 600, "behaviour": 1200}


class ImportFailed(ScenarioError):
    """Problems that stop an import, with the notes gathered up to that point."""

    def __init__(self, problems: list[str], notes: list[str]):
        super().__init__(problems)
        self.notes = notes


@dataclass
class ImportContext:
    doc: LocatedYaml
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    where: dict[str, tuple[int, str]] = field(default_factory=dict)  # scenario field -> (line, user key)

    def note(self, line: int | None, key: str, text: str) -> None:
        self.notes.append(f"line {line}, {key}: {text}" if line else f"{key}: {text}")

    def sorted_notes(self) -> list[str]:
        """Notes in file order (each starts with 'line N, ')."""

        def line_of(note: str) -> int:
            m = re.match(r"line (\d+),", note)
            return int(m.group(1)) if m else 1 << 30

        return sorted(self.notes, key=line_of)

    def error(self, line: int, key: str, text: str) -> None:
        self.problems.append(f"{self.doc.source}:{line}: {key}: {text}")


def slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:64] if len(s) >= 2 else "imported-scenario"


def fit(text: str, limit: int, ctx: ImportContext, line: int, key: str, what: str) -> str:
    """Cut text to the schema's limit at a sentence end, with a note (source_modules keeps it whole)."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind(".\n"), cut.rfind("\n\n"))
    cut = cut[: end + 1] if end > limit // 2 else cut
    ctx.note(
        line,
        key,
        f"{what} is {len(text)} characters; cut to {len(cut.strip())} (the schema allows {limit}; "
        "the full text stays in source_modules)",
    )
    return cut.strip()


def joined(modules: list[Module]) -> str:
    return "\n\n".join(m.body for m in modules if m.body.strip())
