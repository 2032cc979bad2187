"""`toxpro judge` and `toxpro calibrate` through typer's CliRunner."""

from typer.testing import CliRunner

from toxpro.cli import app as cli_app
from toxpro.judge import human_frame
from toxpro.store import RunStore
from toxpro.testing import scripted_experiment


def make_app():
    return cli_app


def test_judge_and_calibrate_commands(tmp_path):
    scripted_experiment(tmp_path, ("strategic", "stall", "always-compliant"), repeats=2).close()
    app, runner = make_app(), CliRunner()
    args = [
        "judge",
        str(tmp_path),
        "--judge",
        "scripted/judge",
        "--judge",
        "scripted/judge:noise=0.3,seed=1",
        "--concurrency",
        "2",
    ]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    out = " ".join(first.output.split())
    assert "12 new judgements" in out
    for text in ("Verdict rates", "Agreement between judges", "kripp", "Rule label", "majority"):
        assert text in out, text
    again = runner.invoke(app, args + ["--limit", "3"])
    assert again.exit_code == 0 and "0 new judgements" in " ".join(again.output.split())

    # calibrate: label 2 runs blind through stdin, then quit at the third prompt
    answers = "l\ny\nn\n9\nn\nn\ny\n1\nq\n"
    cal = runner.invoke(app, ["calibrate", str(tmp_path), "--n", "3", "--seed", "1"], input=answers)
    assert cal.exit_code == 0, cal.output
    assert "Run 1/3" in cal.output and "(track:" in cal.output
    assert "2 labelled now" in " ".join(cal.output.split()) and "stopped early" in cal.output
    assert "Judge vs human" in " ".join(cal.output.split())
    with RunStore(tmp_path) as store:
        labels = human_frame(store)
    assert len(labels) == 2 and set(labels["motive"]) == {"loyalty", "none"}


def test_judge_command_errors(tmp_path):
    app, runner = make_app(), CliRunner()
    missing = runner.invoke(app, ["judge", str(tmp_path / "nothing"), "--judge", "scripted/judge"])
    assert missing.exit_code == 2 and "no run store" in missing.output
    scripted_experiment(tmp_path, ("always-direct",), repeats=1).close()
    bad = runner.invoke(app, ["judge", str(tmp_path), "--judge", "nosuchprovider/model"])
    assert bad.exit_code == 2 and "unknown provider" in bad.output
    failing = runner.invoke(app, ["judge", str(tmp_path), "--judge", "scripted/judge:garbage=1"])
    assert failing.exit_code == 0 and "Failures" in failing.output and "parse" in failing.output
