"""REST parity against a real hive-gateway: the same reads and writes
through the tcp backend and the rest backend give the same ACK lines and
payload (the gateway's `ack` is the console's line, gatewayapi.Response)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from cohesix.backends.rest import RestBackend
from cohesix.backends.tcp import TcpBackend

from hive import REPO, Hive, build


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = int(s.getsockname()[1])
    s.close()
    return p


def run_rest_parity(bindir: Path) -> None:
    exe = shutil.which("hive-gateway")
    if not exe:
        exe = str(build(bindir, "cmd/hive-gateway") / "hive-gateway")
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
        tcp = TcpBackend(h.console, role="queen")
        for p in ("/proc", "/worker", "/nope"):
            assert rest.ls(p).raw == tcp.ls(p).raw, p
        for p in ("/proc/boot", "/proc/lifecycle/state", "/proc/nonexistent"):
            assert rest.cat(p).raw == tcp.cat(p).raw, p
        assert rest.echo("/proc/boot", "x").ack == tcp.echo("/proc/boot", "x").ack
        tcp.close()
    finally:
        gw.terminate()
        gw.wait(5)
        h.stop()
