"""Importing many reference-format files, as `toxpro scenarios import` does, and writing toxpro YAML."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from .importer import ImportFailed, import_reference
from .loader import ScenarioError
from .schema import Scenario


@dataclass
class FileImport:
    source: Path
    notes: list[str]
    problems: list[str]
    target: Path | None = None
    scenario: Scenario | None = None


def reference_files(paths: list[Path]) -> list[Path]:
    """Files as given; a directory stands for every *.yaml / *.yml in it (sorted)."""
    out: list[Path] = []
    for p in paths:
        out.extend(sorted(list(p.glob("*.yaml")) + list(p.glob("*.yml"))) if p.is_dir() else [p])
    return out


class _BlockDumper(yaml.SafeDumper):
    pass


def _str_block(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value and all(not line.endswith(" ") for line in value.splitlines()) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str_block)


def scenario_yaml(scenario: Scenario) -> str:
    return yaml.dump(
        scenario.model_dump(mode="json"), Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=110
    )


def import_files(
    paths: list[Path], out_dir: Path, *, overwrite: bool = False, **overrides: str | None
) -> list[FileImport]:
    """Import each file into OUT_DIR/<id>.yaml; one result per file, failures included."""
    results: list[FileImport] = []
    for src in reference_files(paths):
        try:
            scenario, notes = import_reference(src, **overrides)
        except ImportFailed as exc:
            results.append(FileImport(src, exc.notes, exc.problems))
            continue
        except ScenarioError as exc:
            results.append(FileImport(src, [], exc.problems))
            continue
        target = out_dir / f"{scenario.id}.yaml"
        if target.exists() and not overwrite:
            results.append(FileImport(src, notes, [f"{target}: already exists; not overwritten (use --force)"]))
            continue
        out_dir.mkdir(parents=True, exist_ok=True)
        target.write_text(scenario_yaml(scenario), encoding="utf-8")
        results.append(FileImport(src, notes, [], target, scenario))
    return results
