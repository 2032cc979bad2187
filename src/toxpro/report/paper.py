"""Paper export: the report's tables as LaTeX booktabs and its figures as PDF, with a LaTeX file laying them out.

OUT/paper.tex is a complete document (\\documentclass{article}; booktabs, graphicx, caption) that \\input's
OUT/tables.tex and OUT/figures.tex; paste those two into a paper, or compile paper.tex to see them laid out.
"""

from __future__ import annotations

from pathlib import Path

from ..analysis.names import with_agent_names
from ..store.sqlite import RunStore
from .figures import FigureResult, make_figures
from .formats import latex_escape, to_latex
from .tables import Table, compute_tables

# the tables a paper shows, in order (long per-turn and per-scenario ones stay in the report's tables/)
PAPER_TABLES = ["mr_by_model", "agents", "mr_by_model_motivation", "condition_effects", "risk", "terminal_shares"]
WIDE = 5.0  # inches: figures wider than this span both columns (figure*)


def _table_tex(table: Table) -> str:
    return to_latex(table.display, f"{table.title}. {table.caption}", table.name)


def _figure_tex(fig: FigureResult, width_in: float) -> str:
    env = "figure*" if width_in > WIDE else "figure"
    return "\n".join(
        [
            rf"\begin{{{env}}}[t]",
            r"\centering",
            rf"\includegraphics[width=\linewidth]{{figures/{fig.name}.pdf}}",
            r"\caption{" + latex_escape(f"{fig.title}. {fig.caption}") + "}",
            rf"\label{{fig:{fig.name}}}",
            rf"\end{{{env}}}",
            "",
        ]
    )


PREAMBLE = r"""\documentclass[twocolumn]{article}
\usepackage[margin=0.75in]{geometry}
\usepackage[T1]{fontenc}
\usepackage{booktabs,graphicx,caption}
\usepackage{textcomp}
\begin{document}
\section*{Toxic Proactivity: results}
"""


def export_paper(experiment_dir: str | Path, out_dir: str | Path, *, B: int = 2000, seed: int = 0) -> list[Path]:
    """Write OUT/tables/NAME.tex, OUT/figures/NAME.pdf (+ .png), OUT/tables.tex, OUT/figures.tex, OUT/paper.tex.
    Returns the written paths."""
    from .build import ReportError

    out = Path(out_dir)
    with RunStore(experiment_dir, create=False) as store:
        df = store.frame()
    if df.empty:
        raise ReportError(f"{experiment_dir}: the run store holds no runs")
    tables, _ = compute_tables(with_agent_names(df), B=B, seed=seed)
    by_name = {t.name: t for t in tables}
    (out / "tables").mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    chosen = [by_name[n] for n in PAPER_TABLES if n in by_name]
    for t in chosen:
        path = out / "tables" / f"{t.name}.tex"
        path.write_text(_table_tex(t), encoding="utf-8")
        written.append(path)
    figures = make_figures({t.name: t.frame for t in tables}, out / "figures", dpi=300)
    drawn = [f for f in figures if f.paths]
    written += [f.paths["pdf"] for f in drawn]
    widths = {f.name: _width(f.paths["pdf"]) for f in drawn}
    tables_tex = out / "tables.tex"
    tables_tex.write_text("".join(rf"\input{{tables/{t.name}.tex}}" + "\n" for t in chosen), encoding="utf-8")
    figures_tex = out / "figures.tex"
    figures_tex.write_text("\n".join(_figure_tex(f, widths[f.name]) for f in drawn), encoding="utf-8")
    paper = out / "paper.tex"
    paper.write_text(PREAMBLE + "\\input{tables.tex}\n\\input{figures.tex}\n\\end{document}\n", encoding="utf-8")
    return [*written, tables_tex, figures_tex, paper]


def _width(pdf: Path) -> float:
    """A PDF's page width in inches, from its MediaBox (matplotlib writes one page)."""
    import re

    m = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf.read_bytes())
    return float(m.group(1)) / 72 if m else 0.0
