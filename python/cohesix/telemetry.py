"""Telemetry push and pull with a resumable cursor.

Push: over REST one POST /v1/telemetry/{device} (the gateway cuts
segments and records); over the console or a mount exactly what `cohsh
telemetry push` does: `{"new":"segment","mime":...}` to
<root>/<device>/ctl, then the body cut into cohsh-telemetry-push/v1
envelope records (internal/ingest Chunk, ported byte for byte), one echo
per record to <root>/<device>/seg/<seg_id>. unwrap() turns pulled envelope
records back into the pushed body.

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
PUSH_SCHEMA = "cohsh-telemetry-push/v1"  # internal/ingest.PushSchema


def _escaped_len(ch: str) -> int:
    """Bytes ch takes inside a JSON string as Go's encoder (no HTML
    escaping) writes it."""
    if ch in '"\\\n\r\t\b\f':
        return 2
    if ord(ch) < 0x20 or ch in "\u2028\u2029":
        return 6
    return len(ch.encode("utf-8"))


def envelope(seq: int, mime: str, chunk: str) -> str:
    """One cohsh-telemetry-push/v1 record, as Go's json encoder renders it."""
    body = json.dumps({"schema": PUSH_SCHEMA, "seq": seq, "mime": mime, "payload": chunk},
                      ensure_ascii=False, separators=(",", ":"))
    return body.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def chunk(data: bytes, mime: str, max_record: int, max_segment: int) -> list[str]:
    """internal/ingest.Chunk: data cut into envelope records, each as large
    as possible within max_record bytes, on UTF-8 boundaries."""
    if not data:
        raise UsageError("telemetry push refused locally: source is empty")
    if len(data) > max_segment:
        raise UsageError(f"telemetry push refused locally: source is {len(data)} bytes, over max_bytes_per_segment {max_segment}")
    try:
        s = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError("telemetry push refused locally: source is not UTF-8") from None
    out: list[str] = []
    total, seq = 0, 1
    while s:
        room = max_record - len(envelope(seq, mime, "").encode())
        used = cut = 0
        while cut < len(s):
            e = _escaped_len(s[cut])
            if used + e > room:
                break
            used += e
            cut += 1
        if cut == 0:
            raise UsageError(f"telemetry push refused locally: max record {max_record} bytes leaves no room for payload")
        rec = envelope(seq, mime, s[:cut])
        out.append(rec)
        total += len(rec.encode()) + 1
        s = s[cut:]
        seq += 1
    if total > max_segment:
        raise UsageError(f"telemetry push refused locally: {len(out)} records take {total} bytes, over max_bytes_per_segment {max_segment}")
    return out


def unwrap(data: bytes) -> bytes:
    """The pushed body back from envelope records (other lines kept as they are)."""
    out = bytearray()
    for line in data.splitlines(keepends=True):
        try:
            obj = json.loads(line)
        except ValueError:
            out += line
            continue
        if isinstance(obj, dict) and obj.get("schema") == PUSH_SCHEMA and isinstance(obj.get("payload"), str):
            out += obj["payload"].encode("utf-8")
        else:
            out += line
    return bytes(out)


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


def _check_records(records: list[str], max_total: int) -> None:
    for r in records:
        if "\n" in r or "\r" in r:
            raise UsageError("a telemetry record is one line")
    if not records:
        raise UsageError("telemetry push refused locally: nothing to push")


def push(b: Backend, device: str, records: list[str], mime: str = MIME_NDJSON) -> PushResult:
    """Pushes records (lines) as one body; see the module doc per backend."""
    lim = load()
    _check_records(records, lim.telemetry_segment_max_bytes)
    body = "".join(r + "\n" for r in records).encode()
    if isinstance(b, RestBackend):
        return b.telemetry_push(device, body, mime)
    # cohsh: records fit the ingest record limit (the hive's newline
    # included) and one console echo payload.
    recs = chunk(body, mime, min(lim.telemetry_record_max_bytes - 1, lim.echo_max), lim.telemetry_segment_max_bytes)
    if isinstance(b, MockBackend):
        data = "".join(r + "\n" for r in recs).encode()
        seg, n = b.telemetry_push(device, data)
        return PushResult(device, [seg], n, len(data))
    base = f"{lim.telemetry_root}/{device}"
    ack = b.echo(base + "/ctl", json.dumps({"new": "segment", "mime": mime}, separators=(",", ":"))).check().ack
    a = parse_ack(ack)
    seg = a.fields().get("seg_id", "") if a else ""
    if not seg:
        latest = b.cat(base + "/latest").check().lines
        seg = latest[0].strip() if latest else ""
    if not seg:
        raise HiveError(f"ERR TELEMETRY action=push device={device} reason=no-segment-id")
    for r in recs:
        b.echo(f"{base}/seg/{seg}", r).check()
    return PushResult(device, [seg], len(recs), sum(len(r.encode()) + 1 for r in recs))


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
