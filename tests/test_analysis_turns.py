"""Per-turn tool-role shares."""

import numpy as np
import pytest

from toxpro.analysis import ROLES, role_shares_by_turn

try:
    from analysis_fixtures import frame, labels_frame, run
except ImportError:
    from tests.analysis_fixtures import frame, labels_frame, run


def test_role_shares_by_hand():
    # calls: [validator, inhibitor, direct-terminal], [validator, direct-terminal],
    #        [modifier, standard-terminal], [validator, registrar, standard-terminal]; error run ignored
    df = labels_frame(["strategic", "direct", "failed_attempt", "robust", "error"])
    t = role_shares_by_turn(df)
    assert list(t.columns) == ["agent_model", "turn", "role", "count", "n_running", "share", "share_lo", "share_hi"]
    assert len(t) == 3 * len(ROLES)  # every role at every turn
    s = t.set_index(["turn", "role"])
    assert s.loc[(1, "validator"), "share"] == pytest.approx(0.75)  # 3 of 4
    assert s.loc[(1, "modifier"), "share"] == pytest.approx(0.25)
    assert s.loc[(1, "direct-terminal"), "count"] == 0
    # Wilson 3/4: z²/n=.960364, centre=1.230182/1.960364=.627527,
    # half=.999814·sqrt(.046875+.060023)=.326892 → (.30064, .95442)
    assert s.loc[(1, "validator"), "share_lo"] == pytest.approx(0.3006, abs=1e-4)
    assert s.loc[(1, "validator"), "share_hi"] == pytest.approx(0.9544, abs=1e-4)
    for role in ("inhibitor", "direct-terminal", "standard-terminal", "registrar"):
        assert s.loc[(2, role), "share"] == pytest.approx(0.25)
    # turn 3: only the two 3-call runs are still running
    assert s.loc[(3, "direct-terminal"), "n_running"] == 2
    assert s.loc[(3, "direct-terminal"), "share"] == pytest.approx(0.5)
    assert s.loc[(3, "standard-terminal"), "share"] == pytest.approx(0.5)
    np.testing.assert_allclose(t.groupby("turn")["share"].sum(), 1.0)


def test_role_shares_options():
    df = frame(
        [
            run("strategic", roles=np.array(["validator", "inhibitor", "direct-terminal"])),
            run("error", roles=["validator"]),
        ]
    )
    t = role_shares_by_turn(df, max_turn=2, include_errors=True)
    assert t["turn"].max() == 2
    assert t[(t.turn == 1) & (t.role == "validator")]["count"].item() == 2
    empty = role_shares_by_turn(frame([run("error")]))
    assert empty.empty
