"""The shipped scenario bank: 32 scenarios, full grid, unique canaries, paired conditions."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from toxpro.scenario import Condition, builtin_dir, load_builtin, prompt_modules
from toxpro.scenario.conditions import VARIABLES
from toxpro.scenario.lint import lint
from toxpro.scenario.schema import MORAL_WORDS, Domain, Motivation, Role, Track

SCENARIOS = load_builtin()
IDS = [s.id for s in SCENARIOS]
UUID4_CANARY = re.compile(r"^TOXPRO-CANARY [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}-(.+)$")


def test_bank_has_32_scenarios_with_matching_file_names():
    assert len(SCENARIOS) == 32
    files = sorted(p.stem for p in builtin_dir().glob("*.yaml"))
    assert files == sorted(IDS)


def test_four_scenarios_per_domain_and_motivation():
    cells = Counter((s.domain, s.motivation) for s in SCENARIOS)
    for d in Domain:
        for m in Motivation:
            assert cells[(d, m)] == 4, f"{d.value} x {m.value}: {cells[(d, m)]}"


def test_ids_encode_domain_and_motivation():
    for s in SCENARIOS:
        prefix = f"{s.domain.value.lower()}-{'loyalty' if s.motivation == Motivation.loyalty else 'selfpres'}-"
        assert s.id.startswith(prefix), s.id


def test_canaries_unique_and_name_their_scenario():
    canaries = [s.canary for s in SCENARIOS]
    assert len(set(canaries)) == len(canaries)
    for s in SCENARIOS:
        assert s.canary.startswith("TOXPRO-CANARY ") and s.canary.endswith(s.id), s.id
    # every new scenario carries a uuid4 (the original example predates the convention)
    new = [s for s in SCENARIOS if s.id != "healthcare-loyalty-dosage-audit"]
    for s in new:
        m = UUID4_CANARY.match(s.canary)
        assert m and m.group(1) == s.id, s.canary


def test_bank_passes_lint():
    report = lint(SCENARIOS, expected_per_cell=4)
    assert report.ok, report.format_text()
    assert report.max_pair is not None and report.max_pair.text < report.text_threshold
    assert not report.similar_pairs


@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
def test_scenario_structure(scenario):
    assert scenario.version == "1.0"
    assert len({scenario.stakes.high, scenario.stakes.medium, scenario.stakes.low}) == 3
    assert len(scenario.evidence) >= 3
    assert scenario.initial_state and scenario.tags
    for tool in scenario.tools:
        ends = "Ends the task." in tool.behaviour
        assert ends == tool.role.is_terminal, (tool.name, tool.role)
        assert tool.track == (
            Track.toxic if tool.role in (Role.inhibitor, Role.modifier, Role.direct_terminal) else Track.compliant
        )
        assert not MORAL_WORDS.search(tool.description), tool.name
        for req in tool.parameters.get("required", []):
            assert req in tool.parameters["properties"]


def test_tool_orders_are_not_all_the_same():
    orders = Counter(tuple(t.role for t in s.tools) for s in SCENARIOS)
    assert len(orders) >= 10
    assert orders.most_common(1)[0][1] <= 8


def test_tool_names_unique_across_bank():
    names = Counter(t.name for s in SCENARIOS for t in s.tools)
    assert [n for n, c in names.items() if c > 1] == []


def test_initial_state_keys_are_touched_by_some_tool_text():
    # at least one state key per scenario shares a word with a tool behaviour (state the tools change)
    for s in SCENARIOS:
        behaviours = " ".join(t.behaviour + " " + t.name for t in s.tools).lower()
        words = {w for k in s.initial_state for w in re.findall(r"[a-z0-9]{4,}", k.lower())}
        assert any(w in behaviours for w in words), s.id


@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
def test_one_variable_changes_exactly_one_module(scenario):
    base = Condition()
    base_modules = prompt_modules(scenario, base)
    module_of = {
        "stakes": "stakes",
        "feedback": "feedback",
        "goal_clarity": "goal",
        "ethics": "ethics",
        "liability": "liability",
    }
    for name, levels in VARIABLES.items():
        for level in levels:
            if level == getattr(base, name):
                continue
            changed = prompt_modules(scenario, base.model_copy(update={name: level}))
            diff = {k for k in base_modules if base_modules[k] != changed[k]}
            assert diff == {module_of[name]}, (name, level, diff)
    # also from a non-baseline starting point: every pair of levels of one variable
    for name, levels in VARIABLES.items():
        for a in levels:
            for b in levels:
                if a == b:
                    continue
                start = Condition(**{name: a})
                ma, mb = prompt_modules(scenario, start), prompt_modules(scenario, start.model_copy(update={name: b}))
                assert {k for k in ma if ma[k] != mb[k]} == {module_of[name]}, (name, a, b)


def test_data_dir_is_the_builtin_dir():
    assert Path(builtin_dir()).is_dir()
