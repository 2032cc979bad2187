"""docs/ARCHITECTURE.md's "may import" table is true: every import of toxpro code between packages
is one the table allows (read from the modules' syntax trees, lazy imports inside functions included)."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "toxpro"


def allowed_table() -> dict[str, str]:
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    section = text.split("## Packages (src/toxpro/)", 1)[1].split("\n## ", 1)[0]
    table = {}
    for line in section.splitlines():
        m = re.match(r"\| `([a-z_]+)(/|\.py)` \|.*\| ([^|]+) \|$", line)
        if m:
            table[m.group(1)] = m.group(3).strip()
    return table


def permits(cell: str, target: str) -> bool:
    """'nothing', 'all', 'all but `x`', or backticked packages/modules: `core`, `simulate.records`."""
    names = re.findall(r"`([a-z_.]+)`", cell)
    if cell.startswith("all but"):
        return not any(target == n or target.startswith(n + ".") for n in names)
    if cell.startswith("all"):
        return True
    return any(target == n or target.startswith(n + ".") for n in names)


def imports_of(path: Path) -> list[str]:
    """toxpro modules this file imports, as dotted names under toxpro (e.g. 'simulate.records')."""
    package = ["toxpro", *path.relative_to(SRC).parts[:-1]]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                found = (
                    [".".join(base + node.module.split("."))]
                    if node.module
                    else [".".join([*base, a.name]) for a in node.names]
                )
            else:
                found = [node.module or ""]
        elif isinstance(node, ast.Import):
            found = [a.name for a in node.names]
        else:
            continue
        out += [m.split(".", 1)[1] for m in found if m.startswith("toxpro.")]
    return out


def unit_of(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def test_every_package_is_in_the_table():
    table = allowed_table()
    units = {unit_of(p) for p in SRC.rglob("*.py")} - {"__init__"}
    assert units <= set(table), f"packages missing from docs/ARCHITECTURE.md: {sorted(units - set(table))}"
    assert set(table) <= units, f"table rows with no package: {sorted(set(table) - units)}"


def test_imports_follow_the_table():
    table = allowed_table()
    broken = []
    for path in sorted(SRC.rglob("*.py")):
        unit = unit_of(path)
        if unit == "__init__":  # toxpro/__init__.py re-exports the API
            continue
        for target in imports_of(path):
            top = target.split(".")[0]
            if top in (unit, "__version__"):
                continue
            if not permits(table[unit], target):
                broken.append(f"{path.relative_to(SRC)} imports toxpro.{target}")
    assert not broken, "imports the table in docs/ARCHITECTURE.md does not allow:\n" + "\n".join(broken)


def test_the_checker_catches_a_forbidden_import():
    assert not permits("`core`, `simulate.records`", "simulate.engine")
    assert permits("`core`, `simulate.records`", "simulate.records")
    assert not permits("nothing", "core.labels")
    assert not permits("all but `cli`", "cli.run") and permits("all but `cli`", "runner.sweep")
