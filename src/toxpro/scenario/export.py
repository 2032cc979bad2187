"""Scenario banks as JSON Lines: one scenario a line with its content hash."""

from __future__ import annotations

import json
from pathlib import Path

from .loader import ScenarioError, parse_scenario
from .schema import Scenario, content_hash


def export_jsonl(scenarios: list[Scenario], path: str | Path) -> Path:
    """Write model_dump(mode="json") plus `content_hash` per line; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for s in scenarios:
            record = s.model_dump(mode="json")
            record["content_hash"] = content_hash(s)
            fh.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
    return path


def read_jsonl(path: str | Path, *, verify: bool = True) -> list[Scenario]:
    """Read scenarios written by export_jsonl; with verify, a stored content_hash must match."""
    path = Path(path)
    out: list[Scenario] = []
    problems: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            source = f"{path}:line {lineno}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{source}:(json): {exc.msg}")
                continue
            if not isinstance(record, dict):
                problems.append(f"{source}:(root): expected an object")
                continue
            stored = record.pop("content_hash", None)
            try:
                scenario = parse_scenario(record, source)
            except ScenarioError as exc:
                problems.extend(exc.problems)
                continue
            if verify and stored is not None and stored != scenario.content_hash:
                problems.append(
                    f"{source}:content_hash: stored {stored[:12]} does not match content {scenario.content_hash[:12]}"
                )
                continue
            out.append(scenario)
    if problems:
        raise ScenarioError(problems)
    return out
