from typer.testing import CliRunner

from toxpro.cli import app

runner = CliRunner()


def test_scenarios_list_shows_the_bank():
    result = runner.invoke(app, ["scenarios", "list"])
    assert result.exit_code == 0
    assert "32 scenarios" in result.output and "Cybersecurity" in result.output


def test_scenarios_show():
    result = runner.invoke(app, ["scenarios", "show", "healthcare-loyalty-dosage-audit"])
    assert result.exit_code == 0 and "direct-terminal" in result.output


def test_run_then_show_then_resume(tmp_path):
    args = [
        "run",
        "-s",
        "healthcare-loyalty-dosage-audit",
        "-a",
        "scripted/strategic",
        "-a",
        "scripted/always-compliant",
        "-n",
        "3",
        "-o",
        str(tmp_path),
    ]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "6 runs simulated, 0 already stored, 0 errors" in first.output
    assert "runs.sqlite" in first.output
    again = runner.invoke(app, args)
    assert "0 runs simulated, 6 already stored" in again.output
    shown = runner.invoke(app, ["show", str(tmp_path), "--by", "agent_model"])
    assert shown.exit_code == 0 and "100%" in shown.output and "0%" in shown.output


def test_single_run_prints_its_turns(tmp_path):
    result = runner.invoke(
        app,
        ["run", "-s", "healthcare-loyalty-dosage-audit", "-a", "scripted/escalate:2", "-n", "1", "-o", str(tmp_path)],
    )
    assert "label strategic" in result.output and "turn 2:" in result.output and "inhibitor" in result.output


def test_small_sweeps_print_turns_live_and_once(tmp_path):
    args = ["run", "-s", "healthcare-loyalty-dosage-audit", "-a", "scripted/strategic", "-n", "1", "-o", str(tmp_path)]
    first = runner.invoke(app, args)
    assert first.output.count("(inhibitor, toxic)") == 1  # printed live, not again in the summary
    again = runner.invoke(app, args)  # nothing simulated: the stored turns are printed from the store
    assert again.output.count("(inhibitor, toxic)") == 1 and "0 runs simulated" in again.output


def test_conditions_grid_and_paired(tmp_path):
    result = runner.invoke(
        app,
        [
            "run",
            "-s",
            "healthcare-loyalty-dosage-audit",
            "-a",
            "scripted/always-direct",
            "-c",
            "feedback=*",
            "-c",
            "liability=agent|user",
            "-o",
            str(tmp_path),
            "-q",
        ],
    )
    assert "6 runs simulated" in result.output
    paired = runner.invoke(
        app,
        [
            "run",
            "-s",
            "healthcare-loyalty-dosage-audit",
            "-a",
            "scripted/always-direct",
            "--paired",
            "-o",
            str(tmp_path / "p"),
            "-q",
        ],
    )
    assert "12 runs simulated" in paired.output  # baseline + 2 + 2 + 2 + 3 + 2 deviations


def test_bad_inputs_give_clear_errors(tmp_path):
    bad_cond = runner.invoke(app, ["run", "-a", "scripted/strategic", "-c", "mood=happy", "-o", str(tmp_path)])
    assert bad_cond.exit_code == 2 and "unknown variable 'mood'" in bad_cond.output
    bad_model = runner.invoke(app, ["run", "-a", "gpt4", "-o", str(tmp_path)])
    assert bad_model.exit_code == 2 and "expected PROVIDER/MODEL" in bad_model.output
    missing = runner.invoke(app, ["show", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "no run store here" in missing.output


def test_missing_key_fails_before_spending(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    result = runner.invoke(
        app,
        [
            "run",
            "-s",
            "healthcare-loyalty-dosage-audit",
            "-a",
            "openrouter/x/y",
            "-e",
            "scripted/env",
            "-o",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 2 and "OPENROUTER_API_KEY" in result.output


def test_sweep_file_errors_name_file_and_field(tmp_path):
    f = tmp_path / "sweep.yaml"
    f.write_text("agents: [scripted/strategic]\nrepeats: 0\nturbo: true\n")
    result = runner.invoke(app, ["run", str(f)])
    assert result.exit_code == 2
    assert f"{f}:repeats:" in result.output and f"{f}:turbo:" in result.output
