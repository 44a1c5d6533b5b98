"""Shared flags of the examples: --mock (in-memory hive) or a live hive
chosen like cohesix.select() (COHESIX_BACKEND, COHESIX_TCP_ADDR, ...),
and --out for the bounded artifacts (default out/examples/<name>)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cohesix  # noqa: E402


def parser(name: str, doc: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=name, description=doc)
    ap.add_argument("--mock", action="store_true", help="run against the in-memory mock hive")
    ap.add_argument("--backend", default="", help="tcp, rest, fs or mock (default: from the environment)")
    ap.add_argument("--out", default=os.path.join("out", "examples", name.removesuffix(".py")),
                    help="artifact directory")
    return ap


def backend(args: argparse.Namespace) -> cohesix.Backend:
    return cohesix.select("mock" if args.mock else args.backend)
