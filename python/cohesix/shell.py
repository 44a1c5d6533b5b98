"""The cohsh shell grammar (spec console.md §7) and `.coh` scripts (§8)
over the Python tcp backend, printing what cohsh prints. It exists to
prove parity: the same script through cohsh and through this module must
give byte-identical transcripts. It adds nothing cohsh does not do.

Not carried over: `test` (self-test), `telemetry push`, `pool bench`,
`tcp-diag` and `tail -f` are cohsh features, refused here as local errors;
the attach-time ticket check is the role/length/subject-free part only
(the hive verifies every ticket anyway)."""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, TextIO

from .ack import Reply, parse_ack
from .backends.base import Backend
from .backends.tcp import TcpBackend
from .errors import CohesixError, TransportError, UsageError
from .limits import Limits, load

ROLES = ("queen", "worker-heartbeat", "worker-gpu", "worker-bus", "worker-lora")
MSIZE_OVERFLOW = "{{msize_overflow}}"

_LIFECYCLE_FROM: dict[str, Callable[[str], bool]] = {
    "cordon": lambda s: s in ("ONLINE", "DEGRADED"),
    "drain": lambda s: s == "DRAINING",
    "quiesce": lambda s: s in ("ONLINE", "DEGRADED", "DRAINING"),
    "resume": lambda s: s != "ONLINE",
    "reset": lambda s: s != "BOOTING",
}

_HEARTBEAT_KEYS = [("ticks", 64, True), ("ttl_s", 64, False), ("ops", 64, False)]
_GPU_KEYS = [("gpu_id", 0, True), ("mem_mb", 32, True), ("streams", 8, True), ("ttl_s", 32, True),
             ("priority", 8, False), ("budget_ttl_s", 64, False), ("budget_ops", 64, False)]


def parse_role(s: str) -> str:
    if s.lower() == "worker":
        return "worker-heartbeat"
    for r in ROLES:
        if s.lower() == r:
            return r
    raise UsageError(f"unknown role '{s}'")


def _json_str(what: str, s: str) -> None:
    if not s or '"' in s or "\\" in s or any(ord(c) < 0x20 or ord(c) == 0x7F for c in s):
        raise UsageError(f"{what} must be non-empty and contain no quotes, backslashes or control characters")


def check_path(p: str, lim: Limits) -> None:
    if not p.startswith("/"):
        raise UsageError(f"path '{p}' must start with '/'")
    if "\x00" in p:
        raise UsageError("path must not contain NUL")
    if " " in p or "\t" in p:
        raise UsageError(f"path '{p}' must not contain whitespace")
    n = 0
    for c in p.split("/"):
        if not c:
            continue
        if c in (".", ".."):
            raise UsageError(f"path component '{c}' is not allowed")
        n += 1
    if n > lim.walk_depth:
        raise UsageError(f"path '{p}' has more than {lim.walk_depth} components")


def spawn_json(args: list[str]) -> str:
    """cohsh's `spawn <role> k=v...` rendering (cmd/cohsh/spawn.go)."""
    if not args:
        raise UsageError("spawn requires a role: heartbeat or gpu")
    role = args[0].lower()
    if role in ("heartbeat", "worker", "worker-heartbeat"):
        kind, keys = "heartbeat", _HEARTBEAT_KEYS
    elif role in ("gpu", "worker-gpu"):
        kind, keys = "gpu", _GPU_KEYS
    else:
        raise UsageError(f"unknown spawn role '{args[0]}'")
    vals: dict[str, str] = {}
    unknown = []
    names = [k[0] for k in keys]
    for kv in args[1:]:
        k, sep, v = kv.partition("=")
        k = k.lower()
        if not sep or not k:
            raise UsageError(f"spawn option '{kv}' must be key=value")
        if k in vals:
            raise UsageError(f"duplicate spawn option '{k}'")
        vals[k] = v
        if k not in names:
            unknown.append(k)
    if unknown:
        raise UsageError("unknown spawn options: " + ", ".join(unknown))
    num: dict[str, str] = {}
    for name, bits, required in keys:
        if name not in vals:
            if required:
                raise UsageError(f"spawn {kind} requires option '{name}'")
            continue
        v = vals[name]
        if bits == 0:
            _json_str(name, v)
            continue
        if not v.isdigit() or not v.isascii() or int(v) >= 1 << bits:
            raise UsageError(f"invalid value for spawn option '{name}': {v}")
        num[name] = str(int(v))

    def budget(ttl_key: str, ops_key: str) -> str:
        parts = []
        if ttl_key in num:
            parts.append('"ttl_s":' + num[ttl_key])
        if ops_key in num:
            parts.append('"ops":' + num[ops_key])
        return ',"budget":{' + ",".join(parts) + "}" if parts else ""

    if kind == "heartbeat":
        return '{"spawn":"heartbeat","ticks":' + num["ticks"] + budget("ttl_s", "ops") + "}"
    lease = '"gpu_id":"%s","mem_mb":%s,"streams":%s,"ttl_s":%s' % (vals["gpu_id"], num["mem_mb"], num["streams"], num["ttl_s"])
    if "priority" in num:
        lease += ',"priority":' + num["priority"]
    return '{"spawn":"gpu","lease":{' + lease + "}" + budget("budget_ttl_s", "budget_ops") + "}"


@dataclass
class Result:
    lines: list[str] = field(default_factory=list)  # what cohsh prints on stdout
    ack: str = ""  # the response line EXPECT sees
    failed: bool = False
    err: str = ""  # a local or transport error (cohsh prints it on stderr)
    quit: bool = False
    skipped: bool = False  # BackendShell: no equivalent on this backend


class Shell:
    """One cohsh-style shell over a console connection dialled on first use."""

    def __init__(self, addr: str = "", token: str = "", limits: Limits | None = None) -> None:
        self.lim = limits or load()
        self.addr, self.token = addr, token
        self.conn: TcpBackend | None = None
        self.attached = False
        self.role = ""

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()

    def _wire(self, line: str) -> Reply:
        if self.conn is None:
            self.conn = TcpBackend(self.addr, self.token, limits=self.lim)
        elif not self.conn.connected:
            self.conn.connect()
        r = self.conn.request(line, strict=False)
        a = r.parsed
        if a is not None and a.ok:
            if a.verb == "ATTACH":
                self.attached, self.role = True, a.fields().get("role", "")
            elif a.verb == "QUIT":
                self.attached, self.role = False, ""
        return r

    def _wire_result(self, line: str) -> Result:
        try:
            r = self._wire(line)
        except CohesixError as e:
            if isinstance(e, TransportError):
                self.attached = False
            return Result(failed=True, err=str(e))
        return Result(lines=r.raw, ack=r.ack, failed=not r.ok)

    def execute(self, line: str) -> Result:
        line = line.strip()
        words = line.split()
        if not words:
            return Result()
        name, args = words[0], words[1:]
        fn = _VERBS.get(name)
        if fn is None:
            return self._wire_result(line)
        try:
            bound: Callable[[str, list[str], str], Result] = getattr(self, fn.__name__)  # subclasses override verbs
            return bound(name, args, line)
        except UsageError as e:
            return Result(failed=True, err=str(e))

    # verbs

    def _attach(self, name: str, args: list[str], line: str) -> Result:
        if not args:
            raise UsageError("attach requires a role")
        if len(args) > 2:
            raise UsageError("attach takes at most two arguments: role and optional ticket")
        role = parse_role(args[0])
        if self.attached:
            raise UsageError("already attached; run 'quit' to close the current session")
        tok = args[1].strip() if len(args) == 2 else ""
        if not tok and role != "queen":
            raise UsageError(f"role {role} requires a non-empty ticket payload")
        if len(tok) > self.lim.ticket_max:
            raise UsageError(f"ticket payload exceeds {self.lim.ticket_max} bytes")
        r = self._wire_result(f"attach {role} {tok}")
        if r.failed:
            return r
        err = self._check_manifest()
        if err:
            self._wire_result("quit")
            self.attached, self.role = False, ""
            return Result(failed=True, err=err)
        return r

    def _check_manifest(self) -> str:
        """cohsh reads /proc/boot after attaching and refuses a hive built
        from another manifest; so does this shell (same wire traffic)."""
        try:
            r = self._wire("cat /proc/boot")
        except CohesixError as e:
            return f"check the hive's manifest: {e}"
        if not r.ok:
            return f"check the hive's manifest: read /proc/boot: {r.ack}"
        for l in r.lines:
            if l.startswith("manifest.sha256="):
                got = l.split("=", 1)[1]
                if self.lim.manifest_sha256 and got != self.lim.manifest_sha256:
                    return f"hive manifest {got} differs from this client's {self.lim.manifest_sha256}"
                return ""
        return "/proc/boot has no manifest.sha256 line"

    def _detach(self, name: str, args: list[str], line: str) -> Result:
        if args:
            raise UsageError(f"{name} takes no arguments")
        r = Result()
        if self.attached and self.conn is not None:
            r = self._wire_result("quit")
        self.attached, self.role = False, ""
        return Result(lines=r.lines + ["OK DETACH"], ack="OK DETACH")

    def _ping(self, name: str, args: list[str], line: str) -> Result:
        if args:
            raise UsageError(f"{name} takes no arguments")
        if not self.attached:
            raise UsageError("ping requires an attached session; run 'attach <role>' first")
        return self._wire_result("ping")

    def _read(self, name: str, args: list[str], line: str) -> Result:
        if name == "tail" and len(args) == 2 and args[0] == "-f":
            raise UsageError("tail -f is not supported by the Python shell")
        if len(args) != 1:
            raise UsageError(f"{name} takes exactly one path")
        check_path(args[0], self.lim)
        return self._wire_result(f"{name} {args[0]}")

    def _log(self, name: str, args: list[str], line: str) -> Result:
        if args:
            raise UsageError(f"{name} takes no arguments")
        return self._wire_result("tail " + self.lim.path_log)

    def _echo(self, name: str, args: list[str], line: str) -> Result:
        rest = line[len(name):].strip()
        i = rest.find(">")
        if i < 0:
            raise UsageError("echo requires '<text> > <path>'")
        text, path = rest[:i].strip(), rest[i + 1:].strip()
        if len(text) >= 2 and text[0] in "\"'" and text[-1] == text[0]:
            text = text[1:-1]
        if any(c in text for c in "\x00\r\n"):
            raise UsageError("echo text must be one line without NUL")
        if not path:
            raise UsageError("echo requires a path after '>'")
        check_path(path, self.lim)
        if text == MSIZE_OVERFLOW:
            head, tail = '{"spawn":"gpu","lease":{"gpu_id":"', '","mem_mb":1,"streams":1,"ttl_s":1}}'
            text = head + "x" * (self.lim.msize + 64 - len(head) - len(tail)) + tail
        return self._wire_result(f"echo {path} {text}")

    def _spawn(self, name: str, args: list[str], line: str) -> Result:
        if not self.attached or self.role != "queen":
            raise UsageError("spawn requires an attached queen session")
        return self._wire_result(f"echo {self.lim.path_queen_ctl} {spawn_json(args)}")

    def _kill(self, name: str, args: list[str], line: str) -> Result:
        if len(args) != 1:
            raise UsageError("kill takes exactly one worker id")
        _json_str("worker id", args[0])
        return self._wire_result(f'echo {self.lim.path_queen_ctl} {{"kill":"{args[0]}"}}')

    def _bind(self, name: str, args: list[str], line: str) -> Result:
        if len(args) != 2:
            raise UsageError("bind takes two paths: <src> <dst>")
        for p in args:
            check_path(p, self.lim)
            _json_str("bind path", p)
        return self._wire_result(f'echo {self.lim.path_queen_ctl} {{"bind":{{"from":"{args[0]}","to":"{args[1]}"}}}}')

    def _mount(self, name: str, args: list[str], line: str) -> Result:
        if len(args) != 2:
            raise UsageError("mount takes a service and a path: <service> <path>")
        _json_str("service", args[0])
        check_path(args[1], self.lim)
        _json_str("mount path", args[1])
        return self._wire_result(f'echo {self.lim.path_queen_ctl} {{"mount":{{"service":"{args[0]}","at":"{args[1]}"}}}}')

    def _lifecycle(self, name: str, args: list[str], line: str) -> Result:
        if len(args) != 1 or args[0] not in _LIFECYCLE_FROM:
            raise UsageError("lifecycle takes one of: cordon, drain, resume, quiesce, reset")
        if not self.attached or self.role != "queen":
            raise UsageError("lifecycle requires an attached queen session")
        action = args[0]
        try:
            r = self._wire("cat /proc/lifecycle/state")
        except CohesixError as e:
            return Result(failed=True, err=str(e))
        if not r.ok:
            return Result(lines=r.raw, ack=r.ack, failed=True)
        state = ""
        for l in r.lines:
            for f in l.split():
                if f.startswith("state=") and not state:
                    state = f[len("state="):]
        if not _LIFECYCLE_FROM[action](state):
            a = f"ERR LIFECYCLE action={action} state={state} reason=invalid-transition"
            return Result(lines=[a], ack=a, failed=True)
        return self._wire_result(f"echo {self.lim.path_lifecycle_ctl} {action}")

    def _unsupported(self, name: str, args: list[str], line: str) -> Result:
        raise UsageError(f"{name} is not supported by the Python shell")

    def _quit(self, name: str, args: list[str], line: str) -> Result:
        if args:
            raise UsageError(f"{name} takes no arguments")
        r = Result()
        if self.conn is not None:
            r = self._wire_result("quit")
            if r.failed and not r.ack:
                r.failed, r.err = False, ""  # leaving anyway
        self.attached, self.role = False, ""
        r.lines = r.lines + ["closing session"]
        r.quit = True
        return r


_VERBS: dict[str, Callable[[Shell, str, list[str], str], Result]] = {
    "attach": Shell._attach, "login": Shell._attach, "detach": Shell._detach,
    "ping": Shell._ping, "tail": Shell._read, "cat": Shell._read, "ls": Shell._read,
    "log": Shell._log, "echo": Shell._echo, "spawn": Shell._spawn, "kill": Shell._kill,
    "bind": Shell._bind, "mount": Shell._mount, "lifecycle": Shell._lifecycle,
    "help": Shell._unsupported, "test": Shell._unsupported, "telemetry": Shell._unsupported,
    "pool": Shell._unsupported, "tcp-diag": Shell._unsupported, "quit": Shell._quit,
}


class NotExpressible(Exception):
    """A command with no equivalent on a session-less backend (attach,
    detach, quit, ping, raw console verbs)."""


class BackendShell(Shell):
    """The same grammar over a session-less Backend (rest, fs): the wire
    lines cat/ls/tail/echo map onto the backend; SPAWN/KILL run as the
    /queen/ctl echo they are equivalent to but their ACK differs, and
    everything else has no equivalent. Those commands come back as
    Result(skipped=True). The backend's identity is its ticket (a queen
    ticket by default), so attach and detach only track the shell state."""

    def __init__(self, backend: Backend, limits: Limits | None = None) -> None:
        super().__init__(limits=limits)
        self.backend = backend

    def execute(self, line: str) -> Result:
        try:
            return super().execute(line)
        except NotExpressible:
            return Result(skipped=True)

    def _attach(self, name: str, args: list[str], line: str) -> Result:
        if args:
            self.attached, self.role = True, parse_role(args[0])
        raise NotExpressible(line)

    def _detach(self, name: str, args: list[str], line: str) -> Result:
        self.attached, self.role = False, ""
        raise NotExpressible(line)

    def _quit(self, name: str, args: list[str], line: str) -> Result:
        self.attached, self.role = False, ""
        return Result(skipped=True, quit=True)

    def _wire(self, line: str) -> Reply:
        verb, _, rest = line.partition(" ")
        if verb in ("cat", "ls", "tail") and rest and " " not in rest:
            r: Reply = getattr(self.backend, verb)(rest)
            return r
        if verb == "echo" and " " in rest:
            path, _, text = rest.partition(" ")
            return self.backend.echo(path, text)
        if verb in ("SPAWN", "KILL") and rest:
            # Run for its effect on the hive; the console's ACK (OK SPAWN,
            # OK KILL, or a PARSE refusal) has no REST equivalent.
            js = rest if verb == "SPAWN" else '{"kill":"%s"}' % rest
            try:
                self.backend.echo(self.lim.path_queen_ctl, js)
            except CohesixError:
                pass
        elif verb == "quit":
            self.attached, self.role = False, ""
        raise NotExpressible(line)


class ScriptFailure(CohesixError):
    def __init__(self, line: int, text: str, reason: str) -> None:
        super().__init__(f"script failure at line {line}: {text}\nreason: {reason}")
        self.line, self.text, self.reason = line, text, reason


@dataclass(frozen=True)
class Stmt:
    line: int
    text: str
    kind: str  # "cmd", "expect", "wait"
    sel: str = ""
    arg: str = ""
    ms: int = 0


_WS = re.compile(r"[ \t]+")


def lex(src: str, lim: Limits | None = None) -> list[Stmt]:
    """`.coh` lexing (spec console.md §8), bounded by the manifest's
    scripts.max_statements and scripts.wait_max_ms."""
    lim = lim or load()
    max_statements, wait_max_ms = lim.script_max_statements, lim.script_wait_max_ms
    out: list[Stmt] = []
    for i, raw in enumerate(src.split("\n")):
        text = raw.rstrip(" \t\r").split("#", 1)[0].strip()
        if not text:
            continue
        n = i + 1
        if len(out) == max_statements:
            raise ScriptFailure(n, text, f"script exceeds max of {max_statements} lines")
        parts = _WS.split(text, maxsplit=1)
        word, rest = parts[0], (parts[1] if len(parts) > 1 else "")
        if word == "EXPECT":
            p2 = _WS.split(rest, maxsplit=1)
            sel, arg = p2[0], (p2[1] if len(p2) > 1 else "")
            if sel not in ("OK", "ERR", "SUBSTR", "NOT"):
                raise ScriptFailure(n, text, f"unknown EXPECT selector '{sel}'")
            out.append(Stmt(n, text, "expect", sel, arg))
        elif word == "WAIT":
            if not rest.isdigit() or int(rest) > wait_max_ms:
                raise ScriptFailure(n, text, "WAIT requires a single integer of milliseconds")
            out.append(Stmt(n, text, "wait", ms=int(rest)))
        else:
            out.append(Stmt(n, text, "cmd"))
    return out


def _holds(s: Stmt, last: str) -> bool:
    return {"OK": last.startswith("OK"), "ERR": last.startswith("ERR"),
            "SUBSTR": s.arg in last, "NOT": s.arg not in last}[s.sel]


def run_script(sh: Shell, src: str, out: TextIO, err: TextIO = sys.stderr,
               each: Callable[[Stmt, Result], None] | None = None, strict: bool = True) -> None:
    """Runs a .coh script, printing what cohsh --script prints on stdout.
    Raises ScriptFailure where cohsh would fail; with strict=False it runs
    every statement regardless (a comparison run). each sees every
    command's result."""
    stmts = lex(src, sh.lim)
    last, have = "", False
    for i, s in enumerate(stmts):
        if s.kind == "wait":
            time.sleep(s.ms / 1000)
            continue
        if s.kind == "expect":
            if not have:
                raise ScriptFailure(s.line, s.text, "EXPECT requires a prior command response")
            if strict and not _holds(s, last):
                raise ScriptFailure(s.line, s.text, f"expected {s.text[len('EXPECT '):]} but last response was '{last}'")
            continue
        r = sh.execute(s.text)
        if each is not None:
            each(s, r)
        for l in r.lines:
            out.write(l + "\n")
        if r.err:
            err.write(f"error: {r.err}\n")
        have, last = True, r.ack
        tolerated = r.ack.startswith("ERR") and i + 1 < len(stmts) and stmts[i + 1].kind == "expect"
        if strict and r.failed and not tolerated:
            raise ScriptFailure(s.line, s.text, r.err or "command failed")
        if r.quit:
            return


def main(argv: list[str] | None = None) -> int:
    """python -m cohesix.shell --addr HOST:PORT --script FILE"""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m cohesix.shell")
    ap.add_argument("--addr", default="")
    ap.add_argument("--auth-token", default="")
    ap.add_argument("--script", required=True)
    a = ap.parse_args(argv)
    sh = Shell(a.addr, a.auth_token)
    try:
        with open(a.script, encoding="utf-8") as f:
            run_script(sh, f.read(), sys.stdout)
    except ScriptFailure as e:
        sys.stderr.write(str(e) + "\n")
        return 1
    finally:
        sh.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
