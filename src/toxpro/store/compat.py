"""Runs with different settings are never pooled: a store keeps the settings of its runs and
refuses writes (sweeps, merges) that would mix in runs made another way."""

from __future__ import annotations

import json
from typing import Any

from .sqlite import RunStore, StoreError

SETTINGS_META = "settings"
# How a call is made (timeouts, retries) does not change what a run is: left out of the comparison.
CALL_KEYS = ("call_timeout_s", "call_attempts")


def fingerprint(settings: Any) -> dict[str, Any]:
    """The pooled-relevant part of RunSettings (a model or its JSON dict), as JSON values."""
    data = settings if isinstance(settings, dict) else settings.model_dump(mode="json")
    return json.loads(json.dumps({k: v for k, v in data.items() if k not in CALL_KEYS}, sort_keys=True))


def _flat(d: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def differences(a: dict, b: dict) -> list[str]:
    fa, fb = _flat(a), _flat(b)
    return [f"{k}={fa.get(k)!r} vs {fb.get(k)!r}" for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)]


def stored_fingerprint(store: RunStore) -> dict[str, Any] | None:
    """The store's settings; for a store written before they were kept, read from its runs once
    (a store that already mixes settings is reported, never silently taken as one)."""
    known = store.get_meta(SETTINGS_META)
    if known is not None or store.count() == 0:
        return known
    seen: dict[str, dict] = {}
    for record in store.records():
        fp = fingerprint(record.settings)
        seen.setdefault(json.dumps(fp, sort_keys=True), fp)
    found = list(seen.values())
    if len(found) > 1:
        raise StoreError(
            f"{store.path}: already holds runs made with different settings "
            f"({'; '.join(differences(found[0], found[1]))}); they would be pooled by show and report. "
            "Split them into separate experiment directories (toxpro export, then re-run)"
        )
    if not store.read_only:
        store.set_meta(SETTINGS_META, found[0])
    return found[0]


def require_compatible(store: RunStore, settings: Any, what: str) -> None:
    """Refuse to add runs whose settings differ from the store's (naming each difference); record them
    as the store's when it is new."""
    want = fingerprint(settings)
    have = stored_fingerprint(store)
    if have is None:
        store.set_meta(SETTINGS_META, want)
        return
    if have != want:
        raise StoreError(
            f"{store.directory}: holds runs made with other settings than {what} "
            f"({'; '.join(differences(have, want))}); runs made differently are never pooled in one "
            "experiment. Use another --out directory, or the store's settings"
        )


def check_mergeable(out_dir, sources) -> dict[str, Any] | None:
    """Refuse a merge of stores with different schema versions or run settings (naming both stores);
    returns the common settings (None when no store has runs)."""
    from pathlib import Path

    from .sqlite import DB_NAME

    found: list[tuple[str, Any, dict | None]] = []
    for directory in [Path(out_dir), *map(Path, sources)]:
        if directory == Path(out_dir) and not (directory / DB_NAME).is_file():
            continue
        with RunStore(directory, create=False, read_only=True) as store:
            found.append((str(directory), store.get_meta("schema_version"), stored_fingerprint(store)))
    first = found[0]
    for name, version, _fp in found[1:]:
        if version != first[1]:
            raise StoreError(
                f"{name}: run store schema version {version}, but {first[0]} has version {first[1]}; "
                "merge refuses stores of different versions (nothing was copied)"
            )
    with_runs = [(name, fp) for name, _, fp in found if fp is not None]
    for name, fp in with_runs[1:]:
        if fp != with_runs[0][1]:
            raise StoreError(
                f"{name}: its runs were made with other settings than those in {with_runs[0][0]} "
                f"({'; '.join(differences(with_runs[0][1], fp))}); merge refuses to pool them "
                "(nothing was copied)"
            )
    return with_runs[0][1] if with_runs else None
