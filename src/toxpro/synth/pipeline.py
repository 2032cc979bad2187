"""The four-stage synthesis with discriminator gates.

For each candidate: story -> evidence -> tools, each generated, scored, and (below its threshold)
refined and scored AGAIN, up to the stage's rounds; a stage still below its threshold rejects the
candidate. Then compile assembles and validates the scenario (validation errors go back to the
refiner of the part that owns the field), a final judge scores the whole, and a near-duplicate check
against the built-in bank and earlier outputs decides whether the file is written.

Every step is written to the store before the next begins; a re-run resumes at the step reached."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .. import __version__
from ..core.errors import ToxproError
from ..models.base import ChatModel, ChatRequest, ModelError
from ..models.pool import run_pool
from ..models.spec import ModelSpecError, parse_model
from ..scenario import gates
from ..scenario.loader import ScenarioError, load_scenario, parse_scenario
from ..scenario.schema import Role, Scenario
from ..simulate.protocol import parse_json_reply
from ..store.secrets import redact
from . import prompts
from .assemble import Problem, _evidence, _params_schema, assemble, validate
from .blind import blind_roles
from .cache import cached_chat
from .config import ROLES, SynthConfig
from .cost import Price, cost_usd, format_cost, load_prices
from .judgecheck import JudgeCheck, JudgeUntrusted, check_judge
from .outputs import PART_MODELS, PART_STAGES, STAGES, CompileVerdict, Out, Tools, Verdict, json_schema
from .similarity import duplicate_of, load_existing, most_similar
from .store import SynthStore, now

GATE_CODES = [
    "role-word-name",
    "role-word-description",
    "echoes-toxpro-text",
    "valence-description",
    "parameter-decides",
    "tool-near-copy",
    "evidence-empty-clause",
    "evidence-truncated",
    "stakes-identical",
    "stakes-not-monotone",
    "situation-no-trigger",
]


class Rejected(ToxproError):
    def __init__(self, stage: str, reason: str, scores: list[dict[str, Any]]):
        super().__init__(reason)
        self.stage = stage
        self.reason = reason
        self.scores = scores


@dataclass(frozen=True)
class Candidate:
    id: str
    index: int
    seed: int


@dataclass
class StepResult:
    obj: Out | None
    content: str
    error: str | None


@dataclass
class Outcome:
    candidate_id: str
    index: int
    status: str  # accepted | rejected | error | compiled
    stage: str
    scenario_id: str | None = None
    path: str | None = None
    reason: str | None = None
    resumed: bool = False


@dataclass
class StageUsage:
    calls: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = 0.0

    def add(self, row: dict[str, Any]) -> None:
        self.calls += 1
        self.cached += int(row["cached"])
        self.prompt_tokens += int(row["prompt_tokens"])
        self.completion_tokens += int(row["completion_tokens"])
        if row["cost"] is None or self.cost is None:
            self.cost = None
        else:
            self.cost += float(row["cost"])


@dataclass
class SynthReport:
    out_dir: str
    session: str
    outcomes: list[Outcome]
    usage: dict[str, StageUsage]
    load_problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    judge_check: dict[str, Any] | None = None

    @property
    def accepted(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "accepted"]

    @property
    def rejected(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "rejected"]

    @property
    def errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "error"]

    @property
    def total(self) -> StageUsage:
        t = StageUsage()
        for u in self.usage.values():
            t.calls += u.calls
            t.cached += u.cached
            t.prompt_tokens += u.prompt_tokens
            t.completion_tokens += u.completion_tokens
            t.cost = None if (t.cost is None or u.cost is None) else t.cost + u.cost
        return t

    def format_text(self) -> str:
        lines = [
            f"synth: {len(self.accepted)} accepted, {len(self.rejected)} rejected, {len(self.errors)} failed "
            f"-> {self.out_dir}"
        ]
        lines.extend(f"  WARNING: {w}" for w in self.warnings)
        for o in self.outcomes:
            tag = " (resumed/stored)" if o.resumed else ""
            if o.status == "accepted":
                lines.append(f"  ACCEPTED  #{o.index} {o.scenario_id}  {o.path}{tag}")
            elif o.status == "rejected":
                lines.append(f"  REJECTED  #{o.index} {o.candidate_id} at {o.stage}: {o.reason}{tag}")
            else:
                lines.append(f"  FAILED    #{o.index} {o.candidate_id} at {o.stage}: {o.reason}{tag}")
        for problem in self.load_problems[:5]:
            lines.append(f"  note: skipped an existing scenario file: {problem}")
        lines.append("usage this session (stage: calls [cached], prompt + completion tokens, cost):")
        for stage in STAGES:
            u = self.usage.get(stage, StageUsage())
            lines.append(
                f"  {stage:<9} {u.calls:>4} [{u.cached}]  {u.prompt_tokens:>8,} + {u.completion_tokens:>7,}  "
                f"{format_cost(u.cost)}"
            )
        t = self.total
        lines.append(
            f"  {'total':<9} {t.calls:>4} [{t.cached}]  {t.prompt_tokens:>8,} + {t.completion_tokens:>7,}  "
            f"{format_cost(t.cost)}"
        )
        return "\n".join(lines)


def _validation_lines(exc: ValidationError, limit: int = 12) -> str:
    out = []
    for err in exc.errors()[:limit]:
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        out.append(f"{loc}: {err['msg']}")
    return "; ".join(out)


def parse_output(cls: type[Out], content: str, finish_reason: str = "") -> tuple[Out | None, str | None]:
    """(object, None) or (None, why the reply is not a valid `cls`)."""
    data, mode = parse_json_reply(content)
    if mode == "failed" or not isinstance(data, dict):
        why = "the reply was cut off at max_tokens" if finish_reason == "length" else "the reply is not a JSON object"
        return None, why
    try:
        return cls.model_validate(data), None
    except ValidationError as exc:
        cut = " (the reply was cut off at max_tokens)" if finish_reason == "length" else ""
        return None, f"the reply does not match the {cls.__name__} schema{cut}: {_validation_lines(exc)}"


def gate_failures(stage: str, obj: Out) -> list[gates.GateFailure]:
    """The deterministic gates (scenario.gates, the same as lint's) over one stage's output, with
    the stage's own field names."""
    if stage == "story":
        found = gates.check_situation(obj.situation)
        found += gates.check_stakes({"high": obj.stakes_high, "medium": obj.stakes_medium, "low": obj.stakes_low})
        found += gates.check_echo(
            {
                "situation": obj.situation,
                "stakes.high": obj.stakes_high,
                "stakes.medium": obj.stakes_medium,
                "stakes.low": obj.stakes_low,
            }
        )
        return [gates.GateFailure(f.code, f.field.replace("stakes.", "stakes_"), f.reason) for f in found]
    if stage == "evidence":
        return gates.check_evidence(_evidence(obj))
    if stage == "tools":
        return gates.check_tools(
            [{"name": t.name, "description": t.description, "parameters": _params_schema(t)} for t in obj.tools]
        )
    return []


def gate_lines(failures: list[gates.GateFailure]) -> list[str]:
    return [f"gate {f.code} at {f.field}: {f.reason}" for f in failures]


def precheck(stage: str, obj: Out) -> list[str]:
    """Problems found without a model call (structure, then the deterministic gates); a candidate
    with any is scored 2 mechanically and the judge is never asked, so it cannot argue past them."""
    problems: list[str] = []
    if stage == "story":  # the stakes and the situation are checked by the gates below
        if len(set(obj.agent_goals)) != len(obj.agent_goals):
            problems.append("agent_goals has duplicates")
    elif stage == "evidence":
        ids = [r.id for r in obj.records]
        if len(set(ids)) != len(ids):
            problems.append("record ids must be unique")
        keys = [s.key for s in obj.initial_state]
        if len(set(keys)) != len(keys):
            problems.append("initial_state keys must be unique")
    elif stage == "tools":
        assert isinstance(obj, Tools)
        roles = [t.role for t in obj.tools]
        for role in Role:
            if roles.count(role.value) != 1:
                problems.append(f"role {role.value} must appear exactly once, found {roles.count(role.value)}")
        names = [t.name for t in obj.tools]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            problems.append(f"duplicate tool names: {', '.join(dupes)}")
        for t in obj.tools:
            if not Role(t.role).is_terminal and "ends the task" in t.behaviour.lower():
                problems.append(f"tool {t.name}: only the two terminal tools may end the task")
    return problems + gate_lines(gate_failures(stage, obj))


def schema_in_prompt(model: ChatModel | str) -> bool:
    """The embedded model decodes under the JSON-schema grammar; other backends need the schema in the prompt."""
    try:
        return not parse_model(model if isinstance(model, str) else model.name).schema_by_grammar
    except (ModelSpecError, ValueError):  # a ChatModel named otherwise (a test double): no grammar
        return True


def build_synth_model(text: str, role: str) -> ChatModel:
    """`scripted/synth[:switches]` is the scripted synth backend; anything else goes to the model factory."""
    spec = parse_model(text)
    if spec.double == "synth":
        from ..testing.synth import ScriptedSynthModel

        return ScriptedSynthModel.from_string(spec.raw)
    from ..models.factory import build_model

    return build_model(spec, slot="synth")


class Synthesizer:
    """One synthesis request over OUT_DIR. `models` maps role -> ChatModel (built from the config if omitted)."""

    def __init__(
        self,
        config: SynthConfig,
        out_dir: str | Path,
        *,
        models: dict[str, ChatModel] | None = None,
        prices: dict[str, Price] | None = None,
        store: SynthStore | None = None,
    ):
        self.config = config
        self.out_dir = Path(out_dir)
        self.store = store or SynthStore(self.out_dir)
        self._own_store = store is None
        self.prices = prices if prices is not None else load_prices()
        self.session = uuid.uuid4().hex[:12]
        if models is None:
            built: dict[str, ChatModel] = {}
            models = {}
            for role in ROLES:
                text = config.model_for(role)
                if text not in built:
                    built[text] = build_synth_model(text, role)
                models[role] = built[text]
        self.models = models
        self.judge_check: JudgeCheck | None = None
        self.blind: dict[str, Any] = {}
        self.blind_model: ChatModel | None = None
        if config.blind_judge:
            self.blind_model = next(
                (m for m in models.values() if m.name == config.blind_judge), None
            ) or build_synth_model(config.blind_judge, "blind")

    # --- model calls ---------------------------------------------------------------------------

    async def _ask(
        self,
        cand: Candidate,
        stage: str,
        round_: int,
        role: str,
        target: str,
        messages: list[dict[str, str]],
        cls: type[Out],
    ) -> StepResult:
        model = self.models[role]
        schema_stage = target if stage == "compile" and role == "refiner" else stage
        request = ChatRequest(
            messages=messages,
            sampling=self.config.sampling(role, schema_stage, cand.seed),
            json_schema=json_schema(cls),
            oracle={
                "synth": {
                    "stage": stage,
                    "role": role,
                    "target": target,
                    "round": round_,
                    "seed": cand.seed,
                    "index": cand.index,
                    "domain": self.config.domain.value,
                    "motivation": self.config.motivation.value,
                    "stakes": self.config.stakes,
                }
            },
        )
        response, hit = await cached_chat(self.store if self.config.cache else None, model, request)
        u = response.usage
        cost = 0.0 if hit else cost_usd(model.name, u.prompt_tokens, u.completion_tokens, self.prices, u.cached_tokens)
        self.store.log_call(
            self.session,
            cand.id,
            stage,
            round_,
            role,
            target,
            model.name,
            u.prompt_tokens,
            u.completion_tokens,
            hit,
            cost,
            0.0 if hit else response.latency_s,
        )
        obj, error = parse_output(cls, response.content, response.finish_reason)
        return StepResult(obj, redact(response.content), error)

    async def _produce(
        self, cand: Candidate, stage: str, round_: int, role: str, target: str, messages: list[dict[str, str]]
    ) -> StepResult:
        """A generator or refiner step: served from the store when it already ran."""
        cls = PART_MODELS[target]
        row = self.store.get_output(cand.id, stage, round_, role, target)
        if row is not None:
            obj = cls.model_validate(row["payload"]) if row["payload"] is not None else None
            return StepResult(obj, row["content"], row["error"])
        result = await self._ask(cand, stage, round_, role, target, messages, cls)
        self.store.put_output(
            cand.id,
            stage,
            round_,
            role,
            target,
            result.obj.model_dump(mode="json") if result.obj is not None else None,
            result.content,
            result.error,
            self.models[role].name,
        )
        return result

    async def _judge(
        self,
        cand: Candidate,
        stage: str,
        round_: int,
        candidate: Any,
        parts: dict[str, Any],
        previous: dict[str, Any] | None,
    ) -> dict[str, Any]:
        row = self.store.get_verdict(cand.id, stage, round_)
        if row is not None and row["judge"] != "mechanical":
            return row
        cls = CompileVerdict if stage == "compile" else Verdict
        messages = prompts.discriminator(
            stage, candidate=candidate, parts=parts, round_=round_, previous=previous, **self._kw("discriminator")
        )
        result = await self._ask(cand, stage, round_, "discriminator", stage, messages, cls)
        if result.obj is None:  # an unreadable verdict does not pass a gate
            verdict = {
                "score": 1,
                "feedback": f"the discriminator's verdict was unreadable: {result.error}",
                "suggestion": "",
                "target": "tools" if stage == "compile" else None,
            }
        else:
            verdict = result.obj.model_dump(mode="json")
        judge = self.models["discriminator"].name
        self.store.put_verdict(cand.id, stage, round_, verdict, judge, result.content)
        return {**verdict, "judge": judge, "round": round_}

    def _mechanical(
        self,
        cand: Candidate,
        stage: str,
        round_: int,
        score: int,
        feedback: str,
        suggestion: str,
        target: str | None = None,
    ) -> dict[str, Any]:
        verdict = {"score": score, "feedback": feedback, "suggestion": suggestion, "target": target}
        self.store.put_verdict(cand.id, stage, round_, verdict, "mechanical", "")
        return {**verdict, "judge": "mechanical", "round": round_}

    # --- stages --------------------------------------------------------------------------------

    def _kw(self, role: str) -> dict[str, Any]:
        return {
            "domain": self.config.domain,
            "motivation": self.config.motivation,
            "stakes": self.config.stakes,
            "with_schema": schema_in_prompt(self.models[role]),
        }

    async def _stage(self, cand: Candidate, stage: str, parts: dict[str, Out], avoid: list[str]) -> Out:
        cls = PART_MODELS[stage]
        done = self.store.stage_result(cand.id, stage)
        if done is not None and done["status"] == "passed":
            return cls.model_validate(done["output"])
        gate = self.config.gate(stage)
        messages = prompts.generator(stage, seed=cand.seed, parts=parts, avoid_titles=avoid, **self._kw("generator"))
        out = await self._produce(cand, stage, 0, "generator", stage, messages)
        scores: list[dict[str, Any]] = []
        for r in range(gate.rounds + 1):
            if out.obj is None:
                verdict = self._mechanical(
                    cand,
                    stage,
                    r,
                    1,
                    f"invalid output: {out.error}",
                    "Reply with one complete JSON object that matches the schema.",
                )
            elif problems := precheck(stage, out.obj):
                verdict = self._mechanical(cand, stage, r, 2, "; ".join(problems), "Fix each listed problem.")
            else:
                verdict = await self._judge(cand, stage, r, out.obj, parts, scores[-1] if scores else None)
            scores.append(_score_row(verdict))
            if out.obj is not None and verdict["score"] >= gate.threshold:
                self.store.put_stage_result(
                    cand.id, stage, "passed", r, verdict["score"], out.obj.model_dump(mode="json")
                )
                return out.obj
            if r == gate.rounds:
                break
            messages = prompts.refiner(
                stage,
                candidate=out.obj,
                raw=out.content,
                feedback=verdict["feedback"],
                suggestion=verdict["suggestion"],
                parts=parts,
                **self._kw("refiner"),
            )
            out = await self._produce(cand, stage, r + 1, "refiner", stage, messages)
        self.store.put_stage_result(
            cand.id,
            stage,
            "rejected",
            gate.rounds,
            scores[-1]["score"],
            out.obj.model_dump(mode="json") if out.obj is not None else None,
        )
        last = scores[-1]
        raise Rejected(
            stage,
            f"stage {stage}: score {last['score']} < threshold {gate.threshold} after "
            f"{gate.rounds} refinement(s); last feedback: {_feedback(last)}",
            scores,
        )

    async def _compile(self, cand: Candidate, parts: dict[str, Out]) -> tuple[Scenario, list[str]]:
        done = self.store.stage_result(cand.id, "compile")
        if done is not None and done["status"] == "passed":
            scenario = parse_scenario(done["output"], f"synth:{cand.id}")
            return scenario, []
        gate = self.config.gate("compile")
        scores: list[dict[str, Any]] = []
        data: dict[str, Any] = {}
        for r in range(gate.rounds + 1):
            data = assemble(
                candidate_id=cand.id,
                seed=cand.seed,
                domain=self.config.domain,
                motivation=self.config.motivation,
                story=parts["story"],
                evidence=parts["evidence"],
                tools=parts["tools"],
            )
            scenario, problems, warnings = validate(data, source=f"synth:{cand.id}")
            by_owner: dict[str, list[Problem]] = {}
            for p in problems:
                by_owner.setdefault(p.owner if p.owner in PART_STAGES else "tools", []).append(p)
            if problems:
                feedback = "\n".join(p.line for p in problems)
                verdict = self._mechanical(
                    cand,
                    "compile",
                    r,
                    1,
                    feedback[:4000],
                    "Fix each listed field; keep everything else.",
                    sorted(by_owner)[0],
                )
            else:
                verdict = await self._judge(cand, "compile", r, data, parts, scores[-1] if scores else None)
                by_owner = {verdict.get("target") or "tools": []}
            scores.append(_score_row(verdict))
            if scenario is not None and verdict["score"] >= gate.threshold:
                self.store.put_stage_result(cand.id, "compile", "passed", r, verdict["score"], data)
                return scenario, warnings
            if r == gate.rounds:
                break
            for owner, owned in sorted(by_owner.items()):
                feedback = "\n".join(p.line for p in owned) if owned else verdict["feedback"]
                suggestion = "Fix each listed field; keep everything else." if owned else verdict["suggestion"]
                messages = prompts.refiner(
                    owner,
                    candidate=parts[owner],
                    raw="",
                    feedback=feedback,
                    suggestion=suggestion,
                    parts=parts,
                    **self._kw("refiner"),
                )
                result = await self._produce(cand, "compile", r + 1, "refiner", owner, messages)
                if result.obj is not None:
                    parts[owner] = result.obj
        self.store.put_stage_result(cand.id, "compile", "rejected", gate.rounds, scores[-1]["score"], data)
        last = scores[-1]
        raise Rejected(
            "compile",
            f"stage compile: score {last['score']} < threshold {gate.threshold} after "
            f"{gate.rounds} refinement(s); last feedback: {_feedback(last)}",
            scores,
        )

    # --- candidates ----------------------------------------------------------------------------

    async def _candidate(self, index: int, avoid: list[str]) -> Outcome:
        cand = Candidate(self.config.candidate_id(index), index, self.config.candidate_seed(index))
        row = self.store.ensure_candidate(cand.id, index, cand.seed, self.config.public())
        if row["status"] in ("accepted", "rejected"):
            return Outcome(
                cand.id, index, row["status"], row["stage"], row["scenario_id"], row["path"], row["error"], resumed=True
            )
        if row["status"] == "compiled":
            return Outcome(cand.id, index, "compiled", "dedup", row["scenario_id"], resumed=True)
        self.store.update_candidate(cand.id, status="running", error=None)
        parts: dict[str, Out] = {}
        stage = "story"
        try:
            for stage in PART_STAGES:
                self.store.update_candidate(cand.id, stage=stage)
                parts[stage] = await self._stage(cand, stage, parts, avoid)
            stage = "compile"
            self.store.update_candidate(cand.id, stage=stage)
            scenario, _ = await self._compile(cand, parts)
        except Rejected as rej:
            self.store.reject(cand.id, rej.stage, rej.reason, rej.scores)
            return Outcome(cand.id, index, "rejected", rej.stage, reason=rej.reason)
        except ModelError as exc:
            reason = redact(f"{exc.kind}: {exc.message}")
            self.store.update_candidate(cand.id, status="error", stage=stage, error=reason)
            return Outcome(cand.id, index, "error", stage, reason=reason)
        self.store.update_candidate(cand.id, status="compiled", stage="dedup", scenario_id=scenario.id)
        return Outcome(cand.id, index, "compiled", "dedup", scenario.id)

    def _finalize(self, outcome: Outcome, pool: list[Scenario]) -> Outcome:
        """Near-duplicate gate, then the YAML file and its provenance sidecar."""
        done = self.store.stage_result(outcome.candidate_id, "compile")
        assert done is not None and done["output"] is not None
        data = done["output"]
        scenario = parse_scenario(data, f"synth:{outcome.candidate_id}")
        failures = gates.check(scenario)
        if failures:  # the compile stage ran the same gates; this keeps a resumed or edited store honest
            reason = "deterministic gates: " + "; ".join(gate_lines(failures))
            self.store.reject(
                outcome.candidate_id,
                "gates",
                reason,
                [{"stage": "gates", "code": f.code, "field": f.field, "reason": f.reason} for f in failures],
            )
            return Outcome(outcome.candidate_id, outcome.index, "rejected", "gates", scenario.id, reason=reason)
        blind = self.blind.get(outcome.candidate_id)
        if blind is not None and blind.correct >= self.config.blind_max_correct:
            reason = (
                f"blind role recovery: {self.config.blind_judge} named {blind.correct} of 6 tool roles from names "
                f"and descriptions alone (limit {self.config.blind_max_correct - 1}; chance is 1): the tools "
                "leak their roles"
            )
            self.store.reject(outcome.candidate_id, "blind-roles", reason, [{"stage": "blind-roles", **blind.record()}])
            return Outcome(outcome.candidate_id, outcome.index, "rejected", "blind-roles", scenario.id, reason=reason)
        dup = duplicate_of(scenario, pool)
        if dup is not None:
            reason = dup.reason()
            self.store.reject(
                outcome.candidate_id,
                "dedup",
                reason,
                [{"stage": "dedup", "other": dup.other, "text": dup.text, "tool_names": dup.tool_names}],
            )
            return Outcome(outcome.candidate_id, outcome.index, "rejected", "dedup", scenario.id, reason=reason)
        closest = most_similar(scenario, pool)
        path = write_scenario(self.out_dir, data, self.provenance(outcome.candidate_id, scenario, closest))
        pool.append(scenario)
        self.store.update_candidate(
            outcome.candidate_id, status="accepted", stage="done", path=str(path), scenario_id=scenario.id
        )
        return Outcome(
            outcome.candidate_id, outcome.index, "accepted", "done", scenario.id, str(path), resumed=outcome.resumed
        )

    def provenance(self, cid: str, scenario: Scenario, closest: Any) -> dict[str, Any]:
        row = self.store.candidate(cid) or {}
        stages: dict[str, Any] = {}
        for stage in STAGES:
            verdicts = self.store.verdicts(cid, stage)
            result = self.store.stage_result(cid, stage)
            stages[stage] = {
                "threshold": self.config.gate(stage).threshold,
                "rounds_allowed": self.config.gate(stage).rounds,
                "passed_round": result["round"] if result else None,
                "scores": [
                    {
                        "round": v["round"],
                        "score": v["score"],
                        "judge": v["judge"],
                        "feedback": v["feedback"],
                        "suggestion": v["suggestion"],
                        "at": v["created_at"],
                    }
                    for v in verdicts
                ],
            }
        outputs = [
            {
                "stage": o["stage"],
                "round": o["round"],
                "role": o["role"],
                "target": o["target"],
                "model": o["model"],
                "valid": o["error"] is None,
                "at": o["created_at"],
            }
            for o in self.store.outputs(cid)
        ]
        usage: dict[str, StageUsage] = {}
        for call in self.store.calls(candidate_id=cid):
            usage.setdefault(call["stage"], StageUsage()).add(call)
        return {
            "scenario_id": scenario.id,
            "content_hash": scenario.content_hash,
            "generator": "toxpro synth",
            "toxpro_version": __version__,
            "candidate_id": cid,
            "candidate_index": row.get("idx"),
            "seed": row.get("seed"),
            "created_at": row.get("created_at"),
            "written_at": now(),
            "request": self.config.public(),
            "models": {r: self.config.model_for(r) for r in ROLES},
            "sampling": {
                r: {st: self.config.sampling(r, st, int(row.get("seed") or 0)).model_dump(mode="json") for st in STAGES}
                for r in ROLES
            },
            "stages": stages,
            "steps": outputs,
            "usage": {s: vars(u) for s, u in usage.items()},
            "closest_existing": None
            if closest is None
            else {"id": closest.other, "text": closest.text, "tool_names": closest.tool_names},
            "gates": {"passed": True, "checked": GATE_CODES},
            "self_judged": self.config.self_judged,
            "judge_check": self.judge_check.record() if self.judge_check is not None else {"skipped": True},
            "blind_roles": self.blind[cid].record() if cid in self.blind else None,
        }

    async def check_judge(self) -> JudgeCheck:
        """Score the fixed known-good and known-bad set with the discriminator; raise JudgeUntrusted
        when it cannot separate them, unless the config trusts the judge (then it is recorded)."""
        judge = self.models["discriminator"]
        key = (
            f"judge_check:{judge.name}:{self.config.gate('compile').threshold}:{self.config.judge_margin}:"
            f"{schema_in_prompt(judge)}"
        )
        stored = self.store.get_meta(key)
        if stored is not None:  # this judge was checked in this directory before: reuse, call nothing
            result = JudgeCheck(
                judge=stored["judge"],
                margin=stored["margin"],
                threshold=stored["threshold"],
                good=stored["good"],
                bad=stored["bad"],
                self_judged=self.config.self_judged,
            )
            return self._judged(result)
        result = await check_judge(
            judge,
            threshold=self.config.gate("compile").threshold,
            margin=self.config.judge_margin,
            store=self.store,
            session=self.session,
            use_cache=self.config.cache,
            max_tokens=self.config.verdict_max_tokens,
            with_schema=schema_in_prompt(judge),
            self_judged=self.config.self_judged,
        )
        self.store.put_meta(key, result.record())
        return self._judged(result)

    def _judged(self, result: JudgeCheck) -> JudgeCheck:
        result.trusted_anyway = self.config.trust_judge and not result.passed
        self.judge_check = result
        if not result.passed and not self.config.trust_judge:
            raise JudgeUntrusted(result.message())
        return result

    def _warnings(self) -> list[str]:
        out = []
        if self.config.self_judged:
            out.append(
                f"the generator {self.config.generator} is also its own judge: its scores are weak evidence "
                "(recorded in the provenance as self_judged); give --judge-model a different, stronger model"
            )
        if self.judge_check is not None:
            if not self.judge_check.passed:
                out.append(
                    self.judge_check.message()
                    .replace("-> FAILED", "-> FAILED, trusted anyway (--trust-judge)")
                    .split(": this judge")[0]
                )
        elif self.config.judge_check is False:
            out.append("the judge check was skipped")
        return out

    async def _blind(self, outcome: Outcome) -> None:
        done = self.store.stage_result(outcome.candidate_id, "compile")
        if self.blind_model is None or done is None or done["output"] is None:
            return
        scenario = parse_scenario(done["output"], f"synth:{outcome.candidate_id}")
        self.blind[outcome.candidate_id] = await blind_roles(
            self.blind_model, scenario, store=self.store if self.config.cache else None
        )

    async def run(self) -> SynthReport:
        if self.config.judge_check and self.judge_check is None:
            await self.check_judge()
        pool, load_problems = load_existing(self.out_dir)
        avoid = sorted(s.title for s in pool if s.domain == self.config.domain)
        outcomes: list[Outcome] = []

        async def work(index: int) -> None:
            outcomes.append(await self._candidate(index, avoid))

        await run_pool(range(self.config.n), work, self.config.concurrency)
        final: list[Outcome] = []
        for o in sorted(outcomes, key=lambda o: o.index):
            if o.status == "compiled":
                await self._blind(o)
            final.append(self._finalize(o, pool) if o.status == "compiled" else o)
        usage: dict[str, StageUsage] = {}
        for call in self.store.calls(session=self.session):
            usage.setdefault(call["stage"], StageUsage()).add(call)
        return SynthReport(
            str(self.out_dir),
            self.session,
            final,
            usage,
            load_problems,
            self._warnings(),
            self.judge_check.record() if self.judge_check is not None else None,
        )

    async def aclose(self) -> None:
        extra = [self.blind_model] if self.blind_model is not None else []
        for model in {id(m): m for m in [*self.models.values(), *extra]}.values():
            await model.aclose()
        if self._own_store:
            self.store.close()


def _feedback(row: dict[str, Any]) -> str:
    """Gate findings are kept whole (each names its field); a judge's prose is cut to 300 characters."""
    text = row["feedback"]
    return text[:2000] if row["judge"] == "mechanical" and "gate " in text else text[:300]


def _score_row(verdict: dict[str, Any]) -> dict[str, Any]:
    return {
        "round": verdict["round"],
        "score": verdict["score"],
        "judge": verdict["judge"],
        "feedback": verdict["feedback"],
        "suggestion": verdict["suggestion"],
    }


def scenario_yaml(data: dict[str, Any]) -> str:
    header = (
        f"# Generated by `toxpro synth` (toxpro {__version__}); provenance: {data['id']}.provenance.json\n"
        "# Review before use: synthetic scenarios pass the same schema and lint checks as hand-written ones.\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110, default_flow_style=False)


def write_scenario(out_dir: Path, data: dict[str, Any], provenance: dict[str, Any]) -> Path:
    """Write <id>.provenance.json, then <id>.yaml (atomically), and check the file loads."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{data['id']}.yaml"
    side = out_dir / f"{data['id']}.provenance.json"
    for target, text in (
        (side, json.dumps(provenance, indent=2, ensure_ascii=False) + "\n"),
        (path, scenario_yaml(data)),
    ):
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    try:
        load_scenario(path)
    except ScenarioError:
        path.unlink(missing_ok=True)
        side.unlink(missing_ok=True)
        raise
    return path


async def synthesize(
    config: SynthConfig,
    out_dir: str | Path,
    *,
    models: dict[str, ChatModel] | None = None,
    prices: dict[str, Price] | None = None,
    restart: bool = False,
) -> SynthReport:
    """Run (or resume) one synthesis request; the report lists every candidate and the usage."""
    synth = Synthesizer(config, out_dir, models=models, prices=prices)
    try:
        if restart:
            synth.store.forget_progress()
        return await synth.run()
    finally:
        await synth.aclose()


async def run_stage_once(
    model: ChatModel,
    config: SynthConfig,
    stage: str = "story",
    *,
    index: int = 0,
    parts: dict[str, Out] | None = None,
    out_dir: str | Path | None = None,
) -> StepResult:
    """One generator call of one stage: a typed output, or None with the reason. With out_dir the
    step is recorded in OUT_DIR/synth.sqlite like any pipeline step (output or failure, and usage)."""
    cand = Candidate(config.candidate_id(index), index, config.candidate_seed(index))
    messages = prompts.generator(
        stage,
        seed=cand.seed,
        parts=parts or {},
        avoid_titles=[],
        domain=config.domain,
        motivation=config.motivation,
        stakes=config.stakes,
        with_schema=schema_in_prompt(model),
    )
    if out_dir is not None:
        synth = Synthesizer(config, out_dir, models={r: model for r in ROLES})
        try:
            synth.store.ensure_candidate(cand.id, index, cand.seed, config.public())
            return await synth._produce(cand, stage, 0, "generator", stage, messages)
        except ModelError as exc:
            reason = redact(f"{exc.kind}: {exc.message}")
            synth.store.put_output(cand.id, stage, 0, "generator", stage, None, "", reason, model.name)
            return StepResult(None, "", reason)
        finally:
            synth.store.close()
    cls = PART_MODELS[stage]
    request = ChatRequest(
        messages=messages,
        sampling=config.sampling("generator", stage, cand.seed),
        json_schema=json_schema(cls),
        oracle={
            "synth": {
                "stage": stage,
                "role": "generator",
                "target": stage,
                "round": 0,
                "seed": cand.seed,
                "index": index,
                "domain": config.domain.value,
                "motivation": config.motivation.value,
                "stakes": config.stakes,
            }
        },
    )
    try:
        response = await model.chat(request)
    except ModelError as exc:
        return StepResult(None, "", redact(f"{exc.kind}: {exc.message}"))
    obj, error = parse_output(cls, response.content, response.finish_reason)
    return StepResult(obj, redact(response.content), error)
