"""ACK/ERR/END lines (spec console.md §4) and the Reply a backend returns."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import HiveError, ProtocolError

END = "END"

# Verbs whose OK is followed by payload lines and END (console.Verb.Streaming).
STREAMING = frozenset({"LOG", "TAIL", "CAT", "LS"})

# The 18 console verbs and their ACK labels, canonical order.
VERB_LABELS: dict[str, str] = {
    "help": "HELP", "bi": "BOOTINFO", "caps": "CAPS", "mem": "MEM", "ping": "PING",
    "test": "TEST", "nettest": "NETTEST", "netstats": "NETSTATS", "log": "LOG",
    "cachelog": "CACHELOG", "quit": "QUIT", "tail": "TAIL", "cat": "CAT", "ls": "LS",
    "echo": "ECHO", "attach": "ATTACH", "spawn": "SPAWN", "kill": "KILL",
}

_KEY = re.compile(r" ([a-z_]+)=")


@dataclass(frozen=True)
class Ack:
    ok: bool
    verb: str
    detail: str

    @property
    def status(self) -> str:
        return "OK" if self.ok else "ERR"

    def fields(self) -> dict[str, str]:
        """key=value fields of the detail. A value runs to the next
        ` key=`; data= (the cat summary) runs to the end of the line."""
        out: dict[str, str] = {}
        d = " " + self.detail
        marks = [(m.start(), m.group(1), m.end()) for m in _KEY.finditer(d)]
        for i, (_, key, vstart) in enumerate(marks):
            if key in out:
                continue
            if key == "data":
                out[key] = d[vstart:]
                break
            vend = marks[i + 1][0] if i + 1 < len(marks) else len(d)
            out[key] = d[vstart:vend]
        return out


def parse_ack(line: str) -> Ack | None:
    """The client parsing rule: trim, split in at most 3 on single spaces,
    OK or ERR, a verb, the rest is detail. None when line is not an ACK."""
    parts = line.strip().split(" ", 2)
    if len(parts) < 2 or parts[1] == "" or parts[0] not in ("OK", "ERR"):
        return None
    detail = parts[2].strip() if len(parts) == 3 else ""
    return Ack(parts[0] == "OK", parts[1], detail)


def wire_label(line: str) -> str:
    """The ACK label a console line's verb answers with ("" if not a verb)."""
    tok = line.strip().split(maxsplit=1)
    if not tok or not tok[0].isascii():
        return ""
    return VERB_LABELS.get(tok[0].lower(), "")


@dataclass
class Reply:
    """One command's answer. ``raw`` is every line in arrival order (what
    cohsh prints); ``lines`` the payload lines; ``ack`` the ACK line."""

    ack: str = ""
    raw: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    path: str = ""

    @property
    def parsed(self) -> Ack | None:
        return parse_ack(self.ack) if self.ack else None

    @property
    def ok(self) -> bool:
        a = self.parsed
        return a is not None and a.ok

    @property
    def status(self) -> str:
        a = self.parsed
        return a.status if a else ""

    @property
    def verb(self) -> str:
        a = self.parsed
        return a.verb if a else ""

    def check(self) -> "Reply":
        """Returns self when OK, else raises HiveError with the ERR line
        (ProtocolError when the reply carried no ACK line at all)."""
        if not self.ack:
            raise ProtocolError("reply has no ACK line: " + " | ".join(self.raw)[:200])
        if not self.ok:
            raise HiveError(self.ack)
        return self

    def text(self) -> str:
        """Payload lines joined with newlines, newline-terminated."""
        return "".join(l + "\n" for l in self.lines)



class ReplyReader:
    """Collects one command's reply line by line, as cohsh reads it: payload
    lines until the ACK; after an OK of the streaming verb the command
    sent (LOG, TAIL, CAT, LS), payload lines until END. One reader serves
    the sync and the async console backends."""

    def __init__(self, label: str) -> None:
        self.reply = Reply()
        self._label = label
        self._streaming = False

    def feed(self, line: str) -> bool:
        """Adds one received line; True when the reply is complete."""
        r = self.reply
        r.raw.append(line)
        if self._streaming:
            if line == END:
                return True
            r.lines.append(line)
            return False
        a = parse_ack(line)
        if a is None:
            r.lines.append(line)
            return False
        r.ack = line
        if not (a.ok and a.verb in STREAMING and a.verb == self._label):
            return True
        self._streaming = True
        return False
