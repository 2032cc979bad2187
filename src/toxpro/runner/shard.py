"""Deterministic shards of a plan: run i of N machines on the runs whose id ≡ i (mod N).

Run ids are hex sha256 prefixes, so int(run_id, 16) % N spreads any plan evenly, and the same
plan always splits the same way whatever order it was built in. Shards are disjoint and together
cover the plan; merge their stores with `toxpro merge`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

from ..core.errors import UserError

T = TypeVar("T")
_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


class ShardError(UserError, ValueError):
    pass


def parse_shard(text: str) -> tuple[int, int]:
    """'i/N' with 0 ≤ i < N → (i, N)."""
    match = _SHARD.match(text or "")
    if not match:
        raise ShardError(f"--shard {text!r}: expected I/N, e.g. 0/4 (shards are numbered 0 to N-1)")
    i, n = int(match.group(1)), int(match.group(2))
    if n < 1 or not 0 <= i < n:
        raise ShardError(f"--shard {text!r}: need N ≥ 1 and 0 ≤ I < N (shards are numbered 0 to N-1)")
    return i, n


def shard_of(run_id: str, n: int) -> int:
    return int(run_id, 16) % n


def select_shard(planned: Sequence[T], index: int, count: int) -> list[T]:
    """The planned runs (anything with a .run_id) that belong to shard `index` of `count`."""
    if count < 1 or not 0 <= index < count:
        raise ShardError(f"shard {index}/{count}: need N ≥ 1 and 0 ≤ I < N")
    return [p for p in planned if shard_of(p.run_id, count) == index]  # type: ignore[attr-defined]
