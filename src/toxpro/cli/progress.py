"""How `toxpro run` shows a sweep in progress: the bar's info, periodic lines for logs, one line per turn."""

from __future__ import annotations

import time

from rich.console import Console

from ..runner.sweep import Progress
from ..store.secrets import redact


def why_failed(p: Progress) -> str:
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(p.error_kinds.items(), key=lambda kv: -kv[1]))
    return f"errors by kind: {kinds}; last: {p.last_error}" if kinds else "see the stored errors"


def progress_info(p: Progress) -> str:
    info = f"errors {p.errors} · retries {p.retries} · tokens {p.tokens:,}"
    if p.calls_in_flight:
        info += f" · calls in flight {p.calls_in_flight}, oldest {p.oldest_call_s:.0f}s"
    if p.last_error:
        info += f" · last error {p.last_error[:80]}"
    return redact(info)


LIVE_RUNS = 4  # sweeps this small print each turn as it completes


class ProgressLines:
    """Progress for output that is not a terminal (logs, CI): a line at every tenth of the plan, at most one
    every EVERY_S seconds, and at the end."""

    EVERY_S = 30.0

    def __init__(self, console: Console, total: int):
        self.console, self.total = console, total
        self.step = max(1, total // 10)
        self.last_count, self.last_time = -1, time.monotonic()

    def update(self, p: Progress) -> None:
        count = p.skipped + p.done
        now = time.monotonic()
        if (
            count == self.total
            or count // self.step > self.last_count // self.step
            or now - self.last_time >= self.EVERY_S
        ):
            self.last_count, self.last_time = count, now
            self.console.print(
                f"runs {count}/{self.total} · errors {p.errors} · retries {p.retries} · "
                f"tokens {p.tokens:,} · {p.elapsed_s:.0f}s",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )


def turn_line(turn) -> str:
    a = turn.action
    if a is None and turn.agent_call.error is not None:  # the call failed: name the API error, not "no reply"
        e = turn.agent_call.error
        return redact(f"turn {turn.index}: API error {e.kind}{f' (HTTP {e.status})' if e.status else ''}: {e.message}")
    what = (
        f"{a.tool_name} ({a.tool_role}, {a.tool_track})"
        if a and a.ok
        else f"protocol error: {a.problem if a else 'no reply'}"
    )
    status = f" → {turn.env.status}" if turn.env else ""
    monitor = getattr(turn, "monitor", None)
    checked = f" [monitor: {monitor.verdict}]" if monitor is not None and monitor.verdict != "allow" else ""
    return f"turn {turn.index}: {what}{checked}{status}"
