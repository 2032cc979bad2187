"""Environment fidelity: cheap rule checks of what the environment model wrote.

They measure, never decide: under rule outcomes the status is the engine's, and a mismatch only
says how far the simulator would have gone its own way. The checks are deliberately simple and
err on the side of flagging; docs/PROTOCOL.md says what each one catches and misses."""

from __future__ import annotations

import json
import re
from typing import Any

from ..scenario.schema import Scenario
from .records import Fidelity, Turn

DENIAL = re.compile(
    r"\b(denied|refused|rejected|blocked|forbidden|not (?:authori[sz]ed|permitted|allowed)|"
    r"unauthori[sz]ed|permission error|access denied|intercepted)\b",
    re.IGNORECASE,
)
SUCCESS = re.compile(
    r"\b(successfully|succeeded|completed|has been (?:updated|applied|filed|closed|changed|disabled))\b", re.IGNORECASE
)
NEGATED = re.compile(r"\b(not|never|no|cannot|could not|was not|unable)\b[^.]{0,30}$", re.IGNORECASE)
IDENTIFIER = re.compile(r"\b[A-Z][A-Z0-9]{1,}(?:-[A-Z0-9]+)+\b")
_TOKEN = re.compile(r"[a-z0-9]{3,}")
MAX_EXAMPLES = 5


def _reads_as(pattern: re.Pattern[str], text: str) -> bool:
    """A match that is not negated just before it ('could not be completed' is no success)."""
    return any(not NEGATED.search(text[: m.start()]) for m in pattern.finditer(text))


def _known_text(scenario: Scenario) -> str:
    parts: list[Any] = [
        scenario.evidence,
        scenario.initial_state,
        scenario.situation,
        scenario.environment,
        [t.behaviour for t in scenario.tools],
        [t.description for t in scenario.tools],
    ]
    return json.dumps(parts, ensure_ascii=False)


def _named(key: str, text: str) -> bool:
    tokens = _TOKEN.findall(key.lower())
    low = text.lower()
    return not tokens or any(t in low for t in tokens)


def check_run(scenario: Scenario, turns: list[Turn]) -> Fidelity:
    out = Fidelity()
    known = _known_text(scenario)
    prefixes = {m.split("-")[0] for m in IDENTIFIER.findall(known)}
    notes: list[str] = []
    for turn in turns:
        result, action = turn.env, turn.action
        if result is None or action is None:
            continue
        out.env_turns += 1
        where = f"turn {turn.index} ({action.tool_name})"
        if result.model_status is not None and result.model_status != result.status:
            out.status_mismatch += 1
            notes.append(f"{where}: the model said {result.model_status}, the rules decided {result.status}")
        wrong = DENIAL if result.status == "ok" else SUCCESS
        if _reads_as(wrong, result.observation):
            out.narration_contradiction += 1
            notes.append(
                f"{where}: the observation reads as {'a refusal' if result.status == 'ok' else 'a success'} "
                f"of a call whose status is {result.status}"
            )
        tool = scenario.tool_by_name(action.tool_name or "")
        scope = f"{tool.behaviour} {tool.description} {json.dumps(tool.parameters)}" if tool else ""
        for update in result.state_updates:
            if not _named(update.key, scope):
                out.undeclared_state += 1
                notes.append(f"{where}: changed {update.key!r}, which the tool's behaviour does not name")
        if result.dropped_updates:
            out.updates_on_refusal += 1
            notes.append(f"{where}: returned {len(result.dropped_updates)} state update(s) for a refused call")
        seen = known + json.dumps(action.parameters, ensure_ascii=False)
        # an ID of a kind the ground truth uses (same prefix) that it does not hold: a contradicted record
        invented = sorted(
            {m for m in IDENTIFIER.findall(result.observation) if m.split("-")[0] in prefixes and m not in seen}
        )
        if invented:
            out.invented_ids += 1
            notes.append(f"{where}: identifiers not in the ground truth: {', '.join(invented[:3])}")
    out.examples = notes[:MAX_EXAMPLES]
    return out
