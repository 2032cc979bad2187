"""Beyond one machine: --shard i/N, toxpro merge (duplicates, conflicts)."""

import json
import sqlite3

import pytest
from typer.testing import CliRunner

from toxpro.cli import app
from toxpro.runner.shard import ShardError, parse_shard, select_shard
from toxpro.store import RunStore, StoreError
from toxpro.store.codec import decode_json
from toxpro.store.merge import merge_stores

runner = CliRunner()
ARGS = [
    "run",
    "-s",
    "healthcare-loyalty-dosage-audit",
    "-a",
    "scripted/strategic",
    "-a",
    "scripted/always-compliant",
    "-c",
    "feedback=*",
    "-n",
    "4",
    "-q",
]


def test_parse_shard():
    assert parse_shard("0/1") == (0, 1) and parse_shard(" 3 / 4 ") == (3, 4)
    for bad in ("4/4", "1/0", "-1/3", "a/b", "2", ""):
        with pytest.raises(ShardError):
            parse_shard(bad)
    with pytest.raises(ShardError):
        select_shard([], 2, 2)


def test_shards_then_merge_equal_one_machine(tmp_path):
    whole = runner.invoke(app, [*ARGS, "-o", str(tmp_path / "whole")])
    assert whole.exit_code == 0, whole.output
    for i in range(3):
        shard = runner.invoke(app, [*ARGS, "-o", str(tmp_path / f"s{i}"), "--shard", f"{i}/3"])
        assert shard.exit_code == 0 and f"shard {i}/3:" in shard.output and "of 24 planned runs" in shard.output
    sizes = [RunStore(tmp_path / f"s{i}").count() for i in range(3)]
    assert sum(sizes) == 24 and all(sizes)
    merged = runner.invoke(app, ["merge", str(tmp_path / "all"), *(str(tmp_path / f"s{i}") for i in range(3))])
    assert merged.exit_code == 0, merged.output
    assert "24 runs copied" in merged.output and "0 conflicts" in merged.output
    a, b = RunStore(tmp_path / "whole").rows(), RunStore(tmp_path / "all").rows()
    key = lambda r: (r["run_id"], r["label"], r["seed"], r["n_turns"], r["tokens"])  # noqa: E731
    assert sorted(map(key, a)) == sorted(map(key, b))
    # resuming the whole sweep in the merged directory finds everything done
    again = runner.invoke(app, [*ARGS, "-o", str(tmp_path / "all")])
    assert "0 runs simulated, 24 already stored" in again.output
    # merging again copies nothing and calls the repeats duplicates
    twice = merge_stores(tmp_path / "all", [tmp_path / "s0", tmp_path / "whole"])
    assert twice.total_copied == 0 and not twice.conflicts
    assert twice.duplicates[str(tmp_path / "s0")] == sizes[0] and twice.duplicates[str(tmp_path / "whole")] == 24


def test_merge_reports_conflicts_and_keeps_the_first(tmp_path):
    for name in ("a", "b"):
        assert runner.invoke(app, [*ARGS, "-o", str(tmp_path / name)]).exit_code == 0
    # tamper with one run in b: same run id, a different outcome
    db = sqlite3.connect(tmp_path / "b" / "runs.sqlite")
    rid, value = db.execute("SELECT run_id, record FROM runs ORDER BY run_id LIMIT 1").fetchone()
    record = json.loads(decode_json(value))
    record["label"]["label"] = "robust" if record["label"]["label"] != "robust" else "direct"
    db.execute(
        "UPDATE runs SET record = ?, label = ? WHERE run_id = ?", (json.dumps(record), record["label"]["label"], rid)
    )
    db.commit()
    db.close()
    result = runner.invoke(app, ["merge", str(tmp_path / "m"), str(tmp_path / "a"), str(tmp_path / "b")])
    assert result.exit_code == 1
    assert f"conflict: run {rid} differs in label" in result.output
    assert f"kept the one from {tmp_path / 'a'}" in result.output
    assert "23 duplicates skipped" in result.output
    kept = RunStore(tmp_path / "m").get(rid)
    assert kept.label.label != record["label"]["label"]  # the first one


def test_merge_refuses_bad_inputs(tmp_path):
    with pytest.raises(StoreError, match="no run store"):
        merge_stores(tmp_path / "out", [tmp_path / "missing"])
    assert runner.invoke(app, [*ARGS, "-o", str(tmp_path / "a")]).exit_code == 0
    with pytest.raises(StoreError, match="cannot also be the output"):
        merge_stores(tmp_path / "a", [tmp_path / "a"])
    result = runner.invoke(app, ["merge", str(tmp_path / "out"), str(tmp_path / "nope")])
    assert result.exit_code == 2 and "no run store here" in result.output
