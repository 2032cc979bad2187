"""Reports: tables (CSV, Markdown, LaTeX), matplotlib figures (PNG, PDF) and one self-contained HTML file with an
autoescaped transcript viewer. Numbers come from toxpro.analysis on the stored runs."""

from .build import ReportError, build_report
from .figures import FigureResult, make_figures
from .formats import to_latex, to_markdown
from .tables import Table, compute_tables
from .viewer import embed_json, select_runs

__all__ = [
    "FigureResult",
    "ReportError",
    "Table",
    "build_report",
    "compute_tables",
    "embed_json",
    "make_figures",
    "select_runs",
    "to_latex",
    "to_markdown",
]
