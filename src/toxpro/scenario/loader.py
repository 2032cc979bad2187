"""Load scenarios from YAML with one `file:field: problem` line per violation."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from ..core.errors import UserError
from .schema import MORAL_WORDS, Scenario

MAX_FILE_BYTES = 1_000_000


class ScenarioError(UserError, ValueError):
    """Every problem found in one or more scenario files, each naming file and field."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def _field_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


MAX_DEPTH = 64  # nesting levels; far more than any scenario or sweep file needs


class NoAliasLoader(yaml.SafeLoader):
    """Safe YAML (no python/object tags) without anchors/aliases: these files never need them, and
    aliases nested in aliases ("billion laughs") expand exponentially once the data is walked.
    Nesting is capped at MAX_DEPTH (deeper files would hit Python's recursion limit) and a key
    given twice in one mapping is an error (YAML would silently keep the last value)."""

    _depth = 0

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.YAMLError(f"aliases (*{event.anchor}) are not allowed (line {event.start_mark.line + 1})")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: SafeConstructor reports it
                    continue
                if first is not None:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first given on line {first})", key_node.start_mark
                    )
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def decode_text(raw: bytes, source: str) -> str:
    """UTF-8 text of a file, or a ScenarioError naming the file and the first bad byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            [
                f"{source}:(file): not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                "scenario files are UTF-8 YAML"
            ]
        ) from None


def _safe_load(text: str, source: str) -> object:
    if "\x00" in text:
        raise ScenarioError(
            [f"{source}:(file): binary file (NUL byte at offset {text.index(chr(0))}); scenario files are UTF-8 YAML"]
        )
    try:
        return yaml.load(text, Loader=NoAliasLoader)
    except RecursionError:
        raise ScenarioError([f"{source}:(root): nested too deeply"]) from None
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
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError([f"{source}:(file): cannot read: {exc.strerror}"]) from None
    return _safe_load(decode_text(raw, source), source), source


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
