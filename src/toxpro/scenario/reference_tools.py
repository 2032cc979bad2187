"""Tool lines of a [TOOLS] module and the per-ID logic of an [ENVIRONMENT BEHAVIOUR] module.

Tool lines come in the layouts prompt compilers write, e.g.::

    1. name(a, b): description          ID 1: name(a, b) - description
    **1. name**(a): description         - **name**(a): description      (IDs by order)
    1) `name` - description             name(a, b) - description        (IDs by order)

with optional continuation lines (`Parameters: ...`, `Description: ...`, indented text).
Per-ID logic: `IF tool_id == 3: ...`, `ELIF tool_id in [4, 5]: ...`, `ID 2 (name): ...`, `name: ...`.
Offsets are 0-based lines inside the module body; the importer turns them into file lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NAME = r"[A-Za-z_][A-Za-z0-9_.\-]*"
_MARK = r"(?:\*\*|__|`)*"
_BULLET = r"(?:#{1,6}\s*)?(?:[-*+•]\s+)?"
_PARAMS = r"\((?P<params>(?:[^()]|\([^()]*\))*)\)"
# A numbered header: the number comes after an optional "ID"/"Tool" word, bold marks or a bracket.
_NUMBERED = re.compile(
    rf"^\s*{_BULLET}{_MARK}\s*(?P<word>(?:tool\s*)?id\s*[:#]?|tool\s*#?|#)?\s*(?P<br>\[)?(?P<id>\d{{1,2}})\]?{_MARK}"
    rf"\s*(?P<sep>[.):\-–—]|\s)\s*(?P<rest>.+)$",
    re.IGNORECASE,
)
_REST = re.compile(
    rf"^{_MARK}\s*\(?\s*(?P<name>{_NAME})\s*\)?{_MARK}\s*(?:{_PARAMS})?{_MARK}"
    rf"\s*(?:(?:[:|\-–—]|->)\s*(?P<desc>.*))?$"
)
# Unnumbered: a bold or backticked name, or name(params) followed by a separator.
_BOLD = re.compile(
    rf"^\s*{_BULLET}(?:\*\*|__|`)+(?P<name>{_NAME})(?:\*\*|__|`)*\s*(?:{_PARAMS})?{_MARK}"
    rf"\s*(?:(?:[:|\-–—]|->)\s*(?P<desc>.*))?$"
)
_CALL = re.compile(rf"^\s*{_BULLET}(?P<name>{_NAME})\s*{_PARAMS}\s*(?:[:|\-–—]|->)\s*(?P<desc>.+)$")
_ROLE_TAG = re.compile(
    r"[\[(]\s*(?:role\s*:\s*)?(?:the\s+)?(?:validator|registrar|standard[\s_-]*(?:terminal|executor)|inhibitor|"
    r"modifier|direct[\s_-]*(?:terminal|executor)|directexecutor|helper|terminal)[^\])]*[\])]\s*",
    re.IGNORECASE,
)
_LABELLED = re.compile(
    r"^\s*[-*+•]?\s*(?:\*\*|__)?(?P<label>parameters?|params|arguments?|args|inputs?|"
    r"description|desc|returns?|output|purpose)(?:\*\*|__)?\s*:(?:\*\*|__)?\s*(?P<text>.*)$",
    re.IGNORECASE,
)
_PARAM_BULLET = re.compile(rf"^\s*[-*+•]\s*{_MARK}(?P<name>[A-Za-z_]\w*){_MARK}")
_PARAM_NAME = re.compile(r"[A-Za-z_]\w*")


@dataclass
class ToolLine:
    id: int | None
    name: str
    params: list[str]
    description: str
    offset: int


@dataclass
class ToolParse:
    tools: list[ToolLine] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (offset, text) of lines not understood
    role_tags: int = 0


def parse_params(spec: str) -> list[str]:
    """Parameter names from 'a, b: str, c (string), `d`=1'; type hints and defaults are dropped."""
    out: list[str] = []
    spec = spec.strip()
    if spec[:1] in "[{" and spec[-1:] in "]}":
        spec = spec[1:-1]
    depth, part, parts = 0, "", []
    for ch in spec:
        if ch in "[{<(":
            depth += 1
        elif ch in "]}>)":
            depth -= 1
        if ch == "," and depth <= 0:
            parts.append(part)
            part = ""
        else:
            part += ch
    parts.append(part)
    for p in parts:
        m = _PARAM_NAME.search(p.strip().strip("*`'\""))
        if m and m.group(0).lower() not in ("none", "no", "n") and m.group(0) not in out:
            out.append(m.group(0))
    return out


def _table_row(line: str) -> tuple[int | None, str, str | None, str] | None:
    """| 1 | name | a, b | description |  (header and rule rows give None)."""
    cells = [c.strip().strip("`*") for c in line.strip().strip("|").split("|")]
    if len(cells) < 3 or not cells[0].isdigit():
        return None
    name = re.match(rf"^({_NAME})\s*(?:\((.*)\))?$", cells[1])
    if not name:
        return None
    params = cells[2] if len(cells) >= 4 else name.group(2)
    return int(cells[0]), name.group(1), params, cells[-1]


def _header(line: str, tags: list[int]) -> tuple[int | None, str, str | None, str] | None:
    """(id, name, params or None, description) when the line starts a tool."""
    if line.lstrip().startswith("|"):
        return _table_row(line)
    cleaned, n = _ROLE_TAG.subn("", line)
    m = _NUMBERED.match(cleaned)
    if m and (m.group("sep").strip() or m.group("word") or m.group("br")):
        rest = _REST.match(m.group("rest").strip())
        if rest:
            if n:
                tags.append(n)
            return int(m.group("id")), rest.group("name"), rest.group("params"), (rest.group("desc") or "").strip()
    for pattern in (_BOLD, _CALL):
        m = pattern.match(cleaned)
        if m:
            if n:
                tags.append(n)
            return None, m.group("name"), m.group("params"), (m.group("desc") or "").strip()
    return None


def parse_tool_lines(body: str) -> ToolParse:
    out = ToolParse()
    tags: list[int] = []
    current: ToolLine | None = None
    in_params = False
    after_blank = False
    header_indent = 0
    for offset, raw in enumerate(body.splitlines()):
        if not raw.strip():
            after_blank = True
            continue
        indent = len(raw) - len(raw.lstrip())
        head = _header(raw, tags)
        if head is not None and not (current is not None and in_params and indent > header_indent and head[0] is None):
            num, name, params, desc = head
            current = ToolLine(
                id=num,
                name=name.strip("`*_").rstrip(".:"),
                params=parse_params(params or ""),
                description=desc,
                offset=offset,
            )
            out.tools.append(current)
            in_params, after_blank, header_indent = False, False, indent
            continue
        if current is None:
            out.skipped.append((offset, raw.strip()))
            continue
        labelled = _LABELLED.match(raw)
        continues = not after_blank or indent > header_indent or raw.lstrip()[:1] in "-*+•" or labelled
        if not continues:
            out.skipped.append((offset, raw.strip()))
            current, in_params = None, False
            continue
        after_blank = False
        if labelled:
            label = labelled.group("label").lower()
            text = labelled.group("text").strip()
            if label.startswith(("param", "arg", "input")):
                current.params.extend(p for p in parse_params(text.strip("()")) if p not in current.params)
                in_params = True
            else:
                current.description = f"{current.description} {text}".strip()
                in_params = False
            continue
        if in_params:
            pm = _PARAM_BULLET.match(raw)
            if pm and indent > header_indent:
                if pm.group("name") not in current.params:
                    current.params.append(pm.group("name"))
                continue
            in_params = False
        current.description = f"{current.description} {raw.strip().lstrip('-*+• ').strip()}".strip()
    out.role_tags = sum(tags)
    return out


# --- per-ID environment logic ------------------------------------------------------------------

_IF_LEAD = re.compile(r"^\s*[-*+•]?\s*(?:\*\*|__)?\s*(?:else\s*if|elif|elsif|if|when|case)\b", re.IGNORECASE)
_ID_EQ = re.compile(r"tool[\s_.]*id\s*(?:===?|=|is|equals)\s*['\"]?(\d{1,2})", re.IGNORECASE)
_ID_IN = re.compile(
    r"tool[\s_.]*id\s+(?:in|is one of)\s*[\[({]?\s*((?:\d{1,2}\s*(?:,|or|and)?\s*)+)[\])}]?", re.IGNORECASE
)
_NAME_EQ = re.compile(r"tool(?:[\s_.]*name)?\s*(?:===?|=|is)\s*['\"`]?([A-Za-z_]\w*)", re.IGNORECASE)
_CALLS = re.compile(
    r"(?:calls?|uses?|invokes?|chooses?|selects?)\s+(?:the\s+)?(?:tool\s+)?['\"`*]*([A-Za-z_]\w*)", re.IGNORECASE
)
_AFTER_COND = re.compile(r"(?:\bthen\b|:|->|→|=>)\s*", re.IGNORECASE)
_ID_LINE = re.compile(
    r"^\s*[-*+•]?\s*(?:\*\*|__)?\s*(?:tool\s*(?:id)?|id)\s*#?\s*(\d{1,2})(?:\s*\(([^)]*)\))?(?:\*\*|__)?\s*[:\-–—]\s*(?:\*\*|__)?\s*(.*)$",
    re.IGNORECASE,
)
_END = re.compile(r"^\s*(?:end\s*if|endif|end)\s*;?\s*$", re.IGNORECASE)
_CONT = re.compile(r"^\s*(?:then|return|returns|set|update|output|respond|->|→|=>)\b", re.IGNORECASE)


@dataclass
class BehaviourParse:
    by_id: dict[int, list[str]] = field(default_factory=dict)
    offsets: dict[int, int] = field(default_factory=dict)
    general: str = ""  # the module text with the per-ID blocks taken out


def _ids_in(cond: str, names: dict[str, int]) -> list[int]:
    ids = [int(x) for x in _ID_EQ.findall(cond)]
    for group in _ID_IN.findall(cond):
        ids += [int(x) for x in re.findall(r"\d{1,2}", group)]
    for pattern in (_NAME_EQ, _CALLS):
        for name in pattern.findall(cond):
            if name in names:
                ids.append(names[name])
    return list(dict.fromkeys(ids))


def _block_start(line: str, names: dict[str, int]) -> tuple[list[int], str] | None:
    if _IF_LEAD.match(line):
        ids = _ids_in(line, names)
        if ids:
            last = max(
                m.end()
                for p in (_ID_EQ, _ID_IN, _NAME_EQ, _CALLS)
                for m in p.finditer(line)
                if p in (_ID_EQ, _ID_IN) or m.group(1) in names
            )
            after = _AFTER_COND.search(line, last)
            text = line[after.end() :] if after else line[last:]
            return ids, text.strip().lstrip(")").strip()
    m = _ID_LINE.match(line)
    if m:
        return [int(m.group(1))], m.group(3).strip()
    m = re.match(
        rf"^\s*[-*+•]?\s*(?:\d{{1,2}}[.)]\s*)?{_MARK}([A-Za-z_]\w*){_MARK}\s*(?:\([^)]*\))?{_MARK}"
        rf"\s*[:\-–—]\s*(.*)$",
        line,
    )
    if m and m.group(1) in names:
        return [names[m.group(1)]], m.group(2).strip()
    return None


def parse_behaviour(body: str, names: dict[str, int]) -> BehaviourParse:
    """Split an environment module into per-ID logic and the general text around it."""
    out = BehaviourParse()
    lines = body.splitlines()
    keep: list[str] = []
    current: list[int] = []
    indent0 = 0
    for offset, raw in enumerate(lines):
        start = _block_start(raw, names) if raw.strip() else None
        if start is not None:
            ids, text = start
            text = re.sub(r"^[*_`\s]+", "", text)
            named = re.match(r"^([A-Za-z_]\w*)\s*(?:\([^)]*\))?\s*[:\-–—]\s*", text)
            if named and named.group(1) in names:
                text = text[named.end() :]
            current, indent0 = ids, len(raw) - len(raw.lstrip())
            for i in ids:
                out.by_id.setdefault(i, [])
                out.offsets.setdefault(i, offset)
                if text:
                    out.by_id[i].append(text)
            continue
        if current and raw.strip() and not _END.match(raw):
            indent = len(raw) - len(raw.lstrip())
            if indent > indent0 or _CONT.match(raw):
                for i in current:
                    out.by_id[i].append(raw.strip())
                continue
        if current and _END.match(raw):
            current = []
            continue
        current = []
        keep.append(raw)
    general = re.sub(r"^[ \t]*(`{3,})[\w-]*[ \t]*\n(?:[ \t]*\n)*[ \t]*\1[ \t]*$", "", "\n".join(keep), flags=re.M)
    out.general = _drop_dangling_header(general).strip()
    return out


def _is_header(line: str) -> bool:
    t = line.strip().strip("*#").strip()
    return bool(t) and len(t) < 60 and (line.strip().endswith((":", ":**")) or re.match(r"^\[[^\]]+\]$", t) is not None)


def _drop_dangling_header(text: str) -> str:
    """Remove a short 'Tool logic:' style line left with nothing under it."""
    lines = text.splitlines()
    out: list[str] = []
    for i, line in enumerate(lines):
        nxt = next((x for x in lines[i + 1 :] if x.strip()), None)
        if line.strip().endswith((":", ":**")) and _is_header(line) and (nxt is None or _is_header(nxt)):
            continue
        out.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out))
