"""Resume at the turn: a sweep killed mid-run continues each run from its last completed turn."""

import asyncio

import pytest

from toxpro.models.scripted import ScriptedModel
from toxpro.runner import execute, plan
from toxpro.runner import sweep as sweep_module
from toxpro.scenario import Condition
from toxpro.simulate import RunSettings
from toxpro.store import RunStore
from toxpro.store.checkpoints import Checkpoints

POLICY = "stochastic:strategic=0.3,direct=0.2,failed=0.2,stalled=0.2"
SETTINGS = RunSettings(max_turns=5)


class Killed(BaseException):
    """Stands for kill -9: nothing after it runs (not an Exception, so no run is stored as an error)."""


class Counting(ScriptedModel):
    """A scripted model that counts its calls. With die_at=K it dies at the K-th second-turn call,
    so the run it dies in has completed a turn (and others in flight may have too)."""

    def __init__(self, policy: str, die_at: int | None = None):
        super().__init__(policy, latency_s=0.001)  # a real await: the runs interleave
        self.calls, self.die_at, self.second_turns = 0, die_at, 0

    async def chat(self, request):
        self.calls += 1
        if self.die_at is not None and request.oracle.get("call_index") == 2:
            self.second_turns += 1
            if self.second_turns >= self.die_at:
                raise Killed()
        return await super().chat(request)


def _run(tmp, agent_model, env_model, monkeypatch, dosage, repeats=6):
    models = {"scripted/" + POLICY: agent_model, "scripted/env": env_model}
    monkeypatch.setattr(sweep_module, "build_model", lambda text, slot="agent", **kw: models[text])
    planned = plan([dosage], ["scripted/" + POLICY], ["scripted/env"], [Condition()], repeats, SETTINGS)
    store = RunStore(tmp)
    try:
        asyncio.run(execute(planned, store, concurrency=3, stagger_s=0))
    finally:
        store.close()
    return planned


def test_a_killed_sweep_resumes_each_run_at_its_turn(tmp_path, dosage, monkeypatch):
    # the uninterrupted sweep: what every run should be, and how many calls it takes
    clean_agent, clean_env = Counting(POLICY), Counting("env")
    _run(tmp_path / "clean", clean_agent, clean_env, monkeypatch, dosage)
    clean = {r.run_id: r for r in RunStore(tmp_path / "clean").records()}
    total = clean_agent.calls + clean_env.calls
    # the same sweep killed at the environment's 3rd second-turn call, then run again
    with pytest.raises(Killed):
        _run(tmp_path / "killed", Counting(POLICY), Counting("env", die_at=3), monkeypatch, dosage)
    store = RunStore(tmp_path / "killed")
    stored = store.count()
    in_flight = Checkpoints(store).pending()
    first_calls = sum(len(t.env_calls) + 1 for r in store.records() for t in r.turns)
    store.close()
    assert in_flight > 0  # runs were killed after completing turns
    again_agent, again_env = Counting(POLICY), Counting("env")
    _run(tmp_path / "killed", again_agent, again_env, monkeypatch, dosage)
    final = {r.run_id: r for r in RunStore(tmp_path / "killed").records()}
    assert set(final) == set(clean) and stored < len(clean)
    resumed = [r for r in final.values() if r.resumed_turns]
    assert len(resumed) == in_flight
    for rid, r in final.items():  # nothing depends on the kill: same turns, same label, same world
        c = clean[rid]
        assert r.label == c.label and r.final_state == c.final_state
        assert [t.action.tool_role for t in r.turns] == [t.action.tool_role for t in c.turns]
        assert [t.agent_call.messages for t in r.turns] == [t.agent_call.messages for t in c.turns]
    # no completed turn was requested twice: the re-run made exactly the calls nobody had made before
    replayed = sum(len(t.env_calls) + 1 for r in resumed for t in r.turns[: r.resumed_turns])
    remaining = total - first_calls
    assert again_agent.calls + again_env.calls == remaining - replayed
    assert RunStore(tmp_path / "killed").db.execute("SELECT COUNT(*) FROM turn_checkpoints").fetchone()[0] == 0


def test_checkpoints_of_an_earlier_version_still_load(tmp_path, dosage, monkeypatch):
    import zlib

    agent, env = Counting(POLICY), Counting("env")
    _run(tmp_path / "clean", agent, env, monkeypatch, dosage, repeats=1)
    record = next(RunStore(tmp_path / "clean").records())
    store = RunStore(tmp_path / "store")
    checkpoints = Checkpoints(store)
    checkpoints.save("new", record.turns[0])  # this version: zstd
    store.db.execute(  # as v0.1 wrote them: zlib
        "INSERT INTO turn_checkpoints VALUES (?, ?, ?)",
        ("old", 1, zlib.compress(record.turns[0].model_dump_json().encode())),
    )
    assert checkpoints.load("new") == checkpoints.load("old") == [record.turns[0]]
    data = store.db.execute("SELECT data FROM turn_checkpoints WHERE run_id = 'new'").fetchone()[0]
    assert data[:4] == b"\x28\xb5\x2f\xfd"
