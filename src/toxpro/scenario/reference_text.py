"""Reading the prose of reference-format modules: ground truth, goals, stakeholder, condition texts."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from .loader import NoAliasLoader

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+.-]*)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.DOTALL | re.MULTILINE)
_ABBREV = ("Dr", "Mr", "Mrs", "Ms", "Prof", "St", "Inc", "Ltd", "Co", "vs", "e.g", "i.e", "No", "Jr", "Sr", "Mt")


# --- ground truth -------------------------------------------------------------------------------


def _load_structured(text: str) -> tuple[Any, str]:
    """(value, problem): JSON first, then YAML (which also reads JSON with small slips)."""
    try:
        return json.loads(text), ""
    except ValueError as exc:
        problem = f"line {getattr(exc, 'lineno', '?')}: {getattr(exc, 'msg', exc)}"
    try:
        return yaml.load(text, Loader=NoAliasLoader), problem
    except yaml.YAMLError:
        return None, problem


def _put(evidence: dict[str, Any], key: str, value: Any) -> None:
    name, n = key, 2
    while name in evidence:
        name, n = f"{key}_{n}", n + 1
    evidence[name] = value


def _paragraphs(text: str, evidence: dict[str, Any], default: str) -> None:
    for _i, para in enumerate(p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()):
        m = re.match(r"^(?:\*\*|#+\s*)?([A-Za-z][\w /-]{1,40}?)(?:\*\*)?\s*:\s*(.+)$", para, re.DOTALL)
        key = re.sub(r"\W+", "_", m.group(1).strip()).strip("_") if m else default
        _put(evidence, key or default, m.group(2).strip() if m else para)


def parse_ground_truth(body: str, data: Any = None) -> tuple[dict[str, Any], list[tuple[int, str]]]:
    """Evidence from a [GROUND TRUTH] body: fenced JSON/YAML blocks merged, logs and prose kept as text.

    Returns (evidence, [(line offset, note)])."""
    notes: list[tuple[int, str]] = []
    if isinstance(data, dict) and data:
        return dict(data), notes
    evidence: dict[str, Any] = {}
    fences = list(_FENCE.finditer(body))
    if not fences:
        # YAML would drop everything after a '#' in prose, so text with one is never read as YAML
        value, problem = _load_structured(body) if "#" not in body else (None, "")
        if isinstance(value, dict) and value and not all(v is None for v in value.values()):
            return value, notes
        if isinstance(value, list) and value and body.lstrip().startswith("["):
            return {"records": value}, notes
        _paragraphs(body, evidence, "ground_truth")
        notes.append((0, "plain text, not JSON; kept as text evidence"))
        return evidence, notes
    prose = body[: fences[0].start()]
    for i, m in enumerate(fences):
        lang, text = m.group(2).lower(), m.group(3)
        offset = body[: m.start()].count("\n")
        parsed, problem = (
            (None, "") if lang in ("text", "log", "logs", "txt", "plain", "console") else _load_structured(text)
        )
        if isinstance(parsed, dict) and parsed:
            for key, value in parsed.items():
                _put(evidence, str(key), value)
            if problem and lang == "json":
                notes.append((offset, f"fenced JSON does not parse as JSON ({problem}); read as YAML"))
        elif isinstance(parsed, list) and parsed:
            _put(evidence, "records", parsed)
        else:
            if lang == "json":
                notes.append((offset, f"fenced JSON does not parse ({problem}); kept as text"))
            _put(
                evidence,
                "log" if lang in ("text", "log", "logs", "txt", "console", "") else f"{lang}_text",
                text.strip(),
            )
        end = fences[i + 1].start() if i + 1 < len(fences) else len(body)
        prose += "\n\n" + body[m.end() : end]
    if prose.strip():
        _paragraphs(prose, evidence, "notes")
    return evidence, notes


# --- goals and stakeholder --------------------------------------------------------------------


def sentences(text: str) -> list[str]:
    """Sentences, not split after 'Dr.' and other abbreviations."""
    parts = re.split(r"(?<=[.!?])\s+(?=[\"'“(A-Z0-9])", " ".join(text.split()))
    out: list[str] = []
    for p in parts:
        if out and re.search(rf"\b(?:{'|'.join(re.escape(a) for a in _ABBREV)})\.$", out[-1]):
            out[-1] = f"{out[-1]} {p}"
        else:
            out.append(p)
    return [s for s in out if s.strip()]


def split_goals(text: str) -> list[str]:
    """Goal items: bullet or numbered lines when there are some, else sentences."""
    lines = [l for l in text.splitlines() if l.strip()]
    bullets = [l for l in lines if re.match(r"^\s*(?:[-*+•]|\d+[.)])\s+", l)]
    if len(bullets) >= 2:
        items, current = [], ""
        for l in lines:
            if re.match(r"^\s*(?:[-*+•]|\d+[.)])\s+", l):
                if current:
                    items.append(current)
                current = re.sub(r"^\s*(?:[-*+•]|\d+[.)])\s+", "", l).strip()
            else:
                current = f"{current} {l.strip()}".strip()
        items.append(current)
        items = [re.sub(r"\*\*|__", "", i).strip() for i in items]
    else:
        items = sentences(re.sub(r"\*\*|__", "", text))
    return list(dict.fromkeys(i for i in items if i))


_CAPTURE = r"(?P<who>[^:;!?\n]+?)"
_STOP = (
    r"(?=\s*(?::|;|!|\?|$|,?\s+(?:even|when|whenever|while|by|so that|and to|and ensure|in order|who|which|whose)\b|"
    r",?\s+and\s+(?:keep|make|get|help|protect|maintain|deliver|ensure|avoid|hold|put|win|meet|close)\b|"
    r"(?<!\bDr)(?<!\bMr)(?<!\bMs)(?<!\bMrs)(?<!\bProf)(?<!\bSt)\.(?:\s|$)))"
)
_STAKEHOLDER_PATTERNS = [
    rf"\binterests?\s+(?:and\s+\w+\s+)?of\s+{_CAPTURE}{_STOP}",
    rf"\bvalue\s+for\s+{_CAPTURE}{_STOP}",
    rf"\b(?:duty|loyalty|obligation|allegiance|responsibility)\s+(?:is\s+)?to\s+{_CAPTURE}{_STOP}",
    rf"\b(?:you\s+)?(?:serve|serving|support|supporting|work\s+for|working\s+for|report\s+to)\s+(?:the\s+needs\s+of\s+)?{_CAPTURE}{_STOP}",
    rf"\bloyal\s+to\s+{_CAPTURE}{_STOP}",
    rf"\bsatisfy\s+{_CAPTURE}{_STOP}",
    rf"\bprioriti[sz]e\s+{_CAPTURE}{_STOP}",
    rf"\bon\s+behalf\s+of\s+{_CAPTURE}{_STOP}",
    rf"\b(?:maximi[sz]e|protect|increase|secure|grow|boost|deliver)\s+[^.;:]*?\s+for\s+{_CAPTURE}{_STOP}",
    r"\bhelp(?:ing)?\s+(?P<who>(?:the\s+)?(?-i:[A-Z])[\w.'’&-]*(?:\s+(?:of\s+|&\s+)?(?-i:[A-Z])[\w.'’&-]*)*)",
]
_ROLE_ORG = rf"\b(?:assistant|agent|bot|system|copilot|advisor|analyst|manager)\s+(?:of|for|at)\s+{_CAPTURE}{_STOP}"
_NOT_A_STAKEHOLDER = re.compile(
    r"^(?:loyalty[\s_]*object|assist|help|support|provide|ensure|keep|make|be|do|act|handle|manage|maintain|protect|"
    r"her|him|them|you|your\w*|it|its|this|that|their|his|the\s+(?:rules?|polic\w+|law|regulations?|public|safety|"
    r"compliance|task|goal|objective)s?|safety|compliance|rules?|polic\w+|all|every\w*|the\s+core\s+interests?)\b",
    re.IGNORECASE,
)


def _clean_who(who: str) -> str:
    who = re.sub(r"\*\*|__|`|\[|\]", "", who).strip(" ,.\"'“”")
    who = re.sub(r"^(?:the\s+)?(?:core\s+)?(?:interests?|needs)\s+(?:and\s+\w+\s+)?of\s+", "", who, flags=re.IGNORECASE)
    who = re.sub(
        r"['’]s\s+(?:core\s+|long-term\s+)?(?:interests?|needs|goals|objectives|wishes)\b.*$",
        "",
        who,
        flags=re.IGNORECASE,
    )
    return who.strip()


def find_stakeholder(goals: str, role: str) -> tuple[str, str, str] | None:
    """(stakeholder, the sentence it was found in, where: 'goals' or 'role')."""
    for where, text, patterns in (
        ("goals", goals, _STAKEHOLDER_PATTERNS),
        ("role", role, _STAKEHOLDER_PATTERNS),
        ("role", role, [_ROLE_ORG]),
    ):
        for sentence in (s for item in split_goals(text) for s in sentences(item)):
            for pattern in patterns:
                m = re.search(pattern, sentence, re.IGNORECASE)
                if not m:
                    continue
                who = _clean_who(m.group("who"))
                if 2 <= len(who) <= 200 and not _NOT_A_STAKEHOLDER.match(who):
                    return who, sentence, where
    return None


_WANTS = re.compile(
    r"\b(?:wants?|needs?|wish(?:es)?|expects?|asks?|demands?)\b|^(?:keep|get|make|ensure|maintain|put|"
    r"deliver|hold|close|publish|protect|avoid|finish|secure|win|reach|meet|help|satisfy|maximi[sz]e|minimi[sz]e|"
    r"increase|reduce|preserve|stay|remain)\b",
    re.I,
)
_NOT_INTEREST = re.compile(r"^(?:['’]s\s|who|which|whose|or|but|where|that|by|in|at|with)\b", re.I)


def _clause(text: str) -> str:
    text = re.sub(
        r"^(?:your|the)\s+(?:\w+\s+)?(?:objective|goal|aim|duty|mission|task|priority)\s+is\s+(?:to\s+)?",
        "",
        text.strip(),
        flags=re.I,
    )
    text = re.sub(r"^you\s+are\s+.*?\b(?:devoted|dedicated|committed)\s+to\s+", "", text, flags=re.I)
    text = re.split(r",?\s+even\s+(?:if|where|when|though)\b|;\s*when\b", text)[0]
    text = re.sub(r"^(?:he|she|they|it)\s+(?:wants?|needs?|wish(?:es)?)\s+(?=to\s)", "", text.strip(), flags=re.I)
    text = re.sub(r"^to\s+", "", text)
    return text.strip().rstrip(".").strip()


def derive_interest(sentence: str, stakeholder: str, goals: list[str]) -> str:
    """What the stakeholder wants: the rest of the sentence naming them, else the nearest goal sentence
    that states a wish or an aim, else that sentence itself (without any 'even if' bypass clause)."""
    candidates: list[tuple[int, int, str]] = []
    at = sentence.find(stakeholder)
    rest = sentence[at + len(stakeholder) :].lstrip(" .:,;-–—") if at >= 0 else ""
    rest = re.sub(r"^and\s+", "", rest)
    if len(rest) >= 12 and not _NOT_INTEREST.match(rest):
        candidates.append((2, 0, rest))
    flat = [s for g in goals for s in sentences(g)]
    here = next((i for i, s in enumerate(flat) if stakeholder in s or s in sentence), 0)
    for i, s in enumerate(flat):
        if s in sentence or sentence in s:
            continue
        candidates.append((1 if _WANTS.search(s) else 0, abs(i - here) + (0 if i > here else 1), s))
    best = sorted(candidates, key=lambda c: (-c[0], c[1]))
    for score, _, text in best:
        if score > 0 and len(_clause(text)) >= 5:
            return _clause(text)[:400]
    in_goals = any(sentence in g or g in sentence for g in goals)
    text = _clause(sentence if in_goals or not goals else goals[0])
    return (text if len(text) >= 5 else sentence.rstrip("."))[:400]


# --- condition texts baked into a file ------------------------------------------------------------

_LIABILITY = re.compile(r"liabilit|responsibilit|accountab|attributed to you|liable", re.IGNORECASE)
_NOTICE = re.compile(
    r"notice|you bear|attributed to you|rest(?:s)? with the user|decision-support tool|"
    r"held (?:legally )?(?:liable|responsible)|are (?:fully )?(?:liable|responsible)",
    re.IGNORECASE,
)


def split_liability(role: str) -> tuple[str, str]:
    """(role text without a liability notice, the notice) — the notice is a condition, not the scenario."""
    paras = [p for p in re.split(r"\n\s*\n", role.strip()) if p.strip()]
    keep, notice = [], []
    for p in paras:
        (notice if _LIABILITY.search(p) and _NOTICE.search(p) else keep).append(p.strip())
    if not notice and len(paras) == 1:
        parts = sentences(role)
        idx = next((i for i, s in enumerate(parts) if _LIABILITY.search(s) and _NOTICE.search(s)), None)
        if idx is not None and idx > 0:
            return " ".join(parts[:idx]), " ".join(parts[idx:])
    return "\n\n".join(keep), "\n\n".join(notice)


def liability_level(text: str) -> str:
    if re.search(
        r"rest(?:s)? with the user|user (?:bears|is responsible|is liable)|decision-support|assistive", text, re.I
    ):
        return "user"
    if re.search(
        r"you bear|attributed to you|traced to you|you answer|you (?:are|will be) (?:held )?(?:fully |personally )?"
        r"(?:liable|responsible|accountable)",
        text,
        re.I,
    ):
        return "agent"
    return ""


def ethics_level(text: str) -> str:
    t = text.lower()
    if re.search(
        r"utilit|(?:net|total|overall) benefit|benefit to everyone|greatest (?:overall )?good|welfare|"
        r"consequences? for everyone",
        t,
    ):
        return "utilitarian"
    if re.search(r"strictly adhere|regardless of (?:the )?outcomes?|dut(?:y|ies)|rules?,? polic", t):
        return "deontological"
    if re.search(r"virtue|character|loyalty, reliability|integrity", t):
        return "virtue"
    return ""


def goal_clarity_level(text: str) -> str:
    t = text.lower()
    if re.search(
        r"unconditional|even if (?:this|that|it) (?:requires|means)|bypass|overrid|at all costs?|"
        r"even where .*rules|first duty|above all",
        t,
    ):
        return "explicit"
    if re.search(r"creat\w* value for|long-term interests|strategic objectives|flexibl", t):
        return "implicit"
    return ""


# --- stakes and state -------------------------------------------------------------------------------


def parse_stakes(body: str, data: Any) -> dict[str, str] | None:
    """{high, medium, low} when the module grades its stakes, else None."""
    if isinstance(data, dict):
        levels = {str(k).strip().lower(): v for k, v in data.items()}
        if {"high", "medium", "low"} <= set(levels):
            return {k: " ".join(str(levels[k]).split()) for k in ("high", "medium", "low")}
        return None
    found: dict[str, str] = {}
    current = None
    for line in body.splitlines():
        m = re.match(r"^\s*[-*]?\s*(?:\*\*)?(high|medium|low)(?:\s+stakes)?(?:\*\*)?\s*[:\-–—]\s*(.*)$", line, re.I)
        if m:
            current = m.group(1).lower()
            found[current] = m.group(2).strip()
        elif current and line.strip():
            found[current] = f"{found[current]} {line.strip()}".strip()
    return found if {"high", "medium", "low"} <= set(found) else None


_STATE_VAR = re.compile(
    r"^\s*[-*]\s*`?([A-Za-z_]\w*)`?\s*:\s*(boolean|bool|integer|int|number|float|string|str|list|array)", re.IGNORECASE
)
_DEFAULTS = {
    "boolean": False,
    "bool": False,
    "integer": 0,
    "int": 0,
    "number": 0,
    "float": 0,
    "string": "",
    "str": "",
    "list": [],
    "array": [],
}


def state_variables(text: str) -> dict[str, Any]:
    """`- \\`task_completed\\`: boolean, ...` lines of a behaviour module -> {name: starting value}."""
    out: dict[str, Any] = {}
    for line in text.splitlines():
        m = _STATE_VAR.match(line)
        if m:
            out[m.group(1)] = _DEFAULTS[m.group(2).lower()]
    return out
