"""A `coh mount` directory: the hive's namespace as files. Reads list and
read files; echo appends one line. Replies are rendered in the console's
words (cat summary included) so transcripts compare across backends;
errno values map back to the refusal words of console.md §5
(secure9p errno mapping, DECISIONS D2)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from ..ack import Reply
from ..errors import UsageError
from ..render import cat_summary, ok, refusal
from .base import Backend

# errno -> (reason, detail, error) of the console's namespace table.
_ERRNO: dict[int, tuple[str, str, str]] = {
    errno.EPERM: ("policy", "denied", "EPERM"),
    errno.EACCES: ("policy", "denied", "EPERM"),
    errno.EROFS: ("policy", "denied", "EPERM"),
    errno.ENOENT: ("policy", "invalid-path", "invalid path"),
    errno.ENOTDIR: ("policy", "invalid-path", "invalid path"),
    errno.EISDIR: ("policy", "invalid-path", "invalid path"),
    errno.EINVAL: ("policy", "invalid-payload", "invalid payload"),
    errno.EDQUOT: ("quota", "buffer-full", "buffer full"),
    errno.ENOSPC: ("quota", "buffer-full", "buffer full"),
    errno.EBUSY: ("busy", "attach-timeout", "attach handshake timed out"),
    errno.EHOSTUNREACH: ("cut", "root-unreachable", "root unreachable"),
}


class FsBackend(Backend):
    name = "fs"

    def __init__(self, root: str) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise UsageError(f"{root} is not a directory (a `coh mount` point)")

    def _local(self, path: str) -> Path:
        if not path.startswith("/") or ".." in path.split("/"):
            raise UsageError(f"path {path!r} must be absolute without '..'")
        return self.root / path.lstrip("/")

    def _refuse(self, label: str, path: str, e: OSError) -> Reply:
        reason, detail, err = _ERRNO.get(e.errno or 0, ("policy", "unsupported", os.strerror(e.errno or 0)))
        line = refusal(label, reason, detail, path=path, error=err)
        return Reply(ack=line, raw=[line], path=path)

    def ls(self, path: str) -> Reply:
        try:
            names = [e.name for e in os.scandir(self._local(path))]
        except OSError as e:
            return self._refuse("LS", path, e)
        a = ok("LS", path=path, entries=len(names))
        return Reply(ack=a, raw=[a, *names, "END"], lines=names, path=path)

    def _read(self, label: str, path: str) -> Reply:
        try:
            text = self._local(path).read_bytes()
        except OSError as e:
            return self._refuse(label, path, e)
        lines = text.decode("utf-8", "replace").splitlines()
        a = ok("CAT", path=path, data=cat_summary(path, lines)) if label == "CAT" else ok(label, path=path)
        return Reply(ack=a, raw=[a, *lines, "END"], lines=lines, path=path)

    def cat(self, path: str) -> Reply:
        return self._read("CAT", path)

    def tail(self, path: str) -> Reply:
        return self._read("TAIL", path)

    def echo(self, path: str, line: str) -> Reply:
        if "\n" in line or "\r" in line:
            raise UsageError("echo line must be one line")
        data = (line + "\n").encode()
        try:
            fd = os.open(self._local(path), os.O_WRONLY | os.O_APPEND)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
        except OSError as e:
            return self._refuse("ECHO", path, e)
        a = ok("ECHO", path=path, bytes=len(line.encode()))
        return Reply(ack=a, raw=[a], path=path)
