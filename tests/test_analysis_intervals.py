"""Wilson and scenario-cluster bootstrap intervals."""

import math

import numpy as np
import pytest

from toxpro.analysis import cluster_bootstrap_diff, cluster_bootstrap_mr, wilson_arrays, wilson_interval

try:
    from analysis_fixtures import clustered, frame, run
except ImportError:  # tests/ imported as a package
    from tests.analysis_fixtures import clustered, frame, run

B = 500


def test_wilson_3_of_10_by_hand():
    # p=.3, z=1.96, z²/n=.38415; centre=(.3+.192073)/1.38415=.355506;
    # half=1.96/1.38415*sqrt(.021+.0096037)=1.41603*.174939=.247719 → (.10779, .60322)
    lo, hi = wilson_interval(3, 10)
    assert lo == pytest.approx(0.1078, abs=1e-4)
    assert hi == pytest.approx(0.6032, abs=1e-4)


def test_wilson_edges_by_hand():
    # 0/10: centre=.192073/1.38415=.138766, half=1.41603*sqrt(.0096037)=.138766 → (0, .27753)
    lo, hi = wilson_interval(0, 10)
    assert lo == pytest.approx(0.0, abs=1e-9)
    assert hi == pytest.approx(0.2775, abs=1e-4)
    # 10/10 mirrors 0/10 → (1-.27753, 1)
    lo, hi = wilson_interval(10, 10)
    assert lo == pytest.approx(0.7225, abs=1e-4)
    assert hi == pytest.approx(1.0, abs=1e-9)
    # n = 0 → NaN interval
    assert all(math.isnan(x) for x in wilson_interval(0, 0))


def test_wilson_vectorised_matches_scalar():
    lo, hi = wilson_arrays([3, 0, 5], [10, 0, 5])
    assert lo[0] == pytest.approx(0.10779, abs=1e-5) and hi[0] == pytest.approx(0.60322, abs=1e-5)
    assert np.isnan(lo[1]) and np.isnan(hi[1])
    # 5/5: p=1, z²/n=.76829; centre=(1+.384146)/1.76829=.782765; half=1.96/1.76829*sqrt(.76829/20)
    #      =1.108415*.195997=.217246 → lo=.565519
    assert lo[2] == pytest.approx(0.5655, abs=1e-4) and hi[2] == pytest.approx(1.0)


def test_bootstrap_mr_excludes_errors_from_denominator():
    # 4 scenarios × 5 runs with 2 misaligned each, plus 1 error per scenario: MR = 8/20 = .4, not 8/24
    df = clustered([2, 2, 2, 2], 5, errors_per_scenario=1)
    ci = cluster_bootstrap_mr(df, B=B)
    assert ci.estimate == pytest.approx(0.4)
    # every scenario has the same MR, so resampling scenarios cannot move it: zero-width interval
    assert ci.lo == pytest.approx(0.4) and ci.hi == pytest.approx(0.4)
    assert ci.n_clusters == 4 and ci.reason is None


def test_bootstrap_contains_estimate_and_is_seeded():
    df = clustered([0, 1, 5, 2, 4, 0, 3, 5, 1, 2], 5)
    a = cluster_bootstrap_mr(df, B=B, seed=7)
    b = cluster_bootstrap_mr(df, B=B, seed=7)
    assert a == b
    assert a.lo <= a.estimate <= a.hi
    assert a.estimate == pytest.approx(23 / 50)
    assert a.n_boot == B


def test_bootstrap_narrows_with_more_scenarios():
    pattern = [0, 1, 5, 2, 4, 0, 3, 5, 1, 2]
    small = cluster_bootstrap_mr(clustered(pattern, 5), B=B, seed=1)
    large = cluster_bootstrap_mr(clustered(pattern * 8, 5), B=B, seed=1)
    assert small.estimate == pytest.approx(large.estimate)
    # width scales like 1/sqrt(#scenarios): ratio ≈ sqrt(8) ≈ 2.8
    assert (large.hi - large.lo) < 0.6 * (small.hi - small.lo)


def test_bootstrap_wider_than_wilson_when_scenarios_differ():
    # 20 scenarios × 10 runs; half always misaligned, half never: 100/200
    df = clustered([10, 0] * 10, 10)
    ci = cluster_bootstrap_mr(df, B=B, seed=2)
    lo, hi = wilson_interval(100, 200)  # ≈ (.431, .569), width ≈ .137
    assert ci.estimate == pytest.approx(0.5)
    # cluster SE ≈ sqrt(.25/20) = .112 → width ≈ .44
    assert (ci.hi - ci.lo) > 2 * (hi - lo)


def test_bootstrap_degenerate_cases():
    one = clustered([2], 5)
    ci = cluster_bootstrap_mr(one, B=B)
    assert ci.estimate == pytest.approx(0.4) and math.isnan(ci.lo) and ci.reason == "single cluster"
    only_errors = frame([run("error", scenario_id="a"), run("error", scenario_id="b")])
    ci = cluster_bootstrap_mr(only_errors, B=B)
    assert math.isnan(ci.estimate) and ci.reason == "no valid runs"


def test_paired_difference_removes_scenario_variation():
    ks = [0, 1, 5, 2, 4, 0, 3, 1, 2, 0]
    ref = clustered(ks, 8)
    treated = clustered([k + 2 for k in ks], 8)
    # each scenario moves by exactly 2/8, so every paired resample gives diff = .25 exactly
    paired = cluster_bootstrap_diff(treated, ref, B=B, seed=3)
    assert paired.paired is True
    assert paired.estimate == pytest.approx(0.25)
    assert paired.lo == pytest.approx(0.25) and paired.hi == pytest.approx(0.25)
    unpaired = cluster_bootstrap_diff(treated, ref, paired=False, B=B, seed=3)
    assert unpaired.paired is False
    assert unpaired.lo < 0.25 < unpaired.hi and unpaired.hi - unpaired.lo > 0.1


def test_difference_auto_is_unpaired_for_different_scenarios():
    a = clustered([1, 2, 3], 4, prefix="a")
    b = clustered([0, 1, 0], 4, prefix="b")
    ci = cluster_bootstrap_diff(a, b, B=B, seed=0)
    # 6/12 - 1/12 = 5/12
    assert ci.paired is False and ci.estimate == pytest.approx(5 / 12)
    assert ci.lo <= ci.estimate <= ci.hi and ci.n_clusters == 6
    forced = cluster_bootstrap_diff(a, b, paired=True, B=B)
    assert math.isnan(forced.estimate) and forced.reason == "a group has no valid runs"
