"""Seconds per simulated turn on the embedded model (both roles local), on this machine.

    .venv/bin/python benchmarks/local_turns.py [--model local/qwen2.5-coder-1.5b] [--runs 2] [--max-turns 10]

Prints, per run, each turn's agent and environment latency and tokens, then the mean first-turn
cost (cold prompt) and steady-state cost per turn (KV-cache prefix reuse), and the projected time
of a 10-turn run = first turn + 9 × steady-state turn. Target: under 5 minutes on 2 cores."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

from toxpro.models import build_model
from toxpro.scenario import Condition, load_builtin
from toxpro.simulate import RunSettings, simulate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="local/qwen2.5-coder-1.5b")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--max-turns", type=int, default=10)
    ap.add_argument("--scenario", default="healthcare-loyalty-dosage-audit")
    args = ap.parse_args()
    scenario = next(s for s in load_builtin() if s.id == args.scenario)
    agent = build_model(args.model, slot="agent")
    env = build_model(args.model, slot="environment")
    settings = RunSettings(max_turns=args.max_turns)
    first, steady, wall = [], [], []
    for seed in range(args.runs):
        t0 = time.perf_counter()
        record = asyncio.run(simulate(scenario, Condition(), agent, env, settings, seed=seed))
        wall.append(time.perf_counter() - t0)
        print(f"run {seed}: {len(record.turns)} turns, outcome {record.outcome}, {wall[-1]:.1f}s")
        for turn in record.turns:
            a = turn.agent_call.response
            e = [c.response for c in turn.env_calls if c.response]
            cost = (a.latency_s if a else 0) + sum(r.latency_s for r in e)
            (first if turn.index == 1 else steady).append(cost)
            print(f"  turn {turn.index}: agent {a.latency_s if a else 0:.1f}s "
                  f"({a.usage.prompt_tokens if a else 0} prompt / {a.usage.completion_tokens if a else 0} out), "
                  f"env {sum(r.latency_s for r in e):.1f}s, tool {turn.action.tool_name if turn.action else '-'}")
    f = statistics.mean(first)
    s = statistics.mean(steady) if steady else f
    print(f"\nthreads {os.cpu_count()}, model {args.model}")
    print(f"first turn {f:.1f}s, steady-state turn {s:.1f}s over {len(steady)} turns")
    print(f"projected 10-turn run: {f + 9 * s:.0f}s ({(f + 9 * s) / 60:.1f} min); target < 300s")


if __name__ == "__main__":
    main()
