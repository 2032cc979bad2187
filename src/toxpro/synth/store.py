"""SQLite store of a synthesis directory (OUT_DIR/synth.sqlite, WAL).

Every generator/refiner output, every verdict, each stage's result, each rejection, each model call's
usage and a response cache are written as they happen, so a crash resumes at the step it reached."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DB_NAME = "synth.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS candidates (
  id TEXT PRIMARY KEY, idx INTEGER NOT NULL, seed INTEGER NOT NULL, request TEXT NOT NULL,
  status TEXT NOT NULL, stage TEXT NOT NULL, scenario_id TEXT, path TEXT, error TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stage_outputs (
  candidate_id TEXT NOT NULL, stage TEXT NOT NULL, round INTEGER NOT NULL, role TEXT NOT NULL,
  target TEXT NOT NULL, payload TEXT, content TEXT NOT NULL, error TEXT, model TEXT NOT NULL,
  created_at TEXT NOT NULL, PRIMARY KEY (candidate_id, stage, round, role, target));
CREATE TABLE IF NOT EXISTS verdicts (
  candidate_id TEXT NOT NULL, stage TEXT NOT NULL, round INTEGER NOT NULL, score INTEGER NOT NULL,
  feedback TEXT NOT NULL, suggestion TEXT NOT NULL, target TEXT, judge TEXT NOT NULL, content TEXT NOT NULL,
  created_at TEXT NOT NULL, PRIMARY KEY (candidate_id, stage, round));
CREATE TABLE IF NOT EXISTS stage_results (
  candidate_id TEXT NOT NULL, stage TEXT NOT NULL, status TEXT NOT NULL, round INTEGER NOT NULL,
  score INTEGER, output TEXT, created_at TEXT NOT NULL, PRIMARY KEY (candidate_id, stage));
CREATE TABLE IF NOT EXISTS rejections (
  candidate_id TEXT PRIMARY KEY, stage TEXT NOT NULL, reason TEXT NOT NULL, scores TEXT NOT NULL,
  created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS calls (
  id INTEGER PRIMARY KEY AUTOINCREMENT, session TEXT NOT NULL, candidate_id TEXT NOT NULL, stage TEXT NOT NULL,
  round INTEGER NOT NULL, role TEXT NOT NULL, target TEXT NOT NULL, model TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, cached INTEGER NOT NULL, cost REAL,
  latency_s REAL NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cache (
  key TEXT PRIMARY KEY, model TEXT NOT NULL, response TEXT NOT NULL, created_at TEXT NOT NULL);
"""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=False)


class SynthStore:
    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / DB_NAME
        self.db = sqlite3.connect(self.path, timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self.db.commit()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> SynthStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, sql: str, params: tuple = ()) -> None:
        with self.db:
            self.db.execute(sql, params)

    def _rows(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.execute(sql, params).fetchall()]

    # --- candidates ----------------------------------------------------------------------------

    def ensure_candidate(self, cid: str, idx: int, seed: int, request: dict[str, Any]) -> dict[str, Any]:
        row = self.candidate(cid)
        if row is None:
            t = now()
            self._write(
                "INSERT INTO candidates (id, idx, seed, request, status, stage, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, 'pending', 'story', ?, ?)",
                (cid, idx, seed, _dumps(request), t, t),
            )
            row = self.candidate(cid)
        assert row is not None
        return row

    def candidate(self, cid: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM candidates WHERE id = ?", (cid,))
        return rows[0] if rows else None

    def candidates(self) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM candidates ORDER BY created_at, idx")

    def update_candidate(self, cid: str, **fields: Any) -> None:
        fields["updated_at"] = now()
        cols = ", ".join(f"{k} = ?" for k in fields)
        self._write(f"UPDATE candidates SET {cols} WHERE id = ?", (*fields.values(), cid))

    # --- stage outputs and verdicts ------------------------------------------------------------

    def get_output(self, cid: str, stage: str, round_: int, role: str, target: str) -> dict[str, Any] | None:
        rows = self._rows(
            "SELECT * FROM stage_outputs WHERE candidate_id=? AND stage=? AND round=? AND role=? AND target=?",
            (cid, stage, round_, role, target),
        )
        if not rows:
            return None
        row = rows[0]
        row["payload"] = json.loads(row["payload"]) if row["payload"] is not None else None
        return row

    def put_output(
        self,
        cid: str,
        stage: str,
        round_: int,
        role: str,
        target: str,
        payload: dict[str, Any] | None,
        content: str,
        error: str | None,
        model: str,
    ) -> None:
        self._write(
            "INSERT OR REPLACE INTO stage_outputs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                cid,
                stage,
                round_,
                role,
                target,
                None if payload is None else _dumps(payload),
                content,
                error,
                model,
                now(),
            ),
        )

    def outputs(self, cid: str) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM stage_outputs WHERE candidate_id=? ORDER BY created_at", (cid,))

    def get_verdict(self, cid: str, stage: str, round_: int) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM verdicts WHERE candidate_id=? AND stage=? AND round=?", (cid, stage, round_))
        return rows[0] if rows else None

    def put_verdict(self, cid: str, stage: str, round_: int, verdict: dict[str, Any], judge: str, content: str) -> None:
        self._write(
            "INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                cid,
                stage,
                round_,
                int(verdict["score"]),
                verdict.get("feedback", ""),
                verdict.get("suggestion", ""),
                verdict.get("target"),
                judge,
                content,
                now(),
            ),
        )

    def verdicts(self, cid: str, stage: str | None = None) -> list[dict[str, Any]]:
        if stage is None:
            return self._rows("SELECT * FROM verdicts WHERE candidate_id=? ORDER BY created_at", (cid,))
        return self._rows("SELECT * FROM verdicts WHERE candidate_id=? AND stage=? ORDER BY round", (cid, stage))

    # --- stage results and rejections ----------------------------------------------------------

    def stage_result(self, cid: str, stage: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM stage_results WHERE candidate_id=? AND stage=?", (cid, stage))
        if not rows:
            return None
        row = rows[0]
        row["output"] = json.loads(row["output"]) if row["output"] is not None else None
        return row

    def put_stage_result(
        self, cid: str, stage: str, status: str, round_: int, score: int | None, output: dict[str, Any] | None
    ) -> None:
        self._write(
            "INSERT OR REPLACE INTO stage_results VALUES (?, ?, ?, ?, ?, ?, ?)",
            (cid, stage, status, round_, score, None if output is None else _dumps(output), now()),
        )

    def reject(self, cid: str, stage: str, reason: str, scores: list[dict[str, Any]]) -> None:
        self._write(
            "INSERT OR REPLACE INTO rejections VALUES (?, ?, ?, ?, ?)", (cid, stage, reason, _dumps(scores), now())
        )
        self.update_candidate(cid, status="rejected", stage=stage, error=reason)

    def rejection(self, cid: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM rejections WHERE candidate_id=?", (cid,))
        if not rows:
            return None
        rows[0]["scores"] = json.loads(rows[0]["scores"])
        return rows[0]

    def rejections(self) -> list[dict[str, Any]]:
        out = self._rows("SELECT * FROM rejections ORDER BY created_at")
        for r in out:
            r["scores"] = json.loads(r["scores"])
        return out

    def forget_progress(self) -> None:
        """Drop candidates, outputs, verdicts, results and rejections; keep the response cache and call log."""
        with self.db:
            for table in ("candidates", "stage_outputs", "verdicts", "stage_results", "rejections"):
                self.db.execute(f"DELETE FROM {table}")

    # --- calls and cache -----------------------------------------------------------------------

    def log_call(
        self,
        session: str,
        cid: str,
        stage: str,
        round_: int,
        role: str,
        target: str,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
        cached: bool,
        cost: float | None,
        latency_s: float,
    ) -> None:
        self._write(
            "INSERT INTO calls (session, candidate_id, stage, round, role, target, model, prompt_tokens, "
            "completion_tokens, cached, cost, latency_s, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session,
                cid,
                stage,
                round_,
                role,
                target,
                model,
                prompt_tokens,
                completion_tokens,
                int(cached),
                cost,
                latency_s,
                now(),
            ),
        )

    def calls(self, session: str | None = None, candidate_id: str | None = None) -> list[dict[str, Any]]:
        where, params = [], []
        if session is not None:
            where.append("session = ?")
            params.append(session)
        if candidate_id is not None:
            where.append("candidate_id = ?")
            params.append(candidate_id)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        return self._rows(f"SELECT * FROM calls {clause} ORDER BY id", tuple(params))

    def cache_get(self, key: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT response FROM cache WHERE key = ?", (key,))
        return json.loads(rows[0]["response"]) if rows else None

    def cache_put(self, key: str, model: str, response: dict[str, Any]) -> None:
        self._write("INSERT OR REPLACE INTO cache VALUES (?, ?, ?, ?)", (key, model, _dumps(response), now()))

    def cache_size(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM cache").fetchone()[0])

    def iter_table(self, table: str) -> Iterator[dict[str, Any]]:
        if table not in (
            "candidates",
            "stage_outputs",
            "verdicts",
            "stage_results",
            "rejections",
            "calls",
            "cache",
            "meta",
        ):
            raise ValueError(f"unknown table {table!r}")
        for row in self.db.execute(f"SELECT * FROM {table}"):
            yield dict(row)

    # --- meta ----------------------------------------------------------------------------------

    def get_meta(self, key: str) -> Any:
        rows = self._rows("SELECT value FROM meta WHERE key = ?", (key,))
        return json.loads(rows[0]["value"]) if rows else None

    def put_meta(self, key: str, value: Any) -> None:
        self._write("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, _dumps(value)))
