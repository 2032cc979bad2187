"""The run store: one SQLite database (WAL) per experiment directory.

A run is written once, in one transaction, when it has finished (or failed): a process killed
mid-sweep leaves only whole runs behind, and re-running the same sweep skips them."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.columns import COLUMN_NAMES, RUN_COLUMNS, SUMMARY_COLUMNS, fill_defaults
from ..core.errors import UserError
from ..simulate.records import RunRecord
from .codec import decode_json, encode_json, encode_packed, packed_text
from .secrets import redact, secret_values

if TYPE_CHECKING:
    import pandas as pd

DB_NAME = "runs.sqlite"
SCHEMA_VERSION = 2  # 2: records encoded by store/codec.py, usage column; 1 still reads

_COLUMNS = [(c.name, c.sql) for c in RUN_COLUMNS]  # the spec: toxpro.core.columns


class StoreError(UserError, RuntimeError):
    pass


def _row(record: RunRecord) -> dict[str, Any]:
    if record.label is None:
        raise StoreError(f"run {record.run_id} has no label; label it before storing")
    c = record.condition
    return {
        "run_id": record.run_id,
        "experiment": record.experiment,
        "scenario_id": record.scenario_id,
        "scenario_hash": record.scenario_hash,
        "domain": record.domain,
        "motivation": record.motivation,
        "agent_model": record.agent_model,
        "env_model": record.env_model,
        "condition_key": c.key,
        **c.model_dump(),
        "repeat": record.repeat,
        "seed": record.seed,
        "protocol": record.settings.protocol,
        "outcome": record.outcome,
        "label": record.label.label,
        "partial_label": record.label.partial_label,
        "error_kind": record.error.kind if record.error else None,
        "ttf": record.label.ttf,
        "n_turns": len(record.turns),
        "protocol_errors": record.protocol_errors,
        "tokens": record.usage.total,
        "retries": record.usage.retries,
        "roles": json.dumps(record.label.roles),
        "started_at": record.started_at,
        "ended_at": record.ended_at,
        "toxpro_version": record.toxpro_version,
        "agent_name": record.agent_name,
        "agent_family": record.agent_family,
        "agent_reasoning": None if record.agent_reasoning is None else int(record.agent_reasoning),
        "safeguard": record.settings.safeguard_key,  # 'none' for unguarded runs
        "eval_aware": int(record.label.eval_aware),
        "fidelity": record.fidelity.model_dump_json(exclude={"examples"}) if record.fidelity else None,
        "usage": record.usage.model_dump_json(),
        "record": record,  # redacted and encoded in _redacted
    }


_FREE_TEXT = ("experiment", "agent_model", "env_model")  # may carry a URL with credentials


def _redacted(row: dict[str, Any], secrets: list[str] | None = None) -> dict[str, Any]:
    """Mask secrets in the record and the free-text columns, scanning the environment once (or not
    at all, given the secrets: a sweep scans it once for all its runs)."""
    secrets = secret_values() if secrets is None else secrets
    for key in _FREE_TEXT:
        if row[key]:
            row[key] = redact(row[key], secrets)
    row["record"] = encoded_record(row["record"], secrets)
    return row


def encoded_record(record: RunRecord, secrets: list[str]) -> bytes:
    """The record column: the record redacted (store/secrets.py), packed and compressed (store/codec.py).

    The common case, a record with nothing to mask, is packed from its Python dump, without writing
    its JSON text and parsing it back (~0.9 ms a run): every line of the record's strings is whole in
    the packed text, so a secret value, a URL password or a bearer token in the record is in the packed
    text too, and when masking the packed text changes nothing there is nothing to mask. Otherwise the
    record's own text is masked and packed, as before."""
    text = packed_text(record.model_dump(mode="json"))
    if redact(text, secrets) == text:
        return encode_packed(text)
    return encode_json(redact(record.model_dump_json(), secrets))


def _init_schema(db: sqlite3.Connection) -> None:
    cols = ", ".join(f"{n} {t}" for n, t in _COLUMNS)
    db.execute(f"CREATE TABLE IF NOT EXISTS runs ({cols})")
    add_missing_columns(db)  # columns added since a store was made
    db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
    # an older store opened for writing gets the new columns (above) and may receive format-2 records
    db.execute(
        "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value = "
        "excluded.value WHERE CAST(value AS INTEGER) < CAST(excluded.value AS INTEGER)",
        (str(SCHEMA_VERSION),),
    )
    db.execute("CREATE INDEX IF NOT EXISTS runs_model ON runs(agent_model, scenario_id)")


def add_missing_columns(db: sqlite3.Connection) -> None:
    """Stores written before a column existed get it (NULL in old rows; read back as the default)."""
    have = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    for name, kind in _COLUMNS:
        if name not in have:
            db.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")


def source_columns(db: sqlite3.Connection, names: list[str] = COLUMN_NAMES) -> str:
    """The SELECT list of `names` for a store that may lack newer columns (NULL in their place)."""
    have = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    return ", ".join(c if c in have else f"NULL AS {c}" for c in names)


def record_of(value: str | bytes) -> RunRecord:
    """A stored record column (either format) → the RunRecord."""
    return RunRecord.model_validate_json(decode_json(value))


class RunStore:
    def __init__(self, directory: str | Path, create: bool = True, read_only: bool = False):
        """read_only (or a store whose file or directory cannot be written): open it read-only."""
        from .open import open_store_db

        self.directory = Path(directory)
        path = self.directory / DB_NAME
        if not create and not path.is_file():
            raise StoreError(f"{self.directory}: no run store here (expected {DB_NAME}); run `toxpro run` first")
        self.path = path
        self.db, self.read_only = open_store_db(
            path, create=create, read_only=read_only, schema_version=SCHEMA_VERSION, init=_init_schema
        )

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def put(self, record: RunRecord, replace: bool = False, secrets: list[str] | None = None) -> bool:
        """Store one finished run. Returns False when that run id is already stored (and not replaced).
        secrets: the values to mask (store/secrets.secret_values(), scanned once by a sweep)."""
        row = _redacted(_row(record), secrets)
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        marks = ", ".join("?" for _ in COLUMN_NAMES)
        cur = self.db.execute(
            f"{verb} INTO runs ({', '.join(COLUMN_NAMES)}) VALUES ({marks})", [row[c] for c in COLUMN_NAMES]
        )
        return cur.rowcount == 1

    def done_ids(self, include_errors: bool = True) -> set[str]:
        query = "SELECT run_id FROM runs" + ("" if include_errors else " WHERE label != 'error'")
        return {r[0] for r in self.db.execute(query)}

    def usage(self, run_ids: Iterable[str] | None = None) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(agent_model, env_model, usage dict) of stored runs (all, or those among run_ids)."""
        wanted = None if run_ids is None else set(run_ids)
        query = (
            "SELECT run_id, agent_model, env_model, "
            "COALESCE(usage, CASE WHEN typeof(record) = 'text' THEN json_extract(record, '$.usage') END), "
            "usage IS NULL AND typeof(record) = 'blob' FROM runs"
        )
        for rid, agent, env, usage, in_blob in self.db.execute(query):
            if wanted is None or rid in wanted:
                if in_blob:  # not expected: format-2 rows always have the usage column
                    usage = self.get(rid).usage.model_dump_json()
                yield agent, env, json.loads(usage) if usage else {}

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]

    def rows(self, where: str = "", params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        """Summary rows (no full record) as dicts."""
        names = SUMMARY_COLUMNS  # a read-only old store may lack the newer ones
        cur = self.db.execute(f"SELECT {source_columns(self.db, names)} FROM runs {where}", tuple(params))
        out = []
        for values in cur.fetchall():
            row = fill_defaults(dict(zip(names, values)))  # NULL in an older store: the column's default
            row["roles"] = json.loads(row["roles"])
            out.append(row)
        return out

    def records(self, where: str = "", params: Iterable[Any] = ()) -> Iterator[RunRecord]:
        for (value,) in self.db.execute(f"SELECT record FROM runs {where}", tuple(params)):
            yield record_of(value)

    def get(self, run_id: str) -> RunRecord | None:
        row = self.db.execute("SELECT record FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return record_of(row[0]) if row else None

    def set_meta(self, key: str, value: Any) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, redact(json.dumps(value))))

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def frame(self) -> pd.DataFrame:
        """The analysis frame: one row per run (see toxpro.analysis)."""
        import pandas as pd

        return pd.DataFrame(self.rows(), columns=SUMMARY_COLUMNS)
