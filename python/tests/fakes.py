"""Small fake servers: a console that answers scripted frames, and a
gateway serving gatewayapi's JSON."""

from __future__ import annotations

import json
import socket
import struct
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from cohesix.backends.mock import MockBackend
from cohesix.frame import FrameDecoder


def frame(line: str) -> bytes:
    b = line.encode()
    return struct.pack("<I", len(b) + 4) + b


class FakeConsole:
    """Accepts connections; `answer(line) -> bytes` produces each reply."""

    def __init__(self, answer: Callable[[str], bytes], token: str = "changeme") -> None:
        self.answer = answer
        self.token = token
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.received: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._conn, args=(c,), daemon=True).start()

    def _conn(self, c: socket.socket) -> None:
        dec = FrameDecoder()
        authed = False
        with c:
            while True:
                try:
                    data = c.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                for line in dec.feed(data):
                    self.received.append(line)
                    if not authed:
                        if line == "AUTH " + self.token:
                            authed = True
                            c.sendall(frame("OK AUTH"))
                        else:
                            c.sendall(frame("ERR AUTH reason=invalid-token"))
                            return
                        continue
                    try:
                        c.sendall(self.answer(line))
                    except OSError:
                        return

    def close(self) -> None:
        self.sock.close()


class FakeGateway:
    """Serves /v1/fs/{ls,cat,tail,echo,stat,read}, /v1/meta/bounds and the
    telemetry routes from a MockBackend, in gatewayapi's JSON."""

    def __init__(self, token: str = "") -> None:
        self.mock = MockBackend()
        self.token = token
        self.seen: list[dict[str, str]] = []
        gw = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a: object) -> None:
                pass

            def _send(self, code: int, body: bytes, ctype: str = "application/json", extra: dict[str, str] | None = None) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _json(self, code: int, obj: object) -> None:
                self._send(code, json.dumps(obj).encode())

            def _resp(self, r, verb: str) -> None:  # type: ignore[no-untyped-def]
                a = r.parsed
                err = "" if a.ok else a.detail
                self._json(200, {"status": a.status, "verb": verb, "path": r.path, "end": True,
                                 "lines": r.lines, "bytes": sum(len(l) + 1 for l in r.lines),
                                 "error": err, "ack": r.ack})

            def _auth(self) -> bool:
                gw.seen.append({k.lower(): v for k, v in self.headers.items()})
                if gw.token and self.headers.get("Authorization") != "Bearer " + gw.token:
                    self._json(401, {"code": "unauthorized", "error": "missing or wrong request-auth token"})
                    return False
                return True

            def do_GET(self) -> None:
                if not self._auth():
                    return
                u = urllib.parse.urlsplit(self.path)
                q = dict(urllib.parse.parse_qsl(u.query))
                p = u.path
                if q.get("path") == "/busy":
                    self.send_response(429)
                    body = b'{"code":"overloaded","error":"broker queue full"}'
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Retry-After", "1")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if p in ("/v1/fs/ls", "/v1/fs/cat", "/v1/fs/tail"):
                    if int(q.get("max_bytes", "0")) > 32768:
                        self._json(400, {"code": "bad-request", "error": "max_bytes over max_read_bytes"})
                        return
                    verb = p.rsplit("/", 1)[1]
                    self._resp(getattr(gw.mock, verb)(q["path"]), verb.upper())
                elif p == "/v1/fs/read":
                    r = gw.mock.cat(q["path"])
                    if not r.ok:
                        self._resp(r, "CAT")
                        return
                    data = r.text().encode()
                    off = int(q.get("offset", "0"))
                    self._send(200, data[off:], "application/octet-stream",
                               {"X-Cohesix-Size": str(len(data)), "X-Cohesix-Offset": str(off)})
                elif p == "/v1/fs/stat":
                    r = gw.mock.cat(q["path"])
                    kind = "file" if r.ok else "dir"
                    self._json(200, {"path": q["path"], "kind": kind, "size": len(r.text()), "append_only": False})
                elif p == "/v1/meta/bounds":
                    self._json(200, {"max_read_bytes": 32768, "line_max_bytes": 256})
                elif p == "/v1/telemetry":
                    segs = [{"device": d, "seg_id": s, "size": len(b)} for d, l in gw.mock.segments.items() for s, b in l]
                    self._json(200, {"segments": segs})
                elif p.startswith("/v1/telemetry/"):
                    _, _, _, dev, seg = p.split("/")
                    data, size = gw.mock.telemetry_read(dev, seg, int(q.get("offset", "0")))
                    self._send(200, data, "application/octet-stream",
                               {"X-Cohesix-Size": str(size), "X-Cohesix-Offset": q.get("offset", "0")})
                else:
                    self._json(404, {"code": "not-found", "error": "no such route"})

            def do_POST(self) -> None:
                if not self._auth():
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path == "/v1/fs/echo":
                    req = json.loads(body)
                    self._resp(gw.mock.echo(req["path"], req["line"]), "ECHO")
                elif self.path.startswith("/v1/telemetry/"):
                    dev = self.path.rsplit("/", 1)[1]
                    seg, records = gw.mock.telemetry_push(dev, body)
                    self._json(200, {"device": dev, "segments": [seg], "records": records, "bytes": len(body)})
                else:
                    self._json(404, {"code": "not-found", "error": "no such route"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
