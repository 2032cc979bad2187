"""Table writers: CSV (full precision), Markdown and LaTeX (rounded display), and the cell formatting they share."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from .tables import Table

DIGITS = 3


def fmt(value: object, digits: int = DIGITS) -> str:
    """One cell as text: floats rounded, NaN/None as an en dash, booleans as yes/no."""
    if value is None or value is pd.NA:
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return "–"
        if math.isinf(v):
            return "∞" if v > 0 else "−∞"
        if v.is_integer() and abs(v) < 1e9 and digits == 0:
            return str(int(v))
        if v != 0 and abs(v) < 10 ** -digits:
            return f"{v:.{digits - 1}e}"
        return f"{v:.{digits}f}"
    text = str(value)
    return text


def cells(frame: pd.DataFrame) -> list[list[str]]:
    """Formatted rows; integer-valued count columns stay integers."""
    out = []
    int_cols = {c for c in frame.columns if pd.api.types.is_integer_dtype(frame[c].dtype)}
    for row in frame.itertuples(index=False):
        out.append([fmt(v) if c not in int_cols else fmt(v, 0) for c, v in zip(frame.columns, row)])
    return out


def _md_escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\n", " "))


def to_markdown(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (no tabulate needed); cell text is escaped."""
    head = [_md_escape(str(c)) for c in frame.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for row in cells(frame):
        lines.append("| " + " | ".join(_md_escape(c) for c in row) + " |")
    return "\n".join(lines) + "\n"


_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
          "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}",
          ">": r"\textgreater{}", "–": "--", "−": "-", "∞": r"$\infty$", "×": r"$\times$"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX.get(ch, ch) for ch in text.replace("\n", " "))


def to_latex(frame: pd.DataFrame, caption: str = "", label: str = "") -> str:
    """A booktabs table environment; needs \\usepackage{booktabs} (and longtable-free: split long ones yourself)."""
    numeric = [pd.api.types.is_numeric_dtype(frame[c].dtype) and not pd.api.types.is_bool_dtype(frame[c].dtype)
               for c in frame.columns]
    spec = "".join("r" if n else "l" for n in numeric)
    lines = [r"\begin{table}[ht]", r"\centering", r"\small"]
    if caption:
        lines.append(r"\caption{" + latex_escape(caption) + "}")
    if label:
        lines.append(r"\label{tab:" + "".join(ch for ch in label if ch.isalnum() or ch in "_-:") + "}")
    lines += [r"\begin{tabular}{" + spec + "}", r"\toprule",
              " & ".join(latex_escape(str(c)) for c in frame.columns) + r" \\", r"\midrule"]
    for row in cells(frame):
        lines.append(" & ".join(latex_escape(c) for c in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def write_table(table: Table, directory: Path) -> dict[str, Path]:
    """tables/NAME.csv (all columns, full precision), NAME.md and NAME.tex (shown columns, rounded)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"csv": directory / f"{table.name}.csv", "md": directory / f"{table.name}.md",
             "tex": directory / f"{table.name}.tex"}
    table.frame.to_csv(paths["csv"], index=False)
    paths["md"].write_text(f"**{_md_escape(table.title)}.** {_md_escape(table.caption)}\n\n"
                           + to_markdown(table.display), encoding="utf-8")
    paths["tex"].write_text(to_latex(table.display, f"{table.title}. {table.caption}", table.name), encoding="utf-8")
    return paths
