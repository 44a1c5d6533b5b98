"""Limits from the compiled manifest (generated/manifest/root_task_resolved.json).

The defaults below mirror the dev manifest so the package works without a
checkout; each names the manifest key it stands in for. When the JSON is
found (COHESIX_MANIFEST_JSON, else the repository copy next to this
package), its values win."""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Limits:
    line_max_bytes: int = 256  # console.line_max_bytes
    frame_max_bytes: int = 8192  # console.frame_max_bytes
    ack_max_bytes: int = 256  # console.ack_max_bytes
    path_max: int = 96  # console.path_max
    role_max: int = 16  # console.role_max
    ticket_max: int = 224  # console.ticket_max
    echo_max: int = 128  # console.echo_max
    json_max: int = 192  # console.json_max
    worker_id_max: int = 32  # console.worker_id_max
    cat_summary_max_bytes: int = 128  # console.cat_summary_max_bytes
    cat_summary_line_max_bytes: int = 64  # console.cat_summary_line_max_bytes
    b64_line_max: int = 252  # console.b64_line_max
    walk_depth: int = 8  # secure9p.walk_depth
    msize: int = 8192  # secure9p.msize
    auth_token: str = "changeme"  # console.auth_token (dev manifest)
    console_listen: str = "127.0.0.1:31337"  # network.console_listen
    timeout_ms: int = 5000  # client_policies.retry.timeout_ms
    gateway_bind: str = "127.0.0.1:8080"  # gateway.bind
    gateway_max_read_bytes: int = 32768  # gateway.max_read_bytes
    gateway_tail_max_lines: int = 256  # gateway.tail_max_lines
    gateway_deadline_ms: int = 10000  # gateway.broker.deadline_ms
    telemetry_root: str = "/queen/telemetry"  # client_policies.coh.telemetry.root
    telemetry_segment_max_bytes: int = 32768  # telemetry_ingest.max_bytes_per_segment
    telemetry_record_max_bytes: int = 4096  # telemetry_ingest.max_record_bytes
    script_max_statements: int = 256  # scripts.max_statements
    script_wait_max_ms: int = 2000  # scripts.wait_max_ms
    path_log: str = "/log/queen.log"  # client_paths.log
    path_queen_ctl: str = "/queen/ctl"  # client_paths.queen_ctl
    path_lifecycle_ctl: str = "/queen/lifecycle/ctl"  # client_paths.queen_lifecycle_ctl
    manifest_sha256: str = ""  # the .sha256 file coh-rtc writes next to the JSON
    source: str = "defaults"  # where these values came from


_MAP: dict[str, tuple[str, ...]] = {
    "line_max_bytes": ("console", "line_max_bytes"),
    "frame_max_bytes": ("console", "frame_max_bytes"),
    "ack_max_bytes": ("console", "ack_max_bytes"),
    "path_max": ("console", "path_max"),
    "role_max": ("console", "role_max"),
    "ticket_max": ("console", "ticket_max"),
    "echo_max": ("console", "echo_max"),
    "json_max": ("console", "json_max"),
    "worker_id_max": ("console", "worker_id_max"),
    "cat_summary_max_bytes": ("console", "cat_summary_max_bytes"),
    "cat_summary_line_max_bytes": ("console", "cat_summary_line_max_bytes"),
    "b64_line_max": ("console", "b64_line_max"),
    "walk_depth": ("secure9p", "walk_depth"),
    "msize": ("secure9p", "msize"),
    "auth_token": ("console", "auth_token"),
    "console_listen": ("network", "console_listen"),
    "timeout_ms": ("client_policies", "retry", "timeout_ms"),
    "gateway_bind": ("gateway", "bind"),
    "telemetry_root": ("client_policies", "coh", "telemetry", "root"),
    "script_max_statements": ("scripts", "max_statements"),
    "script_wait_max_ms": ("scripts", "wait_max_ms"),
    "path_log": ("client_paths", "log"),
    "path_queen_ctl": ("client_paths", "queen_ctl"),
    "path_lifecycle_ctl": ("client_paths", "queen_lifecycle_ctl"),
    "telemetry_segment_max_bytes": ("telemetry_ingest", "max_bytes_per_segment"),
    "telemetry_record_max_bytes": ("telemetry_ingest", "max_record_bytes"),
    "gateway_max_read_bytes": ("gateway", "max_read_bytes"),
    "gateway_tail_max_lines": ("gateway", "tail_max_lines"),
    "gateway_deadline_ms": ("gateway", "broker", "deadline_ms"),
}


def _dig(d: Any, keys: tuple[str, ...]) -> Any:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def manifest_path() -> Path | None:
    """The manifest JSON this process uses, or None."""
    env = os.environ.get("COHESIX_MANIFEST_JSON", "")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    for root in (here.parent.parent, Path.cwd()):
        p = root / "generated" / "manifest" / "root_task_resolved.json"
        if p.is_file():
            return p
    return None


def from_json(doc: dict[str, Any], source: str) -> Limits:
    """Limits from a parsed manifest document; absent keys keep defaults."""
    lim = Limits(source=source)
    updates: dict[str, Any] = {}
    types = {f.name: f.type for f in fields(Limits)}
    for name, keys in _MAP.items():
        v = _dig(doc, keys)
        want = int if types[name] in (int, "int") else str
        if v is not None and isinstance(v, want) and not isinstance(v, bool):
            updates[name] = v
    return replace(lim, **updates)


@functools.lru_cache(maxsize=1)
def load() -> Limits:
    """The process-wide limits: the manifest JSON when found, else defaults."""
    p = manifest_path()
    if p is None:
        return Limits()
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Limits()
    if not isinstance(doc, dict):
        return Limits()
    lim = from_json(doc, str(p))
    try:  # coh-rtc writes the manifest hash next to the JSON (spec manifest §4)
        sha = p.with_name(p.name + ".sha256").read_text(encoding="utf-8").split()[0]
        lim = replace(lim, manifest_sha256=sha)
    except (OSError, IndexError):
        pass
    return lim


def rest_timeout(lim: Limits) -> float:
    """A REST client's timeout: a second past the gateway's own broker
    deadline, so the gateway's 504 (with its words) arrives first."""
    return lim.gateway_deadline_ms / 1000 + 1
