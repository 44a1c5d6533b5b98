"""Backends and their selection from the environment.

Precedence (first match wins, deterministic):

1. the ``kind`` argument of :func:`select` (``tcp``, ``rest``, ``fs``, ``mock``);
2. ``COHESIX_BACKEND`` (same values);
3. ``COHESIX_MOCK`` set to ``1``/``true``/``yes``/``on`` -> mock;
4. ``COHESIX_MOUNT`` names a directory -> fs (a ``coh mount`` point);
5. a gateway URL in ``COHSH_REST_URL``, ``COH_REST_URL``, ``HIVE_GATEWAY_URL``
   (gatewayapi.URLEnv, that order) -> rest;
6. otherwise tcp: ``COHESIX_TCP_ADDR`` (host:port), else the manifest's
   network.console_listen; AUTH token ``COHSH_AUTH_TOKEN`` else the manifest's;
   role ``COHESIX_ROLE`` (default queen), ticket ``COHESIX_TICKET``.
"""

from __future__ import annotations

import os

from ..errors import UsageError
from .base import Backend
from .fs import FsBackend
from .mock import MockBackend
from .rest import URL_ENV, RestBackend, resolve
from .tcp import TcpBackend

__all__ = ["Backend", "FsBackend", "MockBackend", "RestBackend", "TcpBackend", "choose", "select"]

KINDS = ("tcp", "rest", "fs", "mock")
_TRUE = ("1", "true", "yes", "on")


def choose(kind: str = "") -> tuple[str, str]:
    """The backend kind the environment selects and why (the rule that matched)."""
    if kind:
        if kind not in KINDS:
            raise UsageError(f"backend {kind!r} is not one of {', '.join(KINDS)}")
        return kind, "argument"
    env = os.environ.get("COHESIX_BACKEND", "")
    if env:
        if env not in KINDS:
            raise UsageError(f"COHESIX_BACKEND={env!r} is not one of {', '.join(KINDS)}")
        return env, "COHESIX_BACKEND"
    if os.environ.get("COHESIX_MOCK", "").lower() in _TRUE:
        return "mock", "COHESIX_MOCK"
    if os.environ.get("COHESIX_MOUNT", ""):
        return "fs", "COHESIX_MOUNT"
    _, src = resolve("", URL_ENV)
    if src:
        return "rest", src
    return "tcp", "default"


def select(kind: str = "") -> Backend:
    """A connected backend chosen by :func:`choose`."""
    k, _ = choose(kind)
    if k == "mock":
        return MockBackend()
    if k == "fs":
        root = os.environ.get("COHESIX_MOUNT", "")
        if not root:
            raise UsageError("the fs backend needs COHESIX_MOUNT (a `coh mount` directory)")
        return FsBackend(root)
    if k == "rest":
        return RestBackend()
    return TcpBackend(
        addr=os.environ.get("COHESIX_TCP_ADDR", ""),
        token=os.environ.get("COHSH_AUTH_TOKEN", ""),
        role=os.environ.get("COHESIX_ROLE", "queen"),
        ticket=os.environ.get("COHESIX_TICKET", ""),
    )
