"""A minimal asyncio Secure9P (9P2000.L) session: what a worker needs to
append to its own telemetry ring (DECISIONS P53).

The console and hive-gateway let only the queen echo outside /bus/ and
/lora/ (spec console.md §4), so a worker's heartbeat reaches
/worker/<id>/telemetry over Secure9P, as internal/nineclient's
AppendAtEnd writes it: walk, open write-only, one Twrite per record at
offset u64::MAX (no offset: the hive appends at the end). The ticket is
the Tattach aname (spec secure9p.md). One request at a time per session;
open one session per worker.

Only the messages that path needs are here (version, attach, walk, lopen,
write, clunk); an Rlerror becomes NinePError with the errno."""

from __future__ import annotations

import asyncio
import errno as _errno
import struct

from .backends.tcp import split_addr
from .errors import CohesixError, ProtocolError, TransportError, UsageError
from .limits import Limits, load

VERSION = "9P2000.L"
NOTAG = 0xFFFF
NOFID = 0xFFFFFFFF
NONUNAME = 0xFFFFFFFF
NO_OFFSET = 0xFFFFFFFFFFFFFFFF  # Twrite at u64::MAX: append at the end
O_WRONLY = 1

RLERROR = 7
TLOPEN, RLOPEN = 12, 13
TVERSION, RVERSION = 100, 101
TATTACH, RATTACH = 104, 105
TWALK, RWALK = 110, 111
TWRITE, RWRITE = 118, 119
TCLUNK, RCLUNK = 120, 121

_HEAD = struct.Struct("<IBH")


class NinePError(CohesixError):
    """The hive answered Rlerror; ``errno`` is its Linux errno and ``name``
    the symbol (EPERM, EDQUOT, ...)."""

    def __init__(self, op: str, ecode: int) -> None:
        self.op = op
        self.errno = ecode
        self.name = _errno.errorcode.get(ecode, str(ecode))
        super().__init__(f"9p {op}: {self.name}")


def _s(v: str) -> bytes:
    b = v.encode("utf-8")
    return struct.pack("<H", len(b)) + b


class AsyncNinePSession:
    """One Secure9P session attached with a ticket."""

    def __init__(self, addr: str, timeout: float | None = None, limits: Limits | None = None) -> None:
        self.lim = limits or load()
        self.addr = addr
        self.timeout = timeout if timeout is not None else self.lim.timeout_ms / 1000
        self.msize = self.lim.msize
        self._r: asyncio.StreamReader | None = None
        self._w: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()
        self._next_fid = 1
        self.root = NOFID

    @classmethod
    async def open(cls, addr: str, ticket: str, timeout: float | None = None) -> "AsyncNinePSession":
        s = cls(addr, timeout)
        await s.connect()
        try:
            await s.attach(ticket)
        except BaseException:
            await s.close()
            raise
        return s

    async def connect(self) -> None:
        host, port = split_addr(self.addr)
        try:
            self._r, self._w = await asyncio.wait_for(asyncio.open_connection(host, port), self.timeout)
        except (OSError, asyncio.TimeoutError) as e:
            raise TransportError(f"secure9p dial {self.addr}: {e}") from e
        body = await self._rpc(TVERSION, struct.pack("<I", self.msize) + _s(VERSION), RVERSION, "version", NOTAG)
        if len(body) < 6:
            raise ProtocolError("9p Rversion too short")
        (msize,) = struct.unpack_from("<I", body)
        (n,) = struct.unpack_from("<H", body, 4)
        if body[6:6 + n].decode("utf-8", "replace") != VERSION or msize < 64:
            raise ProtocolError(f"9p version refused: msize={msize} version={body[6:6 + n]!r}")
        self.msize = min(self.msize, msize)

    async def close(self) -> None:
        if self._w is not None:
            w, self._w, self._r = self._w, None, None
            w.close()
            try:
                await w.wait_closed()
            except OSError:
                pass

    def _fid(self) -> int:
        f = self._next_fid
        self._next_fid += 1
        return f

    async def _rpc(self, t: int, payload: bytes, want: int, op: str, tag: int = 1) -> bytes:
        async with self._lock:
            if self._w is None or self._r is None:
                raise TransportError("secure9p session is closed")
            msg = _HEAD.pack(_HEAD.size + len(payload), t, tag) + payload
            if len(msg) > self.msize:
                raise UsageError(f"9p {op}: {len(msg)} bytes exceed msize {self.msize}")
            try:
                self._w.write(msg)
                await self._w.drain()
                head = await asyncio.wait_for(self._r.readexactly(_HEAD.size), self.timeout)
                size, rt, rtag = _HEAD.unpack(head)
                if size < _HEAD.size or size > self.msize:
                    raise ProtocolError(f"9p {op}: reply size {size} outside [7, msize {self.msize}]")
                body = await asyncio.wait_for(self._r.readexactly(size - _HEAD.size), self.timeout)
            except ProtocolError:
                await self.close()
                raise
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as e:
                await self.close()
                raise TransportError(f"9p {op}: {e or 'timeout'}") from e
        if rtag != tag:
            await self.close()
            raise ProtocolError(f"9p {op}: reply tag {rtag}, sent {tag}")
        if rt == RLERROR and len(body) >= 4:
            raise NinePError(op, struct.unpack_from("<I", body)[0])
        if rt != want:
            await self.close()
            raise ProtocolError(f"9p {op}: reply type {rt}, want {want}")
        return body

    async def attach(self, ticket: str, uname: str = "") -> None:
        fid = self._fid()
        await self._rpc(TATTACH, struct.pack("<II", fid, NOFID) + _s(uname) + _s(ticket)
                        + struct.pack("<I", NONUNAME), RATTACH, "attach")
        self.root = fid

    async def walk(self, path: str) -> int:
        """A new fid for path (absolute), walked from the root."""
        names = [p for p in path.split("/") if p]
        fid = self._fid()
        body = await self._rpc(TWALK, struct.pack("<IIH", self.root, fid, len(names))
                               + b"".join(_s(n) for n in names), RWALK, "walk " + path)
        (nq,) = struct.unpack_from("<H", body)
        if nq != len(names):
            raise NinePError("walk " + path, _errno.ENOENT)
        return fid

    async def open_append(self, path: str) -> int:
        """A fid of path opened write-only, for append()."""
        fid = await self.walk(path)
        try:
            await self._rpc(TLOPEN, struct.pack("<II", fid, O_WRONLY), RLOPEN, "open " + path)
        except BaseException:
            await self.clunk(fid)
            raise
        return fid

    async def append(self, fid: int, data: bytes) -> int:
        """One Twrite with no offset; returns the count the hive took."""
        body = await self._rpc(TWRITE, struct.pack("<IQI", fid, NO_OFFSET, len(data)) + data, RWRITE, "write")
        (n,) = struct.unpack_from("<I", body)
        return int(n)

    async def clunk(self, fid: int) -> None:
        if self._w is None:
            return
        try:
            await self._rpc(TCLUNK, struct.pack("<I", fid), RCLUNK, "clunk")
        except NinePError:
            pass
