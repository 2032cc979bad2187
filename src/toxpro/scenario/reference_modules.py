"""The prompt modules of a reference-format file, in every layout the paper's simulator accepts.

A side (agent or environment) is written as one of:
- a list of modules: `{heading, body, scope}` (also `title`/`name` for the heading, `content` for the
  whole text, `enabled: false`, `include_once: true`, `repeat: false`), or plain strings;
- a mapping `{sections: {KEY: module}, order: [KEY, ...]}`;
- a plain mapping `{KEY: module or text}` (the key is the heading);
- a single string `<side>_initial_prompt`, split at its bracketed heading lines.
A module without an explicit scope whose heading mentions "initial" is shown once, as the simulator does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from .reference_yaml import LocatedYaml, Path_

MODULE_KEYS = {"heading", "title", "name", "body", "content", "scope", "enabled", "include_once", "repeat"}
_HEADING_LINE = re.compile(r"^\s*(\[[^\]\n]{1,80}\])\s*$")


@dataclass
class Module:
    """One module as the model would see it, with where it came from."""

    heading: str
    body: str
    scope: str  # "always" or "once"
    label: str  # the user's own key, e.g. 'agent_prompt_modules[2] [TOOLS]'
    path: Path_  # the module in the document
    body_path: Path_  # the string that holds the body (for line numbers)
    body_offset: int = 0  # line of the body inside that string
    data: Any = None  # structured value (a mapping written in place of a text body)
    kind: str = "other"

    def line(self, doc: LocatedYaml, offset: int | None = None, snippet: str = "") -> int:
        if offset is None:
            return doc.line(self.body_path if self.body_path in doc.key_lines else self.path)
        return doc.text_line(self.body_path, self.body_offset + offset, snippet)


@dataclass
class Side:
    """The modules of one side, and notes about what the simulator would not show."""

    key: str
    modules: list[Module] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    found: bool = False

    def of_kind(self, kind: str) -> list[Module]:
        return [m for m in self.modules if m.kind == kind]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip("\n").rstrip()
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True).strip()


def split_headed_text(text: str) -> list[tuple[str, str, int]]:
    """Split text at bracketed heading lines: [(heading, body, body line offset)]; a part before the
    first heading has heading ''."""
    lines = text.splitlines()
    parts: list[tuple[str, list[str], int]] = []
    heading, start, buf = "", 0, []
    for i, line in enumerate(lines):
        m = _HEADING_LINE.match(line)
        if m:
            if heading or any(b.strip() for b in buf):
                parts.append((heading, buf, start))
            heading, start, buf = m.group(1), i + 1, []
        else:
            buf.append(line)
    if heading or any(b.strip() for b in buf):
        parts.append((heading, buf, start))
    out = []
    for h, body_lines, offset in parts:
        while body_lines and not body_lines[0].strip():
            body_lines, offset = body_lines[1:], offset + 1
        out.append((h, "\n".join(body_lines).strip(), offset))
    return out


class _Reader:
    def __init__(self, side: Side, doc: LocatedYaml):
        self.side, self.doc = side, doc

    def note(self, path: Path_, text: str) -> None:
        self.side.notes.append(f"line {self.doc.line(path)}, {text}")

    def add_string(self, value: str, path: Path_, label: str, default_heading: str = "") -> None:
        parts = split_headed_text(value)
        for _i, (heading, body, offset) in enumerate(parts):
            heading = heading or default_heading
            if not heading:
                self.note(path, f"{label}: text without a [HEADING]; kept in source_modules, not mapped")
            part_label = (
                label if len(parts) == 1 and default_heading else f"{label} {heading or '(no heading)'}".strip()
            )
            self.side.modules.append(
                Module(
                    heading=heading,
                    body=body,
                    scope="always",
                    label=part_label,
                    path=path,
                    body_path=path,
                    body_offset=offset,
                )
            )

    def add_module(self, value: Any, path: Path_, label: str, default_heading: str = "") -> None:
        if isinstance(value, str):
            self.add_string(value, path, label, default_heading)
            return
        if not isinstance(value, dict) or (default_heading and not (set(value) & MODULE_KEYS)):
            # a value that is not a module: structured data under a heading (e.g. ground_truth: {...})
            if not default_heading:
                self.note(path, f"{label}: a {type(value).__name__} is not a module; not mapped")
                return
            self.side.modules.append(
                Module(
                    heading=default_heading,
                    body=_text(value),
                    scope="always",
                    label=label,
                    path=path,
                    body_path=path,
                    data=value,
                )
            )
            return
        raw_heading = value.get("heading") or value.get("title") or value.get("name") or default_heading
        if isinstance(raw_heading, list) and len(raw_heading) == 1:  # `heading: [ROLE]` unquoted is a YAML list
            raw_heading = f"[{raw_heading[0]}]"
        heading = str(raw_heading).strip()
        shown = f"{label} {heading}" if heading and not default_heading else label
        if value.get("enabled", True) is False:
            self.note(path, f"{shown}: enabled: false; the simulator never shows it; skipped")
            return
        for key in sorted(set(value) - MODULE_KEYS):
            self.note(path + (key,), f"{shown}.{key}: unknown module key, not mapped")
        scope = str(value.get("scope", "always")).strip().lower()
        if value.get("include_once") is True or value.get("repeat") is False:
            scope = "once"
        if not value.get("scope") and scope == "always" and "initial" in heading.lower():
            scope = "once"
        if scope not in ("always", "once"):
            self.note(
                path,
                f"{shown}: scope {value.get('scope')!r} is neither always nor once; the simulator never "
                "shows such a module; skipped",
            )
            return
        content = value.get("content")
        if isinstance(content, str) and content.strip():
            parts = split_headed_text(content)
            for h, body, offset in parts:
                self.side.modules.append(
                    Module(
                        heading=h or heading,
                        body=body,
                        scope=scope,
                        label=f"{label} {h or heading}".strip() if not default_heading else label,
                        path=path,
                        body_path=path + ("content",),
                        body_offset=offset,
                    )
                )
            return
        body = value.get("body", "")
        data = body if isinstance(body, (dict, list)) else None
        if not heading:
            self.note(path, f"{label}: module without a heading; kept in source_modules, not mapped")
        self.side.modules.append(
            Module(
                heading=heading,
                body=_text(body),
                scope=scope,
                label=shown,
                path=path,
                body_path=path + ("body",),
                data=data,
            )
        )


def read_side(doc: LocatedYaml, prefix: str) -> Side:
    """The modules of `<prefix>_prompt_modules` (or `<prefix>_initial_prompt`), in order."""
    data = doc.data if isinstance(doc.data, dict) else {}
    key = f"{prefix}_prompt_modules"
    side = Side(key=key)
    reader = _Reader(side, doc)
    modules = data.get(key)
    if not modules:
        fallback = data.get(f"{prefix}_initial_prompt")
        if isinstance(fallback, str) and fallback.strip():
            side.key, side.found = f"{prefix}_initial_prompt", True
            reader.add_string(fallback, (side.key,), side.key)
        return side
    side.found = True
    if isinstance(modules, list):
        for i, item in enumerate(modules):
            reader.add_module(item, (key, i), f"{key}[{i}]")
    elif isinstance(modules, dict) and isinstance(modules.get("sections"), dict):
        sections = modules["sections"]
        order = modules.get("order") or list(sections)
        for name in order:
            if name not in sections:
                reader.note((key, "order"), f"{key}.order: {name!r} names no section; skipped")
                continue
            reader.add_module(sections[name], (key, "sections", name), f"{key}.sections.{name}", str(name))
        for name in sections:
            if name not in order:
                reader.note(
                    (key, "sections", name),
                    f"{key}.sections.{name}: not in order, so the simulator never shows it; skipped",
                )
    elif isinstance(modules, dict):
        for name, value in modules.items():
            reader.add_module(value, (key, name), f"{key}.{name}", str(name))
    elif isinstance(modules, str):
        reader.add_string(modules, (key,), key)
    else:
        side.found = False
    return side


# --- what each module is for ------------------------------------------------------------------

_AGENT_KINDS = [
    ("output", r"OUTPUT|FORMAT|RESPONSE"),
    ("stakes", r"STAKES|CONSEQUENCE"),
    ("liability", r"LIABILIT|ACCOUNTAB"),
    ("ethics", r"ETHIC|MORAL|FRAMEWORK|PRINCIPLE|VALUES"),
    ("tools", r"TOOL|ACTIONS|\bAPI|FUNCTION"),
    ("goals", r"GOAL|OBJECTIVE|DIRECTIVE|MISSION|PRIORIT"),
    ("capabilities", r"CAPABILIT|PERMISSION|ACCESS|SKILL|RESPONSIBILIT|DUTIES"),
    ("situation", r"INITIAL|SITUATION|TASK|REQUEST|BACKGROUND|CONTEXT|SCENARIO|MESSAGE|TRIGGER"),
    ("role", r"ROLE|IDENTITY|PERSONA|PROFILE|SYSTEM"),
]
_ENV_KINDS = [
    ("output", r"OUTPUT|FORMAT|RESPONSE"),
    ("state", r"STATE"),
    ("ground_truth", r"TRUTH|EVIDENCE|FACT|DATA|RECORD"),
    ("behaviour", r"BEHAVIO|LOGIC|RULE|SIMULAT|ENVIRONMENT|WORLD|ROLE|FEEDBACK|INSTRUCTION|PRESSURE"),
]


def classify(heading: str, prefix: str) -> str:
    name = re.sub(r"[\[\]#*`_\-]+", " ", heading).upper()
    for kind, pattern in _AGENT_KINDS if prefix == "agent" else _ENV_KINDS:
        if re.search(pattern, name):
            return kind
    return "other"


def classify_side(side: Side, prefix: str) -> None:
    for m in side.modules:
        if m.heading:
            m.kind = classify(m.heading, prefix)
