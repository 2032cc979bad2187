"""Every user error: exit 2, one line per problem naming the file, option or field, never a traceback."""

import subprocess
import sys

import pytest
import yaml
from typer.testing import CliRunner

from toxpro.cli import app
from toxpro.scenario import builtin_dir
from toxpro.scenario.lint import MAX_FIELD_TOKENS, lint
from toxpro.scenario.loader import load_scenario

runner = CliRunner()
DOSAGE = builtin_dir() / "healthcare-loyalty-dosage-audit.yaml"
SID = "healthcare-loyalty-dosage-audit"


def user_error(result, *needles):
    """Exit 2, no traceback, each needle on some output line."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    for needle in needles:
        assert needle in result.output, (needle, result.output)
    return result.output.strip().splitlines()


def test_non_utf8_and_binary_files_and_a_directory_holding_them(tmp_path):
    (tmp_path / "latin1.yaml").write_bytes("title: caf\xe9\n".encode("latin-1"))
    (tmp_path / "binary.yaml").write_bytes(b"id: x\n\x00\x01\x02")
    (tmp_path / "dup.yaml").write_text(DOSAGE.read_text() + "domain: Finance\n")
    (tmp_path / "good.yaml").write_text(DOSAGE.read_text())
    lines = user_error(
        runner.invoke(app, ["scenarios", "lint", str(tmp_path)]),
        f"{tmp_path / 'latin1.yaml'}:(file): not UTF-8 text (byte 0xe9 at offset 10)",
        f"{tmp_path / 'binary.yaml'}:(file): binary file (NUL byte at offset 6)",
        f"{tmp_path / 'dup.yaml'}:line ",
    )
    assert len(lines) == 3  # one line per problem; the directory's other problems are reported too
    assert "duplicate key 'domain' (first given on line 3)" in lines[1]
    user_error(
        runner.invoke(
            app, ["run", "-s", str(tmp_path / "latin1.yaml"), "-a", "scripted/strategic", "-o", str(tmp_path / "exp")]
        ),
        "latin1.yaml:(file): not UTF-8 text",
    )


def test_five_thousand_deep_yaml_is_a_clean_error(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    user_error(
        runner.invoke(app, ["scenarios", "lint", str(path)]), f"{path}:line 1: invalid YAML: nested deeper than 64"
    )
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("agents: " + "[" * 5000 + "]" * 5000 + "\n")
    user_error(runner.invoke(app, ["run", str(sweep)]), f"{sweep}:(root): invalid YAML")


def test_duplicate_keys_are_errors_in_scenario_and_sweep_files(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text(DOSAGE.read_text() + "domain: Finance\n")
    with pytest.raises(Exception) as info:
        load_scenario(path)
    assert "duplicate key 'domain'" in str(info.value)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("agents: [scripted/strategic]\nrepeats: 2\nrepeats: 3\n")
    user_error(runner.invoke(app, ["run", str(sweep)]), f"{sweep}:(root): invalid YAML", "duplicate key 'repeats'")


@pytest.mark.parametrize(
    "model, needle",
    [
        ("scripted/unknown-policy", "unknown scripted policy 'unknown-policy'"),
        ("compat/x@http://[::1/v1", "is not a valid URL (Invalid IPv6 URL)"),
        ("compat/@http://127.0.0.1:8000/v1", "empty model name"),
        ("", "empty model string"),
        ("compat/x@http://127.0.0.1:99999/v1", "Port out of range"),
        ("compat/x@http://127.0.0.1:80 00/v1", "contains a space"),
        ("compat/x@ftp://h/v1", "must start with http:// or https://"),
    ],
)
def test_bad_model_strings_are_rejected_before_any_call(tmp_path, model, needle):
    lines = user_error(runner.invoke(app, ["run", "-s", SID, "-a", model, "-o", str(tmp_path)]), "--agents", needle)
    assert len(lines) == 1
    assert not (tmp_path / "runs.sqlite").exists()  # nothing was started


def test_url_passwords_never_echoed_in_errors(tmp_path):
    out = user_error(
        runner.invoke(app, ["run", "-s", SID, "-a", "compat/x@http://bob:hunter2pw@[::1/v1", "-o", str(tmp_path)]),
        "Invalid IPv6 URL",
    )
    assert "hunter2pw" not in "\n".join(out)


def test_show_by_unknown_column_lists_valid_ones(tmp_path):
    assert runner.invoke(app, ["run", "-s", SID, "-a", "scripted/strategic", "-o", str(tmp_path), "-q"]).exit_code == 0
    lines = user_error(
        runner.invoke(app, ["show", str(tmp_path), "--by", "agent_model,colour"]),
        "--by: unknown column(s) 'colour'; valid columns: run_id,",
        "agent_model",
        "scenario_id",
    )
    assert len(lines) == 1


def _scenario(tmp_path, name, **changes):
    data = yaml.safe_load(DOSAGE.read_text())
    for key, value in changes.items():
        data[key] = value(data[key]) if callable(value) else value
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def test_control_characters_are_lint_errors(tmp_path):
    path = _scenario(tmp_path, "ctl.yaml", situation=lambda s: s + " \x1b[2J", agent_role=lambda s: s + " \u202e")
    report = lint([load_scenario(path)])
    codes = [(f.level, f.code, f.message.split(":")[0]) for f in report.findings if f.code == "control-character"]
    assert codes == [("error", "control-character", "agent_role"), ("error", "control-character", "situation")]
    assert not report.ok
    result = runner.invoke(app, ["scenarios", "lint", str(path)])
    assert result.exit_code == 1 and "U+202E" in result.output and "U+001B" in result.output
    assert lint([load_scenario(DOSAGE)]).ok  # the shipped text has none


def test_oversize_fields_warn_with_a_token_estimate(tmp_path):
    big = "lorem ipsum " * 500  # 6,000 characters ≈ 1,500 tokens
    path = _scenario(tmp_path, "big.yaml", evidence=lambda e: {**e, "dump": big})
    found = [f for f in lint([load_scenario(path)]).findings if f.code.startswith("oversize")]
    assert [(f.level, f.code) for f in found] == [("warning", "oversize-field")]
    assert found[0].message == (
        f"evidence.dump: about {len(big) // 4:,} tokens ({len(big):,} characters); "
        f"over {MAX_FIELD_TOKENS:,} tokens in one field"
    )


def test_no_traceback_from_the_real_process(tmp_path):
    """The same through `python -m toxpro.cli` (typer's pretty tracebacks are not involved)."""
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xff\xfe\x00")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "toxpro.cli",
            "run",
            "-s",
            str(path),
            "-a",
            "scripted/strategic",
            "-o",
            str(tmp_path / "e"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert (
        done.stderr.strip() == f"{path}:(file): not UTF-8 text (byte 0xff at offset 0); scenario files are UTF-8 YAML"
    )


@pytest.mark.parametrize(
    "args, needle",
    [
        (["-s", SID, "-s", SID], "1 runs simulated"),
        (["-s", SID, "-a", "scripted/strategic", "-a", "scripted/strategic"], "1 runs simulated"),
        (["-s", SID, "-c", "ethics=utilitarian|utilitarian"], "1 runs simulated"),
    ],
)
def test_duplicate_selectors_run_once(tmp_path, args, needle):
    base = [] if "-a" in args else ["-a", "scripted/strategic"]
    result = runner.invoke(app, ["run", *args, *base, "-o", str(tmp_path), "-q"])
    assert result.exit_code == 0, result.output
    assert needle in result.output
