"""The console wire over TCP (spec console.md §1-§6): framing, AUTH, ATTACH,
then one command at a time, its reply read exactly as cohsh reads it
(internal/client exchange): lines before the ACK are payload; after an OK
of a streaming verb (log, tail, cat, ls) lines up to END are payload."""

from __future__ import annotations

import socket

from ..ack import Reply, ReplyReader, parse_ack, wire_label
from ..errors import AuthError, ProtocolError, TransportError, UsageError
from ..frame import FrameDecoder, encode
from ..limits import Limits, load
from .base import Backend


def split_addr(addr: str) -> tuple[str, int]:
    host, _, port = addr.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"console address {addr!r} is not host:port")
    return host, int(port)


class TcpBackend(Backend):
    """One authenticated console session. Not safe for concurrent use;
    open one per thread (the console serves one client at a time)."""

    name = "tcp"

    def __init__(
        self,
        addr: str = "",
        token: str = "",
        role: str = "",
        ticket: str = "",
        timeout: float | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.lim = limits or load()
        self.addr = addr or self.lim.console_listen
        self.token = token or self.lim.auth_token
        self.timeout = timeout if timeout is not None else self.lim.timeout_ms / 1000
        self._sock: socket.socket | None = None
        self._dec = FrameDecoder(self.lim)
        self._pending: list[str] = []
        self.role = ""
        self.connect()
        if role:
            self.attach(role, ticket).check()

    # connection

    def connect(self) -> None:
        host, port = split_addr(self.addr)
        try:
            s = socket.create_connection((host, port), timeout=self.timeout)
        except OSError as e:
            raise TransportError(f"console dial {self.addr}: {e}") from e
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock, self._dec, self._pending = s, FrameDecoder(self.lim), []
        self._send("AUTH " + self.token, strict=False)
        line = self._recv()
        a = parse_ack(line)
        if a is None or not a.ok or a.verb != "AUTH":
            self.close()
            reason = a.fields().get("reason", "") if a else ""
            raise AuthError(f"console auth refused: {line}", reason)

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def _send(self, line: str, strict: bool = True) -> None:
        if self._sock is None:
            raise TransportError("console session is closed")
        if strict:
            data = encode(line, self.lim)
        else:
            body = line.encode("utf-8")
            data = (len(body) + 4).to_bytes(4, "little") + body
        try:
            self._sock.sendall(data)
        except OSError as e:
            self.close()
            raise TransportError(f"console send: {e}") from e

    def _recv(self) -> str:
        while not self._pending:
            if self._sock is None:
                raise TransportError("console session is closed")
            try:
                data = self._sock.recv(65536)
            except OSError as e:
                self.close()
                raise TransportError(f"console recv: {e}") from e
            if not data:
                self.close()
                raise TransportError("console recv: connection closed by the hive")
            try:
                self._pending.extend(self._dec.feed(data))
            except ProtocolError:
                self.close()
                raise
        return self._pending.pop(0)

    # commands

    def request(self, line: str, strict: bool = True) -> Reply:
        """Sends one console line and reads its whole reply. strict=False
        sends lines over the line limit as they are (negative tests)."""
        if strict and ("\n" in line or "\r" in line):
            raise UsageError("console command must be one line")
        if strict and len(line.encode("utf-8")) > self.lim.line_max_bytes:
            raise UsageError(f"console line exceeds line_max_bytes {self.lim.line_max_bytes}")
        label = wire_label(line)
        self._send(line, strict=False)
        rd = ReplyReader(label)
        while not rd.feed(self._recv()):
            pass
        r = rd.reply
        a = r.parsed
        if a is not None and a.ok:
            if a.verb == "ATTACH":
                self.role = a.fields().get("role", "")
            elif a.verb == "QUIT":
                self.role = ""
                self.close()  # the TCP server disconnects after OK QUIT
        r.path = r.parsed.fields().get("path", "") if r.parsed else ""
        return r

    def attach(self, role: str, ticket: str = "") -> Reply:
        if len(role) > self.lim.role_max or len(ticket) > self.lim.ticket_max:
            raise UsageError("role or ticket exceeds the console field limits")
        return self.request(f"attach {role} {ticket}".rstrip())

    def ls(self, path: str) -> Reply:
        return self.request("ls " + path)

    def cat(self, path: str) -> Reply:
        return self.request("cat " + path)

    def tail(self, path: str) -> Reply:
        return self.request("tail " + path)

    def echo(self, path: str, line: str) -> Reply:
        return self.request(f"echo {path} {line}")

    def spawn(self, payload: str) -> Reply:
        return self.request("spawn " + payload)

    def kill(self, worker: str) -> Reply:
        return self.request("kill " + worker)

    def ping(self) -> Reply:
        return self.request("ping")

    def quit(self) -> Reply:
        return self.request("quit")
