"""build_report: stored runs → tables (CSV, Markdown, LaTeX), figures (PNG, PDF) and one self-contained HTML file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from .. import __version__
from ..analysis.names import with_agent_names
from ..core.errors import UserError
from ..core.labels import LABELS
from ..models.prices import DEFAULT_PRICES
from ..store.sqlite import RunStore
from .figures import BUILDERS, FigureResult, make_figures
from .formats import write_table
from .html import figure_context, render, table_context
from .judges import judge_tables, plane_figure
from .safeguards import safeguard_figure, safeguard_tables, unguarded
from .tables import compute_tables, usage_table
from .viewer import MAX_BYTES, MAX_RUNS, embed_json, select_runs


class ReportError(UserError, RuntimeError):
    pass


def _filters(runs: list[dict]) -> list[dict]:
    def options(key: str, text_key: str | None = None, order: list[str] | None = None):
        counts: dict[str, int] = {}
        texts: dict[str, str] = {}
        for r in runs:
            v = str(r[key])
            counts[v] = counts.get(v, 0) + 1
            texts[v] = str(r[text_key]) if text_key else v
        values = list(order) if order is not None else sorted(counts)
        return [(v, f"{texts.get(v, v)} ({counts.get(v, 0)})") for v in values]

    return [
        {"key": "model", "title": "model", "options": options("model")},
        {"key": "scenario", "title": "scenario", "options": options("scenario")},
        {"key": "domain", "title": "domain", "options": options("domain")},
        {"key": "motivation", "title": "motivation", "options": options("motivation")},
        {"key": "condition", "title": "condition", "options": options("condition", "condition_short")},
        {"key": "label", "title": "label", "options": options("label", order=list(LABELS))},
        *(
            [{"key": "safeguard", "title": "safeguard", "options": options("safeguard")}]
            if any(r.get("safeguard", "none") != "none" for r in runs)
            else []
        ),
    ]


def _summary(df: pd.DataFrame) -> list[tuple[str, object]]:
    return [
        ("runs", len(df)),
        ("agents", df["agent_model"].nunique()),
        ("scenarios", df["scenario_id"].nunique()),
        ("domains", df["domain"].nunique()),
        ("conditions", df["condition_key"].nunique()),
        ("error runs", int((df["label"] == "error").sum())),
    ]


def build_report(
    experiment_dir: str | Path,
    out_dir: str | Path | None = None,
    *,
    B: int = 2000,
    seed: int = 0,
    max_runs: int = MAX_RUNS,
    max_bytes: int = MAX_BYTES,
    dpi: int = 200,
    figures: bool = True,
) -> Path:
    """Write EXPERIMENT_DIR/report/ (or out_dir): report.html, figures/*.png|pdf, tables/*.csv|md|tex.

    B and seed drive the scenario-cluster bootstraps; max_runs / max_bytes cap the embedded transcripts;
    figures=False leaves the figures out (faster; the HTML says so).
    Returns the path of report.html."""
    experiment_dir = Path(experiment_dir)
    out = Path(out_dir) if out_dir is not None else experiment_dir / "report"
    with RunStore(experiment_dir, create=False, read_only=True) as store:
        df = store.frame()
        if df.empty:
            raise ReportError(f"{experiment_dir}: the run store holds no runs")
        df = with_agent_names(df)
        names = dict(zip(df["agent_model"].astype(str), df["agent"].astype(str)))
        runs, total, capped = select_runs(store, max_runs=max_runs, max_bytes=max_bytes, names=names)
        guarded, guard_plane = safeguard_tables(store, df, B=B, seed=seed)
        df, guard_notes = unguarded(df)  # guarded runs never mix into the main tables
        judged, plane = judge_tables(store, df)
        sweep_prices = (store.get_meta("last_sweep") or {}).get("prices") or {}
        usage = usage_table(store.usage(), {**DEFAULT_PRICES, **sweep_prices})

    tables, notes = compute_tables(df, B=B, seed=seed)
    notes = guard_notes + notes
    tables += judged + guarded + [usage]
    for t in tables:
        write_table(t, out / "tables")
    if figures:
        drawn = make_figures({t.name: t.frame for t in tables}, out / "figures", dpi=dpi)
    else:
        drawn = [
            FigureResult(name, title, caption, note="skipped: figures were not requested")
            for name, title, caption, _ in BUILDERS
        ]
    if figures and (extra := plane_figure(plane, out / "figures")) is not None:
        drawn.append(extra)
    if figures and (extra := safeguard_figure(guard_plane, out / "figures")) is not None:
        drawn.append(extra)
    notes = notes + [f"Figure “{f.title}” {f.note}." for f in drawn if f.note]
    if capped:
        notes.append(capped)

    by_name = {t.name: t for t in tables}
    context = {
        "experiment": str(experiment_dir),
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__,
        "summary": _summary(df),
        "notes": notes,
        "headline": table_context(by_name["mr_by_model"]),
        "tables": [table_context(t) for t in tables if t.name != "mr_by_model"],
        "figures": [figure_context(f) for f in drawn],
        "capped": capped,
        "filters": _filters(runs),
        "run_json": embed_json({"runs": runs, "total": total, "labels": list(LABELS)}),
    }
    out.mkdir(parents=True, exist_ok=True)
    path = out / "report.html"
    path.write_text(render(context), encoding="utf-8")
    return path
