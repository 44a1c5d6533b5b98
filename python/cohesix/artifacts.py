"""Bounded artifacts for examples and playbooks: every file written under
an out/ directory has a byte cap, and a report says what was cut."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

# Caps of the examples' artifacts (not hive limits): a report and a data file.
REPORT_MAX_BYTES = 64 * 1024
DATA_MAX_BYTES = 256 * 1024


def write_bytes(path: Path, data: bytes, cap: int = DATA_MAX_BYTES) -> int:
    """Writes at most cap bytes atomically; returns the bytes written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = data[:cap]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return len(data)


def write_report(path: Path, report: dict[str, Any], cap: int = REPORT_MAX_BYTES) -> None:
    """A JSON report, sorted keys; lists are cut until it fits in cap."""
    body = json.dumps(report, indent=2, sort_keys=True) + "\n"
    while len(body.encode()) > cap:
        longest = max((k for k, v in report.items() if isinstance(v, list) and v),
                      key=lambda k: len(report[k]), default=None)
        if longest is None:
            report = {"truncated": True, "error": "report over cap"}
        else:
            report[longest] = report[longest][: len(report[longest]) // 2]
            report["truncated"] = True
        body = json.dumps(report, indent=2, sort_keys=True) + "\n"
    write_bytes(path, body.encode(), cap)
