"""The shared vocabulary lives in toxpro.core only: label names are not re-spelled elsewhere, every
stage reads the one run-table spec, and every exception derives from ToxproError."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import sqlite3
import typing
from pathlib import Path

import toxpro
from toxpro.core import (
    BASELINE,
    COLUMN_NAMES,
    CONDITION_VARIABLES,
    LABEL_STYLES,
    LABELS,
    ROLES,
    RUN_COLUMNS,
    TRACK_OF,
    TRACKS,
    VARIABLES,
    ToxproError,
)

SRC = Path(toxpro.__file__).parent
# Files that may name several labels together, and why.
ALLOWED = {
    "models/scripted.py": "scripted agent policies are named after the labels they produce",
    "testing/scripted.py": "the same policies, once moved to toxpro.testing",
    "analysis/scatter.py": "the paper's radar: its axes are the strategic and direct rates by motivation",
}


def _sources() -> list[tuple[str, ast.Module]]:
    return [
        (p.relative_to(SRC).as_posix(), ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(SRC.rglob("*.py"))
    ]


def _label_names(node: ast.AST) -> list[str]:
    items: list[ast.expr | None] = []
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        items = list(node.elts)
    elif isinstance(node, ast.Dict):
        items = [*node.keys, *node.values]
    # "error" is also a call status and a run outcome, so it alone never counts
    return sorted({i.value for i in items if isinstance(i, ast.Constant) and i.value in LABELS} - {"error"})


def test_core_imports_nothing_of_toxpro() -> None:
    for path, tree in _sources():
        if not path.startswith("core/"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.level <= 1 and not (node.module or "").startswith("toxpro"), f"{path} imports {node.module}"
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("toxpro") for a in node.names), path


def test_label_names_are_listed_only_in_core() -> None:
    """A tuple, list, set or dict naming two or more labels outside core/ is a second copy of the vocabulary."""
    found = []
    for path, tree in _sources():
        if path.startswith("core/") or path in ALLOWED:
            continue
        for node in ast.walk(tree):
            names = _label_names(node)
            if len(names) >= 2:
                found.append(f"{path}:{node.lineno}: {names}")
    assert not found, "label names spelled outside toxpro/core (import them from toxpro.core.labels):\n" + "\n".join(
        found
    )


def test_report_styles_come_from_core() -> None:
    css = (SRC / "report" / "templates" / "report.css").read_text(encoding="utf-8")
    assert not any(f".label-{lab}" in css for lab in LABELS)
    assert set(LABEL_STYLES) == set(LABELS)


def test_scenario_enums_and_condition_match_core() -> None:
    from toxpro.scenario.conditions import LEVEL_TEXTS, SCENARIO_TEXTS, Condition
    from toxpro.scenario.schema import Role, Track

    assert tuple(r.value for r in Role) == ROLES
    assert tuple(t.value for t in Track) == TRACKS
    assert all(Role(r).track.value == t for r, t in TRACK_OF.items())
    assert tuple(Condition.model_fields) == CONDITION_VARIABLES
    for name, field in Condition.model_fields.items():
        assert typing.get_args(field.annotation) == VARIABLES[name]
    assert Condition().model_dump() == BASELINE
    for name in CONDITION_VARIABLES:  # a variable without per-scenario texts needs a text for every level
        if name not in SCENARIO_TEXTS:
            assert set(LEVEL_TEXTS[name]) == set(VARIABLES[name]), name


def test_store_table_is_the_spec(tmp_path: Path) -> None:
    from toxpro.store.sqlite import DB_NAME, RunStore

    RunStore(tmp_path).close()
    db = sqlite3.connect(tmp_path / DB_NAME)
    have = [(row[1], row[2]) for row in db.execute("PRAGMA table_info(runs)")]
    db.close()
    assert have == [(c.name, c.sql.split()[0]) for c in RUN_COLUMNS]
    assert COLUMN_NAMES[-1] == "record"


def _modules() -> list[object]:
    out = []
    for info in pkgutil.walk_packages([str(SRC)], prefix="toxpro."):
        if info.name.endswith(".__main__"):  # `python -m` entry points run on import
            continue
        try:
            out.append(importlib.import_module(info.name))
        except ImportError:  # optional extras (inspect-ai, ray) not installed
            continue
    return out


def test_every_exception_derives_from_toxpro_error() -> None:
    bad = sorted(
        f"{m.__name__}.{name}"
        for m in _modules()
        for name, cls in inspect.getmembers(m, inspect.isclass)
        if issubclass(cls, BaseException) and cls.__module__ == m.__name__ and not issubclass(cls, ToxproError)
    )
    assert not bad, f"exceptions not derived from toxpro.core.errors.ToxproError: {bad}"


def test_other_bases_kept() -> None:
    """Deriving from ToxproError keeps each class's other bases, so existing `except` clauses still catch it."""
    from toxpro.core.errors import UserError
    from toxpro.models.prices import PriceError
    from toxpro.store.sqlite import StoreError

    assert issubclass(PriceError, ValueError) and issubclass(StoreError, RuntimeError)
    assert issubclass(StoreError, UserError) and issubclass(UserError, ToxproError)
