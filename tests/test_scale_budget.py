"""Sweep files with budget caps, dry-run estimates of calls, tokens and cost."""

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from toxpro.cli import app
from toxpro.runner import execute, plan
from toxpro.runner.budget import Budget, cost_usd, price_for
from toxpro.runner.config import SweepConfig, SweepConfigError, sweep_from_file
from toxpro.runner.estimate import estimate_numbers
from toxpro.scenario import Condition
from toxpro.simulate import RunSettings
from toxpro.store import RunStore

runner = CliRunner()
EXAMPLE = Path(__file__).parent.parent / "examples" / "sweep.yaml"


def _sweep(tmp_path, dosage, budget, repeats=30, concurrency=4, agent="scripted/always-compliant"):
    settings = RunSettings(max_turns=6)
    planned = plan([dosage], [agent], ["scripted/env"], [Condition()], repeats, settings)
    store = RunStore(tmp_path)
    progress = asyncio.run(execute(planned, store, concurrency=concurrency, budget=budget))
    return store, planned, progress


def test_prices_match_the_longest_prefix():
    prices = {"openai/": (1.0, 2.0), "openai/gpt-4o-mini": (0.1, 0.2)}
    assert price_for("openai/gpt-4o-mini", prices)[:2] == (0.1, 0.2)
    assert price_for("openai/gpt-4o", prices)[:2] == (1.0, 2.0)
    assert price_for("scripted/strategic", {})[:2] == (0.0, 0.0) and price_for("local/qwen", {})[:2] == (0.0, 0.0)
    assert price_for("openrouter/x/y", prices) is None
    # USD per 1M tokens; cached prompt tokens at the cached-input price, the full price where none is given
    assert cost_usd("openai/gpt-4o", 1_000_000, 500_000, prices) == pytest.approx(2.0)
    cached = {"openai/": (1.0, 2.0, 0.25)}
    assert cost_usd("openai/gpt-4o", 1_000_000, 0, cached, cached_tokens=600_000) == pytest.approx(0.4 + 0.15)
    assert cost_usd("openai/gpt-4o", 1_000_000, 0, prices, cached_tokens=600_000) == pytest.approx(1.0)


def test_token_cap_stops_new_runs_and_drops_in_flight_ones(tmp_path, dosage):
    budget = Budget(tokens={"agent": 15_000}, on_budget="drop")
    store, planned, progress = _sweep(tmp_path, dosage, budget)
    assert progress.budget_stop and "agent token budget reached" in progress.budget_stop
    stored = store.count()
    assert stored == progress.done and 0 < stored < 30
    assert progress.dropped > 0 and stored + progress.dropped + progress.not_started == 30
    assert all(r["label"] == "robust" for r in store.rows())  # only whole runs were stored
    # the cap counts what is stored: resuming with the same cap starts nothing
    store2, _, again = _sweep(tmp_path, dosage, Budget(tokens={"agent": 15_000}))
    assert again.done == 0 and again.budget_stop and again.not_started == 30 - stored
    # raising the cap runs the rest, dropped runs included
    _, _, rest = _sweep(tmp_path, dosage, Budget(tokens={"agent": 10**9}))
    assert rest.done == 30 - stored and rest.budget_stop is None and RunStore(tmp_path).count() == 30


def test_finish_mode_stores_in_flight_runs(tmp_path, dosage):
    budget = Budget(tokens={"total": 20_000}, on_budget="finish")
    store, _, progress = _sweep(tmp_path, dosage, budget, concurrency=6)
    assert progress.budget_stop and progress.dropped == 0
    assert store.count() == progress.done and progress.done + progress.not_started == 30
    assert sum(budget.spent_tokens.values()) >= 20_000


def test_usd_cap_with_prices(tmp_path, dosage):
    # scripted models are free unless priced; price them so the cap bites
    budget = Budget(usd={"environment": 0.05}, prices={"scripted/env": (1.0, 1.0)})  # USD per 1M tokens
    store, _, progress = _sweep(tmp_path, dosage, budget)
    assert progress.budget_stop and "environment cost budget reached" in progress.budget_stop
    assert budget.spent_usd["environment"] >= 0.05 and budget.spent_usd["agent"] == 0.0
    assert 0 < store.count() < 30


def test_config_budget_validation(tmp_path):
    with pytest.raises(ValueError, match="needs a price for every model"):
        SweepConfig(agents=["vllm/m@http://127.0.0.1:9/v1"], envs=["scripted/env"], budget_usd=5)
    # the built-in table prices known models (USD per 1M tokens, with cached input)
    assert SweepConfig(agents=["openai/gpt-4o"], envs=["scripted/env"], budget_usd=5).budget().prices[
        "openai/gpt-4o"
    ] == (2.50, 10.00, 1.25)
    with pytest.raises(ValueError, match="unknown budget role"):
        SweepConfig(agents=["scripted/strategic"], budget_tokens={"judge": 5})
    ok = SweepConfig(agents=["openai/gpt-4o"], envs=["scripted/env"], budget_usd=5, prices={"openai/": [2.5, 10]})
    assert ok.budget().usd == {"total": 5.0} and ok.prices["openai/"] == (2.5, 10.0)
    f = tmp_path / "sweep.yaml"
    f.write_text("agents: [openai/gpt-4o]\nenvs: [scripted/env]\nbudget_usd: {agent: 1, moon: 2}\n")
    with pytest.raises(SweepConfigError, match=f"{f}:budget_usd: unknown budget role"):
        sweep_from_file(f)


def test_example_sweep_file_parses_and_documents_every_key():
    config = sweep_from_file(EXAMPLE)
    assert config.budget_usd == {"total": 5.0} and config.budget_tokens["agent"] == 2_000_000
    assert config.prices and config.limits and config.rpm
    text = EXAMPLE.read_text()
    for key in SweepConfig.model_fields:  # run settings are commented out: a written key overrides the preset
        assert f"\n{key}:" in text or f"\n# {key}:" in text, f"examples/sweep.yaml does not document {key!r}"


def test_dry_run_estimates_calls_tokens_and_cost(tmp_path, dosage):
    settings = RunSettings(max_turns=10)
    planned = plan([dosage], ["openai/gpt-4o"], ["scripted/env"], [Condition()], 4, settings)
    store = RunStore(tmp_path)
    budget = Budget(usd={"total": 0.05}, prices={"openai/gpt-4o": (2500, 10000)})  # USD per 1M tokens
    est = estimate_numbers(planned, settings, store, budget)
    assert est.todo == 4 and est.calls_typical == 4 * 2 * 6 and est.calls_worst == 4 * 2 * 10
    a_in, a_out = est.tokens["agent"]
    assert est.usd["agent"] == pytest.approx((a_in * 2500 + a_out * 10000) / 1e6)  # no cached price: full price
    assert est.usd["environment"] == 0 and est.usd_worst["agent"] > est.usd["agent"]
    assert est.runs_within_budget == 0 and "stops after about 0 of 4 runs" in est.format()
    roomy = estimate_numbers(planned, settings, store, Budget(usd={"total": 10**6}, prices=budget.prices))
    assert roomy.runs_within_budget == 4 and "fits" in roomy.format()


def test_cli_budget_flags_and_message(tmp_path):
    args = [
        "run",
        "-s",
        "healthcare-loyalty-dosage-audit",
        "-a",
        "scripted/always-compliant",
        "-n",
        "20",
        "--concurrency",
        "2",
        "--budget-tokens",
        "agent=12000",
        "-o",
        str(tmp_path),
        "-q",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "agent token budget reached" in result.output and "No new runs started" in result.output
    dry = runner.invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0 and "at the typical estimate the sweep stops" in dry.output
    bad = runner.invoke(app, ["run", "-a", "vllm/m@http://127.0.0.1:9/v1", "--budget-usd", "3", "-o", str(tmp_path)])
    assert bad.exit_code == 2 and "needs a price" in bad.output
