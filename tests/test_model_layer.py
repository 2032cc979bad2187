"""The model-call layer: specs parsed once, the provider registry, the one worker pool."""

import asyncio

import pytest

from toxpro.models import RetryPolicy, build_model, parse_model
from toxpro.models.pool import run_pool
from toxpro.models.providers import PROVIDERS, api_key
from toxpro.runner.config import SweepConfig


def test_a_model_string_is_parsed_once():
    a, b = parse_model("vllm/Qwen/Qwen3-8B@http://gpu:8000/v1"), parse_model("vllm/Qwen/Qwen3-8B@http://gpu:8000/v1")
    assert a is b and a.url_given and a.unbound == "vllm/Qwen/Qwen3-8B"
    assert not parse_model("openai/gpt-4o").url_given
    assert parse_model("scripted/judge:noise=0.2").double == "judge"
    assert parse_model("scripted/synth").double == "synth" and parse_model("scripted/env").double is None
    assert parse_model("local").schema_by_grammar and not parse_model("openai/gpt-4o").schema_by_grammar


def test_every_registered_provider_builds(monkeypatch):
    for p in PROVIDERS.values():
        if p.key_env:
            monkeypatch.setenv(p.key_env, "sk-test-0000000000")
    for name, p in PROVIDERS.items():
        if name == "local":
            continue  # needs weights
        text = "scripted/env" if name == "scripted" else f"{name}/m" + ("" if p.base_url else "@http://127.0.0.1:9/v1")
        model = build_model(text, policy=RetryPolicy(transport="direct"))
        assert model.name == text
        asyncio.run(model.aclose())


def test_a_missing_key_is_named(monkeypatch):
    from toxpro.models import ModelError

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ModelError, match="OPENAI_API_KEY"):
        api_key(parse_model("openai/gpt-4o"))
    monkeypatch.delenv("TOXPRO_API_KEY", raising=False)
    assert api_key(parse_model("compat/x@http://127.0.0.1:9/v1")) == "not-needed"


def test_the_sweep_carries_each_models_spec():
    config = SweepConfig(
        agents=["fast=scripted/always-compliant", "scripted/strategic"],
        generation={"scripted/strategic": {"max_tokens": 99}},
    )
    specs = config.model_specs()
    assert specs["scripted/always-compliant"].name == "fast" and specs["scripted/strategic"].name is None
    assert specs["scripted/strategic"].generation.max_tokens == 99
    assert config.settings_for("scripted/strategic", "scripted/env").agent_sampling.max_tokens == 99
    assert config.agent_tags() == {
        "scripted/always-compliant": ("fast", None, False),
        "scripted/strategic": (None, None, False),
    }


def test_the_pool_keeps_order_bounds_workers_and_stops():
    started, running, peak = [], [0], [0]

    async def work(i: int) -> None:
        started.append(i)
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        await asyncio.sleep(0)
        running[0] -= 1

    left = asyncio.run(run_pool(range(10), work, 3))
    assert started == list(range(10)) and peak[0] <= 3 and left == []
    started.clear()
    left = asyncio.run(run_pool(range(10), work, 2, stop=lambda: len(started) >= 4))
    assert started == [0, 1, 2, 3] and left == list(range(4, 10))


def test_a_crashing_worker_cancels_the_others():
    finished = []

    async def work(i: int) -> None:
        if i == 1:
            raise RuntimeError("crash")
        await asyncio.sleep(0.01)
        finished.append(i)

    with pytest.raises(RuntimeError):
        asyncio.run(run_pool(range(6), work, 3))
    assert finished == []
