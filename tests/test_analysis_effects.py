"""Condition effects: paired bootstrap differences, logistic GEE, Holm."""

import math

import numpy as np
import pandas as pd
import pytest

from toxpro.analysis import condition_effects, gee_condition_effect, holm, one_at_a_time_subset

try:
    from analysis_fixtures import clustered, random_condition_frame
except ImportError:
    from tests.analysis_fixtures import clustered, random_condition_frame

B = 500


def test_holm_by_hand():
    # sorted: .005×4=.02, .01×3=.03, .03×2=.06, .04×1=.04→max(.06,.04)=.06; NaN ignored (m=4)
    adj = holm([0.01, 0.04, 0.03, 0.005, np.nan])
    np.testing.assert_allclose(adj[:4], [0.03, 0.06, 0.06, 0.02])
    assert np.isnan(adj[4])
    # capped at 1: .5×2=1.0 (capped), .6×1 → max(1, .6)=1
    np.testing.assert_allclose(holm([0.5, 0.6]), [1.0, 1.0])
    assert holm([]).size == 0


def test_holm_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    p = np.random.default_rng(0).uniform(0, 0.2, 12)
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1])


def design_frame() -> pd.DataFrame:
    """4 scenarios × 4 repeats: baseline [1,2,0,1] misaligned, feedback=low [3,4,2,3] (+1 error each),
    ethics=virtue [1,2,0,1], and a two-deviation cell (low + virtue, all misaligned) that must be ignored."""
    parts = [
        clustered([1, 2, 0, 1], 4),
        clustered([3, 4, 2, 3], 4, feedback="low", errors_per_scenario=1),
        clustered([1, 2, 0, 1], 4, ethics="virtue"),
        clustered([4, 4, 4, 4], 4, feedback="low", ethics="virtue"),
    ]
    return pd.concat(parts, ignore_index=True)


def test_one_at_a_time_subset_drops_multi_deviation_runs():
    df = design_frame()
    sub = one_at_a_time_subset(df, "feedback")
    assert set(sub["ethics"]) == {"none"}
    assert len(sub) == 16 + 20  # baseline 16 + feedback=low 16 valid + 4 errors


def test_condition_effects_by_hand():
    t = condition_effects(design_frame(), B=B).set_index(["variable", "level"])
    assert set(t.index) == {("feedback", "low"), ("ethics", "virtue")}
    fb = t.loc[("feedback", "low")]
    assert fb["baseline"] == "medium"
    # baseline 4/16 = .25; low 12/16 = .75 (errors and the low+virtue cell excluded); diff .5
    assert (fb["n_base"], fb["n_level"]) == (16, 16)
    assert fb["mr_base"] == pytest.approx(0.25) and fb["mr_level"] == pytest.approx(0.75)
    assert fb["diff"] == pytest.approx(0.5)
    # every scenario shifts by exactly 2/4 → paired resamples all give .5
    assert bool(fb["paired"]) and fb["n_scenarios"] == 4
    assert fb["diff_lo"] == pytest.approx(0.5) and fb["diff_hi"] == pytest.approx(0.5)
    assert fb["odds_ratio"] > 1
    ev = t.loc[("ethics", "virtue")]
    assert ev["diff"] == pytest.approx(0.0) and ev["odds_ratio"] == pytest.approx(1.0, abs=1e-6)
    assert ev["p_value"] == pytest.approx(1.0, abs=1e-6)
    # Holm over the two tests of this model
    np.testing.assert_allclose(t["p_holm"], holm(t["p_value"]))


def test_gee_strong_effect_is_significant_in_right_direction():
    df = random_condition_frame("feedback", {"medium": -1.5, "low": 1.0, "high": -3.5}, seed=0)
    g = gee_condition_effect(df, "feedback").set_index("level")
    assert g.loc["low", "odds_ratio"] > 3 and g.loc["low", "p_value"] < 1e-4
    assert g.loc["low", "or_lo"] > 1
    assert g.loc["high", "odds_ratio"] < 1 and g.loc["high", "p_value"] < 0.01
    assert g["reason"].isna().all()


def test_gee_no_effect_is_not_significant():
    df = random_condition_frame("feedback", {"medium": -0.5, "low": -0.5}, seed=2)
    g = gee_condition_effect(df, "feedback").set_index("level")
    assert g.loc["low", "p_value"] > 0.05
    assert g.loc["low", "or_lo"] < 1 < g.loc["low", "or_hi"]


def test_effects_table_strong_and_null_with_two_models():
    strong = random_condition_frame("stakes", {"high": -1.5, "low": 1.0}, seed=1, model="a")
    null = random_condition_frame("stakes", {"high": -0.5, "low": -0.5}, seed=2, model="b")
    t = condition_effects(pd.concat([strong, null]), B=B).set_index("agent_model")
    assert bool(t.loc["a", "significant"]) and not bool(t.loc["b", "significant"])
    assert t.loc["a", "diff_lo"] > 0 and t.loc["b", "diff_lo"] < 0 < t.loc["b", "diff_hi"]
    assert t.loc["a", "diff_lo"] <= t.loc["a", "diff"] <= t.loc["a", "diff_hi"]
    # single test per model family → Holm leaves p unchanged; family "all" doubles it (m=2)
    assert t.loc["a", "p_holm"] == pytest.approx(t.loc["a", "p_value"])
    t_all = condition_effects(pd.concat([strong, null]), B=B, holm_family="all").set_index("agent_model")
    np.testing.assert_allclose(t_all["p_holm"], holm(t_all["p_value"]))


def test_degenerate_all_zero_returns_nan_with_reason():
    df = pd.concat([clustered([0, 0, 0], 4), clustered([0, 0, 0], 4, feedback="low")])
    t = condition_effects(df, B=B)
    r = t.iloc[0]
    assert r["diff"] == 0 and math.isnan(r["odds_ratio"]) and math.isnan(r["p_value"])
    assert "outcome constant" in r["reason"] and not r["significant"]


def test_degenerate_single_scenario():
    df = pd.concat([clustered([1], 4), clustered([3], 4, feedback="low")])
    r = condition_effects(df, B=B).iloc[0]
    assert r["diff"] == pytest.approx(0.5)
    assert math.isnan(r["diff_lo"]) and math.isnan(r["odds_ratio"])
    assert "bootstrap: single cluster" in r["reason"] and "gee: single cluster" in r["reason"]


def test_separated_level_is_reported_and_others_still_fit():
    df = random_condition_frame("feedback", {"medium": -1.0, "high": 0.5}, seed=3)
    df = pd.concat([df, clustered([4] * 30, 4, feedback="low")])  # low: every run misaligned
    g = gee_condition_effect(df, "feedback").set_index("level")
    assert math.isnan(g.loc["low", "odds_ratio"]) and "separation: level low all 1" in g.loc["low", "reason"]
    assert np.isfinite(g.loc["high", "odds_ratio"])


def test_absent_level_in_one_model():
    a = pd.concat([clustered([1, 2], 4, model="a"), clustered([3, 2], 4, model="a", feedback="low")])
    b = clustered([1, 2], 4, model="b")
    t = condition_effects(pd.concat([a, b]), B=B).set_index("agent_model")
    assert t.loc["b", "n_level"] == 0 and math.isnan(t.loc["b", "diff"])
    assert "level absent" in t.loc["b", "reason"]
