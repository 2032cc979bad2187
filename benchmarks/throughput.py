"""Throughput of toxpro against the scripted OpenAI-compatible server at a fixed latency.

The server runs in a separate process (python -m toxpro.testing.server), so the CPU time
measured here is the client's alone: engine, HTTP client, retries, labelling and the SQLite store.

    .venv/bin/python benchmarks/throughput.py --runs 640 --concurrency 64 --latency 0.2

Targets (issue 7): ≥ 90 % of ideal runs/s at concurrency 64 with 200 ms latency; ≤ 2 ms of client
CPU per model call.
"""

from __future__ import annotations

import argparse
import json

from _bench import machine, peak_rss_mib, run_leg, scripted_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--transport",
        choices=["auto", "sdk", "direct"],
        default="auto",
        help="auto (default): direct for the local scripted server; sdk: the openai SDK; direct: models/direct_http.py",
    )
    parser.add_argument("--runs", type=int, default=640)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds the server waits before each reply")
    parser.add_argument("--scenarios", type=int, default=16, help="how many built-in scenarios to cycle through")
    parser.add_argument(
        "--policy",
        default="always-compliant",
        help="scripted agent policy (always-compliant: 3 agent + 3 environment calls per run)",
    )
    parser.add_argument("--max-turns", type=int, default=6)
    parser.add_argument(
        "--stagger",
        type=float,
        default=None,
        help="seconds between worker starts (default: toxpro's, runner.sweep.STAGGER_S)",
    )
    parser.add_argument("--json", action="store_true", help="also print the numbers as one JSON line")
    args = parser.parse_args()

    with scripted_server(args.latency, args.policy) as (url, pid):
        leg = run_leg(
            url,
            pid,
            runs=args.runs,
            scenarios=args.scenarios,
            concurrency=args.concurrency,
            latency_s=args.latency,
            policy=args.policy,
            max_turns=args.max_turns,
            stagger_s=args.stagger,
            transport=args.transport,
        )
    ratio = leg.runs_per_s / leg.ideal_runs_per_s
    print(
        f"runs {leg.runs} ({leg.errors} errors), concurrency {leg.concurrency}, latency {1000 * leg.latency_s:.0f} ms, "
        f"{leg.calls} model calls ({leg.calls_per_run:.2f} per run, {leg.requests} HTTP requests)"
    )
    print(f"wall {leg.wall_s:.2f} s → {leg.runs_per_s:.1f} runs/s, {leg.calls / leg.wall_s:.0f} calls/s")
    print(
        f"ideal = concurrency / (calls per run × latency) = {leg.concurrency} / ({leg.calls_per_run:.2f} × "
        f"{leg.latency_s:g} s) = {leg.ideal_runs_per_s:.1f} runs/s  → achieved {100 * ratio:.1f} % of ideal"
    )
    print(
        f"  (ideal makespan for {leg.runs} equal-length runs: ceil({leg.runs}/{leg.concurrency}) waves × "
        f"{leg.calls_per_run:.2f} calls × {leg.latency_s:g} s = {leg.ideal_makespan_s:.2f} s; achieved "
        f"{100 * leg.ideal_makespan_s / leg.wall_s:.1f} % of it)"
    )
    print(
        f"client CPU {leg.client_cpu_s:.2f} s → {leg.cpu_ms_per_call:.2f} ms per model call "
        f"(server process: {1000 * leg.server_cpu_s / leg.requests:.2f} ms per request, not counted)"
    )
    print(
        f"memory: RSS {leg.rss_start / 2**20:.0f} MiB before, peak {leg.rss_peak / 2**20:.0f} MiB during "
        f"(process peak {peak_rss_mib():.0f} MiB) → {leg.mem_per_run_kib:.0f} KiB per in-flight run"
    )
    print(
        f"targets: ≥ 90 % of ideal: {'met' if ratio >= 0.9 else 'MISSED'}; ≤ 2 ms CPU per call: "
        f"{'met' if leg.cpu_ms_per_call <= 2 else 'MISSED'}"
    )
    print(f"machine: {machine()}")
    if args.json:
        print(
            json.dumps(
                {
                    "runs": leg.runs,
                    "concurrency": leg.concurrency,
                    "latency_s": leg.latency_s,
                    "wall_s": round(leg.wall_s, 3),
                    "runs_per_s": round(leg.runs_per_s, 2),
                    "ideal_runs_per_s": round(leg.ideal_runs_per_s, 2),
                    "ratio": round(ratio, 4),
                    "cpu_ms_per_call": round(leg.cpu_ms_per_call, 3),
                    "mem_kib_per_run": round(leg.mem_per_run_kib, 1),
                }
            )
        )


if __name__ == "__main__":
    main()
