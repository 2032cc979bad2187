"""The engine over HTTP against a scripted OpenAI-compatible server on 127.0.0.1."""

import collections

from spine_helpers import implied_label, sweep

from toxpro.models.retry import RetryPolicy
from toxpro.simulate import RunSettings
from toxpro.testing import FaultPlan, ScriptedServer, ServerThread, roles_of

FAST = RetryPolicy(max_attempts=6, base_s=0.01, max_wait_s=0.05, timeout_s=1.0)
POLICY = "stochastic:strategic=0.25,direct=0.15,failed=0.1,stalled=0.05,garbage=0.05"


def test_counts_and_mr_exactly_as_the_policy_implies(tmp_path, dosage):
    # over 120 runs every kind occurs (P(none) < 1e-4 each)
    faults = FaultPlan(
        {"429": 0.08, "500": 0.08, "503": 0.04, "garbage": 0.1, "truncated": 0.05, "fenced": 0.08, "think": 0.08},
        seed=3,
        retry_after_s=0.01,
    )
    server = ScriptedServer(roles=roles_of([dosage]), faults=faults)
    with ServerThread(server) as srv:
        agent, env = f"compat/{POLICY}@{srv.base_url}", f"compat/env@{srv.base_url}"
        store, planned, progress = sweep(
            tmp_path,
            [dosage],
            [agent],
            [env],
            repeats=120,
            concurrency=16,
            policy=FAST,
            settings=RunSettings(max_turns=6),
        )
    rows = store.rows()
    assert len(rows) == len(planned) == 120 and progress.done == 120
    expected = collections.Counter(implied_label(POLICY, r["seed"]) for r in rows)
    # stalled runs hit the 6-turn cap; garbage runs become protocol errors
    got = collections.Counter(r["label"] for r in rows)
    assert got == expected
    for r in rows:
        assert r["label"] == implied_label(POLICY, r["seed"])
    valid = [r for r in rows if r["label"] != "error"]
    mr = sum(r["label"] in ("strategic", "direct") for r in valid) / len(valid)
    assert mr == (expected["strategic"] + expected["direct"]) / (120 - expected["error"])
    # transport faults were retried (and recorded), malformed first replies were counted, not fatal
    assert server.stats.faults.get("429", 0) > 0 and server.stats.faults.get("500", 0) > 0
    assert sum(r["retries"] for r in rows) >= server.stats.faults["429"] + server.stats.faults[
        "500"
    ] + server.stats.faults.get("503", 0)
    malformed = server.stats.faults.get("garbage", 0) + server.stats.faults.get("truncated", 0)
    assert sum(r["protocol_errors"] for r in rows if r["error_kind"] != "protocol") == malformed
    modes = collections.Counter(t.action.parse_mode for rec in store.records() for t in rec.turns if t.action)
    assert modes["fenced"] > 0 and modes["failed"] > 0
    # think tags are reasoning, not answer
    thinking = [t for rec in store.records() for t in rec.turns if "weighing" in t.agent_call.response.reasoning]
    assert thinking and all(t.action.ok for t in thinking)


def test_errors_are_stored_with_reasons_and_the_sweep_goes_on(tmp_path, dosage):
    server = ScriptedServer(roles=roles_of([dosage]))
    with ServerThread(server) as srv:
        good = f"compat/always-direct@{srv.base_url}"
        env = f"compat/env@{srv.base_url}"
        dead = "compat/always-direct@http://127.0.0.1:9/v1"  # nothing listens on port 9
        store, planned, progress = sweep(
            tmp_path,
            [dosage],
            [good, dead],
            [env],
            repeats=3,
            policy=RetryPolicy(max_attempts=2, base_s=0.01, timeout_s=1.0),
        )
    rows = {r["agent_model"]: [] for r in store.rows()}
    for r in store.rows():
        rows[r["agent_model"]].append(r)
    assert [r["label"] for r in rows[good]] == ["direct"] * 3
    assert all(r["label"] == "error" and r["error_kind"] == "api_connection" for r in rows[dead])
    record = next(store.records("WHERE agent_model = ?", [dead]))
    assert "gave up after 2 attempts" in record.error.message and record.turns[0].agent_call.error.retries == 1


def test_auth_error_is_not_retried(tmp_path, dosage):
    import asyncio

    import pytest

    from toxpro.models import ChatRequest, ModelError, build_model

    class Unauthorized(ScriptedServer):
        async def _respond(self, method, path, raw, writer):
            self.stats.requests += 1
            self._write(writer, 401, {"error": {"message": "bad key"}})
            return True

    server = Unauthorized()
    with ServerThread(server) as srv:
        model = build_model(f"compat/x@{srv.base_url}", policy=FAST)
        with pytest.raises(ModelError) as info:
            asyncio.run(model.chat(ChatRequest(messages=[{"role": "user", "content": "hi"}])))
    assert info.value.kind == "auth" and server.stats.requests == 1
