"""Telemetry push and pull with a resumable cursor.

Push: over REST one POST /v1/telemetry/{device} (the gateway cuts
segments); over the console or a mount, what `cohsh telemetry push` does:
`{"new":"segment","mime":...}` to <root>/<device>/ctl, then one echo per
record to <root>/<device>/seg/<seg_id>.

Pull: the cursor is (device, seg_id) -> byte offset already consumed, kept
in a JSON file; a pull reads only what lies beyond it (REST: GET
/v1/telemetry/{device}/{seg}?offset=N; console/mount: the segment's lines
past N bytes), so an interrupted pull resumes where it stopped."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .ack import parse_ack
from .backends.base import Backend
from .backends.mock import MockBackend
from .backends.rest import PushResult, RestBackend
from .errors import HiveError, ProtocolError, UsageError
from .limits import load

MIME_NDJSON = "application/x-ndjson"


@dataclass
class Cursor:
    """Bytes consumed per (device, seg_id)."""

    offsets: dict[str, int] = field(default_factory=dict)
    path: Path | None = None

    @staticmethod
    def key(device: str, seg: str) -> str:
        return f"{device}/{seg}"

    def get(self, device: str, seg: str) -> int:
        return self.offsets.get(self.key(device, seg), 0)

    def advance(self, device: str, seg: str, to: int) -> None:
        self.offsets[self.key(device, seg)] = to

    @classmethod
    def load(cls, path: str | Path) -> "Cursor":
        p = Path(path)
        if not p.exists():
            return cls(path=p)
        doc = json.loads(p.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or not all(isinstance(v, int) and v >= 0 for v in doc.values()):
            raise ProtocolError(f"cursor file {p} is not an object of byte offsets")
        return cls({str(k): int(v) for k, v in doc.items()}, p)

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.offsets, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)  # atomic: a crash never leaves half a cursor


@dataclass(frozen=True)
class Pulled:
    device: str
    seg_id: str
    offset: int  # where data starts in the segment
    data: bytes


def _check_records(records: list[str], max_record: int) -> None:
    for r in records:
        if "\n" in r or "\r" in r:
            raise UsageError("a telemetry record is one line")
        if len(r.encode()) > max_record:
            raise UsageError(f"telemetry record of {len(r.encode())} bytes exceeds {max_record}")


def push(b: Backend, device: str, records: list[str], mime: str = MIME_NDJSON) -> PushResult:
    lim = load()
    body = "".join(r + "\n" for r in records).encode()
    if isinstance(b, RestBackend):
        _check_records(records, lim.telemetry_record_max_bytes)
        return b.telemetry_push(device, body, mime)
    if isinstance(b, MockBackend):
        _check_records(records, lim.telemetry_record_max_bytes)
        seg, n = b.telemetry_push(device, body)
        return PushResult(device, [seg], n, len(body))
    _check_records(records, lim.echo_max)  # one console echo per record
    base = f"{lim.telemetry_root}/{device}"
    ack = b.echo(base + "/ctl", json.dumps({"new": "segment", "mime": mime}, separators=(",", ":"))).check().ack
    a = parse_ack(ack)
    seg = a.fields().get("seg_id", "") if a else ""
    if not seg:
        latest = b.cat(base + "/latest").check().lines
        seg = latest[0].strip() if latest else ""
    if not seg:
        raise HiveError(f"ERR TELEMETRY action=push device={device} reason=no-segment-id")
    for r in records:
        b.echo(f"{base}/seg/{seg}", r).check()
    return PushResult(device, [seg], len(records), len(body))


def pull(b: Backend, cursor: Cursor, device: str = "") -> list[Pulled]:
    """Everything past the cursor, per segment; advances and saves it."""
    out: list[Pulled] = []
    if isinstance(b, RestBackend):
        for s in b.telemetry_segments():
            if device and s.device != device:
                continue
            off = cursor.get(s.device, s.seg_id)
            while off < s.size:
                c = b.telemetry_read(s.device, s.seg_id, off)
                if not c.data:
                    break
                out.append(Pulled(s.device, s.seg_id, off, c.data))
                off += len(c.data)
                cursor.advance(s.device, s.seg_id, off)
                cursor.save()
        return out
    if isinstance(b, MockBackend):
        for dev in sorted(b.segments):
            if device and dev != device:
                continue
            for seg, _ in b.segments[dev]:
                off = cursor.get(dev, seg)
                data, size = b.telemetry_read(dev, seg, off)
                if data:
                    out.append(Pulled(dev, seg, off, data))
                    cursor.advance(dev, seg, size)
                    cursor.save()
        return out
    root = load().telemetry_root
    devices = [device] if device else b.ls(root).check().lines
    for dev in devices:
        for seg in b.ls(f"{root}/{dev}/seg").check().lines:
            data = b.cat(f"{root}/{dev}/seg/{seg}").check().text().encode()
            off = cursor.get(dev, seg)
            if off < len(data):
                out.append(Pulled(dev, seg, off, data[off:]))
                cursor.advance(dev, seg, len(data))
                cursor.save()
    return out
