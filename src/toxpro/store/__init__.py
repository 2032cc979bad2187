"""The SQLite run store, run ids and exports."""

from .ids import run_id, run_seed
from .secrets import redact
from .sqlite import DB_NAME, RunStore, StoreError

__all__ = ["DB_NAME", "RunStore", "StoreError", "redact", "run_id", "run_seed"]
