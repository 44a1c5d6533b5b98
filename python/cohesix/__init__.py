"""cohesix: a thin, non-authoritative Python client of a Cohesix hive.

It speaks the hive's existing wires only (the TCP console, hive-gateway's
REST API, a `coh mount` directory) and adds no semantics: the hive decides,
this package renders requests and parses answers. See docs/PYTHON.md."""

from .ack import Ack, Reply, parse_ack
from .backends import Backend, FsBackend, MockBackend, RestBackend, TcpBackend, choose, select
from .client import Client, Planned
from .errors import (AuthError, CohesixError, GatewayError, HiveError, ProtocolError,
                     TransportError, UsageError)
from .limits import Limits

__all__ = [
    "Ack", "AuthError", "Backend", "Client", "CohesixError", "FsBackend", "GatewayError",
    "HiveError", "Limits", "MockBackend", "Planned", "ProtocolError", "Reply", "RestBackend",
    "TcpBackend", "TransportError", "UsageError", "choose", "parse_ack", "select",
]
__version__ = "0.1.0"
