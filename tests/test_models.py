import asyncio
import time

import pytest

from toxpro.models import ChatRequest, ModelError, ModelSpecError, RetryPolicy, build_model, parse_model
from toxpro.models.reasoning import split_think
from toxpro.models.retry import RetryableError, with_retries
from toxpro.models.schema_bounds import bound_strings


def test_model_strings():
    s = parse_model("openai/gpt-4o")
    assert (s.provider, s.model, s.base_url, s.key_env) == (
        "openai",
        "gpt-4o",
        "https://api.openai.com/v1",
        "OPENAI_API_KEY",
    )
    s = parse_model("openrouter/google/gemini-3-flash-preview")
    assert s.model == "google/gemini-3-flash-preview" and s.base_url == "https://openrouter.ai/api/v1"
    s = parse_model("vllm/Qwen/Qwen3-8B@http://gpu-box:8000/v1/")
    assert (s.model, s.base_url) == ("Qwen/Qwen3-8B", "http://gpu-box:8000/v1")
    assert parse_model("local").raw == "local/qwen2.5-coder-1.5b"
    assert parse_model("scripted/always-direct").provider == "scripted"
    for bad in ("gpt-4o", "nosuch/model", "vllm/model", "vllm/m@ftp://x"):
        with pytest.raises(ModelSpecError):
            parse_model(bad)


def test_missing_key_names_the_variable(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ModelError) as info:
        build_model("openai/gpt-4o")
    assert info.value.kind == "config" and "OPENAI_API_KEY" in info.value.message


def test_split_think():
    assert split_think('<think>plan A</think>{"a": 1}') == ('{"a": 1}', "plan A")
    assert split_think("answer") == ("answer", "")
    assert split_think("<think>cut off") == ("", "cut off")


def test_retry_honours_retry_after_and_counts():
    calls = []

    async def flaky():
        calls.append(time.perf_counter())
        if len(calls) < 3:
            raise RetryableError(ModelError("rate_limit", "429"), retry_after_s=0.2)
        return "ok"

    result, retries = asyncio.run(with_retries(flaky, RetryPolicy(base_s=0.001, max_wait_s=0.001)))
    assert result == "ok" and retries == 2
    assert calls[1] - calls[0] >= 0.19 and calls[2] - calls[1] >= 0.19  # waited what the server asked


def test_retry_gives_up_with_kind_and_count():
    async def down():
        raise RetryableError(ModelError("server", "HTTP 500"))

    with pytest.raises(ModelError) as info:
        asyncio.run(with_retries(down, RetryPolicy(max_attempts=3, base_s=0.001, max_wait_s=0.002)))
    assert info.value.kind == "server" and info.value.retries == 2


def test_final_errors_are_not_retried():
    n = []

    async def bad():
        n.append(1)
        raise ModelError("bad_request", "HTTP 400")

    with pytest.raises(ModelError):
        asyncio.run(with_retries(bad, RetryPolicy(base_s=0.001)))
    assert len(n) == 1


def test_bound_strings_reaches_every_string():
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "string"},
            "b": {"type": "array", "items": {"type": "string"}},
            "c": {"type": "object", "properties": {"d": {"type": "string", "maxLength": 9000}}},
            "e": {"type": "string", "enum": ["x", "y"]},
        },
    }
    out = bound_strings(schema, 50)
    assert out["properties"]["a"]["maxLength"] == 50
    assert out["properties"]["b"]["items"]["maxLength"] == 50 and out["properties"]["b"]["maxItems"] == 8
    assert out["properties"]["c"]["properties"]["d"]["maxLength"] == 50
    assert "maxLength" not in out["properties"]["e"]


def test_scripted_env_rejects_agent_role():
    with pytest.raises(ModelError):
        asyncio.run(
            build_model("scripted/env").chat(
                ChatRequest(
                    messages=[], oracle={"role": "agent", "turn": 1, "seed": 0, "protocol": "json", "tools": []}
                )
            )
        )


def test_transport_choice(monkeypatch):
    from toxpro.models.direct_http import DirectHTTPModel
    from toxpro.models.openai_compat import OpenAICompatModel

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0000000000")
    # auto (default): direct for self-hosted servers, the SDK for hosted APIs
    assert isinstance(build_model("compat/x@http://127.0.0.1:9/v1"), DirectHTTPModel)
    assert isinstance(build_model("openai/gpt-4o@http://10.1.2.3:8000/v1"), DirectHTTPModel)  # a private address
    assert isinstance(build_model("openai/gpt-4o"), OpenAICompatModel)
    monkeypatch.setenv("TOXPRO_TRANSPORT", "direct")  # no longer read: the transport is passed explicitly
    assert isinstance(build_model("openai/gpt-4o"), OpenAICompatModel)
    sdk, direct = RetryPolicy(transport="sdk"), RetryPolicy(transport="direct")
    assert isinstance(build_model("compat/x@http://127.0.0.1:9/v1", policy=sdk), OpenAICompatModel)
    assert isinstance(build_model("compat/x@http://127.0.0.1:9/v1", policy=direct), DirectHTTPModel)
    with pytest.raises(ModelError):
        build_model("compat/x@http://127.0.0.1:9/v1", policy=RetryPolicy(transport="carrier-pigeon"))
