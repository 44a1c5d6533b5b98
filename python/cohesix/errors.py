"""Typed exceptions. A hive refusal keeps the hive's own words: the ACK
line and its reason=, detail=, error= and path= fields, never a paraphrase."""

from __future__ import annotations


class CohesixError(Exception):
    """Base of every error this package raises."""


class ProtocolError(CohesixError):
    """The peer broke the wire (framing, line limit, encoding, JSON shape).
    The session that saw it is closed; other sessions are untouched."""


class TransportError(CohesixError):
    """The hive or gateway could not be reached, or the connection dropped."""


class AuthError(CohesixError):
    """The console refused AUTH (ERR AUTH reason=...) or the gateway answered 401."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


class UsageError(CohesixError):
    """A call this client refuses before anything reaches the hive."""


class HiveError(CohesixError):
    """The hive answered ERR. ``ack`` is the exact ERR line; ``reason``
    (busy, quota, cut, policy), ``detail``, ``error`` and ``path`` are its
    key=value fields ("" when absent)."""

    def __init__(self, ack: str) -> None:
        super().__init__(ack)
        from .ack import parse_ack  # local: ack imports nothing from here at module load

        self.ack = ack
        a = parse_ack(ack)
        self.verb = a.verb if a else ""
        fields = a.fields() if a else {}
        self.reason = fields.get("reason", "")
        self.detail = fields.get("detail", "")
        self.error = fields.get("error", "")
        self.path = fields.get("path", "")


class GatewayError(CohesixError):
    """hive-gateway answered 4xx/5xx with a Problem {code, error}."""

    def __init__(self, status: int, code: str, error: str, retry_after: str = "") -> None:
        super().__init__(f"gateway {status} {code}: {error}")
        self.status = status
        self.code = code
        self.error = error
        self.retry_after = retry_after
