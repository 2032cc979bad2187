"""The native Inspect task `toxpro/toxic_proactivity`: one Sample per scenario × condition, epochs are
repeats, and the solver runs toxpro's own engine with the task's model as the agent and the
`environment` model role (default: the agent's model) as the environment.

    inspect eval toxpro/toxic_proactivity --model openai/gpt-4o --model-role environment=openai/gpt-4o-mini

Each run gets the run id and seed `toxpro run` would give it (same scenario, models, settings, condition,
repeat and base seed), so the same scripted models give the same labels through either door."""

from __future__ import annotations

import copy
import traceback
from typing import Any

from inspect_ai import Epochs, Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import Model, get_model
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.util import LimitExceededError
from pydantic import ValidationError

from ..core.conditions import VARIABLES
from ..core.errors import ToxproError
from ..label.rules import label_run
from ..runner.config import SweepConfig
from ..runner.sweep import PlannedRun, plan
from ..scenario.conditions import Condition
from ..scenario.loader import ScenarioError, resolve
from ..scenario.schema import Scenario
from ..scenario.shuffle import make_view
from ..simulate import prompts
from ..simulate.engine import simulate
from ..simulate.records import RunError, RunRecord, RunSettings, Turn, now
from . import RECORD_KEY
from .events import record_turn
from .model import InspectChatModel, inspect_messages, toxpro_name
from .scoring import toxpro_label, toxpro_runs

EXPERIMENT = "inspect"  # RunRecord.experiment of runs made through Inspect


class TaskArgumentError(ToxproError, ValueError):
    """A bad -T argument of toxpro/toxic_proactivity (the message names the argument)."""

    def __init__(self, message: str):
        super().__init__(f"toxpro/toxic_proactivity: {message}")


class RunFailed(ToxproError, RuntimeError):
    """A toxpro run that ended as an error (API failure, protocol error): an Inspect sample error."""


def _items(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    parts = value if isinstance(value, list) else str(value).replace(";", ",").split(",")
    return [str(p).strip() for p in parts if str(p).strip()]


def sweep_config(
    scenarios: list[str],
    conditions: list[str],
    preset: str | None,
    protocol: str | None,
    max_turns: int | None,
    shuffle: bool | None,
    seed: int,
    memory: str | None,
) -> SweepConfig:
    """The task arguments as the sweep config `toxpro run` would build (so settings and conditions agree)."""
    paired = conditions == ["paired"]
    grid = [] if paired or conditions in ([], ["baseline"]) else conditions
    data: dict[str, Any] = {
        "scenarios": scenarios,
        "conditions": grid,
        "paired": paired,
        "seed": seed,
        "agents": ["scripted/always-compliant"],
    }  # placeholder: models come from Inspect
    optional = {"preset": preset, "protocol": protocol, "max_turns": max_turns, "shuffle": shuffle, "memory": memory}
    data |= {k: v for k, v in optional.items() if v is not None}
    if preset is not None and "preset" not in SweepConfig.model_fields:
        raise ValueError("preset: this toxpro has no run presets")
    return SweepConfig(**data)


def _sampling(settings: RunSettings, temperature, max_tokens, env_temperature, env_max_tokens) -> RunSettings:
    agent = {k: v for k, v in (("temperature", temperature), ("max_tokens", max_tokens)) if v is not None}
    env = {k: v for k, v in (("temperature", env_temperature), ("max_tokens", env_max_tokens)) if v is not None}
    return settings.model_copy(
        update={
            "agent_sampling": settings.agent_sampling.model_copy(update=agent),
            "env_sampling": settings.env_sampling.model_copy(update=env),
        }
    )


def sample_id(scenario_id: str, condition: Condition) -> str:
    return f"{scenario_id}|{condition.key}"


def dataset(scenarios: list[Scenario], conditions: list[Condition]) -> MemoryDataset:
    samples = []
    for s in scenarios:
        for c in conditions:
            samples.append(
                Sample(
                    id=sample_id(s.id, c),
                    input=prompts.agent_opening(s, c),
                    target="robust",
                    metadata={
                        "scenario_id": s.id,
                        "domain": s.domain.value,
                        "motivation": s.motivation.value,
                        "condition": c.key,
                        **c.model_dump(mode="json"),
                    },
                )
            )
    return MemoryDataset(samples, name="toxpro-scenarios")


def planned_run(
    scenario: Scenario, condition: Condition, agent: str, env: str, repeat: int, settings: RunSettings, seed: int
) -> PlannedRun:
    """The run `toxpro run` plans for this cell and repeat (same run id, same seed)."""
    return plan([scenario], [agent], [env], [condition], repeat + 1, settings, seed)[-1]


def cut_record(p: PlannedRun, settings: RunSettings, turns: list[Turn], started: str) -> RunRecord:
    """A run an Inspect limit (tokens, messages, time) cut short: its turns so far, labelled like a turn cap."""
    from .. import __version__

    s = p.scenario
    record = RunRecord(
        run_id=p.run_id,
        experiment=EXPERIMENT,
        toxpro_version=__version__,
        scenario_id=s.id,
        scenario_hash=s.content_hash,
        scenario_version=s.version,
        domain=s.domain.value,
        motivation=s.motivation.value,
        condition=p.condition,
        agent_model=p.agent_model,
        env_model=p.env_model,
        settings=settings,
        repeat=p.repeat,
        seed=p.seed,
        tool_view=make_view(s, p.seed if settings.shuffle_tools else None),
        turns=turns,
        outcome="turn_cap",
        final_state=copy.deepcopy(turns[-1].state_after) if turns else copy.deepcopy(s.initial_state),
        started_at=started,
        ended_at=now(),
    )
    record.label = label_run(record)
    return record


def failed_record(record: RunRecord, message: str) -> RunRecord:
    """The same run marked as an error of the engine (or of Inspect, when its sample errored)."""
    failed = record.model_copy(
        update={"outcome": "error", "error": RunError(kind="internal", where="engine", message=message[-2000:])}
    )
    failed.label = label_run(failed)
    return failed


def _agent_messages(record: RunRecord) -> list[dict[str, Any]]:
    """The agent's conversation at the end of the run (its last request plus the last reply)."""
    calls = [t.agent_call for t in record.turns]
    if not calls:
        return []
    last, turn = calls[-1], record.turns[-1]
    if last.response is None:
        return list(last.messages)
    reply = {"role": "assistant", "content": last.response.content}
    if record.settings.protocol == "tools" and last.response.tool_calls:
        call = last.response.tool_calls[0]
        reply["tool_calls"] = [
            {
                "id": call.id or "call_0",
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
        ]
    out = [*last.messages, reply]
    if turn.env is not None and turn.action is not None:  # the last observation the agent was shown
        text = prompts.observation_text(
            turn.action.tool_id or "", turn.action.tool_name or "", turn.env.status, turn.env.observation
        )
        out.append(
            {"role": "tool", "tool_call_id": reply["tool_calls"][0]["id"], "content": text}
            if reply.get("tool_calls")
            else {"role": "user", "content": text}
        )
    return out


@solver
def toxpro_engine(
    scenarios: list[str] | None = None,
    settings: dict[str, Any] | None = None,
    seed: int = 0,
    response_schema: bool = False,
) -> Solver:
    """Run one toxpro simulation per sample and epoch; the record goes into the sample store.
    scenarios: selectors as for toxpro run; settings: RunSettings as JSON (default toxpro's)."""
    by_id = {s.id: s for s in resolve(scenarios or None)}
    run_settings = RunSettings.model_validate(settings or {})

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        agent_model: Model = get_model()
        env_model: Model = get_model(role="environment", default=agent_model)
        condition = Condition(**{k: state.metadata[k] for k in VARIABLES})
        settings = run_settings
        p = planned_run(
            by_id[state.metadata["scenario_id"]],
            condition,
            toxpro_name(agent_model),
            toxpro_name(env_model),
            state.epoch - 1,
            settings,
            seed,
        )
        agent = InspectChatModel(agent_model, "agent", p.agent_model, response_schema)
        env = InspectChatModel(env_model, "environment", p.env_model, response_schema)
        turns: list[Turn] = []
        started = now()

        def keep_so_far() -> None:
            """The run so far, scored as a cut run if an Inspect limit (tokens, messages, time) ends it."""
            state.store.set(RECORD_KEY, cut_record(p, settings, turns, started).model_dump(mode="json"))

        def on_turn(turn: Turn) -> None:
            turns.append(turn)
            record_turn(turn)
            keep_so_far()

        keep_so_far()  # an Inspect limit raises out of simulate; the store then holds the run so far
        try:
            record = await simulate(
                p.scenario, p.condition, agent, env, settings, p.seed, p.run_id, p.repeat, EXPERIMENT, on_turn=on_turn
            )
        except LimitExceededError:
            raise
        except Exception:  # an engine bug: stored as an error run, and a sample error
            state.store.set(
                RECORD_KEY,
                failed_record(cut_record(p, settings, turns, started), traceback.format_exc()).model_dump(mode="json"),
            )
            raise
        record.label = label_run(record)
        state.store.set(RECORD_KEY, record.model_dump(mode="json"))
        state.messages = inspect_messages(_agent_messages(record))
        if agent.last_output is not None:
            state.output = agent.last_output
        if record.outcome == "error":
            raise RunFailed(
                f"toxpro run {record.run_id} ended in error: {record.error.kind} "
                f"({record.error.where}): {record.error.message}"
            )
        return state

    return solve


@task(name="toxic_proactivity")
def toxic_proactivity(
    scenarios: str | list[str] | None = None,
    conditions: str | list[str] = "baseline",
    preset: str | None = None,
    protocol: str | None = None,
    max_turns: int | None = None,
    shuffle: bool | None = None,
    seed: int = 0,
    memory: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    env_temperature: float | None = None,
    env_max_tokens: int | None = None,
    response_schema: bool = False,
) -> Task:
    """Toxic Proactivity (arXiv 2602.04197) with toxpro's engine.

    Args:
      scenarios: built-in ids, YAML files or directories (a comma list is accepted); default: all 32.
      conditions: baseline | paired | a grid like toxpro run's -c (e.g. "stakes=*,feedback=low|high").
      preset, protocol (json | tools), max_turns, shuffle, seed, memory (stateless | full): as in toxpro run.
      temperature, max_tokens, env_temperature, env_max_tokens: toxpro's sampling for agent and environment
        (they override Inspect's --temperature/--max-tokens, because they are part of each run's id).
      response_schema: also send the reply's JSON schema as Inspect's response_schema (json protocol).
    """
    try:
        config = sweep_config(_items(scenarios), _items(conditions), preset, protocol, max_turns, shuffle, seed, memory)
        found = resolve(config.scenarios or None)
        cells = config.condition_list()
    except ScenarioError as exc:
        raise TaskArgumentError("scenarios: " + "; ".join(exc.problems)) from None
    except ValidationError as exc:
        raise TaskArgumentError(
            "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
        ) from None
    except ValueError as exc:
        raise TaskArgumentError(str(exc)) from None
    settings = _sampling(config.settings(), temperature, max_tokens, env_temperature, env_max_tokens)
    return Task(
        dataset=dataset(found, cells),
        solver=toxpro_engine(config.scenarios or None, settings.model_dump(mode="json"), config.seed, response_schema),
        scorer=toxpro_label(),
        epochs=Epochs(1, toxpro_runs()),
        fail_on_error=False,  # a failed run is data: the other samples go on (--fail-on-error overrides)
        metadata={"toxpro_settings": settings.model_dump(mode="json"), "toxpro_seed": config.seed},
    )
