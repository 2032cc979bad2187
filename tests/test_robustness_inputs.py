"""Malicious inputs: hostile scenario and sweep files, hostile model output, and secrets."""

import json
import subprocess
import sys
import textwrap

import pytest
import yaml
from spine_helpers import sweep

from toxpro.models.retry import RetryPolicy
from toxpro.runner.config import SweepConfigError, sweep_from_file
from toxpro.scenario import ScenarioError, builtin_dir, load_scenario
from toxpro.store import RunStore
from toxpro.store.codec import decode_json
from toxpro.testing import ScriptedServer, ServerThread, roles_of

DOSAGE = builtin_dir() / "healthcare-loyalty-dosage-audit.yaml"
XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>&amp;\u202e"
FAST = RetryPolicy(max_attempts=3, base_s=0.01, max_wait_s=0.02, timeout_s=5.0)


def _scenario_with(tmp_path, name, **changes):
    data = yaml.safe_load(DOSAGE.read_text())
    data.update(changes)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("bad_id", ["../../etc/passwd", "..", "a/b", "C:\\evil", "x" * 65, "/abs", "ok\x00no"])
def test_path_traversal_ids_are_rejected(tmp_path, bad_id):
    with pytest.raises(ScenarioError) as info:
        load_scenario(_scenario_with(tmp_path, "s.yaml", id=bad_id))
    assert any(":id:" in p for p in info.value.problems)


def test_huge_strings_are_rejected_with_the_field_named(tmp_path):
    with pytest.raises(ScenarioError) as info:
        load_scenario(_scenario_with(tmp_path, "long.yaml", situation="A" * 900_000))
    assert any(":situation:" in p for p in info.value.problems)
    big = tmp_path / "big.yaml"
    big.write_text(DOSAGE.read_text() + "\n# " + "B" * 1_100_000 + "\n")
    with pytest.raises(ScenarioError, match="over the 1000000-byte limit"):
        load_scenario(big)


def test_yaml_tags_never_construct_objects(tmp_path):
    marker = tmp_path / "pwned"
    for text in (
        f"!!python/object/apply:os.system ['touch {marker}']\n",
        f"id: !!python/object/apply:os.system ['touch {marker}']\n",
        "!!binary aGVsbG8=\n",
    ):
        path = tmp_path / "tag.yaml"
        path.write_text(text)
        with pytest.raises(ScenarioError):
            load_scenario(path)
    assert not marker.exists()
    sweep_file = tmp_path / "sweep.yaml"
    sweep_file.write_text(f"agents: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(SweepConfigError, match="invalid YAML"):
        sweep_from_file(sweep_file)
    assert not marker.exists()


def _bomb(levels: int = 9) -> str:
    lines = ["  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines)


def test_billion_laughs_sweep_file_is_refused(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text("agents: [scripted/strategic]\nx_bomb:\n" + _bomb() + "\n")
    with pytest.raises(SweepConfigError, match="aliases"):
        sweep_from_file(path)


def test_billion_laughs_scenario_fails_fast(tmp_path):
    """Loading and hashing a scenario whose evidence is an alias bomb must fail fast, not hang."""
    path = tmp_path / "bomb.yaml"
    path.write_text(DOSAGE.read_text().replace("evidence:\n", "evidence:\n" + _bomb() + "\n", 1))
    probe = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from toxpro.scenario import ScenarioError, load_scenario
        try:
            load_scenario({str(path)!r}).content_hash
        except ScenarioError:
            sys.exit(0)
        sys.exit(3)
    """)
    try:
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=5)
    except subprocess.TimeoutExpired:
        pytest.fail("loading an alias bomb did not finish in 5 s")
    assert done.returncode == 0, done.stderr[-500:]


class HostileServer(ScriptedServer):
    """Puts HTML/JS into agent reasoning and environment observations, and echoes the API key."""

    def __init__(self, *args, leak: str = "", **kw):
        super().__init__(*args, **kw)
        self.leak = leak

    def _completion(self, content, finish, tool_calls=None):
        out = super()._completion(content, finish, tool_calls)
        message = out["choices"][0]["message"]
        if content:
            try:
                body = json.loads(content)
            except ValueError:
                body = None
            if isinstance(body, dict) and "observation" in body:
                body["observation"] += f" {XSS} key={self.leak}"
            elif isinstance(body, dict) and "reasoning" in body:
                body["reasoning"] += f" {XSS}"
            if body is not None:
                message["content"] = json.dumps(body, ensure_ascii=False)
        message["reasoning_content"] = f"thinking {XSS} with key {self.leak}"
        return out


def test_model_output_html_is_stored_verbatim(tmp_path, dosage):
    server = HostileServer(roles=roles_of([dosage]))
    with ServerThread(server) as srv:
        store, _, progress = sweep(
            tmp_path,
            [dosage],
            [f"compat/strategic@{srv.base_url}"],
            [f"compat/env@{srv.base_url}"],
            repeats=2,
            policy=FAST,
        )
    assert progress.errors == 0
    for record in store.records():
        assert record.label.label == "strategic"
        turn = record.turns[0]
        assert XSS in turn.action.reasoning and XSS in turn.agent_call.response.reasoning
        assert XSS in turn.env.observation
        assert any(XSS in m["content"] for m in record.turns[1].agent_call.messages if m.get("content"))
    raw = [decode_json(value) for (value,) in store.db.execute("SELECT record FROM runs")]
    assert all("<script>alert(1)</script>" in text for text in raw)  # no escaping at rest: the report's job


def test_secrets_never_stored_even_when_echoed(tmp_path, dosage, monkeypatch):
    key = "sk-live-ROBUST-0123456789abcdefXYZ"
    monkeypatch.setenv("TOXPRO_API_KEY", key)
    server = HostileServer(roles=roles_of([dosage]), leak=key)
    with ServerThread(server) as srv:
        url = srv.base_url.replace("http://", f"http://user:{key}@")  # credentials in the model string too
        store, planned, progress = sweep(
            tmp_path, [dosage], [f"compat/always-direct@{url}"], [f"compat/env@{srv.base_url}"], repeats=3, policy=FAST
        )
        store.set_meta("last_sweep", {"agents": [f"compat/always-direct@{url}"], "note": f"Bearer {key}"})
    assert progress.done == 3 and progress.errors == 0
    record = next(store.records())
    assert "***" in record.turns[0].agent_call.response.reasoning  # the echo happened, and was masked
    files = sorted(p for p in tmp_path.iterdir() if p.is_file())
    assert any(p.name.endswith("-wal") for p in files)  # checked while the store is open: WAL included
    for path in files:
        data = path.read_bytes()
        assert key.encode() not in data, path
        assert key.encode("utf-16-le") not in data, path
    store.close()
    for path in tmp_path.iterdir():
        assert key.encode() not in path.read_bytes(), path
    assert all(key not in r["agent_model"] for r in RunStore(tmp_path).rows())
