"""The stored record format (store/codec.py): exact requests back, linear size, old stores still read."""

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spine_helpers import sweep

from toxpro.simulate import RunSettings
from toxpro.simulate.records import RunRecord
from toxpro.store import RunStore
from toxpro.store.codec import MAGIC, decode_json, encode_json, pack, unpack
from toxpro.store.merge import merge_stores

OLD_STORE = Path(__file__).parent / "data" / "store_v1"  # written by the format-1 code (commit c155b9e)


def _exact(a: RunRecord, b: RunRecord) -> None:
    """Every call's request byte for byte, and the whole record."""
    assert len(a.turns) == len(b.turns)
    for ta, tb in zip(a.turns, b.turns):
        for ca, cb in zip([ta.agent_call, *ta.env_calls], [tb.agent_call, *tb.env_calls], strict=True):
            assert json.dumps(ca.messages, ensure_ascii=False) == json.dumps(cb.messages, ensure_ascii=False)
            assert ca.json_schema == cb.json_schema and ca.tools == cb.tools and ca.sampling == cb.sampling
        assert list(ta.state_after.items()) == list(tb.state_after.items())
    assert a.model_dump_json() == b.model_dump_json()


@pytest.mark.parametrize("protocol,memory", [("json", "stateless"), ("tools", "full")])
def test_stored_runs_give_back_every_exact_request(tmp_path, dosage, protocol, memory, monkeypatch):
    kept: dict[str, RunRecord] = {}
    put = RunStore.put

    def keeping(self, record, replace=False, secrets=None):
        kept[record.run_id] = record.model_copy(deep=True)
        return put(self, record, replace, secrets)

    monkeypatch.setattr(RunStore, "put", keeping)
    cfg = RunSettings(protocol=protocol, memory=memory, max_turns=12)
    store, _, progress = sweep(
        tmp_path, [dosage], ["scripted/stall", "scripted/strategic", "scripted/garbage"], repeats=2, settings=cfg
    )
    assert progress.done == 6 and len(kept) == 6
    for value, rid in store.db.execute("SELECT record, run_id FROM runs"):
        assert isinstance(value, bytes) and value.startswith(MAGIC)
        _exact(store.get(rid), kept[rid])
    assert {r.run_id for r in store.records()} == set(kept)


def test_append_only_conversation_is_stored_once(tmp_path, dosage):
    store, _, _ = sweep(tmp_path, [dosage], ["scripted/stall"], repeats=1, settings=RunSettings(max_turns=20))
    record = store.get(store.rows()[0]["run_id"])
    packed = pack(json.loads(record.model_dump_json()))
    before, now = (len(t.agent_call.messages) for t in record.turns[-2:])
    # the last agent call holds the whole conversation: stored as the previous call's messages plus two new
    last = packed["record"]["turns"][-1]["agent_call"]["messages"]
    assert last[0] == before and sum(n for _, n in last[1]) == now - before == 2 and len(last[1]) == 1
    # each distinct reply schema / sampling once, not once per call
    assert len(packed["values"]) <= 6  # schema, sampling, tools per role (40 calls)
    deltas = [m for m in packed["messages"] if m[0] == 1]
    assert len(deltas) >= 15  # the environment's re-rendered prompts are line diffs


def _bytes_per_run(tmp_path, dosage, turns: int) -> float:
    store, _, _ = sweep(
        tmp_path / str(turns), [dosage], ["scripted/stall"], repeats=3, settings=RunSettings(max_turns=turns)
    )
    sizes = [len(v) for (v,) in store.db.execute("SELECT record FROM runs")]
    return sum(sizes) / len(sizes)


def test_size_grows_linearly_with_turns(tmp_path, dosage):
    ten, forty = _bytes_per_run(tmp_path, dosage, 10), _bytes_per_run(tmp_path, dosage, 40)
    assert forty <= 4.5 * ten
    assert forty / 40 <= 3000


def test_old_store_reads_without_loss(tmp_path):
    shutil.copytree(OLD_STORE, tmp_path / "old")
    raw = sqlite3.connect(tmp_path / "old" / "runs.sqlite")
    texts = dict(raw.execute("SELECT run_id, record FROM runs"))
    raw.close()
    assert texts and all(isinstance(t, str) for t in texts.values())
    with RunStore(tmp_path / "old") as store:
        for rid, text in texts.items():
            _exact(store.get(rid), RunRecord.model_validate_json(text))
        usage = {u["agent_prompt"] for _, _, u in store.usage()}
        assert usage == {json.loads(t)["usage"]["agent_prompt"] for t in texts.values()}
        assert len(store.frame()) == len(texts)
    # merging migrates: the copy is in format 2 and says the same. The fixture mixes run settings,
    # which merge refuses to pool, so one settings group is merged (the others are dropped from the copy)
    first = json.loads(next(iter(texts.values())))["settings"]
    mixed = [rid for rid, t in texts.items() if json.loads(t)["settings"] != first]
    raw = sqlite3.connect(tmp_path / "old" / "runs.sqlite")
    raw.executemany("DELETE FROM runs WHERE run_id = ?", [(rid,) for rid in mixed])
    raw.commit()
    raw.close()
    texts = {rid: t for rid, t in texts.items() if rid not in mixed}
    merge_stores(tmp_path / "new", [tmp_path / "old"])
    with RunStore(tmp_path / "new") as store:
        for value, rid in store.db.execute("SELECT record, run_id FROM runs"):
            assert isinstance(value, bytes)
            _exact(store.get(rid), RunRecord.model_validate_json(texts[rid]))


def test_unpack_inverts_pack_on_odd_states():
    calls = {
        "who": "agent",
        "model": "m",
        "messages": [{"role": "system", "content": "s"}],
        "sampling": {},
        "started_at": "",
        "ended_at": "",
    }
    states = [{"a": 1, "b": 2}, {"b": 2, "a": 1}, {"a": 1}, {}, {"c": [1, {"x": None}], "a": 1.5}]
    record = {
        "turns": [{"agent_call": calls, "env_calls": [], "state_after": s} for s in states],
        "final_state": {"z": True},
    }
    assert json.dumps(unpack(pack(record))) == json.dumps(record)


texts = st.lists(
    st.sampled_from(["a\n", "b\n", "state: 1\n", "\r\n", "x\u2028y", "", "long line " * 30 + "\n"]), max_size=30
).map("".join)


@settings(max_examples=60, deadline=None)
@given(st.lists(texts, min_size=1, max_size=8))
def test_message_deltas_round_trip(contents):
    messages = [{"role": "user", "content": c} for c in contents]
    call = {"who": "environment", "model": "m", "messages": messages, "sampling": {}, "started_at": "", "ended_at": ""}
    record = {
        "turns": [
            {
                "agent_call": call,
                "env_calls": [dict(call, messages=messages[:i]) for i in range(len(messages))],
                "state_after": {},
            }
        ],
        "final_state": {},
    }
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    assert decode_json(encode_json(text)) == text
