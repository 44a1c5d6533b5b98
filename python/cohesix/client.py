"""The SDK facade: typed writes to canonical control files, /proc
snapshots, workers and telemetry over any backend. Every write is one
echo of one control line; with dry_run=True nothing is written and the
planned (path, line) pairs are collected in ``planned``."""

from __future__ import annotations

from dataclasses import dataclass

from . import control, proc
from .ack import Reply
from .backends.base import Backend
from .errors import UsageError


@dataclass(frozen=True)
class Planned:
    path: str
    line: str


class Client:
    def __init__(self, backend: Backend, dry_run: bool = False) -> None:
        self.backend = backend
        self.dry_run = dry_run
        self.planned: list[Planned] = []
        self.written: list[Planned] = []

    def submit(self, req: control.Request) -> Reply | None:
        """Writes req's line to its control file; raises HiveError on ERR.
        In a dry run returns None and only records the plan."""
        line = req.line()
        if req.path not in control.CANONICAL_FILES:
            raise UsageError(f"{req.path} is not a canonical control file")
        self.planned.append(Planned(req.path, line))
        if self.dry_run:
            return None
        r = self.backend.echo(req.path, line).check()
        self.written.append(Planned(req.path, line))
        return r

    # typed conveniences

    def schedule(self, id: str, role: str, priority: int, ticks: int, budget_ms: int) -> Reply | None:
        return self.submit(control.Schedule(id, role, priority, ticks, budget_ms))

    def lease_grant(self, id: str, subject: str, resource: str, ttl_s: int, priority: int) -> Reply | None:
        return self.submit(control.LeaseGrant(id, subject, resource, ttl_s, priority))

    def lease_renew(self, id: str, ttl_s: int, priority: int) -> Reply | None:
        return self.submit(control.LeaseRenew(id, ttl_s, priority))

    def lease_preempt(self, id: str, reason: str) -> Reply | None:
        return self.submit(control.LeasePreempt(id, reason))

    def lease_quota(self, subject: str, resource: str, max_active: int, max_preemptions: int) -> Reply | None:
        return self.submit(control.LeaseQuota(subject, resource, max_active, max_preemptions))

    def policy_apply(self, id: str, sha256: str) -> Reply | None:
        return self.submit(control.PolicyApply(id, sha256))

    def policy_rollback(self, id: str) -> Reply | None:
        return self.submit(control.PolicyRollback(id))

    def export_open(self, id: str, ttl_s: int) -> Reply | None:
        return self.submit(control.ExportOpen(id, ttl_s))

    def export_close(self, id: str, reason: str) -> Reply | None:
        return self.submit(control.ExportClose(id, reason))

    def approve(self, id: str, target: str) -> Reply | None:
        return self.submit(control.Approval(id, target, "approve"))

    def deny(self, id: str, target: str) -> Reply | None:
        return self.submit(control.Approval(id, target, "deny"))

    def spawn_heartbeat(self, ticks: int, ttl_s: int = 0, ops: int = 0) -> Reply | None:
        return self.submit(control.SpawnHeartbeat(ticks, ttl_s, ops))

    def spawn_gpu(self, gpu_id: str, mem_mb: int, streams: int, ttl_s: int, priority: int = 0) -> Reply | None:
        return self.submit(control.SpawnGpu(gpu_id, mem_mb, streams, ttl_s, priority))

    def kill(self, worker: str) -> Reply | None:
        return self.submit(control.Kill(worker))

    def lifecycle(self, action: str) -> Reply | None:
        return self.submit(control.Lifecycle(action))

    def workers(self) -> list[str]:
        r = self.backend.ls("/worker")
        return r.lines if r.ok else []

    # snapshots

    def schedule_summary(self) -> proc.ScheduleSummary:
        return proc.schedule_summary(self.backend)

    def lease_summary(self) -> proc.LeaseSummary:
        return proc.lease_summary(self.backend)

    def lifecycle_state(self) -> proc.LifecycleState:
        return proc.lifecycle(self.backend)

    def pressure(self) -> proc.Pressure:
        return proc.pressure(self.backend)
