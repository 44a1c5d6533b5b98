"""hive-gateway's REST API (internal/gatewayapi): the Response object
{status, verb, path, end, lines, bytes, error, ack} for ls/cat/tail/echo,
a Problem {code, error} for every 4xx/5xx, bounds, stat, raw reads and
telemetry. Standard library only (urllib)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from ..ack import Reply
from ..errors import AuthError, GatewayError, ProtocolError, TransportError, UsageError
from ..limits import Limits, load, rest_timeout
from .base import Backend

# gatewayapi.TokenEnv, URLEnv, TicketEnv: consulted in this order after an
# explicit argument (gatewayapi.Resolve).
TOKEN_ENV = ("HIVE_GATEWAY_REQUEST_AUTH_TOKEN", "COH_REST_AUTH_TOKEN", "COHSH_REST_AUTH_TOKEN")
URL_ENV = ("COHSH_REST_URL", "COH_REST_URL", "HIVE_GATEWAY_URL")
TICKET_ENV = ("COH_REST_TICKET",)

HEADER_TICKET = "X-Cohesix-Ticket"
HEADER_SIZE = "X-Cohesix-Size"
HEADER_OFFSET = "X-Cohesix-Offset"


def resolve(flag: str, env: tuple[str, ...]) -> tuple[str, str]:
    """gatewayapi.Resolve: the flag when set, else the first non-empty
    variable; returns (value, source) with source "flag", the variable's
    name, or "" when nothing is set."""
    if flag:
        return flag, "flag"
    for k in env:
        v = os.environ.get(k, "")
        if v:
            return v, k
    return "", ""


@dataclass(frozen=True)
class Segment:
    device: str
    seg_id: str
    size: int


@dataclass(frozen=True)
class PushResult:
    device: str
    segments: list[str]
    records: int
    bytes: int


@dataclass(frozen=True)
class Stat:
    path: str
    kind: str
    size: int
    append_only: bool


@dataclass(frozen=True)
class Chunk:
    """Bytes of a file or segment from offset; size is the whole file's
    size when read, so offset+len(data) < size means there is more."""

    data: bytes
    offset: int
    size: int


def _str(d: dict[str, Any], k: str) -> str:
    v = d.get(k)
    if not isinstance(v, str):
        raise ProtocolError(f"gateway JSON field {k!r} is not a string")
    return v


def _int(d: dict[str, Any], k: str) -> int:
    v = d.get(k)
    if not isinstance(v, int) or isinstance(v, bool):
        raise ProtocolError(f"gateway JSON field {k!r} is not an integer")
    return v


def reply_from_json(doc: Any) -> Reply:
    """A gatewayapi.Response as the Reply cohsh's transcript would show:
    the ACK, the lines, and END after an OK of a listing or stream."""
    if not isinstance(doc, dict):
        raise ProtocolError("gateway Response is not a JSON object")
    status, verb, ack = _str(doc, "status"), _str(doc, "verb"), _str(doc, "ack")
    if status not in ("OK", "ERR"):
        raise ProtocolError(f"gateway Response status {status!r} is not OK or ERR")
    lines = doc.get("lines")
    if not isinstance(lines, list) or not all(isinstance(l, str) for l in lines):
        raise ProtocolError("gateway Response lines is not a list of strings")
    if not ack.startswith(status + " " + verb):
        raise ProtocolError(f"gateway Response ack {ack!r} disagrees with status {status} verb {verb}")
    r = Reply(ack=ack, lines=list(lines), path=_str(doc, "path"))
    r.raw = [ack]
    if status == "OK" and verb in ("LS", "CAT", "TAIL", "LOG"):
        r.raw += list(lines) + ["END"]
    return r


class RestBackend(Backend):
    name = "rest"

    def __init__(
        self,
        url: str = "",
        token: str = "",
        ticket: str = "",
        timeout: float | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.lim = limits or load()
        u, self.url_source = resolve(url, URL_ENV)
        if not u:
            u = "http://" + self.lim.gateway_bind
            self.url_source = "manifest"
        self.url = u.rstrip("/")
        self.token, self.token_source = resolve(token, TOKEN_ENV)
        self.ticket, self.ticket_source = resolve(ticket, TICKET_ENV)
        self.timeout = timeout if timeout is not None else rest_timeout(self.lim)

    def _headers(self) -> dict[str, str]:
        h = {"Accept": "application/json"}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        if self.ticket:
            h[HEADER_TICKET] = self.ticket
        return h

    def _do(
        self, method: str, route: str, query: dict[str, str] | None = None,
        body: bytes | None = None, ctype: str = "",
    ) -> tuple[bytes, dict[str, str]]:
        url = self.url + route
        if query:
            url += "?" + urllib.parse.urlencode(query)
        h = self._headers()
        if ctype:
            h["Content-Type"] = ctype
        req = urllib.request.Request(url, data=body, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.read(), {k.lower(): v for k, v in resp.headers.items()}
        except urllib.error.HTTPError as e:
            raw = e.read()
            code, err = "", raw.decode("utf-8", "replace").strip()
            try:
                p = json.loads(raw)
                if isinstance(p, dict):
                    code, err = str(p.get("code", "")), str(p.get("error", err))
            except ValueError:
                pass
            if e.code == 401:
                raise AuthError(f"gateway 401 {code}: {err}", code) from None
            raise GatewayError(e.code, code, err, e.headers.get("Retry-After", "") or "") from None
        except (urllib.error.URLError, OSError) as e:
            raise TransportError(f"gateway {method} {url}: {e}") from e

    def _json(self, method: str, route: str, query: dict[str, str] | None = None,
              body: bytes | None = None, ctype: str = "") -> Any:
        raw, _ = self._do(method, route, query, body, ctype)
        try:
            return json.loads(raw)
        except ValueError as e:
            raise ProtocolError(f"gateway {route}: body is not JSON: {e}") from e

    # the four console operations

    def ls(self, path: str) -> Reply:
        return reply_from_json(self._json("GET", "/v1/fs/ls", {"path": path}))

    def cat(self, path: str, max_bytes: int = 0) -> Reply:
        q = {"path": path, "max_bytes": str(max_bytes or self.lim.gateway_max_read_bytes)}
        return reply_from_json(self._json("GET", "/v1/fs/cat", q))

    def tail(self, path: str, max_bytes: int = 0, lines: int = 0) -> Reply:
        q = {"path": path, "max_bytes": str(max_bytes or self.lim.gateway_max_read_bytes)}
        if lines:
            q["lines"] = str(lines)
        return reply_from_json(self._json("GET", "/v1/fs/tail", q))

    def echo(self, path: str, line: str) -> Reply:
        if "\n" in line or "\r" in line:
            raise UsageError("echo line must be one line")
        body = json.dumps({"path": path, "line": line}).encode()
        return reply_from_json(self._json("POST", "/v1/fs/echo", body=body, ctype="application/json"))

    # gateway extras

    def bounds(self) -> dict[str, Any]:
        d = self._json("GET", "/v1/meta/bounds")
        if not isinstance(d, dict):
            raise ProtocolError("gateway bounds is not a JSON object")
        return d

    def status(self) -> dict[str, Any]:
        d = self._json("GET", "/v1/meta/status")
        if not isinstance(d, dict):
            raise ProtocolError("gateway status is not a JSON object")
        return d

    def stat(self, path: str) -> Stat:
        d = self._json("GET", "/v1/fs/stat", {"path": path})
        if not isinstance(d, dict):
            raise ProtocolError("gateway stat is not a JSON object")
        return Stat(_str(d, "path"), _str(d, "kind"), _int(d, "size"), bool(d.get("append_only", False)))

    def _chunk(self, route: str, query: dict[str, str]) -> Chunk:
        raw, h = self._do("GET", route, query)
        if h.get("content-type", "").startswith("application/json"):
            try:
                doc = json.loads(raw)
            except ValueError as e:
                raise ProtocolError(f"gateway {route}: JSON body is not JSON: {e}") from e
            reply_from_json(doc).check()  # a hive refusal: raises HiveError
            raise ProtocolError(f"gateway {route}: a JSON Response where bytes were expected")
        try:
            return Chunk(raw, int(h.get(HEADER_OFFSET.lower(), "0")), int(h.get(HEADER_SIZE.lower(), "0")))
        except ValueError as e:
            raise ProtocolError(f"gateway {route}: bad size/offset header: {e}") from e

    def read(self, path: str, offset: int = 0, max_bytes: int = 0) -> Chunk:
        q = {"path": path, "offset": str(offset), "max_bytes": str(max_bytes or self.lim.gateway_max_read_bytes)}
        return self._chunk("/v1/fs/read", q)

    def telemetry_push(self, device: str, body: bytes, ctype: str = "application/x-ndjson") -> PushResult:
        d = self._json("POST", "/v1/telemetry/" + urllib.parse.quote(device, safe=""), body=body, ctype=ctype)
        if not isinstance(d, dict) or not isinstance(d.get("segments"), list):
            raise ProtocolError("gateway PushResult is malformed")
        return PushResult(_str(d, "device"), [str(s) for s in d["segments"]], _int(d, "records"), _int(d, "bytes"))

    def telemetry_segments(self) -> list[Segment]:
        d = self._json("GET", "/v1/telemetry")
        segs = d.get("segments") if isinstance(d, dict) else None
        if not isinstance(segs, list):
            raise ProtocolError("gateway Segments is malformed")
        out = []
        for s in segs:
            if not isinstance(s, dict):
                raise ProtocolError("gateway Segment is not an object")
            out.append(Segment(_str(s, "device"), _str(s, "seg_id"), _int(s, "size")))
        return out

    def telemetry_read(self, device: str, seg: str, offset: int = 0) -> Chunk:
        route = "/v1/telemetry/%s/%s" % (urllib.parse.quote(device, safe=""), urllib.parse.quote(seg, safe=""))
        return self._chunk(route, {"offset": str(offset)})
