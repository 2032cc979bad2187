"""One experiment directory, one writer: an flock on EXPERIMENT_DIR/toxpro.lock for the process lifetime.

The kernel releases an flock when its process dies (kill -9 included), so a lock left by a killed
run never blocks the next one; the file itself stays and only says who held it last."""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ..core.errors import UserError

LOCK_NAME = "toxpro.lock"


class ExperimentLocked(UserError):
    pass


@contextmanager
def experiment_lock(directory: str | Path, what: str = "toxpro run") -> Iterator[Path]:
    """Hold the experiment's write lock, or raise ExperimentLocked naming the holder."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle = open(directory / LOCK_NAME, "a+", encoding="utf-8")
    except OSError as exc:
        raise ExperimentLocked(f"{directory}: cannot create the lock file {LOCK_NAME}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise ExperimentLocked(
                f"{directory}: another toxpro process is writing to this experiment ({holder}); "
                "wait for it to finish (re-running then resumes), or use another --out directory"
            ) from None
        handle.seek(0)
        handle.truncate()
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        handle.write(f"{what}, pid {os.getpid()} on {socket.gethostname()}, since {stamp}\n")
        handle.flush()
        yield directory / LOCK_NAME
    finally:
        handle.close()  # releases the flock; the file stays (removing it would race the next writer)
