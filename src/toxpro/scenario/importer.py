"""Import scenarios written in the paper's reference format (prompt modules) into the toxpro schema.

Reference format (YAML)::

    id: finance-loyalty-...            # optional; else derived from the file name
    domain: Finance                    # required (or metadata.domain)
    motivation: loyalty                # required (or metadata.motivation)
    title: ...                         # optional
    agent_prompt_modules:
      role: ...                        # -> agent_role (required)
      background: ...                  # -> situation (required; `task`/`request` are appended)
      goal: ...                        # -> agent_goals (one per line or bullet)
      stakes: ... | {high, medium, low}
      tools: |                         # "N. name(param1, param2): description", N = 1..6
        1. ...
      output_format: ...               # not mapped: toxpro renders its own
    environment_prompt_modules:
      world: ...                       # -> environment
      rules: ...                       # -> appended to environment
      ground_truth: ...                # -> evidence (YAML/JSON mapping, else {"text": ...})
      initial_state: ...               # -> initial_state (optional)

Tool IDs 1-3 are compliant (validator, registrar, standard terminal), 4-6 toxic (inhibitor,
modifier, direct terminal). Everything that cannot be mapped is returned as a note.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import yaml

from .loader import ScenarioError, parse_scenario, read_yaml_file
from .schema import Domain, Motivation, Role, Scenario

ID_ROLES: dict[int, Role] = {
    1: Role.validator,
    2: Role.registrar,
    3: Role.standard_terminal,
    4: Role.inhibitor,
    5: Role.modifier,
    6: Role.direct_terminal,
}

AGENT_KNOWN = {"role", "background", "task", "request", "user_request", "goal", "goals", "stakes", "tools"}
AGENT_IGNORED = {"output_format": "toxpro renders its own output format and tool-call protocol"}
ENV_KNOWN = {"world", "rules", "ground_truth", "initial_state", "state"}
TOP_KNOWN = {
    "id", "name", "scenario_id", "domain", "motivation", "title", "metadata", "canary", "tags",
    "stakeholder", "interest", "version", "agent_prompt_modules", "environment_prompt_modules",
}
# "N. name(params): description" — description may continue on indented lines.
_TOOL_LINE = re.compile(r"^\s*(?:\[)?(\d+)(?:\])?[.)]\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(([^)]*)\)\s*:\s*(.*)$")
_PARAM_TYPES = {
    "str": "string", "string": "string", "int": "integer", "integer": "integer", "float": "number",
    "number": "number", "bool": "boolean", "boolean": "boolean", "list": "array", "array": "array",
    "dict": "object", "object": "object",
}
_MOTIVATION_ALIASES = {"self_preservation": "self-preservation", "selfpreservation": "self-preservation",
                       "self-pres": "self-preservation", "selfpres": "self-preservation"}


def _slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")
    return s[:64] or "imported-scenario"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return "\n".join(_text(v) for v in value)
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True).strip()


def parse_tool_lines(text: str, where: str) -> tuple[dict[int, dict[str, Any]], list[str]]:
    """Parse numbered tool lines; returns {id: {name, params, description}} and unparsed-line notes."""
    tools: dict[int, dict[str, Any]] = {}
    notes: list[str] = []
    problems: list[str] = []
    current: dict[str, Any] | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            current = None
            continue
        m = _TOOL_LINE.match(raw)
        if m:
            num, name, params, desc = int(m.group(1)), m.group(2), m.group(3), m.group(4).strip()
            if num in tools:
                problems.append(f"{where}: line {lineno}: tool ID {num} appears twice")
            current = {"name": name, "params": _parse_params(params), "description": desc}
            tools[num] = current
        elif current is not None and raw[:1].isspace():
            current["description"] = (current["description"] + " " + raw.strip()).strip()
        else:
            notes.append(f"{where}: line {lineno} is not a tool line and was skipped: {raw.strip()[:80]!r}")
            current = None
    if problems:
        raise ScenarioError(problems)
    return tools, notes


def _parse_params(spec: str) -> list[tuple[str, str]]:
    out = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, _, typ = part.partition(":")
        name = name.strip().lstrip("*")
        typ = _PARAM_TYPES.get(typ.strip().lower(), "string") if typ else "string"
        out.append((name, typ))
    return out


def _goals(value: Any) -> list[str]:
    if isinstance(value, list):
        items = [_text(v) for v in value]
    else:
        items = [re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", line).strip() for line in _text(value).splitlines()]
    return [g for g in items if g][:12]


def _evidence(value: Any, notes: list[str], where: str) -> dict[str, Any]:
    if isinstance(value, dict) and value:
        return value
    text = _text(value)
    if not text:
        notes.append(f"{where}: missing; evidence set to a placeholder text")
        return {"text": "(no ground truth given)"}
    parsed: Any = None
    try:
        parsed = json.loads(text)
    except ValueError:
        try:
            parsed = yaml.safe_load(text)
        except yaml.YAMLError:
            parsed = None
    if isinstance(parsed, dict) and parsed:
        return parsed
    notes.append(f"{where}: not a YAML/JSON mapping; kept as evidence.text")
    return {"text": text}


def _behaviour(name: str, description: str, terminal: bool) -> str:
    sentence = description.rstrip(". ")
    out = f"The environment carries out {name} as described ({sentence[:900]}) and returns a realistic result."
    return out + (" Ends the task." if terminal else "")


def import_reference(path: str | Path) -> tuple[Scenario, list[str]]:
    """Read one reference-format YAML file; return the Scenario and notes on what could not be mapped."""
    path = Path(path)
    data, source = read_yaml_file(path)
    raw_text = path.read_text(encoding="utf-8")
    if not isinstance(data, dict):
        raise ScenarioError([f"{source}:(root): expected a mapping, got {type(data).__name__}"])

    notes: list[str] = []
    problems: list[str] = []
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    for key in data:
        if key not in TOP_KNOWN:
            notes.append(f"{key}: unknown top-level key, not mapped")

    agent = data.get("agent_prompt_modules")
    env = data.get("environment_prompt_modules")
    if not isinstance(agent, dict):
        problems.append(f"{source}:agent_prompt_modules: missing or not a mapping of text modules")
        agent = {}
    if not isinstance(env, dict):
        problems.append(f"{source}:environment_prompt_modules: missing or not a mapping of text modules")
        env = {}
    for key in agent:
        if key in AGENT_IGNORED:
            notes.append(f"agent_prompt_modules.{key}: not mapped ({AGENT_IGNORED[key]})")
        elif key not in AGENT_KNOWN:
            notes.append(f"agent_prompt_modules.{key}: unknown module, not mapped")
    for key in env:
        if key not in ENV_KNOWN:
            notes.append(f"environment_prompt_modules.{key}: unknown module, not mapped")

    # identity
    sid = data.get("id") or data.get("scenario_id") or data.get("name")
    if not sid:
        sid = _slug(path.stem)
        notes.append(f"id: missing; derived {sid!r} from the file name")
    sid = str(sid)

    domain = data.get("domain", meta.get("domain"))
    if domain is None:
        problems.append(f"{source}:domain: missing (one of {', '.join(d.value for d in Domain)})")
    else:
        match = next((d.value for d in Domain if d.value.lower() == str(domain).strip().lower()), None)
        if match is None:
            problems.append(f"{source}:domain: {domain!r} is not one of {', '.join(d.value for d in Domain)}")
        domain = match
    motivation = data.get("motivation", meta.get("motivation"))
    if motivation is None:
        problems.append(f"{source}:motivation: missing (loyalty or self-preservation)")
    else:
        m = str(motivation).strip().lower().replace(" ", "-")
        m = _MOTIVATION_ALIASES.get(m, m)
        if m not in {x.value for x in Motivation}:
            problems.append(f"{source}:motivation: {motivation!r} is not loyalty or self-preservation")
        motivation = m

    role = _text(agent.get("role"))
    if not role:
        problems.append(f"{source}:agent_prompt_modules.role: missing")
    situation = "\n\n".join(t for t in (_text(agent.get(k)) for k in ("background", "task", "request", "user_request")) if t)
    if not situation:
        problems.append(f"{source}:agent_prompt_modules.background: missing (the situation that opens the run)")

    title = data.get("title")
    if not title:
        first = re.split(r"(?<=[.!?])\s", situation.strip(), maxsplit=1)[0] if situation else sid
        title = first[:120] if len(first) >= 5 else sid
        notes.append("title: missing; taken from the first sentence of background")

    goals_src = agent.get("goals", agent.get("goal"))
    goals = _goals(goals_src)
    if not goals:
        goals = ["Complete the user's request."]
        notes.append("agent_prompt_modules.goal: missing; agent_goals set to a generic goal")

    # stakes
    stakes_src = agent.get("stakes")
    if isinstance(stakes_src, dict):
        stakes = {lvl: _text(stakes_src.get(lvl)) for lvl in ("high", "medium", "low")}
        given = [v for v in stakes.values() if v]
        if not given:
            problems.append(f"{source}:agent_prompt_modules.stakes: no high/medium/low text")
        for lvl, v in list(stakes.items()):
            if not v and given:
                stakes[lvl] = stakes.get("high") or given[0]
                notes.append(f"agent_prompt_modules.stakes.{lvl}: missing; filled with another level's text")
        for extra in set(stakes_src) - {"high", "medium", "low"}:
            notes.append(f"agent_prompt_modules.stakes.{extra}: unknown stakes level, not mapped")
    else:
        text = _text(stakes_src)
        if not text:
            problems.append(f"{source}:agent_prompt_modules.stakes: missing")
        stakes = {"high": text, "medium": text, "low": text}
        notes.append("agent_prompt_modules.stakes: a single text; used for high, medium and low (write graded levels)")

    # goal-clarity stakeholder
    stakeholder = data.get("stakeholder") or meta.get("stakeholder")
    interest = data.get("interest") or meta.get("interest")
    if not stakeholder:
        stakeholder = "the user"
        notes.append("stakeholder: missing; goal.stakeholder set to 'the user'")
    if not interest:
        interest = goals[0]
        notes.append("interest: missing; goal.interest taken from the first agent goal")

    # tools
    tools: list[dict[str, Any]] = []
    tools_src = agent.get("tools")
    where_tools = f"{source}:agent_prompt_modules.tools"
    if tools_src is None:
        problems.append(f"{where_tools}: missing")
    else:
        parsed, skipped = parse_tool_lines(_text(tools_src), where_tools)
        notes.extend(n.removeprefix(f"{source}:") for n in skipped)
        for num in sorted(set(parsed) - set(ID_ROLES)):
            problems.append(f"{where_tools}: tool ID {num} is outside 1-6")
        for num, r in ID_ROLES.items():
            if num not in parsed:
                problems.append(f"{where_tools}: tool ID {num} ({r.value}) is missing")
                continue
            t = parsed[num]
            props = {p: {"type": typ} for p, typ in t["params"]}
            tools.append({
                "name": t["name"],
                "description": t["description"],
                "parameters": {"type": "object", "properties": props, "required": [p for p, _ in t["params"]]},
                "track": r.track.value,
                "role": r.value,
                "behaviour": _behaviour(t["name"], t["description"], r.is_terminal),
            })
        if tools:
            notes.append("tools: behaviour notes were derived from the descriptions; review them")

    if problems:
        raise ScenarioError(problems)

    evidence = _evidence(env.get("ground_truth"), notes, "environment_prompt_modules.ground_truth")
    state_src = env.get("initial_state", env.get("state"))
    if isinstance(state_src, dict):
        initial_state = state_src
    elif state_src:
        parsed_state = _evidence(state_src, [], "")
        initial_state = parsed_state
        if set(parsed_state) == {"text"}:
            notes.append("environment_prompt_modules.initial_state: not a mapping; kept as initial_state.text")
    else:
        initial_state = {}
        notes.append("environment_prompt_modules.initial_state: missing; initial_state left empty")

    world, rules = _text(env.get("world")), _text(env.get("rules"))
    environment = "\n\n".join(x for x in (world, f"Rules:\n{rules}" if rules else "") if x)
    if not environment:
        environment = "Simulate the systems the tools act on, consistently with the evidence."
        notes.append("environment_prompt_modules.world: missing; generic environment instruction used")

    canary = data.get("canary")
    if not canary:
        canary = f"TOXPRO-CANARY {uuid.uuid5(uuid.NAMESPACE_URL, sid + raw_text)}-{sid}"
        notes.append("canary: missing; generated from the file content")

    tags = data.get("tags") or []
    try:
        scenario = parse_scenario(
        {
            "id": sid,
            "version": str(data.get("version", "1.0")),
            "domain": domain,
            "motivation": motivation,
            "title": str(title),
            "canary": str(canary),
            "agent_role": role,
            "agent_goals": goals,
            "situation": situation,
            "stakes": stakes,
            "goal": {"stakeholder": str(stakeholder), "interest": str(interest)},
            "evidence": evidence,
            "initial_state": initial_state,
            "tools": tools,
            "environment": environment,
            "tags": [str(t) for t in tags] if isinstance(tags, list) else [str(tags)],
        },
        source,
        )
    except ScenarioError as exc:
        raise ScenarioError([_reference_field(p, source) for p in exc.problems]) from None
    return scenario, notes


_FIELD_MAP = {
    "agent_role": "agent_prompt_modules.role",
    "situation": "agent_prompt_modules.background",
    "agent_goals": "agent_prompt_modules.goal",
    "stakes": "agent_prompt_modules.stakes",
    "evidence": "environment_prompt_modules.ground_truth",
    "initial_state": "environment_prompt_modules.initial_state",
    "environment": "environment_prompt_modules.world",
}


def _reference_field(problem: str, source: str) -> str:
    """Rename toxpro schema fields in a `file:field: msg` line to the reference file's fields."""
    prefix = f"{source}:"
    if not problem.startswith(prefix):
        return problem
    field, sep, msg = problem[len(prefix):].partition(": ")
    m = re.match(r"^tools\[(\d+)\](.*)$", field)
    if m:
        field = f"agent_prompt_modules.tools[ID {int(m.group(1)) + 1}]{m.group(2)}"
    else:
        head, dot, rest = field.partition(".")
        head_base = re.sub(r"\[\d+\]$", "", head)
        if head_base in _FIELD_MAP:
            field = _FIELD_MAP[head_base] + head[len(head_base):] + (dot + rest if dot else "")
    return f"{prefix}{field}{sep}{msg}"
