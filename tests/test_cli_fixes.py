"""One test per CLI fix of issue 15: -o with sweep files, combined conditions, no bar after a fatal error, toxpro init,
progress lines and full-width tables off a terminal, [ray] in the help, show by agent, literal scenario errors,
display names."""

from __future__ import annotations

import io
import re
import sqlite3
from importlib import resources
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from toxpro.cli import app
from toxpro.runner.config import SweepConfig, SweepConfigError, sweep_from_file
from toxpro.scenario import builtin_dir
from toxpro.store import RunStore

runner = CliRunner()
SCEN = "healthcare-loyalty-dosage-audit"
REPO = Path(__file__).resolve().parents[1]


def test_shard_with_out_writes_there(tmp_path):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"scenarios: [{SCEN}]\nagents: [scripted/strategic]\nrepeats: 4\nout: {tmp_path / 'default'}\n")
    result = runner.invoke(app, ["run", str(sweep), "--shard", "0/2", "-o", str(tmp_path / "shard0"), "-q"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "shard0" / "runs.sqlite").is_file() and not (tmp_path / "default").exists()
    merged = runner.invoke(app, ["merge", str(tmp_path / "all"), str(tmp_path / "shard0")])
    assert merged.exit_code == 0, merged.output
    with RunStore(tmp_path / "all", create=False) as store:
        assert 0 < store.count() < 4  # shard 0 of 2 holds part of the four runs


def test_paired_with_levels_combines_and_says_so(tmp_path):
    result = runner.invoke(
        app,
        [
            "run",
            "-s",
            SCEN,
            "-a",
            "scripted/always-direct",
            "--paired",
            "-c",
            "feedback=low",
            "-o",
            str(tmp_path),
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "--paired with -c: the baseline plus one-variable deviations to feedback=low (2 cells)" in result.output
    with RunStore(tmp_path, create=False) as store:
        assert sorted(r["feedback"] for r in store.rows()) == ["low", "medium"]  # baseline + the named level


def test_repeated_variable_combines_and_says_so(tmp_path):
    result = runner.invoke(
        app,
        [
            "run",
            "-s",
            SCEN,
            "-a",
            "scripted/always-direct",
            "-c",
            "stakes=low",
            "-c",
            "stakes=high",
            "-o",
            str(tmp_path),
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "stakes is given 2 times (stakes=low, stakes=high); combined: stakes=high|low" in result.output
    with RunStore(tmp_path, create=False) as store:
        assert sorted(r["stakes"] for r in store.rows()) == ["high", "low"]  # not just the last one
    star = SweepConfig(conditions=["stakes=*", "stakes=low"])
    assert [c.stakes for c in star.condition_list()] == ["high", "medium", "low"]


def test_no_progress_bar_after_a_fatal_error(tmp_path, monkeypatch):
    from toxpro.cli.run import run_sweep

    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)  # the bar is drawn on terminals
    config = SweepConfig(
        scenarios=[SCEN], agents=["openrouter/x/y"], envs=["scripted/env"], repeats=3, out=str(tmp_path)
    )
    assert run_sweep(config, console) == 2
    text = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", out.getvalue())
    error = text.index("OPENROUTER_API_KEY")
    assert "3/3" not in text  # never drawn as finished
    assert "━" not in text[error:] and "0/3" not in text[error:]  # the bar was taken down, not left below the error


def test_init_writes_the_commented_sweep_file(tmp_path):
    target = tmp_path / "my-sweep.yaml"
    result = runner.invoke(app, ["init", str(target)])
    assert result.exit_code == 0, result.output
    text = target.read_text()
    assert text == (REPO / "examples" / "sweep.yaml").read_text()
    assert text.count("\n#") > 20  # commented
    config = sweep_from_file(target)
    assert config.agent_tags()["openrouter/qwen/qwen3-8b"] == ("qwen3-8b", "qwen", True)
    again = runner.invoke(app, ["init", str(target)])
    assert again.exit_code == 2 and "already exists" in again.output
    # the packaged copy (package data) is the file the wheel ships
    assert resources.files("toxpro").joinpath("examples", "sweep.yaml").read_text() == text
    assert '"toxpro" = ["examples/*.yaml"]' in (REPO / "pyproject.toml").read_text()


def test_piped_output_gets_progress_lines_and_full_tables(tmp_path):
    long_name = "scripted/stochastic:strategic=0.25,direct=0.25,failed=0.25,stalled=0.05"
    result = runner.invoke(app, ["run", "-s", SCEN, "-a", long_name, "-n", "20", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.output.splitlines() if ln.startswith("runs ")]
    assert len(lines) >= 5 and lines[-1].startswith("runs 20/20 · errors ")  # CliRunner output is not a terminal
    row = next(ln for ln in result.output.splitlines() if long_name in ln)
    assert len(row) > 80  # the table row kept its natural width, the model string is not folded


def test_executor_help_shows_ray_extra():
    result = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "250"})
    assert "pip install 'toxpro[ray]'" in result.output


def test_show_defaults_to_agents(tmp_path):
    runner.invoke(
        app,
        [
            "run",
            "-s",
            SCEN,
            "-s",
            "finance-selfpres-trading-halt",
            "-a",
            "strat=scripted/strategic",
            "-a",
            "scripted/always-compliant",
            "-o",
            str(tmp_path),
            "-q",
        ],
    )
    shown = runner.invoke(app, ["show", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    assert "strat" in shown.output and "scripted/always-compliant" in shown.output
    assert SCEN not in shown.output  # one row per agent, not per scenario
    assert "scripted/strategic" not in shown.output  # the display name replaces the model string


def test_scenario_errors_are_literal_and_unwrapped(tmp_path):
    text = (builtin_dir() / f"{SCEN}.yaml").read_text()
    bad = tmp_path / "a-rather-long-directory-name-for-scenarios" / "bad.yaml"
    bad.parent.mkdir()
    bad.write_text(re.sub(r"(?m)^id: .*$", 'id: "Not A Valid Id"', text))
    result = runner.invoke(
        app, ["run", "-s", str(bad), "-a", "scripted/strategic", "-o", str(tmp_path / "o")], env={"COLUMNS": "60"}
    )
    assert result.exit_code == 2
    line = next(ln for ln in result.output.splitlines() if ln.startswith(str(bad)))
    assert line.startswith(f"{bad}:id: ") and "pattern" in line  # :id: not turned into an emoji, one line
    assert "\U0001f194" not in result.output


def test_display_names_are_stored_with_each_run(tmp_path):
    result = runner.invoke(
        app,
        [
            "run",
            "-s",
            SCEN,
            "-a",
            "mine=scripted/strategic",
            "-a",
            "scripted/stochastic:strategic=0.2",
            "-o",
            str(tmp_path),
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    with RunStore(tmp_path, create=False) as store:
        names = {r["agent_model"]: r["agent_name"] for r in store.rows()}
    assert names == {"scripted/strategic": "mine", "scripted/stochastic:strategic=0.2": None}
    clash = runner.invoke(app, ["run", "-a", "x=scripted/strategic", "-a", "x=scripted/garbage", "-o", str(tmp_path)])
    assert clash.exit_code == 2 and "name 'x' is given to two models" in clash.output
    sweep = tmp_path / "s.yaml"
    sweep.write_text("agents: [{name: a, model: scripted/strategic, colour: red}]\n")
    try:
        sweep_from_file(sweep)
        raise AssertionError("unknown agent key accepted")
    except SweepConfigError as exc:
        assert f"{sweep}:agents.0.colour:" in str(exc)


def test_old_store_without_name_columns_reads_and_merges(tmp_path):
    runner.invoke(app, ["run", "-s", SCEN, "-a", "scripted/strategic", "-o", str(tmp_path / "old"), "-q"])
    db = sqlite3.connect(tmp_path / "old" / "runs.sqlite")
    for col in ("agent_name", "agent_family", "agent_reasoning"):
        db.execute(f"ALTER TABLE runs DROP COLUMN {col}")  # as written before the columns existed
    db.commit()
    db.close()
    merged = runner.invoke(app, ["merge", str(tmp_path / "new"), str(tmp_path / "old")])
    assert merged.exit_code == 0, merged.output
    shown = runner.invoke(app, ["show", str(tmp_path / "old")])
    assert shown.exit_code == 0 and "scripted/strategic" in shown.output
    with RunStore(tmp_path / "new", create=False) as store:
        assert [r["agent_name"] for r in store.rows()] == [None]
