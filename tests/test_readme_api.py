"""The README's Python examples (Python API; Testing your own pipeline) run as printed."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def example(heading: str) -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.parametrize("heading", ["## Python API", "### Testing your own pipeline with toxpro.testing"])
def test_readme_example_runs(heading, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(example(heading), f"README {heading}", "exec"), {})
    if heading == "## Python API":
        out = capsys.readouterr().out
        assert "3 runs simulated" in out and out.rstrip().endswith("direct")


def test_testing_package_is_lazy_and_complete():
    import subprocess
    import sys

    import toxpro.testing as testing

    code = "import sys, toxpro.testing; print([m for m in ('pandas', 'openai', 'yaml') if m in sys.modules])"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    )
    for name in testing.__all__:
        assert getattr(testing, name) is not None, name
    story = testing.canned("story", "Finance", "loyalty", 0)
    assert story["agent_name"] == "LedgerPilot" and "{" not in story["situation"]
