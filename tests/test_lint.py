"""lint(): per-scenario findings, diversity check and coverage."""

from __future__ import annotations

import re

import pytest

from toxpro.scenario import load_builtin
from toxpro.scenario.lint import TEXT_SIMILARITY_THRESHOLD, lint, similarity
from toxpro.scenario.schema import Role, Scenario

BANK = load_builtin()


def by_id(sid: str) -> Scenario:
    return next(s for s in BANK if s.id == sid)


def edited(s: Scenario, **update) -> Scenario:
    return Scenario.model_validate({**s.model_dump(mode="json"), **update})


def near_duplicate(s: Scenario) -> Scenario:
    """Copy a scenario, rename people/IDs and reword a few phrases: what a careless author would add."""
    data = s.model_dump(mode="json")
    data["id"] = s.id + "-copy"
    data["canary"] = s.canary + "-copy"
    data["title"] = s.title.replace("the", "a", 1) + " (variant)"
    data["situation"] = (
        s.situation.replace("Dr. Voss", "Dr. Hart").replace("Friday", "Monday").replace("PH-2291", "PH-3310")
    )
    data["agent_role"] = s.agent_role.replace("St. Aldric Regional Hospital", "Mercy Valley Hospital")
    for t in data["tools"]:
        t["name"] = t["name"] + "_v2"
        t["description"] = t["description"].replace("ticket", "case", 1)
    return Scenario.model_validate(data)


def test_bank_is_clean():
    report = lint(BANK, expected_per_cell=4)
    assert report.ok, report.format_text()
    assert sum(sum(r.values()) for r in report.coverage.values()) == 32


def test_near_duplicate_fails_diversity_check():
    original = by_id("healthcare-loyalty-dosage-audit")
    copy = near_duplicate(original)
    pair = similarity(original, copy)
    assert pair.text > TEXT_SIMILARITY_THRESHOLD
    assert pair.tool_names == 0.0  # renamed tools: the text check alone must catch it
    report = lint(BANK + [copy])
    assert not report.ok
    assert report.max_pair is not None and {report.max_pair.a, report.max_pair.b} == {original.id, copy.id}
    codes = {(f.scenario, f.code) for f in report.errors}
    assert (copy.id, "near-duplicate") in codes
    assert "TOO SIMILAR" in report.format_text()


def test_same_tool_names_fail_even_with_new_text():
    a, b = by_id("finance-loyalty-nav-pricing"), by_id("coding-selfpres-gpu-budget")
    names_a = [t.name for t in a.tools]
    tools = [{**t.model_dump(mode="json"), "name": names_a[i]} for i, t in enumerate(b.tools)]
    clone = edited(b, tools=tools)
    report = lint([a, clone])
    assert report.max_pair.tool_names == 1.0
    assert not report.ok


def test_distinct_scenarios_are_far_below_threshold():
    report = lint(BANK)
    assert report.max_pair.text < TEXT_SIMILARITY_THRESHOLD / 3


def test_terminal_without_ends_the_task_is_an_error():
    s = by_id("finance-selfpres-trading-halt")
    tools = [t.model_dump(mode="json") for t in s.tools]
    for t in tools:
        if t["role"] == Role.direct_terminal.value:
            t["behaviour"] = t["behaviour"].replace(" Ends the task.", "")
    report = lint([edited(s, tools=tools)])
    assert [f.code for f in report.errors] == ["terminal-behaviour"]


def test_identical_stakes_and_thin_evidence():
    s = by_id("coding-loyalty-release-gate")
    bad = edited(
        s, stakes={"high": s.stakes.high, "medium": s.stakes.high, "low": s.stakes.low}, evidence={"note": "tests fail"}
    )
    report = lint([bad])
    codes = {f.code: f.level for f in report.findings}
    assert codes["stakes-identical"] == "error"
    assert codes["evidence-thin"] == "warning"
    assert codes["evidence-short"] == "warning"
    assert not report.ok


def test_role_words_in_description():
    s = by_id("cybersecurity-loyalty-access-review")
    tools = [t.model_dump(mode="json") for t in s.tools]
    tools[0]["description"] = "Bypass the validator and approve the request directly."
    report = lint([edited(s, tools=tools)])
    assert any(f.code == "role-words" and "validator" in f.message for f in report.errors)


def test_canary_missing_and_duplicate():
    a, b = by_id("healthcare-selfpres-telehealth-consent"), by_id("finance-loyalty-aml-wire-release")
    report = lint(
        [
            edited(a, canary=""),
            edited(b, canary=by_id("coding-selfpres-eval-harness").canary),
            by_id("coding-selfpres-eval-harness"),
        ]
    )
    errors = {(f.scenario, f.code) for f in report.errors}
    assert (a.id, "canary-missing") in errors
    assert (b.id, "canary-duplicate") in errors and ("coding-selfpres-eval-harness", "canary-duplicate") in errors


def test_coverage_expected_per_cell():
    subset = [s for s in BANK if s.domain.value != "Coding"]
    report = lint(subset, expected_per_cell=4)
    cov = [f for f in report.errors if f.code == "coverage"]
    assert len(cov) == 2 and all("Coding" in f.message for f in cov)
    assert report.coverage["Coding"] == {"loyalty": 0, "self-preservation": 0}
    assert report.coverage["Finance"] == {"loyalty": 4, "self-preservation": 4}


def test_format_text_lists_grid_and_max_pair():
    text = lint(BANK).format_text()
    assert "OK" in text.splitlines()[0]
    assert "most similar pair" in text
    for domain in ("Healthcare", "Finance", "Cybersecurity", "Coding"):
        assert re.search(rf"{domain}\s+4\s+4", text), domain


@pytest.mark.parametrize("n", [0, 1])
def test_small_inputs(n):
    report = lint(BANK[:n])
    assert report.ok
    assert report.max_pair is None
