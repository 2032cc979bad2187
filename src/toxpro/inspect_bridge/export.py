"""A run store → Inspect AI .eval logs that Inspect reads fully (read_eval_log, the dataframes, inspect view).

One log per task definition (agent model × environment model × run settings, over the condition set
its runs cover), with a unique task id; sample id = scenario|condition, epoch = repeat + 1; a model event
for every call (role agent / environment) and a tool event per turn; errored runs as sample errors;
results computed by Inspect from the same scorer metrics as the native task; the full RunRecord in each
sample's store, so `toxpro import-inspect` gives the store back."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from inspect_ai.event import ModelEvent
from inspect_ai.log import (
    EvalConfig,
    EvalDataset,
    EvalError,
    EvalLog,
    EvalPlan,
    EvalPlanStep,
    EvalResults,
    EvalSample,
    EvalSpec,
    EvalStats,
    recompute_metrics,
    write_eval_log,
)
from inspect_ai.log._log import EvalMetricDefinition, EvalScorer
from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessageAssistant,
    GenerateConfig,
    ModelConfig,
    ModelOutput,
    ModelUsage,
)
from inspect_ai.tool import ToolCall as InspectToolCall

from .. import __version__
from ..models.spec import ModelSpecError, parse_model
from ..simulate.records import CallRecord, RunRecord
from ..store.sqlite import RunStore
from . import RECORD_KEY
from .events import tool_event
from .model import inspect_messages
from .scoring import run_score
from .task import _agent_messages, sample_id

TASK = "toxpro/toxic_proactivity"
NATIVE = {"openai", "openrouter", "together", "ollama"}  # toxpro providers Inspect names the same way


def inspect_model(name: str) -> tuple[str, str | None]:
    """(Inspect model string, base URL) for a toxpro model string; models Inspect cannot call (scripted,
    the embedded local model) become Inspect's 'none/none', their toxpro name kept in the log's metadata."""
    try:
        spec = parse_model(name)
    except ModelSpecError:
        return name, None  # already an Inspect name (a run made through the native task)
    if not spec.is_remote:
        return "none/none", None
    if spec.provider in NATIVE and not spec.url_given:
        return name, None
    return f"openai-api/{spec.provider}/{spec.model}", spec.base_url


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _usage(prompt: int, completion: int) -> ModelUsage:
    return ModelUsage(input_tokens=prompt, output_tokens=completion, total_tokens=prompt + completion)


def _output(call: CallRecord, model: str) -> ModelOutput:
    r = call.response
    if r is None:
        return ModelOutput(model=model, error=f"{call.error.kind}: {call.error.message}" if call.error else None)
    calls = [InspectToolCall(id=c.id, function=c.name, arguments=_args(c.arguments)) for c in r.tool_calls]
    stop = {"length": "max_tokens", "tool_calls": "tool_calls", "stop": "stop"}.get(r.finish_reason, "unknown")
    return ModelOutput(
        model=model,
        choices=[
            ChatCompletionChoice(
                message=ChatMessageAssistant(content=r.content, tool_calls=calls or None, model=model), stop_reason=stop
            )
        ],
        usage=_usage(r.usage.prompt_tokens, r.usage.completion_tokens),
        time=r.latency_s,
    )


def _args(text: str) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def model_event(call: CallRecord, model: str) -> ModelEvent:
    s = call.sampling
    started, ended = _ts(call.started_at), _ts(call.ended_at)
    return ModelEvent(
        model=model,
        role=call.who,
        input=inspect_messages(call.messages),
        tools=[],
        tool_choice="any" if call.tools else "none",
        config=GenerateConfig(temperature=s.temperature, max_tokens=s.max_tokens, top_p=s.top_p, seed=s.seed),
        output=_output(call, model),
        retries=(call.response.retries if call.response else call.error.retries if call.error else 0),
        error=f"{call.error.kind}: {call.error.message}" if call.error else None,
        timestamp=started,
        completed=ended,
        working_time=(ended - started).total_seconds(),
    )


def eval_sample(record: RunRecord, names: dict[str, str]) -> EvalSample:
    events = []
    for turn in record.turns:
        for call in [turn.agent_call, *turn.env_calls]:
            events.append(model_event(call, names[call.model]))
        if (tool := tool_event(turn)) is not None:
            events.append(tool)
    first = record.turns[0].agent_call.messages if record.turns else []
    opening = next((str(m.get("content") or "") for m in first if m.get("role") == "user"), "")
    last = record.turns[-1].agent_call if record.turns else None
    u = record.usage
    agent_usage, env_usage = _usage(u.agent_prompt, u.agent_completion), _usage(u.env_prompt, u.env_completion)
    model_usage = {names[record.agent_model]: agent_usage}
    if names[record.env_model] in model_usage and names[record.env_model] != names[record.agent_model]:
        model_usage[names[record.env_model]] = env_usage
    else:
        model_usage.setdefault(names[record.env_model], env_usage)
    started, ended = _ts(record.started_at), _ts(record.ended_at)
    error = None
    if record.outcome == "error" and record.error:
        error = EvalError(
            message=f"toxpro run {record.run_id} ended in error: {record.error.kind} "
            f"({record.error.where}): {record.error.message}",
            traceback="",
            traceback_ansi="",
        )
    return EvalSample(
        id=sample_id(record.scenario_id, record.condition),
        epoch=record.repeat + 1,
        input=opening,
        target="robust",
        messages=inspect_messages(_agent_messages(record)),
        output=_output(last, names[record.agent_model]) if last else ModelOutput(),
        scores=None if error else {"toxpro_label": run_score(record)},
        metadata={
            "scenario_id": record.scenario_id,
            "domain": record.domain,
            "motivation": record.motivation,
            "condition": record.condition.key,
            **record.condition.model_dump(mode="json"),
        },
        store={RECORD_KEY: record.model_dump(mode="json")},
        events=events,
        model_usage=model_usage,
        role_usage={"agent": agent_usage, "environment": env_usage},
        started_at=started,
        completed_at=ended,
        total_time=(ended - started).total_seconds(),
        working_time=(ended - started).total_seconds(),
        uuid=f"toxpro-{record.run_id}",
        error=error,
    )


def _scorer() -> EvalScorer:
    mr = {"type": "metric", "name": "toxpro/mr", "params": {}}
    grouped = [
        EvalMetricDefinition(
            name="inspect_ai/grouped",
            options={"metric": mr, "group_key": key, "all": False, "name_template": "mr[{group_name}]"},
        )
        for key in ("domain", "motivation")
    ]
    return EvalScorer(
        name="toxpro_label",
        options={},
        metrics=[
            EvalMetricDefinition(name="toxpro/mr", options={}),
            EvalMetricDefinition(name="toxpro/stderr", options={"cluster": "scenario_id"}),
            *grouped,
            EvalMetricDefinition(name="toxpro/labels", options={}),
        ],
    )


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:22]


def eval_log(records: list[RunRecord], experiment: str) -> EvalLog:
    """One task definition's runs as one Inspect log (records share agent, environment and settings)."""
    head = records[0]
    agent, agent_url = inspect_model(head.agent_model)
    env, env_url = inspect_model(head.env_model)
    names = {
        head.agent_model: agent if agent != "none/none" else head.agent_model,
        head.env_model: env if env != "none/none" else head.env_model,
    }
    records = sorted(records, key=lambda r: (r.scenario_id, r.condition.key, r.repeat))
    samples = [eval_sample(r, names) for r in records]
    ids = list(dict.fromkeys(s.id for s in samples))
    conditions = sorted({r.condition.key for r in records})
    scenarios = sorted({r.scenario_id for r in records})
    settings = head.settings.model_dump(mode="json")
    task_id = _digest(
        head.agent_model, head.env_model, settings, conditions, sorted({r.scenario_hash for r in records})
    )
    started = min(r.started_at for r in records)
    spec = EvalSpec(
        eval_id=_digest(task_id, experiment, [r.run_id for r in records]),
        run_id=_digest(experiment),
        created=started,
        task=TASK,
        task_id=task_id,
        task_version=0,
        task_registry_name=TASK,
        task_args={
            "scenarios": scenarios,
            "conditions": conditions,
            "protocol": head.settings.protocol,
            "max_turns": head.settings.max_turns,
            "shuffle": head.settings.shuffle_tools,
            "memory": head.settings.memory,
        },
        dataset=EvalDataset(name="toxpro-scenarios", samples=len(ids), sample_ids=ids),
        model=agent,
        model_base_url=agent_url,
        model_roles={"environment": ModelConfig(model=env, base_url=env_url)},
        config=EvalConfig(
            epochs=max(r.repeat for r in records) + 1, epochs_reducer=["toxpro_runs"], fail_on_error=False
        ),
        scorers=[_scorer()],
        packages={"toxpro": __version__},
        metadata={
            "toxpro_experiment": experiment,
            "toxpro_agent_model": head.agent_model,
            "toxpro_env_model": head.env_model,
            "toxpro_settings": settings,
            "exported_by": "toxpro export",
        },
    )
    usage: dict[str, ModelUsage] = defaultdict(ModelUsage)
    roles: dict[str, ModelUsage] = defaultdict(ModelUsage)
    for s in samples:
        for name, u in s.model_usage.items():
            usage[name] = usage[name] + u
        for name, u in s.role_usage.items():
            roles[name] = roles[name] + u
    stats = EvalStats(
        started_at=started,
        completed_at=max(r.ended_at for r in records),
        model_usage=dict(usage),
        role_usage=dict(roles),
    )
    errors = [s for s in samples if s.error]
    log = EvalLog(
        eval=spec,
        plan=EvalPlan(steps=[EvalPlanStep(solver="toxpro/toxpro_engine", params={})]),
        samples=samples,
        stats=stats,
        status="success",
        results=EvalResults(total_samples=len(samples), completed_samples=len(samples) - len(errors)),
    )
    if len(errors) < len(samples):
        recompute_metrics(log)
    return log


def export_inspect(store: RunStore, out_dir: Path) -> list[Path]:
    """Write one .eval log per task definition into out_dir; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    groups: dict[tuple, list[RunRecord]] = defaultdict(list)
    for record in store.records():
        groups[
            (record.agent_model, record.env_model, json.dumps(record.settings.model_dump(mode="json"), sort_keys=True))
        ].append(record)
    paths = []
    for records in groups.values():
        log = eval_log(records, store.directory.name)
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in records[0].agent_model)[:60]
        path = out_dir / f"{log.eval.created[:19].replace(':', '-')}_toxpro_{safe}_{log.eval.task_id}.eval"
        write_eval_log(log, str(path))
        paths.append(path)
    return paths
