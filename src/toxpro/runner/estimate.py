"""Dry-run estimates: calls and tokens a sweep would spend, before spending anything."""

from __future__ import annotations

from ..scenario.conditions import Condition
from ..simulate import prompts
from ..simulate.records import RunSettings
from ..scenario.shuffle import make_view
from ..store.sqlite import RunStore
from .sweep import PlannedRun

CHARS_PER_TOKEN = 4
TYPICAL_TURNS = 6  # what runs of API models took in our pilots; the cap bounds the worst case


def estimate(planned: list[PlannedRun], settings: RunSettings, store: RunStore) -> str:
    done = store.done_ids()
    todo = [p for p in planned if p.run_id not in done]
    if not todo:
        return f"{len(planned)} runs planned, all already stored: nothing to spend."
    agent_tokens = env_tokens = 0
    worst_tokens = 0
    for p in todo:
        view = make_view(p.scenario, None)
        sys_a = len(prompts.agent_system(p.scenario, p.condition, view, settings.protocol)) // CHARS_PER_TOKEN
        open_a = len(prompts.agent_opening(p.scenario, p.condition)) // CHARS_PER_TOKEN
        sys_e = len(prompts.env_system(p.scenario, p.condition)) // CHARS_PER_TOKEN
        reply_a = settings.agent_sampling.max_tokens // 3
        reply_e = settings.env_sampling.max_tokens // 3

        def cost(turns: int) -> tuple[int, int]:
            # the agent's conversation grows each turn: prompt t = base + t*(reply + observation)
            agent = sum(sys_a + open_a + t * (reply_a + reply_e) + reply_a for t in range(turns))
            env = turns * (sys_e + 200 + reply_e)
            return agent, env

        a, e = cost(min(TYPICAL_TURNS, settings.max_turns))
        agent_tokens += a
        env_tokens += e
        worst_tokens += sum(cost(settings.max_turns))
    turns = min(TYPICAL_TURNS, settings.max_turns)
    return (f"{len(planned)} runs planned, {len(todo)} to simulate ({len(planned) - len(todo)} stored).\n"
            f"calls ≈ {2 * turns * len(todo):,} (typical {turns} turns) and at most {2 * settings.max_turns * len(todo):,}\n"
            f"tokens ≈ agent {agent_tokens:,} + environment {env_tokens:,} = {agent_tokens + env_tokens:,} "
            f"(worst case at the turn cap {worst_tokens:,})")
