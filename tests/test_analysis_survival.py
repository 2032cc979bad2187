"""Kaplan–Meier of 'no toxic call yet', checked against a hand-worked 6-run example."""

import numpy as np
import pandas as pd
import pytest

from toxpro.analysis import event_times, kaplan_meier, misalignment_survival

try:
    from analysis_fixtures import frame, run
except ImportError:
    from tests.analysis_fixtures import frame, run


def six_runs(model: str = "m1") -> pd.DataFrame:
    # events at 1, 2, 3, 3; censored at 2 and 4; plus an error run that must be ignored
    return frame(
        [
            run("strategic", ttf=1, n_turns=3, agent_model=model),
            run("failed_attempt", ttf=2, n_turns=2, agent_model=model),
            run("robust", n_turns=2, agent_model=model),
            run("direct", ttf=3, n_turns=3, agent_model=model),
            run("failed_attempt", ttf=3, n_turns=4, agent_model=model),
            run("stalled", n_turns=4, agent_model=model),
            run("error", n_turns=1, agent_model=model),
        ]
    )


# Hand-worked KM (n = at risk, d = events, V = Greenwood sum d/(n(n-d))):
#   t=1: n=6 d=1      S=5/6=.833333            V=1/30=.033333
#   t=2: n=5 d=1 c=1  S=.833333·4/5=.666667    V+=1/20 → .083333
#   t=3: n=3 d=2      S=.666667·1/3=.222222    V+=2/3  → .75
#   t=4: n=1 d=0 c=1  S=.222222                V=.75
HAND_S = [1.0, 5 / 6, 4 / 6, 2 / 9, 2 / 9]


def test_km_counts_and_survival_by_hand():
    km = misalignment_survival(six_runs())
    assert list(km.columns) == ["agent_model", "turn", "at_risk", "events", "censored", "survival", "ci_lo", "ci_hi"]
    assert km["turn"].tolist() == [0, 1, 2, 3, 4]
    assert km["at_risk"].tolist() == [6, 6, 5, 3, 1]
    assert km["events"].tolist() == [0, 1, 1, 2, 0]
    assert km["censored"].tolist() == [0, 0, 1, 0, 1]
    np.testing.assert_allclose(km["survival"], HAND_S)


def test_km_plain_greenwood_ci_by_hand():
    km = kaplan_meier([1, 2, 2, 3, 3, 4], [1, 1, 0, 1, 1, 0], ci="plain")
    # t=1: half=1.96·.833333·sqrt(.033333)=1.96·.152145=.298204 → (.535129, 1.131537→1)
    # t=2: half=1.96·.666667·.288675=.377200 → (.289467, 1)
    # t=3: half=1.96·.222222·.866025=.377200 → (-.154978→0, .599422)
    np.testing.assert_allclose(km["ci_lo"], [1, 0.535129, 0.289467, 0.0, 0.0], atol=2e-5)
    np.testing.assert_allclose(km["ci_hi"], [1, 1.0, 1.0, 0.599422, 0.599422], atol=2e-5)


def test_km_loglog_greenwood_ci_by_hand():
    km = kaplan_meier([1, 2, 2, 3, 3, 4], [1, 1, 0, 1, 1, 0])
    # t=1: se=sqrt(.033333)/|ln .833333|=.182574/.182322=1.001384
    #      lo=S^exp(1.96·se)=S^7.1173=exp(-1.29764)=.27312; hi=S^exp(-1.96·se)=S^.140502=.974710
    # t=2: se=.288675/.405465=.711963; lo=S^4.03679=.19462; hi=S^.247722=.904437
    assert km.loc[1, "ci_lo"] == pytest.approx(0.2731, abs=2e-4)
    assert km.loc[1, "ci_hi"] == pytest.approx(0.9747, abs=2e-4)
    assert km.loc[2, "ci_lo"] == pytest.approx(0.1946, abs=2e-4)
    assert km.loc[2, "ci_hi"] == pytest.approx(0.9044, abs=2e-4)
    assert (km["ci_lo"] <= km["survival"]).all() and (km["survival"] <= km["ci_hi"]).all()


def test_km_all_events_reaches_zero():
    # 2 runs, both toxic at turn 1: S(1) = 1 - 2/2 = 0, CI collapses to (0, 0)
    km = kaplan_meier([1, 1], [True, True])
    assert km.loc[1, "survival"] == 0.0 and km.loc[1, "ci_lo"] == 0.0 and km.loc[1, "ci_hi"] == 0.0


def test_event_times_and_grouping():
    df = pd.concat([six_runs("a"), six_runs("b").iloc[:3]])
    ev = event_times(df)
    assert len(ev) == 9 and "error" not in set(ev["label"])
    km = misalignment_survival(df)
    assert set(km["agent_model"]) == {"a", "b"}
    b = km[km["agent_model"] == "b"]
    # b: events at 1, 2; censored at 2 → S(1)=2/3, S(2)=2/3·(1-1/2)=1/3
    np.testing.assert_allclose(b["survival"], [1, 2 / 3, 1 / 3])


def test_toxic_label_without_ttf_is_dropped_with_warning():
    df = frame([run("direct", ttf=None), run("robust")])
    with pytest.warns(UserWarning, match="dropped"):
        ev = event_times(df)
    assert len(ev) == 1
