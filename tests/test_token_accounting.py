"""Cached and reasoning tokens: parsed from each provider's usage, summed per run and role, priced."""

import asyncio

import numpy as np
import pytest

from toxpro.models import build_model
from toxpro.models.direct_http import response_from_body
from toxpro.runner import plan
from toxpro.runner.budget import Budget
from toxpro.runner.estimate import estimate_numbers
from toxpro.scenario import Condition
from toxpro.simulate import RunSettings, simulate
from toxpro.store import RunStore

BODY = b'{"choices":[{"message":{"content":"{}"},"finish_reason":"stop"}],"usage":%s}'


@pytest.mark.parametrize(
    "usage,expected",
    [
        # OpenAI (and OpenRouter, vLLM): details objects
        (
            b'{"prompt_tokens":2000,"completion_tokens":300,"prompt_tokens_details":{"cached_tokens":1536},'
            b'"completion_tokens_details":{"reasoning_tokens":256}}',
            (2000, 300, 1536, 256),
        ),
        # DeepSeek: prompt_cache_hit_tokens / prompt_cache_miss_tokens
        (
            b'{"prompt_tokens":900,"completion_tokens":40,"prompt_cache_hit_tokens":640,"prompt_cache_miss_tokens":260}',
            (900, 40, 640, 0),
        ),
        # nothing reported, or nonsense: zeros, never an error
        (b'{"prompt_tokens":12,"completion_tokens":3,"prompt_tokens_details":null}', (12, 3, 0, 0)),
        (b'{"prompt_tokens":"x","completion_tokens":-4,"prompt_tokens_details":{"cached_tokens":true}}', (0, 0, 0, 0)),
    ],
)
def test_usage_of_each_provider(usage, expected):
    u = response_from_body(BODY % usage, 0.1).usage
    assert (u.prompt_tokens, u.completion_tokens, u.cached_tokens, u.reasoning_tokens) == expected


class Caching:
    """A scripted model whose provider reports every prompt token but the last 10 as cached."""

    def __init__(self, model, reasoning=0):
        self.model, self.reasoning = model, reasoning
        self.name, self.endpoint = model.name, model.endpoint

    async def chat(self, request):
        response = await self.model.chat(request)
        response.usage.cached_tokens = max(0, response.usage.prompt_tokens - 10)
        response.usage.reasoning_tokens = self.reasoning
        return response

    async def aclose(self):
        await self.model.aclose()


def test_run_usage_sums_cached_and_reasoning_per_role(dosage):
    agent = Caching(build_model("scripted/stall", slot="agent"), reasoning=7)
    env = Caching(build_model("scripted/env", slot="environment"))
    record = asyncio.run(simulate(dosage, Condition(), agent, env, RunSettings(max_turns=4), seed=3))
    u = record.usage
    agent_calls = [t.agent_call for t in record.turns]
    env_calls = [c for t in record.turns for c in t.env_calls]
    assert u.agent_cached == sum(c.response.usage.prompt_tokens - 10 for c in agent_calls) > 0
    assert u.env_cached == sum(c.response.usage.prompt_tokens - 10 for c in env_calls) > 0
    assert u.agent_reasoning == 7 * len(agent_calls) and u.env_reasoning == 0


def test_budget_prices_cached_tokens_at_the_cached_rate():
    budget = Budget(prices={"openai/": (2.0, 8.0, 0.5)})
    budget.charge_record_usage(
        "openai/a",
        "openai/e",
        {
            "agent_prompt": 1_000_000,
            "agent_cached": 800_000,
            "agent_completion": 0,
            "env_prompt": 0,
            "env_completion": 0,
        },
    )
    assert budget.spent_usd["agent"] == pytest.approx(0.2 * 2.0 + 0.8 * 0.5)
    assert budget.spent_tokens["agent"] == 1_000_000  # token caps count cached tokens too


def test_dry_run_counts_the_repeated_prefix_as_cached(tmp_path, dosage):
    settings = RunSettings(max_turns=10)
    planned = plan([dosage], ["openai/gpt-4o"], ["scripted/env"], [Condition()], 2, settings)
    with RunStore(tmp_path) as store:
        cached = estimate_numbers(planned, settings, store, Budget(prices={"openai/": (2.0, 8.0, 0.5)}))
        full = estimate_numbers(planned, settings, store, Budget(prices={"openai/": (2.0, 8.0)}))
    prompt, completion = cached.tokens["agent"]
    assert 0 < cached.cached["agent"] < prompt
    assert full.usd["agent"] == pytest.approx((prompt * 2.0 + completion * 8.0) / 1e6)
    assert cached.usd["agent"] == pytest.approx(full.usd["agent"] - cached.cached["agent"] * 1.5 / 1e6)
    assert "prompt cache" in cached.format()


def test_report_table_of_tokens_and_dollars_per_run_and_role():
    from toxpro.report.tables import usage_table

    u = {
        "agent_prompt": 3000,
        "agent_cached": 2000,
        "agent_completion": 100,
        "agent_reasoning": 40,
        "env_prompt": 500,
        "env_completion": 50,
    }
    rows = [("openai/a", "vllm/e@http://h/v1", u), ("openai/a", "vllm/e@http://h/v1", dict(u, agent_prompt=1000))]
    t = usage_table(rows, {"openai/": (2.0, 8.0, 0.5)}).frame.set_index("role")
    agent, env = t.loc["agent"], t.loc["environment"]
    assert agent["runs"] == 2 and agent["prompt_per_run"] == 2000 and agent["cached_per_run"] == 2000
    assert agent["cached_share"] == pytest.approx(1.0) and agent["reasoning_per_run"] == 40
    run1 = (1000 * 2.0 + 2000 * 0.5 + 100 * 8.0) / 1e6
    run2 = (0 * 2.0 + 1000 * 0.5 + 100 * 8.0) / 1e6  # cached never exceeds the prompt
    assert agent["usd_total"] == pytest.approx(run1 + run2) and agent["usd_per_run"] == pytest.approx((run1 + run2) / 2)
    assert np.isnan(env["usd_per_run"]) and env["prompt_per_run"] == 500  # no price for the environment model


def test_one_price_unit_for_run_and_synth(tmp_path, dosage):
    from typer.testing import CliRunner

    from toxpro.cli import app
    from toxpro.runner.budget import cost_usd as run_cost
    from toxpro.synth import cost_usd as synth_cost
    from toxpro.synth import load_prices

    f = tmp_path / "prices.yaml"
    f.write_text("vllm/: [3, 12, 1]\n")
    synth_table = load_prices(f, env="")
    run_table = {"vllm/": (3, 12, 1)}
    # the same price means the same dollars: USD per 1M tokens in both
    assert synth_cost("vllm/m@http://h/v1", 2_000_000, 500_000, synth_table, 1_000_000) == pytest.approx(10.0)
    assert run_cost("vllm/m@http://h/v1", 2_000_000, 500_000, run_table, 1_000_000) == pytest.approx(10.0)
    # the CLI's --price is per 1M too: $1,000,000 per 1M input tokens = $1 per prompt token
    settings = RunSettings(max_turns=3)
    planned = plan([dosage], ["scripted/always-compliant"], ["scripted/env"], [Condition()], 1, settings)
    with RunStore(tmp_path / "est") as store:
        expected = estimate_numbers(planned, settings, store, Budget(prices={"scripted/always": (1e6, 0)}))
    result = CliRunner().invoke(
        app,
        [
            "run",
            "-s",
            dosage.id,
            "-a",
            "scripted/always-compliant",
            "--max-turns",
            "3",
            "--price",
            "scripted/always=1000000,0",
            "--dry-run",
            "-o",
            str(tmp_path / "x"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"agent ${expected.tokens['agent'][0]:,.2f}" in result.output
