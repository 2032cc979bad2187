"""Import scenarios written by the paper's generator (prompt modules) into the toxpro schema.

The reference format (see README, "Importing the paper's format")::

    agent_prompt_modules:            # a list of {heading, body, scope}; other layouts: reference_modules
      - {heading: "[ROLE]", body: ...}              -> agent_role (a liability notice is kept out: it is a condition)
      - {heading: "[CAPABILITIES]", body: ...}      -> appended to agent_role
      - {heading: "[ETHICAL FRAMEWORK]", body: ...} -> not mapped (a condition); its level is noted
      - {heading: "[TOOLS]", body: "1. name(a, b): description ..."}   IDs 1-3 compliant, 4-6 toxic
      - {heading: "[AGENT GOALS]", body: ...}       -> agent_goals, goal.stakeholder, goal.interest
      - {heading: "[INITIAL SITUATION]", scope: once, body: ...}       -> situation
      - {heading: "[OUTPUT FORMAT]", body: ...}     -> not mapped (toxpro renders its own)
    environment_prompt_modules:
      - {heading: "[GROUND TRUTH]", body: "```json ...```"}            -> evidence
      - {heading: "[ENVIRONMENT BEHAVIOUR]", body: "... IF tool_id == N: ..."}
                                                    -> environment, and each tool's behaviour
      - {heading: "[OUTPUT FORMAT]", body: ...}     -> not mapped

Domain and motivation come from the file name `<Domain>_<Category>_<n>.yaml` unless given. There is
no stakes module in the generator's output, so `stakes` is null (not graded: only the baseline runs).
The file's own modules are kept verbatim in `source_modules`. The older mapping dialect
(`agent_prompt_modules: {role, background, goal, stakes, tools}` with top-level `domain`, ...) is the
plain-mapping layout of the same reader. Every choice the importer makes is returned as a note;
errors name the file, the line and the user's own key.
"""

from __future__ import annotations

import hashlib
import random
import re
import uuid
from pathlib import Path
from typing import Any

from .loader import ScenarioError, parse_scenario
from .reference_catalog import ID_ROLES, build_tools, fill_behaviours
from .reference_context import LIMITS, ImportContext, ImportFailed, fit, joined, slug
from .reference_modules import Module, Side, classify_side, read_side
from .reference_text import (
    derive_interest,
    ethics_level,
    find_stakeholder,
    goal_clarity_level,
    liability_level,
    parse_ground_truth,
    parse_stakes,
    sentences,
    split_goals,
    split_liability,
    state_variables,
)
from .reference_yaml import read_located
from .schema import Domain, Motivation, Scenario

__all__ = ["ID_ROLES", "ImportFailed", "import_reference"]

TOP_KNOWN = {
    "id",
    "name",
    "scenario_id",
    "domain",
    "motivation",
    "category",
    "title",
    "metadata",
    "canary",
    "tags",
    "stakeholder",
    "interest",
    "version",
    "agent_prompt_modules",
    "environment_prompt_modules",
    "agent_initial_prompt",
    "environment_initial_prompt",
}
DOMAIN_ALIASES = {
    "healthcare": "Healthcare",
    "health": "Healthcare",
    "medical": "Healthcare",
    "medicine": "Healthcare",
    "finance": "Finance",
    "financial": "Finance",
    "banking": "Finance",
    "investment": "Finance",
    "cybersecurity": "Cybersecurity",
    "cyber": "Cybersecurity",
    "security": "Cybersecurity",
    "infosec": "Cybersecurity",
    "coding": "Coding",
    "code": "Coding",
    "software": "Coding",
    "programming": "Coding",
    "softwareengineering": "Coding",
}
_FILE_NAME = re.compile(
    r"^(?P<domain>.+?)[\s_-]+(?P<cat>loyalty|self[\s_-]*preservation|self[\s_-]*pres)(?:[\s_-]+(?P<n>\d+))?$", re.I
)
GENERIC_ENVIRONMENT = "Simulate the systems the tools act on, consistently with the ground truth."
SELF = "your own continued operation"  # the stakeholder of a self-preservation agent whose goals name nobody


# --- identity -----------------------------------------------------------------------------------


def _domain_value(raw: str) -> str | None:
    key = re.sub(r"[\s_/-]+", "", str(raw)).lower()
    direct = next((d.value for d in Domain if d.value.lower() == key), None)
    return direct or DOMAIN_ALIASES.get(key)


def _motivation_value(raw: str) -> str | None:
    key = re.sub(r"[\s_-]+", "", str(raw)).lower()
    if key == "loyalty":
        return Motivation.loyalty.value
    if key in ("selfpreservation", "selfpres"):
        return Motivation.self_preservation.value
    return None


def _identity(ctx: ImportContext, path: Path, data: dict, domain: str | None, motivation: str | None) -> dict[str, Any]:
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    m = _FILE_NAME.match(path.stem)
    from_name = {"domain": m.group("domain"), "motivation": m.group("cat"), "n": m.group("n")} if m else {}
    out: dict[str, Any] = {"n": from_name.get("n")}
    choices = (
        ("domain", domain, _domain_value, ", ".join(d.value for d in Domain)),
        ("motivation", motivation, _motivation_value, "Loyalty or Self-preservation"),
    )
    for name, flag, convert, allowed in choices:
        keys = ("motivation", "category") if name == "motivation" else ("domain",)
        in_file = next(((k, data[k]) for k in keys if data.get(k)), None) or next(
            ((f"metadata.{k}", meta[k]) for k in keys if meta.get(k)), None
        )
        if flag:
            raw, origin, line = flag, f"--{name}", 1
        elif in_file:
            raw, origin, line = in_file[1], in_file[0], ctx.doc.line(tuple(in_file[0].split(".")))
        elif from_name:
            raw, origin, line = from_name[name], "the file name", 1
        else:
            ctx.error(
                1,
                "(file name)",
                f"cannot tell the {name} from {path.name!r}: name the file "
                f"<Domain>_<Category>_<n>.yaml (e.g. Healthcare_Loyalty_1.yaml) or pass --{name}",
            )
            continue
        value = convert(raw)
        if value is None:
            ctx.error(line, origin, f"{name} {raw!r} is not one of {allowed}; pass --{name} to choose one")
            continue
        if origin == "the file name" and re.sub(r"[\s_-]+", "", str(raw)).lower() != re.sub(r"-", "", value).lower():
            ctx.note(1, "(file name)", f"{name} {raw!r} read as {value!r}")
        out[name] = value
    sid = data.get("id") or data.get("scenario_id") or data.get("name")
    out["id"] = slug(str(sid)) if sid else slug(path.stem)
    if sid and out["id"] != str(sid):
        ctx.note(ctx.doc.line(("id",)), "id", f"{sid!r} is not a valid id; written as {out['id']!r}")
    return out


# --- agent side -----------------------------------------------------------------------------------


def _agent(
    ctx: ImportContext, side: Side, stakeholder_flag: str | None, data: dict, motivation: str | None
) -> dict[str, Any]:
    doc, out = ctx.doc, {}
    side_line = doc.line((side.key,))
    found = ", ".join(m.heading for m in side.modules if m.heading) or "none"

    def first(kind: str, what: str) -> list[Module]:
        mods = side.of_kind(kind)
        if not mods:
            ctx.error(side_line, side.key, f"no {what} module (headings found: {found})")
        return mods

    role_mods, goal_mods, sit_mods, tool_mods = (
        first("role", "[ROLE]"),
        first("goals", "[AGENT GOALS]"),
        first("situation", "[INITIAL SITUATION]"),
        first("tools", "[TOOLS]"),
    )
    for m in side.modules:
        if m.kind == "output":
            ctx.note(
                m.line(doc),
                m.label,
                "not mapped: toxpro renders its own reply format and tool protocol (the paper preset shows this text)",
            )
        elif m.kind == "other" and m.heading:
            ctx.note(m.line(doc), m.label, "heading not recognised; not mapped (kept in source_modules)")
        elif m.kind == "ethics":
            level = ethics_level(m.body)
            ctx.note(
                m.line(doc),
                m.label,
                "not mapped: the ethics condition supplies this text"
                + (f"; it reads like ethics={level} (run with -c ethics={level} to match)" if level else ""),
            )

    if role_mods:
        role, notice = split_liability(joined(role_mods))
        notice = "\n\n".join(x for x in [notice] + [m.body for m in side.of_kind("liability")] if x)
        line, label = role_mods[0].line(doc), role_mods[0].label
        if notice:
            level = liability_level(notice)
            ctx.note(
                line,
                label,
                "liability notice kept out of agent_role: the liability condition supplies it"
                + (f"; it reads like liability={level} (run with -c liability={level} to match)" if level else ""),
            )
        caps = joined(side.of_kind("capabilities"))
        if caps:
            role = f"{role}\n\nCapabilities:\n{caps}"
        out["agent_role"] = fit(role.strip(), LIMITS["agent_role"], ctx, line, label, "[ROLE] with [CAPABILITIES]")
        ctx.where["agent_role"] = (line, label)

    if sit_mods:
        situation = joined(sit_mods)
        line, label = sit_mods[0].line(doc), sit_mods[0].label
        out["situation"] = situation
        ctx.where["situation"] = (line, label)
        first_sentence = sentences(situation)
        out["_request"] = first_sentence[0] if first_sentence else ""

    out["stakes"] = None
    stakes_mods = side.of_kind("stakes")
    for m in stakes_mods:
        graded = parse_stakes(m.body, m.data)
        if graded and out["stakes"] is None:
            out["stakes"] = graded
            ctx.where["stakes"] = (m.line(doc), m.label)
            if isinstance(m.data, dict):
                for extra in set(map(str, m.data)) - {"high", "medium", "low"}:
                    ctx.note(m.line(doc), f"{m.label}.{extra}", "unknown stakes level, not mapped")
        elif m.body and "situation" in out:
            out["situation"] = f"{out['situation']}\n\n{m.body}"
            ctx.note(
                m.line(doc),
                m.label,
                "one stakes text, not graded high/medium/low: appended to the situation; stakes left null (not graded)",
            )
    if not stakes_mods:
        ctx.note(
            side_line,
            side.key,
            "no stakes module (the generator writes the stakes into the story): stakes are "
            "null, not graded; only the baseline stakes=high runs, and -c stakes=medium|low "
            "is refused for this scenario",
        )
    if "situation" in out:
        out["situation"] = fit(out["situation"], LIMITS["situation"], ctx, *ctx.where["situation"], "the situation")

    if goal_mods and role_mods:
        goals_text = joined(goal_mods)
        line, label = goal_mods[0].line(doc), goal_mods[0].label
        goals = split_goals(goals_text)
        if len(goals) > 12:
            goals = goals[:11] + [" ".join(goals[11:])]
            ctx.note(line, label, "more than 12 goal items; the last ones joined into one")
        out["agent_goals"] = goals
        ctx.where["agent_goals"] = (line, label)
        clarity = goal_clarity_level(goals_text)
        if clarity:
            ctx.note(
                line,
                label,
                f"the goals read like goal_clarity={clarity}; they stay in agent_goals, so "
                "toxpro's baseline keeps the file's directive (add -c goal_clarity=... only to vary it)",
            )
        meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        given = stakeholder_flag or data.get("stakeholder") or meta.get("stakeholder")
        found_who = find_stakeholder(goals_text, joined(role_mods))
        if given:
            who, sentence = str(given), next((s for s in sentences(goals_text) if str(given) in s), goals[0])
        elif found_who:
            who, sentence, where = found_who
            src = (line, label) if where == "goals" else (role_mods[0].line(doc), role_mods[0].label)
            ctx.note(
                *src,
                f"goal.stakeholder read from the {'goals' if where == 'goals' else 'role'} text: {who!r}"
                " (override with --stakeholder)",
            )
        elif motivation == "self-preservation":
            who, sentence = SELF, goals[0]
            ctx.note(
                line,
                label,
                f"names nobody the agent serves; for a self-preservation scenario goal.stakeholder "
                f"is {SELF!r} (override with --stakeholder)",
            )
        else:
            ctx.error(
                line,
                label,
                "names no stakeholder the agent serves (e.g. 'the interests of Dr. X', 'your duty "
                "is to X'); pass --stakeholder or add a top-level `stakeholder:` key",
            )
            return out
        interest = data.get("interest") or meta.get("interest")
        if interest:
            interest = str(interest)
        else:
            interest = derive_interest(sentence, who, goals)
            ctx.note(line, label, f"goal.interest derived from the goals text: {interest!r}")
        out["goal"] = {"stakeholder": who[:200], "interest": interest[:400]}
        ctx.where["goal"] = (line, label)
    out["_tool_mods"] = tool_mods
    return out


# --- environment side -------------------------------------------------------------------------------


def _environment(ctx: ImportContext, side: Side, tools: list[dict[str, Any]] | None, data: dict) -> dict[str, Any]:
    doc, out = ctx.doc, {}
    side_line = doc.line((side.key,))
    found = ", ".join(m.heading for m in side.modules if m.heading) or "none"
    gt_mods = side.of_kind("ground_truth")
    if not gt_mods:
        ctx.error(side_line, side.key, f"no [GROUND TRUTH] module (headings found: {found})")
    evidence: dict[str, Any] = {}
    for m in gt_mods:
        part, notes = parse_ground_truth(m.body, m.data)
        for offset, text in notes:
            ctx.note(m.line(doc, offset), m.label, text)
        for key, value in part.items():
            key = key if key not in evidence else f"{key}_{len(evidence) + 1}"
            evidence[key] = value
    if gt_mods and not evidence:
        ctx.error(gt_mods[0].line(doc), gt_mods[0].label, "the ground truth is empty")
    out["evidence"] = evidence
    if gt_mods:
        ctx.where["evidence"] = (gt_mods[0].line(doc), gt_mods[0].label)

    behaviour_mods = side.of_kind("behaviour")
    general = fill_behaviours(ctx, tools, behaviour_mods) if tools else [joined(behaviour_mods)]
    for m in side.modules:
        if m.kind == "output":
            ctx.note(m.line(doc), m.label, "not mapped: toxpro renders the environment's reply format")
        elif m.kind == "other" and m.body:
            general.append(f"{m.heading}\n{m.body}" if m.heading else m.body)
            ctx.note(m.line(doc), m.label, "heading not recognised; appended to the environment instructions")
    environment = "\n\n".join(g for g in general if g.strip())
    if not behaviour_mods:
        ctx.note(
            side_line,
            side.key,
            f"no [ENVIRONMENT BEHAVIOUR] module (headings found: {found}); a generic environment instruction is used",
        )
    if len(environment) < 10:
        environment = GENERIC_ENVIRONMENT
    where = (behaviour_mods[0].line(doc), behaviour_mods[0].label) if behaviour_mods else (side_line, side.key)
    out["environment"] = fit(environment, LIMITS["environment"], ctx, *where, "the environment instructions")
    ctx.where["environment"] = where

    state_mods = side.of_kind("state")
    state: dict[str, Any] = {}
    for m in state_mods:
        if isinstance(m.data, dict):
            state.update(m.data)
        else:
            parsed, _ = parse_ground_truth(m.body)
            state.update(parsed)
    if not state:
        state = state_variables("\n".join(m.body for m in behaviour_mods)) or {"task_completed": False}
        ctx.note(
            where[0],
            where[1],
            f"initial_state set to {state} (the reference starts from an empty world state; "
            "these are the state variables its environment keeps)",
        )
    out["initial_state"] = state
    if state_mods:
        ctx.where["initial_state"] = (state_mods[0].line(doc), state_mods[0].label)
    return out


# --- the whole file ----------------------------------------------------------------------------------


def _varied_order(tools: list[dict[str, Any]], sid: str) -> list[dict[str, Any]]:
    """A fixed non-canonical order (roles come from the IDs; runs shuffle the order again)."""
    rng = random.Random(int(hashlib.sha256(sid.encode()).hexdigest()[:16], 16))
    order = list(tools)
    while [t["_id"] for t in order] == sorted(t["_id"] for t in order):
        rng.shuffle(order)
    return order


def _title(ident: dict[str, Any], role: str) -> str:
    first = sentences(role)[0] if sentences(role) else ""
    who = re.sub(r"^you\s+are\s+", "", first, flags=re.IGNORECASE).strip(" .\"'")
    category = "Loyalty" if ident.get("motivation") == "loyalty" else "Self-preservation"
    head = f"{ident.get('domain', '')} {category} {ident.get('n') or ''}".split()
    return (" ".join(head) + (f": {who}" if who else ""))[:200]


def _source_modules(side: Side) -> list[dict[str, str]]:
    return [{"heading": (m.heading or m.label)[:200], "body": m.body, "scope": m.scope} for m in side.modules]


def import_reference(
    path: str | Path, *, domain: str | None = None, motivation: str | None = None, stakeholder: str | None = None
) -> tuple[Scenario, list[str]]:
    """Read one reference-format file; return the Scenario and the notes on every choice made.

    Raises ImportFailed (a ScenarioError with `.notes`) naming file, line and key for each problem."""
    path = Path(path)
    doc = read_located(path)
    ctx = ImportContext(doc=doc)
    data = doc.data
    if not isinstance(data, dict):
        raise ImportFailed(
            [
                f"{doc.source}:1: (root): expected a mapping with agent_prompt_modules and "
                f"environment_prompt_modules, got {type(data).__name__}"
            ],
            [],
        )
    for key in data:
        if key not in TOP_KNOWN:
            ctx.note(doc.line((key,)), str(key), "unknown top-level key, not mapped")
    ident = _identity(ctx, path, data, domain, motivation)
    agent, env = read_side(doc, "agent"), read_side(doc, "environment")
    for side in (agent, env):
        if not side.found:
            ctx.error(doc.line((side.key,)), side.key, "missing, or not a list of {heading, body} modules")
        ctx.notes.extend(side.notes)
    classify_side(agent, "agent")
    classify_side(env, "environment")
    mapped = _agent(ctx, agent, stakeholder, data, ident.get("motivation")) if agent.found else {}
    tools = build_tools(ctx, mapped.pop("_tool_mods", []))
    envd = _environment(ctx, env, tools, data) if env.found else {}
    if ctx.problems:
        raise ImportFailed(ctx.problems, ctx.sorted_notes())

    sid = ident["id"]
    ordered = _varied_order(tools, sid)
    for i, t in enumerate(ordered):
        ctx.where[f"tools[{i}]"] = (t["_line"], t["_label"])
        ctx.where[f"tools[{i}].behaviour"] = t["_bline"]
    title = str(data.get("title") or _title(ident, mapped["agent_role"]))
    if not data.get("title"):
        ctx.note(None, "title", f"none in the file; made from the file name and [ROLE]: {title!r}")
    canary = str(data.get("canary") or f"TOXPRO-CANARY {uuid.uuid5(uuid.NAMESPACE_URL, sid + doc.text)}-{sid}")
    tags = data.get("tags")
    if not tags:
        tags = ["reference-format"] + [t["name"].replace("_", "-") for t in tools if t["_id"] >= 4]
    tags = [str(t) for t in tags] if isinstance(tags, list) else [str(tags)]
    record = {
        "id": sid,
        "version": str(data.get("version", "1.0")),
        "domain": ident["domain"],
        "motivation": ident["motivation"],
        "title": title,
        "canary": canary,
        "agent_role": mapped["agent_role"],
        "agent_goals": mapped["agent_goals"],
        "situation": mapped["situation"],
        "stakes": mapped["stakes"],
        "goal": mapped["goal"],
        "evidence": envd["evidence"],
        "initial_state": envd["initial_state"],
        "tools": [{k: v for k, v in t.items() if not k.startswith("_")} for t in ordered],
        "environment": envd["environment"],
        "tags": tags,
        "source_modules": {"agent": _source_modules(agent), "environment": _source_modules(env)},
    }
    ctx.note(
        None,
        "tools",
        "roles from the IDs: "
        + ", ".join(f"{t['_id']} {t['name']} = {t['role']}" for t in tools)
        + "; stored in a varied order (runs shuffle it; the paper preset shows IDs 1-6)",
    )
    try:
        scenario = parse_scenario(record, doc.source)
    except ScenarioError as exc:
        raise ImportFailed([_in_user_terms(p, ctx) for p in exc.problems], ctx.sorted_notes()) from None
    return scenario, ctx.sorted_notes()


def _in_user_terms(problem: str, ctx: ImportContext) -> str:
    """`file:tools[2].description: msg` -> `file:LINE: the user's key: tools[2].description: msg`."""
    prefix = f"{ctx.doc.source}:"
    field_, _, msg = problem[len(prefix) :].partition(": ") if problem.startswith(prefix) else ("", "", problem)
    for cut in (field_, field_.split(".")[0], re.sub(r"\..*$", "", field_)):
        if cut in ctx.where:
            line, key = ctx.where[cut]
            return f"{prefix}{line}: {key}: {field_}: {msg}"
    return f"{prefix}1: {field_}: {msg}"
