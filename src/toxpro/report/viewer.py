"""Run data for the transcript viewer, and its safe embedding in HTML.

Model output is untrusted. It travels as JSON inside <script type="application/json">, with every `<`, `>`
and `&` written as a \\u escape (so no `</script>` or `<!--` can end or alter the element), and the viewer
renders it with textContent only.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from markupsafe import Markup

from ..simulate.records import RunRecord, Turn
from ..store.sqlite import RunStore

MAX_RUNS = 2000
MAX_BYTES = 25_000_000  # embedded JSON budget, roughly
MAX_TEXT = 6000  # characters kept of any one text field

_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def embed_json(value: Any) -> Markup:
    """JSON safe to place verbatim inside a <script type="application/json"> element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    return Markup("".join(_JSON_ESCAPES.get(ch, ch) for ch in text))


def clip(text: str | None, limit: int = MAX_TEXT) -> str:
    if not text:
        return ""
    text = str(text)
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… [{len(text) - limit} more characters not shown]"


def _json_text(value: Any) -> str:
    return clip(json.dumps(value, ensure_ascii=False, indent=1, default=str))


def risk_of(turn: Turn) -> str:
    """compliant | toxic | error: what the turn's agent action means on the risk track."""
    a = turn.action
    if a is None or not a.ok:
        return "error"
    if a.tool_track == "escalate":
        return "escalation"
    return "toxic" if a.tool_track == "toxic" else "compliant"


def turn_data(turn: Turn) -> dict[str, Any]:
    a = turn.action
    resp = turn.agent_call.response
    raw = resp.content if resp else ""
    thinking = resp.reasoning if resp else ""
    errors = []
    if turn.agent_call.error:
        errors.append(f"agent call failed ({turn.agent_call.error.kind}): {turn.agent_call.error.message}")
    for call in [*turn.env_calls, *(turn.monitor.calls if turn.monitor else [])]:
        if call.error:
            errors.append(f"environment call failed ({call.error.kind}): {call.error.message}")
    env = turn.env
    return {
        "i": turn.index,
        "risk": risk_of(turn),
        "reasoning": clip(a.reasoning if a else ""),
        "thinking": clip(thinking),
        "raw": clip(raw) if (a is None or a.problem is not None or a.parse_mode == "failed") else "",
        "tool": (a.tool_name or "") if a else "",
        "tool_id": (a.tool_id or "") if a else "",
        "role": (a.tool_role or "") if a else "",
        "track": (a.tool_track or "") if a else "",
        "params": _json_text(a.parameters) if a and a.parameters else "",
        "parse_mode": a.parse_mode if a else "",
        "problem": (a.problem or "") if a else "no action",
        "env_status": env.status if env else "",
        "observation": clip(env.observation) if env else "",
        "updates": [
            [
                clip(u.key, 200),
                clip(
                    u.value if isinstance(u.value, str) else json.dumps(u.value, ensure_ascii=False, default=str), 1000
                ),
            ]
            for u in (env.state_updates if env else [])
        ],
        "errors": [clip(e, 2000) for e in errors],
        "monitor": turn.monitor.verdict if turn.monitor else "",  # the action monitor's verdict, if one reviewed it
        "monitor_reason": clip(turn.monitor.reason) if turn.monitor else "",
    }


def _message_text(message) -> str:
    content = message.content if hasattr(message, "content") else message.get("content")
    if isinstance(content, list):  # content parts
        content = "\n".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
    return clip(content or "")


def prompts(record: RunRecord) -> dict[str, str]:
    """What the agent saw first (system prompt, opening user message with the evidence) and the environment's
    first prompt, from the first recorded calls."""
    out = {"system_prompt": "", "opening": "", "env_prompt": ""}
    if record.turns:
        messages = record.turns[0].agent_call.messages
        out["system_prompt"] = "\n\n".join(_message_text(m) for m in messages if _role(m) == "system")
        users = [m for m in messages if _role(m) == "user"]
        out["opening"] = _message_text(users[0]) if users else ""
        env = next((c for t in record.turns for c in t.env_calls), None)
        if env is not None:
            out["env_prompt"] = clip(
                "\n\n".join(f"[{_role(m)}]\n{_message_text(m)}" for m in env.messages), 2 * MAX_TEXT
            )
    return out


def _role(message) -> str:
    return str(message.role if hasattr(message, "role") else message.get("role"))


def run_data(record: RunRecord, name: str | None = None) -> dict[str, Any]:
    label = record.label
    changed = record.condition.differs_from_baseline()
    return {
        "id": record.run_id,
        "model": name or record.agent_model,  # the display name (filters, list)
        "agent_model": record.agent_model,  # the full model string (run details)
        "family": record.agent_family or "",
        "reasoning": bool(record.agent_reasoning),
        **prompts(record),
        "env_model": record.env_model,
        "scenario": record.scenario_id,
        "domain": record.domain,
        "motivation": record.motivation,
        "condition": record.condition.key,
        "condition_short": ", ".join(f"{k}={v}" for k, v in changed.items()) or "baseline",
        "repeat": record.repeat,
        "seed": record.seed,
        "label": label.label if label else "",
        "partial_label": (label.partial_label or "") if label else "",
        "ttf": label.ttf if label else None,
        "outcome": record.outcome,
        "error": f"{record.error.kind} ({record.error.where}): {clip(record.error.message, 2000)}"
        if record.error
        else "",
        "protocol_errors": record.protocol_errors,
        "protocol": record.settings.protocol,
        "safeguard": record.settings.safeguard_key,
        "turns": [turn_data(t) for t in record.turns],
    }


def select_runs(
    store: RunStore, *, max_runs: int = MAX_RUNS, max_bytes: int = MAX_BYTES, names: dict[str, str] | None = None
) -> tuple[list[dict[str, Any]], int, str | None]:
    """Viewer data for the stored runs, at most max_runs of them and about max_bytes of JSON.

    When capped, runs are taken round-robin over (model, label) groups, in run-id order within each, so every
    model and behaviour stays represented; only the chosen records are read. Returns (runs, total stored,
    note when capped)."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    rows = store.rows()
    for row in rows:
        groups[(str(row["agent_model"]), str(row["label"]))].append(row["run_id"])
    queues = [sorted(groups[k]) for k in sorted(groups)]
    order: list[str] = []
    for depth in range(max((len(q) for q in queues), default=0)):
        order.extend(q[depth] for q in queues if depth < len(q))
    chosen: list[dict[str, Any]] = []
    size = 0
    capped_by_bytes = False
    for rid in order[:max_runs]:
        record = store.get(rid)
        if record is None:
            continue
        data = run_data(record, (names or {}).get(record.agent_model))
        n = len(json.dumps(data, ensure_ascii=False, default=str))
        if chosen and size + n > max_bytes:
            capped_by_bytes = True
            break
        chosen.append(data)
        size += n
    chosen.sort(key=lambda d: (d["model"], d["scenario"], d["condition"], d["repeat"], d["id"]))
    total = len(rows)
    note = None
    if len(chosen) < total:
        why = f"the {max_bytes / 1e6:.0f} MB size budget" if capped_by_bytes else f"the cap of {max_runs} runs"
        note = (
            f"The transcript viewer shows {len(chosen)} of {total} stored runs ({why}), taken round-robin over "
            f"model × label so every group stays represented. Tables and figures use all runs."
        )
    return chosen, total, note
