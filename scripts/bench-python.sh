#!/usr/bin/env bash
# Python tcp backend `cat /proc/boot` round trip against cohsh's, on one
# hosted roottask in one run (docs/BENCHMARKS.md "Python client"). Builds
# roottask and cohsh into a temporary directory, then scripts/bench_python.py
# alternates the clients for ROUNDS rounds and prints µs/op and the load
# average. Not a test: nothing here asserts a time.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/" ./roottask ./cmd/cohsh
PYTHONPATH=python "${PYTHON:-/usr/bin/python3}" scripts/bench_python.py --bin "$work" --rounds "${ROUNDS:-3}" --ops "${OPS:-250}"
