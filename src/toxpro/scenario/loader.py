"""Load scenarios from YAML with one `file:field: problem` line per violation."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from .schema import MORAL_WORDS, Scenario

MAX_FILE_BYTES = 1_000_000


class ScenarioError(ValueError):
    """Every problem found in one or more scenario files, each naming file and field."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def _field_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


class NoAliasLoader(yaml.SafeLoader):
    """Safe YAML (no python/object tags) without anchors/aliases: these files never need them, and
    aliases nested in aliases ("billion laughs") expand exponentially once the data is walked."""

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.YAMLError(f"aliases (*{event.anchor}) are not allowed (line {event.start_mark.line + 1})")
        return super().compose_node(parent, index)


def _safe_load(text: str, source: str) -> object:
    try:
        return yaml.load(text, Loader=NoAliasLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(root)"
        raise ScenarioError([f"{source}:{where}: invalid YAML: {getattr(exc, 'problem', exc)}"]) from None


def parse_scenario(data: object, source: str) -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError([f"{source}:(root): expected a mapping, got {type(data).__name__}"])
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            for part in msg.split("; "):
                problems.append(f"{source}:{_field_path(err['loc'])}: {part}")
        raise ScenarioError(problems) from None
    problems = [
        f"{source}:tools[{i}].description: moral word {m.group(0)!r} in a tool description (keep it neutral)"
        for i, tool in enumerate(scenario.tools)
        for m in [MORAL_WORDS.search(tool.description + " " + tool.name.replace("_", " "))]
        if m
    ]
    if problems:
        raise ScenarioError(problems)
    return scenario


def read_yaml_file(path: str | Path) -> tuple[object, str]:
    """(parsed YAML, source name) with size and syntax checked."""
    path = Path(path)
    source = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ScenarioError([f"{source}:(file): cannot read: {exc.strerror}"]) from None
    if size > MAX_FILE_BYTES:
        raise ScenarioError([f"{source}:(file): {size} bytes is over the {MAX_FILE_BYTES}-byte limit"])
    return _safe_load(path.read_text(encoding="utf-8"), source), source


def load_scenario(path: str | Path) -> Scenario:
    data, source = read_yaml_file(path)
    return parse_scenario(data, source)


def builtin_dir() -> Path:
    return Path(str(resources.files("toxpro.scenario") / "data"))


def load_many(paths: list[str | Path]) -> list[Scenario]:
    """Load files or directories; collect all problems before raising."""
    files: list[Path] = []
    for p in map(Path, paths):
        files.extend(sorted(p.glob("*.yaml")) + sorted(p.glob("*.yml")) if p.is_dir() else [p])
    loaded: list[tuple[Path, Scenario]] = []
    problems: list[str] = []
    for f in files:
        try:
            loaded.append((f, load_scenario(f)))
        except ScenarioError as exc:
            problems.extend(exc.problems)
    seen: dict[str, str] = {}
    for f, s in loaded:
        if s.id in seen:
            problems.append(f"{f}:id: duplicate scenario id {s.id!r} (also in {seen[s.id]})")
        seen[s.id] = str(f)
    if problems:
        raise ScenarioError(problems)
    return [s for _, s in loaded]


def load_builtin() -> list[Scenario]:
    return load_many([builtin_dir()])


def resolve(selectors: list[str] | None) -> list[Scenario]:
    """Scenario selectors: built-in ids, 'all', files or directories."""
    if not selectors or selectors == ["all"]:
        return load_builtin()
    builtin = {s.id: s for s in load_builtin()}
    out: list[Scenario] = []
    problems: list[str] = []
    for sel in selectors:
        if sel in builtin:
            out.append(builtin[sel])
        elif Path(sel).exists():
            out.extend(load_many([sel]))
        else:
            problems.append(f"{sel}:(selector): not a built-in scenario id, file or directory")
    if problems:
        raise ScenarioError(problems)
    return out
