#!/usr/bin/env bash
# 1,000 simulated workers from one Python process (asyncio) against the
# fleet profile (docs/BENCHMARKS.md "Python client", issue 17): builds the
# fleet roottask and cohsh (-tags cohesix_fleet: host tools must carry the
# hive's manifest), starts the hive on loopback ports with a temporary state
# dir, runs `python -m cohesix.fleetbench` (WORKERS=1000, DURATION=60 s, one
# ~100-byte heartbeat per worker per second over one Secure9P session each),
# prints its JSON report, the hive's RSS and /proc/loadavg, and stops the
# hive. Not a test: nothing here asserts a time; exit 1 when the harness saw
# an error or sent != acknowledged != received.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
pid=""
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -INT "$pid"
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
	fi
	rm -rf "$work"
}
trap cleanup EXIT
go build -tags cohesix_fleet -o "$work/bin/" ./roottask ./cmd/cohsh
mkdir -p "$work/state"
"$work/bin/roottask" --console-listen 127.0.0.1:0 --secure9p-listen 127.0.0.1:0 --serial none \
	--state-dir "$work/state" >"$work/hive.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
	grep -q 'secure9p listening' "$work/hive.log" && grep -q 'console listening' "$work/hive.log" && break
	sleep 0.1
done
console=$(sed -n 's/^\[event\] console listening tcp=//p' "$work/hive.log")
ninep=$(sed -n 's/^\[event\] secure9p listening tcp=//p' "$work/hive.log")
[ -n "$console" ] && [ -n "$ninep" ] || { cat "$work/hive.log"; echo "hive did not start" >&2; exit 1; }
head -1 "$work/hive.log"
echo "loadavg before: $(cat /proc/loadavg)"
rc=0
COHESIX_MANIFEST_JSON=generated/manifest/fleet/root_task_resolved.json PYTHONPATH=python \
	"${PYTHON:-/usr/bin/python3}" -m cohesix.fleetbench --console "$console" --ninep "$ninep" \
	--cohsh "$work/bin/cohsh" --workers "${WORKERS:-1000}" --duration "${DURATION:-60}" \
	--hive-pid "$pid" || rc=$?
echo "hive: $(grep -E '^(VmRSS|RssAnon)' /proc/$pid/status | tr -s ' \t' ' ' | paste -sd ';')"
echo "loadavg after: $(cat /proc/loadavg)"
exit $rc
