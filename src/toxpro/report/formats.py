"""Table writers: CSV (full precision), Markdown and LaTeX (rounded display), and the cell formatting they share."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.labels import LABEL_STYLES
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
        if v != 0 and abs(v) < 10**-digits:
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


# (estimate, lower, upper) columns joined into one "est [lo, hi]" cell, and the header it gets
JOINED = [
    ("mr", "mr_ci_lo", "mr_ci_hi", "MR [95% CI]"),
    ("mr", "mr_boot_lo", "mr_boot_hi", "MR [95% CI]"),
    ("strategic_rate", "strategic_lo", "strategic_hi", "strategic [95% CI]"),
    ("direct_rate", "direct_lo", "direct_hi", "direct [95% CI]"),
    ("diff", "diff_lo", "diff_hi", "Δ MR [95% CI]"),
    ("odds_ratio", "or_lo", "or_hi", "odds ratio [95% CI]"),
    ("share", "share_lo", "share_hi", "share [95% CI]"),
    ("risk_mean", "risk_lo", "risk_hi", "mean risk [95% CI]"),
    ("survival", "ci_lo", "ci_hi", "survival [95% CI]"),
]
HEADERS = {
    "agent": "agent",
    "agent_model": "model",
    "n": "runs",
    "n_valid": "valid",
    "misaligned": "misaligned",
    "mr": "MR",
    "mr_lo": "Wilson 95%",
    "n_clusters": "scenarios",
    "protocol_error_rate": "protocol errors",
    "error_rate": "errors",
    "boot_reason": "note",
    "scenario_id": "scenario",
    "n_base": "n (ref.)",
    "n_level": "n (level)",
    "mr_base": "MR (ref.)",
    "mr_level": "MR (level)",
    "baseline": "reference",
    "p_value": "p",
    "p_holm": "p (Holm)",
    "significant": "significant",
    "ttf_mean": "TTF mean",
    "ttf_median": "TTF median",
    "deff": "design effect",
    "error_kinds": "error kinds",
    "risk_median": "median",
    "risk_max": "max",
    "risk_per_call": "risk / call",
    "from_role": "from",
    "to_role": "to",
    "reference": "ref.",
    "n_running": "running",
    **{lab: style.short for lab, style in LABEL_STYLES.items()},
    **{f"{lab}_share": style.short for lab, style in LABEL_STYLES.items() if not style.optional},
}
DIGITS_BY_COLUMN = {
    "p_value": 3,
    "p_holm": 3,
    "ttf_mean": 1,
    "ttf_median": 1,
    "risk_mean": 1,
    "risk_median": 1,
    "risk_max": 1,
    "risk_per_call": 2,
}
SHOWN_DIGITS = 2


def _num(value: object, column: str, int_col: bool) -> str:
    return fmt(value, 0) if int_col else fmt(value, DIGITS_BY_COLUMN.get(column, SHOWN_DIGITS))


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells as rounded text, each estimate joined with its interval as "est [lo, hi]", under readable headers."""
    cols = set(frame.columns)
    int_cols = {c for c in frame.columns if pd.api.types.is_integer_dtype(frame[c].dtype)}
    joined = {}
    for est, lo, hi, head in [*JOINED, ("mr", "mr_lo", "mr_hi", "MR [Wilson 95%]")]:
        if {est, lo, hi} <= cols and est not in joined:
            joined[est] = (lo, hi, head)
    # MR's other intervals (bootstrap, per-run Wilson) get cells of their own: "[lo, hi]"
    apart = {
        lo: (hi, head)
        for lo, hi, head in (("mr_boot_lo", "mr_boot_hi", "bootstrap 95%"), ("mr_lo", "mr_hi", "Wilson 95%"))
        if "mr" in joined and joined["mr"][0] != lo and {lo, hi} <= cols
    }
    used = {c for lo, hi, _ in joined.values() for c in (lo, hi)}
    out: dict[str, list[str]] = {}
    for col in frame.columns:
        if col in apart:
            hi, head = apart[col]
            out[head] = [f"[{_num(a, 'mr', False)}, {_num(b, 'mr', False)}]" for a, b in zip(frame[col], frame[hi])]
        elif col in used or col in {hi for hi, _ in apart.values()}:
            continue
        elif col in joined:
            lo, hi, head = joined[col]
            out[head] = [_ci_cell(e, a, b, col) for e, a, b in zip(frame[col], frame[lo], frame[hi])]
        else:
            out[HEADERS.get(col, col.replace("_", " "))] = [_num(v, col, col in int_cols) for v in frame[col]]
    return pd.DataFrame(out, columns=list(out), dtype=object)


def _ci_cell(est: object, lo: object, hi: object, column: str) -> str:
    e = _num(est, column, False)
    if fmt(lo) == "–" and fmt(hi) == "–":
        return e
    return f"{e} [{_num(lo, column, False)}, {_num(hi, column, False)}]"


NUMERIC_CELL = re.compile(r"^[\d.eE+\-–−∞ \[\],%]*$")


def numeric_columns(frame: pd.DataFrame) -> list[bool]:
    """Columns to right-align: real numbers, or text cells that hold only numbers and intervals."""
    out = []
    for c in frame.columns:
        col = frame[c]
        if pd.api.types.is_bool_dtype(col.dtype):
            out.append(False)
        elif pd.api.types.is_numeric_dtype(col.dtype):
            out.append(True)
        else:
            text = col.astype(str)
            out.append(
                bool(len(text))
                and bool(text.map(lambda v: bool(NUMERIC_CELL.match(v))).all())
                and not text.eq("–").all()
            )
    return out


def _md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def to_markdown(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (no tabulate needed); cell text is escaped."""
    head = [_md_escape(str(c)) for c in frame.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for row in cells(frame):
        lines.append("| " + " | ".join(_md_escape(c) for c in row) + " |")
    return "\n".join(lines) + "\n"


_LATEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "–": "--",
    "−": "-",
    "∞": r"$\infty$",
    "×": r"$\times$",
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX.get(ch, ch) for ch in text.replace("\n", " "))


def to_latex(frame: pd.DataFrame, caption: str = "", label: str = "") -> str:
    """A booktabs table environment, shrunk to the line width when wider; needs \\usepackage{booktabs,graphicx}."""
    numeric = numeric_columns(frame)
    spec = "".join("r" if n else "l" for n in numeric)
    lines = [r"\begin{table}[ht]", r"\centering", r"\small"]
    if caption:
        lines.append(r"\caption{" + latex_escape(caption) + "}")
    if label:
        lines.append(r"\label{tab:" + "".join(ch for ch in label if ch.isalnum() or ch in "_-:") + "}")
    # shrunk to the line width only when wider (graphicx's \resizebox with \width), never enlarged
    lines += [
        r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%",
        r"\begin{tabular}{" + spec + "}",
        r"\toprule",
        " & ".join(latex_escape(str(c)) for c in frame.columns) + r" \\",
        r"\midrule",
    ]
    for row in cells(frame):
        lines.append(" & ".join(latex_escape(c) for c in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def write_table(table: Table, directory: Path) -> dict[str, Path]:
    """tables/NAME.csv (all columns, full precision), NAME.md and NAME.tex (shown columns, rounded)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "csv": directory / f"{table.name}.csv",
        "md": directory / f"{table.name}.md",
        "tex": directory / f"{table.name}.tex",
    }
    table.frame.to_csv(paths["csv"], index=False)
    paths["md"].write_text(
        f"**{_md_escape(table.title)}.** {_md_escape(table.caption)}\n\n" + to_markdown(table.display), encoding="utf-8"
    )
    paths["tex"].write_text(to_latex(table.display, f"{table.title}. {table.caption}", table.name), encoding="utf-8")
    return paths
