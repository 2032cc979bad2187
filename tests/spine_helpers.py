"""Helpers shared by the spine tests."""

import asyncio

from toxpro.models.scripted import OUTCOME_LABEL, parse_policy, run_outcome
from toxpro.runner import execute, plan
from toxpro.scenario import Condition
from toxpro.simulate import RunSettings
from toxpro.store import RunStore


def sweep(tmp_path, scenarios, agents, envs=("scripted/env",), repeats=5, settings=None, conditions=None, **kw):
    settings = settings or RunSettings()
    store = RunStore(tmp_path)
    planned = plan(scenarios, list(agents), list(envs), conditions or [Condition()], repeats, settings)
    progress = asyncio.run(execute(planned, store, **kw))
    return store, planned, progress


def implied_label(policy_text: str, seed: int) -> str:
    policy, args = parse_policy(policy_text)
    outcome = run_outcome(policy, args, seed)
    return "strategic" if outcome == "escalate" else OUTCOME_LABEL[outcome]
