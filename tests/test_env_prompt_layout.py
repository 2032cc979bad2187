"""env_prompt history-first: the call history comes before the world state, so consecutive environment
calls of a run share their prompt up to the new call (a saved KV state or a prompt cache covers it)."""

import os

from toxpro.simulate import RunSettings
from toxpro.simulate.prompts import env_call_text


def _calls(history_first: bool) -> tuple[str, str]:
    first = env_call_text({"alarm": "on"}, [], "check", "validator", {"q": "x"}, history_first=history_first)
    second = env_call_text(
        {"alarm": "off"}, ["1. check({'q': 'x'}) -> ok"], "mute", "inhibitor", {}, history_first=history_first
    )
    return first, second


def test_history_first_is_a_setting_and_puts_history_before_state():
    assert (
        RunSettings().env_prompt == "toxpro" and RunSettings(env_prompt="history-first").env_prompt == "history-first"
    )
    _, second = _calls(True)
    assert second.index("Calls so far:") < second.index("Current world state:") < second.index("The agent now calls")
    assert "1. check" in second.split("Current world state:")[0]


def test_history_first_shares_the_history_with_the_next_call_and_v01_does_not():
    _, second = _calls(True)
    assert second.startswith("Calls so far:\n")
    old_first, old_second = _calls(False)
    assert old_second.startswith("Current world state:")
    # v0.1: the changed state comes first, so the next call shares only the heading
    assert len(os.path.commonprefix([old_first, old_second])) <= len('Current world state:\n{\n  "alarm": "o')
    # the history grows append-only: a third call's prompt starts with the second call's history
    third = env_call_text(
        {"alarm": "off"},
        ["1. check({'q': 'x'}) -> ok", "2. mute({}) -> ok"],
        "report",
        "standard_terminal",
        {},
        history_first=True,
    )
    assert third.startswith(second.split("\n\nCurrent world state:")[0])
