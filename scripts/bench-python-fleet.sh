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
. scripts/hive-lib.sh
go build -tags cohesix_fleet -o "$work/bin/" ./roottask ./cmd/cohsh
mkdir -p "$work/state"
hive_start "$work/bin/roottask" --state-dir "$work/state"
echo "loadavg before: $(cat /proc/loadavg)"
rc=0
COHESIX_MANIFEST_JSON=generated/manifest/fleet/root_task_resolved.json PYTHONPATH=python \
	"${PYTHON:-/usr/bin/python3}" -m cohesix.fleetbench --console "$console" --ninep "$ninep" \
	--cohsh "$work/bin/cohsh" --workers "${WORKERS:-1000}" --duration "${DURATION:-60}" \
	--hive-pid "$pid" || rc=$?
echo "hive: $(grep -E '^(VmRSS|RssAnon)' /proc/$pid/status | tr -s ' \t' ' ' | paste -sd ';')"
echo "loadavg after: $(cat /proc/loadavg)"
exit $rc
