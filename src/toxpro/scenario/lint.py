"""Quality checks over a scenario bank: per-scenario findings, pairwise diversity and grid coverage.

`lint(scenarios)` never raises on content problems; it returns a `LintReport` whose `ok` is False
when any finding has level "error" (including near-duplicate pairs).
"""

from __future__ import annotations

import itertools
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from . import gates
from .schema import MORAL_WORDS, Domain, Motivation, Role, Scenario

# A pair of scenarios whose text similarity (Jaccard over word 3-shingles) exceeds this is a
# near-duplicate. Distinct hand-written scenarios sit far below 0.1; a copy with a few words
# changed sits far above 0.5.
TEXT_SIMILARITY_THRESHOLD = 0.30
# Jaccard over the sets of tool names: 0.5 means 4 of 6 names are shared.
TOOL_NAME_SIMILARITY_THRESHOLD = 0.5

MIN_EVIDENCE_KEYS = 3
MIN_EVIDENCE_CHARS = 150

ROLE_WORDS = re.compile(
    r"\b(validator|registrar|inhibitor|modifier|standard[- ]terminal|direct[- ]terminal|"
    r"compliant[- ]track|toxic[- ]track)\b",
    re.IGNORECASE,
)
ENDS_TASK = "ends the task"
CANARY_PREFIX = "TOXPRO-CANARY "
_UUID = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+")

Level = Literal["error", "warning", "info"]


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)
    scenario: str = Field(description="scenario id, or '(bank)' for findings about the whole set")
    level: Level
    code: str
    message: str
    field: str = Field(default="", description="the field at fault, e.g. tools[2].description")
    file: str = Field(default="", description="the file the scenario was read from, when known")


class PairSimilarity(BaseModel):
    model_config = ConfigDict(frozen=True)
    a: str
    b: str
    text: float = Field(description="Jaccard over word 3-shingles of title, role, situation and tool descriptions")
    tool_names: float = Field(description="Jaccard over the sets of tool names")

    @property
    def score(self) -> float:
        return max(self.text, self.tool_names)

    def too_similar(self, text_threshold: float, name_threshold: float) -> bool:
        return self.text > text_threshold or self.tool_names >= name_threshold


class LintReport(BaseModel):
    model_config = ConfigDict(frozen=True)
    scenario_ids: list[str]
    findings: list[Finding]
    max_pair: PairSimilarity | None
    similar_pairs: list[PairSimilarity] = Field(description="pairs over a threshold, most similar first")
    text_threshold: float
    tool_name_threshold: float
    coverage: dict[str, dict[str, int]] = Field(description="domain -> motivation -> count")

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def for_scenario(self, scenario_id: str) -> list[Finding]:
        return [f for f in self.findings if f.scenario == scenario_id]

    def format_text(self) -> str:
        lines = [
            f"Linted {len(self.scenario_ids)} scenario(s): {len(self.errors)} error(s), "
            f"{len(self.warnings)} warning(s) -> {'OK' if self.ok else 'FAILED'}",
        ]
        by_scenario: dict[str, list[Finding]] = {}
        for f in self.findings:
            by_scenario.setdefault(f.scenario, []).append(f)
        for sid in sorted(by_scenario):
            lines.append(f"  {sid}:")
            for f in sorted(by_scenario[sid], key=lambda f: (f.level != "error", f.code)):
                lines.append(f"    {f.level.upper():7} {f.code}: {f.message}")
        lines.append(
            f"Diversity (fail if text > {self.text_threshold:.2f} or tool names >= {self.tool_name_threshold:.2f}):"
        )
        if self.max_pair is None:
            lines.append("  fewer than two scenarios; nothing to compare")
        else:
            p = self.max_pair
            lines.append(f"  most similar pair: {p.a} / {p.b}  text={p.text:.3f} tool_names={p.tool_names:.3f}")
            for p in self.similar_pairs:
                lines.append(f"  TOO SIMILAR: {p.a} / {p.b}  text={p.text:.3f} tool_names={p.tool_names:.3f}")
        motivations = [m.value for m in Motivation]
        width = max(len(d.value) for d in Domain)
        lines.append("Coverage (domain x motivation):")
        lines.append("  " + " " * width + "  " + "  ".join(f"{m:>17}" for m in motivations))
        for d in Domain:
            row = self.coverage.get(d.value, {})
            lines.append(f"  {d.value:<{width}}  " + "  ".join(f"{row.get(m, 0):>17}" for m in motivations))
        return "\n".join(lines)


# --- similarity ------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def shingles(text: str, k: int = 3) -> set[tuple[str, ...]]:
    words = _words(text)
    if len(words) < k:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + k]) for i in range(len(words) - k + 1)}


def jaccard(a: set[Any], b: set[Any]) -> float:
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


def scenario_text(s: Scenario) -> str:
    parts = [s.title, s.agent_role, s.situation] + [t.description for t in s.tools]
    return "\n".join(parts)


def similarity(a: Scenario, b: Scenario) -> PairSimilarity:
    return PairSimilarity(
        a=a.id,
        b=b.id,
        text=round(jaccard(shingles(scenario_text(a)), shingles(scenario_text(b))), 4),
        tool_names=round(jaccard({t.name for t in a.tools}, {t.name for t in b.tools}), 4),
    )


def pairwise(scenarios: list[Scenario]) -> list[PairSimilarity]:
    """Every unordered pair, most similar first."""
    cache = {id(s): shingles(scenario_text(s)) for s in scenarios}
    out = []
    for a, b in itertools.combinations(scenarios, 2):
        out.append(
            PairSimilarity(
                a=a.id,
                b=b.id,
                text=round(jaccard(cache[id(a)], cache[id(b)]), 4),
                tool_names=round(jaccard({t.name for t in a.tools}, {t.name for t in b.tools}), 4),
            )
        )
    out.sort(key=lambda p: (-p.score, p.a, p.b))
    return out


# --- per-scenario checks ---------------------------------------------------------------------


def _evidence_chars(value: Any) -> int:
    if isinstance(value, dict):
        return sum(len(str(k)) + _evidence_chars(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return sum(_evidence_chars(v) for v in value)
    return len(str(value))


def _schema_strings(value: Any) -> list[str]:
    """Descriptions and enum values inside a parameters JSON schema (shown to the agent)."""
    out: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "description" and isinstance(v, str):
                out.append(v)
            elif k == "enum" and isinstance(v, list):
                out.extend(str(x) for x in v)
            else:
                out.extend(_schema_strings(v))
    elif isinstance(value, list):
        for v in value:
            out.extend(_schema_strings(v))
    return out


# Characters no scenario text needs: C0/C1 controls other than tab and newline, and the Unicode
# bidirectional overrides that make text read differently from how it is stored.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
CHARS_PER_TOKEN = 4  # a rough estimate for English prose
MAX_FIELD_TOKENS = 1000  # one field over this is probably pasted by mistake (the agent's prompt grows with it)
MAX_SCENARIO_TOKENS = 6000  # all the text: small local models have 8k-token contexts


def _strings(value: Any, path: str) -> list[tuple[str, str]]:
    """(field path, text) for every string inside a dumped scenario, keys of mappings included."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            out += _strings(str(k), f"{path}.{k} (key)") + _strings(v, f"{path}.{k}" if path else str(k))
        return out
    if isinstance(value, (list, tuple)):
        return [pair for i, v in enumerate(value) for pair in _strings(v, f"{path}[{i}]")]
    return []


def tokens_estimate(text: str) -> int:
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def check_text(s: Scenario) -> list[Finding]:
    """Control characters anywhere (error) and oversize fields or scenarios (warning, with a token estimate)."""
    found: list[Finding] = []
    total = 0
    for path, text in _strings(s.model_dump(mode="json"), ""):
        m = _CONTROL.search(text)
        if m:
            found.append(
                Finding(
                    scenario=s.id,
                    level="error",
                    code="control-character",
                    message=f"{path}: control character U+{ord(m.group(0)):04X} at offset {m.start()}; "
                    "remove it (it is invisible or rewrites how the text reads)",
                )
            )
        n = tokens_estimate(text)
        total += n
        if n > MAX_FIELD_TOKENS:
            found.append(
                Finding(
                    scenario=s.id,
                    level="warning",
                    code="oversize-field",
                    message=f"{path}: about {n:,} tokens ({len(text):,} characters); over "
                    f"{MAX_FIELD_TOKENS:,} tokens in one field",
                )
            )
    if total > MAX_SCENARIO_TOKENS:
        found.append(
            Finding(
                scenario=s.id,
                level="warning",
                code="oversize-scenario",
                message=f"about {total:,} tokens of text in all; over {MAX_SCENARIO_TOKENS:,}, "
                "it may not fit a small model's context with the run's turns",
            )
        )
    return found


def gate_findings(s: Scenario, file: str = "") -> list[Finding]:
    """The deterministic gates (scenario.gates), shared with synthesis: each failure is an error."""
    return [
        Finding(
            scenario=s.id,
            level="error",
            code=f"gate-{g.code}",
            field=g.field,
            file=file,
            message=f"{file + ':' if file else ''}{g.field}: {g.reason}",
        )
        for g in gates.check(s)
    ]


def check_scenario(s: Scenario, file: str = "") -> list[Finding]:
    found: list[Finding] = check_text(s) + gate_findings(s, file)

    def add(level: Level, code: str, message: str) -> None:
        found.append(Finding(scenario=s.id, level=level, code=code, message=message))

    names = [t.name for t in s.tools]
    for i, tool in enumerate(s.tools):
        where = f"tools[{i}] {tool.name}"
        ends = ENDS_TASK in tool.behaviour.lower()
        if tool.role.is_terminal and not ends:
            add("error", "terminal-behaviour", f'{where}: terminal behaviour must say "Ends the task."')
        if not tool.role.is_terminal and ends:
            add("error", "non-terminal-ends", f"{where}: {tool.role.value} behaviour says it ends the task")
        m = ROLE_WORDS.search(tool.description)
        if m:
            add(
                "error",
                "role-words",
                f"{where}: description names a design role ({m.group(0)!r}); describe the action only",
            )
        for other in names:
            if other != tool.name and re.search(rf"\b{re.escape(other)}\b", tool.description):
                add("warning", "names-other-tool", f"{where}: description refers to tool {other!r}")
        for text in _schema_strings(tool.parameters):
            m = MORAL_WORDS.search(text)
            if m:
                add(
                    "error",
                    "moral-word-parameters",
                    f"{where}: moral word {m.group(0)!r} in a parameter description or enum",
                )
        if tool.description.strip().lower() == tool.behaviour.strip().lower():
            add("warning", "behaviour-copies-description", f"{where}: behaviour repeats the description")

    levels = {"high": s.stakes.high, "medium": s.stakes.medium, "low": s.stakes.low} if s.stakes else {}
    if s.stakes is None:
        add("info", "stakes-not-graded", "stakes are not graded: only stakes=high (the baseline) can run")
    for (la, ta), (lb, tb) in itertools.combinations(levels.items(), 2):
        if " ".join(ta.split()).lower() == " ".join(tb.split()).lower():
            add("error", "stakes-identical", f"stakes.{la} and stakes.{lb} are identical")

    if len(s.evidence) < MIN_EVIDENCE_KEYS:
        add(
            "warning",
            "evidence-thin",
            f"evidence has {len(s.evidence)} top-level key(s); at least {MIN_EVIDENCE_KEYS} expected",
        )
    chars = _evidence_chars(s.evidence)
    if chars < MIN_EVIDENCE_CHARS:
        add("warning", "evidence-short", f"evidence is only {chars} characters; give records, IDs, clauses and numbers")

    if not s.canary.strip():
        add("error", "canary-missing", "canary is empty")
    else:
        if not s.canary.startswith(CANARY_PREFIX):
            add("error", "canary-format", f"canary must start with {CANARY_PREFIX.strip()!r}")
        if not s.canary.endswith(s.id):
            add("warning", "canary-id", "canary should end with the scenario id")
        if not _UUID.search(s.canary):
            add("warning", "canary-uuid", "canary has no uuid4; generate one so it is globally unique")

    if not s.initial_state:
        add("warning", "initial-state-empty", "initial_state is empty; list the state the tools change")
    if not s.tags:
        add("warning", "tags-empty", "tags are empty; name the toxic tactics")
    if s.agent_goals and len(set(s.agent_goals)) != len(s.agent_goals):
        add("warning", "goals-duplicate", "agent_goals has duplicates")
    order = [t.role for t in s.tools]
    if order == list(Role):
        add("warning", "canonical-order", "tools are listed in canonical role order; vary the order")
    return found


# --- the bank --------------------------------------------------------------------------------


def coverage(scenarios: list[Scenario]) -> dict[str, dict[str, int]]:
    grid = {d.value: {m.value: 0 for m in Motivation} for d in Domain}
    for s in scenarios:
        grid[s.domain.value][s.motivation.value] += 1
    return grid


def lint(
    scenarios: list[Scenario],
    *,
    text_threshold: float = TEXT_SIMILARITY_THRESHOLD,
    tool_name_threshold: float = TOOL_NAME_SIMILARITY_THRESHOLD,
    expected_per_cell: int | None = None,
    sources: dict[str, str] | None = None,
) -> LintReport:
    """Lint a list of scenarios. With expected_per_cell, every domain x motivation cell must hold exactly that many.
    `sources` maps scenario id -> file, so that gate findings name the file."""
    findings: list[Finding] = []
    for s in scenarios:
        findings.extend(check_scenario(s, (sources or {}).get(s.id, "")))

    ids = [s.id for s in scenarios]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        findings.append(
            Finding(scenario=dup, level="error", code="id-duplicate", message="scenario id appears more than once")
        )
    canaries: dict[str, list[str]] = {}
    for s in scenarios:
        if s.canary.strip():
            canaries.setdefault(s.canary.strip(), []).append(s.id)
    for owners in canaries.values():
        if len(owners) > 1:
            for sid in owners:
                others = ", ".join(o for o in owners if o != sid)
                findings.append(
                    Finding(
                        scenario=sid, level="error", code="canary-duplicate", message=f"canary also used by {others}"
                    )
                )

    pairs = pairwise(scenarios)
    similar = [p for p in pairs if p.too_similar(text_threshold, tool_name_threshold)]
    for p in similar:
        findings.append(
            Finding(
                scenario=p.b,
                level="error",
                code="near-duplicate",
                message=f"too similar to {p.a} (text {p.text:.3f}, tool names {p.tool_names:.3f})",
            )
        )

    grid = coverage(scenarios)
    for d, row in grid.items():
        for m, n in row.items():
            if expected_per_cell is not None and n != expected_per_cell:
                findings.append(
                    Finding(
                        scenario="(bank)",
                        level="error",
                        code="coverage",
                        message=f"{d} x {m}: {n} scenario(s), expected {expected_per_cell}",
                    )
                )
            elif expected_per_cell is None and n == 0 and len(scenarios) >= len(Domain) * len(Motivation):
                findings.append(
                    Finding(scenario="(bank)", level="warning", code="coverage", message=f"{d} x {m}: no scenarios")
                )

    return LintReport(
        scenario_ids=ids,
        findings=findings,
        max_pair=pairs[0] if pairs else None,
        similar_pairs=similar,
        text_threshold=text_threshold,
        tool_name_threshold=tool_name_threshold,
        coverage=grid,
    )


def source_files(selectors: list[str] | None) -> dict[str, str]:
    """Scenario id -> the file it is read from, for the same selectors `loader.resolve` takes."""
    from pathlib import Path

    from .loader import ScenarioError, builtin_dir, load_scenario

    dirs = [builtin_dir()] if not selectors or selectors == ["all"] else []
    files: list[Path] = []
    for sel in selectors or []:
        p = Path(sel)
        if p.is_dir():
            dirs.append(p)
        elif p.exists():
            files.append(p)
        elif (builtin_dir() / f"{sel}.yaml").exists():
            files.append(builtin_dir() / f"{sel}.yaml")
    for d in dirs:
        files.extend(sorted(d.glob("*.yaml")) + sorted(d.glob("*.yml")))
    out: dict[str, str] = {}
    for f in files:
        try:
            out.setdefault(load_scenario(f).id, str(f))
        except ScenarioError:
            continue
    return out
