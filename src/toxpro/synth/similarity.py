"""Near-duplicate check of a new scenario against the built-in bank and earlier outputs.

Uses the lint module's similarity (Jaccard over word 3-shingles of title, role, situation and tool
descriptions; Jaccard over tool names) and thresholds, so synthesis and `toxpro scenarios lint`
agree on what a near-duplicate is."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..scenario.loader import ScenarioError, builtin_dir, load_scenario
from ..scenario.schema import Scenario

try:  # the lint module is the single definition of similarity
    from ..scenario.lint import TEXT_SIMILARITY_THRESHOLD, TOOL_NAME_SIMILARITY_THRESHOLD, jaccard, shingles
    from ..scenario.lint import scenario_text as _scenario_text
except ImportError:  # pragma: no cover - only while lint.py is absent
    TEXT_SIMILARITY_THRESHOLD = 0.30
    TOOL_NAME_SIMILARITY_THRESHOLD = 0.5
    _WORD = re.compile(r"[a-z0-9]+")

    def shingles(text: str, k: int = 3) -> set[tuple[str, ...]]:
        words = _WORD.findall(text.lower())
        if len(words) < k:
            return {tuple(words)} if words else set()
        return {tuple(words[i : i + k]) for i in range(len(words) - k + 1)}

    def jaccard(a: set, b: set) -> float:
        return len(a & b) / len(a | b) if (a or b) else 0.0

    def _scenario_text(s: Scenario) -> str:
        return "\n".join([s.title, s.agent_role, s.situation] + [t.description for t in s.tools])


@dataclass(frozen=True)
class Match:
    other: str
    text: float
    tool_names: float

    @property
    def score(self) -> float:
        return max(self.text, self.tool_names)

    def too_similar(
        self, text_threshold: float = TEXT_SIMILARITY_THRESHOLD, name_threshold: float = TOOL_NAME_SIMILARITY_THRESHOLD
    ) -> bool:
        return self.text > text_threshold or self.tool_names >= name_threshold

    def reason(self) -> str:
        return (
            f"near-duplicate of {self.other}: text similarity {self.text:.3f} (limit {TEXT_SIMILARITY_THRESHOLD:.2f}), "
            f"tool-name similarity {self.tool_names:.3f} (limit {TOOL_NAME_SIMILARITY_THRESHOLD:.2f})"
        )


_PARSED: dict[tuple[str, int, int], Scenario] = {}  # (path, mtime_ns, size) -> parsed file; re-read when it changes


def _load_file(path: Path) -> Scenario:
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    if key not in _PARSED:
        _PARSED[key] = load_scenario(path)
    return _PARSED[key]


def load_existing(out_dir: str | Path | None, exclude_ids: set[str] | None = None) -> tuple[list[Scenario], list[str]]:
    """Built-in scenarios plus scenario files already in out_dir, loaded file by file. (scenarios,
    problems): a file that does not load (someone is half-way through editing it) is skipped and named
    in problems, never fatal."""
    problems: list[str] = []
    found: list[Scenario] = []
    files = sorted(builtin_dir().glob("*.yaml"))
    if out_dir is not None and Path(out_dir).is_dir():
        files += sorted(Path(out_dir).glob("*.yaml"))
    for path in files:
        try:
            found.append(_load_file(path))
        except ScenarioError as exc:
            problems.extend(exc.problems)
        except OSError as exc:  # removed between glob and read
            problems.append(f"{path}:(file): {exc.strerror}")
    exclude = exclude_ids or set()
    return [s for s in found if s.id not in exclude], problems


def _names(s: Scenario) -> set[str]:
    return {t.name for t in s.tools}


def most_similar(scenario: Scenario, others: list[Scenario]) -> Match | None:
    mine = shingles(_scenario_text(scenario))
    best: Match | None = None
    for other in others:
        if other.id == scenario.id:
            continue
        m = Match(
            other.id,
            round(jaccard(mine, shingles(_scenario_text(other))), 4),
            round(jaccard(_names(scenario), _names(other)), 4),
        )
        if best is None or m.score > best.score:
            best = m
    return best


def duplicate_of(scenario: Scenario, others: list[Scenario]) -> Match | None:
    """The most similar existing scenario when it is too similar, else None."""
    mine = shingles(_scenario_text(scenario))
    worst: Match | None = None
    for other in others:
        if other.id == scenario.id:
            continue
        m = Match(
            other.id,
            round(jaccard(mine, shingles(_scenario_text(other))), 4),
            round(jaccard(_names(scenario), _names(other)), 4),
        )
        if m.too_similar() and (worst is None or m.score > worst.score):
            worst = m
    return worst
