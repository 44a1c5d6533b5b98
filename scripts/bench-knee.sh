#!/usr/bin/env bash
# The knee (issue 15): `coh bench workers` ramps from MIN to MAX workers
# (default 100 -> 10,000, doubling, the last step MAX) against a hosted
# hive and reports the first step whose append p99 passes 5 ms.
#
# The fleet profile admits 1,024 workers, so a ramp past it needs a larger
# cap. This script derives a "knee" manifest from configs/root_task.fleet.toml
# with every worker-sized key scaled to WORKERS_CAP (default 10,240) and the
# memory budgets that coh-rtc requires for them, compiles it with coh-rtc into
# a temporary directory (coh-rtc validates it as it does any profile), and
# builds roottask and coh with those tables in place of the fleet ones
# (`go build -overlay`). Nothing is written to the tree. Not a test: nothing
# asserts a time; exit 1 when the bench fails.
#
#   scripts/bench-knee.sh                     # MIN=100 MAX=10000 STEP=x2 DURATION=30s MODE=keep-open
#   MIN=1000 MAX=4000 STEP=+500 scripts/bench-knee.sh
set -euo pipefail
cd "$(dirname "$0")/.."
MIN=${MIN:-100} MAX=${MAX:-10000} STEP=${STEP:-x2} DURATION=${DURATION:-30s} MODE=${MODE:-keep-open}
CAP=${WORKERS_CAP:-10240}
. scripts/hive-lib.sh

# Scale the fleet profile's worker-sized keys (each is queen.max_workers or
# max_workers + 64 there) and its budgets: 80 KiB per worker (coh-rtc's
# estimate) and 1 KiB rings (2 KiB arrays) plus a /proc/schedule line per worker.
sessions=$((CAP + 64))
sed -e "s/^max_workers = 1024$/max_workers = $CAP/" \
	-e "s/^inbox_depth = 1024$/inbox_depth = $CAP/" \
	-e "s/^max_sessions = 1088$/max_sessions = $sessions/" \
	-e "s/^queue_max_entries = 1024$/queue_max_entries = $CAP/" \
	-e "s/^max_conns_per_peer = 1088$/max_conns_per_peer = $sessions/" \
	-e "s/^max_conns_per_peer = 1024$/max_conns_per_peer = $sessions/" \
	-e "s/^memory_budget_bytes = 4194304$/memory_budget_bytes = $((CAP * 2560))/" \
	-e "s/^memory_budget_bytes = 268435456$/memory_budget_bytes = $((CAP * 81920 + CAP * 2560))/" \
	-e 's/^name = "fleet"$/name = "knee"/' \
	configs/root_task.fleet.toml >"$work/knee.toml"
grep -q "^max_workers = $CAP$" "$work/knee.toml" || { echo "bench-knee: configs/root_task.fleet.toml changed shape; update the sed lines" >&2; exit 1; }
go run ./cmd/coh-rtc --out-go "$work/gen" --out "$work/out" --docs "$work/docs" --script "$work/boot.coh" "$work/knee.toml"
{ echo '//go:build cohesix_fleet'; echo; cat "$work/gen/manifest.go"; } >"$work/manifest_knee.go"
printf '{"Replace":{"%s":"%s"}}\n' "$PWD/generated/manifest_fleet.go" "$work/manifest_knee.go" >"$work/overlay.json"
go build -tags cohesix_fleet -overlay "$work/overlay.json" -o "$work/bin/" ./roottask ./cmd/coh
if [ "$(ulimit -n)" -lt $((sessions + 256)) ]; then
	ulimit -n $((sessions + 256)) 2>/dev/null || echo "bench-knee: ulimit -n $(ulimit -n) is below the $((sessions + 256)) descriptors a $CAP-worker ramp needs" >&2
fi
hive_start "$work/bin/roottask"
echo "loadavg before: $(cat /proc/loadavg)"
rc=0
"$work/bin/coh" --host 127.0.0.1 --port "${console##*:}" --9p-port "${ninep##*:}" bench workers \
	--workers-min "$MIN" --workers-max "$MAX" --step "$STEP" --duration "$DURATION" --mode "$MODE" \
	--hive-pid "$pid" ${JSON:+--json} || rc=$?
echo "loadavg after: $(cat /proc/loadavg)"
grep '^\[event\] cpu procs' "$work/hive.log" | tail -5 || true
exit $rc
