"""The self-contained HTML report: one Jinja2 template (autoescaped), inline CSS/JS, figures as base64 PNG."""

from __future__ import annotations

import base64
import hashlib
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from ..core.labels import LABEL_STYLES
from .figures import FigureResult
from .formats import cells, numeric_columns
from .tables import Table


def environment() -> Environment:
    return Environment(
        loader=PackageLoader("toxpro.report", "templates"),
        autoescape=True,
        trim_blocks=False,
        keep_trailing_newline=True,
    )


def static_text(name: str, closing: str) -> Markup:
    """One of our own static files, trusted and inlined as is (checked not to close its element)."""
    text = resources.files("toxpro.report").joinpath("templates", name).read_text(encoding="utf-8")
    if closing in text.lower():
        raise ValueError(f"{name} must not contain {closing}")
    return Markup(text)


def csp_hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def label_badges() -> Markup:
    """The run viewer's badge colour of each label (class names from the label vocabulary, colours hex)."""
    rules = [f".label-{lab} {{ background: {style.badge}; }}" for lab, style in LABEL_STYLES.items() if style.badge]
    return Markup("\n".join(rules) + "\n")


def table_context(table: Table) -> dict[str, Any]:
    frame = table.display
    numeric = numeric_columns(frame)
    return {
        "name": table.name,
        "title": table.title,
        "caption": table.caption,
        "columns": list(frame.columns),
        "rows": cells(frame),
        "numeric": numeric,
        "long": table.long,
    }


def figure_context(fig: FigureResult) -> dict[str, Any]:
    return {
        "name": fig.name,
        "title": fig.title,
        "caption": fig.caption,
        "note": fig.note,
        "png_b64": base64.b64encode(fig.png).decode("ascii") if fig.png else "",
    }


def render(context: dict[str, Any]) -> str:
    """Render report.html.j2; context values are plain data (escaped by Jinja) except the prepared Markup ones."""
    css = static_text("report.css", "</style") + label_badges()
    js = static_text("viewer.js", "</script")
    ctx = dict(context, css=css, viewer_js=js, style_hash=csp_hash(str(css)), script_hash=csp_hash(str(js)))
    return environment().get_template("report.html.j2").render(**ctx)
