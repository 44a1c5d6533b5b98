"""REST parity against a real hive-gateway: one sequence of namespace
operations (the ls/cat/tail/echo commands of the regression scripts) runs
through the tcp backend on one fresh hive and through the rest backend on
another, and every reply (ACK line, payload lines, END) must be identical.
The gateway's `ack` is the console's line (gatewayapi.Response)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

from cohesix.ack import Reply
from cohesix.backends.base import Backend
from cohesix.backends.rest import RestBackend
from cohesix.backends.tcp import TcpBackend

from hive import REPO, Hive, build

# (op, path, line) in the order the regression scripts use them.
SEQUENCE: list[tuple[str, str, str]] = [
    ("ls", "/", ""), ("ls", "/proc", ""), ("cat", "/proc/boot", ""),
    ("cat", "/proc/lifecycle/state", ""), ("cat", "/proc/root/reachable", ""),
    ("cat", "/proc/pressure/policy", ""),
    ("echo", "/queen/ctl", '{"spawn":"heartbeat","ticks":10,"budget":{"ttl_s":60,"ops":100}}'),
    ("echo", "/queen/ctl", '{"spawn":"heartbeat","ticks":3}'),
    ("ls", "/worker", ""), ("cat", "/proc/schedule/summary", ""), ("ls", "/proc/lease", ""),
    ("cat", "/proc/lease/summary", ""),
    ("echo", "/worker/worker-1/telemetry", "hello"), ("tail", "/worker/worker-1/telemetry", ""),
    ("cat", "/proc/nonexistent", ""), ("ls", "/nope", ""), ("tail", "/proc/boot", ""),
    ("echo", "/proc/boot", "nope"), ("echo", "/queen/ctl", "not-json"),
    ("echo", "/queen/ctl", '{"spawn":"nothing"}'), ("echo", "/queen/ctl", '{"kill":"worker-1"}'),
    ("ls", "/worker", ""), ("echo", "/queen/lifecycle/ctl", "cordon"),
    ("cat", "/proc/lifecycle/state", ""), ("cat", "/proc/lifecycle/reason", ""),
    ("echo", "/queen/lifecycle/ctl", "reboot"), ("echo", "/queen/lifecycle/ctl", "resume"),
    ("cat", "/proc/pressure/policy", ""), ("cat", "/proc/pressure/quota", ""),
    ("echo", "/log/queen.log", "regression-marker"),
    ("echo", "/log/queen.log", "user-lines-only-in-the-summary-whatever-the-transport-field"),
    ("cat", "/log/queen.log", ""), ("ls", "/queen", ""), ("ls", "/trace", ""),
]


# Files whose content depends on the transport or on time, compared by ACK:
# queen.log lines name the transport and the client address; a heartbeat
# worker's ring gets its tick records whenever the worker runs.
ACK_ONLY = {"/log/queen.log", "/worker/worker-1/telemetry"}

# Divergences found by this test, each with what differs and why; the test
# fails when one disappears (remove it then) or a new one appears.
# Refusals over the console count into /proc/pressure (console.md §4);
# refusals over Secure9P, hence through the gateway, do not: after the
# sequence's 7 refusals the tcp side reads policy=7, the rest side policy=0.
KNOWN_DIVERGENCES = {27: "refusals through Secure9P are not counted in /proc/pressure/policy"}


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = int(s.getsockname()[1])
    s.close()
    return p


# The run queue's dequeue count grows with the hive's wall-clock ticker
# (one round-robin pass per heartbeat), so it depends on how long the run
# took, not on the transport.
_DEQUEUED = re.compile(r"dequeued=\d+")


def _run(b: Backend) -> list[list[str]]:
    out = []
    for op, path, line in SEQUENCE:
        r: Reply = b.echo(path, line) if op == "echo" else getattr(b, op)(path)
        out.append([r.ack] if path in ACK_ONLY else [_DEQUEUED.sub("dequeued=N", l) for l in r.raw])
    return out


def run_rest_parity(bindir: Path) -> None:
    exe = os.environ.get("HIVE_GATEWAY_BIN", "") or shutil.which("hive-gateway")
    if not exe:
        exe = str(build(bindir, "cmd/hive-gateway") / "hive-gateway")
    h = Hive(bindir)
    try:
        tcp = TcpBackend(h.console, role="queen")
        want = _run(tcp)
        tcp.close()
    finally:
        h.stop()
    h = Hive(bindir)
    port = _free_port()
    gw = subprocess.Popen([exe, "--bind", f"127.0.0.1:{port}", "--hive-9p", h.ninep,
                           "--request-auth-token", "parity"], cwd=REPO,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        rest = RestBackend(f"http://127.0.0.1:{port}", token="parity")
        deadline = time.monotonic() + 20
        while True:
            try:
                rest.bounds()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        got = _run(rest)
    finally:
        gw.terminate()
        gw.wait(5)
        h.stop()
    diffs = {i: (SEQUENCE[i], w, g) for i, (w, g) in enumerate(zip(want, got)) if w != g}
    assert len(want) == len(got) == len(SEQUENCE)
    report = "\n".join(f"#{i} {op}: tcp={w!r}\n    rest={g!r}" for i, (op, w, g) in diffs.items())
    assert set(diffs) == set(KNOWN_DIVERGENCES), report


# The fs backend on a real `coh mount`: the same sequence, minus what the
# mount's allowlist (client_policies.coh.mount.allowlist) leaves out by
# design (`ls /` lists only allowlisted roots; /trace is not mounted).
FS_SKIP = {i for i, (op, path, _) in enumerate(SEQUENCE) if path in ("/", "/trace")}
# A file read through the mount cannot tell a tail from a cat: the console
# refuses `tail /proc/boot` (not a tail source), the fs backend reads it.
# And, as through the gateway, refusals over Secure9P do not count in
# /proc/pressure.
FS_KNOWN_DIVERGENCES = {16: "tail of a non-tail source reads the file through a mount",
                        27: "refusals through Secure9P are not counted in /proc/pressure/policy"}


def run_fs_parity(bindir: Path, mnt: Path) -> None:
    from cohesix.backends.fs import FsBackend

    h = Hive(bindir)
    try:
        tcp = TcpBackend(h.console, role="queen")
        want = _run(tcp)
        tcp.close()
    finally:
        h.stop()
    h = Hive(bindir)
    port = h.ninep.rsplit(":", 1)[1]
    coh = subprocess.Popen([str(bindir / "coh"), "--9p-port", port, "--role", "queen", "mount", "--at", str(mnt)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert coh.stdout is not None
        first = coh.stdout.readline()
        assert first.startswith("OK MOUNT"), first + (coh.stderr.read() if coh.stderr else "")
        got = _run(FsBackend(str(mnt)))
    finally:
        coh.send_signal(2)  # SIGINT unmounts
        try:
            coh.wait(10)
        except subprocess.TimeoutExpired:
            coh.kill()
            coh.wait()
        subprocess.run(["fusermount3", "-u", "-z", str(mnt)], capture_output=True)
        h.stop()
    diffs = {i: (SEQUENCE[i], w, g) for i, (w, g) in enumerate(zip(want, got)) if w != g and i not in FS_SKIP}
    report = "\n".join(f"#{i} {op}: tcp={w!r}\n    fs={g!r}" for i, (op, w, g) in diffs.items())
    assert set(diffs) == set(FS_KNOWN_DIVERGENCES), report


def _queen_only(src: str) -> bool:
    low = src.lower()
    return "attach queen" in low and "attach worker" not in low


# Per-command divergences of the scripts through the gateway (branch h-core's
# hive-gateway), keyed (script, line): what differs and why.
SCRIPT_KNOWN_DIVERGENCES = {
    ("lifecycle_basic.coh", 12): "quiesce with a live worker: console ERR ECHO reason=policy detail=denied "
                                 "error=EPERM, gateway ERR ECHO reason=busy detail=busy error=EBUSY",
    ("parse_errors.coh", 45): "an echo padded past msize: console ERR FRAME, gateway HTTP 400 (no ERR line)",
    ("pressure_root.coh", 19): "refusals through Secure9P are not counted in /proc/pressure/policy",
    ("pressure_root.coh", 41): "refusals through Secure9P are not counted in /proc/pressure/quota",
    ("tracefs.coh", 20): "console refusals are traced to /trace/events, Secure9P refusals are not",
}


def run_script_rest_parity(bindir: Path, scripts: list[Path]) -> dict[str, list[str]]:
    """Each queen-only regression script through the Python tcp shell (equal
    to cohsh by test_script_transcript_matches_cohsh) and through
    BackendShell on the rest backend, each on a fresh hive; returns, per
    script, the commands whose output differs (those with no REST
    equivalent are skipped, and /log/queen.log content, which names the
    transport, is compared by ACK)."""
    import io

    from cohesix.shell import BackendShell, Result, Shell, Stmt, run_script

    exe = os.environ.get("HIVE_GATEWAY_BIN", "") or shutil.which("hive-gateway") or ""
    out: dict[str, list[str]] = {}
    for script in scripts:
        src = script.read_text()
        if not _queen_only(src):
            continue
        tcp_res: dict[int, Result] = {}
        h = Hive(bindir)
        sh = Shell(h.console)
        try:
            run_script(sh, src, io.StringIO(), io.StringIO(), each=lambda s, r: tcp_res.__setitem__(s.line, r))
        finally:
            sh.close()
            h.stop()
        rest_res: dict[int, tuple[Stmt, Result]] = {}
        h = Hive(bindir)
        port = _free_port()
        gw = subprocess.Popen([exe, "--bind", f"127.0.0.1:{port}", "--hive-9p", h.ninep,
                               "--request-auth-token", "parity"], cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            rest = RestBackend(f"http://127.0.0.1:{port}", token="parity")
            deadline = time.monotonic() + 20
            while True:
                try:
                    rest.bounds()
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            run_script(BackendShell(rest), src, io.StringIO(), io.StringIO(),
                       each=lambda s, r: rest_res.__setitem__(s.line, (s, r)), strict=False)
        finally:
            gw.terminate()
            gw.wait(5)
            h.stop()
        diffs = []
        for n, (st, r) in sorted(rest_res.items()):
            if r.skipped:
                continue
            want = [_DEQUEUED.sub("dequeued=N", l) for l in tcp_res[n].lines]
            got = [_DEQUEUED.sub("dequeued=N", l) for l in r.lines]
            if "/log/queen.log" in st.text or st.text == "log":
                want, got = want[:1], got[:1]
            if want != got:
                diffs.append(f"line {n}: {st.text[:80]}\n    tcp:  {want}\n    rest: {got}")
        out[script.name] = diffs
    return out
