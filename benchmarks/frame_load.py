"""Seconds to load a 100,000-run store into the analysis frame (summary columns only, no record decoded).

    .venv/bin/python benchmarks/frame_load.py [--runs 100000] [--seed-runs 400] [--keep DIR]

How the store is made: `--seed-runs` real scripted runs (4 agent policies x all built-in
scenarios' first 10 x repeats, 10-turn cap) are simulated and stored as usual; their rows are then
copied with fresh run ids by SQL (INSERT ... SELECT) until the store holds `--runs` runs, each row
with its real compressed record. The load is then timed three times, each in a fresh process:
RunStore(dir).frame() followed by analysis.frame.with_flags (the frame every report starts from)."""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time

from toxpro.core.columns import COLUMN_NAMES
from toxpro.runner import execute, plan
from toxpro.scenario import Condition, load_builtin
from toxpro.simulate import RunSettings
from toxpro.store import RunStore

LOAD = """
import sys, time
t0 = time.perf_counter()
from toxpro.store import RunStore
from toxpro.analysis.frame import with_flags
t1 = time.perf_counter()
with RunStore(sys.argv[1], create=False) as store:
    df = with_flags(store.frame())
t2 = time.perf_counter()
print(len(df), f"{t1 - t0:.3f}", f"{t2 - t1:.3f}")
"""


def build(directory: str, runs: int, seed_runs: int) -> None:
    settings = RunSettings(max_turns=10)
    agents = ["scripted/strategic", "scripted/always-compliant", "scripted/stall", "scripted/failed-attempt"]
    scenarios = load_builtin()[:10]
    repeats = max(1, seed_runs // (len(agents) * len(scenarios)))
    store = RunStore(directory)
    asyncio.run(execute(plan(scenarios, agents, ["scripted/env"], [Condition()], repeats, settings), store))
    base = store.count()
    others = ", ".join(c for c in COLUMN_NAMES if c != "run_id")
    copies = 0
    store.db.execute("BEGIN")
    while store.count() < runs:
        copies += 1
        store.db.execute(
            f"INSERT INTO runs (run_id, {others}) SELECT run_id || '-c{copies}', {others} FROM runs "
            f"WHERE run_id NOT LIKE '%-c%' LIMIT ?",
            (runs - store.count(),),
        )
    store.db.execute("COMMIT")
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    print(
        f"store: {store.count():,} runs ({base} simulated, the rest copies), "
        f"{os.path.getsize(os.path.join(directory, 'runs.sqlite')) / 2**20:.1f} MiB"
    )
    store.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--seed-runs", type=int, default=400)
    ap.add_argument("--keep", default=None, help="build the store in this directory (reused if it exists)")
    args = ap.parse_args()
    tmp = None if args.keep else tempfile.TemporaryDirectory()
    directory = args.keep or tmp.name
    if not os.path.exists(os.path.join(directory, "runs.sqlite")):
        t0 = time.perf_counter()
        build(directory, args.runs, args.seed_runs)
        print(f"built in {time.perf_counter() - t0:.1f}s")
    for i in range(3):
        load = os.getloadavg()[0]
        out = subprocess.run([sys.executable, "-c", LOAD, directory], capture_output=True, text=True, check=True)
        n, imports, frame = out.stdout.split()
        print(
            f"load {i + 1}: {int(n):,} rows, frame {float(frame):.2f}s (imports {float(imports):.2f}s); "
            f"machine load {load:.2f}"
        )
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
