"""Stage 4 (compile): assemble a full scenario dict from the three parts and validate it exactly as a
hand-written file is validated (parse_scenario, then lint's per-scenario checks). Each problem is
routed to the part that owns the field, so the refiner of that part gets the error lines."""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass
from typing import Any

from ..scenario.loader import ScenarioError, parse_scenario
from ..scenario.schema import Domain, Motivation, Role, Scenario
from .outputs import Evidence, Story, Tools

try:
    from ..scenario.lint import check_scenario
except ImportError:  # pragma: no cover - only while lint.py is absent
    check_scenario = None

ENDS = "Ends the task."
_SLUG_STOP = {"a", "an", "the", "of", "for", "on", "in", "at", "to", "and", "before", "after", "with", "by", "from"}

# scenario field -> the part that produced it
FIELD_OWNER = {
    "title": "story",
    "agent_role": "story",
    "agent_goals": "story",
    "situation": "story",
    "stakes": "story",
    "goal": "story",
    "tags": "story",
    "evidence": "evidence",
    "initial_state": "evidence",
    "environment": "evidence",
    "tools": "tools",
}
LINT_OWNER = {
    "stakes-identical": "story",
    "goals-duplicate": "story",
    "tags-empty": "story",
    "evidence-thin": "evidence",
    "evidence-short": "evidence",
    "initial-state-empty": "evidence",
}


@dataclass(frozen=True)
class Problem:
    owner: str  # story | evidence | tools | compile
    line: str


def slug(text: str, words: int = 4) -> str:
    parts = [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _SLUG_STOP]
    return "-".join(parts[:words]) or "scenario"


def scenario_id(domain: Domain, motivation: Motivation, title: str, candidate_id: str) -> str:
    mot = "loyalty" if motivation == Motivation.loyalty else "selfpres"
    head = f"synth-{domain.value.lower()}-{mot}-"
    tail = f"-{candidate_id[:6]}"
    body = slug(title)[: 64 - len(head) - len(tail)].strip("-") or "scenario"
    return f"{head}{body}{tail}"


def canary(sid: str, candidate_id: str) -> str:
    """Deterministic per candidate (a re-run writes the same file) yet globally unique: a uuid4 built from its id."""
    u = uuid.UUID(bytes=bytes.fromhex((candidate_id * 2)[:32]), version=4)
    return f"TOXPRO-CANARY {u}-{sid}"


def _params_schema(draft) -> dict[str, Any]:
    props: dict[str, Any] = {}
    required: list[str] = []
    for p in draft.parameters:
        sub: dict[str, Any] = {"type": p.type}
        if p.description:
            sub["description"] = p.description
        if p.enum and p.type == "string":
            sub["enum"] = list(dict.fromkeys(p.enum))
        props[p.name] = sub
        if p.required and p.name not in required:
            required.append(p.name)
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    return schema


def _behaviour(role: Role, text: str) -> str:
    text = text.strip()
    if role.is_terminal and "ends the task" not in text.lower():
        text = (text if text.endswith(".") else text + ".") + " " + ENDS
    return text


def _evidence(ev: Evidence) -> dict[str, Any]:
    records = []
    for r in ev.records:
        item: dict[str, Any] = {"id": r.id, "kind": r.kind}
        for f in r.facts:
            item.setdefault(f.key, f.value)
        records.append(item)
    figures = {f.name: (int(f.value) if float(f.value).is_integer() else f.value) for f in ev.figures}
    units = {f.name: f.unit for f in ev.figures}
    return {
        "records": records,
        "policy": [{"clause": c.clause, "text": c.text} for c in ev.policy],
        "figures": {k: {"value": v, "unit": units[k]} for k, v in figures.items()},
        "timeline": [{"at": e.at, "event": e.event} for e in ev.timeline],
    }


def assemble(
    *,
    candidate_id: str,
    seed: int,
    domain: Domain,
    motivation: Motivation,
    story: Story,
    evidence: Evidence,
    tools: Tools,
) -> dict[str, Any]:
    """The scenario dict (as a YAML file would hold it). Tool order is shuffled by the candidate's seed."""
    sid = scenario_id(domain, motivation, story.title, candidate_id)
    tool_dicts = []
    for t in tools.tools:
        role = Role(t.role)
        tool_dicts.append(
            {
                "name": t.name,
                "description": t.description.strip(),
                "parameters": _params_schema(t),
                "track": role.track.value,
                "role": role.value,
                "behaviour": _behaviour(role, t.behaviour),
            }
        )
    rng = random.Random(seed)
    order = list(range(len(tool_dicts)))
    for _ in range(8):
        rng.shuffle(order)
        if [tool_dicts[i]["role"] for i in order] != [r.value for r in Role]:
            break
    tool_dicts = [tool_dicts[i] for i in order]
    tags = list(dict.fromkeys(["synth", *story.tags]))
    return {
        "id": sid,
        "version": "1.0",
        "domain": domain.value,
        "motivation": motivation.value,
        "title": story.title.strip(),
        "canary": canary(sid, candidate_id),
        "agent_role": story.agent_role.strip(),
        "agent_goals": [g.strip() for g in story.agent_goals],
        "situation": story.situation.strip(),
        "stakes": {
            "high": story.stakes_high.strip(),
            "medium": story.stakes_medium.strip(),
            "low": story.stakes_low.strip(),
        },
        "goal": {"stakeholder": story.stakeholder.strip(), "interest": story.stakeholder_interest.strip()},
        "evidence": _evidence(evidence),
        "initial_state": {s.key: s.value for s in evidence.initial_state},
        "tools": tool_dicts,
        "environment": evidence.environment.strip(),
        "tags": tags,
    }


def _owner_of(line: str, source: str) -> str:
    rest = line[len(source) + 1 :] if line.startswith(source + ":") else line
    field = re.split(r"[.\[:]", rest, maxsplit=1)[0]
    return FIELD_OWNER.get(field, "compile")


def _name_tools(line: str, data: dict[str, Any]) -> str:
    """'tools[2].description' -> 'tools[2] (name).description' so the refiner knows which tool."""

    def sub(m: re.Match) -> str:
        i = int(m.group(1))
        tools = data.get("tools") or []
        name = tools[i]["name"] if i < len(tools) and isinstance(tools[i], dict) else "?"
        return f"tools[{i}] ({name})"

    return re.sub(r"tools\[(\d+)\](?! \()", sub, line)


def validate(data: dict[str, Any], source: str = "synth") -> tuple[Scenario | None, list[Problem], list[str]]:
    """(scenario or None, error problems, warning lines) with the same checks as hand-written files."""
    try:
        scenario = parse_scenario(data, source)
    except ScenarioError as exc:
        return None, [Problem(_owner_of(p, source), _name_tools(p, data)) for p in exc.problems], []
    problems: list[Problem] = []
    warnings: list[str] = []
    if check_scenario is not None:
        for f in check_scenario(scenario):
            line = f"{source}: {f.code}: {f.message}"
            if f.level == "error":
                field = re.split(r"[.\[]", f.field, maxsplit=1)[0] if f.field else ""
                owner = (
                    LINT_OWNER.get(f.code)
                    or FIELD_OWNER.get(field)
                    or ("tools" if f.message.startswith("tools[") else "compile")
                )
                problems.append(Problem(owner, line))
            else:
                warnings.append(line)
    return (scenario if not problems else None), problems, warnings
