"""Logs of the native task (or of `toxpro export -f inspect`) → a toxpro run store, so report, judges and
statistics work on runs made through Inspect. Each sample carries its full RunRecord in the sample store;
that record is what is stored, byte for byte, under the run id `toxpro run` would have given it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from inspect_ai.log import list_eval_logs, read_eval_log_samples

from ..core.errors import ToxproError
from ..simulate.records import RunRecord
from ..store.sqlite import RunStore
from . import RECORD_KEY
from .task import failed_record


class LogImportError(ToxproError, RuntimeError):
    pass


@dataclass
class ImportResult:
    logs: int = 0
    stored: int = 0
    duplicates: int = 0  # already in the store (same run id)
    without_record: list[str] = field(default_factory=list)  # "log: sample id epoch N" with no toxpro run


def _log_files(paths: list[str | Path]) -> list[str]:
    files: list[str] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += [info.name for info in list_eval_logs(str(path), recursive=True)]
        elif path.is_file():
            files.append(str(path))
        else:
            raise LogImportError(f"{path}: no such log file or directory")
    return files


def _replaces_error(store: RunStore, record: RunRecord) -> bool:
    """A finished run replaces a stored error of the same run id (a retried sample, as --retry-errors does)."""
    old = store.get(record.run_id)
    if old is not None and old.outcome == "error" and record.outcome != "error":
        return store.put(record, replace=True)
    return False


def import_logs(paths: list[str | Path], experiment_dir: str | Path, replace: bool = False) -> ImportResult:
    """Store every toxpro run found in the given .eval/.json logs (files or directories)."""
    result = ImportResult()
    files = _log_files(paths)
    if not files:
        raise LogImportError(f"{', '.join(map(str, paths))}: no Inspect logs found")
    with RunStore(experiment_dir) as store:
        for file in files:
            try:
                samples = read_eval_log_samples(file, all_samples_required=False)
                result.logs += 1
                for sample in samples:
                    data = (sample.store or {}).get(RECORD_KEY)
                    if data is None:
                        result.without_record.append(f"{file}: {sample.id} epoch {sample.epoch}")
                        continue
                    record = RunRecord.model_validate(data)
                    if sample.error is not None and record.outcome != "error":  # e.g. cancelled by Inspect
                        record = failed_record(record, f"Inspect sample error: {sample.error.message}")
                    if store.put(record, replace=replace) or _replaces_error(store, record):
                        result.stored += 1
                    else:
                        result.duplicates += 1
            except LogImportError:
                raise
            except Exception as exc:  # an unreadable or foreign log names itself
                raise LogImportError(
                    f"{file}: not a readable Inspect log of the toxpro task: {type(exc).__name__}: {exc}"
                ) from None
    return result
