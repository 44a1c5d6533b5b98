#!/usr/bin/env bash
# Runs every Go fuzz target in the repository for FUZZTIME each (default 30s),
# starting from its committed seed corpus. New targets are picked up by name:
# any `func FuzzXxx(` in a _test.go file.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-30s}
targets=$(grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+' . | sed -E 's|^\./||; s|/[^/]+_test\.go:func | |' | sort -u)
count=$(printf '%s\n' "$targets" | grep -c . || true)
i=0
while read -r pkg name; do
	[ -n "$pkg" ] || continue
	i=$((i + 1))
	echo "fuzz [$i/$count] $name (./$pkg) for $fuzztime"
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime 5s "./$pkg"
done <<<"$targets"
echo "fuzz: $count targets passed"
