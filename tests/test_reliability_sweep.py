"""Sweeps at the edges: one writer per directory, failing endpoints, hung endpoints, secrets."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from toxpro.cli import app
from toxpro.cli.progress import progress_info
from toxpro.models.retry import RetryPolicy
from toxpro.runner import execute, plan
from toxpro.runner.lock import LOCK_NAME, ExperimentLocked, experiment_lock
from toxpro.scenario import Condition
from toxpro.simulate import RunSettings
from toxpro.store import RunStore
from toxpro.testing import ScriptedServer, ServerThread, roles_of

runner = CliRunner()
SID = "healthcare-loyalty-dosage-audit"


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "toxpro.cli", *args]


def wait_for(predicate, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def locked(directory: Path) -> bool:
    try:
        with experiment_lock(directory, "probe"):
            return False
    except ExperimentLocked:
        return True


class GatedServer(ScriptedServer):
    """Holds every reply until the test opens the gate: the first sweep is still running, whatever the load."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.gate = threading.Event()

    async def _respond(self, *args):
        while not self.gate.is_set():
            await asyncio.sleep(0.01)
        return await super()._respond(*args)


def test_two_sweeps_on_one_directory_at_once(tmp_path, dosage):
    """The second `toxpro run` refuses while the first holds the lock; every run is requested once."""
    server = GatedServer(roles=roles_of([dosage]))
    with ServerThread(server) as srv:
        args = cli(
            "run",
            "-s",
            SID,
            "-a",
            f"compat/always-compliant@{srv.base_url}",
            "-e",
            f"compat/env@{srv.base_url}",
            "-n",
            "12",
            "--concurrency",
            "2",
            "--timeout",
            "300",
            "-o",
            str(tmp_path),
            "--quiet",
        )
        first = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lock = tmp_path / LOCK_NAME  # the holder writes its pid once it has the lock (probing would race it)
        wait_for(lambda: lock.exists() and f"pid {first.pid} " in lock.read_text(), "the first sweep to take the lock")
        second = subprocess.run(args, capture_output=True, text=True, timeout=120)
        still_running = first.poll() is None
        server.gate.set()
        out, err = first.communicate(timeout=180)
        requests = server.stats.requests
    assert first.returncode == 0, err
    assert still_running  # its replies were held back until now
    assert second.returncode == 2 and "Traceback" not in second.stderr
    assert (
        f"{tmp_path}: another toxpro process is writing to this experiment (toxpro run, pid {first.pid}"
        in second.stderr
    )
    assert "12 runs simulated" in out
    assert requests == 12 * 6  # 3 agent + 3 environment calls per run, none twice
    assert RunStore(tmp_path).count() == 12


def test_a_killed_writer_leaves_no_stale_lock(tmp_path, dosage):
    server = ScriptedServer(roles=roles_of([dosage]), latency_s=0.05)
    with ServerThread(server) as srv:
        args = cli(
            "run",
            "-s",
            SID,
            "-a",
            f"compat/always-compliant@{srv.base_url}",
            "-e",
            f"compat/env@{srv.base_url}",
            "-n",
            "40",
            "--concurrency",
            "2",
            "-o",
            str(tmp_path),
            "--quiet",
        )
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for(lambda: (tmp_path / "runs.sqlite").exists() and RunStore(tmp_path).count() >= 3, "three stored runs")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        assert (tmp_path / LOCK_NAME).read_text().startswith(f"toxpro run, pid {proc.pid}")  # the file stays ...
        assert not locked(tmp_path)  # ... but the lock died with its process
        done = subprocess.run(args, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert RunStore(tmp_path).count() == 40


class DenyingServer(ScriptedServer):
    """401 on every call, echoing the (short) key it was sent, as some providers do."""

    async def _respond(self, method, path, raw, writer):
        self.stats.requests += 1
        self._write(writer, 401, {"error": {"message": "Incorrect API key provided: k3y9. Check your key."}})
        return True


def test_every_run_failing_exits_non_zero_and_says_why(tmp_path, monkeypatch):
    monkeypatch.setenv("TOXPRO_API_KEY", "k3y9")  # shorter than 8 characters: masked where it stands alone
    server = DenyingServer()
    with ServerThread(server) as srv:
        result = runner.invoke(
            app,
            [
                "run",
                "-s",
                SID,
                "-a",
                f"compat/always-direct@{srv.base_url}",
                "-e",
                f"compat/env@{srv.base_url}",
                "-n",
                "2",
                "-o",
                str(tmp_path),
            ],
        )
    lines = [" ".join(line.split()) for line in result.output.splitlines()]
    assert result.exit_code == 1, result.output
    assert server.stats.requests == 2  # 401 is not retried
    summary = next(i for i, line in enumerate(lines) if "runs simulated" in line)
    assert lines[summary - 1].startswith("error: all 2 runs of this sweep failed; errors by kind: 2 api_auth; last: ")
    live = [line for line in lines if "turn 1:" in line]
    assert len(live) == 2 and all("API error auth (HTTP 401): " in line for line in live), live
    assert "protocol error: no reply" not in result.output
    assert "k3y9" not in result.output and "Incorrect API key provided: ***." in result.output
    for path in tmp_path.iterdir():
        assert b"k3y9" not in path.read_bytes(), path
    record = next(RunStore(tmp_path).records())
    error = record.turns[0].agent_call.error
    assert (error.kind, error.status, error.retries) == ("auth", 401, 0)
    assert [(c.kind, c.status) for c in error.retry_causes] == [("auth", 401)]


def test_retry_causes_are_stored_not_only_counted(tmp_path, dosage):
    from toxpro.testing import FaultPlan

    faults = FaultPlan({"429": 0.3, "503": 0.2}, seed=3, retry_after_s=0.01)
    server = ScriptedServer(roles=roles_of([dosage]), faults=faults)
    settings = RunSettings(max_turns=3)
    with ServerThread(server) as srv:
        planned = plan(
            [dosage],
            [f"compat/always-compliant@{srv.base_url}"],
            [f"compat/env@{srv.base_url}"],
            [Condition()],
            4,
            settings,
        )
        asyncio.run(
            execute(
                planned,
                RunStore(tmp_path),
                policy=RetryPolicy(max_attempts=4, base_s=0.01, max_wait_s=0.02, timeout_s=120),
            )
        )
    causes, retries = [], 0
    for record in RunStore(tmp_path).records():
        for turn in record.turns:
            for call in [turn.agent_call, *turn.env_calls]:
                retries += call.response.retries
                causes += [(c.kind, c.status) for c in call.response.retry_causes]
                assert len(call.response.retry_causes) == call.response.retries
    assert retries == server.stats.faults.get("429", 0) + server.stats.faults.get("503", 0) > 0
    assert set(causes) == {("rate_limit", 429), ("server", 503)}
    assert causes.count(("rate_limit", 429)) == server.stats.faults["429"]


class Silent:
    """Accepts connections and reads requests, never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.conns = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.conns.append(conn)

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def test_a_hung_endpoint_shows_in_flight_calls_and_times_out_as_configured(tmp_path, dosage):
    silent = Silent()
    url = f"http://127.0.0.1:{silent.port}/v1"
    seen = []
    try:
        config_args = [
            "run",
            "-s",
            SID,
            "-a",
            f"compat/always-direct@{url}",
            "-e",
            f"compat/env@{url}",
            "--timeout",
            "0.5",
            "--retries",
            "1",
            "-o",
            str(tmp_path),
            "-q",
        ]
        result = runner.invoke(app, config_args)
        # the progress callback, as the CLI's bar sees it
        settings = RunSettings(max_turns=2, call_timeout_s=3.0, call_attempts=1)
        planned = plan([dosage], [f"compat/always-direct@{url}"], [f"compat/env@{url}"], [Condition()], 1, settings)
        asyncio.run(
            execute(
                planned,
                RunStore(tmp_path / "b"),
                on_progress=lambda p: seen.append((p.calls_in_flight, p.oldest_call_s, progress_info(p))),
                policy=RetryPolicy(max_attempts=1, timeout_s=3.0),
            )
        )
    finally:
        silent.close()
    assert result.exit_code == 1, result.output  # the one run failed: timed out after 2 attempts of 0.5 s
    record = next(RunStore(tmp_path).records())
    assert (record.settings.call_timeout_s, record.settings.call_attempts) == (0.5, 2)
    error = record.turns[0].agent_call.error
    assert error.kind == "timeout" and error.retries == 1
    assert [c.kind for c in error.retry_causes] == ["timeout", "timeout"]
    ticks = [s for s in seen if s[0] == 1]
    assert ticks, seen  # the ticker reported the hung call while it hung (every 1 s during the 3 s timeout)
    oldest = max(ticks, key=lambda s: s[1])
    assert oldest[1] >= 1.0 and f"calls in flight 1, oldest {oldest[1]:.0f}s" in oldest[2]


def test_timeouts_and_retries_from_a_sweep_file(tmp_path):
    from toxpro.runner.config import sweep_from_file

    f = tmp_path / "sweep.yaml"
    f.write_text("agents: [scripted/strategic]\ntimeout_s: 7.5\nretries: 0\n")
    config = sweep_from_file(f)
    assert (config.retry_policy().timeout_s, config.retry_policy().max_attempts) == (7.5, 1)
    assert (config.settings().call_timeout_s, config.settings().call_attempts) == (7.5, 1)
    f.write_text("agents: [scripted/strategic]\ntimeout_s: 0\n")
    result = runner.invoke(app, ["run", str(f)])
    assert result.exit_code == 2 and f"{f}:timeout_s:" in result.output
    default = sweep_from_file(_write(tmp_path, "agents: [scripted/strategic]\n"))
    assert (default.timeout_s, default.retries) == (60.0, 3)


def _write(tmp_path, text):
    path = tmp_path / "plain.yaml"
    path.write_text(text)
    return path


def test_dry_run_masks_url_passwords(tmp_path):
    result = runner.invoke(
        app,
        [
            "run",
            "-s",
            SID,
            "-a",
            "compat/m@http://bob:hunter2pw@127.0.0.1:9/v1",
            "-e",
            "scripted/env",
            "-o",
            str(tmp_path),
            "--dry-run",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "compat/m@http://***@127.0.0.1:9/v1" in " ".join(result.output.split())
    assert "hunter2pw" not in result.output
    for path in tmp_path.iterdir():
        assert b"hunter2pw" not in path.read_bytes()
