"""Console renderings a non-console backend (fs, mock) needs to print the
transcript cohsh would: the cat summary (console.CatSummary) and ACK lines."""

from __future__ import annotations

from .limits import Limits, load

QUEEN_LOG = "/log/queen.log"
B64_PREFIX = "b64:"


def _clip(s: str, n: int) -> str:
    b = s.encode("utf-8")
    if len(b) <= n:
        return s
    return b[:n].decode("utf-8", errors="ignore")


def _select(lines: list[str], max_line: int, budget: int, skip_system: bool) -> list[str] | None:
    sel: list[str] | None = None
    used = 0
    for l in reversed(lines):
        n = len(l.encode("utf-8"))
        if n > max_line or (skip_system and l.startswith("[")):
            continue
        need = n + (1 if sel is not None else 0)
        if used + need > budget:
            break
        sel = (sel or []) + [l]
        used += need
    return sel


def cat_summary(path: str, lines: list[str], lim: Limits | None = None) -> str:
    """The data= digest of OK CAT (spec console.md §5, cat summary rules)."""
    lim = lim or load()
    budget = lim.cat_summary_max_bytes - len("path=") - len(path.encode()) - len(" data=")
    if budget <= 0:
        return ""
    if (path.startswith("/updates/") or path.startswith("/models/")) and lines and lines[0].startswith(B64_PREFIX):
        return _clip(lines[0], budget)
    sel = _select(lines, lim.cat_summary_line_max_bytes, budget, path == QUEEN_LOG)
    if sel is None and path == QUEEN_LOG:
        sel = _select(lines, lim.cat_summary_line_max_bytes, budget, False)
    if sel is None:
        for l in reversed(lines):
            if len(l.encode()) <= lim.cat_summary_line_max_bytes:
                return _clip(l, budget)
        return ""
    return "|".join(reversed(sel))


def ok(label: str, **kv: object) -> str:
    return " ".join(["OK", label] + [f"{k}={v}" for k, v in kv.items()])


def refusal(label: str, reason: str, detail: str = "", **kv: object) -> str:
    parts = ["ERR", label, f"reason={reason}"]
    if detail:
        parts.append(f"detail={detail}")
    parts += [f"{k}={v}" for k, v in kv.items()]
    return " ".join(parts)
