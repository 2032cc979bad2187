"""YAML with line numbers: every value's place in the file, so import errors can name the user's line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .loader import MAX_FILE_BYTES, NoAliasLoader, ScenarioError

Path_ = tuple[object, ...]  # keys (str) and list indices (int) from the document root


@dataclass
class LocatedYaml:
    """A parsed YAML document plus the line (1-based) where each key and value starts."""

    source: str
    text: str
    data: object
    key_lines: dict[Path_, int] = field(default_factory=dict)
    value_nodes: dict[Path_, yaml.Node] = field(default_factory=dict)

    def line(self, path: Path_) -> int:
        """Line of the key at `path` (or of the value for list items), else of the nearest parent."""
        while path:
            if path in self.key_lines:
                return self.key_lines[path]
            path = path[:-1]
        return 1

    def text_line(self, path: Path_, offset: int, snippet: str = "") -> int:
        """Line in the file of line `offset` (0-based) inside the string value at `path`.

        Literal block scalars (`|`) keep lines one to one; other styles fold lines, so the line is found
        by searching the value's span for `snippet`, falling back to where the value starts."""
        node = self.value_nodes.get(path)
        if not isinstance(node, yaml.ScalarNode):
            return self.line(path)
        if node.style == "|":
            return node.start_mark.line + 2 + offset
        probe = " ".join(snippet.split())[:24]
        if probe:
            lines = self.text.splitlines()
            for i in range(node.start_mark.line, min(node.end_mark.line + 1, len(lines))):
                if probe in " ".join(lines[i].split()):
                    return i + 1
        return node.start_mark.line + 1


def _index(node: yaml.Node, path: Path_, out: LocatedYaml, loader: NoAliasLoader) -> None:
    out.value_nodes[path] = node
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            sub = path + (key if isinstance(key, (str, int)) else str(key),)
            out.key_lines[sub] = key_node.start_mark.line + 1
            _index(value_node, sub, out, loader)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            sub = path + (i,)
            out.key_lines[sub] = item.start_mark.line + 1
            _index(item, sub, out, loader)


def read_located(path: str | Path) -> LocatedYaml:
    """Read one YAML file (size-checked, safe, no aliases) with its line index."""
    path = Path(path)
    source = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ScenarioError([f"{source}:(file): {size} bytes is over the {MAX_FILE_BYTES}-byte limit"])
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError([f"{source}:(file): cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError([f"{source}:(file): not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    loader = NoAliasLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
        located = LocatedYaml(source=source, text=text, data=data)
        if node is not None:
            _index(node, (), located, loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1}" if mark else "1"
        raise ScenarioError([f"{source}:{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}"]) from None
    finally:
        loader.dispose()
    return located
