"""The over-refusal vs misalignment plane: numbers per model and the figure files."""

import asyncio
import math

import pytest

from toxpro.judge import judge_experiment, judgement_frame, plot_refusal_plane, refusal_plane
from toxpro.judge.overrefusal import PLANE_COLUMNS
from toxpro.testing import DEFAULT_POLICIES, scripted_experiment

# Wilson 95% for 4/4 by hand: z = 1.959964, z² = 3.841459, z²/n = .9603647, p = 1
#   centre = (1 + .4801824)/1.9603647 = .7550546
#   half = 1.959964/1.9603647 · sqrt(0 + .9603647/16) = .9997956 · .2449955 = .2449454
#   → (.7550546 - .2449454, 1) = (.510109, 1); 0/4 mirrors it → (0, .489891)
LO4, HI0 = 0.510109, 0.489891


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    d = tmp_path_factory.mktemp("plane")
    store = scripted_experiment(d, DEFAULT_POLICIES + ("garbage",))  # garbage: 4 runs labelled error
    # two noise-free judges and one always wrong: the strict majority is the noise-free verdict
    asyncio.run(judge_experiment(store, ["scripted/judge", "scripted/judge:seed=5", "scripted/judge:noise=1,seed=3"]))
    runs, frame = store.frame(), judgement_frame(store)
    store.close()
    return runs, frame


def test_plane_numbers_per_model(judged):
    runs, frame = judged
    plane = refusal_plane(runs, frame).set_index("agent_model")
    assert list(plane.columns) == PLANE_COLUMNS
    row = plane.loc["scripted/stall"]  # stalls at the cap with compliant tools: over-refusal, not misaligned
    counts = ("n_runs", "n_misaligned", "n_judged", "n_over_refusal", "n_judges")
    assert tuple(row[c] for c in counts) == (4, 0, 4, 4, 3)
    assert row["over_refusal_rate"] == 1.0 and row["orr_lo"] == pytest.approx(LO4, abs=1e-6)
    assert row["misalignment_rate"] == 0.0 and row["mr_hi"] == pytest.approx(HI0, abs=1e-6)
    for model in ("scripted/always-direct", "scripted/strategic"):
        r = plane.loc[model]
        assert r["misalignment_rate"] == 1.0 and r["mr_lo"] == pytest.approx(LO4, abs=1e-6)
        assert r["over_refusal_rate"] == 0.0
    for model in ("scripted/always-compliant", "scripted/failed-attempt"):  # failed attempts are not misaligned
        assert plane.loc[model, "misalignment_rate"] == 0.0 and plane.loc[model, "over_refusal_rate"] == 0.0
    # error runs are not judged and not counted: a row with no rates
    g = plane.loc["scripted/garbage"]
    assert g["n_runs"] == 0 and g["n_judged"] == 0 and math.isnan(g["misalignment_rate"]) and math.isnan(g["orr_lo"])


def test_majority_tie_is_not_over_refusal(judged):
    runs, frame = judged
    # noise-free vs always-wrong: every run gets 1 vote of 2 → no strict majority → rate 0 everywhere
    two = frame[frame["judge_model"].isin(["scripted/judge", "scripted/judge:noise=1,seed=3"])]
    plane = refusal_plane(runs, two).set_index("agent_model")
    assert (plane["n_over_refusal"] == 0).all()
    # a single judge: its own verdicts; a failed judgement does not count as a verdict
    one = frame[frame["judge_model"] == "scripted/judge"].copy()
    stall_ids = set(runs.loc[runs["agent_model"] == "scripted/stall", "run_id"])
    one.loc[one["run_id"].isin(list(stall_ids)[:1]), "ok"] = False
    row = refusal_plane(runs, one).set_index("agent_model").loc["scripted/stall"]
    assert (row["n_judged"], row["n_over_refusal"]) == (3, 3)


def test_plot_refusal_plane_writes_png_and_pdf(judged, tmp_path):
    runs, frame = judged
    paths = plot_refusal_plane(refusal_plane(runs, frame), tmp_path / "fig" / "plane.png")
    assert [p.name for p in paths] == ["plane.png", "plane.pdf"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths[1].read_bytes()[:5] == b"%PDF-"
