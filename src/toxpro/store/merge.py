"""Merge run stores (e.g. the shards of one sweep) into one.

Runs are copied row for row. A run id already in the output (or in an earlier input) is skipped:
a duplicate when both records say the same thing, a conflict when they do not (different outcome,
label, turns or final state) — the first one is kept and the conflict reported. Fields that differ
between two honest executions of the same run are ignored when comparing: timestamps, latencies,
the experiment directory and the providers' raw response bodies. Rows of an older store (record
format 1, JSON text) are re-encoded on the way in, so `toxpro merge NEW OLD` also migrates a store."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.columns import COLUMN_NAMES
from .codec import decode_json, encode_json
from .sqlite import DB_NAME, RunStore, StoreError, source_columns

_VOLATILE = {"experiment", "started_at", "ended_at", "latency_s", "raw", "toxpro_version"}


@dataclass
class Conflict:
    run_id: str
    kept_from: str
    skipped_from: str
    differs: list[str]  # top-level record fields that differ


@dataclass
class MergeReport:
    out: str
    copied: dict[str, int] = field(default_factory=dict)  # input dir → runs copied
    duplicates: dict[str, int] = field(default_factory=dict)  # input dir → identical runs skipped
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def total_copied(self) -> int:
        return sum(self.copied.values())


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _differs(a: str | bytes, b: str | bytes) -> list[str]:
    if a == b:
        return []
    x, y = _strip(json.loads(decode_json(a))), _strip(json.loads(decode_json(b)))
    return sorted(k for k in set(x) | set(y) if x.get(k) != y.get(k))


def _upgraded(row: tuple) -> tuple:
    """A row of an older store in the current format (record encoded, usage column filled); else as is."""
    record = row[-1]
    if not isinstance(record, str):
        return row
    values = dict(zip(COLUMN_NAMES, row))
    values["usage"] = values["usage"] or json.dumps(json.loads(record).get("usage") or {})
    values["record"] = encode_json(record)
    return tuple(values[c] for c in COLUMN_NAMES)


def merge_stores(out: str | Path, inputs: list[str | Path]) -> MergeReport:
    out_dir = Path(out)
    sources: list[Path] = []
    for p in map(Path, inputs):  # each input once, first mention first
        if p.resolve() not in {s.resolve() for s in sources}:
            sources.append(p)
    for src in sources:
        if not (src / DB_NAME).is_file():
            raise StoreError(f"{src}: no run store here (expected {DB_NAME})")
        if src.resolve() == out_dir.resolve():
            raise StoreError(f"{src}: an input cannot also be the output")
    from .compat import SETTINGS_META, check_mergeable

    settings = check_mergeable(out_dir, sources)  # same schema version and run settings, or nothing is copied
    report = MergeReport(out=str(out_dir))
    store = RunStore(out_dir)
    if settings is not None and store.get_meta(SETTINGS_META) is None:
        store.set_meta(SETTINGS_META, settings)
    origin: dict[str, str] = {rid: f"{out_dir} (already there)" for rid in store.done_ids()}
    cols = ", ".join(COLUMN_NAMES)
    marks = ", ".join("?" for _ in COLUMN_NAMES)
    try:
        for src in sources:
            name = str(src)
            report.copied[name] = report.duplicates[name] = 0
            db = sqlite3.connect(f"file:{src / DB_NAME}?mode=ro", uri=True, timeout=30)
            try:
                rows = db.execute(f"SELECT {source_columns(db)} FROM runs ORDER BY run_id")
                store.db.execute("BEGIN")
                for row in rows:
                    rid = row[0]
                    if rid in origin:
                        kept = store.db.execute("SELECT record FROM runs WHERE run_id = ?", (rid,)).fetchone()[0]
                        differs = _differs(kept, row[-1])
                        if differs:
                            report.conflicts.append(Conflict(rid, origin[rid], name, differs))
                        else:
                            report.duplicates[name] += 1
                        continue
                    store.db.execute(f"INSERT INTO runs ({cols}) VALUES ({marks})", _upgraded(row))
                    origin[rid] = name
                    report.copied[name] += 1
                store.db.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                if store.db.in_transaction:
                    store.db.execute("ROLLBACK")
                raise StoreError(f"{src}: cannot read its runs: {exc}") from None
            except BaseException:
                if store.db.in_transaction:
                    store.db.execute("ROLLBACK")
                raise
            finally:
                db.close()
        merged = store.get_meta("merged_from", [])
        store.set_meta("merged_from", merged + [str(s) for s in sources])
    finally:
        store.close()
    return report


def format_report(report: MergeReport) -> str:
    lines = [
        f"{src}: {report.copied[src]} runs copied, {report.duplicates[src]} duplicates skipped" for src in report.copied
    ]
    for c in report.conflicts:
        lines.append(
            f"conflict: run {c.run_id} differs in {', '.join(c.differs) or 'volatile fields only'}; "
            f"kept the one from {c.kept_from}, skipped {c.skipped_from}"
        )
    lines.append(f"{report.total_copied} runs copied into {report.out}; {len(report.conflicts)} conflicts")
    return "\n".join(lines)
