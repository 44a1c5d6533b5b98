"""/proc snapshot readers: the line formats of namespace.md and roadmap 24c
parsed into dataclasses. A line that does not have the expected keys
raises ProtocolError naming the file and the key."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, TypeVar

from .backends.base import Backend
from .errors import ProtocolError

T = TypeVar("T")


def parse_kv(line: str) -> dict[str, str]:
    """`k=v k=v ...` tokens of one line (values hold no spaces)."""
    out: dict[str, str] = {}
    for tok in line.split():
        k, sep, v = tok.partition("=")
        if sep:
            out[k] = v
    return out


def _build(cls: type[T], kv: dict[str, str], where: str) -> T:
    args: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in kv:
            raise ProtocolError(f"{where}: line lacks {f.name}=")
        v = kv[f.name]
        if f.type in (int, "int"):
            try:
                args[f.name] = int(v)
            except ValueError:
                raise ProtocolError(f"{where}: {f.name}={v!r} is not an integer") from None
        else:
            args[f.name] = v
    return cls(**args)


@dataclass(frozen=True)
class ScheduleSummary:
    queue: int
    dequeued: int
    dropped: int
    max_entries: int


@dataclass(frozen=True)
class ScheduleEntry:
    id: str
    role: str
    priority: int
    ticks: int
    budget_ms: int
    seq: int


@dataclass(frozen=True)
class LeaseSummary:
    active: int
    preemptions: int
    quotas: int
    max_active: int
    max_preemptions: int


@dataclass(frozen=True)
class LeaseEntry:
    id: str
    subject: str
    resource: str
    ttl_s: int
    priority: int
    state: str
    seq: int


@dataclass(frozen=True)
class Preemption:
    id: str
    subject: str
    resource: str
    reason: str
    seq: int


@dataclass(frozen=True)
class LifecycleState:
    state: str
    reason: str
    since_ms: int


@dataclass(frozen=True)
class Pressure:
    busy: int
    quota: int
    cut: int
    policy: int


@dataclass(frozen=True)
class RootStatus:
    reachable: str
    cut_reason: str


def _lines(b: Backend, path: str) -> list[str]:
    return b.cat(path).check().lines


def _one(b: Backend, path: str) -> dict[str, str]:
    kv: dict[str, str] = {}
    for l in _lines(b, path):
        kv.update(parse_kv(l))
    return kv


def schedule_summary(b: Backend) -> ScheduleSummary:
    return _build(ScheduleSummary, _one(b, "/proc/schedule/summary"), "/proc/schedule/summary")


def schedule_queue(b: Backend) -> list[ScheduleEntry]:
    return [_build(ScheduleEntry, parse_kv(l), "/proc/schedule/queue") for l in _lines(b, "/proc/schedule/queue") if l]


def lease_summary(b: Backend) -> LeaseSummary:
    return _build(LeaseSummary, _one(b, "/proc/lease/summary"), "/proc/lease/summary")


def lease_active(b: Backend) -> list[LeaseEntry]:
    return [_build(LeaseEntry, parse_kv(l), "/proc/lease/active") for l in _lines(b, "/proc/lease/active") if l]


def lease_preemptions(b: Backend) -> list[Preemption]:
    return [_build(Preemption, parse_kv(l), "/proc/lease/preemptions") for l in _lines(b, "/proc/lease/preemptions") if l]


def lifecycle(b: Backend) -> LifecycleState:
    kv: dict[str, str] = {}
    for p in ("/proc/lifecycle/state", "/proc/lifecycle/reason", "/proc/lifecycle/since"):
        kv.update(_one(b, p))
    return _build(LifecycleState, kv, "/proc/lifecycle")


def pressure(b: Backend) -> Pressure:
    kv: dict[str, str] = {}
    for k in ("busy", "quota", "cut", "policy"):
        kv.update(_one(b, "/proc/pressure/" + k))
    return _build(Pressure, kv, "/proc/pressure")


def root(b: Backend) -> RootStatus:
    kv = _one(b, "/proc/root/reachable")
    kv.update(_one(b, "/proc/root/cut_reason"))
    return _build(RootStatus, kv, "/proc/root")
