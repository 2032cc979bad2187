"""Seconds per simulated turn on the embedded model (both roles local), on this machine.

    .venv/bin/python benchmarks/local_turns.py [--model local/qwen2.5-coder-1.5b] [--runs 2] [--max-turns 10]

Runs `--runs` runs of one scenario in one process, as a sweep's repeats are run. Prints the model
load time (agent and environment share one model), then per run each call's latency split into
prompt evaluation (with the prompt tokens evaluated vs taken from a saved KV state), generation and
the rest (chat template, grammar, state save/restore), then per run the wall time and the first
turn's cost. The first run's first turn is cold (no saved state); the later runs' first turns reuse
each role's stable prompt prefix (issue 13 targets: a 10-turn run <= 180 s, the first turn of a
repeated run <= 20 s, on 2 cores)."""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from _bench import machine

from toxpro.models import build_model, local
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
    print(f"load at start: {os.getloadavg()}, threads {local._threads()}, model {args.model}", flush=True)
    for seed in range(args.runs):
        t0 = time.perf_counter()
        record = asyncio.run(simulate(scenario, Condition(), agent, env, settings, seed=seed))
        wall = time.perf_counter() - t0
        if seed == 0:
            print(
                f"model load (once, both roles): {sum(local.LOAD_SECONDS.values()):.1f}s, "
                f"{len(local._CONTEXTS)} context(s)"
            )
        print(
            f"run {seed}: {len(record.turns)} turns, outcome {record.outcome}, {wall:.1f}s, "
            f"load {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        for turn in record.turns:
            for call in [turn.agent_call, *turn.env_calls]:
                r = call.response
                if r is None:
                    print(f"  turn {turn.index} {call.who}: error {call.error}")
                    continue
                t = (r.raw or {}).get("timings", {})
                print(
                    f"  turn {turn.index} {call.who:<11} {r.latency_s:6.1f}s  prompt {r.usage.prompt_tokens} "
                    f"(evaluated {t.get('prompt_evaluated')}, reused {r.usage.cached_tokens}) "
                    f"{t.get('prompt_eval_s')}s  out {r.usage.completion_tokens} {t.get('generate_s')}s  "
                    f"other {t.get('other_s')}s",
                    flush=True,
                )
        first = record.turns[0] if record.turns else None
        if first:
            cost = sum(c.response.latency_s for c in [first.agent_call, *first.env_calls] if c.response)
            print(f"run {seed}: first turn {cost:.1f}s; wall {wall:.1f}s for {len(record.turns)} turns", flush=True)
    print(f"machine: {machine()}")


if __name__ == "__main__":
    main()
