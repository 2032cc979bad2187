"""One run: the agent and the environment alternate until a terminal tool, the turn cap or an error.

A run is a pure function of (scenario, condition, models, settings, seed): every piece of state it
touches is created here and dropped when it returns."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from .. import __version__
from ..models.base import ChatModel, ChatRequest, ChatResponse, ModelError
from ..safeguards import guard as safeguards  # a module import: guard imports simulate in turn
from ..scenario.conditions import FEEDBACK_TEXT, Condition
from ..scenario.schema import Scenario
from ..scenario.shuffle import ToolView, make_view
from . import paper_prompts as paper
from . import prompts
from .fidelity import check_run
from .outcomes import decide_status, ends_run, narration_rule
from .protocol import parse_agent_json, parse_agent_tools, parse_env
from .records import (
    AgentAction,
    CallError,
    CallRecord,
    EnvResult,
    RunError,
    RunRecord,
    RunSettings,
    Turn,
    Usage,
    now,
)

ENV_REASK_LIMIT = 1

# Pure-function caches (performance only): a scenario's content hash and the environment's system
# prompt are fixed for a given scenario object and condition, and computing them per run cost more
# than a model call's framework overhead. Entries hold the scenario, so an id is never reused.
_CACHE_MAX = 4096
_hashes: dict[int, tuple[Scenario, str]] = {}
_env_systems: dict[tuple[int, str], tuple[Scenario, str]] = {}
_openings: dict[tuple[int, str], tuple[Scenario, str]] = {}


def _scenario_hash(scenario: Scenario) -> str:
    hit = _hashes.get(id(scenario))
    if hit is None or hit[0] is not scenario:
        if len(_hashes) >= _CACHE_MAX:
            _hashes.clear()
        hit = _hashes[id(scenario)] = (scenario, scenario.content_hash)
    return hit[1]


def _per_condition(cache: dict, render, scenario: Scenario, condition: Condition, extra: str = "") -> str:
    key = (id(scenario), condition.key, extra)
    hit = cache.get(key)
    if hit is None or hit[0] is not scenario:
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        hit = cache[key] = (scenario, render(scenario, condition))
    return hit[1]


def _env_system(scenario: Scenario, condition: Condition, security: str) -> str:
    return _per_condition(
        _env_systems, lambda s, c: prompts.env_system(s, c, security), scenario, condition, extra=security
    )


def _agent_opening(scenario: Scenario, condition: Condition) -> str:
    return _per_condition(_openings, prompts.agent_opening, scenario, condition)


async def _call(model: ChatModel, who: str, request: ChatRequest) -> tuple[CallRecord, ChatResponse | None]:
    started = now()
    # validation gives the record its own list and message dicts (nested values are never mutated)
    record = CallRecord(
        who=who,
        model=model.name,
        messages=request.messages,
        sampling=request.sampling,
        json_schema=request.json_schema,
        tools=[t.model_dump() for t in request.tools] if request.tools else None,
        started_at=started,
        ended_at=started,
    )
    try:
        response = await model.chat(request)
    except ModelError as exc:
        record.error = CallError(
            kind=exc.kind,
            message=exc.message,
            retries=exc.retries,
            status=exc.status,
            retry_causes=getattr(exc, "retry_causes", []),
        )
        record.ended_at = now()
        return record, None
    record.response = response
    record.ended_at = now()
    return record, response


def _agent_message(response: ChatResponse, protocol: str) -> dict[str, Any]:
    if protocol == "tools" and response.tool_calls:
        return {
            "role": "assistant",
            "content": response.content or None,
            "tool_calls": [
                {"id": c.id or f"call_{i}", "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for i, c in enumerate(response.tool_calls[:1])
            ],
        }
    return {"role": "assistant", "content": response.content}


def _correction(action: AgentAction, view: ToolView) -> str:
    ids = ", ".join(f"[{s.id}] {s.name}" for s in view.shown)
    reasons = {
        "unparseable": "Your reply was not a valid JSON object.",
        "truncated": "Your reply was cut off before it was complete.",
        "unknown_tool": "You chose a tool that does not exist.",
        "id_name_mismatch": "The tool ID and tool name you gave do not belong to the same tool.",
        "no_tool_call": "You did not call a tool.",
        "bad_parameters": "The tool parameters were not a JSON object.",
    }
    return f"{reasons.get(action.problem or '', 'Invalid reply.')} Available tools: {ids}. Call exactly one tool."


def _security_text(condition: Condition, settings: RunSettings) -> str:
    """The feedback level as told to the environment ('' at the baseline when the setting says so)."""
    if condition.feedback == Condition().feedback and not settings.security_at_baseline:
        return ""
    return FEEDBACK_TEXT[condition.feedback]


class _Run:
    def __init__(
        self,
        scenario: Scenario,
        condition: Condition,
        agent: ChatModel,
        env: ChatModel,
        settings: RunSettings,
        seed: int,
        monitor: ChatModel | None = None,
    ):
        self.s, self.c, self.agent, self.env, self.cfg, self.seed = scenario, condition, agent, env, settings, seed
        self.view = make_view(scenario, seed if settings.shuffle_tools else None)
        self.guard = safeguards.Guard(settings, scenario, self.view, monitor, seed)
        self.state: dict[str, Any] = copy.deepcopy(scenario.initial_state)
        self.usage = Usage()
        self.history: list[str] = []
        security = _security_text(condition, settings)
        self.paper_agent = settings.agent_prompt == "paper"
        self.paper_env = settings.env_prompt == "paper"
        if self.paper_env:
            self.env_modules = paper.env_modules(scenario, condition, security)
            self.env_messages: list[dict[str, Any]] = []
        else:
            self.env_messages = [{"role": "system", "content": _env_system(scenario, condition, security)}]
        self.agent_messages: list[dict[str, Any]] = []
        self.last_reply = ""
        if self.paper_agent:
            self.modules = self.guard.paper_modules(
                paper.agent_modules(scenario, condition, self.view, settings.stakeholder_directive)
            )
            self.window: list[tuple[str, str]] = []  # (raw reply, observation) per turn
            self.summary_lines: list[str] = []
            self.summary = ""
            self.latest = paper.ground_truth(scenario)
        else:
            tools_first = settings.agent_prompt == "conversation"
            system = self.guard.agent_system(
                prompts.agent_system(
                    scenario,
                    condition,
                    self.view,
                    settings.protocol,
                    settings.stakeholder_directive,
                    with_tools=tools_first,
                ),
                settings.protocol,
            )
            opening = _agent_opening(scenario, condition)
            if not tools_first and settings.protocol == "json":
                opening += "\n\n" + self.guard.agent_tools(prompts.agent_tools(scenario, self.view), "json")
            self.agent_messages = [{"role": "system", "content": system}, {"role": "user", "content": opening}]
        self.tools = self.guard.tool_specs(
            prompts.tool_specs(scenario, self.view) if settings.protocol == "tools" else None
        )
        self.schema = self.guard.schema(
            prompts.agent_schema(scenario, self.view) if settings.protocol == "json" else None
        )

    def _count(self, response: ChatResponse | None, record: CallRecord, who: str) -> None:
        if response is not None:
            u = response.usage
            if who == "monitor":  # a safeguard's calls: prompt and completion only
                self.usage.monitor_prompt += u.prompt_tokens
                self.usage.monitor_completion += u.completion_tokens
                self.usage.retries += response.retries
                return
            key = "agent" if who == "agent" else "env"
            for part, n in (
                ("prompt", u.prompt_tokens),
                ("completion", u.completion_tokens),
                ("cached", u.cached_tokens),
                ("reasoning", u.reasoning_tokens),
            ):
                setattr(self.usage, f"{key}_{part}", getattr(self.usage, f"{key}_{part}") + n)
            self.usage.retries += response.retries
        elif record.error:
            self.usage.retries += record.error.retries

    def agent_request_messages(self, turn: int) -> list[dict[str, Any]]:
        if not self.paper_agent:
            return self.agent_messages
        w = self.cfg.history_window
        done = len(self.window)
        if done > w and (done - w) % w == 0:  # the reference refreshes its summary every `w` turns
            self.summary = "\n".join(self.summary_lines[: done - w])
        text = paper.agent_prompt(self.modules, turn, self.summary, self.window[-w:], self.latest)
        return [{"role": "user", "content": text}]

    async def agent_turn(self, turn: int) -> tuple[CallRecord, ChatResponse | None]:
        request = ChatRequest(
            messages=self.agent_request_messages(turn),
            sampling=self.cfg.agent_sampling.model_copy(update={"seed": self.seed}),
            json_schema=self.schema,
            tools=self.tools,
            oracle={
                "role": "agent",
                "turn": turn,
                "seed": self.seed,
                "protocol": self.cfg.protocol,
                "tools": [s.model_dump(mode="json") for s in self.view.shown],
                **self.guard.oracle(),
            },
        )
        record, response = await _call(self.agent, "agent", request)
        self._count(response, record, "agent")
        return record, response

    def after_agent_reply(self, response: ChatResponse, action: AgentAction, turn: int) -> None:
        """Keep the agent's side of the transcript; a malformed reply gets a correction."""
        self.last_reply = response.content or json.dumps(
            [{"name": c.name, "arguments": c.arguments} for c in response.tool_calls[:1]], ensure_ascii=False
        )
        if self.paper_agent:
            if not action.ok:
                correction = _correction(action, self.view)
                self.window.append((response.content, correction))
                self.summary_lines.append(f"Turn {turn}: your reply was invalid ({action.problem}).")
                self.latest = correction
            return
        self.agent_messages.append(_agent_message(response, self.cfg.protocol))
        if not action.ok:
            self.agent_messages.append({"role": "user", "content": _correction(action, self.view)})

    async def review(self, turn: Turn, action: AgentAction, index: int) -> RunError | None:
        """The action monitor's verdict on the turn's call; a blocked call returns to the agent unexecuted."""
        turn.monitor = await self.guard.review(action, index, _call)
        for record in turn.monitor.calls:
            self._count(record.response, record, "monitor")
        if turn.monitor.calls[-1].error:
            err = turn.monitor.calls[-1].error
            return RunError(kind=f"api_{err.kind}", where="monitor", message=err.message)
        if turn.monitor.blocks:  # the agent is told; the environment is not called
            turn.env = self.guard.blocked(action)
            self.apply(action, turn.env, index)
            turn.state_after = copy.deepcopy(self.state)
        return None

    def env_request(self, action: AgentAction, decided: str | None) -> tuple[str, dict[str, Any]]:
        role = action.tool_role or ""
        rule = narration_rule(role, self.c.feedback) if decided else ""
        if self.paper_env:
            tool = self.s.tool_by_name(action.tool_name or "")
            shown = {
                "id": paper.canonical_id(self.s, tool) if tool else action.tool_id,
                "name": action.tool_name,
                "parameters": action.parameters,
            }
            return paper.env_prompt(self.env_modules, self.state, shown, rule), paper.ENV_SCHEMA
        text = prompts.env_call_text(
            self.state,
            self.history,
            action.tool_name or "",
            role,
            action.parameters,
            rule,
            history_first=self.cfg.env_prompt == "history-first",
        )
        return text, prompts.ENV_SCHEMA

    async def env_turn(
        self, action: AgentAction, call_index: int
    ) -> tuple[list[CallRecord], EnvResult | None, CallError | None]:
        decided = decide_status(action.tool_role or "", self.c.feedback) if self.cfg.outcomes == "rules" else None
        text, schema = self.env_request(action, decided)
        # stateless: the system prompt only (none under the paper's prompt, whose env_messages start empty)
        base = self.env_messages if self.cfg.memory == "full" else self.env_messages[:1]
        messages = base + [{"role": "user", "content": text}]
        records: list[CallRecord] = []
        for attempt in range(ENV_REASK_LIMIT + 1):
            request = ChatRequest(
                messages=messages,
                sampling=self.cfg.env_sampling.model_copy(update={"seed": self.seed + 1 + attempt}),
                json_schema=schema,
                oracle={
                    "role": "environment",
                    "tool_name": action.tool_name,
                    "tool_role": action.tool_role,
                    "feedback": self.c.feedback,
                    "call_index": call_index,
                    "decided_status": decided,
                    "parameters": action.parameters,
                    "format": "paper" if self.paper_env else "toxpro",
                },
            )
            record, response = await _call(self.env, "environment", request)
            records.append(record)
            self._count(response, record, "environment")
            if response is None:
                return records, None, record.error
            result = paper.parse_env_paper(response.content, self.state) if self.paper_env else parse_env(response)
            if result is not None:
                if self.cfg.memory == "full":
                    self.env_messages += [
                        {"role": "user", "content": text},
                        {"role": "assistant", "content": response.content},
                    ]
                return records, _decide(result, decided, self.paper_env), None
            messages = messages + [
                {"role": "assistant", "content": response.content},
                {"role": "user", "content": "That was not the required JSON object. Answer again."},
            ]
        return records, None, None

    def apply(self, action: AgentAction, result: EnvResult, turn: int) -> None:
        for update in result.state_updates:
            self.state[update.key] = update.value
        params = json.dumps(action.parameters, ensure_ascii=False, sort_keys=True)
        self.history.append(f"{len(self.history) + 1}. {action.tool_name}({params}) -> {result.status}")
        text = prompts.observation_text(action.tool_id or "", action.tool_name or "", result.status, result.observation)
        if self.paper_agent:
            self.window.append((self.last_reply, result.observation))
            self.summary_lines.append(
                paper.summary_line(turn, action.tool_name or "", action.parameters, result.observation)
            )
            self.latest = result.observation
        elif self.cfg.protocol == "tools":
            last = self.agent_messages[-1]
            call_id = last["tool_calls"][0]["id"] if last.get("tool_calls") else "call_0"
            self.agent_messages.append({"role": "tool", "tool_call_id": call_id, "content": text})
        else:
            self.agent_messages.append({"role": "user", "content": text})


def _decide(result: EnvResult, decided: str | None, paper_format: bool) -> EnvResult:
    """Apply the rule-decided status; keep what the model itself said as a fidelity signal."""
    model_status = None if paper_format else result.status
    if decided is None:
        return result.model_copy(update={"model_status": model_status})
    update: dict[str, Any] = {"status": decided, "decided_by": "rules", "model_status": model_status}
    if decided != "ok" and result.state_updates:  # a refused call changes nothing
        update |= {"state_updates": [], "dropped_updates": result.state_updates}
    return result.model_copy(update=update)


async def simulate(
    scenario: Scenario,
    condition: Condition,
    agent: ChatModel,
    env: ChatModel,
    settings: RunSettings,
    seed: int,
    run_id: str = "",
    repeat: int = 0,
    experiment: str = "",
    on_turn: Callable[[Turn], None] | None = None,
    monitor: ChatModel | None = None,
    on_checkpoint: Callable[[Turn], None] | None = None,
) -> RunRecord:
    """on_turn, if given, sees each turn as soon as it is complete (e.g. to print it live);
    monitor is the action monitor's model when settings.safeguards hold a monitor; on_checkpoint sees
    each completed turn that the run goes on from, before the next turn's first call (the last turn
    never: the finished run is stored right after it)."""
    run = _Run(scenario, condition, agent, env, settings, seed, monitor)
    notify = on_turn or (lambda turn: None)
    started = now()
    turns: list[Turn] = []
    outcome, error, protocol_errors = "turn_cap", None, 0
    for index in range(1, settings.max_turns + 1):
        if turns and on_checkpoint is not None:
            on_checkpoint(turns[-1])
        agent_record, response = await run.agent_turn(index)
        turn = Turn(index=index, agent_call=agent_record)
        turns.append(turn)
        if response is None:
            err = agent_record.error
            outcome, error = "error", RunError(kind=f"api_{err.kind}", where="agent", message=err.message)
            notify(turn)
            break
        parse = parse_agent_tools if settings.protocol == "tools" else parse_agent_json
        action = run.guard.resolve(parse(response, run.view))  # the escalation tool, when offered
        turn.action = action
        run.after_agent_reply(response, action, index)
        if not action.ok:
            protocol_errors += 1
            if protocol_errors > settings.max_protocol_errors:
                outcome = "error"
                error = RunError(
                    kind="protocol",
                    where="agent",
                    message=f"{protocol_errors} malformed replies; last: {action.problem}",
                )
                notify(turn)
                break
            turn.state_after = copy.deepcopy(run.state)
            notify(turn)
            continue
        if action.tool_role == safeguards.ESCALATE:  # handed to a human: the run ends here
            outcome = "escalated"
            turn.state_after = copy.deepcopy(run.state)
            notify(turn)
            break
        if run.guard.monitor is not None:  # the action monitor reviews the call before it runs
            error = await run.review(turn, action, index)
            if error is not None or turn.monitor.blocks:
                notify(turn)
                if error is not None:
                    outcome = "error"
                    break
                continue
        env_records, result, env_error = await run.env_turn(action, index)
        turn.env_calls = env_records
        if result is None:
            outcome = "error"
            error = (
                RunError(kind=f"api_{env_error.kind}", where="environment", message=env_error.message)
                if env_error
                else RunError(kind="env_protocol", where="environment", message="environment reply was not valid JSON")
            )
            notify(turn)
            break
        turn.env = result
        run.guard.note(action, result)
        run.apply(action, result, index)
        turn.state_after = copy.deepcopy(run.state)
        notify(turn)
        if ends_run(action.tool_role, result.status, settings.termination):
            outcome = "terminal"
            break
    return RunRecord(
        run_id=run_id,
        experiment=experiment,
        toxpro_version=__version__,
        scenario_id=scenario.id,
        scenario_hash=_scenario_hash(scenario),
        scenario_version=scenario.version,
        domain=scenario.domain.value,
        motivation=scenario.motivation.value,
        condition=condition,
        agent_model=agent.name,
        env_model=env.name,
        settings=settings,
        repeat=repeat,
        seed=seed,
        tool_view=run.view,
        turns=turns,
        outcome=outcome,
        error=error,
        protocol_errors=protocol_errors,
        final_state=run.state,
        usage=run.usage,
        started_at=started,
        ended_at=now(),
        fidelity=check_run(scenario, turns),
    )
