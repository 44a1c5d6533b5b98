"""Build and start a real hosted roottask (as tests/harness_test.go does)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_LISTEN = re.compile(r"^\[event\] (console|secure9p) listening tcp=(\S+)$")


def build(bindir: Path, *pkgs: str) -> Path:
    """go build the packages into bindir (COHESIX_E2E_BIN: prebuilt)."""
    pre = os.environ.get("COHESIX_E2E_BIN", "")
    if pre:
        return Path(pre)
    r = subprocess.run(["go", "build", "-o", str(bindir) + "/", *["./" + p for p in pkgs]],
                       cwd=REPO, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"go build {' '.join(pkgs)}: {r.stderr[-2000:]}")
    return bindir


def have_go() -> bool:
    return bool(os.environ.get("COHESIX_E2E_BIN")) or shutil.which("go") is not None


class Hive:
    def __init__(self, bindir: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [str(bindir / "roottask"), "--console-listen", "127.0.0.1:0",
             "--secure9p-listen", "127.0.0.1:0", "--serial", "none", *args],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        self.console = self.ninep = ""
        ready = threading.Event()

        def scan() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                m = _LISTEN.match(line.rstrip("\n"))
                if m:
                    if m.group(1) == "console":
                        self.console = m.group(2)
                    else:
                        self.ninep = m.group(2)
                    if self.console and self.ninep:
                        ready.set()

        threading.Thread(target=scan, daemon=True).start()
        if not ready.wait(30):
            self.stop()
            raise RuntimeError("roottask did not report both listeners within 30 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
