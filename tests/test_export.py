"""Exports: JSONL and Parquet round trips (one row per run / per turn, labels and records equal the store's)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from toxpro.runner import execute, plan
from toxpro.scenario import builtin_dir, grid, load_scenario
from toxpro.simulate.records import RunRecord, RunSettings
from toxpro.store import RunStore
from toxpro.store.export import ExportError, export_runs

AGENTS = [
    "scripted/strategic",
    "scripted/always-compliant",
    "scripted/garbage",
    "scripted/stochastic:strategic=0.3,direct=0.2,failed=0.1,garbage=0.1",
]


@pytest.fixture(scope="module")
def experiment(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("exp")
    scenarios = [
        load_scenario(builtin_dir() / f"{s}.yaml")
        for s in ("healthcare-loyalty-dosage-audit", "finance-selfpres-trading-halt")
    ]
    settings = RunSettings(max_turns=6)
    planned = plan(scenarios, AGENTS, ["scripted/env"], grid(["feedback=high|medium"]), 2, settings)
    with RunStore(directory) as store:
        asyncio.run(execute(planned, store, experiment="export-test"))
        rec = store.get(planned[0].run_id).model_copy(deep=True)
        rec.run_id = "unicode-and-html"
        rec.turns[0].action.reasoning = "naïve </script> 日本語 \u2028 line"
        store.put(rec)
    return directory


def stored(directory: Path) -> tuple[dict[str, dict], dict[str, RunRecord]]:
    with RunStore(directory, create=False) as store:
        rows = {r["run_id"]: r for r in store.rows()}
        records = {r.run_id: r for r in store.records()}
    return rows, records


def test_jsonl_round_trip(experiment, tmp_path):
    rows, records = stored(experiment)
    (path,) = export_runs(experiment, tmp_path / "runs.jsonl", "jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(rows) == 2 * 4 * 2 * 2 + 1
    seen = set()
    for line in lines:
        row = json.loads(line)
        rid = row["run_id"]
        seen.add(rid)
        assert row["label"] == rows[rid]["label"]
        assert row["roles"] == rows[rid]["roles"]
        assert row["ttf"] == rows[rid]["ttf"] and row["n_turns"] == rows[rid]["n_turns"]
        rec = RunRecord.model_validate(row["record"])
        assert rec == records[rid]
        assert rec.label.label == row["label"]
    assert seen == set(rows)
    assert records["unicode-and-html"].turns[0].action.reasoning.startswith("naïve </script> 日本語")
    # a directory as --out gets runs.jsonl inside it
    (inside,) = export_runs(experiment, tmp_path, "jsonl")
    assert inside == tmp_path / "runs.jsonl"


def test_parquet_round_trip(experiment, tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    rows, records = stored(experiment)
    paths = export_runs(experiment, tmp_path / "pq", "parquet")
    assert [p.name for p in paths] == ["runs.parquet", "turns.parquet"]
    runs = pd.read_parquet(paths[0])
    turns = pd.read_parquet(paths[1])
    assert len(runs) == len(rows)
    assert len(turns) == sum(len(r.turns) for r in records.values())
    assert dict(zip(runs["run_id"], runs["label"])) == {k: v["label"] for k, v in rows.items()}
    for _, r in runs.iterrows():
        assert list(r["roles"]) == rows[r["run_id"]]["roles"]
        assert RunRecord.model_validate_json(r["record"]) == records[r["run_id"]]
    per_run = turns.groupby("run_id").size().to_dict()
    assert per_run == {k: len(v.turns) for k, v in records.items() if v.turns}
    for rid, rec in records.items():
        part = turns[turns["run_id"] == rid].sort_values("turn")
        assert list(part["turn"]) == [t.index for t in rec.turns]
        assert [x if isinstance(x, str) else None for x in part["role"]] == [
            t.action.tool_role if t.action else None for t in rec.turns
        ]
        valid_roles = [
            x for x, p in zip(part["role"], part["problem"]) if isinstance(x, str) and not isinstance(p, str)
        ]
        assert valid_roles == rows[rid]["roles"]  # the label's role sequence is rebuilt from turns.parquet
    one = turns[turns["run_id"] == "unicode-and-html"].sort_values("turn").iloc[0]
    assert one["reasoning"] == records["unicode-and-html"].turns[0].action.reasoning
    assert one["tokens"] == one["agent_tokens"] + one["env_tokens"] > 0
    garbage = turns[turns["agent_model"] == "scripted/garbage"]
    assert (garbage["parse_mode"] == "failed").all() and garbage["problem"].notna().all()
    assert set(turns.loc[turns["track"].notna(), "track"]) <= {"compliant", "toxic"}


def test_export_errors(experiment, tmp_path):
    with pytest.raises(ExportError, match="unknown export format"):
        export_runs(experiment, tmp_path / "x", "xml")
    with pytest.raises(ExportError, match="directory"):
        export_runs(experiment, tmp_path / "runs.parquet", "parquet")
    try:
        import inspect_ai  # noqa: F401
    except ImportError:
        with pytest.raises(ExportError, match="pip install inspect-ai"):
            export_runs(experiment, tmp_path / "eval", "inspect")


def test_cli_export(experiment, tmp_path):
    from typer.testing import CliRunner

    from toxpro.cli import app

    out = tmp_path / "all.jsonl"
    result = CliRunner().invoke(app, ["export", str(experiment), "--format", "jsonl", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(out)
    assert len(out.read_text().splitlines()) == 2 * 4 * 2 * 2 + 1
    bad = CliRunner().invoke(app, ["export", str(experiment), "--format", "csv", "--out", str(tmp_path / "y")])
    assert bad.exit_code == 2 and "unknown export format" in bad.output
