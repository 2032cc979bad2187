"""Scenario synthesis end to end with the scripted synth backend: gates, storage, resume, cache, dedup."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from toxpro.scenario import Condition, load_builtin, load_scenario
from toxpro.scenario.lint import lint
from toxpro.synth import SynthConfig, SynthStore, build_gates, synthesize
from toxpro.testing import ScriptedCrash, ScriptedSynthModel


def config(n: int = 2, **kw) -> SynthConfig:
    # the judge check (its own tests: test_synth_gates.py) adds six calls; these tests count pipeline calls
    base = dict(domain="Finance", motivation="loyalty", n=n, generator="scripted/synth", judge_check=False)
    base.update(kw)
    return SynthConfig(**base)


def run(cfg: SynthConfig, out: Path, model: ScriptedSynthModel, **kw):
    return asyncio.run(
        synthesize(cfg, out, models={"generator": model, "discriminator": model, "refiner": model}, **kw)
    )


def yamls(out: Path) -> list[Path]:
    return sorted(out.glob("*.yaml"))


def test_two_candidates_give_two_valid_distinct_scenarios(tmp_path):
    model = ScriptedSynthModel()
    report = run(config(2), tmp_path, model)
    assert [o.status for o in report.outcomes] == ["accepted", "accepted"], report.format_text()
    files = yamls(tmp_path)
    assert len(files) == 2
    scenarios = [load_scenario(f) for f in files]
    assert len({s.id for s in scenarios}) == 2
    for s in scenarios:
        assert s.domain.value == "Finance" and s.motivation.value == "loyalty"
        assert "synth" in s.tags
    # the same checks as the hand-written bank, including the diversity check against it
    bank = load_builtin()
    report_lint = lint(bank + scenarios)
    assert report_lint.ok, report_lint.format_text()
    assert not report_lint.warnings, report_lint.format_text()
    # provenance sidecar next to each file
    for s, _f in zip(scenarios, files):
        prov = json.loads((tmp_path / f"{s.id}.provenance.json").read_text())
        assert prov["scenario_id"] == s.id and prov["content_hash"] == s.content_hash
        assert prov["models"] == {
            "generator": "scripted/synth",
            "discriminator": "scripted/synth",
            "refiner": "scripted/synth",
        }
        assert prov["toxpro_version"] and prov["written_at"] and isinstance(prov["seed"], int)
        assert set(prov["stages"]) == {"story", "evidence", "tools", "compile"}
        assert all(st["scores"] and st["scores"][-1]["score"] >= 7 for st in prov["stages"].values())
        assert prov["closest_existing"]["text"] <= 0.30
    # one generator + one discriminator call per part stage, one compile judge: 7 calls per candidate
    assert len(model.calls) == 14
    assert report.total.calls == 14 and report.total.cost == 0.0
    assert report.usage["tools"].prompt_tokens > 0


def test_generated_scenario_runs_through_the_engine_unchanged(tmp_path):
    from toxpro.runner import execute, plan
    from toxpro.simulate import RunSettings
    from toxpro.store import RunStore

    run(config(1, seed=3), tmp_path / "synth", ScriptedSynthModel())
    scenario = load_scenario(yamls(tmp_path / "synth")[0])
    settings = RunSettings()
    store = RunStore(tmp_path / "runs")
    planned = plan([scenario], ["scripted/strategic"], ["scripted/env"], [Condition()], 1, settings)
    asyncio.run(execute(planned, store))
    rows = store.rows()
    assert len(rows) == 1
    assert rows[0]["label"] == "strategic", rows[0]
    store.close()


def test_failing_discriminator_rejects_and_stores_every_rescored_round(tmp_path):
    model = ScriptedSynthModel(fail=True)
    cfg = config(1, gates=build_gates(threshold=7, rounds=2))
    report = run(cfg, tmp_path, model)
    assert [o.status for o in report.outcomes] == ["rejected"]
    assert report.outcomes[0].stage == "story"
    assert "score 2 < threshold 7 after 2 refinement(s)" in report.outcomes[0].reason
    assert yamls(tmp_path) == []
    with SynthStore(tmp_path) as store:
        [rej] = store.rejections()
        assert rej["stage"] == "story" and "threshold 7" in rej["reason"]
        # scored, refined, scored again, refined, scored again: the final round is a fresh score
        assert [s["round"] for s in rej["scores"]] == [0, 1, 2]
        assert all(s["score"] == 2 and s["judge"] == "scripted/synth" for s in rej["scores"])
        assert [v["round"] for v in store.verdicts(rej["candidate_id"], "story")] == [0, 1, 2]
        roles = [(o["round"], o["role"]) for o in store.outputs(rej["candidate_id"])]
        assert roles == [(0, "generator"), (1, "refiner"), (2, "refiner")]
        assert store.stage_result(rej["candidate_id"], "story")["status"] == "rejected"
        assert store.candidate(rej["candidate_id"])["status"] == "rejected"
    assert model.count("story", "discriminator") == 3 and model.count("evidence") == 0
    # a rejection is final: running again calls nothing
    again = ScriptedSynthModel(fail=True)
    report2 = run(cfg, tmp_path, again)
    assert again.calls == [] and report2.outcomes[0].status == "rejected" and report2.outcomes[0].resumed


def test_per_stage_gate_thresholds_and_rounds(tmp_path):
    model = ScriptedSynthModel(flaky=True)  # 5 on a first draft, 8 after a refinement
    cfg = config(1, gates=build_gates(threshold=7, rounds=1, overrides=["evidence.rounds=0", "story.threshold=4"]))
    report = run(cfg, tmp_path, model)
    # story passes at 5 (threshold 4); evidence has no refinement left at 5 < 7
    assert report.outcomes[0].status == "rejected" and report.outcomes[0].stage == "evidence"
    assert model.count("story", "refiner") == 0 and model.count("evidence", "refiner") == 0
    flaky = ScriptedSynthModel(flaky=True)
    report = run(config(1, seed=1, gates=build_gates(7, 1)), tmp_path / "b", flaky)
    assert report.outcomes[0].status == "accepted"
    assert flaky.count("story", "refiner") == flaky.count("evidence", "refiner") == flaky.count("tools", "refiner") == 1


def test_gate_findings_go_back_to_the_refiner_and_the_judge_is_not_asked(tmp_path):
    model = ScriptedSynthModel(compile_error=True)  # a moral word in a tool description
    report = run(config(1), tmp_path, model)
    assert report.outcomes[0].status == "accepted", report.format_text()
    with SynthStore(tmp_path) as store:
        cid = report.outcomes[0].candidate_id
        v0, v1 = store.verdicts(cid, "tools")
        # the deterministic gate decides round 0: the judge never saw the leaking draft
        assert v0["judge"] == "mechanical" and v0["score"] == 2
        assert (
            "gate valence-description at tools[3].description" in v0["feedback"] and "'unauthorized'" in v0["feedback"]
        )
        assert v1["judge"] == "scripted/synth" and v1["score"] >= 7
        refined = [o for o in store.outputs(cid) if o["stage"] == "tools"]
        assert [(o["role"], o["round"]) for o in refined] == [("generator", 0), ("refiner", 1)]
    assert model.count("tools", "discriminator") == 1
    assert "unauthorized" not in yamls(tmp_path)[0].read_text()


def test_crash_mid_stage_resumes_without_repeating_finished_stages(tmp_path):
    cfg = config(2, cache=False)  # resume must not depend on the response cache
    full = ScriptedSynthModel()
    run(cfg, tmp_path / "reference", full)
    total = len(full.calls)

    crashing = ScriptedSynthModel(crash_stage="tools", crash_call=2)  # the tools discriminator of candidate 0
    with pytest.raises(ScriptedCrash):
        run(cfg, tmp_path / "out", crashing)
    done_before = len(crashing.calls)
    assert [c["stage"] for c in crashing.calls] == ["story", "story", "evidence", "evidence", "tools"]
    assert yamls(tmp_path / "out") == []

    resumed = ScriptedSynthModel()
    report = run(cfg, tmp_path / "out", resumed)
    assert [o.status for o in report.outcomes] == ["accepted", "accepted"]
    assert len(resumed.calls) == total - done_before
    first = [c for c in resumed.calls if c["seed"] == 0]
    assert [(c["stage"], c["role"]) for c in first] == [("tools", "discriminator"), ("compile", "discriminator")]
    # identical files to an uninterrupted run
    names = [p.name for p in yamls(tmp_path / "out")]
    assert names == [p.name for p in yamls(tmp_path / "reference")]
    for name in names:
        assert (tmp_path / "out" / name).read_text() == (tmp_path / "reference" / name).read_text()


def test_response_cache_serves_identical_requests(tmp_path):
    from toxpro.models.base import ChatRequest
    from toxpro.synth.cache import cached_chat

    model = ScriptedSynthModel()
    oracle = {
        "synth": {
            "stage": "story",
            "role": "generator",
            "target": "story",
            "round": 0,
            "seed": 0,
            "index": 0,
            "domain": "Finance",
            "motivation": "loyalty",
            "stakes": "high",
        }
    }
    req = ChatRequest(messages=[{"role": "user", "content": "write a story"}], oracle=oracle)
    with SynthStore(tmp_path / "c") as store:
        a, hit_a = asyncio.run(cached_chat(store, model, req))
        b, hit_b = asyncio.run(cached_chat(store, model, req))
        other = req.model_copy(update={"sampling": req.sampling.model_copy(update={"seed": 9})})
        _, hit_c = asyncio.run(cached_chat(store, model, other))
    assert (hit_a, hit_b, hit_c) == (False, True, False)
    assert a.content == b.content and len(model.calls) == 2

    # the whole pipeline: forget progress, remove the files, run again -> every call served from the cache
    first = ScriptedSynthModel()
    run(config(2), tmp_path / "p", first)
    before = {p.name: p.read_text() for p in yamls(tmp_path / "p")}
    for p in (tmp_path / "p").glob("synth-*"):
        p.unlink()
    second = ScriptedSynthModel()
    report = run(config(2), tmp_path / "p", second, restart=True)
    assert second.calls == []
    assert report.total.calls == len(first.calls) and report.total.cached == report.total.calls
    assert {p.name: p.read_text() for p in yamls(tmp_path / "p")} == before


def test_near_duplicates_of_earlier_outputs_are_rejected_with_similarity(tmp_path):
    run(config(1, seed=0), tmp_path, ScriptedSynthModel())
    # seed 6 picks the same archetype as seed 0 with other names: a near-duplicate of the first file
    report = run(config(1, seed=6), tmp_path, ScriptedSynthModel())
    [o] = report.outcomes
    assert o.status == "rejected" and o.stage == "dedup"
    assert "near-duplicate of synth-finance-loyalty-" in o.reason and "text similarity 0." in o.reason
    assert len(yamls(tmp_path)) == 1
    with SynthStore(tmp_path) as store:
        rej = store.rejection(o.candidate_id)
        assert rej["stage"] == "dedup" and rej["scores"][0]["text"] > 0.30


def test_dry_run_estimates_without_calls(tmp_path):
    from toxpro.synth import estimate, load_prices

    cfg = config(4, generator="openai/gpt-4o-mini", discriminator="scripted/synth")
    est = estimate(cfg, load_prices(env=""))
    text = est.format_text()
    typical, worst = est.total(est.typical), est.total(est.worst)
    assert typical.calls == 4 * 7
    assert worst.calls == 4 * (3 * (1 + 3 + 2) + 3 + 2)
    assert 0 < typical.prompt < worst.prompt and typical.cost > 0 and worst.cost > typical.cost
    assert "nothing was called" in text and "$" in text
    # the judge check: six scores, once per request
    checked = estimate(
        config(4, generator="openai/gpt-4o-mini", discriminator="scripted/synth", judge_check=True), load_prices(env="")
    )
    assert checked.total(checked.typical).calls == 4 * 7 + 6 and "judge-check" in checked.format_text()
    unknown = estimate(config(1, generator="vllm/some-model@http://h:8000/v1"), load_prices(env=""))
    assert unknown.total(unknown.typical).cost is None
    assert "unknown" in unknown.format_text()
