"""Keep reasoning apart from the answer: provider fields and inline <think> blocks."""

from __future__ import annotations

import re

_THINK = re.compile(r"<(think|thinking|reasoning)>(.*?)(</\1>|$)", re.DOTALL | re.IGNORECASE)


def split_think(text: str) -> tuple[str, str]:
    """Return (answer, reasoning) with every <think>…</think> block moved to reasoning.

    An unclosed <think> at the end counts as reasoning (truncated output)."""
    if not text:
        return "", ""
    parts: list[str] = []

    def grab(match: re.Match) -> str:
        parts.append(match.group(2).strip())
        return ""

    answer = _THINK.sub(grab, text)
    return answer.strip(), "\n".join(p for p in parts if p)


def provider_reasoning(message: object) -> str:
    """Reasoning fields that OpenAI-compatible servers put beside the content."""
    for field in ("reasoning_content", "reasoning"):
        value = getattr(message, field, None)
        if value is None and isinstance(getattr(message, "model_extra", None), dict):
            value = message.model_extra.get(field)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, dict):
            return str(value.get("content") or value.get("text") or value)
    return ""
