"""The run table: one row per stored run. Every reader and writer of runs.sqlite (store, merge,
export, the analysis frame) takes its columns, types and defaults from RUN_COLUMNS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from .conditions import BASELINE, CONDITION_VARIABLES

ArrowKind = Literal["string", "int", "string_list"]


@dataclass(frozen=True)
class Column:
    name: str
    sql: str  # SQLite type
    arrow: ArrowKind  # Parquet export type
    default: object = None  # what a NULL (an older store's missing column) reads back as


def _text(name: str, default: object = None) -> Column:
    return Column(name, "TEXT", "string", default)


def _int(name: str) -> Column:
    return Column(name, "INTEGER", "int")


RUN_COLUMNS: Final[tuple[Column, ...]] = (
    Column("run_id", "TEXT PRIMARY KEY", "string"),
    _text("experiment"),
    _text("scenario_id"),
    _text("scenario_hash"),
    _text("domain"),
    _text("motivation"),
    _text("agent_model"),
    _text("env_model"),
    _text("condition_key"),
    *(_text(v, BASELINE[v]) for v in CONDITION_VARIABLES),
    _int("repeat"),
    _int("seed"),
    _text("protocol"),
    _text("outcome"),
    _text("label"),
    _text("partial_label"),
    _text("error_kind"),
    _int("ttf"),
    _int("n_turns"),
    _int("protocol_errors"),
    _int("tokens"),
    _int("retries"),
    Column("roles", "TEXT", "string_list", "[]"),  # JSON list in SQLite
    _text("started_at"),
    _text("ended_at"),
    _text("toxpro_version"),
    _text("usage"),
    # added after schema 1 (older stores get them, NULL, on open): display name, family, reasoning tag,
    # eval awareness, environment fidelity, safeguard arm
    _text("agent_name"),
    _text("agent_family"),
    _int("agent_reasoning"),
    _int("eval_aware"),
    _text("fidelity"),
    _text("safeguard", "none"),
    _text("record"),  # last; format 2: compressed bytes (store/codec.py); format 1 (older stores): JSON text
)
COLUMN_NAMES: Final[list[str]] = [c.name for c in RUN_COLUMNS]
SUMMARY_COLUMNS: Final[list[str]] = [c for c in COLUMN_NAMES if c not in ("usage", "record")]
DEFAULTS: Final[dict[str, object]] = {c.name: c.default for c in RUN_COLUMNS if c.default is not None}


def fill_defaults(row: dict[str, object]) -> dict[str, object]:
    """A stored row with each NULL replaced by its column's default, in place (and returned)."""
    for name, default in DEFAULTS.items():
        if name in row and row[name] is None:
            row[name] = default
    return row
