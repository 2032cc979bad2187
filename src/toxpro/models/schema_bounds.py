"""Bound every string in a JSON schema so constrained decoding always terminates."""

from __future__ import annotations

from typing import Any


def bound_strings(schema: dict[str, Any], max_len: int = 300, max_items: int = 8) -> dict[str, Any]:
    out = dict(schema)
    kind = out.get("type")
    if kind == "string" and "enum" not in out and "const" not in out:
        out["maxLength"] = min(int(out.get("maxLength", max_len)), max_len)
    if kind == "array":
        out["maxItems"] = min(int(out.get("maxItems", max_items)), max_items)
        if isinstance(out.get("items"), dict):
            out["items"] = bound_strings(out["items"], max_len, max_items)
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: bound_strings(v, max_len, max_items) for k, v in out["properties"].items()}
        out.setdefault("additionalProperties", False)
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(out.get(key), list):
            out[key] = [bound_strings(s, max_len, max_items) for s in out[key]]
    return out
