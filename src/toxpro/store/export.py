"""Exports of a run store: JSONL (one line per run), Parquet (runs.parquet + turns.parquet) and, when inspect-ai
is installed, Inspect AI .eval logs (written by toxpro.inspect_bridge.export).

JSONL rows hold the summary columns and the full record; Parquet holds the summary columns plus the record as JSON
text in runs.parquet, and one row per turn in turns.parquet.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..core.columns import COLUMN_NAMES, RUN_COLUMNS, fill_defaults
from ..core.errors import UserError
from ..simulate.records import RunRecord, Turn
from .codec import decode_json
from .sqlite import RunStore, source_columns

FORMATS = ("jsonl", "parquet", "inspect")
_BATCH = 500  # runs per Parquet row group / per read


class ExportError(UserError, RuntimeError):
    pass


def _pairs(store: RunStore) -> Iterator[tuple[dict[str, Any], str]]:
    """(summary row, record JSON text) per run, in run-id order, read in batches (records decoded)."""
    names = [c for c in COLUMN_NAMES if c != "record"]
    cur = store.db.execute(f"SELECT {source_columns(store.db)} FROM runs ORDER BY run_id")  # older stores: NULLs
    while batch := cur.fetchmany(_BATCH):
        for values in batch:
            row = fill_defaults(dict(zip(names, values[:-1])))
            row["roles"] = json.loads(row["roles"])
            text = decode_json(values[-1])
            if row["usage"] is None:  # stores written before the usage column
                row["usage"] = json.dumps(json.loads(text).get("usage") or {})
            yield row, text


def export_jsonl(store: RunStore, out_path: Path) -> list[Path]:
    path = out_path / "runs.jsonl" if out_path.is_dir() else out_path
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for row, record in _pairs(store):
            row["record"] = json.loads(record)
            line = json.dumps(row, ensure_ascii=False)
            # U+2028/2029 are line breaks to str.splitlines and some JSONL readers: keep them escaped
            fh.write(line.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029") + "\n")
    return [path]


def _tokens(turn: Turn) -> tuple[int, int]:
    agent = turn.agent_call.response.usage.total if turn.agent_call.response else 0
    env = sum(c.response.usage.total for c in turn.env_calls if c.response)
    return agent, env


def turn_rows(record: RunRecord) -> list[dict[str, Any]]:
    """One row per turn of a run (the turns.parquet schema)."""
    rows = []
    for t in record.turns:
        a, env = t.action, t.env
        agent_tokens, env_tokens = _tokens(t)
        errors = [f"{c.who}: {c.error.kind}: {c.error.message}" for c in [t.agent_call, *t.env_calls] if c.error]
        rows.append(
            {
                "run_id": record.run_id,
                "turn": t.index,
                "agent_model": record.agent_model,
                "scenario_id": record.scenario_id,
                "tool_id": a.tool_id if a else None,
                "tool_name": a.tool_name if a else None,
                "role": a.tool_role if a else None,
                "track": a.tool_track if a else None,
                "parse_mode": a.parse_mode if a else None,
                "problem": a.problem if a else None,
                "parameters": json.dumps(a.parameters, ensure_ascii=False) if a else None,
                "reasoning": a.reasoning if a else None,
                "agent_reply": t.agent_call.response.content if t.agent_call.response else None,
                "env_status": env.status if env else None,
                "observation": env.observation if env else None,
                "state_updates": json.dumps([u.model_dump(mode="json") for u in env.state_updates], ensure_ascii=False)
                if env
                else None,
                "call_errors": "; ".join(errors) or None,
                "monitor_verdict": t.monitor.verdict if t.monitor else None,
                "agent_tokens": agent_tokens,
                "env_tokens": env_tokens,
                "tokens": agent_tokens + env_tokens,
            }
        )
    return rows


def _parquet_schemas():
    import pyarrow as pa

    s, i = pa.string(), pa.int64()
    kinds = {"string": s, "int": i, "string_list": pa.list_(s)}
    runs = pa.schema([(c.name, kinds[c.arrow]) for c in RUN_COLUMNS])
    turns = pa.schema(
        [
            ("run_id", s),
            ("turn", i),
            ("agent_model", s),
            ("scenario_id", s),
            ("tool_id", s),
            ("tool_name", s),
            ("role", s),
            ("track", s),
            ("parse_mode", s),
            ("problem", s),
            ("parameters", s),
            ("reasoning", s),
            ("agent_reply", s),
            ("env_status", s),
            ("observation", s),
            ("state_updates", s),
            ("call_errors", s),
            ("monitor_verdict", s),
            ("agent_tokens", i),
            ("env_tokens", i),
            ("tokens", i),
        ]
    )
    return runs, turns


def export_parquet(store: RunStore, out_dir: Path) -> list[Path]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ExportError(
            "Parquet export needs pyarrow: pip install pyarrow  (or: pip install 'toxpro[parquet]')"
        ) from None
    if out_dir.suffix == ".parquet":
        raise ExportError(f"{out_dir}: for parquet, --out is a directory (runs.parquet and turns.parquet go in it)")
    out_dir.mkdir(parents=True, exist_ok=True)
    run_schema, turn_schema = _parquet_schemas()
    runs_path, turns_path = out_dir / "runs.parquet", out_dir / "turns.parquet"
    with pq.ParquetWriter(runs_path, run_schema) as rw, pq.ParquetWriter(turns_path, turn_schema) as tw:
        runs, turns = [], []

        def flush() -> None:
            if runs:
                rw.write_table(pa.Table.from_pylist(runs, schema=run_schema))
                runs.clear()
            if turns:
                tw.write_table(pa.Table.from_pylist(turns, schema=turn_schema))
                turns.clear()

        for row, text in _pairs(store):
            row["record"] = text
            runs.append(row)
            turns.extend(turn_rows(RunRecord.model_validate_json(text)))
            if len(runs) >= _BATCH:
                flush()
        flush()
    return [runs_path, turns_path]


def export_inspect(store: RunStore, out_dir: Path) -> list[Path]:
    """Inspect AI .eval logs (toxpro.inspect_bridge.export; needs inspect-ai)."""
    try:
        from ..inspect_bridge.export import export_inspect as write_logs
    except ImportError:
        raise ExportError(
            "Inspect AI export needs inspect-ai, which is not installed: pip install inspect-ai "
            "(or: pip install 'toxpro[inspect]')"
        ) from None
    if out_dir.suffix in (".eval", ".json"):
        raise ExportError(
            f"{out_dir}: for inspect, --out is a directory (one .eval log per task definition goes in it)"
        )
    return write_logs(store, out_dir)


def export_runs(experiment_dir: str | Path, out_path: str | Path, fmt: str) -> list[Path]:
    """Export every stored run of EXPERIMENT_DIR.

    jsonl: out_path is the file (or a directory to hold runs.jsonl); one line per run: the summary columns
    plus "record", the full RunRecord. parquet: out_path is a directory; runs.parquet (one row per run: summary
    columns, roles as a list, record as JSON text) and turns.parquet (one row per turn). inspect: out_path is
    a directory of Inspect .eval logs, one per task definition (needs inspect-ai). Returns the paths written."""
    fmt = fmt.lower().strip()
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; use one of: {', '.join(FORMATS)}")
    out = Path(out_path)
    with RunStore(experiment_dir, create=False, read_only=True) as store:
        if fmt == "jsonl":
            paths = export_jsonl(store, out)
        elif fmt == "parquet":
            paths = export_parquet(store, out)
        else:
            return export_inspect(store, out)
        return paths + export_judgements(store, paths[0].parent, fmt)


def judgement_rows(store: RunStore) -> list[dict]:
    """Every stored judge verdict (table `judgements`, written by `toxpro judge`), verdict JSON decoded."""
    exists = store.db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='judgements'").fetchone()
    if not exists:
        return []
    cur = store.db.execute("SELECT * FROM judgements ORDER BY run_id, judge_model")
    names = [d[0] for d in cur.description]
    rows = []
    for values in cur:
        row = dict(zip(names, values))
        row["verdict"] = json.loads(row["verdict"]) if row.get("verdict") else None
        rows.append(row)
    return rows


def export_judgements(store: RunStore, directory: Path, fmt: str) -> list[Path]:
    """judgements.jsonl / judgements.parquet beside the runs, when runs have been judged."""
    rows = judgement_rows(store)
    if not rows:
        return []
    if fmt == "jsonl":
        path = directory / "judgements.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        return [path]
    import pandas as pd

    path = directory / "judgements.parquet"
    frame = pd.DataFrame(rows)
    frame["verdict"] = frame["verdict"].map(lambda v: json.dumps(v) if v is not None else None)
    frame.to_parquet(path, index=False)
    return [path]
