"""Replay a recorded environment for paired comparisons.

One sweep (the source) runs agent A against a live environment model. Another runs agent B on the
same cells — (scenario, condition, repeat) — with `--replay-from SOURCE_DIR`: while B calls the same
tools with the same parameters as the source run did, B gets the source run's environment replies
(observation, status and state updates, byte for byte) instead of a fresh sample; from B's first
different action on, the live environment answers, for the rest of that run. Differences between A
and B then come from the agents, not from the environment's sampling noise.

A replayed reply is a ChatResponse with no usage and `raw = {"replayed": true, "source_run_id": ...,
"source_turn": n}`; a live one is what the live model returned. So each stored turn says whether its
environment reply was replayed (`replayed_turns(record)`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..models.base import ChatModel, ChatRequest, ChatResponse
from ..simulate.records import RunRecord

_PARAMS_MARK = "with parameters:\n"
Cell = tuple[str, str, int]  # scenario content hash, condition key, repeat


@dataclass(frozen=True)
class Step:
    tool_name: str
    parameters: dict[str, Any]
    content: str  # the environment reply that was parsed into the turn's result
    reasoning: str
    finish_reason: str
    source_run_id: str
    source_turn: int


def _steps(record: RunRecord) -> list[Step]:
    """The executed actions of a run, in order, each with the environment reply it got."""
    out = []
    for turn in record.turns:
        if turn.env is None or turn.action is None or not turn.action.ok or not turn.env_calls:
            continue
        answered = turn.env_calls[-1].response
        if answered is None:
            continue
        out.append(
            Step(
                turn.action.tool_name or "",
                dict(turn.action.parameters),
                answered.content,
                answered.reasoning,
                answered.finish_reason,
                record.run_id,
                turn.index,
            )
        )
    return out


def _rank(record: RunRecord) -> tuple:
    # which source run wins a cell when several agents ran it: finished runs first, unguarded runs
    # (no safeguards) before guarded ones, then by name
    return (record.outcome == "error", bool(record.settings.safeguards), record.agent_model, record.run_id)


class ReplaySource:
    """Recorded environment replies indexed by cell; at most one source run per cell."""

    def __init__(self, records: Iterable[RunRecord], agent: str | None = None):
        chosen: dict[Cell, RunRecord] = {}
        for record in records:
            if agent is not None and record.agent_model != agent:
                continue
            key = (record.scenario_hash, record.condition.key, record.repeat)
            if key not in chosen or _rank(record) < _rank(chosen[key]):
                chosen[key] = record
        self.cells: dict[Cell, list[Step]] = {k: _steps(r) for k, r in chosen.items()}

    @classmethod
    def from_store(cls, directory: str, agent: str | None = None) -> ReplaySource:
        from ..store.sqlite import RunStore

        store = RunStore(directory, create=False, read_only=True)
        try:
            return cls(store.records(), agent=agent)
        finally:
            store.close()

    @classmethod
    def from_cells(cls, cells: dict[Cell, list[Step]]) -> ReplaySource:
        source = cls([])
        source.cells = dict(cells)
        return source

    def steps(self, scenario_hash: str, condition_key: str, repeat: int) -> list[Step]:
        return self.cells.get((scenario_hash, condition_key, repeat), [])

    def only(self, scenario_hash: str, condition_key: str, repeat: int) -> ReplaySource:
        """A source holding one cell (small enough to ship to a remote worker)."""
        key = (scenario_hash, condition_key, repeat)
        return ReplaySource.from_cells({key: self.cells[key]} if key in self.cells else {})

    def __len__(self) -> int:
        return len(self.cells)


def requested_action(request: ChatRequest) -> tuple[str, dict[str, Any]] | None:
    """(tool name, parameters) of the call an environment request asks about, or None."""
    name = request.oracle.get("tool_name")
    if isinstance(request.oracle.get("parameters"), dict):
        return (name, request.oracle["parameters"]) if isinstance(name, str) else None
    for message in reversed(request.messages):
        text = message.get("content")
        if message.get("role") == "user" and isinstance(text, str) and _PARAMS_MARK in text:
            try:
                params = json.loads(text.rpartition(_PARAMS_MARK)[2])
            except ValueError:
                return None
            return (name, params) if isinstance(name, str) and isinstance(params, dict) else None
    return None


class ReplayEnvironment:
    """A ChatModel for one run: replays `source_records`' replies for this run's cell until the
    agent's actions diverge, then defers to `live_env` for good.

    source_records: a ReplaySource, or RunRecords to index. The cell is (scenario content hash,
    condition key, repeat)."""

    def __init__(
        self,
        live_env: ChatModel,
        source_records: ReplaySource | Iterable[RunRecord],
        *,
        scenario_hash: str,
        condition_key: str,
        repeat: int,
    ):
        source = source_records if isinstance(source_records, ReplaySource) else ReplaySource(source_records)
        self.live = live_env
        self.name, self.endpoint = live_env.name, live_env.endpoint
        self.steps = source.steps(scenario_hash, condition_key, repeat)
        self.position = 0  # environment replies given so far
        self.replayed = 0
        self.diverged_at: int | None = None  # 1-based environment call where the agent left the script

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    async def chat(self, request: ChatRequest) -> ChatResponse:
        if self.diverged_at is None:
            step = self.steps[self.position] if self.position < len(self.steps) else None
            action = requested_action(request)
            if step is not None and action == (step.tool_name, step.parameters):
                self.position += 1
                self.replayed += 1
                return ChatResponse(
                    content=step.content,
                    reasoning=step.reasoning,
                    finish_reason=step.finish_reason,
                    raw={"replayed": True, "source_run_id": step.source_run_id, "source_turn": step.source_turn},
                )
            self.diverged_at = self.position + 1
        self.position += 1
        return await self.live.chat(request)

    async def aclose(self) -> None:
        return None  # the live model is shared; its owner closes it


def is_replayed(response: ChatResponse | None) -> bool:
    raw = response.raw if response is not None else None
    return isinstance(raw, dict) and raw.get("replayed") is True and "source_run_id" in raw


def replayed_turns(record: RunRecord) -> list[bool]:
    """Per turn: whether its environment reply was replayed (False for turns without one)."""
    return [bool(t.env_calls) and is_replayed(t.env_calls[-1].response) for t in record.turns]
