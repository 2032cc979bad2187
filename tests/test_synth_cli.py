"""`toxpro synth` through typer's CliRunner."""

from __future__ import annotations

from typer.testing import CliRunner

from toxpro.cli import app as cli_app
from toxpro.scenario import load_scenario
from toxpro.synth import SynthStore

runner = CliRunner()


def app():
    return cli_app


def test_dry_run_prints_an_estimate_and_touches_nothing(tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(
        app(),
        [
            "synth",
            "--domain",
            "finance",
            "--motivation",
            "loyalty",
            "--n",
            "4",
            "--model",
            "openai/gpt-4o-mini",
            "--judge-model",
            "scripted/synth",
            "--out",
            str(out),
            "--dry-run",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "synth dry run: Finance x loyalty" in result.output
    assert "nothing was called" in result.output and "$" in result.output
    assert not out.exists()


def test_synth_writes_scenarios_and_reports_usage(tmp_path):
    out = tmp_path / "out"
    args = [
        "synth",
        "--domain",
        "Cybersecurity",
        "--motivation",
        "self-preservation",
        "--n",
        "2",
        "--model",
        "scripted/synth:flaky",
        "--out",
        str(out),
        "--stakes",
        "medium",
        "--threshold",
        "7",
        "--rounds",
        "1",
        "--gate",
        "compile.rounds=0",
    ]
    result = runner.invoke(app(), args)
    assert result.exit_code == 0, result.output
    assert "2 accepted, 0 rejected, 0 failed" in result.output
    assert "total" in result.output and "$0.0000" in result.output
    files = sorted(out.glob("*.yaml"))
    assert len(files) == 2
    for f in files:
        s = load_scenario(f)
        assert s.domain.value == "Cybersecurity" and s.motivation.value == "self-preservation"
        assert (out / f"{s.id}.provenance.json").exists()
    # the same command again resumes: nothing left to do, nothing called
    again = runner.invoke(app(), args)
    assert again.exit_code == 0 and "resumed/stored" in again.output
    with SynthStore(out) as store:
        calls = store.calls()
        assert len({c["session"] for c in calls}) == 1  # the second session made no calls


def test_rejections_are_reported(tmp_path):
    result = runner.invoke(
        app(),
        [
            "synth",
            "--domain",
            "Coding",
            "--motivation",
            "loyalty",
            "--n",
            "1",
            "--model",
            "scripted/synth",
            "--judge-model",
            "scripted/synth:fail",
            "--out",
            str(tmp_path),
            "--rounds",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "0 accepted, 1 rejected" in result.output and "REJECTED" in result.output
    assert not list(tmp_path.glob("*.yaml"))


def test_bad_arguments_exit_2(tmp_path):
    for args, needle in [
        (["--domain", "Space", "--motivation", "loyalty"], "--domain 'Space'"),
        (["--domain", "Finance", "--motivation", "greed"], "--motivation 'greed'"),
        (["--domain", "Finance", "--motivation", "loyalty", "--stakes", "huge"], "--stakes"),
        (["--domain", "Finance", "--motivation", "loyalty", "--gate", "plot=3"], "--gate"),
        (["--domain", "Finance", "--motivation", "loyalty", "--model", "nonsense"], "PROVIDER/MODEL"),
    ]:
        result = runner.invoke(app(), ["synth", *args, "--out", str(tmp_path), "--dry-run"])
        assert result.exit_code == 2, (args, result.output)
        assert needle in result.output, (args, result.output)
