"""Keep secrets out of everything written: values of key-like environment variables are masked."""

from __future__ import annotations

import os
import re

_SECRET_NAME = re.compile(r"(API_KEY|_KEY|TOKEN|SECRET|PASSWORD)$", re.IGNORECASE)
_URL_USERINFO = re.compile(r"(https?://)[^/\s:@]+:[^/\s@]+@")
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._\-]{8,}")
MASK = "***"


def secret_values() -> list[str]:
    return sorted({v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= 8}, key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    """Mask secrets in text; pass `secrets` (from secret_values()) to mask many texts with one scan."""
    for value in secret_values() if secrets is None else secrets:
        if value in text:
            text = text.replace(value, MASK)
    text = _URL_USERINFO.sub(r"\1" + MASK + "@", text)
    return _BEARER.sub(r"\1" + MASK, text)
