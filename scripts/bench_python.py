"""Timing of `cat /proc/boot` round trips on one hosted roottask: cohsh
(script mode, 1+N cats minus 1 cat, so process start and attach cancel
out) against the Python tcp backend (the same script through
cohesix.shell, and a bare TcpBackend loop on one session with p50/p99).
Rounds alternate the clients so both see the same load."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python" / "tests"))

from cohesix.backends.tcp import TcpBackend  # noqa: E402
from cohesix.shell import Shell, run_script  # noqa: E402
from hive import Hive  # noqa: E402


def script(n: int) -> str:
    return "attach queen\n" + "cat /proc/boot\n" * n + "quit\n"


def cohsh_secs(bindir: Path, addr: str, path: str) -> float:
    host, port = addr.rsplit(":", 1)
    t0 = time.perf_counter()
    subprocess.run([str(bindir / "cohsh"), "--tcp-host", host, "--tcp-port", port, "--script", path],
                   check=True, stdout=subprocess.DEVNULL, env=dict(os.environ, COHSH_CONSOLE_LOCK="0"))
    return time.perf_counter() - t0


def shell_secs(addr: str, src: str) -> float:
    t0 = time.perf_counter()
    sh = Shell(addr)
    with open(os.devnull, "w") as null:
        run_script(sh, src, null, null)
    sh.close()
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ops", type=int, default=250)  # a .coh script holds at most 256 statements
    ap.add_argument("--reps", type=int, default=5)  # medians of this many script runs
    ap.add_argument("--loop-ops", type=int, default=2000)
    a = ap.parse_args()
    bindir = Path(a.bin)
    tmp = Path(tempfile.mkdtemp())
    one, many = tmp / "one.coh", tmp / "many.coh"
    one.write_text(script(1))
    many.write_text(script(1 + a.ops))
    h = Hive(bindir)
    try:
        for r in range(a.rounds):
            print(f"# round {r + 1}/{a.rounds} load: {' '.join(open('/proc/loadavg').read().split()[:3])}")
            med = statistics.median
            c = (med(cohsh_secs(bindir, h.console, str(many)) for _ in range(a.reps))
                 - med(cohsh_secs(bindir, h.console, str(one)) for _ in range(a.reps))) / a.ops
            p = (med(shell_secs(h.console, script(1 + a.ops)) for _ in range(a.reps))
                 - med(shell_secs(h.console, script(1)) for _ in range(a.reps))) / a.ops
            b = TcpBackend(h.console, role="queen")
            lat = []
            for _ in range(a.loop_ops):
                t0 = time.perf_counter()
                b.cat("/proc/boot").check()
                lat.append(time.perf_counter() - t0)
            b.quit()
            q = statistics.quantiles(lat, n=100)
            print(f"cohsh script       {c * 1e6:8.1f} us/op")
            print(f"python shell       {p * 1e6:8.1f} us/op  ratio {p / c:.2f}x")
            print(f"python TcpBackend  {statistics.mean(lat) * 1e6:8.1f} us/op  ratio {statistics.mean(lat) / c:.2f}x"
                  f"  p50 {q[49] * 1e6:.1f} us  p99 {q[98] * 1e6:.1f} us")
    finally:
        h.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
