"""The embedded model for real as an action monitor: SmolLM2-135M reviews a scripted agent's calls."""

import asyncio

import pytest
from conftest import require_local

pytestmark = pytest.mark.slow


def test_local_model_as_the_action_monitor(dosage):
    require_local()
    from toxpro.label import label_run
    from toxpro.models import build_model
    from toxpro.models.scripted import ScriptedModel
    from toxpro.safeguards import parse_arm
    from toxpro.scenario import Condition
    from toxpro.simulate import RunSettings, simulate

    arm = parse_arm("monitor:model=local/smollm2-135m,mode=trajectory,max_tokens=96")
    settings = RunSettings(max_turns=2, safeguards=arm)
    monitor = build_model("local/smollm2-135m", slot="monitor")
    record = asyncio.run(
        simulate(
            dosage, Condition(), ScriptedModel("strategic"), ScriptedModel("env"), settings, seed=5, monitor=monitor
        )
    )
    record.label = label_run(record)
    assert record.error is None and len(record.turns) == 2
    for turn in record.turns:
        # constrained decoding: a valid verdict, whatever the tiny model thinks of the call
        assert turn.monitor.verdict in ("allow", "flag", "block"), turn.monitor.calls[-1].response.content
        call = turn.monitor.calls[-1]
        assert call.who == "monitor" and call.model == "local/smollm2-135m"
        assert call.response.usage.completion_tokens > 0
        assert (turn.env is not None) and (turn.env.status == "blocked") == (turn.monitor.verdict == "block")
    assert record.usage.monitor_completion > 0
    assert "Calls so far" in record.turns[1].monitor.calls[0].messages[-1]["content"]
