"""Console TCP framing (spec console.md §1): u32 little-endian total length,
header included, then UTF-8 payload with no newline.

The decoder is incremental and strict: a frame whose total length is under
4 or over the manifest's frame_max_bytes, or whose payload is over
line_max_bytes raises ProtocolError. After an error the decoder is
poisoned: the session that owns it must close.

A payload that is not UTF-8 is kept byte-exact (surrogateescape), as
cohsh passes such bytes through: the hosted hive streams some binary files
(a LoRA export's telemetry.cbor) raw over cat. payload_bytes() restores
the bytes."""

from __future__ import annotations

import struct

from .errors import ProtocolError
from .limits import Limits, load

HEADER = 4


def encode(line: str, lim: Limits | None = None) -> bytes:
    """One frame carrying line. Refuses what the server would refuse."""
    lim = lim or load()
    if "\n" in line or "\r" in line:
        raise ProtocolError("console line must not contain CR or LF")
    body = line.encode("utf-8", "surrogateescape")
    if len(body) > lim.line_max_bytes:
        raise ProtocolError(
            f"console line of {len(body)} bytes exceeds line_max_bytes {lim.line_max_bytes}"
        )
    return struct.pack("<I", len(body) + HEADER) + body


class FrameDecoder:
    """Feed bytes in, take complete lines out."""

    def __init__(self, lim: Limits | None = None) -> None:
        self._lim = lim or load()
        self._buf = bytearray()
        self._err: ProtocolError | None = None

    def feed(self, data: bytes) -> list[str]:
        """Appends data and returns every line now complete, in order."""
        if self._err is not None:
            raise self._err
        self._buf += data
        out: list[str] = []
        while len(self._buf) >= HEADER:
            (total,) = struct.unpack_from("<I", self._buf)
            self._check(total)
            if len(self._buf) < total:
                break
            body = bytes(self._buf[HEADER:total])
            del self._buf[:total]
            out.append(body.decode("utf-8", "surrogateescape"))
        return out

    def _check(self, total: int) -> None:
        if total < HEADER:
            self._fail(f"frame total_length {total} is under the {HEADER}-byte header")
        if total > self._lim.frame_max_bytes:
            self._fail(
                f"frame total_length {total} exceeds frame_max_bytes {self._lim.frame_max_bytes}"
            )
        if total - HEADER > self._lim.line_max_bytes:
            self._fail(
                f"frame payload of {total - HEADER} bytes exceeds line_max_bytes {self._lim.line_max_bytes}"
            )

    def _fail(self, msg: str) -> None:
        self._err = ProtocolError(msg)
        raise self._err

    @property
    def pending(self) -> int:
        """Bytes buffered that do not yet make a frame."""
        return len(self._buf)


def payload_bytes(line: str) -> bytes:
    """The exact bytes a decoded line arrived as."""
    return line.encode("utf-8", "surrogateescape")
