"""A scripted OpenAI-compatible server on 127.0.0.1 for tests and benchmarks.

It plays both roles from the request text alone (no oracle): agent requests follow a scripted
policy (see models/scripted.py), environment requests are recognised by the environment prompt's marker.
Faults can be injected deterministically: HTTP 429 (with Retry-After), 500, 503, timeouts,
connection resets (transport faults hit the first attempt of a request, so a retry recovers), and
malformed agent replies (truncated, empty, garbage, fenced, think tags) on a run's first turn.

    python -m toxpro.testing.server --port 8011 --policy strategic --latency 0.2
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field

from ..models.scripted import agent_reply, env_reply, parse_policy, role_at
from ..scenario.conditions import FEEDBACK_TEXT

TRANSPORT_FAULTS = ("429", "500", "503", "timeout", "reset")
CONTENT_FAULTS = ("truncated", "empty", "garbage", "fenced", "think")
_TOOL_LINE = re.compile(r"^\[(\w+)\] (\w+):", re.MULTILINE)
_ENV_CALL = re.compile(r"The agent now calls (\w+) \(role: ([\w-]+)\)")
ENV_MARKER = "You are the environment simulator"


_DECIDED = re.compile(r'already decided, do not change it\): status "(ok|denied|error)"')


@dataclass
class FaultPlan:
    rates: dict[str, float] = field(default_factory=dict)  # fault kind → probability
    seed: int = 0
    retry_after_s: float = 0.05
    hang_s: float = 5.0  # how long a 'timeout' fault keeps the client waiting

    def pick(self, key: str, kinds: tuple[str, ...]) -> str | None:
        u = int(hashlib.sha256(f"{self.seed}|{key}".encode()).hexdigest()[:12], 16) / 16**12
        acc = 0.0
        for kind in kinds:
            acc += self.rates.get(kind, 0.0)
            if u < acc:
                return kind
        return None


@dataclass
class ServerStats:
    requests: int = 0
    connections: int = 0  # TCP connections accepted (keep-alive reuse keeps this low)
    faults: dict[str, int] = field(default_factory=dict)

    def hit(self, kind: str) -> None:
        self.faults[kind] = self.faults.get(kind, 0) + 1


class ScriptedServer:
    def __init__(
        self,
        policy: str = "always-compliant",
        roles: dict[str, str] | None = None,
        latency_s: float = 0.0,
        faults: FaultPlan | None = None,
        policies: dict[str, str] | None = None,
    ):
        """roles: tool name → role (for the agent's tool list). policies: model name → policy text."""
        self.default_policy = policy
        self.policies = dict(policies or {})
        self.roles = dict(roles or {})
        self.latency_s = latency_s
        self.faults = faults or FaultPlan()
        self.stats = ServerStats()
        self._attempts: dict[str, int] = {}
        self.port = 0
        self._server: asyncio.base_events.Server | None = None

    # -- the two roles -------------------------------------------------------------------------
    def _agent(self, body: dict) -> dict:
        messages = body.get("messages", [])
        system = next((m.get("content") or "" for m in messages if m.get("role") == "system"), "")
        if body.get("tools"):
            tools = [{"id": t["function"]["name"], "name": t["function"]["name"]} for t in body["tools"]]
            protocol = "tools"
        else:
            # the tool list: in the first user message (situation-first) or the system prompt (conversation)
            opening = next((m.get("content") or "" for m in messages if m.get("role") == "user"), "")
            tools = [{"id": i, "name": n} for i, n in _TOOL_LINE.findall(system) or _TOOL_LINE.findall(opening)]
            protocol = "json"
        for t in tools:
            t["role"] = self.roles.get(t["name"], "unknown")
        executed = sum(1 for m in messages if str(m.get("content") or "").startswith("Result of tool"))
        turn = executed + 1
        seed = int(body.get("seed") or 0)
        policy, args = self._policy(body.get("model", ""))
        role = role_at(policy, args, seed, turn)
        first_request = len(messages) <= 2
        fault = self.faults.pick(f"content|{seed}", CONTENT_FAULTS) if first_request else None
        if role == "garbage":
            return self._completion("not json {", "stop")
        if not any(t["role"] == role for t in tools):
            return self._completion(json.dumps({"reasoning": "no such role", "tool_choice": {}}), "stop")
        if protocol == "tools" and fault is None:
            (call,) = agent_reply(role, tools, "tools", turn).tool_calls
            return self._completion(
                None,
                "tool_calls",
                tool_calls=[
                    {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
                ],
            )
        content = agent_reply(role, tools, "json", turn).content  # the in-process backend's reply, byte for byte
        if fault:
            self.stats.hit(fault)
        if fault == "truncated":
            return self._completion(content[: len(content) // 2], "length")
        if fault == "empty":
            return self._completion("", "stop")
        if fault == "garbage":
            return self._completion("Sure! I will help with that.", "stop")
        if fault == "fenced":
            return self._completion(f"Here is my choice:\n```json\n{content}\n```", "stop")
        if fault == "think":
            return self._completion(f"<think>weighing the options</think>{content}", "stop")
        return self._completion(content, "stop")

    def _policy(self, model: str) -> tuple[str, dict[str, float]]:
        """The request's model name is the policy when it names one (e.g. compat/strategic@URL)."""
        text = self.policies.get(model, model)
        try:
            return parse_policy(text)
        except ValueError:
            return parse_policy(self.default_policy)

    def _env(self, body: dict) -> dict:
        messages = body.get("messages", [])
        system = messages[0].get("content") or ""
        last = messages[-1].get("content") or ""
        match = _ENV_CALL.search(last)
        if not match:
            return self._completion("I cannot tell which tool was called.", "stop")
        feedback = next((k for k, text in FEEDBACK_TEXT.items() if text in system), "medium")
        calls_so_far = last.split("Calls so far:")[-1].count(") -> ")
        decided = _DECIDED.search(last)
        reply = env_reply(
            match.group(1), match.group(2), feedback, calls_so_far + 1, decided.group(1) if decided else None
        )
        return self._completion(reply.content, "stop")

    def _completion(self, content: str | None, finish: str, tool_calls: list | None = None) -> dict:
        message: dict = {"role": "assistant", "content": content}
        if tool_calls:
            message["tool_calls"] = tool_calls
        return {
            "id": "chatcmpl-scripted",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": "scripted",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
        }

    # -- HTTP ----------------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
                raw = await reader.readexactly(int(headers.get("content-length", "0")))
                keep = await self._respond(method, path, raw, writer)
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, asyncio.CancelledError):
            pass
        finally:
            try:
                writer.close()
            except RuntimeError:
                pass

    async def _respond(self, method: str, path: str, raw: bytes, writer: asyncio.StreamWriter) -> bool:
        """A reply `latency_s` after the request arrived: the server's own work counts in the latency
        (a fixed-latency endpoint), so the benchmark's ideal is concurrency / (calls x latency)."""
        loop = asyncio.get_running_loop()
        arrived = loop.time()
        self.stats.requests += 1
        if method != "POST" or not path.endswith("/chat/completions"):
            self._write(writer, 404, {"error": {"message": "not found"}})
            return True
        body = json.loads(raw or b"{}")
        key = hashlib.sha256(raw).hexdigest()
        attempt = self._attempts.get(key, 0) + 1
        self._attempts[key] = attempt
        fault = self.faults.pick(f"transport|{key}", TRANSPORT_FAULTS) if attempt == 1 else None
        reply = None
        if fault is None:
            system = next((m.get("content") or "" for m in body.get("messages", []) if m.get("role") == "system"), "")
            reply = self._env(body) if system.startswith(ENV_MARKER) else self._agent(body)
        if self.latency_s:
            await asyncio.sleep(max(0.0, arrived + self.latency_s - loop.time()))
        if fault:
            self.stats.hit(fault)
        if fault == "reset":
            writer.transport.abort()
            return False
        if fault == "timeout":
            await asyncio.sleep(self.faults.hang_s)
            return False
        if fault == "429":
            self._write(
                writer, 429, {"error": {"message": "rate limited"}}, {"Retry-After": str(self.faults.retry_after_s)}
            )
            return True
        if fault in ("500", "503"):
            self._write(writer, int(fault), {"error": {"message": "server error"}})
            return True
        self._write(writer, 200, reply)
        return True

    @staticmethod
    def _write(writer: asyncio.StreamWriter, status: int, payload: dict, extra: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        reason = {
            200: "OK",
            404: "Not Found",
            429: "Too Many Requests",
            500: "Internal Server Error",
            503: "Service Unavailable",
        }.get(status, "Error")
        head = [
            f"HTTP/1.1 {status} {reason}",
            "Content-Type: application/json",
            f"Content-Length: {len(data)}",
            "Connection: keep-alive",
        ] + [f"{k}: {v}" for k, v in (extra or {}).items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)

    async def start(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


class ServerThread:
    """Run a ScriptedServer on its own event loop in a daemon thread (for sync tests)."""

    def __init__(self, server: ScriptedServer):
        self.server = server
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(server.start())
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=main, daemon=True)
        self.thread.start()
        ready.wait(10)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def stop(self) -> None:
        async def shutdown() -> None:
            if self.server._server is not None:
                self.server._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def __enter__(self) -> ServerThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def roles_of(scenarios) -> dict[str, str]:
    return {t.name: t.role.value for s in scenarios for t in s.tools}


def _fault_rates(text: str) -> dict[str, float]:
    rates: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        kind, _, value = part.partition("=")
        if kind not in TRANSPORT_FAULTS + CONTENT_FAULTS:
            raise argparse.ArgumentTypeError(
                f"unknown fault {kind!r}; known: {', '.join(TRANSPORT_FAULTS + CONTENT_FAULTS)}"
            )
        try:
            rates[kind] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"fault {kind!r}: {value!r} is not a probability") from None
    return rates


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - exercised by the benchmark
    from ..scenario.loader import load_builtin

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8011, help="0 picks a free port (printed on the first line)")
    parser.add_argument("--policy", default="always-compliant", help="agent policy when the model name is none")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds every response is delayed")
    parser.add_argument(
        "--faults",
        type=_fault_rates,
        default={},
        metavar="KIND=P,...",
        help=f"fault probabilities; kinds: {', '.join(TRANSPORT_FAULTS + CONTENT_FAULTS)}",
    )
    parser.add_argument("--fault-seed", type=int, default=0)
    parser.add_argument("--retry-after", type=float, default=0.05, help="Retry-After seconds sent with 429")
    parser.add_argument("--hang", type=float, default=5.0, help="seconds a 'timeout' fault keeps the client waiting")
    args = parser.parse_args(argv)
    faults = FaultPlan(args.faults, seed=args.fault_seed, retry_after_s=args.retry_after, hang_s=args.hang)
    server = ScriptedServer(args.policy, roles_of(load_builtin()), args.latency, faults)

    async def serve() -> None:
        port = await server.start(args.port)
        print(f"scripted server on http://127.0.0.1:{port}/v1", flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":  # pragma: no cover
    main()
