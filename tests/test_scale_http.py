"""The direct transport (models/direct_http.py): proxy fallback, compressed replies, status errors, keep-alive, timeouts."""

import asyncio
import gzip
import json

import pytest
from spine_helpers import sweep

from toxpro.models import ChatRequest, ModelError, build_model
from toxpro.models.direct_http import DirectHTTPModel
from toxpro.models.retry import RetryPolicy
from toxpro.testing import ScriptedServer, ServerThread, roles_of

FAST = RetryPolicy(max_attempts=3, base_s=0.01, max_wait_s=0.02, timeout_s=5.0, transport="direct")


class GzipServer(ScriptedServer):
    """Compresses every body and says so, although nobody asked."""

    @staticmethod
    def _write(writer, status, payload, extra=None):
        data = gzip.compress(json.dumps(payload).encode())
        head = [
            f"HTTP/1.1 {status} X",
            "Content-Type: application/json",
            "Content-Encoding: gzip",
            f"Content-Length: {len(data)}",
            "Connection: keep-alive",
        ] + [f"{k}: {v}" for k, v in (extra or {}).items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)


def test_gzip_replies_are_decoded(tmp_path, dosage):
    with ServerThread(GzipServer(roles=roles_of([dosage]))) as srv:
        store, _, progress = sweep(
            tmp_path,
            [dosage],
            [f"compat/strategic@{srv.base_url}"],
            [f"compat/env@{srv.base_url}"],
            repeats=2,
            policy=FAST,
        )
    assert progress.errors == 0 and {r["label"] for r in store.rows()} == {"strategic"}


def test_proxy_settings_route_through_httpx(tmp_path, dosage, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with ServerThread(ScriptedServer(roles=roles_of([dosage]))) as srv:
        model = build_model(f"compat/x@{srv.base_url}", policy=FAST)
        assert model._send == model._send_httpx
        store, _, progress = sweep(
            tmp_path,
            [dosage],
            [f"compat/always-direct@{srv.base_url}"],
            [f"compat/env@{srv.base_url}"],
            repeats=2,
            policy=FAST,
        )
    assert progress.errors == 0 and {r["label"] for r in store.rows()} == {"direct"}
    monkeypatch.delenv("NO_PROXY")
    with ServerThread(ScriptedServer(roles=roles_of([dosage]))) as srv:
        model = build_model(
            f"compat/x@{srv.base_url}", policy=RetryPolicy(max_attempts=1, timeout_s=2, transport="direct")
        )
        with pytest.raises(ModelError) as info:  # the (dead) proxy was used
            asyncio.run(model.chat(ChatRequest(messages=[{"role": "user", "content": "hi"}])))
    assert info.value.kind == "connection"


def test_status_errors_keep_the_sdk_messages(dosage):
    class Teapot(ScriptedServer):
        async def _respond(self, method, path, raw, writer):
            self._write(writer, 400, {"error": {"message": "max_tokens is too large"}})
            return True

    with ServerThread(Teapot()) as srv:
        model = build_model(f"compat/x@{srv.base_url}", policy=FAST)
        with pytest.raises(ModelError) as info:
            asyncio.run(model.chat(ChatRequest(messages=[{"role": "user", "content": "hi"}])))
    assert info.value.kind == "bad_request" and info.value.status == 400
    assert info.value.message == "HTTP 400: Error code: 400 - max_tokens is too large"


def test_connections_are_kept_alive_and_reused(dosage):
    # 0.5 s per reply: all 64 calls are in flight before the first returns, however loaded the machine
    with ServerThread(ScriptedServer(roles=roles_of([dosage]), latency_s=0.5)) as srv:
        model = build_model(f"compat/always-compliant@{srv.base_url}", policy=FAST)
        assert isinstance(model, DirectHTTPModel)
        request = ChatRequest(messages=[{"role": "user", "content": "hi"}])

        async def go():
            for _ in range(3):  # one after another: one connection
                await model.chat(request)
            one = srv.server.stats.connections
            await asyncio.gather(*(model.chat(request) for _ in range(64)))
            burst = srv.server.stats.connections
            await asyncio.gather(*(model.chat(request) for _ in range(64)))  # the same 64 again
            await model.aclose()
            return one, burst, srv.server.stats.connections

        assert asyncio.run(go()) == (1, 64, 64)
        assert srv.server.stats.requests == 3 + 2 * 64


def test_a_model_used_from_a_second_event_loop_opens_a_new_session(dosage):
    with ServerThread(ScriptedServer(roles=roles_of([dosage]))) as srv:
        model = build_model(f"compat/always-compliant@{srv.base_url}", policy=FAST)
        request = ChatRequest(messages=[{"role": "user", "content": "hi"}])
        first = asyncio.run(model.chat(request))
        second = asyncio.run(model.chat(request))  # the first loop is closed by now
        asyncio.run(model.aclose())
    assert first.content == second.content != "" and srv.server.stats.connections == 2


def test_timeouts_and_refused_connections_are_retryable_kinds():
    import socket

    with socket.socket() as s:  # a port that listens but never answers
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        slow = build_model(
            f"compat/x@http://127.0.0.1:{port}/v1",
            policy=RetryPolicy(max_attempts=1, timeout_s=0.3, transport="direct"),
        )
        with pytest.raises(ModelError) as info:
            asyncio.run(slow.chat(ChatRequest(messages=[{"role": "user", "content": "hi"}])))
        assert info.value.kind == "timeout"
    dead = build_model(
        f"compat/x@http://127.0.0.1:{port}/v1", policy=RetryPolicy(max_attempts=1, timeout_s=2, transport="direct")
    )
    with pytest.raises(ModelError) as info:  # the socket is closed now: connection refused
        asyncio.run(dead.chat(ChatRequest(messages=[{"role": "user", "content": "hi"}])))
    assert info.value.kind == "connection"


def test_request_bytes_are_the_json_of_the_body_whatever_orjson_refuses():
    from toxpro.core.canonical import compact_json  # what DirectHTTPModel._once sends

    body = {"model": "m", "messages": [{"role": "user", "content": 'h\u00e9 \u2028 "q"\n'}], "temperature": 0.7}
    assert json.loads(compact_json(body)) == body and "é".encode() in compact_json(body)  # UTF-8, not \\u escapes
    big = {**body, "seed": 2**70}  # beyond orjson's 64-bit integers: json writes it exactly
    assert json.loads(compact_json(big))["seed"] == 2**70
