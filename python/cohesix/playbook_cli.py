"""cohesix-playbook: list and run the nine fleet playbooks.

  python -m cohesix.playbook_cli --list
  python -m cohesix.playbook_cli --playbook ID --dry-run --mock
  python -m cohesix.playbook_cli --playbook ID --mock          (writes to the mock hive)
  python -m cohesix.playbook_cli --playbook ID                 (live: backend from the environment)

A dry run writes zero control lines: it prints each line it would write
(`would write <path> <line>`) and a report with control_writes=0.
Exit codes: 0 done, 1 the hive refused a write, 2 usage."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import playbooks
from .artifacts import write_report
from .backends import MockBackend, select
from .client import Client
from .errors import CohesixError, HiveError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="cohesix-playbook", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--list", action="store_true", help="list the playbooks")
    ap.add_argument("--playbook", default="", help="playbook id")
    ap.add_argument("--dry-run", action="store_true", help="print the control lines; write none")
    ap.add_argument("--mock", action="store_true", help="use the in-memory mock hive")
    ap.add_argument("--policy-sha256", default=playbooks.DEFAULT_POLICY_SHA256)
    ap.add_argument("--report", default="", help="also write the JSON report to this file (bounded)")
    a = ap.parse_args(argv)
    if a.list:
        for p in playbooks.PLAYBOOKS:
            print(f"{p.id}\t{p.fleet}\t{p.title}")
        return 0
    if not a.playbook:
        ap.print_usage(sys.stderr)
        print("cohesix-playbook: --list or --playbook ID", file=sys.stderr)
        return 2
    try:
        pb = playbooks.get(a.playbook)
    except KeyError:
        print(f"cohesix-playbook: unknown playbook {a.playbook!r}; see --list", file=sys.stderr)
        return 2
    try:
        backend = MockBackend() if a.mock else select()
    except CohesixError as e:
        print(f"cohesix-playbook: {e}", file=sys.stderr)
        return 1
    client = Client(backend, dry_run=a.dry_run)
    report: dict[str, object] = {"playbook": pb.id, "fleet": pb.fleet, "backend": backend.name,
                                 "mode": "dry-run" if a.dry_run else "apply"}
    code = 0
    try:
        pb.run(client, a.policy_sha256)
    except HiveError as e:
        report["error"] = e.ack
        print(f"cohesix-playbook: {e.ack}", file=sys.stderr)
        code = 1
    finally:
        backend.close()
    for w in client.planned:
        print(("would write " if a.dry_run else "wrote ") + f"{w.path} {w.line}")
    report["planned"] = [f"{w.path} {w.line}" for w in client.planned]
    report["control_writes"] = len(client.written)
    report["files"] = sorted({w.path for w in client.planned})
    print(json.dumps({k: report[k] for k in ("playbook", "mode", "backend", "control_writes")}, sort_keys=True)
          + f" planned={len(client.planned)}")
    if a.report:
        write_report(Path(a.report), report)
    return code


if __name__ == "__main__":
    sys.exit(main())
