"""An in-memory hive for tests, examples and dry runs: deterministic (no
clock, no randomness), answering in the console's words. It is not the
hive: it checks control lines against the documented grammar only, and
records every accepted write in ``writes`` so callers can assert on them."""

from __future__ import annotations

import json

from .. import control
from ..ack import Reply
from ..render import cat_summary, ok, refusal
from .base import Backend

_LIFECYCLE_NEXT = {
    ("ONLINE", "cordon"): "DRAINING", ("DRAINING", "drain"): "QUIESCED",
    ("QUIESCED", "reset"): "BOOTING", ("BOOTING", "resume"): "ONLINE",
    ("DRAINING", "resume"): "ONLINE", ("ONLINE", "quiesce"): "QUIESCED",
}


class MockBackend(Backend):
    name = "mock"

    def __init__(self) -> None:
        self.files: dict[str, list[str]] = {
            "/proc/boot": ["Cohesix boot: root-task online", "manifest.profile=mock"],
            "/proc/lifecycle/state": ["state=ONLINE"],
            "/proc/lifecycle/reason": ["reason=boot-complete"],
            "/proc/lifecycle/since": ["since_ms=0"],
            "/proc/pressure/busy": ["busy=0"], "/proc/pressure/quota": ["quota=0"],
            "/proc/pressure/cut": ["cut=0"], "/proc/pressure/policy": ["policy=0"],
            "/proc/root/reachable": ["reachable=yes"], "/proc/root/cut_reason": ["cut_reason=none"],
            "/proc/lease/summary": ["active=0 preemptions=0 quotas=0 max_active=8 max_preemptions=0"],
            "/proc/lease/active": [], "/proc/lease/preemptions": [],
            "/log/queen.log": [],
        }
        for f in control.CANONICAL_FILES:
            self.files[f] = []
        self.writes: list[tuple[str, str]] = []
        self.workers: list[str] = []
        self.rings: dict[str, list[str]] = {}
        self._next_worker = 1
        self._sched_ids: set[str] = set()
        self._sched_dequeued = 0
        self.segments: dict[str, list[tuple[str, bytes]]] = {}

    # namespace shape

    def _dirs(self) -> dict[str, list[str]]:
        d: dict[str, list[str]] = {}
        paths = list(self.files) + [f"/worker/{w}/telemetry" for w in self.workers]
        paths += ["/proc/schedule/summary", "/proc/schedule/queue"]
        for p in paths + ["/queen/export/lora_jobs/"]:
            parts = [x for x in p.strip("/").split("/")] + ([""] if p.endswith("/") else [])
            for i in range(len(parts)):
                parent = "/" + "/".join(parts[:i])
                d.setdefault(parent, [])
                if parts[i] and parts[i] not in d[parent]:
                    d[parent].append(parts[i])
        return d

    def _content(self, path: str) -> list[str] | None:
        if path == "/proc/schedule/summary":
            return [f"queue={len(self.workers)} dequeued={self._sched_dequeued} dropped=0 max_entries=8"]
        if path == "/proc/schedule/queue":
            return [f"id={w} role=worker-heartbeat priority=0 ticks=0 budget_ms=0 seq={i + 1}"
                    for i, w in enumerate(self.workers)]
        w = self._worker_ring(path)
        if w:
            return self.rings.setdefault(w, [])
        return self.files.get(path)

    def _worker_ring(self, path: str) -> str:
        """The live worker whose telemetry ring path names, or ""."""
        parts = path.split("/")
        if len(parts) == 4 and parts[1] == "worker" and parts[3] == "telemetry" and parts[2] in self.workers:
            return parts[2]
        return ""

    # the four operations

    def ls(self, path: str) -> Reply:
        entries = self._dirs().get(path.rstrip("/") or "/")
        if entries is None:
            e = refusal("LS", "policy", "invalid-path", path=path, error="invalid path")
            return Reply(ack=e, raw=[e], path=path)
        a = ok("LS", path=path, entries=len(entries))
        return Reply(ack=a, raw=[a, *entries, "END"], lines=list(entries), path=path)

    def cat(self, path: str) -> Reply:
        lines = self._content(path)
        if lines is None:
            e = refusal("CAT", "policy", "invalid-path", path=path, error="invalid path")
            return Reply(ack=e, raw=[e], path=path)
        a = ok("CAT", path=path, data=cat_summary(path, lines))
        return Reply(ack=a, raw=[a, *lines, "END"], lines=list(lines), path=path)

    def tail(self, path: str) -> Reply:
        lines = self._content(path)
        if lines is None or path.startswith("/proc/"):
            e = refusal("TAIL", "policy", "invalid-path", path=path)
            return Reply(ack=e, raw=[e], path=path)
        a = ok("TAIL", path=path)
        return Reply(ack=a, raw=[a, *lines, "END"], lines=list(lines), path=path)

    def echo(self, path: str, line: str) -> Reply:
        err = self._apply(path, line)
        if err:
            e = refusal("ECHO", "policy", err, path=path,
                        error="EPERM" if err == "denied" else "invalid payload")
            return Reply(ack=e, raw=[e], path=path)
        self.writes.append((path, line))
        a = ok("ECHO", path=path, bytes=len(line.encode()))
        return Reply(ack=a, raw=[a], path=path)

    # control semantics, the documented subset

    def _apply(self, path: str, line: str) -> str:
        if path == control.QUEEN_CTL:
            return self._queen_ctl(line)
        if path == control.LIFECYCLE_CTL:
            return self._lifecycle(line)
        if path in control.CANONICAL_FILES:
            if not control.check_line(path, line):
                return "invalid-payload"
            if path == control.SCHEDULE_CTL:
                sid = json.loads(line)["id"]
                if sid in self._sched_ids:
                    return "invalid-payload"  # a duplicate id is rejected
                self._sched_ids.add(sid)
            self.files[path].append(line)
            return ""
        if path.startswith("/queen/telemetry/"):
            return self._telemetry_ctl(path, line)
        if path == "/log/queen.log":
            self.files[path].append(line)
            return ""
        w = self._worker_ring(path)
        if w:
            self.rings.setdefault(w, []).append(line)
            return ""
        return "denied"

    def _queen_ctl(self, line: str) -> str:
        try:
            obj = json.loads(line)
        except ValueError:
            return "invalid-payload"
        if not isinstance(obj, dict):
            return "invalid-payload"
        if obj.get("spawn") in ("heartbeat", "gpu"):
            if self.files["/proc/lifecycle/state"] != ["state=ONLINE"]:
                return "denied"
            w = f"worker-{self._next_worker}"
            self._next_worker += 1
            self.workers.append(w)
            self.files["/log/queen.log"].append(f"spawned {w}")
            return ""
        if isinstance(obj.get("kill"), str) and len(obj) == 1:
            if obj["kill"] not in self.workers:
                return "invalid-payload"
            self.workers.remove(obj["kill"])
            self.rings.pop(obj["kill"], None)
            self._sched_dequeued += 1
            self.files["/log/queen.log"].append(f"killed {obj['kill']}")
            return ""
        return "invalid-payload"

    def _lifecycle(self, line: str) -> str:
        if line not in control.LIFECYCLE_ACTIONS:
            return "invalid-payload"
        state = self.files["/proc/lifecycle/state"][0].split("=", 1)[1]
        nxt = _LIFECYCLE_NEXT.get((state, line))
        if nxt is None or (line == "quiesce" and self.workers) or (line == "drain" and self.workers):
            return "denied"
        self.files["/proc/lifecycle/state"] = [f"state={nxt}"]
        self.files["/proc/lifecycle/reason"] = [f"reason={line}"]
        return ""

    def _telemetry_ctl(self, path: str, line: str) -> str:
        parts = path.split("/")  # ["", "queen", "telemetry", dev, ...]
        if len(parts) == 5 and parts[4] == "ctl":
            try:
                obj = json.loads(line)
            except ValueError:
                return "invalid-payload"
            dev = parts[3]
            if isinstance(obj, dict) and obj.get("new") == "segment":
                self.telemetry_push(dev, b"")
                seg = self.segments[dev][-1][0]
                self.files[f"/queen/telemetry/{dev}/latest"] = [seg]
                self.files[f"/queen/telemetry/{dev}/seg/{seg}"] = []
                return ""
            if isinstance(obj, dict) and obj.get("export") == "lora-job":
                return self._lora_export(dev, str(obj.get("job", "")), str(obj.get("base_model", "")))
            return "invalid-payload"
        if len(parts) == 6 and parts[4] == "seg" and path in self.files:
            self.files[path].append(line)
            segs = self.segments[parts[3]]
            for i, (s, data) in enumerate(segs):
                if s == parts[5]:
                    segs[i] = (s, data + line.encode() + b"\n")
            return ""
        return "denied"

    def _lora_export(self, dev: str, job: str, base: str) -> str:
        import base64
        import hashlib

        if not job or not base or dev not in self.segments:
            return "invalid-payload"
        # A stand-in bundle (not CBOR): the mock only keeps the shape and
        # the hash relation policy.toml states.
        bundle = b"mock-lora-bundle/v1\n" + b"".join(d for _, d in self.segments[dev])
        sha = hashlib.sha256(bundle).hexdigest()
        root = f"/queen/export/lora_jobs/{job}"
        self.files[root + "/telemetry.cbor"] = ["b64:" + base64.b64encode(bundle).decode()]
        self.files[root + "/base_model.ref"] = [base]
        self.files[root + "/policy.toml"] = [
            'schema = "cohesix-lora-policy/v1"', f'job = "{job}"', f'device = "{dev}"',
            f'telemetry_sha256 = "{sha}"', f'base_model = "{base}"']
        return ""

    # telemetry (the REST telemetry routes' shape)

    def telemetry_push(self, device: str, body: bytes) -> tuple[str, int]:
        segs = self.segments.setdefault(device, [])
        seg = f"seg-{len(segs) + 1:06d}"
        segs.append((seg, body))
        return seg, body.count(b"\n")

    def telemetry_read(self, device: str, seg: str, offset: int) -> tuple[bytes, int]:
        for s, data in self.segments.get(device, []):
            if s == seg:
                return data[offset:], len(data)
        raise KeyError(f"{device}/{seg}")
