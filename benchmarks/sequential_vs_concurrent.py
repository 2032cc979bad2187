"""toxpro's concurrent sweep versus a strictly sequential loop doing the same calls.

The sequential leg is the reference implementation's design: one run after another, one call at a
time; here it is toxpro's own engine at concurrency 1, so both legs do exactly the same work per
call. The sweep is 16 scenarios × 25 runs = 400 runs (always-compliant: 3 agent + 3 environment
calls each) against the scripted server in a separate process, with a fixed latency per reply.

At 200 ms the sequential leg would take 400 × 6 × 0.2 s ≈ 8 minutes, so by default it runs a
subset (--sequential-runs, spread over all 16 scenarios) and its time is extrapolated linearly per
model call to the full sweep; --sequential-runs 400 runs it whole.

    .venv/bin/python benchmarks/sequential_vs_concurrent.py --latency 0.2 --sequential-runs 32

Targets (issue 7): ≥ 50× faster at concurrency 64; ≥ 90 % of ideal throughput.
"""

from __future__ import annotations

import argparse

from _bench import machine, run_leg, scripted_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--transport",
        choices=["auto", "sdk", "direct"],
        default="auto",
        help="auto (default): direct for the local scripted server; sdk: the openai SDK; direct: models/direct_http.py",
    )
    parser.add_argument("--scenarios", type=int, default=16)
    parser.add_argument("--runs-per-scenario", type=int, default=25)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--sequential-runs", type=int, default=32, help="runs in the sequential leg (subset)")
    parser.add_argument("--policy", default="always-compliant")
    args = parser.parse_args()
    total = args.scenarios * args.runs_per_scenario

    with scripted_server(args.latency, args.policy) as (url, pid):
        conc = run_leg(
            url,
            pid,
            runs=total,
            scenarios=args.scenarios,
            concurrency=args.concurrency,
            latency_s=args.latency,
            policy=args.policy,
            transport=args.transport,
        )
        seq = run_leg(
            url,
            pid,
            runs=min(args.sequential_runs, total),
            scenarios=args.scenarios,
            concurrency=1,
            latency_s=args.latency,
            policy=args.policy,
            transport=args.transport,
        )
    per_call = seq.wall_s / seq.calls
    seq_full = per_call * conc.calls
    measured = "measured" if seq.runs == total else f"extrapolated from {seq.runs} runs ({seq.calls} calls)"
    speedup = seq_full / conc.wall_s
    ratio = conc.runs_per_s / conc.ideal_runs_per_s
    print(
        f"sweep: {args.scenarios} scenarios × {args.runs_per_scenario} runs = {total} runs, {conc.calls} calls "
        f"({conc.calls_per_run:.2f} per run), latency {1000 * args.latency:.0f} ms per reply"
    )
    print(f"{'leg':<28}{'wall s':>10}{'runs/s':>10}{'CPU ms/call':>13}{'KiB/run in flight':>19}")
    print(
        f"{'sequential (concurrency 1)':<28}{seq_full:>10.1f}{total / seq_full:>10.2f}{seq.cpu_ms_per_call:>13.2f}"
        f"{seq.mem_per_run_kib:>19.0f}   ({measured}: {seq.wall_s:.1f} s, "
        f"{1000 * per_call:.1f} ms per call)"
    )
    print(
        f"{f'toxpro (concurrency {args.concurrency})':<28}{conc.wall_s:>10.1f}{conc.runs_per_s:>10.2f}"
        f"{conc.cpu_ms_per_call:>13.2f}{conc.mem_per_run_kib:>19.0f}"
    )
    print(
        f"speedup {speedup:.1f}× (target ≥ 50×: {'met' if speedup >= 50 else 'MISSED'}); the bound for "
        f"{total} equal-length runs on {args.concurrency} workers is {seq_full / conc.ideal_makespan_s:.1f}× "
        f"(ceil({total}/{args.concurrency}) = {-(-total // args.concurrency)} waves)"
    )
    print(
        f"throughput {conc.runs_per_s:.1f} runs/s vs ideal concurrency / (calls per run × latency) = "
        f"{conc.ideal_runs_per_s:.1f} → {100 * ratio:.1f} % (target ≥ 90 %: {'met' if ratio >= 0.9 else 'MISSED'}); "
        f"vs the {conc.ideal_makespan_s:.1f} s makespan bound for {total} runs: "
        f"{100 * conc.ideal_makespan_s / conc.wall_s:.1f} %"
    )
    print(
        f"memory: peak RSS {conc.rss_peak / 2**20:.0f} MiB over {conc.rss_start / 2**20:.0f} MiB at the start → "
        f"{conc.mem_per_run_kib:.0f} KiB per in-flight run"
    )
    print(f"machine: {machine()}")


if __name__ == "__main__":
    main()
