#!/usr/bin/env python3
"""lease -> run -> release against a hive.

lease: a /queen/lease/ctl grant (roadmap 24c; a hive that does not serve
the file yet refuses it with its own ERR, recorded in the report) and a
heartbeat worker spawned through /queen/ctl with a ttl/ops budget;
run: telemetry records into the worker's ring, /proc/schedule and
/proc/lease snapshots; release: the lease released (preempt) and the
worker killed. Artifacts: <out>/report.json.

  python3 python/examples/lease_run.py --mock
  COHESIX_TCP_ADDR=127.0.0.1:31337 python3 python/examples/lease_run.py
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from _common import backend, parser

import cohesix
from cohesix.artifacts import write_report


def main() -> int:
    args = parser("lease_run.py", __doc__ or "").parse_args()
    b = backend(args)
    c = cohesix.Client(b)
    report: dict[str, object] = {"backend": b.name, "steps": []}
    steps: list[str] = []

    def note(step: str, r: cohesix.Reply | None) -> None:
        steps.append(f"{step}: {r.ack if r else 'dry-run'}")

    try:
        try:
            note("lease grant", c.lease_grant("lease-1", "example", "gpu-0", 60, 1))
        except cohesix.HiveError as e:
            steps.append(f"lease grant: {e.ack}")
        before = set(c.workers())
        note("spawn", c.spawn_heartbeat(ticks=5, ttl_s=60, ops=100))
        new = [w for w in c.workers() if w not in before]
        if not new:
            print("lease_run: the spawned worker is not listed under /worker", file=sys.stderr)
            return 1
        worker = new[-1]
        for i in range(3):
            r = b.echo(f"/worker/{worker}/telemetry", f'{{"step":{i},"worker":"{worker}"}}').check()
            note(f"telemetry {i}", r)
        report["schedule"] = dataclasses.asdict(c.schedule_summary())
        report["lease"] = dataclasses.asdict(c.lease_summary())
        report["worker_telemetry"] = b.cat(f"/worker/{worker}/telemetry").check().lines
        try:
            note("lease release", c.lease_preempt("lease-1", "released"))
        except cohesix.HiveError as e:
            steps.append(f"lease release: {e.ack}")
        note("kill", c.kill(worker))
        report["worker"] = worker
        report["released"] = worker not in c.workers()
    except cohesix.CohesixError as e:
        report["error"] = str(e)
        print(f"lease_run: {e}", file=sys.stderr)
        return 1
    finally:
        report["steps"] = steps
        write_report(Path(args.out) / "report.json", report)
        b.close()
    print(f"lease_run: OK worker={report['worker']} released={report['released']} report={Path(args.out) / 'report.json'}")
    return 0 if report["released"] else 1


if __name__ == "__main__":
    sys.exit(main())
