"""Stored bytes per run and per turn, format 1 (the record's JSON text) beside format 2 (store/codec.py).

    .venv/bin/python benchmarks/store_size.py [--runs 20] [--turns 10 40] [--scenario ID]

Scripted runs (`scripted/stall` calls a non-terminal tool every turn, so every run reaches the
turn cap) of one built-in scenario, stored in a fresh store per turn count. Format 1 is measured
on the same records (the length of the JSON text it stored); format 2 is the record column as
stored. Targets: bytes per run grow linearly (40 turns <= 4.5 x 10 turns), <= 3 KB per turn."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time

from toxpro.runner import execute, plan
from toxpro.scenario import Condition, load_builtin
from toxpro.simulate import RunSettings
from toxpro.store import RunStore
from toxpro.store.codec import decode_json


def measure(scenario, turns: int, runs: int, protocol: str) -> dict:
    settings = RunSettings(max_turns=turns, protocol=protocol)
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(tmp)
        planned = plan([scenario], ["scripted/stall"], ["scripted/env"], [Condition()], runs, settings)
        asyncio.run(execute(planned, store))
        blobs = [v for (v,) in store.db.execute("SELECT record FROM runs")]
        t0 = time.perf_counter()
        texts = [decode_json(v) for v in blobs]
        decode_ms = (time.perf_counter() - t0) * 1000 / len(blobs)
        n_turns = [len(json.loads(t)["turns"]) for t in texts]
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        store.db.execute("VACUUM")
        file_bytes = os.path.getsize(os.path.join(tmp, "runs.sqlite"))
        store.close()
    v1 = sum(len(t.encode()) for t in texts) / runs
    v2 = sum(len(b) for b in blobs) / runs
    return {
        "turns": turns,
        "protocol": protocol,
        "runs": runs,
        "mean_turns": sum(n_turns) / runs,
        "v1_bytes_per_run": v1,
        "v2_bytes_per_run": v2,
        "v2_bytes_per_turn": v2 / (sum(n_turns) / runs),
        "file_bytes_per_run": file_bytes / runs,
        "decode_ms_per_run": decode_ms,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--turns", type=int, nargs="+", default=[10, 40])
    ap.add_argument("--scenario", default="healthcare-loyalty-dosage-audit")
    args = ap.parse_args()
    scenario = next(s for s in load_builtin() if s.id == args.scenario)
    print(f"load: {os.getloadavg()[0]:.2f} (1 min), scenario {scenario.id}, {args.runs} runs per row")
    print(
        "| protocol | turns | format 1 KB/run | format 2 KB/run | format 2 KB/turn | SQLite file KB/run "
        "| decode ms/run |"
    )
    print("|---|---|---|---|---|---|---|")
    rows = []
    for protocol in ("json", "tools"):
        for turns in args.turns:
            r = measure(scenario, turns, args.runs, protocol)
            rows.append(r)
            print(
                f"| {protocol} | {turns} | {r['v1_bytes_per_run'] / 1024:.1f} | {r['v2_bytes_per_run'] / 1024:.2f} | "
                f"{r['v2_bytes_per_turn'] / 1024:.3f} | {r['file_bytes_per_run'] / 1024:.2f} | "
                f"{r['decode_ms_per_run']:.2f} |"
            )
    for protocol in ("json", "tools"):
        sub = [r for r in rows if r["protocol"] == protocol]
        if len(sub) >= 2:
            lo, hi = sub[0], sub[-1]
            print(
                f"{protocol}: {hi['turns']} turns / {lo['turns']} turns = "
                f"{hi['v2_bytes_per_run'] / lo['v2_bytes_per_run']:.2f}x (format 2), "
                f"{hi['v1_bytes_per_run'] / lo['v1_bytes_per_run']:.2f}x (format 1)"
            )


if __name__ == "__main__":
    main()
