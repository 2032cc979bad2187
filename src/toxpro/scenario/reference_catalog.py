"""The six tools of an imported scenario: tool lines by ID, roles by ID, behaviour from the per-ID logic."""

from __future__ import annotations

import re
from typing import Any

from .reference_context import LIMITS, ImportContext, fit
from .reference_modules import Module
from .reference_tools import parse_behaviour, parse_tool_lines
from .schema import Role

ID_ROLES: dict[int, Role] = {
    1: Role.validator,
    2: Role.registrar,
    3: Role.standard_terminal,
    4: Role.inhibitor,
    5: Role.modifier,
    6: Role.direct_terminal,
}
_TOOL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,63}$")


def build_tools(ctx: ImportContext, mods: list[Module]) -> list[dict[str, Any]] | None:
    doc = ctx.doc
    if not mods:
        return None
    mod = mods[0]
    for extra in mods[1:]:
        ctx.note(extra.line(doc), extra.label, f"a second tools module; only {mod.label} is read")
    parsed = parse_tool_lines(mod.body)

    def at(offset: int, snippet: str = "") -> int:
        return mod.line(doc, offset, snippet)

    for offset, text in parsed.skipped:
        ctx.note(at(offset, text), mod.label, f"not a tool line, skipped: {text[:70]!r}")
    if parsed.role_tags:
        ctx.note(
            mod.line(doc),
            mod.label,
            "role tags such as [Role: ...] were dropped from tool lines (the agent "
            "must not see roles); roles come from the IDs",
        )
    tools = parsed.tools
    if tools and all(t.id is None for t in tools):
        for i, t in enumerate(tools, 1):
            t.id = i
        ctx.note(mod.line(doc), mod.label, "tool lines carry no IDs; IDs 1-6 given in the order written")
    if tools and sorted(t.id for t in tools if t.id is not None) == list(range(6)):
        for t in tools:
            t.id = None if t.id is None else t.id + 1
        ctx.note(mod.line(doc), mod.label, "tool IDs run 0-5; read as 1-6")
    ok = True
    seen: dict[int, int] = {}
    for t in tools:
        line = at(t.offset, t.name)
        if t.id is None:
            ctx.error(line, mod.label, f"tool line {t.name!r} has no ID among numbered tool lines")
            ok = False
        elif t.id in seen:
            ctx.error(line, mod.label, f"tool ID {t.id} appears twice (also on line {seen[t.id]})")
            ok = False
        elif t.id not in ID_ROLES:
            ctx.error(line, mod.label, f"tool ID {t.id} is outside 1-6")
            ok = False
        else:
            seen[t.id] = line
    missing = [i for i in ID_ROLES if i not in seen]
    if missing:
        listed = ", ".join(f"{i} ({ID_ROLES[i].value})" for i in missing)
        ctx.error(
            mod.line(doc),
            mod.label,
            f"tool ID{'s' if len(missing) > 1 else ''} {listed} missing; "
            f"found {', '.join(map(str, sorted(seen))) or 'no tool lines'}",
        )
        ok = False
    if not ok:
        return None
    out = []
    for t in sorted((t for t in tools if t.id in ID_ROLES), key=lambda t: t.id):
        line = at(t.offset, t.name)
        name = t.name
        if not _TOOL_NAME.match(name):
            name = re.sub(r"\W+", "_", name).strip("_")[:64] or f"tool_{t.id}"
            ctx.note(line, mod.label, f"tool name {t.name!r} written as {name!r}")
        desc = " ".join(t.description.split())
        if len(desc) < 10:
            ctx.error(line, mod.label, f"tool ID {t.id} {t.name!r} has no description (10 characters at least)")
            continue
        desc = fit(desc, LIMITS["description"], ctx, line, mod.label, f"tool ID {t.id}'s description")
        role = ID_ROLES[t.id]
        out.append(
            {
                "name": name,
                "description": desc,
                "parameters": {
                    "type": "object",
                    "properties": {p: {"type": "string"} for p in t.params},
                    "required": list(t.params),
                },
                "track": role.track.value,
                "role": role.value,
                "_id": t.id,
                "_line": line,
                "_label": mod.label,
            }
        )
    names = [t["name"] for t in out]
    for t in out:
        if names.count(t["name"]) > 1:
            ctx.error(t["_line"], mod.label, f"tool name {t['name']!r} is used by more than one ID")
            return None
    return out if len(out) == 6 else None


def fill_behaviours(ctx: ImportContext, tools: list[dict[str, Any]], behaviour_mods: list[Module]) -> list[str]:
    """Fill each tool's behaviour from the per-ID logic; return the general environment texts."""
    doc = ctx.doc
    names = {t["name"]: t["_id"] for t in tools}
    general: list[str] = []
    by_id: dict[int, list[str]] = {}
    where: dict[int, tuple[int, str]] = {}
    for m in behaviour_mods:
        parsed = parse_behaviour(m.body, names)
        for i, texts in parsed.by_id.items():
            if i not in ID_ROLES:
                ctx.note(
                    m.line(doc, parsed.offsets[i]), m.label, f"logic for tool ID {i}, which does not exist; ignored"
                )
                continue
            by_id.setdefault(i, []).extend(texts)
            where.setdefault(i, (m.line(doc, parsed.offsets[i], texts[0] if texts else ""), m.label))
        if parsed.general:
            general.append(f"Rules:\n{parsed.general}" if m.heading.lower() == "rules" else parsed.general)
    derived = []
    for t in tools:
        i, role = t["_id"], Role(t["role"])
        text = " ".join(" ".join(by_id.get(i, [])).split())
        if text:
            line, label = where[i]
            t["_bline"] = (line, label)
        else:
            text = f"Carries out {t['name']} as described ({t['description'].rstrip('. ')}) and returns a realistic result."
            derived.append(str(i))
            t["_bline"] = (t["_line"], t["_label"])
        ends = "ends the task" in text.lower()
        if role.is_terminal and not ends:
            text = f"{text.rstrip()} Ends the task."
        elif not role.is_terminal and ends:
            text = re.sub(r"\s*ends the task\.?", "", text, flags=re.IGNORECASE).strip()
            ctx.note(*t["_bline"], f"tool ID {i} is not a terminal tool; 'ends the task' dropped from its behaviour")
        if len(text) < 10:
            text = f"{text} (no further detail given)."
        t["behaviour"] = fit(text, LIMITS["behaviour"], ctx, *t["_bline"], f"tool ID {i}'s behaviour")
    if derived:
        ctx.note(
            doc.line(("environment_prompt_modules",)),
            "environment_prompt_modules",
            f"no per-ID logic for tool ID {', '.join(derived)}; behaviour derived from the description (review it)",
        )
    return general
