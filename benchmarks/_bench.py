"""Shared pieces of the benchmarks: the scripted server in its own process, and measurements."""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

import toxpro.models.direct_http  # noqa: F401  (imported here, so the timed legs do not pay for it)
import toxpro.models.openai_compat  # noqa: F401
from toxpro.models.retry import RetryPolicy
from toxpro.runner import execute, plan
from toxpro.scenario import Condition, load_builtin
from toxpro.simulate import RunSettings
from toxpro.store import RunStore

PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE


def cpu_seconds(pid: int) -> float:
    """utime + stime of another process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@contextmanager
def scripted_server(latency_s: float, policy: str = "always-compliant"):
    """`python -m toxpro.testing.server` in a separate process; yields (base_url, pid)."""
    cmd = [
        sys.executable,
        "-m",
        "toxpro.testing.server",
        "--port",
        "0",
        "--latency",
        str(latency_s),
        "--policy",
        policy,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        if "http://" not in line:
            raise RuntimeError(f"scripted server did not start: {line!r}")
        yield line.split()[-1], proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


class PeakRss:
    """Samples this process's RSS every 100 ms while active."""

    def __init__(self):
        self.peak = self.start = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, rss_bytes())

    def __enter__(self) -> PeakRss:
        self.start = rss_bytes()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


@dataclass
class Leg:
    runs: int
    concurrency: int
    latency_s: float
    wall_s: float
    client_cpu_s: float
    server_cpu_s: float
    calls: int  # model calls the runs made (as recorded)
    requests: int  # HTTP requests, retries included
    errors: int
    rss_start: int
    rss_peak: int

    @property
    def calls_per_run(self) -> float:
        return self.calls / self.runs

    @property
    def runs_per_s(self) -> float:
        return self.runs / self.wall_s

    @property
    def ideal_runs_per_s(self) -> float:
        """Each run is a chain of calls_per_run calls, each ≥ latency at the server, so one worker
        completes at most 1 / (calls_per_run × latency) runs per second, and `concurrency` workers
        `concurrency` times that (zero framework overhead, never an idle worker)."""
        return self.concurrency / (self.calls_per_run * self.latency_s)

    @property
    def ideal_makespan_s(self) -> float:
        """Lower bound on the wall clock for these runs: ceil(runs / concurrency) waves of
        equal-length runs (the bound the tail of the last, partial wave imposes)."""
        return -(-self.runs // self.concurrency) * self.calls_per_run * self.latency_s

    @property
    def cpu_ms_per_call(self) -> float:
        return 1000 * self.client_cpu_s / self.calls

    @property
    def mem_per_run_kib(self) -> float:
        return (self.rss_peak - self.rss_start) / 1024 / min(self.concurrency, self.runs)


def run_leg(
    url: str,
    server_pid: int,
    *,
    runs: int,
    scenarios: int,
    concurrency: int,
    latency_s: float,
    policy: str,
    max_turns: int = 6,
    directory: str | None = None,
    stagger_s: float | None = None,
    transport: str = "auto",
) -> Leg:
    bank = load_builtin()[:scenarios]
    settings = RunSettings(max_turns=max_turns)
    repeats = -(-runs // len(bank))
    planned = plan(bank, [f"compat/{policy}@{url}"], [f"compat/env@{url}"], [Condition()], repeats, settings)[:runs]
    planned = sorted(planned, key=lambda p: (p.repeat, p.scenario.id))  # interleave scenarios
    store = RunStore(directory or tempfile.mkdtemp(prefix="toxpro-bench-"))
    retry = RetryPolicy(timeout_s=60, transport=transport)
    server_cpu0 = cpu_seconds(server_pid)
    with PeakRss() as mem:
        cpu0, t0 = time.process_time(), time.perf_counter()
        extra = {} if stagger_s is None else {"stagger_s": stagger_s}
        progress = asyncio.run(execute(planned, store, concurrency=concurrency, policy=retry, **extra))
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    server_cpu = cpu_seconds(server_pid) - server_cpu0
    ids = {p.run_id for p in planned}
    calls = retries = 0
    for record in store.records():
        if record.run_id in ids:
            calls += sum(1 + len(t.env_calls) for t in record.turns)
            retries += record.usage.retries
    store.close()
    return Leg(
        runs=progress.done,
        concurrency=concurrency,
        latency_s=latency_s,
        wall_s=wall,
        client_cpu_s=cpu,
        server_cpu_s=server_cpu,
        calls=calls,
        requests=calls + retries,
        errors=progress.errors,
        rss_start=mem.start,
        rss_peak=mem.peak,
    )


def _cpu_ticks() -> tuple[int, int]:
    """(steal, total) CPU ticks of the whole machine since boot (/proc/stat; (0, 0) where absent)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0, 0
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


_TICKS_AT_IMPORT = _cpu_ticks()


def speed_index_ms() -> float:
    """Milliseconds for a fixed pure-Python workload (best of 5): hosts of the same VM type differ
    by 2x and more between sessions, so figures measured on different days compare only beside it."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        total = 0
        for i in range(300_000):
            total += (i * i) % 7
        best = min(best, time.perf_counter() - start)
    return best * 1000


def machine() -> str:
    load = os.getloadavg()
    steal, total = (now - then for now, then in zip(_cpu_ticks(), _TICKS_AT_IMPORT))
    return (
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, load average {load[0]:.1f} / {load[1]:.1f} "
        f"/ {load[2]:.1f} (1/5/15 min) at the end, CPU steal {100 * steal / max(total, 1):.1f} % during the "
        f"benchmark, speed index {speed_index_ms():.1f} ms (a fixed Python loop; lower is faster)"
    )


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
