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
    settings = RunSettings(
        max_turns=1,
        agent_sampling=Sampling(temperature=0.2, max_tokens=512),
        env_sampling=Sampling(temperature=0.2, max_tokens=400),
    )
    record = asyncio.run(simulate(dosage, Condition(), agent, env, settings, seed=5))
    (turn,) = record.turns
    # constrained decoding: the agent's reply is a valid tool choice, whatever the tiny model thinks
    assert turn.action.parse_mode == "json" and turn.action.ok, turn.agent_call.response.content
    assert turn.action.tool_role in {
        "validator",
        "registrar",
        "standard-terminal",
        "inhibitor",
        "modifier",
        "direct-terminal",
    }
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


def test_roles_share_one_model_and_reuse_saved_prefixes(dosage):
    require_local()
    from toxpro.models import Sampling, build_model, local
    from toxpro.scenario import Condition
    from toxpro.simulate import RunSettings, simulate

    local.close_all()
    agent = build_model("local/smollm2-135m", slot="agent")
    env = build_model("local/smollm2-135m", slot="environment")
    sampling = Sampling(temperature=0.2, max_tokens=48)  # replies may be cut off: turn 2 then comes anyway

    def run(turns, seed):
        settings = RunSettings(max_turns=turns, max_protocol_errors=2, agent_sampling=sampling, env_sampling=sampling)
        record = asyncio.run(simulate(dosage, Condition(), agent, env, settings, seed=seed))
        return [c for t in record.turns for c in [t.agent_call, *t.env_calls] if c.who == "agent" and c.response]

    first = run(2, 5)
    assert len(local._CONTEXTS) == 1  # one set of weights for both roles
    # turn 2 of the agent continues from turn 1's saved state, whatever ran on the context in between
    assert len(first) == 2 and first[1].response.usage.cached_tokens >= first[0].response.usage.prompt_tokens // 2
    (again,) = run(1, 6)
    # a repeated run reuses the agent's stable prefix (its system prompt up to the shuffled tool list)
    u, t = again.response.usage, again.response.raw["timings"]
    assert u.cached_tokens > 20 and t["prompt_evaluated"] <= u.prompt_tokens - u.cached_tokens + 1


def test_grammar_is_checked_token_by_token_and_replies_still_fit_the_schema():
    """Sampling in llama.cpp's order (models/local_sampling.py): the tiny model's own choices are
    checked against the grammar one token at a time, and a rejected token is sampled again under it."""
    require_local()
    import json

    from toxpro.models import ChatRequest, Sampling, build_model
    from toxpro.models.local_sampling import LazyGrammarSampler

    schema = {
        "type": "object",
        "properties": {"verdict": {"enum": ["qzx-approve", "qzx-refuse"]}, "n": {"type": "integer"}},
        "required": ["verdict", "n"],
        "additionalProperties": False,
    }
    model = build_model("local/smollm2-135m", slot="agent")
    request = ChatRequest(
        messages=[{"role": "user", "content": "Write a short poem about the sea."}],
        json_schema=schema,
        sampling=Sampling(temperature=0.7, max_tokens=64, seed=3),
    )
    seen = []
    original = LazyGrammarSampler.sample

    def counting(self, ctx, idx=-1):
        seen.append(self)
        return original(self, ctx, idx)

    LazyGrammarSampler.sample = counting
    try:
        reply = asyncio.run(model.chat(request))
    finally:
        LazyGrammarSampler.sample = original
    value = json.loads(reply.content)
    assert value["verdict"] in ("qzx-approve", "qzx-refuse") and isinstance(value["n"], int)
    sampler = seen[-1]
    # a poem is not this JSON: the grammar must have sent tokens back, and most were the model's own
    assert sampler.sampled >= reply.usage.completion_tokens > 0 and 0 < sampler.rejected < sampler.sampled
