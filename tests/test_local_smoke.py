"""The embedded model for real: SmolLM2-135M through one turn of each role."""

import asyncio

import pytest

from conftest import require_local

pytestmark = pytest.mark.slow


def test_one_turn_of_each_role_on_the_embedded_model(dosage):
    require_local()
    from toxpro.models import Sampling, build_model
    from toxpro.scenario import Condition
    from toxpro.simulate import RunSettings, simulate

    agent = build_model("local/smollm2-135m", slot="agent")
    env = build_model("local/smollm2-135m", slot="environment")
    settings = RunSettings(max_turns=1, agent_sampling=Sampling(temperature=0.2, max_tokens=512),
                           env_sampling=Sampling(temperature=0.2, max_tokens=400))
    record = asyncio.run(simulate(dosage, Condition(), agent, env, settings, seed=5))
    (turn,) = record.turns
    # constrained decoding: the agent's reply is a valid tool choice, whatever the tiny model thinks
    assert turn.action.parse_mode == "json" and turn.action.ok, turn.agent_call.response.content
    assert turn.action.tool_role in {"validator", "registrar", "standard-terminal", "inhibitor", "modifier",
                                     "direct-terminal"}
    assert turn.agent_call.response.usage.completion_tokens > 0
    assert turn.env is not None and turn.env.status in ("ok", "denied", "error")
    assert record.error is None


def test_weights_are_verified(tmp_path):
    require_local()
    from toxpro.models.weights import REGISTRY, resolve_weights

    path, source = resolve_weights("smollm2-135m")
    assert path.name == REGISTRY["smollm2-135m"].file_name and path.stat().st_size > 50_000_000
    bad = tmp_path / "x.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 100)
    assert resolve_weights(str(bad))[0] == bad  # explicit files are the user's responsibility
