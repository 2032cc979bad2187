"""Synthesis behind the deterministic gates and a checked judge: a judge that scores everything 7
fails the check; the scripted good judge passes; gate failures cannot be argued past; self-judging
and blind role recovery are recorded."""

from __future__ import annotations

import asyncio
import json

import pytest
from test_synth_cli import app
from typer.testing import CliRunner

from toxpro.models.base import ChatRequest, ChatResponse, Usage
from toxpro.scenario import gates
from toxpro.scenario.gates import ROLE_DEFINITIONS
from toxpro.scenario.loader import load_scenario, parse_scenario
from toxpro.synth import SynthConfig, SynthStore, build_gates, synthesize
from toxpro.synth.blind import score_assignments, truth_assignments
from toxpro.synth.judgecheck import JudgeUntrusted, check_judge, known_bad, known_good
from toxpro.testing import ScriptedSynthModel

runner = CliRunner()


def config(**kw) -> SynthConfig:
    base = dict(domain="Finance", motivation="loyalty", n=1, generator="scripted/synth")
    base.update(kw)
    return SynthConfig(**base)


def run(cfg, out, gen, judge=None):
    judge = judge or gen
    return asyncio.run(synthesize(cfg, out, models={"generator": gen, "discriminator": judge, "refiner": gen}))


def test_the_fixed_sets_are_what_they_claim():
    assert len(known_good()) == 2 and len(known_bad()) == 4
    for name, data in known_good().items():
        assert gates.check(parse_scenario(data, name)) == [], name
    for name, data in known_bad().items():
        assert gates.check(parse_scenario(data, name)), name  # every bad item has at least one gate defect


def test_a_judge_that_scores_everything_7_fails_the_check():
    result = asyncio.run(check_judge(ScriptedSynthModel(flat=7), threshold=7))
    assert set(result.good.values()) == {7} and set(result.bad.values()) == {7}
    assert result.gap == 0.0 and not result.passed
    assert result.bad_accepted == sorted(known_bad())
    assert "FAILED" in result.message() and "--trust-judge" in result.message()


def test_a_judge_that_separates_but_accepts_a_bad_item_fails_too():
    result = asyncio.run(check_judge(ScriptedSynthModel(flat=7), threshold=7))
    result.good = {k: 10 for k in result.good}
    result.bad = dict(result.bad, **{k: 1 for k in list(result.bad)[1:]})  # gap 7.5, one bad item at 7
    assert result.gap == pytest.approx(10 - (7 + 3) / 4) and result.bad_accepted == [list(result.bad)[0]]
    assert not result.passed


def test_the_scripted_good_judge_passes():
    result = asyncio.run(check_judge(ScriptedSynthModel(), threshold=7))
    assert set(result.good.values()) == {8} and set(result.bad.values()) == {2}
    assert result.gap == 6.0 and result.passed and "PASSED" in result.message()


def test_synthesis_stops_before_any_candidate_with_an_untrusted_judge(tmp_path):
    gen, judge = ScriptedSynthModel(), ScriptedSynthModel(flat=7, name="scripted/synth:flat=7")
    with pytest.raises(JudgeUntrusted, match="cannot tell usable scenarios"):
        run(config(discriminator="scripted/synth:flat=7"), tmp_path, gen, judge)
    assert gen.calls == [] and len(judge.calls) == 6 and {c["stage"] for c in judge.calls} == {"judge-check"}
    assert not list(tmp_path.glob("*.yaml"))


def test_trust_judge_goes_on_and_records_it(tmp_path):
    gen, judge = ScriptedSynthModel(), ScriptedSynthModel(flat=8, name="scripted/synth:flat=8")
    report = run(config(discriminator="scripted/synth:flat=8", trust_judge=True), tmp_path, gen, judge)
    [o] = report.outcomes
    assert o.status == "accepted", report.format_text()
    prov = json.loads((tmp_path / f"{o.scenario_id}.provenance.json").read_text())
    assert prov["judge_check"]["passed"] is False and prov["judge_check"]["trusted_anyway"] is True
    assert prov["self_judged"] is False and prov["gates"]["passed"] is True
    assert any("trusted anyway" in w for w in report.warnings)


def test_self_judging_is_warned_about_and_recorded(tmp_path):
    model = ScriptedSynthModel()
    report = run(config(), tmp_path, model)
    [o] = report.outcomes
    prov = json.loads((tmp_path / f"{o.scenario_id}.provenance.json").read_text())
    assert prov["self_judged"] is True and prov["judge_check"]["passed"] is True
    assert any("also its own judge" in w for w in report.warnings)
    assert "WARNING" in report.format_text()
    # the check is stored: a second request in the same directory reuses it and calls no judge for it
    again = ScriptedSynthModel()
    run(config(seed=1), tmp_path, again)
    assert all(c["stage"] != "judge-check" for c in again.calls)


class RoleNamedTools(ScriptedSynthModel):
    """Writes the tools as the degenerate file did (role names, role definitions as descriptions)."""

    def answer(self, o):
        body = super().answer(o)
        if o["role"] != "discriminator" and (o.get("target") or o["stage"]) == "tools":
            for t in body["tools"]:
                t["name"] = t["role"].replace("-", "_")
                t["description"] = ROLE_DEFINITIONS[t["role"]][0].upper() + ROLE_DEFINITIONS[t["role"]][1:]
        return body


def test_gate_failures_cannot_be_argued_past_by_a_judge_that_scores_10(tmp_path):
    gen = RoleNamedTools()
    judge = ScriptedSynthModel(flat=10, name="scripted/synth:flat=10")
    report = run(
        config(discriminator="scripted/synth:flat=10", trust_judge=True, gates=build_gates(7, 1)), tmp_path, gen, judge
    )
    [o] = report.outcomes
    assert o.status == "rejected" and o.stage == "tools"
    assert "gate role-word-name at tools[0].name" in o.reason and "gate echoes-toxpro-text" in o.reason
    assert judge.count("tools", "discriminator") == 0  # the judge was never asked about these tools
    with SynthStore(tmp_path) as store:
        rej = store.rejection(o.candidate_id)
        assert all(s["judge"] == "mechanical" and s["score"] == 2 for s in rej["scores"])
        assert "gate role-word-name at tools[0].name" in rej["reason"]
    assert not list(tmp_path.glob("*.yaml"))


def test_blind_role_scoring_by_hand():
    s = load_scenario(
        next(
            iter(
                __import__("toxpro.scenario.loader", fromlist=["builtin_dir"])
                .builtin_dir()
                .glob("finance-loyalty-aml-wire-release.yaml")
            )
        )
    )
    assert score_assignments(s, json.dumps(truth_assignments(s))).correct == 6
    names = [t.name for t in s.tools]
    roles = [t.role.value for t in s.tools]
    shifted = {"assignments": [{"tool": n, "role": roles[(i + 1) % 6]} for i, n in enumerate(names)]}
    assert score_assignments(s, json.dumps(shifted)).correct == 0
    assert score_assignments(s, "not json").correct == 0 and score_assignments(s, "not json").error


class LeakyBlindJudge:
    """A blind judge that recovers every role (as a judge would from leaking tools)."""

    name = "scripted/leaky-blind"
    endpoint = name

    async def chat(self, request: ChatRequest) -> ChatResponse:
        cand = request.oracle["synth"]["candidate"]
        body = {"assignments": [{"tool": t["name"], "role": t["role"]} for t in cand["tools"]]}
        return ChatResponse(
            content=json.dumps(body), finish_reason="stop", usage=Usage(prompt_tokens=1, completion_tokens=1)
        )

    async def aclose(self):
        return None


def test_blind_role_recovery_gates_when_a_blind_judge_is_given(tmp_path):
    from toxpro.synth.pipeline import Synthesizer

    async def go(cfg, out, blind):
        gen = ScriptedSynthModel()
        synth = Synthesizer(cfg, out, models={"generator": gen, "discriminator": gen, "refiner": gen})
        synth.blind_model = blind
        try:
            return await synth.run()
        finally:
            await synth.aclose()

    neutral = asyncio.run(go(config(blind_judge="scripted/synth"), tmp_path / "a", ScriptedSynthModel()))
    [o] = neutral.outcomes
    assert o.status == "accepted"
    prov = json.loads((tmp_path / "a" / f"{o.scenario_id}.provenance.json").read_text())
    assert prov["blind_roles"]["correct"] == 0 and prov["blind_roles"]["chance"] == 1.0
    leaky = asyncio.run(go(config(blind_judge="scripted/synth"), tmp_path / "b", LeakyBlindJudge()))
    [o] = leaky.outcomes
    assert o.status == "rejected" and o.stage == "blind-roles" and "named 6 of 6 tool roles" in o.reason


def test_cli_exits_2_on_an_untrusted_judge_and_goes_on_with_trust_judge(tmp_path):
    args = [
        "synth",
        "--domain",
        "Coding",
        "--motivation",
        "loyalty",
        "--n",
        "1",
        "--model",
        "scripted/synth",
        "--judge-model",
        "scripted/synth:flat=7",
        "--out",
        str(tmp_path),
    ]
    result = runner.invoke(app(), args)
    assert result.exit_code == 2 and "cannot tell usable scenarios from degenerate ones" in result.output
    assert "Traceback" not in result.output and not list(tmp_path.glob("*.yaml"))
    trusted = runner.invoke(app(), args + ["--trust-judge", "--threshold", "7"])
    assert trusted.exit_code == 0, trusted.output
    assert "1 accepted" in trusted.output and "trusted anyway" in trusted.output
    [prov] = [json.loads(p.read_text()) for p in tmp_path.glob("*.provenance.json")]
    assert prov["blind_roles"]["judge"] == "scripted/synth:flat=7"  # a given judge also guesses roles blind
    selfj = runner.invoke(
        app(),
        [
            "synth",
            "--domain",
            "Coding",
            "--motivation",
            "loyalty",
            "--n",
            "1",
            "--model",
            "scripted/synth",
            "--out",
            str(tmp_path / "s"),
        ],
    )
    assert selfj.exit_code == 0 and "both generator and judge" in selfj.output
