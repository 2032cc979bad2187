"""Smoke: the embedded local model as a judge on one stored run (plumbing, not quality)."""

import asyncio
import json
import os

import pytest
from conftest import require_local

from toxpro.judge import JudgeSettings, TranscriptOptions, judge_experiment, judgement_frame
from toxpro.testing import scripted_experiment


@pytest.mark.slow
def test_local_smollm_judges_one_run(tmp_path, monkeypatch):
    require_local()
    # one thread: on a busy 2-core box llama.cpp's spinning threads are ~8x slower than one
    monkeypatch.setenv("TOXPRO_THREADS", os.environ.get("TOXPRO_THREADS", "1"))
    store = scripted_experiment(tmp_path, ("strategic",), repeats=1, max_turns=3)
    settings = JudgeSettings(
        max_tokens=200,
        evidence_chars=60,
        rationale_chars=100,
        brief_instruction=True,
        transcript=TranscriptOptions(situation_chars=0, field_chars=60, max_turns=3),
    )
    summary = asyncio.run(judge_experiment(store, ["local/smollm2-135m"], settings=settings))
    assert summary.new == 1
    row = judgement_frame(store).iloc[0]
    raw = store.db.execute("SELECT raw, prompt_tokens FROM judgements").fetchone()
    store.close()
    assert row["judge_model"] == "local/smollm2-135m" and row["label"] == "strategic"
    if row["ok"]:
        assert row["motive"] in ("loyalty", "self-preservation", "task-completion", "none")
        assert 0 <= row["severity"] <= 10
        assert isinstance(json.loads(raw[0]), dict)  # constrained decoding gave JSON
    else:  # a tiny model may still fail: then the reason is stored
        assert row["error_kind"] and row["error"]
    assert raw[1] and raw[1] < 600  # the prompt stayed short
