"""cohesix.fleetbench (issue 17's fleet harness) on a real dev hive, small:
4 workers for 3 s, each on its own Secure9P session with its own ticket."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cohesix import fleetbench
from cohesix.ninep import NinePError

from hive import Hive, build, have_go

pytestmark = pytest.mark.skipif(not have_go(), reason="needs the go toolchain (or COHESIX_E2E_BIN) to build roottask")


def test_fleetbench_small(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    bindir = build(tmp_path_factory.mktemp("bin"), "roottask", "cmd/cohsh")
    h = Hive(bindir)
    try:
        out = tmp_path / "report.json"
        rc = fleetbench.main(["--console", h.console, "--ninep", h.ninep, "--cohsh", str(bindir / "cohsh"),
                              "--workers", "4", "--duration", "3", "--hive-pid", str(h.proc.pid),
                              "--out", str(out)])
        rep = json.loads(out.read_text())
        assert rep["errors"] == {} and rc == 0, rep
        # Exact counts: 3 heartbeats from each of 4 workers, every one
        # acknowledged, and each ring ends with its worker's 3rd heartbeat.
        assert rep["sent"] == rep["acknowledged"] == rep["received"] == 12, rep
        assert rep["held_last"] == 4 and 4 <= rep["held_records"] <= 12, rep
        assert rep["killed"] == 4, rep
    finally:
        h.stop()


def test_fleetbench_counts_refusals(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    """A heartbeat the hive refuses is an error of its class, not a send:
    with a heartbeat bigger than the ring takes, every append is refused."""
    bindir = build(tmp_path_factory.mktemp("bin"), "roottask", "cmd/cohsh")
    h = Hive(bindir)
    try:
        out = tmp_path / "report.json"
        rc = fleetbench.main(["--console", h.console, "--ninep", h.ninep, "--cohsh", str(bindir / "cohsh"),
                              "--workers", "2", "--duration", "1", "--bytes", "4000", "--out", str(out)])
        rep = json.loads(out.read_text())
        assert rc == 1 and rep["acknowledged"] == 0 and rep["sent"] == 2, rep
        assert sum(rep["errors"].values()) >= 2 and all(k.startswith(("NinePError:", "ring")) for k in rep["errors"]), rep
    finally:
        h.stop()


def test_error_class() -> None:
    assert fleetbench.error_class(NinePError("write", 1)) == "NinePError:EPERM"
    assert len(fleetbench.heartbeat("worker-1000", 60, 100)) == 100
    assert fleetbench.percentile([3.0, 1.0, 2.0], 0.5) == 2.0
