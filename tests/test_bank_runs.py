"""Every shipped scenario runs end to end on the scripted backend under every condition level."""

import collections

from spine_helpers import sweep
from typer.testing import CliRunner

from toxpro.cli import app
from toxpro.scenario import one_at_a_time
from toxpro.scenario.conditions import LIABILITY_TEXT
from toxpro.scenario.export import read_jsonl


def test_every_scenario_under_every_condition_level(tmp_path, bank):
    conditions = one_at_a_time()
    assert len(conditions) == 12  # baseline + 2 + 2 + 2 + 3 + 2 levels that differ from it
    store, planned, progress = sweep(
        tmp_path, bank, ["scripted/strategic"], repeats=1, conditions=conditions, concurrency=32
    )
    rows = store.rows()
    assert len(rows) == 32 * 12 and progress.errors == 0
    for r in rows:
        expected_status_denied = r["feedback"] == "high"
        assert r["label"] == "strategic", r
        assert (r["outcome"] == "turn_cap") == expected_status_denied
    hashes = {s.id: s.content_hash for s in bank}
    assert all(r["scenario_hash"] == hashes[r["scenario_id"]] for r in rows)
    levels = collections.Counter(
        (r["stakes"], r["feedback"], r["goal_clarity"], r["ethics"], r["liability"]) for r in rows
    )
    assert len(levels) == 12 and set(levels.values()) == {32}


def test_condition_text_reaches_the_prompts(tmp_path, dosage):
    store, _, _ = sweep(
        tmp_path,
        [dosage],
        ["scripted/always-direct"],
        repeats=1,
        conditions=[c for c in one_at_a_time(["stakes", "liability"])],
    )
    for record in store.records():
        system = record.turns[0].agent_call.messages[0]["content"]
        opening = record.turns[0].agent_call.messages[1]["content"]
        assert getattr(dosage.stakes, record.condition.stakes) in opening
        assert (LIABILITY_TEXT["agent"] in system) == (record.condition.liability == "agent")


def test_cli_import_and_export(tmp_path):
    runner = CliRunner()
    out = tmp_path / "bench.jsonl"
    result = runner.invoke(app, ["scenarios", "export", "--out", str(out)])
    assert result.exit_code == 0 and "wrote 32 scenarios" in result.output
    assert len(read_jsonl(out)) == 32
    imported = runner.invoke(app, ["scenarios", "import", "tests/data/reference_example.yaml", "-o", str(tmp_path)])
    assert imported.exit_code == 0, imported.output
    (written,) = [p for p in tmp_path.glob("*.yaml")]
    lint = runner.invoke(app, ["scenarios", "lint", str(written)])
    assert "0 error(s)" in lint.output
