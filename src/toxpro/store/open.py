"""Opening a run store: validate the file before anything touches it, and read read-only stores.

Every failure is a StoreError naming the file (a UserError: the CLI prints it and exits 2), and
nothing is written to a file that is not a toxpro store of a version this toxpro reads, so a
corrupt, truncated, foreign or newer store is never changed."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

SQLITE_MAGIC = b"SQLite format 3\x00"
TOXPRO_TABLES = {"runs", "meta"}


def _store_error(message: str) -> Exception:
    from .sqlite import StoreError

    return StoreError(message)


def _check_header(path: Path) -> None:
    try:
        with path.open("rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        raise _store_error(f"{path}: cannot read the run store: {exc.strerror}") from None
    if not head:
        return  # an empty file is a new database
    if not head.startswith(SQLITE_MAGIC):
        raise _store_error(
            f"{path}: not a toxpro run store (not an SQLite database); nothing was changed. "
            "Move it away or choose another experiment directory"
        )
    if len(head) < 100:
        raise _store_error(
            f"{path}: truncated SQLite database ({len(head)} bytes); nothing was changed. "
            "Restore it from a backup or move it away"
        )
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages, counter, valid_for = (int.from_bytes(head[i : i + 4], "big") for i in (28, 24, 92))
    wal = path.with_name(path.name + "-wal")
    wal_in_use = wal.exists() and wal.stat().st_size > 0  # a checkpoint may be under way: trust SQLite then
    size = path.stat().st_size
    if pages and counter == valid_for and not wal_in_use and size < pages * page_size:
        raise _store_error(
            f"{path}: damaged run store (truncated: {size:,} of {pages * page_size:,} bytes); "
            "nothing was changed. Restore it from a backup or move it away"
        )


def _uri(path: Path, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"file:{quote(str(path.resolve()))}?{query}"


def _writable(path: Path) -> bool:
    directory_ok = os.access(path.parent, os.W_OK)
    return directory_ok and (not path.exists() or os.access(path, os.W_OK))


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """mode=ro; where SQLite cannot even create its WAL index (a read-only directory), immutable=1."""
    last: Exception | None = None
    for params in ({"mode": "ro"}, {"mode": "ro", "immutable": "1"}):
        try:
            db = sqlite3.connect(_uri(path, **params), uri=True, timeout=30, isolation_level=None)
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.OperationalError as exc:
            last = exc
    raise _store_error(f"{path}: cannot open the run store read-only: {last}")


def open_store_db(
    path: Path, *, create: bool, read_only: bool, schema_version: int, init: Callable[[sqlite3.Connection], None]
) -> tuple[sqlite3.Connection, bool]:
    """(connection, read_only). Validates header, tables and schema version before any write;
    opens read-only when asked or when the file or its directory cannot be written."""
    exists = path.is_file()
    if exists:
        _check_header(path)
    read_only = read_only or (exists and not _writable(path))
    if read_only and not exists:
        raise _store_error(f"{path.parent}: no run store here (expected {path.name}); run `toxpro run` first")
    try:
        if read_only:
            db = _connect_read_only(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, timeout=30, isolation_level=None)
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and not TOXPRO_TABLES <= tables:
            db.close()
            raise _store_error(
                f"{path}: not a toxpro run store (an SQLite database with tables "
                f"{', '.join(sorted(tables)[:5])}); nothing was changed"
            )
        if tables:
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = row[0] if row else None
            if version is None or not str(version).isdigit() or int(version) > schema_version:
                db.close()
                raise _store_error(
                    f"{path}: run store schema version {version}; this toxpro reads version "
                    f"{schema_version} and older. Nothing was changed; use the toxpro that wrote it"
                )
            db.execute("SELECT COUNT(*) FROM runs").fetchone()  # walks the table's pages: catches most truncation
        elif read_only:
            db.close()
            raise _store_error(f"{path}: empty database, not a run store yet; run `toxpro run` first")
        if not read_only:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            init(db)
        return db, read_only
    except sqlite3.DatabaseError as exc:
        raise _store_error(
            f"{path}: damaged run store ({exc}); nothing was changed. Restore it from a backup or move it away"
        ) from None
