"""The report: numbers in its tables equal what the scripted policies imply, figures exist, model text is escaped.

The experiment uses scripted agents whose every run's label is known in advance from the run's seed
(toxpro.models.scripted.run_outcome), so expected MR and intervals are computed here without reading the
stored labels."""

from __future__ import annotations

import asyncio
import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from toxpro.analysis import cluster_bootstrap_mr
from toxpro.label.rules import label_run
from toxpro.models.scripted import OUTCOME_LABEL, parse_policy, run_outcome
from toxpro.report import build_report
from toxpro.runner import execute, plan
from toxpro.scenario import builtin_dir, grid, load_scenario
from toxpro.simulate.records import RunSettings, StateUpdate
from toxpro.store import RunStore

SCENARIOS = [
    "healthcare-loyalty-dosage-audit",
    "healthcare-selfpres-ehr-batch-cancellations",
    "finance-loyalty-aml-wire-release",
    "finance-selfpres-trading-halt",
]
STOCHASTIC = "scripted/stochastic:strategic=0.25,direct=0.2,failed=0.1,garbage=0.1"
AGENTS = ["scripted/strategic", "scripted/always-compliant", STOCHASTIC, "scripted/garbage"]
INJECTED_MODEL = "injected/<script>alert(1)</script>"
INJECTED_RUN = "injected-run-0001"
XSS_REASONING = "<script>alert(1)</script> I will close the ticket."
XSS_OBSERVATION = "</script><script>alert(2)</script><!-- done"
XSS_STATE = "<img src=x onerror=alert(3)>"
B = 400
FIGURES = (
    "behaviour_by_domain",
    "strategic_vs_direct",
    "radar",
    "condition_behaviour",
    "conditions",
    "role_shares",
    "survival",
    "risk",
    "terminals",
    "transitions",
)


def make_experiment(
    directory: Path, *, scenarios=SCENARIOS, agents=AGENTS, conditions=("feedback=*",), repeats: int = 3
) -> Path:
    """Runs of scripted agents, plus one run whose model name, reasoning, observation and state carry HTML."""
    found = [load_scenario(builtin_dir() / f"{s}.yaml") for s in scenarios]
    settings = RunSettings(max_turns=8)
    planned = plan(found, list(agents), ["scripted/env"], grid(list(conditions)), repeats, settings)
    with RunStore(directory) as store:
        asyncio.run(execute(planned, store, experiment="report-test"))
        base = next(store.records("WHERE agent_model = ? ORDER BY run_id", ["scripted/always-compliant"]))
        rec = base.model_copy(deep=True)
        rec.run_id, rec.agent_model = INJECTED_RUN, INJECTED_MODEL
        turn = rec.turns[0]
        turn.action.reasoning = XSS_REASONING
        turn.agent_call.response.content = json.dumps({"reasoning": XSS_REASONING})
        turn.env.observation = XSS_OBSERVATION
        turn.env.state_updates = [StateUpdate(key="note</script>", value=XSS_STATE)]
        rec.label = label_run(rec)
        assert store.put(rec)
    return directory


def expected_label(model: str, seed: int) -> str:
    if not model.startswith("scripted/"):
        return "robust"  # the injected copy of an always-compliant run
    policy, args = parse_policy(model.removeprefix("scripted/"))
    return OUTCOME_LABEL[run_outcome(policy, args, seed)]


def expected_frame(directory: Path) -> pd.DataFrame:
    """Stored design columns with the label each run must have, derived from its seed only."""
    with RunStore(directory, create=False) as store:
        rows = store.rows()
    df = pd.DataFrame(rows)
    df["label"] = [expected_label(m, s) for m, s in zip(df["agent_model"], df["seed"])]
    return df


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    if n == 0:
        return math.nan, math.nan
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def by_hand(df: pd.DataFrame, keys: list[str]) -> dict[tuple, dict]:
    out = {}
    for key, sub in df.groupby(keys):
        key = key if isinstance(key, tuple) else (key,)
        labels = sub["label"].tolist()
        valid = sum(lab != "error" for lab in labels)
        mis = sum(lab in ("strategic", "direct") for lab in labels)
        out[key] = {
            "n": len(labels),
            "n_valid": valid,
            "misaligned": mis,
            "mr": mis / valid if valid else math.nan,
            "wilson": wilson(mis, valid),
            "labels": labels,
            "frame": sub,
        }
    return out


def same(a, b, tol=1e-9) -> bool:
    a, b = float(a), float(b)
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tol


class Tables(HTMLParser):
    """Cells of every <table data-table=NAME> in the report."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current = None
        self.cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "data-table" in attrs:
            self.current = self.tables.setdefault(attrs["data-table"], [])
        elif tag == "tr" and self.current is not None:
            self.current.append([])
        elif tag in ("td", "th") and self.current is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.current[-1].append("".join(self.cell))
            self.cell = None
        elif tag == "table":
            self.current = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    exp = make_experiment(tmp_path_factory.mktemp("exp"))
    html_path = build_report(exp, B=B, seed=0, dpi=80)
    return exp, html_path


def read_csv(html_path: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(html_path.parent / "tables" / f"{name}.csv", keep_default_na=True)


def test_stored_labels_match_the_policies(built):
    exp, _ = built
    with RunStore(exp, create=False) as store:
        rows = store.rows()
    assert len(rows) == 4 * 4 * 3 * 3 + 1
    assert all(r["label"] == expected_label(r["agent_model"], r["seed"]) for r in rows)
    stochastic = [expected_label(STOCHASTIC, r["seed"]) for r in rows if r["agent_model"] == STOCHASTIC]
    assert len(set(stochastic)) >= 4  # the mix really is mixed


def test_mr_per_model_matches_hand_computation(built):
    exp, html_path = built
    df = expected_frame(exp)
    table = read_csv(html_path, "mr_by_model").set_index("agent_model")
    hand = by_hand(df, ["agent_model"])
    assert set(table.index) == {k[0] for k in hand}
    for (model,), h in hand.items():
        row = table.loc[model]
        assert (row["n"], row["n_valid"], row["misaligned"]) == (h["n"], h["n_valid"], h["misaligned"]), model
        assert same(row["mr"], h["mr"])
        assert same(row["mr_lo"], h["wilson"][0]) and same(row["mr_hi"], h["wilson"][1])
        boot = cluster_bootstrap_mr(h["frame"], B=B, seed=0)
        assert same(row["mr_boot_lo"], boot.lo) and same(row["mr_boot_hi"], boot.hi)
        for lab in ("strategic", "direct", "failed_attempt", "robust", "stalled", "error"):
            assert row[lab] == h["labels"].count(lab)
    assert table.loc["scripted/strategic", "mr"] == 1.0
    assert table.loc["scripted/strategic", "mr_boot_lo"] == 1.0
    assert table.loc["scripted/always-compliant", "mr"] == 0.0
    assert table.loc["scripted/always-compliant", "mr_boot_hi"] == 0.0
    garbage = table.loc["scripted/garbage"]
    assert garbage["n_valid"] == 0 and math.isnan(garbage["mr"]) and garbage["boot_reason"] == "no valid runs"
    assert garbage["protocol_error_rate"] == 1.0
    assert table.loc[INJECTED_MODEL, "boot_reason"] == "single cluster"
    stoch = table.loc[STOCHASTIC]
    assert 0 < stoch["mr"] < 1 and stoch["mr_boot_lo"] < stoch["mr"] < stoch["mr_boot_hi"]
    assert stoch["error"] == hand[(STOCHASTIC,)]["labels"].count("error") > 0


def test_mr_by_domain_motivation_condition_and_scenario(built):
    exp, html_path = built
    df = expected_frame(exp)
    for name, keys in [
        ("mr_by_model_domain", ["agent_model", "domain"]),
        ("mr_by_model_motivation", ["agent_model", "motivation"]),
        ("mr_by_model_scenario", ["agent_model", "scenario_id"]),
    ]:
        table = read_csv(html_path, name)
        hand = by_hand(df, keys)
        assert len(table) == len(hand), name
        for _, row in table.iterrows():
            h = hand[tuple(row[k] for k in keys)]
            assert (row["n_valid"], row["misaligned"]) == (h["n_valid"], h["misaligned"]), (name, dict(row))
            assert same(row["mr"], h["mr"]) and same(row["mr_lo"], h["wilson"][0])
            if "mr_boot_lo" in row:
                boot = cluster_bootstrap_mr(h["frame"], B=B, seed=0)
                assert same(row["mr_boot_lo"], boot.lo) and same(row["mr_boot_hi"], boot.hi)
    cond = read_csv(html_path, "mr_by_model_condition")
    assert set(cond["variable"]) == {"feedback"}  # the only variable with more than one level
    hand = by_hand(df, ["agent_model", "feedback"])
    for _, row in cond.iterrows():
        h = hand[(row["agent_model"], row["level"])]
        assert (row["n_valid"], row["misaligned"]) == (h["n_valid"], h["misaligned"])
        assert same(row["mr"], h["mr"])
        assert bool(row["reference"]) == (row["level"] == "medium")
    stoch = cond[cond["agent_model"] == STOCHASTIC]
    assert list(stoch["level"]) == ["high", "medium", "low"]


def test_condition_effects_behaviour_errors(built):
    exp, html_path = built
    df = expected_frame(exp)
    hand = by_hand(df, ["agent_model", "feedback"])
    eff = read_csv(html_path, "condition_effects")
    stoch = eff[eff["agent_model"] == STOCHASTIC].set_index("level")
    assert set(stoch.index) == {"high", "low"}
    for level in ("high", "low"):
        expect = hand[(STOCHASTIC, level)]["mr"] - hand[(STOCHASTIC, "medium")]["mr"]
        assert same(stoch.loc[level, "diff"], expect)
        assert stoch.loc[level, "diff_lo"] <= stoch.loc[level, "diff"] <= stoch.loc[level, "diff_hi"]
    assert (eff.loc[eff["agent_model"] == "scripted/strategic", "diff"] == 0).all()

    beh = read_csv(html_path, "behaviour_by_model").set_index("agent_model")
    for (model,), h in by_hand(df, ["agent_model"]).items():
        for lab in ("strategic", "direct", "failed_attempt", "robust", "stalled", "error"):
            assert beh.loc[model, lab] == h["labels"].count(lab)
            assert same(beh.loc[model, f"{lab}_share"], h["labels"].count(lab) / h["n"])
    errors = read_csv(html_path, "errors_by_model").set_index("agent_model")
    assert errors.loc["scripted/garbage", "error_rate"] == 1.0
    assert errors.loc["scripted/garbage", "error_kinds"] == f"protocol: {4 * 3 * 3}"
    assert errors.loc["scripted/strategic", "protocol_error_rate"] == 0.0


def test_turn_tables(built):
    _, html_path = built
    km = read_csv(html_path, "survival")
    strategic = km[km["agent_model"] == "scripted/strategic"].set_index("turn")
    assert strategic.loc[0, "survival"] == 1.0 and strategic.loc[1, "survival"] == 0.0  # inhibitor at turn 1
    compliant = km[km["agent_model"] == "scripted/always-compliant"]
    assert (compliant["survival"] == 1.0).all() and compliant["turn"].max() == 3
    assert "scripted/garbage" not in set(km["agent_model"])  # errors excluded
    shares = read_csv(html_path, "role_shares_by_turn")
    comp = shares[shares["agent_model"] == "scripted/always-compliant"].set_index(["turn", "role"])
    assert comp.loc[(1, "validator"), "share"] == 1.0
    assert comp.loc[(2, "registrar"), "share"] == 1.0
    assert comp.loc[(3, "standard-terminal"), "share"] == 1.0
    ttf = read_csv(html_path, "ttf")
    row = ttf[(ttf["agent_model"] == "scripted/strategic") & (ttf["motivation"] == "all")].iloc[0]
    assert row["ttf_mean"] == 1.0 and row["misaligned"] == 4 * 3 * 3
    sd = read_csv(html_path, "strategic_direct")
    assert (sd.loc[sd["agent_model"] == "scripted/strategic", "strategic_rate"] == 1.0).all()
    radar = read_csv(html_path, "radar").set_index("agent_model")
    assert radar.loc["scripted/strategic", "loyalty-strategic"] == 1.0
    assert radar.loc["scripted/always-compliant", "MR"] == 0.0


def test_markdown_and_latex_tables(built):
    _, html_path = built
    tables = html_path.parent / "tables"
    md = (tables / "mr_by_model.md").read_text()
    tex = (tables / "mr_by_model.tex").read_text()
    stoch = read_csv(html_path, "mr_by_model").set_index("agent_model").loc[STOCHASTIC]
    assert md.splitlines()[2].startswith(
        "| agent | runs | valid | misaligned | MR [95% CI] | bootstrap 95% | Wilson 95% | scenarios | design effect |"
    )
    assert (
        f"| {STOCHASTIC} | {int(stoch['n'])} | {int(stoch['n_valid'])} | {int(stoch['misaligned'])} | "
        f"{stoch['mr']:.2f} [{stoch['mr_ci_lo']:.2f}, {stoch['mr_ci_hi']:.2f}] | "
        f"[{stoch['mr_boot_lo']:.2f}, {stoch['mr_boot_hi']:.2f}] | [{stoch['mr_lo']:.2f}, {stoch['mr_hi']:.2f}] |" in md
    )
    assert "&lt;script&gt;" in md and "<script>" not in md
    assert r"\begin{tabular}" in tex and r"\toprule" in tex and r"injected/\textless{}script\textgreater{}" in tex
    assert f"{stoch['mr']:.2f} [{stoch['mr_ci_lo']:.2f}, {stoch['mr_ci_hi']:.2f}]" in tex
    assert r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%" in tex  # never wider than the page
    for name in ("mr_by_model", "condition_effects", "survival", "role_shares_by_turn", "ttf", "radar"):
        for ext in ("csv", "md", "tex"):
            assert (tables / f"{name}.{ext}").stat().st_size > 0


def test_figures_exist_as_png_and_pdf(built):
    _, html_path = built
    figs = html_path.parent / "figures"
    for name in FIGURES:
        assert (figs / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert (figs / f"{name}.pdf").read_bytes()[:5] == b"%PDF-", name
    html = html_path.read_text()
    assert html.count('src="data:image/png;base64,') == len(FIGURES)
    assert "Figure not drawn" not in html


def test_html_holds_the_numbers(built):
    _, html_path = built
    parser = Tables()
    parser.feed(html_path.read_text())
    rows = parser.tables["mr_by_model"]
    header = rows[0]
    table = {r[0]: dict(zip(header, r)) for r in rows[1:]}
    csv = read_csv(html_path, "mr_by_model").set_index("agent_model")
    assert set(table) == set(csv.index)  # the injected name round-trips through escaping
    for model, row in table.items():
        c = csv.loc[model]
        f2 = lambda v: "–" if math.isnan(v) else f"{v:.2f}"  # noqa: E731
        ci = "" if math.isnan(c["mr_ci_lo"]) else f" [{f2(c['mr_ci_lo'])}, {f2(c['mr_ci_hi'])}]"
        assert row["MR [95% CI]"] == f2(c["mr"]) + ci, model
        boot = "[–, –]" if math.isnan(c["mr_boot_lo"]) else f"[{f2(c['mr_boot_lo'])}, {f2(c['mr_boot_hi'])}]"
        assert row["bootstrap 95%"] == boot, model
        assert row["Wilson 95%"] == f"[{f2(c['mr_lo'])}, {f2(c['mr_hi'])}]", model
        assert row["valid"] == str(c["n_valid"])
    assert {
        "condition_effects",
        "mr_by_model_condition",
        "survival",
        "role_shares_by_turn",
        "strategic_direct",
        "ttf",
        "errors_by_model",
    } <= set(parser.tables)


def test_model_text_is_escaped(built):
    _, html_path = built
    html = html_path.read_text()
    # only our own two script elements: the JSON data and the viewer
    assert len(re.findall(r"<script", html, re.I)) == 2
    assert len(re.findall(r"</script", html, re.I)) == 2
    assert '<script type="application/json" id="run-data">' in html
    assert "<img src=x" not in html and "<!-- done" not in html
    for m in re.finditer(r"alert\(\d\)", html):
        before = html[max(0, m.start() - 14) : m.start()]
        assert before.endswith(("\\u003e", "&gt;", "onerror=")), before
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # model name in tables and filter options
    data = re.search(r'<script type="application/json" id="run-data">(.*?)</script>', html, re.S).group(1)
    assert "<" not in data and ">" not in data
    runs = {r["id"]: r for r in json.loads(data)["runs"]}
    injected = runs[INJECTED_RUN]
    assert injected["model"] == INJECTED_MODEL
    assert injected["turns"][0]["reasoning"] == XSS_REASONING
    assert injected["turns"][0]["observation"] == XSS_OBSERVATION
    assert injected["turns"][0]["updates"] == [["note</script>", XSS_STATE]]


def test_viewer_payload_and_cap(built, tmp_path):
    exp, html_path = built
    html = html_path.read_text()
    data = json.loads(re.search(r'id="run-data">(.*?)</script>', html, re.S).group(1))
    assert len(data["runs"]) == data["total"] == 4 * 4 * 3 * 3 + 1
    assert 'id="viewer-capped"' not in html
    with RunStore(exp, create=False) as store:
        rec = store.get(data["runs"][0]["id"])
    run = next(r for r in data["runs"] if r["id"] == rec.run_id)
    assert [t["role"] for t in run["turns"]] == [t.action.tool_role or "" for t in rec.turns]
    assert [t["risk"] for t in run["turns"]] == [
        "error" if not t.action.ok else ("toxic" if t.action.tool_track == "toxic" else "compliant") for t in rec.turns
    ]

    capped = build_report(exp, tmp_path / "capped", B=20, max_runs=10, figures=False)
    text = capped.read_text()
    small = json.loads(re.search(r'id="run-data">(.*?)</script>', text, re.S).group(1))
    assert len(small["runs"]) == 10 and small["total"] == 4 * 4 * 3 * 3 + 1
    assert 'id="viewer-capped"' in text and "shows 10 of 145 stored runs" in text
    assert len({r["model"] for r in small["runs"]}) == 5  # round-robin keeps every model


def test_cli_report_single_condition_and_errors(tmp_path):
    """Through the CLI, on a single-condition experiment: the condition figure and tables are skipped with a note."""
    from typer.testing import CliRunner

    from toxpro.cli import app

    exp = make_experiment(
        tmp_path / "exp",
        scenarios=SCENARIOS[:2],
        agents=["scripted/strategic", "scripted/always-compliant"],
        conditions=("feedback=medium",),
        repeats=1,
    )
    result = CliRunner().invoke(app, ["report", str(exp), "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    html_path = tmp_path / "r" / "report.html"
    assert result.output.strip() == str(html_path)
    html = html_path.read_text()
    figs = html_path.parent / "figures"
    assert not (figs / "conditions.png").exists()
    assert (figs / "survival.png").exists() and (figs / "radar.pdf").exists()
    assert "Figure not drawn (skipped: every contextual variable has a single level" in html
    assert not (html_path.parent / "tables" / "condition_effects.csv").exists()
    table = read_csv(html_path, "mr_by_model").set_index("agent_model")
    assert table.loc["scripted/strategic", "mr"] == 1.0 and table.loc["scripted/always-compliant", "mr"] == 0.0
    missing = CliRunner().invoke(app, ["report", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "no run store" in missing.output
