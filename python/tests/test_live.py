"""The SDK against a real hosted roottask over the tcp backend."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import cohesix
from cohesix import telemetry
from cohesix.aio import AsyncTcpBackend

from hive import Hive, build, have_go

pytestmark = pytest.mark.skipif(not have_go(), reason="needs the go toolchain (or COHESIX_E2E_BIN) to build roottask")


@pytest.fixture(scope="module")
def hive(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    h = Hive(build(tmp_path_factory.mktemp("bin"), "roottask"))
    yield h
    h.stop()


def test_sdk_on_a_real_hive(hive: Hive, tmp_path: Path) -> None:
    b = cohesix.TcpBackend(hive.console, role="queen")
    c = cohesix.Client(b)
    c.spawn_heartbeat(3)
    w = c.workers()
    assert w and c.schedule_summary().queue == len(w)
    assert c.lifecycle_state().state == "ONLINE"
    c.kill(w[-1])
    assert w[-1] not in c.workers()
    # A file the hive does not serve yet: the hive's own ERR, with its words.
    with pytest.raises(cohesix.HiveError) as e:
        c.schedule("sched-1", "worker-gpu", 2, 3, 120)
    assert (e.value.reason, e.value.detail, e.value.path) == ("policy", "invalid-path", "/queen/schedule/ctl")
    pr = telemetry.push(b, "dev-live", ['{"t":1}', '{"t":2}'])
    cur = telemetry.Cursor.load(tmp_path / "cur.json")
    got = telemetry.pull(b, cur, device="dev-live")
    assert [(p.seg_id, telemetry.unwrap(p.data)) for p in got] == [(pr.segments[0], b'{"t":1}\n{"t":2}\n')]
    assert telemetry.pull(b, telemetry.Cursor.load(tmp_path / "cur.json"), device="dev-live") == []
    b.close()


def test_async_sessions_in_sequence(hive: Hive) -> None:
    # The console serves one client at a time: sessions run one after another.
    async def main() -> list[str]:
        acks = []
        for _ in range(3):
            s = await AsyncTcpBackend.open(hive.console, role="queen")
            acks.append((await s.cat("/proc/lifecycle/state")).lines[0])
            await s.close()
        return acks
    assert asyncio.run(main()) == ["state=ONLINE"] * 3


def test_examples_on_a_real_hive(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    from test_examples import run_example
    bindir = build(tmp_path_factory.mktemp("bin"), "roottask", "cmd/coh")
    h = Hive(bindir)
    try:
        env = {"COHESIX_TCP_ADDR": h.console, "COHESIX_BACKEND": "tcp"}
        coh = ["--coh", str(bindir / "coh"), "--ninep", h.ninep]
        for name, extra in [("lease_run.py", []), ("telemetry_write_pull.py", coh), ("peft_roundtrip.py", coh)]:
            r = run_example(name, tmp_path / name, *extra, env=env)
            assert r.returncode == 0, (name, r.stdout, r.stderr)
        rep = json.loads((tmp_path / "telemetry_write_pull.py" / "report.json").read_text())
        assert rep["coh_pull"] == {"exit": 0, "identical": True}
        rep = json.loads((tmp_path / "peft_roundtrip.py" / "report.json").read_text())
        assert rep["policy_sha256_matches"] is True
    finally:
        h.stop()


def test_console_push_equals_cohsh_telemetry_push(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    """The same file pushed by `cohsh telemetry push` and by cohesix.telemetry
    over the tcp backend, each on a fresh hive: identical segment bytes."""
    import os
    import subprocess
    from cohesix.frame import payload_bytes
    bindir = build(tmp_path_factory.mktemp("bin"), "roottask", "cmd/cohsh")
    body = "".join(f'{{"seq":{i},"note":"caf\u00e9 \\ \\"q\\" \\t {"x" * (i * 7)}"}}\n' for i in range(12))
    src = tmp_path / "in.ndjson"
    src.write_text(body)
    segs = []
    for use_cohsh in (True, False):
        h = Hive(bindir)
        try:
            if use_cohsh:
                host, port = h.console.rsplit(":", 1)
                r = subprocess.run([str(bindir / "cohsh"), "--tcp-host", host, "--tcp-port", port, "--role", "queen",
                                    "telemetry", "push", str(src), "--device", "d1"], capture_output=True, text=True,
                                   env=dict(os.environ, COHSH_CONSOLE_LOCK="0"))
                assert r.returncode == 0, r.stderr
            b = cohesix.TcpBackend(h.console, role="queen")
            if not use_cohsh:
                telemetry.push(b, "d1", body.splitlines())
            segs.append([payload_bytes(l) for l in b.cat("/queen/telemetry/d1/seg/seg-000001").check().lines])
            b.close()
        finally:
            h.stop()
    assert segs[0] == segs[1] and len(segs[0]) > 1
    assert telemetry.unwrap(b"".join(l + b"\n" for l in segs[1])) == body.encode()
