"""Run stores at the edges: damaged, foreign, newer, read-only, or holding other settings."""

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from toxpro.cli import app
from toxpro.store import RunStore
from toxpro.store.codec import decode_json, encode_json
from toxpro.store.sqlite import SCHEMA_VERSION

runner = CliRunner()
SID = "healthcare-loyalty-dosage-audit"
RUN = ["run", "-s", SID, "-a", "scripted/stochastic:strategic=0.3,direct=0.3", "-q"]


def make_store(directory: Path, *extra: str, n: int = 12) -> Path:
    result = runner.invoke(app, [*RUN, "-n", str(n), "-o", str(directory), *extra])
    assert result.exit_code == 0, result.output
    return directory / "runs.sqlite"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def all_commands(directory: Path, tmp_path: Path) -> list:
    return [
        runner.invoke(app, ["show", str(directory)]),
        runner.invoke(app, ["report", str(directory), "-o", str(tmp_path / "report")]),
        runner.invoke(app, ["export", str(directory), "-f", "jsonl", "-o", str(tmp_path / "x.jsonl")]),
        runner.invoke(app, [*RUN, "-o", str(directory)]),
    ]


def damaged(tmp_path: Path, how: str) -> Path:
    directory = tmp_path / how
    db = make_store(directory, n=40)
    if how == "garbage":
        db.write_bytes(b"this is not a database\n" * 50)
    elif how == "truncated":
        data = db.read_bytes()
        db.write_bytes(data[: len(data) // 3])
    elif how == "foreign":
        db.unlink()
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE users (name TEXT)")
        con.execute("INSERT INTO users VALUES ('alice')")
        con.commit()
        con.close()
    elif how == "version99":
        con = sqlite3.connect(db)
        con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
        con.commit()
        con.close()
    return db


@pytest.mark.parametrize(
    "how, needle",
    [
        ("garbage", "not a toxpro run store (not an SQLite database)"),
        ("truncated", "damaged run store"),
        ("foreign", "not a toxpro run store (an SQLite database with tables users)"),
        ("version99", f"run store schema version 99; this toxpro reads version {SCHEMA_VERSION} and older"),
    ],
)
def test_damaged_foreign_and_newer_stores_exit_2_naming_the_file(tmp_path, how, needle):
    db = damaged(tmp_path, how)
    before = digest(db)
    for result in all_commands(db.parent, tmp_path):
        assert result.exit_code == 2, result.output
        assert f"{db}: {needle}" in result.output and "Traceback" not in result.output
    assert digest(db) == before  # nothing was written to it


def test_merge_refuses_a_foreign_schema_version(tmp_path):
    make_store(tmp_path / "a")
    db = damaged(tmp_path, "version99")
    result = runner.invoke(app, ["merge", str(tmp_path / "out"), str(tmp_path / "a"), str(db.parent)])
    assert result.exit_code == 2 and f"{db}: run store schema version 99" in result.output
    assert not (tmp_path / "out" / "runs.sqlite").exists()  # nothing copied


def test_merge_refuses_runs_made_with_other_settings(tmp_path):
    make_store(tmp_path / "a")
    make_store(tmp_path / "b", "--max-turns", "5")
    result = runner.invoke(app, ["merge", str(tmp_path / "out"), str(tmp_path / "a"), str(tmp_path / "b")])
    assert result.exit_code == 2, result.output
    assert f"{tmp_path / 'b'}: its runs were made with other settings" in result.output
    assert "max_turns=20 vs 5" in result.output


def test_other_settings_in_one_directory_are_refused_not_pooled(tmp_path):
    db = make_store(tmp_path / "exp")
    for flags, diff in (
        (["--max-turns", "5"], "max_turns=20 vs 5"),
        (["--protocol", "tools"], "protocol='json' vs 'tools'"),
        (["--temperature", "0.2"], "agent_sampling.temperature=0.7 vs 0.2"),
    ):
        result = runner.invoke(app, [*RUN, "-o", str(db.parent), *flags])
        assert result.exit_code == 2 and diff in result.output, result.output
        assert "never pooled" in result.output
    assert RunStore(db.parent).count() == 12
    # a store copied from another experiment is checked the same way
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(db, copy / "runs.sqlite")
    refused = runner.invoke(app, [*RUN, "-o", str(copy), "--max-turns", "3"])
    assert refused.exit_code == 2 and "max_turns=20 vs 3" in refused.output
    # calls' timeouts and retries are not what a run is: the same runs resume
    same = runner.invoke(app, [*RUN, "-n", "12", "-o", str(copy), "--timeout", "5", "--retries", "1"])
    assert same.exit_code == 0 and "0 runs simulated, 12 already stored" in " ".join(same.output.split())


def test_a_store_already_mixing_settings_is_reported(tmp_path):
    """A store written before settings were kept, holding two turn caps: named, never read as one."""
    db = make_store(tmp_path / "legacy")
    con = sqlite3.connect(db)
    con.execute("DELETE FROM meta WHERE key = 'settings'")
    ((rid, record),) = con.execute("SELECT run_id, record FROM runs LIMIT 1").fetchall()
    text = decode_json(record).replace('"max_turns":20', '"max_turns":7')
    con.execute("UPDATE runs SET record = ? WHERE run_id = ?", (encode_json(text), rid))
    con.commit()
    con.close()
    result = runner.invoke(app, [*RUN, "-o", str(db.parent)])
    assert result.exit_code == 2 and "already holds runs made with different settings" in result.output
    assert "max_turns=" in result.output


def _as_nobody() -> list[str]:
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot drop write permission")
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def test_read_only_store_can_be_shown_reported_and_exported(tmp_path):
    base = Path(tempfile.mkdtemp(prefix="toxpro-ro-"))  # world-readable (pytest's tmp_path is 0700)
    try:
        os.chmod(base, 0o755)
        db = make_store(base / "exp")
        out = base / "out"
        out.mkdir()
        os.chmod(out, 0o777)
        os.chmod(db.parent, 0o555)
        os.chmod(db, 0o444)
        before = digest(db)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "HOME": str(out), "MPLCONFIGDIR": str(out)}
        cli = [*_as_nobody(), sys.executable, "-m", "toxpro.cli"]
        for args in (
            ["show", str(db.parent)],
            ["report", str(db.parent), "-o", str(out / "report")],
            ["export", str(db.parent), "-f", "jsonl", "-o", str(out / "runs.jsonl")],
        ):
            done = subprocess.run([*cli, *args], capture_output=True, text=True, timeout=300, env=env, cwd=out)
            assert done.returncode == 0, (args, done.stdout[-500:], done.stderr[-2000:])
            assert "readonly" not in done.stderr
        assert (out / "report" / "report.html").is_file()
        assert len((out / "runs.jsonl").read_text().splitlines()) == 12
        assert digest(db) == before and sorted(p.name for p in db.parent.iterdir()) == ["runs.sqlite", "toxpro.lock"]
        # writing is refused with a clear message, not a traceback
        done = subprocess.run(
            [*cli, *RUN, "-o", str(db.parent)], capture_output=True, text=True, timeout=120, env=env, cwd=out
        )
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    finally:
        for root, dirs, _ in os.walk(base):
            for d in dirs:
                os.chmod(Path(root) / d, 0o755)
        shutil.rmtree(base, ignore_errors=True)
