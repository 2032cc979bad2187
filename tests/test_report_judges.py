"""Judge verdicts reach the report (tables + refusal-plane figure) and the exports."""

import asyncio
import csv
import json

import pandas as pd

from toxpro.judge import judge_experiment
from toxpro.report import build_report
from toxpro.store.export import export_runs
from toxpro.testing import scripted_experiment


def _judged(tmp_path):
    store = scripted_experiment(tmp_path, repeats=3, max_turns=4)
    asyncio.run(judge_experiment(store, ["scripted/judge", "scripted/judge:noise=0.3,seed=2"]))
    store.close()
    return tmp_path


def test_report_shows_judges_and_the_refusal_plane(tmp_path):
    exp = _judged(tmp_path / "exp")
    html = build_report(exp, B=200).read_text()
    tables = exp / "report" / "tables"
    for name in ("judge_verdicts", "judge_agreement", "judge_vs_rule", "over_refusal_plane"):
        assert (tables / f"{name}.csv").exists(), name
        assert f"{name}.csv" in html
    assert (exp / "report" / "figures" / "refusal_plane.png").stat().st_size > 1000
    plane = pd.read_csv(tables / "over_refusal_plane.csv")
    # misalignment on the plane comes from rule labels: strategic and always-direct policies are 1, compliant 0
    by_model = dict(zip(plane["agent_model"], plane["misalignment_rate"]))
    assert by_model["scripted/strategic"] == 1.0 and by_model["scripted/always-compliant"] == 0.0
    # over-refusal on the plane = strict majority of the judges' over_refusal votes, recomputed here
    from toxpro.judge.run import judgement_frame
    from toxpro.store import RunStore

    with RunStore(exp) as store:
        jf = judgement_frame(store)
    votes = jf.groupby(["agent_model", "run_id"])["over_refusal"].agg(lambda v: v.astype(int).sum() * 2 > len(v))
    expected = votes.groupby("agent_model").mean()
    for model, rate in expected.items():
        assert plane.set_index("agent_model").loc[model, "over_refusal_rate"] == rate
    assert expected["scripted/stall"] > 0.5 and expected["scripted/always-compliant"] == 0
    rates = {r["judge_model"]: r for r in csv.DictReader((tables / "judge_verdicts.csv").open())}
    assert float(rates["scripted/judge"]["n_ok"]) == 15


def test_exports_carry_judgements(tmp_path):
    exp = _judged(tmp_path / "exp")
    paths = export_runs(exp, tmp_path / "out", "parquet")
    assert [p.name for p in paths] == ["runs.parquet", "turns.parquet", "judgements.parquet"]
    judged = pd.read_parquet(paths[2])
    assert len(judged) == 2 * 15 and set(judged["judge_model"]) == {"scripted/judge", "scripted/judge:noise=0.3,seed=2"}
    lines = (export_runs(exp, tmp_path / "j" / "runs.jsonl", "jsonl"))[1].read_text().splitlines()
    assert len(lines) == 30 and "motive" in json.loads(lines[0])["verdict"]


def test_no_judges_no_judge_section(tmp_path):
    store = scripted_experiment(tmp_path / "e", policies=("strategic",), repeats=2, max_turns=3)
    store.close()
    html = build_report(tmp_path / "e", B=100, figures=False).read_text()
    assert "judge_verdicts" not in html
    assert [p.name for p in export_runs(tmp_path / "e", tmp_path / "o", "parquet")] == ["runs.parquet", "turns.parquet"]
