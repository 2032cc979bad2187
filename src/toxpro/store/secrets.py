"""Keep secrets out of everything written: values of key-like environment variables are masked.

Values of 8 characters or more are masked wherever they occur. Shorter values (4 to 7 characters;
a value under 4 characters is no secret) are masked where they stand alone, not inside longer
words, so a short key echoed in an error body is masked without mangling the text around it.
Passwords in URLs (scheme://user:password@host) and bearer tokens are masked whatever they are."""

from __future__ import annotations

import functools
import os
import re

_SECRET_NAME = re.compile(r"(API_KEY|_KEY|TOKEN|SECRET|PASSWORD)$", re.IGNORECASE)
# anchored on the literal "://" (re's fast literal search): a scheme-first pattern tried a match at every
# letter of a record and cost ~1 ms per run; the scheme itself is never changed, so it need not match
_URL_USERINFO = re.compile(r"(://)[^/\s:@]+:[^/\s@]+@")
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._\-~+/=]{4,}")
MASK = "***"
MIN_SECRET = 4  # shorter values are not masked (masking "ab" everywhere would mangle every record)
LONG_SECRET = 8  # at least this long: masked wherever it occurs
_LITERALS = {"true", "false", "null", "none"}


def secret_values() -> list[str]:
    values = {v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v.strip()) >= MIN_SECRET}
    return sorted((v for v in values if v.lower() not in _LITERALS and not v.isdigit()), key=len, reverse=True)


@functools.lru_cache(maxsize=64)
def _standalone(value: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9_\-]){re.escape(value)}(?![A-Za-z0-9_\-])")


def redact(text: str, secrets: list[str] | None = None) -> str:
    """Mask secrets in text; pass `secrets` (from secret_values()) to mask many texts with one scan."""
    for value in secret_values() if secrets is None else secrets:
        if value in text:
            text = text.replace(value, MASK) if len(value) >= LONG_SECRET else _standalone(value).sub(MASK, text)
    text = _URL_USERINFO.sub(r"\1" + MASK + "@", text)
    return _BEARER.sub(r"\1" + MASK, text)
