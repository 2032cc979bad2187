import os
import signal
import subprocess
import sys
import time

from spine_helpers import sweep

from toxpro.simulate import RunSettings
from toxpro.store import RunStore, redact
from toxpro.testing import ScriptedServer, ServerThread, roles_of


def test_rerun_skips_finished_runs(tmp_path, dosage):
    store, planned, first = sweep(tmp_path, [dosage], ["scripted/strategic", "scripted/always-compliant"], repeats=4)
    assert first.done == 8 and store.count() == 8
    before = {r["run_id"]: r["ended_at"] for r in store.rows()}
    store, planned, second = sweep(tmp_path, [dosage], ["scripted/strategic", "scripted/always-compliant"], repeats=6)
    assert second.skipped == 8 and second.done == 4 and store.count() == 12
    after = {r["run_id"]: r["ended_at"] for r in store.rows()}
    assert all(after[k] == v for k, v in before.items())  # finished runs untouched


def test_run_ids_are_deterministic_and_sensitive(tmp_path, dosage):
    from toxpro.runner import plan
    from toxpro.scenario import Condition

    a = plan([dosage], ["scripted/strategic"], ["scripted/env"], [Condition()], 3, RunSettings())
    b = plan([dosage], ["scripted/strategic"], ["scripted/env"], [Condition()], 3, RunSettings())
    assert [p.run_id for p in a] == [p.run_id for p in b] and len({p.run_id for p in a}) == 3
    c = plan([dosage], ["scripted/strategic"], ["scripted/env"], [Condition(feedback="low")], 3, RunSettings())
    d = plan([dosage], ["scripted/strategic"], ["scripted/env"], [Condition()], 3, RunSettings(max_turns=5))
    assert not ({p.run_id for p in a} & {p.run_id for p in c}) and not ({p.run_id for p in a} & {p.run_id for p in d})


def test_errored_runs_are_counted_and_can_be_retried(tmp_path, dosage):
    store, _, progress = sweep(tmp_path, [dosage], ["scripted/garbage"], repeats=3)
    assert progress.errors == 3 and {r["label"] for r in store.rows()} == {"error"}
    store, _, again = sweep(tmp_path, [dosage], ["scripted/garbage"], repeats=3)
    assert again.done == 0  # errors are data: not silently re-run
    store, _, retried = sweep(tmp_path, [dosage], ["scripted/garbage"], repeats=3, retry_errors=True)
    assert retried.done == 3 and store.count() == 3


def test_kill_minus_nine_mid_sweep_loses_and_duplicates_nothing(tmp_path, dosage):
    server = ScriptedServer(roles=roles_of([dosage]), latency_s=0.02)
    with ServerThread(server) as srv:
        cmd = [
            sys.executable,
            "-m",
            "toxpro.cli",
            "run",
            "-s",
            "healthcare-loyalty-dosage-audit",
            "-a",
            f"compat/always-compliant@{srv.base_url}",
            "-e",
            f"compat/env@{srv.base_url}",
            "-n",
            "150",
            "--concurrency",
            "4",
            "-o",
            str(tmp_path),
            "--quiet",
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        db = tmp_path / "runs.sqlite"
        deadline = time.time() + 60
        while time.time() < deadline:
            if db.exists() and RunStore(tmp_path).count() >= 20:
                break
            time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        partial = RunStore(tmp_path)
        stored_before = {r["run_id"]: r["ended_at"] for r in partial.rows()}
        assert 20 <= len(stored_before) < 150
        requests_before = server.stats.requests
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        requests_after = server.stats.requests - requests_before
    final = RunStore(tmp_path)
    rows = final.rows()
    assert len(rows) == 150 and len({r["run_id"] for r in rows}) == 150
    assert all(r["label"] == "robust" for r in rows)
    after = {r["run_id"]: r["ended_at"] for r in rows}
    assert all(after[k] == v for k, v in stored_before.items())
    # each remaining run costs 6 calls (3 agent + 3 environment); finished runs were not re-billed, and
    # the turns a killed run had completed (2 calls each) were taken from its checkpoints, not re-requested
    resumed = sum(r.resumed_turns for r in final.records())
    assert requests_after == 6 * (150 - len(stored_before)) - 2 * resumed
    assert final.db.execute("SELECT COUNT(*) FROM turn_checkpoints").fetchone()[0] == 0


def test_secrets_never_reach_the_store(tmp_path, dosage, monkeypatch):
    key = "sk-test-SECRET-1234567890abcdef"
    monkeypatch.setenv("TOXPRO_API_KEY", key)
    server = ScriptedServer(roles=roles_of([dosage]))
    with ServerThread(server) as srv:
        store, _, _ = sweep(
            tmp_path, [dosage], [f"compat/always-direct@{srv.base_url}"], [f"compat/env@{srv.base_url}"], repeats=2
        )
        store.set_meta("note", f"the key is {key}")
    store.close()
    for path in tmp_path.iterdir():
        assert key.encode() not in path.read_bytes(), path
    assert redact(f"Bearer {key} http://user:pw@host/v1") == "Bearer *** http://***@host/v1"
