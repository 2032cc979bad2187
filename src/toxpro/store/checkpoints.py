"""Turn checkpoints: each completed turn of a run still in flight, so a killed sweep resumes a run
at its last completed turn instead of drawing it again. A turn is checkpointed when the run goes on
to another turn, before that turn's first call; the last turn is not (the run is stored right after).

A checkpoint holds the turn's call records (requests and responses) exactly as the finished run
will; on resume the engine is fed those responses in order (runner/resume.py), which rebuilds the
same state because a run is a pure function of its inputs and the replies it got. Checkpoints of a
run are deleted once the run is stored. Secrets are masked as in the run store."""

from __future__ import annotations

import zlib

import zstandard

from ..simulate.records import Turn
from .secrets import redact, secret_values
from .sqlite import RunStore

_TABLE = (
    "CREATE TABLE IF NOT EXISTS turn_checkpoints (run_id TEXT NOT NULL, turn INTEGER NOT NULL, "
    "data BLOB NOT NULL, PRIMARY KEY (run_id, turn))"
)
_ZSTD_FRAME = b"\x28\xb5\x2f\xfd"  # zstd's frame magic; earlier checkpoints are zlib streams
_FAST = zstandard.ZstdCompressor(level=1)  # checkpoints are short-lived: speed over size (half zlib level 1's time)


def _unpacked(data: bytes) -> bytes:
    return zstandard.ZstdDecompressor().decompress(data) if data[:4] == _ZSTD_FRAME else zlib.decompress(data)


class Checkpoints:
    """Checkpoints of one store; one writer (the sweep's event loop)."""

    def __init__(self, store: RunStore):
        self.store = store
        self.enabled = not getattr(store, "read_only", False)
        self.secrets = secret_values()  # scanned once per sweep; the run store masks the same
        self._held: set[str] = set()  # runs with checkpoint rows (written or found here): clear deletes only those
        if self.enabled:
            store.db.execute(_TABLE)
            # a run stored after its last checkpoint (a kill between the two writes) needs none
            store.db.execute("DELETE FROM turn_checkpoints WHERE run_id IN (SELECT run_id FROM runs)")

    def save(self, run_id: str, turn: Turn) -> None:
        if self.enabled:
            data = _FAST.compress(redact(turn.model_dump_json(), self.secrets).encode())
            self.store.db.execute(
                "INSERT OR REPLACE INTO turn_checkpoints VALUES (?, ?, ?)", (run_id, turn.index, data)
            )
            self._held.add(run_id)

    def load(self, run_id: str) -> list[Turn]:
        """The run's checkpointed turns, in order, up to the first gap."""
        if not self.enabled:
            return []
        rows = self.store.db.execute(
            "SELECT turn, data FROM turn_checkpoints WHERE run_id = ? ORDER BY turn", (run_id,)
        ).fetchall()
        if rows:
            self._held.add(run_id)
        turns: list[Turn] = []
        for index, data in rows:
            if index != len(turns) + 1:
                break
            turns.append(Turn.model_validate_json(_unpacked(data)))
        return turns

    def clear(self, run_id: str) -> None:
        """Delete a run's checkpoints (call load first for a run an earlier sweep may have left)."""
        if self.enabled and run_id in self._held:
            self.store.db.execute("DELETE FROM turn_checkpoints WHERE run_id = ?", (run_id,))
            self._held.discard(run_id)

    def pending(self) -> int:
        """Runs with checkpointed turns (runs a killed sweep left in flight)."""
        if not self.enabled:
            return 0
        return self.store.db.execute("SELECT COUNT(DISTINCT run_id) FROM turn_checkpoints").fetchone()[0]
