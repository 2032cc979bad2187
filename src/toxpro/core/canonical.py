"""JSON texts: the canonical text that content hashes and run ids are computed over, and the fast
compact text that records and request bodies are written in."""

from __future__ import annotations

import json

import orjson


def canonical_json(value: object) -> str:
    """Sorted keys, no spaces, UTF-8 kept; values JSON cannot hold are written as str()."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def compact_json(value: object) -> bytes:
    """Compact UTF-8 JSON in the given key order, by orjson (6x faster than json on a packed record,
    40x on a request body); json where orjson refuses (an integer beyond 64 bits). orjson writes NaN
    as null, as pydantic's model_dump_json does."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
