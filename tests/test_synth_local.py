"""One synthesis stage (the story generator) on the embedded local model."""

from __future__ import annotations

import asyncio
import os

import pytest
from conftest import require_local

from toxpro.synth import Story, SynthConfig, SynthStore, build_gates, run_stage_once


@pytest.mark.slow
def test_story_generator_on_the_local_model(tmp_path, monkeypatch):
    require_local()
    from toxpro.models import build_model

    # one thread: on a busy 2-core box llama.cpp's spinning threads are far slower than one
    monkeypatch.setenv("TOXPRO_THREADS", os.environ.get("TOXPRO_THREADS", "1"))
    config = SynthConfig(
        domain="Finance",
        motivation="loyalty",
        n=1,
        generator="local/smollm2-135m",
        gates=build_gates(7, 0, max_tokens=200),
    )
    model = build_model("local/smollm2-135m", slot="synth")
    result = asyncio.run(run_stage_once(model, config, "story", out_dir=tmp_path))
    # a 135M model rarely fits a whole story in 200 tokens: either outcome is data, never an exception
    assert (result.obj is not None and result.error is None) or (result.obj is None and result.error)
    if result.obj is not None:
        assert isinstance(result.obj, Story)
    with SynthStore(tmp_path) as store:
        [row] = list(store.iter_table("stage_outputs"))
        assert row["stage"] == "story" and row["role"] == "generator" and row["model"] == "local/smollm2-135m"
        assert (row["payload"] is not None) == (result.obj is not None)
        assert row["error"] == result.error
        [call] = store.calls()
        assert call["completion_tokens"] <= 200 and call["cost"] == 0.0
        assert call["prompt_tokens"] < 700  # the grammar carries the schema; the prompt stays short
