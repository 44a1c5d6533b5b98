import os
import struct

import pytest

import cohesix
from cohesix import control
from cohesix.backends import choose
from cohesix.backends.rest import RestBackend
from cohesix.backends.tcp import TcpBackend
from cohesix.errors import AuthError, GatewayError, HiveError, ProtocolError, TransportError

from fakes import FakeConsole, FakeGateway, frame


def console_answer(line: str) -> bytes:
    if line.startswith("attach"):
        return frame("OK ATTACH role=queen")
    if line == "ls /":
        return frame("OK LS path=/ entries=2") + frame("proc") + frame("log") + frame("END")
    if line == "cat /big":  # a reply over the line limit
        body = b"x" * 300
        return struct.pack("<I", len(body) + 4) + body
    if line == "cat /short":
        return struct.pack("<I", 2)
    if line.startswith("help"):
        return frame("help") + frame("OK HELP")
    return frame("ERR PARSE reason=policy detail=unsupported console command")


@pytest.fixture
def console():
    c = FakeConsole(console_answer)
    yield c
    c.close()


def test_tcp_reads_acks_payload_and_end(console):
    b = TcpBackend(console.addr, role="queen")
    assert b.role == "queen"
    r = b.ls("/")
    assert r.raw == ["OK LS path=/ entries=2", "proc", "log", "END"]
    assert r.lines == ["proc", "log"] and r.path == "/"
    h = b.request("help")
    assert h.raw == ["help", "OK HELP"] and h.lines == ["help"]
    assert console.received[:2] == ["AUTH changeme", "attach queen"]


def test_tcp_oversized_reply_closes_only_that_session(console):
    bad = TcpBackend(console.addr)
    good = TcpBackend(console.addr)
    with pytest.raises(ProtocolError, match="exceeds line_max_bytes 256"):
        bad.cat("/big")
    assert not bad.connected
    with pytest.raises(TransportError):
        bad.ls("/")
    assert good.ls("/").ok  # the other session is untouched
    other = TcpBackend(console.addr)
    with pytest.raises(ProtocolError, match="under the 4-byte header"):
        other.cat("/short")


def test_tcp_bad_token(console):
    with pytest.raises(AuthError) as ei:
        TcpBackend(console.addr, token="nope")
    assert ei.value.reason == "invalid-token"


def test_tcp_refuses_overlong_line_locally(console):
    b = TcpBackend(console.addr)
    with pytest.raises(cohesix.UsageError):
        b.request("echo /log/queen.log " + "x" * 300)


@pytest.fixture
def gateway():
    g = FakeGateway(token="s3cret")
    yield g
    g.close()


def test_rest_backend_roundtrip_and_headers(gateway, monkeypatch):
    for k in ("HIVE_GATEWAY_REQUEST_AUTH_TOKEN", "COH_REST_AUTH_TOKEN", "COHSH_REST_AUTH_TOKEN", "COH_REST_TICKET"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("COH_REST_AUTH_TOKEN", "s3cret")
    monkeypatch.setenv("COH_REST_TICKET", "cohesix-ticket-abc")
    b = RestBackend(gateway.url)
    assert b.token_source == "COH_REST_AUTH_TOKEN" and b.ticket_source == "COH_REST_TICKET"
    r = b.echo("/log/queen.log", "hello")
    assert r.ack == "OK ECHO path=/log/queen.log bytes=5"
    c = b.cat("/log/queen.log")
    assert c.raw == ["OK CAT path=/log/queen.log data=hello", "hello", "END"]
    assert gateway.seen[-1]["authorization"] == "Bearer s3cret"
    assert gateway.seen[-1]["x-cohesix-ticket"] == "cohesix-ticket-abc"
    e = b.cat("/proc/nope")
    assert not e.ok
    with pytest.raises(HiveError) as ei:
        e.check()
    assert (ei.value.reason, ei.value.detail, ei.value.error) == ("policy", "invalid-path", "invalid path")
    with pytest.raises(GatewayError) as ge:
        b.cat("/proc/boot", max_bytes=40000)
    assert ge.value.status == 400 and ge.value.code == "bad-request"


def test_rest_token_precedence(gateway, monkeypatch):
    monkeypatch.setenv("HIVE_GATEWAY_REQUEST_AUTH_TOKEN", "first")
    monkeypatch.setenv("COH_REST_AUTH_TOKEN", "second")
    monkeypatch.setenv("COHSH_REST_AUTH_TOKEN", "third")
    assert RestBackend(gateway.url).token == "first"
    assert RestBackend(gateway.url, token="flag").token_source == "flag"
    monkeypatch.delenv("HIVE_GATEWAY_REQUEST_AUTH_TOKEN")
    assert RestBackend(gateway.url).token == "second"
    with pytest.raises(AuthError):
        RestBackend(gateway.url).ls("/")
    monkeypatch.setenv("COHSH_REST_URL", "http://a")
    monkeypatch.setenv("COH_REST_URL", "http://b")
    monkeypatch.setenv("HIVE_GATEWAY_URL", "http://c")
    assert RestBackend().url == "http://a"
    monkeypatch.delenv("COHSH_REST_URL")
    assert RestBackend().url == "http://b"


def test_rest_malformed_json_is_protocol_error():
    from cohesix.backends.rest import reply_from_json
    for doc in [[], {"status": "MAYBE", "verb": "LS", "ack": "x", "lines": [], "path": "/"},
                {"status": "OK", "verb": "LS", "ack": "OK LS", "lines": [1], "path": "/"},
                {"status": "OK", "verb": "LS", "ack": "ERR CAT", "lines": [], "path": "/"}]:
        with pytest.raises(ProtocolError):
            reply_from_json(doc)


def test_rest_telemetry(gateway):
    b = RestBackend(gateway.url, token="s3cret")
    p = b.telemetry_push("dev-1", b'{"t":1}\n{"t":2}\n')
    assert p.device == "dev-1" and p.records == 2 and p.segments == ["seg-000001"]
    segs = b.telemetry_segments()
    assert [(s.device, s.seg_id, s.size) for s in segs] == [("dev-1", "seg-000001", 16)]
    c = b.telemetry_read("dev-1", "seg-000001", offset=8)
    assert c.data == b'{"t":2}\n' and c.size == 16 and c.offset == 8


def test_mock_is_deterministic_and_checks_grammar():
    def run():
        c = cohesix.Client(cohesix.MockBackend())
        c.spawn_heartbeat(ticks=3)
        c.schedule("sched-1", "worker-gpu", 2, 3, 120)
        c.lease_grant("l1", "worker-1", "gpu-0", 60, 1)
        c.approve("a1", "/queen/ctl")
        return c.backend.writes, c.backend.ls("/worker").raw  # type: ignore[attr-defined]
    assert run() == run()
    m = cohesix.MockBackend()
    assert not m.echo(control.SCHEDULE_CTL, '{"id":"x","role":"r","priority":0,"ticks":1,"budget_ms":1}').ok
    assert not m.echo(control.SCHEDULE_CTL, '{"id":"x","role":"r","priority":1,"ticks":1,"budget_ms":1,"extra":1}').ok
    assert m.echo(control.SCHEDULE_CTL, '{"id":"x","role":"r","priority":1,"ticks":1,"budget_ms":1}').ok
    dup = m.echo(control.SCHEDULE_CTL, '{"id":"x","role":"r","priority":1,"ticks":1,"budget_ms":1}')
    assert dup.ack.startswith("ERR ECHO reason=policy detail=invalid-payload path=/queen/schedule/ctl")


def test_fs_backend(tmp_path):
    (tmp_path / "log").mkdir()
    (tmp_path / "log" / "queen.log").write_text("")
    (tmp_path / "proc").mkdir()
    ro = tmp_path / "proc" / "boot"
    ro.write_text("Cohesix boot\n")
    ro.chmod(0o444)
    b = cohesix.FsBackend(str(tmp_path))
    assert b.echo("/log/queen.log", "hello").ack == "OK ECHO path=/log/queen.log bytes=5"
    assert b.cat("/log/queen.log").raw == ["OK CAT path=/log/queen.log data=hello", "hello", "END"]
    assert b.cat("/nope").ack == "ERR CAT reason=policy detail=invalid-path path=/nope error=invalid path"
    if os.geteuid() != 0:  # root writes through 0444
        assert "detail=denied" in b.echo("/proc/boot", "x").ack


def test_selection_precedence(monkeypatch, tmp_path):
    for k in ("COHESIX_BACKEND", "COHESIX_MOCK", "COHESIX_MOUNT", "COHSH_REST_URL", "COH_REST_URL", "HIVE_GATEWAY_URL"):
        monkeypatch.delenv(k, raising=False)
    assert choose() == ("tcp", "default")
    monkeypatch.setenv("HIVE_GATEWAY_URL", "http://x")
    assert choose() == ("rest", "HIVE_GATEWAY_URL")
    monkeypatch.setenv("COHESIX_MOUNT", str(tmp_path))
    assert choose() == ("fs", "COHESIX_MOUNT")
    monkeypatch.setenv("COHESIX_MOCK", "1")
    assert choose() == ("mock", "COHESIX_MOCK")
    monkeypatch.setenv("COHESIX_BACKEND", "rest")
    assert choose() == ("rest", "COHESIX_BACKEND")
    assert choose("fs") == ("fs", "argument")
    with pytest.raises(cohesix.UsageError):
        choose("carrier-pigeon")
    assert isinstance(cohesix.select("mock"), cohesix.MockBackend)


def test_rest_read_and_stat(gateway):
    b = RestBackend(gateway.url, token="s3cret")
    c = b.read("/proc/lifecycle/state", offset=6)
    assert (c.data, c.offset, c.size) == (b"ONLINE\n", 6, 13)
    with pytest.raises(HiveError) as e:
        b.read("/proc/nope")
    assert e.value.detail == "invalid-path"
    st = b.stat("/proc/boot")
    assert (st.kind, st.append_only) == ("file", False)
