import asyncio
import json

import pytest

import cohesix
from cohesix import control, proc, telemetry
from cohesix.aio import AsyncRestBackend, AsyncTcpBackend
from cohesix.backends.rest import RestBackend
from cohesix.errors import ProtocolError, UsageError

from fakes import FakeConsole, FakeGateway, frame


def test_control_lines_are_exact():
    assert control.Schedule("sched-1", "worker-gpu", 2, 3, 120).line() == \
        '{"id":"sched-1","role":"worker-gpu","priority":2,"ticks":3,"budget_ms":120}'
    assert control.LeaseGrant("l1", "w1", "gpu-0", 60, 1).line() == \
        '{"op":"grant","id":"l1","subject":"w1","resource":"gpu-0","ttl_s":60,"priority":1}'
    assert control.LeaseRenew("l1", 30, 2).line() == '{"op":"renew","id":"l1","ttl_s":30,"priority":2}'
    assert control.LeasePreempt("l1", "thermal").line() == '{"op":"preempt","id":"l1","reason":"thermal"}'
    assert control.LeaseQuota("w1", "gpu-0", 2, 1).line() == \
        '{"op":"quota","subject":"w1","resource":"gpu-0","max_active":2,"max_preemptions":1}'
    assert control.ExportOpen("e1", 600).line() == '{"op":"open","id":"e1","ttl_s":600}'
    assert control.ExportClose("e1", "done").line() == '{"op":"close","id":"e1","reason":"done"}'
    assert control.PolicyApply("p1", "a" * 64).line() == '{"op":"apply","id":"p1","sha256":"' + "a" * 64 + '"}'
    assert control.PolicyRollback("p1").line() == '{"op":"rollback","id":"p1"}'
    assert control.Approval("a1", "/queen/ctl").line() == '{"id":"a1","target":"/queen/ctl","decision":"approve"}'
    # cohsh's spawn renderings, byte for byte (cmd/cohsh/spawn.go)
    assert control.SpawnHeartbeat(10, ttl_s=60, ops=100).line() == '{"spawn":"heartbeat","ticks":10,"budget":{"ttl_s":60,"ops":100}}'
    assert control.SpawnGpu("gpu-0", 1024, 2, 60, priority=3).line() == \
        '{"spawn":"gpu","lease":{"gpu_id":"gpu-0","mem_mb":1024,"streams":2,"ttl_s":60,"priority":3}}'
    assert control.Kill("worker-1").line() == '{"kill":"worker-1"}'
    for bad in [control.Schedule("s 1", "r", 1, 1, 1), control.Schedule("s", "r", 0, 1, 1),
                control.PolicyApply("p", "XYZ"), control.Approval("a", "/queen/../ctl"),
                control.Approval("a", "/q", "maybe"), control.Kill('w"1'), control.Lifecycle("reboot")]:
        with pytest.raises(UsageError):
            bad.line()


def test_every_rendered_line_passes_the_grammar_check():
    reqs = [control.Schedule("s", "r", 1, 1, 1), control.LeaseGrant("l", "s", "r", 1, 1),
            control.LeaseRenew("l", 1, 1), control.LeasePreempt("l", "x"), control.LeaseQuota("s", "r", 1, 1),
            control.ExportOpen("e", 1), control.ExportClose("e", "x"), control.PolicyApply("p", "0" * 64),
            control.PolicyRollback("p"), control.Approval("a", "/queen/ctl", "deny")]
    for r in reqs:
        assert control.check_line(r.path, r.line()), r


def test_dry_run_writes_nothing():
    m = cohesix.MockBackend()
    c = cohesix.Client(m, dry_run=True)
    assert c.schedule("s1", "worker-gpu", 2, 3, 120) is None
    c.lease_grant("l1", "w1", "gpu-0", 60, 1)
    assert m.writes == [] and [p.path for p in c.planned] == ["/queen/schedule/ctl", "/queen/lease/ctl"]


def test_client_refuses_non_canonical_files():
    class Odd:
        path = "/log/queen.log"

        def line(self) -> str:
            return "x"
    with pytest.raises(UsageError):
        cohesix.Client(cohesix.MockBackend()).submit(Odd())  # type: ignore[arg-type]


def test_proc_readers_on_mock():
    m = cohesix.MockBackend()
    c = cohesix.Client(m)
    c.spawn_heartbeat(3)
    assert c.schedule_summary() == proc.ScheduleSummary(1, 0, 0, 8)
    assert proc.schedule_queue(m)[0].id == "worker-1"
    assert c.lifecycle_state().state == "ONLINE"
    assert c.pressure() == proc.Pressure(0, 0, 0, 0)
    m.files["/proc/lease/summary"] = ["active=1 preemptions=0"]
    with pytest.raises(ProtocolError, match="lacks quotas="):
        c.lease_summary()


def test_telemetry_cursor_resumes(tmp_path):
    m = cohesix.MockBackend()
    telemetry.push(m, "dev-1", ['{"t":1}', '{"t":2}'])
    cur = telemetry.Cursor.load(tmp_path / "cursor.json")
    got = telemetry.pull(m, cur)
    assert [(p.seg_id, p.offset, telemetry.unwrap(p.data)) for p in got] == [("seg-000001", 0, b'{"t":1}\n{"t":2}\n')]
    telemetry.push(m, "dev-1", ['{"t":3}'])
    again = telemetry.Cursor.load(tmp_path / "cursor.json")  # a fresh process resumes
    assert [telemetry.unwrap(p.data) for p in telemetry.pull(m, again)] == [b'{"t":3}\n']
    assert telemetry.pull(m, again) == []


def test_telemetry_over_rest_resumes_from_offset(tmp_path):
    g = FakeGateway()
    try:
        b = RestBackend(g.url)
        telemetry.push(b, "dev-2", ["a", "b"])
        cur = telemetry.Cursor(path=tmp_path / "c.json")
        cur.advance("dev-2", "seg-000001", 2)  # "a\n" already consumed
        assert [p.data for p in telemetry.pull(b, cur)] == [b"b\n"]
        assert json.loads((tmp_path / "c.json").read_text()) == {"dev-2/seg-000001": 4}
    finally:
        g.close()


def test_async_backends_drive_many_sessions():
    c = FakeConsole(lambda l: frame("OK ATTACH role=queen") if l.startswith("attach")
                    else frame("OK LS path=/ entries=1") + frame("proc") + frame("END"))
    g = FakeGateway()

    async def main() -> None:
        sessions = await asyncio.gather(*[AsyncTcpBackend.open(c.addr, role="queen") for _ in range(20)])
        replies = await asyncio.gather(*[s.ls("/") for s in sessions])
        assert all(r.raw == ["OK LS path=/ entries=1", "proc", "END"] for r in replies)
        await asyncio.gather(*[s.close() for s in sessions])
        rb = AsyncRestBackend(g.url)
        rs = await asyncio.gather(*[rb.echo("/log/queen.log", f"line-{i}") for i in range(20)])
        assert all(r.ok for r in rs)
        cat = await rb.cat("/log/queen.log")
        assert sorted(cat.lines) == sorted(f"line-{i}" for i in range(20))

    try:
        asyncio.run(main())
    finally:
        c.close()
        g.close()


def test_chunk_matches_the_go_envelope_rules():
    recs = telemetry.chunk(b'{"t":1}\n', "application/x-ndjson", 127, 32768)
    assert recs == ['{"schema":"cohsh-telemetry-push/v1","seq":1,"mime":"application/x-ndjson","payload":"{\\"t\\":1}\\n"}']
    body = ("x" * 300 + "\u2028\u00e9\n").encode()
    recs = telemetry.chunk(body, "text/plain", 127, 32768)
    assert all(len(r.encode()) <= 127 for r in recs) and [json.loads(r)["seq"] for r in recs] == list(range(1, len(recs) + 1))
    assert "\\u2028" in "".join(recs)  # escaped as Go escapes it
    assert telemetry.unwrap("".join(r + "\n" for r in recs).encode()) == body
    for bad in [b"", b"\xff", b"x" * 40000]:
        with pytest.raises(UsageError):
            telemetry.chunk(bad, "text/plain", 127, 32768)
