"""asyncio variants of the tcp and rest backends, for driving many
sessions from one process (one event loop, no thread per session).

AsyncTcpBackend is the console wire over asyncio streams with the same
reply reading and frame checks as TcpBackend. AsyncRestBackend is a small
HTTP/1.1 client over asyncio streams (one connection per request,
Content-Length or chunked bodies) speaking the same gateway JSON as
RestBackend; the standard library has no async HTTP client."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from typing import Any

from .ack import Reply, ReplyReader, parse_ack, wire_label
from .backends.rest import HEADER_TICKET, TICKET_ENV, TOKEN_ENV, URL_ENV, reply_from_json, resolve
from .backends.tcp import split_addr
from .errors import AuthError, GatewayError, ProtocolError, TransportError, UsageError
from .frame import FrameDecoder, encode
from .limits import Limits, load, rest_timeout


class AsyncTcpBackend:
    def __init__(self, addr: str = "", token: str = "", timeout: float | None = None,
                 limits: Limits | None = None) -> None:
        self.lim = limits or load()
        self.addr = addr or self.lim.console_listen
        self.token = token or self.lim.auth_token
        self.timeout = timeout if timeout is not None else self.lim.timeout_ms / 1000
        self._r: asyncio.StreamReader | None = None
        self._w: asyncio.StreamWriter | None = None
        self._dec = FrameDecoder(self.lim)
        self._pending: list[str] = []
        self._lock = asyncio.Lock()
        self.role = ""

    @classmethod
    async def open(cls, addr: str = "", token: str = "", role: str = "", ticket: str = "",
                   timeout: float | None = None) -> "AsyncTcpBackend":
        b = cls(addr, token, timeout)
        await b.connect()
        if role:
            (await b.attach(role, ticket)).check()
        return b

    async def connect(self) -> None:
        host, port = split_addr(self.addr)
        try:
            self._r, self._w = await asyncio.wait_for(asyncio.open_connection(host, port), self.timeout)
        except (OSError, asyncio.TimeoutError) as e:
            raise TransportError(f"console dial {self.addr}: {e}") from e
        self._dec, self._pending = FrameDecoder(self.lim), []
        await self._send("AUTH " + self.token)
        line = await self._recv()
        a = parse_ack(line)
        if a is None or not a.ok or a.verb != "AUTH":
            await self.close()
            raise AuthError(f"console auth refused: {line}", a.fields().get("reason", "") if a else "")

    async def close(self) -> None:
        if self._w is not None:
            w, self._w, self._r = self._w, None, None
            w.close()
            try:
                await w.wait_closed()
            except OSError:
                pass

    async def _send(self, line: str) -> None:
        if self._w is None:
            raise TransportError("console session is closed")
        self._w.write(encode(line, self.lim))
        try:
            await self._w.drain()
        except OSError as e:
            await self.close()
            raise TransportError(f"console send: {e}") from e

    async def _recv(self) -> str:
        while not self._pending:
            if self._r is None:
                raise TransportError("console session is closed")
            try:
                data = await asyncio.wait_for(self._r.read(65536), self.timeout)
            except (OSError, asyncio.TimeoutError) as e:
                await self.close()
                raise TransportError(f"console recv: {e or 'timeout'}") from e
            if not data:
                await self.close()
                raise TransportError("console recv: connection closed by the hive")
            try:
                self._pending.extend(self._dec.feed(data))
            except ProtocolError:
                await self.close()
                raise
        return self._pending.pop(0)

    async def request(self, line: str) -> Reply:
        if "\n" in line or "\r" in line:
            raise UsageError("console command must be one line")
        if len(line.encode("utf-8")) > self.lim.line_max_bytes:
            raise UsageError(f"console line exceeds line_max_bytes {self.lim.line_max_bytes}")
        async with self._lock:
            label = wire_label(line)
            await self._send(line)
            rd = ReplyReader(label)
            while not rd.feed(await self._recv()):
                pass
            r = rd.reply
            a = r.parsed
            if a is not None and a.ok and a.verb == "ATTACH":
                self.role = a.fields().get("role", "")
            r.path = a.fields().get("path", "") if a else ""
            if a is not None and a.ok and a.verb == "QUIT":
                await self.close()
            return r

    async def attach(self, role: str, ticket: str = "") -> Reply:
        return await self.request(f"attach {role} {ticket}".rstrip())

    async def ls(self, path: str) -> Reply:
        return await self.request("ls " + path)

    async def cat(self, path: str) -> Reply:
        return await self.request("cat " + path)

    async def tail(self, path: str) -> Reply:
        return await self.request("tail " + path)

    async def echo(self, path: str, line: str) -> Reply:
        return await self.request(f"echo {path} {line}")


class AsyncRestBackend:
    def __init__(self, url: str = "", token: str = "", ticket: str = "", timeout: float | None = None,
                 limits: Limits | None = None) -> None:
        self.lim = limits or load()
        u, _ = resolve(url, URL_ENV)
        self.url = (u or "http://" + self.lim.gateway_bind).rstrip("/")
        sp = urllib.parse.urlsplit(self.url)
        if sp.scheme != "http" or not sp.hostname:
            raise UsageError(f"AsyncRestBackend speaks plain http to a loopback gateway, not {self.url!r}")
        self.host, self.port = sp.hostname, sp.port or 80
        self.token, _ = resolve(token, TOKEN_ENV)
        self.ticket, _ = resolve(ticket, TICKET_ENV)
        self.timeout = timeout if timeout is not None else rest_timeout(self.lim)

    async def _do(self, method: str, route: str, query: dict[str, str] | None = None,
                  body: bytes = b"", ctype: str = "") -> tuple[int, dict[str, str], bytes]:
        target = route + ("?" + urllib.parse.urlencode(query) if query else "")
        h = [f"{method} {target} HTTP/1.1", f"Host: {self.host}:{self.port}", "Connection: close",
             "Accept: application/json", f"Content-Length: {len(body)}"]
        if ctype:
            h.append("Content-Type: " + ctype)
        if self.token:
            h.append("Authorization: Bearer " + self.token)
        if self.ticket:
            h.append(f"{HEADER_TICKET}: {self.ticket}")
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.timeout)
        except (OSError, asyncio.TimeoutError) as e:
            raise TransportError(f"gateway dial {self.url}: {e}") from e
        try:
            w.write(("\r\n".join(h) + "\r\n\r\n").encode() + body)
            await w.drain()
            return await asyncio.wait_for(_read_response(r), self.timeout)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as e:
            raise TransportError(f"gateway {method} {route}: {e}") from e
        finally:
            w.close()

    async def _json(self, method: str, route: str, query: dict[str, str] | None = None,
                    body: bytes = b"", ctype: str = "") -> Any:
        status, hdr, data = await self._do(method, route, query, body, ctype)
        try:
            doc = json.loads(data)
        except ValueError as e:
            raise ProtocolError(f"gateway {route}: body is not JSON: {e}") from e
        if status >= 400:
            code = str(doc.get("code", "")) if isinstance(doc, dict) else ""
            err = str(doc.get("error", "")) if isinstance(doc, dict) else ""
            if status == 401:
                raise AuthError(f"gateway 401 {code}: {err}", code)
            raise GatewayError(status, code, err, hdr.get("retry-after", ""))
        return doc

    async def ls(self, path: str) -> Reply:
        return reply_from_json(await self._json("GET", "/v1/fs/ls", {"path": path}))

    async def cat(self, path: str) -> Reply:
        q = {"path": path, "max_bytes": str(self.lim.gateway_max_read_bytes)}
        return reply_from_json(await self._json("GET", "/v1/fs/cat", q))

    async def tail(self, path: str) -> Reply:
        q = {"path": path, "max_bytes": str(self.lim.gateway_max_read_bytes)}
        return reply_from_json(await self._json("GET", "/v1/fs/tail", q))

    async def echo(self, path: str, line: str) -> Reply:
        body = json.dumps({"path": path, "line": line}).encode()
        return reply_from_json(await self._json("POST", "/v1/fs/echo", body=body, ctype="application/json"))


async def _read_response(r: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await r.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise ProtocolError(f"bad HTTP status line {lines[0]!r}")
    hdr: dict[str, str] = {}
    for l in lines[1:]:
        if ":" in l:
            k, v = l.split(":", 1)
            hdr[k.strip().lower()] = v.strip()
    if hdr.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        while True:
            size = int((await r.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                await r.readuntil(b"\r\n")
                break
            body += await r.readexactly(size)
            await r.readexactly(2)
        return int(parts[1]), hdr, bytes(body)
    if "content-length" in hdr:
        return int(parts[1]), hdr, await r.readexactly(int(hdr["content-length"]))
    return int(parts[1]), hdr, await r.read()
