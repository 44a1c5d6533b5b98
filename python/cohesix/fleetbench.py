"""Simulated workers from one asyncio process (issue 17's fleet figure).

    python -m cohesix.fleetbench --console HOST:PORT --ninep HOST:PORT \
        --cohsh bin/fleet/cohsh --workers 1000 --duration 60

One queen console session (AsyncTcpBackend) spawns N heartbeat workers
with typed control requests (control.SpawnHeartbeat, control.Kill); one
worker ticket per worker is minted with `cohsh --mint-ticket` (the package
does not mint tickets; use a cohsh built for the hive's profile); each
worker opens its own Secure9P session attached with its ticket
(ninep.AsyncNinePSession) and appends one heartbeat per second to
/worker/<id>/telemetry (the console and the gateway refuse a worker's echo
there, spec console.md §4; DECISIONS P53). The queen session stays open
for the run: its end by EOF would cut the root and refuse worker appends
(DECISIONS P10).

At the end the queen reads every worker's ring: the hive must hold each
worker's last heartbeat (seq = the number it sent) and, of the heartbeats
the ring still holds, a gap-free run of seqs ending there (rings are small
and wrap). The report (JSON on stdout, or --out) gives errors by class,
latency p50/p99, sent vs acknowledged vs held, and the workers are killed."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from . import control
from .aio import AsyncTcpBackend
from .errors import CohesixError
from .ninep import AsyncNinePSession, NinePError


@dataclass
class Report:
    workers: int = 0
    duration_s: float = 0.0
    sent: int = 0
    acknowledged: int = 0
    held_last: int = 0  # workers whose ring holds their final heartbeat
    held_records: int = 0  # heartbeat records the rings hold at the end
    received: int = 0  # sum of the final seq the hive holds per worker
    late: int = 0  # heartbeats sent more than half a period after their slot
    errors: dict[str, int] = field(default_factory=dict)
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    setup_s: dict[str, float] = field(default_factory=dict)
    killed: int = 0
    hive_cpu_s: float | None = None  # the hive's CPU seconds over the heartbeat phase
    client_cpu_s: float = 0.0  # this process's CPU seconds over the heartbeat phase
    loadavg: dict[str, str] = field(default_factory=dict)  # /proc/loadavg around the heartbeat phase

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["error_count"] = self.error_count
        return d


def error_class(e: BaseException) -> str:
    if isinstance(e, NinePError):
        return f"NinePError:{e.name}"
    return type(e).__name__


def percentile(xs: list[float], p: float) -> float:
    if not xs:
        return 0.0
    s = sorted(xs)
    return s[min(len(s) - 1, int(p * len(s)))]


def heartbeat(worker: str, seq: int, size: int) -> bytes:
    """One JSON heartbeat line of exactly size bytes (newline included)."""
    head = f'{{"worker":"{worker}","seq":{seq},"cpu_pct":12.5,"mem_mb":64,"ts_ms":{int(time.time() * 1000)},"pad":"'
    pad = max(0, size - len(head) - 3)
    return (head + "x" * pad + '"}\n').encode()


def loadavg() -> str:
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return "?"


def hive_cpu_s(pid: int) -> float | None:
    """utime+stime of pid from /proc/<pid>/stat, in seconds; None without it."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.a = args
        self.rep = Report(workers=args.workers, duration_s=args.duration)
        self.lat: list[float] = []
        self.sent: dict[str, int] = {}

    def err(self, e: BaseException) -> None:
        k = error_class(e)
        self.rep.errors[k] = self.rep.errors.get(k, 0) + 1

    async def mint(self, worker: str) -> str:
        p = await asyncio.create_subprocess_exec(
            self.a.cohsh, "--mint-ticket", "--role", "worker-heartbeat", "--ticket-subject", worker,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, errb = await p.communicate()
        if p.returncode != 0:
            raise CohesixError(f"cohsh --mint-ticket {worker}: {errb.decode().strip()}")
        return out.decode().strip()

    async def bounded(self, n: int, fn: Any, items: list[str]) -> list[Any]:
        sem = asyncio.Semaphore(n)

        async def one(x: str) -> Any:
            async with sem:
                try:
                    return await fn(x)
                except CohesixError as e:
                    self.err(e)
                    return None
        return list(await asyncio.gather(*(one(x) for x in items)))

    async def worker(self, i: int, wid: str, s: AsyncNinePSession, t0: float) -> None:
        path = f"/worker/{wid}/telemetry"
        try:
            fid = await s.open_append(path)
        except CohesixError as e:
            self.err(e)
            return
        loop = asyncio.get_running_loop()
        period = self.a.period
        beats = int(self.a.duration / period)
        offset = period * i / max(1, self.a.workers)  # spread the fleet over the period
        for k in range(beats):
            slot = t0 + offset + k * period
            now = loop.time()
            if slot > now:
                await asyncio.sleep(slot - now)
            start = loop.time()
            if start - slot > period / 2:
                self.rep.late += 1
            line = heartbeat(wid, k + 1, self.a.bytes)
            self.rep.sent += 1
            try:
                n = await s.append(fid, line)
            except CohesixError as e:
                self.err(e)
                if isinstance(e, NinePError):
                    continue
                return  # the session is closed
            self.lat.append((loop.time() - start) * 1000)
            if n == len(line):
                self.rep.acknowledged += 1
                self.sent[wid] = k + 1
            else:
                self.rep.errors["short-write"] = self.rep.errors.get("short-write", 0) + 1
        await s.clunk(fid)

    async def run(self) -> Report:
        a, rep = self.a, self.rep
        t = time.monotonic()
        q = await AsyncTcpBackend.open(a.console, a.token, role="queen")
        try:
            before = set((await q.ls("/worker")).lines)
            spawn = control.SpawnHeartbeat(ticks=a.ticks)
            for _ in range(a.workers):
                r = await q.echo(spawn.path, spawn.line())
                if not r.ok:
                    rep.errors["spawn"] = rep.errors.get("spawn", 0) + 1
            ls = (await q.ls("/worker")).lines
            ids = [w for w in ls if w not in before]
            if len(ids) != a.workers:
                rep.errors["spawn-missing"] = a.workers - len(ids)
            rep.setup_s["spawn"] = round(time.monotonic() - t, 2)
            t = time.monotonic()
            tickets = await self.bounded(a.concurrency, self.mint, ids)
            rep.setup_s["mint"] = round(time.monotonic() - t, 2)
            t = time.monotonic()

            tk = {w: x for w, x in zip(ids, tickets) if x}

            async def attach(wid: str) -> AsyncNinePSession:
                return await AsyncNinePSession.open(a.ninep, tk[wid])
            minted = [w for w in ids if w in tk]
            sessions = await self.bounded(a.concurrency, attach, minted)
            live = [(w, s) for w, s in zip(minted, sessions) if s is not None]
            rep.setup_s["attach"] = round(time.monotonic() - t, 2)
            cpu0 = hive_cpu_s(a.hive_pid) if a.hive_pid else None
            own0, rep.loadavg["start"] = os.times(), loadavg()
            loop = asyncio.get_running_loop()
            t0 = loop.time() + a.period
            await asyncio.gather(*(self.worker(i, w, s, t0) for i, (w, s) in enumerate(live)))
            cpu1 = hive_cpu_s(a.hive_pid) if a.hive_pid else None
            own1, rep.loadavg["end"] = os.times(), loadavg()
            rep.client_cpu_s = round(own1.user + own1.system - own0.user - own0.system, 2)
            if cpu0 is not None and cpu1 is not None:
                rep.hive_cpu_s = round(cpu1 - cpu0, 2)
            for _, s in live:
                await s.close()
            await self.verify(q, ids)
            for w in ids:
                r = await q.echo(control.QUEEN_CTL, control.Kill(w).line())
                if r.ok:
                    rep.killed += 1
                else:
                    rep.errors["kill"] = rep.errors.get("kill", 0) + 1
            await q.request("quit")
        finally:
            await q.close()
        rep.p50_ms = round(percentile(self.lat, 0.50), 3)
        rep.p99_ms = round(percentile(self.lat, 0.99), 3)
        rep.max_ms = round(max(self.lat, default=0.0), 3)
        return rep

    async def verify(self, q: AsyncTcpBackend, ids: list[str]) -> None:
        """What the hive holds: each worker's ring must end its heartbeats
        with the last seq acknowledged, in a gap-free run."""
        for w in ids:
            r = await q.cat(f"/worker/{w}/telemetry")
            seqs = []
            for line in r.lines:
                try:
                    doc = json.loads(line)
                except ValueError:
                    continue
                if isinstance(doc, dict) and doc.get("worker") == w and isinstance(doc.get("seq"), int):
                    seqs.append(int(doc["seq"]))
            want = self.sent.get(w, 0)
            self.rep.held_records += len(seqs)
            if seqs and seqs[-1] == want and seqs == list(range(want - len(seqs) + 1, want + 1)):
                self.rep.held_last += 1
                self.rep.received += want
            elif want:
                self.rep.errors["ring-mismatch"] = self.rep.errors.get("ring-mismatch", 0) + 1


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m cohesix.fleetbench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--console", required=True, help="the hive's console host:port")
    ap.add_argument("--ninep", required=True, help="the hive's Secure9P host:port")
    ap.add_argument("--token", default="", help="console AUTH token (default: the manifest's)")
    ap.add_argument("--cohsh", default="cohsh", help="cohsh built for the hive's profile (mints tickets)")
    ap.add_argument("--workers", type=int, default=1000)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of heartbeats")
    ap.add_argument("--period", type=float, default=1.0, help="seconds between one worker's heartbeats")
    ap.add_argument("--bytes", type=int, default=100, help="heartbeat size, newline included")
    ap.add_argument("--ticks", type=int, default=100000, help="each worker's spawn tick budget")
    ap.add_argument("--concurrency", type=int, default=32, help="mints and attaches in flight")
    ap.add_argument("--hive-pid", type=int, default=0, help="read the hive's CPU time from /proc/<pid>/stat")
    ap.add_argument("--out", default="", help="write the JSON report here too")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    rep = asyncio.run(Bench(args).run())
    doc = json.dumps(rep.as_dict(), sort_keys=True)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(doc + "\n")
    print(doc)
    ok = rep.error_count == 0 and rep.sent == rep.acknowledged == rep.received and rep.held_last == rep.workers
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
