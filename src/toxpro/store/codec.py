"""The stored form of a run record (format 2): each message once per run, world state as diffs, compressed.

A run's calls repeat most of what they send: the agent's conversation is append-only, every call
of a role carries the same reply schema, and the environment's prompt re-renders the world state
and the call history each turn. Stored as-is that grows quadratically with the number of turns.
Format 2 keeps, per run:
- a message table: each distinct message once; a message that differs only in its text from the one
  at its place in the previous call of its role (the environment's re-rendered prompt) is stored as
  a line diff against it (copy ranges + new lines);
- each call's `messages` as the number it shares with the previous call of the same role plus
  ranges of message-table indices for the rest (a turn of an append-only conversation is [n, [new]]),
  and its `json_schema`, `tools` and `sampling` as indices into a table of distinct values;
- each turn's `state_after` (and the final state) as the keys set and removed since the turn before.
The result is JSON compressed with zstd (zlib where zstandard is missing), behind a 5-byte header.
Encoding checks that decoding gives back the record's JSON exactly and otherwise stores the plain
record (still compressed), so nothing is ever lost. Format 1 (the record's JSON text in a TEXT
column) is still read as it is."""

from __future__ import annotations

import difflib
import json
import zlib
from typing import Any

from ..core.canonical import compact_json
from ..core.errors import ToxproError

try:
    import zstandard
except ImportError:  # pragma: no cover - zstandard is a declared dependency
    zstandard = None

MAGIC = b"TXR2"
ZSTD, ZLIB = b"z", b"d"
_LEVEL = 3
_MIN_DELTA = 200  # shorter texts are stored whole
_CALL_FIELDS = ("json_schema", "tools", "sampling")


class CodecError(ToxproError, ValueError):
    pass


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _fast(value: Any) -> str:
    """Compact JSON text for encoding (core.canonical.compact_json: orjson, json where it refuses)."""
    return compact_json(value).decode()


def _key(message: dict) -> Any:
    """A key equal for two messages exactly when their JSON texts are: (keys, values) when every
    value is a string (hashing is much cheaper than serialising a long prompt), else the JSON text."""
    values = tuple(message.values())
    if all(type(v) is str for v in values):
        return tuple(message), values
    return _fast(message)


def _same_json(a: Any, b: Any) -> bool:
    """Whether a and b have the same JSON text (== alone takes 1 == 1.0 == True, ignores key order)."""
    if type(a) is type(b) and type(a) in (str, int, type(None)):
        return a == b
    return _fast(a) == _fast(b)


# ---- messages -----------------------------------------------------------------------------------


def _line_ops(base: str, text: str) -> list:
    """text as a list of [start, stop] line ranges copied from base and new strings."""
    a, b = base.splitlines(keepends=True), text.splitlines(keepends=True)
    ops: list = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            ops.append([i1, i2])
        elif j2 > j1:
            ops.append("".join(b[j1:j2]))
    return ops


def _apply_ops(base: str, ops: list) -> str:
    lines = base.splitlines(keepends=True)
    return "".join(op if isinstance(op, str) else "".join(lines[op[0] : op[1]]) for op in ops)


class _Messages:
    def __init__(self) -> None:
        self.entries: list[list] = []  # [0, message] or [1, base index, line ops]
        self.index: dict[Any, int] = {}
        self.values: list[dict] = []

    def add(self, message: dict, base_i: int | None) -> int:
        """The message's index, stored whole or as a line diff against message base_i."""
        if base_i is not None and self.values[base_i] == message and list(self.values[base_i]) == list(message):
            return base_i  # the common case, an append-only conversation: no serialisation needed
        key = _key(message)
        hit = self.index.get(key)
        if hit is not None:
            return hit
        entry: list = [0, message]
        content = message.get("content")
        if base_i is not None and isinstance(content, str) and len(content) >= _MIN_DELTA:
            base = self.values[base_i]
            same_rest = list(base) == list(message) and all(
                _same_json(base[k], message[k]) for k in message if k != "content"
            )
            if same_rest and isinstance(base.get("content"), str):
                ops = _line_ops(base["content"], content)
                if len(_fast(ops)) < len(content) // 2:
                    entry = [1, base_i, ops]
        i = len(self.entries)
        self.entries.append(entry)
        self.values.append(message)
        self.index[key] = i
        return i


def _ranges(indices: list[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for i in indices:
        if out and out[-1][0] + out[-1][1] == i:
            out[-1][1] += 1
        else:
            out.append([i, 1])
    return out


def _messages_from(entries: list[list]) -> list[dict]:
    values: list[dict] = []
    for entry in entries:
        if entry[0] == 0:
            values.append(entry[1])
        else:
            base = values[entry[1]]
            message = dict(base)
            message["content"] = _apply_ops(base["content"], entry[2])
            values.append(message)
    return values


# ---- world state --------------------------------------------------------------------------------


def _state_diff(before: dict, after: dict) -> list:
    """["d", {key: new value}, [removed keys]] when replaying it keeps after's key order, else ["f", after]."""
    changed = {k: v for k, v in after.items() if k not in before or not _same_json(before[k], v)}
    removed = [k for k in before if k not in after]
    diff = ["d", changed, removed]
    return diff if list(_apply_state(before, diff)) == list(after) else ["f", after]


def _apply_state(before: dict, diff: list) -> dict:
    if diff[0] == "f":
        return diff[1]
    removed = set(diff[2])
    state = {k: v for k, v in before.items() if k not in removed}
    state.update(diff[1])
    return state


# ---- records ------------------------------------------------------------------------------------


def _calls(turn: dict) -> list[dict]:
    return [turn["agent_call"], *turn.get("env_calls", [])]


def pack(record: dict) -> dict:
    """A record's JSON object → its format-2 object (does not modify record)."""
    msgs, values, value_index, last_values = _Messages(), [], {}, {}
    turns, state, last = [], {}, {}
    for turn in record.get("turns", []):
        turn = dict(turn)
        packed_calls = []
        for call in _calls(turn):
            call = dict(call)
            before = last.get(call.get("who"), [])
            # a message is diffed against the one at its place in the previous call of its role
            indices = [msgs.add(m, before[j] if j < len(before) else None) for j, m in enumerate(call["messages"])]
            shared = len(before) if indices[: len(before)] == before else 0
            call["messages"] = [shared, _ranges(indices[shared:])]  # the previous call's messages, then more
            last[call.get("who")] = indices
            for name in _CALL_FIELDS:
                if name in call:
                    same = last_values.get((call.get("who"), name))
                    if same is not None and values[same] == call[name]:
                        call[name] = same
                        continue
                    key = _fast(call[name])
                    if key not in value_index:
                        value_index[key] = len(values)
                        values.append(call[name])
                    call[name] = last_values[(call.get("who"), name)] = value_index[key]
            packed_calls.append(call)
        turn["agent_call"], turn["env_calls"] = packed_calls[0], packed_calls[1:]
        after = turn.get("state_after", {})
        turn["state_after"] = _state_diff(state, after)
        state = after
        turns.append(turn)
    body = dict(record)
    body["turns"] = turns
    body["final_state"] = _state_diff(state, record.get("final_state", {}))
    return {"v": 2, "messages": msgs.entries, "values": values, "record": body}


def unpack(packed: dict) -> dict:
    """The inverse of pack."""
    if "plain" in packed:
        return packed["plain"]
    messages, values = _messages_from(packed["messages"]), packed["values"]
    record = dict(packed["record"])
    turns, state, last = [], {}, {}
    for turn in record["turns"]:
        turn = dict(turn)
        calls = []
        for call in _calls(turn):
            call = dict(call)
            shared, ranges = call["messages"]
            indices = last.get(call.get("who"), [])[:shared] + [
                i for start, n in ranges for i in range(start, start + n)
            ]
            call["messages"] = [messages[i] for i in indices]
            last[call.get("who")] = indices
            for name in _CALL_FIELDS:
                if name in call:
                    call[name] = values[call[name]]
            calls.append(call)
        turn["agent_call"], turn["env_calls"] = calls[0], calls[1:]
        state = _apply_state(state, turn["state_after"])
        turn["state_after"] = state
        turns.append(turn)
    record["turns"] = turns
    record["final_state"] = _apply_state(state, record["final_state"])
    return record


def _compress(data: bytes) -> bytes:
    if zstandard is not None:
        return MAGIC + ZSTD + zstandard.ZstdCompressor(level=_LEVEL).compress(data)
    return MAGIC + ZLIB + zlib.compress(data, 9)  # pragma: no cover


def _decompress(blob: bytes) -> bytes:
    if blob[:4] != MAGIC:
        raise CodecError("not a toxpro record (bad header)")
    kind, data = blob[4:5], blob[5:]
    if kind == ZLIB:
        return zlib.decompress(data)
    if kind == ZSTD:
        if zstandard is None:  # pragma: no cover
            raise CodecError("this record is zstd-compressed: pip install zstandard")
        return zstandard.ZstdDecompressor().decompress(data)
    raise CodecError(f"unknown record compression {kind!r}")


def packed_text(record: dict) -> str:
    """A record's JSON object → the JSON text of its format-2 object (checked: it unpacks to record)."""
    packed = pack(record)
    # state key order is checked in _state_diff, message dicts are kept as they are: equality suffices
    if unpack(packed) != record:
        packed = {"v": 2, "plain": record}  # never expected; kept so that nothing can be lost
    return _fast(packed)


def encode_packed(text: str) -> bytes:
    """packed_text's text → the stored bytes."""
    return _compress(text.encode("utf-8"))


def encode_json(record_json: str) -> bytes:
    """A record's JSON text (as RunRecord.model_dump_json writes it) → the stored bytes."""
    return encode_packed(packed_text(json.loads(record_json)))


def decode_json(value: str | bytes) -> str:
    """A stored record (format 2 bytes, or format 1 JSON text) → the record's JSON text."""
    if isinstance(value, str):
        return value
    return _text(unpack(json.loads(_decompress(bytes(value)))))
