"""The canonical JSON text that content hashes and run ids are computed over."""

from __future__ import annotations

import json


def canonical_json(value: object) -> str:
    """Sorted keys, no spaces, UTF-8 kept; values JSON cannot hold are written as str()."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
