"""The interface every backend offers: the four namespace operations of the
console (ls, cat, tail, echo), each answering a Reply in the console's
words. Backends never raise for a hive refusal (Reply.check() does);
they raise ProtocolError, TransportError, AuthError or GatewayError for
everything that is not the hive speaking."""

from __future__ import annotations

import abc
from types import TracebackType

from ..ack import Reply


class Backend(abc.ABC):
    name: str = ""

    @abc.abstractmethod
    def ls(self, path: str) -> Reply: ...

    @abc.abstractmethod
    def cat(self, path: str) -> Reply: ...

    @abc.abstractmethod
    def tail(self, path: str) -> Reply: ...

    @abc.abstractmethod
    def echo(self, path: str, line: str) -> Reply: ...

    def close(self) -> None:
        """Releases the connection; idempotent."""

    def __enter__(self) -> "Backend":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
