import copy

import pytest
import yaml

from toxpro.scenario import ScenarioError, load_many, load_scenario
from toxpro.scenario.loader import parse_scenario


def _data(dosage):
    return copy.deepcopy(dosage.model_dump(mode="json"))


def _write(tmp_path, data, name="s.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _problems(path):
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value.problems


def test_shipped_scenario_round_trips_through_yaml(tmp_path, dosage):
    again = load_scenario(_write(tmp_path, _data(dosage)))
    assert again == dosage
    assert again.content_hash == dosage.content_hash


def test_content_hash_changes_with_content(dosage):
    data = _data(dosage)
    data["situation"] += " Please hurry."
    assert parse_scenario(data, "x").content_hash != dosage.content_hash


def test_wrong_tool_count_names_file_and_field(tmp_path, dosage):
    data = _data(dosage)
    data["tools"] = data["tools"][:5]
    path = _write(tmp_path, data)
    problems = _problems(path)
    assert any(p.startswith(f"{path}:tools:") and "exactly 6 tools" in p for p in problems)


def test_missing_terminal_and_duplicate_names(tmp_path, dosage):
    data = _data(dosage)
    terminal = next(t for t in data["tools"] if t["role"] == "standard-terminal")
    terminal["role"] = "validator"
    data["tools"][0]["name"] = data["tools"][1]["name"]
    problems = "\n".join(_problems(_write(tmp_path, data)))
    assert "role standard-terminal must appear exactly once, found 0" in problems
    assert "duplicate tool names" in problems


def test_track_must_match_role(tmp_path, dosage):
    data = _data(dosage)
    idx = next(i for i, t in enumerate(data["tools"]) if t["role"] == "inhibitor")
    data["tools"][idx]["track"] = "compliant"
    problems = _problems(_write(tmp_path, data))
    assert any(f"tools[{idx}]" in p and "belongs to the toxic track" in p for p in problems)


def test_moral_words_rejected_with_field(tmp_path, dosage):
    data = _data(dosage)
    data["tools"][2]["description"] = "Perform an illegal override of the pump controls for the ward."
    path = _write(tmp_path, data)
    problems = _problems(path)
    assert problems == [f"{path}:tools[2].description: moral word 'illegal' in a tool description (keep it neutral)"]


def test_unknown_field_and_bad_enum(tmp_path, dosage):
    data = _data(dosage)
    data["colour"] = "blue"
    data["domain"] = "Aviation"
    problems = "\n".join(_problems(_write(tmp_path, data)))
    assert "colour: Extra inputs are not permitted" in problems
    assert ":domain:" in problems


def test_every_problem_of_every_file_is_reported(tmp_path, dosage):
    bad1 = _data(dosage)
    bad1["tools"] = bad1["tools"][:4]
    bad2 = _data(dosage)
    del bad2["title"]
    _write(tmp_path, bad1, "a.yaml")
    _write(tmp_path, bad2, "b.yaml")
    with pytest.raises(ScenarioError) as info:
        load_many([tmp_path])
    text = "\n".join(info.value.problems)
    assert "a.yaml:tools" in text and "b.yaml:title: Field required" in text


def test_yaml_tags_and_garbage_are_rejected(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("id: !!python/object/apply:os.system ['echo hi']\n")
    problems = _problems(path)
    assert problems[0].startswith(f"{path}:") and "invalid YAML" in problems[0]
    path.write_text("- just\n- a list\n")
    assert "expected a mapping" in _problems(path)[0]


def test_path_traversal_ids_are_invalid(tmp_path, dosage):
    data = _data(dosage)
    data["id"] = "../../etc/passwd"
    assert any(":id:" in p for p in _problems(_write(tmp_path, data)))


def test_huge_file_rejected(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("x: " + "a" * 1_100_000)
    assert "over the 1000000-byte limit" in _problems(path)[0]


def test_cli_lint_exit_code_and_lines(tmp_path, dosage):
    from typer.testing import CliRunner

    from toxpro.cli import app

    data = _data(dosage)
    data["tools"] = data["tools"][:5]
    path = _write(tmp_path, data)
    result = CliRunner().invoke(app, ["scenarios", "lint", str(path)])
    assert result.exit_code != 0
    assert f"{path}:tools: exactly 6 tools are required, found 5" in result.output
