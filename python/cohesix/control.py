"""Typed control requests. Each renders exactly one compact JSON line for
one canonical control file and nothing else; the hive stays the
authority (it validates again and answers OK or ERR).

Files the hive serves today: /queen/ctl (spawn, kill), /queen/lifecycle/ctl,
/policy/ctl (apply, rollback) and /actions/queue (approvals). The forms of
/queen/schedule/ctl, /queen/lease/ctl and /queen/export/ctl are roadmap
24c's; the hive does not serve those files yet (a write is refused with the
hive's own ERR), so the lines are rendered and checked here and the mock
backend accepts them."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Union

from .errors import UsageError

QUEEN_CTL = "/queen/ctl"
LIFECYCLE_CTL = "/queen/lifecycle/ctl"
SCHEDULE_CTL = "/queen/schedule/ctl"
LEASE_CTL = "/queen/lease/ctl"
EXPORT_CTL = "/queen/export/ctl"
POLICY_CTL = "/policy/ctl"
ACTIONS_QUEUE = "/actions/queue"

# Control files the hive serves today (internal/prov); the others are
# rendered for the roadmap's grammar and accepted by the mock backend.
LIVE_FILES = frozenset({QUEEN_CTL, LIFECYCLE_CTL, POLICY_CTL, ACTIONS_QUEUE})
CANONICAL_FILES = LIVE_FILES | {SCHEDULE_CTL, LEASE_CTL, EXPORT_CTL}

LIFECYCLE_ACTIONS = ("cordon", "drain", "resume", "quiesce", "reset")

_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _compact(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _token(what: str, v: str) -> None:
    if not _TOKEN.match(v):
        raise UsageError(f"{what} must be a [A-Za-z0-9_-] token, got {v!r}")


def _positive(what: str, v: int) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise UsageError(f"{what} must be an integer > 0, got {v!r}")


def _json_str(what: str, v: str) -> None:
    # cohsh's rule for strings placed in control JSON.
    if not v or '"' in v or "\\" in v or any(ord(c) < 0x20 or ord(c) == 0x7F for c in v):
        raise UsageError(f"{what} must be non-empty and contain no quotes, backslashes or control characters")


@dataclass(frozen=True)
class Schedule:
    """/queen/schedule/ctl: {"id","role","priority","ticks","budget_ms"}."""

    id: str
    role: str
    priority: int
    ticks: int
    budget_ms: int
    path = SCHEDULE_CTL

    def line(self) -> str:
        _token("id", self.id)
        _token("role", self.role)
        _positive("priority", self.priority)
        _positive("ticks", self.ticks)
        _positive("budget_ms", self.budget_ms)
        return _compact({"id": self.id, "role": self.role, "priority": self.priority,
                         "ticks": self.ticks, "budget_ms": self.budget_ms})


@dataclass(frozen=True)
class LeaseGrant:
    id: str
    subject: str
    resource: str
    ttl_s: int
    priority: int
    path = LEASE_CTL

    def line(self) -> str:
        for k in ("id", "subject", "resource"):
            _token(k, getattr(self, k))
        _positive("ttl_s", self.ttl_s)
        _positive("priority", self.priority)
        return _compact({"op": "grant", "id": self.id, "subject": self.subject,
                         "resource": self.resource, "ttl_s": self.ttl_s, "priority": self.priority})


@dataclass(frozen=True)
class LeaseRenew:
    id: str
    ttl_s: int
    priority: int
    path = LEASE_CTL

    def line(self) -> str:
        _token("id", self.id)
        _positive("ttl_s", self.ttl_s)
        _positive("priority", self.priority)
        return _compact({"op": "renew", "id": self.id, "ttl_s": self.ttl_s, "priority": self.priority})


@dataclass(frozen=True)
class LeasePreempt:
    id: str
    reason: str
    path = LEASE_CTL

    def line(self) -> str:
        _token("id", self.id)
        _token("reason", self.reason)
        return _compact({"op": "preempt", "id": self.id, "reason": self.reason})


@dataclass(frozen=True)
class LeaseQuota:
    subject: str
    resource: str
    max_active: int
    max_preemptions: int
    path = LEASE_CTL

    def line(self) -> str:
        _token("subject", self.subject)
        _token("resource", self.resource)
        _positive("max_active", self.max_active)
        _positive("max_preemptions", self.max_preemptions)
        return _compact({"op": "quota", "subject": self.subject, "resource": self.resource,
                         "max_active": self.max_active, "max_preemptions": self.max_preemptions})


@dataclass(frozen=True)
class ExportOpen:
    id: str
    ttl_s: int
    path = EXPORT_CTL

    def line(self) -> str:
        _token("id", self.id)
        _positive("ttl_s", self.ttl_s)
        return _compact({"op": "open", "id": self.id, "ttl_s": self.ttl_s})


@dataclass(frozen=True)
class ExportClose:
    id: str
    reason: str
    path = EXPORT_CTL

    def line(self) -> str:
        _token("id", self.id)
        _token("reason", self.reason)
        return _compact({"op": "close", "id": self.id, "reason": self.reason})


@dataclass(frozen=True)
class PolicyApply:
    """/policy/ctl apply: the sha256 of the rules being applied."""

    id: str
    sha256: str
    path = POLICY_CTL

    def line(self) -> str:
        _token("id", self.id)
        if not _SHA256.match(self.sha256):
            raise UsageError("sha256 must be 64 lower-case hex digits")
        return _compact({"op": "apply", "id": self.id, "sha256": self.sha256})


@dataclass(frozen=True)
class PolicyRollback:
    id: str
    path = POLICY_CTL

    def line(self) -> str:
        _token("id", self.id)
        return _compact({"op": "rollback", "id": self.id})


@dataclass(frozen=True)
class Approval:
    """/actions/queue: a single-use approve or deny of one gated write."""

    id: str
    target: str
    decision: str = "approve"
    path = ACTIONS_QUEUE

    def line(self) -> str:
        _token("id", self.id)
        if not self.target.startswith("/") or ".." in self.target.split("/"):
            raise UsageError("target must be an absolute path without '..'")
        _json_str("target", self.target)
        if self.decision not in ("approve", "deny"):
            raise UsageError("decision must be approve or deny")
        return _compact({"id": self.id, "target": self.target, "decision": self.decision})


@dataclass(frozen=True)
class SpawnHeartbeat:
    """/queen/ctl spawn heartbeat, as cohsh's `spawn heartbeat` renders it."""

    ticks: int
    ttl_s: int = 0
    ops: int = 0
    path = QUEEN_CTL

    def line(self) -> str:
        _positive("ticks", self.ticks)
        obj: dict[str, Any] = {"spawn": "heartbeat", "ticks": self.ticks}
        budget: dict[str, int] = {}
        if self.ttl_s:
            budget["ttl_s"] = self.ttl_s
        if self.ops:
            budget["ops"] = self.ops
        if budget:
            obj["budget"] = budget
        return _compact(obj)


@dataclass(frozen=True)
class SpawnGpu:
    gpu_id: str
    mem_mb: int
    streams: int
    ttl_s: int
    priority: int = 0
    path = QUEEN_CTL

    def line(self) -> str:
        _json_str("gpu_id", self.gpu_id)
        lease: dict[str, Any] = {"gpu_id": self.gpu_id, "mem_mb": self.mem_mb,
                                 "streams": self.streams, "ttl_s": self.ttl_s}
        if self.priority:
            lease["priority"] = self.priority
        return _compact({"spawn": "gpu", "lease": lease})


@dataclass(frozen=True)
class Kill:
    worker: str
    path = QUEEN_CTL

    def line(self) -> str:
        _json_str("worker id", self.worker)
        return _compact({"kill": self.worker})


@dataclass(frozen=True)
class Lifecycle:
    action: str
    path = LIFECYCLE_CTL

    def line(self) -> str:
        if self.action not in LIFECYCLE_ACTIONS:
            raise UsageError(f"lifecycle action must be one of {', '.join(LIFECYCLE_ACTIONS)}")
        return self.action


Request = Union[Schedule, LeaseGrant, LeaseRenew, LeasePreempt, LeaseQuota, ExportOpen,
                ExportClose, PolicyApply, PolicyRollback, Approval, SpawnHeartbeat, SpawnGpu,
                Kill, Lifecycle]

# The exact key sets of each roadmap-24c form, for strict checking of a
# line (mock backend): unknown or missing fields are refused.
_FORMS: dict[str, list[tuple[frozenset[str], dict[str, str]]]] = {
    SCHEDULE_CTL: [(frozenset({"id", "role", "priority", "ticks", "budget_ms"}),
                    {"id": "tok", "role": "tok", "priority": "pos", "ticks": "pos", "budget_ms": "pos"})],
    LEASE_CTL: [
        (frozenset({"op", "id", "subject", "resource", "ttl_s", "priority"}),
         {"op": "grant", "id": "tok", "subject": "tok", "resource": "tok", "ttl_s": "pos", "priority": "pos"}),
        (frozenset({"op", "id", "ttl_s", "priority"}), {"op": "renew", "id": "tok", "ttl_s": "pos", "priority": "pos"}),
        (frozenset({"op", "id", "reason"}), {"op": "preempt", "id": "tok", "reason": "tok"}),
        (frozenset({"op", "subject", "resource", "max_active", "max_preemptions"}),
         {"op": "quota", "subject": "tok", "resource": "tok", "max_active": "pos", "max_preemptions": "pos"}),
    ],
    EXPORT_CTL: [
        (frozenset({"op", "id", "ttl_s"}), {"op": "open", "id": "tok", "ttl_s": "pos"}),
        (frozenset({"op", "id", "reason"}), {"op": "close", "id": "tok", "reason": "tok"}),
    ],
    POLICY_CTL: [
        (frozenset({"op", "id", "sha256"}), {"op": "apply", "id": "tok", "sha256": "sha"}),
        (frozenset({"op", "id"}), {"op": "rollback", "id": "tok"}),
    ],
    ACTIONS_QUEUE: [(frozenset({"id", "target", "decision"}), {"id": "tok", "target": "abs", "decision": "dec"})],
}


def _value_ok(kind: str, v: Any) -> bool:
    if kind == "tok":
        return isinstance(v, str) and bool(_TOKEN.match(v))
    if kind == "pos":
        return isinstance(v, int) and not isinstance(v, bool) and v > 0
    if kind == "sha":
        return isinstance(v, str) and bool(_SHA256.match(v))
    if kind == "abs":
        return isinstance(v, str) and v.startswith("/") and ".." not in v.split("/")
    if kind == "dec":
        return v in ("approve", "deny")
    return bool(v == kind)  # a literal op


def check_line(path: str, line: str) -> bool:
    """Whether line is one valid form of path's roadmap-24c grammar."""
    forms = _FORMS.get(path)
    if forms is None:
        return False
    try:
        obj = json.loads(line)
    except ValueError:
        return False
    if not isinstance(obj, dict):
        return False
    for keys, kinds in forms:
        if frozenset(obj) == keys and all(_value_ok(kinds[k], obj[k]) for k in keys):
            return True
    return False
