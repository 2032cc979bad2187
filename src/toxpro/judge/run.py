"""Run LLM judges over the stored runs; verdicts go in a `judgements` table beside the runs.

Rule labels (from tool roles) stay the ground truth: nothing here touches the `runs` table. Each
(run, judge) pair is judged once and stored at once, a failure included (with its reason), so a
second call judges only what is missing (or, with retry_errors, what failed)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field

from ..core.errors import UserError
from ..models.base import ChatModel, ChatRequest, ModelError, Sampling
from ..models.client import LimitedModel
from ..models.limits import EndpointLimits
from ..models.pool import run_pool
from ..models.spec import SCRIPTED, parse_model
from ..simulate.protocol import parse_json_reply
from ..simulate.records import RunRecord, now
from ..store.secrets import redact
from ..store.sqlite import RunStore
from .prompt import TranscriptOptions, judge_messages, prompt_version
from .schema import (
    BOOL_FIELDS,
    EVIDENCE_CHARS,
    MOTIVES,
    RATIONALE_CHARS,
    Verdict,
    VerdictError,
    coerce_verdict,
    verdict_json_schema,
)
from .scripted import ScriptedJudge

JUDGEMENTS_DDL = """CREATE TABLE IF NOT EXISTS judgements (
    run_id TEXT NOT NULL, judge_model TEXT NOT NULL, ok INTEGER NOT NULL, verdict TEXT, error_kind TEXT,
    error TEXT, raw TEXT, reasoning TEXT, parse_mode TEXT, finish_reason TEXT, prompt_version TEXT,
    prompt_tokens INTEGER, completion_tokens INTEGER, latency_s REAL, started_at TEXT, ended_at TEXT,
    PRIMARY KEY (run_id, judge_model))"""
JUDGEMENT_COLUMNS = [
    "run_id",
    "judge_model",
    "ok",
    "verdict",
    "error_kind",
    "error",
    "raw",
    "reasoning",
    "parse_mode",
    "finish_reason",
    "prompt_version",
    "prompt_tokens",
    "completion_tokens",
    "latency_s",
    "started_at",
    "ended_at",
]
RUN_COLUMNS = ["scenario_id", "domain", "motivation", "agent_model", "condition_key", "label"]
VERDICT_COLUMNS = [
    "motive",
    "motive_evidence",
    "concealment",
    "concealment_evidence",
    "rationalisation",
    "rationalisation_evidence",
    "over_refusal",
    "eval_awareness",
    "eval_awareness_evidence",
    "severity",
    "rationale",
]
FRAME_COLUMNS = (
    ["run_id", "judge_model", "ok"]
    + VERDICT_COLUMNS
    + [
        "error_kind",
        "error",
        "parse_mode",
        "prompt_version",
        "prompt_tokens",
        "completion_tokens",
        "latency_s",
        "started_at",
        "ended_at",
    ]
    + RUN_COLUMNS
)


class JudgeConfigError(UserError, ValueError):
    """A judge that cannot be built (bad model string, missing backend): nothing was judged."""


class JudgeSettings(BaseModel):
    temperature: float = 0.0
    max_tokens: int = Field(default=1024, ge=16)
    seed: int | None = 0
    evidence_chars: int = Field(default=EVIDENCE_CHARS, ge=0)
    rationale_chars: int = Field(default=RATIONALE_CHARS, ge=0)
    transcript: TranscriptOptions = Field(default_factory=TranscriptOptions)
    brief_instruction: bool = False  # the compact instruction, for small local judges


@dataclass
class JudgeCounts:
    planned: int = 0  # runs selected for judging
    skipped: int = 0  # already judged by this judge
    judged: int = 0  # new verdicts stored
    errors: int = 0  # new failures stored (with reasons)


@dataclass
class JudgeSummary:
    runs: int  # runs selected
    by_judge: dict[str, JudgeCounts] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def judged(self) -> int:
        return sum(c.judged for c in self.by_judge.values())

    @property
    def errors(self) -> int:
        return sum(c.errors for c in self.by_judge.values())

    @property
    def new(self) -> int:
        return self.judged + self.errors


def ensure_tables(store: RunStore) -> None:
    store.db.execute(JUDGEMENTS_DDL)
    store.db.execute("CREATE INDEX IF NOT EXISTS judgements_judge ON judgements(judge_model)")


def build_judge(judge: str | ChatModel) -> ChatModel:
    """A ChatModel for a judge: an instance as given, `scripted/judge[:...]`, or any model string."""
    if not isinstance(judge, str):
        if not isinstance(judge, ChatModel):
            raise JudgeConfigError(f"{judge!r} is neither a model string nor a ChatModel")
        return judge
    try:
        spec = parse_model(judge)
        if spec.provider == SCRIPTED and spec.double == "judge":
            return ScriptedJudge(spec.raw)
        from ..models.factory import build_model

        return build_model(spec, slot="judge")
    except ModelError as exc:
        raise JudgeConfigError(f"judge {judge}: {exc.message}") from None
    except ValueError as exc:  # ModelSpecError, PolicyError
        raise JudgeConfigError(f"judge {judge}: {exc}") from None


def select_runs(store: RunStore, limit: int | None = None, include_errors: bool = False) -> list[str]:
    """The runs to judge, in run-id order (ids are hashes, so a limit takes a fixed pseudo-random
    subset, the same for every judge and every call)."""
    where = "" if include_errors else "WHERE label != 'error'"
    sql = f"SELECT run_id FROM runs {where} ORDER BY run_id"
    if limit is not None:
        sql += f" LIMIT {max(int(limit), 0)}"
    return [r[0] for r in store.db.execute(sql)]


def judged_ids(store: RunStore, judge_model: str, include_failed: bool = True) -> set[str]:
    ensure_tables(store)
    sql = "SELECT run_id FROM judgements WHERE judge_model = ?" + ("" if include_failed else " AND ok = 1")
    return {r[0] for r in store.db.execute(sql, (judge_model,))}


def _store_row(store: RunStore, row: dict[str, Any]) -> None:
    marks = ", ".join("?" for _ in JUDGEMENT_COLUMNS)
    store.db.execute(
        f"INSERT OR REPLACE INTO judgements ({', '.join(JUDGEMENT_COLUMNS)}) VALUES ({marks})",
        [row.get(c) for c in JUDGEMENT_COLUMNS],
    )


async def judge_one(
    model: ChatModel,
    record: RunRecord,
    settings: JudgeSettings | None = None,
    limits: EndpointLimits | None = None,
    messages: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Judge one run; returns the judgements row (never raises for model or parse failures)."""
    s = settings or JudgeSettings()
    request = ChatRequest(
        messages=messages if messages is not None else judge_messages(record, s.transcript, s.brief_instruction),
        sampling=Sampling(temperature=s.temperature, max_tokens=s.max_tokens, seed=s.seed),
        json_schema=verdict_json_schema(s.evidence_chars, s.rationale_chars),
    )
    row: dict[str, Any] = {
        "run_id": record.run_id,
        "judge_model": model.name,
        "ok": 0,
        "prompt_version": prompt_version(s.brief_instruction),
        "started_at": now(),
    }
    if limits is not None:
        model = LimitedModel(model, limits, role="judge")
    try:
        response = await model.chat(request)
    except ModelError as exc:
        row.update(error_kind=f"api_{exc.kind}", error=redact(exc.message)[:2000], ended_at=now())
        return row
    except Exception as exc:  # a judge must never crash the sweep: the failure is data
        row.update(error_kind="internal", error=redact(f"{type(exc).__name__}: {exc}")[:2000], ended_at=now())
        return row
    row.update(
        raw=redact(response.content),
        reasoning=redact(response.reasoning) or None,
        finish_reason=response.finish_reason,
        prompt_tokens=response.usage.prompt_tokens,
        completion_tokens=response.usage.completion_tokens,
        latency_s=response.latency_s,
        ended_at=now(),
    )
    obj, mode = parse_json_reply(response.content)
    row["parse_mode"] = mode
    if mode == "failed":
        kind = "truncated" if response.finish_reason == "length" else "unparseable"
        row.update(error_kind="parse", error=f"{kind}: no JSON object in the judge's reply")
        return row
    try:
        verdict = coerce_verdict(obj, s.evidence_chars, s.rationale_chars)
    except VerdictError as exc:
        row.update(error_kind="verdict", error=f"not a verdict: {exc}")
        return row
    row.update(ok=1, verdict=redact(verdict.model_dump_json()))
    return row


async def _close(models: list[ChatModel]) -> None:
    for model in models:
        try:
            await model.aclose()
        except Exception:
            pass


async def judge_experiment(
    store: RunStore,
    judge_models: Sequence[str | ChatModel],
    *,
    concurrency: int = 8,
    limit: int | None = None,
    settings: JudgeSettings | None = None,
    include_errors: bool = False,
    retry_errors: bool = False,
    limits: EndpointLimits | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> JudgeSummary:
    """Call each judge on each stored run not yet judged by it; store each verdict or failure at once.

    judge_models: model strings (`openai/gpt-4o`, `local/...`, `scripted/judge:noise=0.2`) or
    ChatModel instances (named by their `.name`). limit: judge only the first N runs in run-id
    order (the same N for every judge). Runs labelled `error` are left out unless include_errors.
    retry_errors: judge again the pairs stored as failures. Raises JudgeConfigError before any
    call when a judge cannot be built."""
    started = time.perf_counter()
    s = settings or JudgeSettings()
    ensure_tables(store)
    models: list[ChatModel] = []
    built: list[ChatModel] = []
    try:
        for judge in judge_models:
            model = build_judge(judge)
            if model is not judge:
                built.append(model)
            if any(m.name == model.name for m in models):
                raise JudgeConfigError(f"judge {model.name} is listed twice")
            models.append(model)
    except JudgeConfigError:
        await _close(built)
        raise
    runs = select_runs(store, limit, include_errors)
    summary = JudgeSummary(runs=len(runs))
    pending: dict[str, list[ChatModel]] = {rid: [] for rid in runs}
    for model in models:
        done = judged_ids(store, model.name, include_failed=not retry_errors)
        counts = summary.by_judge.setdefault(model.name, JudgeCounts(planned=len(runs)))
        for rid in runs:
            if rid in done:
                counts.skipped += 1
            else:
                pending[rid].append(model)
    todo = [rid for rid in runs if pending[rid]]
    limits = limits or EndpointLimits(default_concurrency=concurrency)

    def record(row: dict[str, Any]) -> None:
        _store_row(store, row)
        counts = summary.by_judge[row["judge_model"]]
        if row["ok"]:
            counts.judged += 1
        else:
            counts.errors += 1
        if on_result is not None:
            on_result(row)

    limited = {m.name: LimitedModel(m, limits, role="judge") for m in models}

    async def work(rid: str) -> None:
        try:
            rec = store.get(rid)
        except Exception as exc:  # an unreadable stored record is data too
            rec = None
            reason = f"stored record unreadable: {type(exc).__name__}: {exc}"
        else:
            reason = "run not found in the store"
        if rec is None:
            for model in pending[rid]:
                record(
                    {
                        "run_id": rid,
                        "judge_model": model.name,
                        "ok": 0,
                        "error_kind": "record",
                        "error": reason[:2000],
                        "prompt_version": prompt_version(s.brief_instruction),
                        "started_at": now(),
                        "ended_at": now(),
                    }
                )
            return
        messages = judge_messages(rec, s.transcript, s.brief_instruction)
        rows = await asyncio.gather(*(judge_one(limited[m.name], rec, s, messages=messages) for m in pending[rid]))
        for row in rows:
            record(row)

    try:
        await run_pool(todo, work, concurrency)
    finally:
        await _close(built)
    summary.elapsed_s = time.perf_counter() - started
    return summary


def _verdict_values(text: str | None) -> dict[str, Any]:
    if not text:
        return {c: None for c in VERDICT_COLUMNS}
    try:
        v = Verdict.model_validate_json(text)
    except ValueError:
        return {c: None for c in VERDICT_COLUMNS}
    return v.model_dump()


def judgement_frame(store: RunStore) -> pd.DataFrame:
    """One row per (run, judge): the verdict's fields (None/NaN on failures), the failure's kind
    and reason, call metadata, and the run's scenario_id, domain, motivation, agent_model,
    condition_key and rule label (the ground truth)."""
    ensure_tables(store)
    cols = ", ".join(f"j.{c}" for c in JUDGEMENT_COLUMNS) + ", " + ", ".join(f"r.{c}" for c in RUN_COLUMNS)
    cur = store.db.execute(
        f"SELECT {cols} FROM judgements j LEFT JOIN runs r ON r.run_id = j.run_id ORDER BY j.run_id, j.judge_model"
    )
    names = JUDGEMENT_COLUMNS + RUN_COLUMNS
    rows = []
    for values in cur:
        row = dict(zip(names, values))
        row.update(_verdict_values(row.pop("verdict")))
        row["ok"] = bool(row["ok"])
        rows.append(row)
    frame = pd.DataFrame(rows, columns=FRAME_COLUMNS)
    for c in BOOL_FIELDS:
        frame[c] = frame[c].astype("boolean")
    frame["severity"] = pd.to_numeric(frame["severity"], errors="coerce").astype(float)
    frame["ok"] = frame["ok"].astype(bool)
    return frame


def verdict_rates(jframe: pd.DataFrame) -> pd.DataFrame:
    """Per judge: n (pairs stored), n_ok, errors, error_rate, the share of each motive, the rates of
    concealment, rationalisation and over-refusal, and mean severity (over successful verdicts)."""
    out = []
    for judge, sub in jframe.groupby("judge_model", sort=True):
        ok = sub[sub["ok"]]
        n_ok = len(ok)
        row: dict[str, Any] = {
            "judge_model": judge,
            "n": len(sub),
            "n_ok": n_ok,
            "errors": len(sub) - n_ok,
            "error_rate": (len(sub) - n_ok) / len(sub) if len(sub) else float("nan"),
        }
        for m in MOTIVES:
            row[f"motive_{m.replace('-', '_')}"] = float((ok["motive"] == m).mean()) if n_ok else float("nan")
        for c in BOOL_FIELDS:
            row[c] = float(ok[c].astype(float).mean()) if n_ok else float("nan")
        row["mean_severity"] = float(ok["severity"].mean()) if n_ok else float("nan")
        out.append(row)
    cols = (
        ["judge_model", "n", "n_ok", "errors", "error_rate"]
        + [f"motive_{m.replace('-', '_')}" for m in MOTIVES]
        + list(BOOL_FIELDS)
        + ["mean_severity"]
    )
    return pd.DataFrame(out, columns=cols)


def error_reasons(jframe: pd.DataFrame) -> pd.DataFrame:
    """Failures counted per (judge_model, error_kind)."""
    bad = jframe[~jframe["ok"]]
    if bad.empty:
        return pd.DataFrame(columns=["judge_model", "error_kind", "n", "example"])
    return (
        bad.groupby(["judge_model", "error_kind"], sort=True)
        .agg(n=("run_id", "size"), example=("error", "first"))
        .reset_index()
    )
