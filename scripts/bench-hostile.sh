#!/usr/bin/env bash
# The hostile-peer figures of docs/BENCHMARKS.md, measured in one run, each
# with the 1-minute load average beside it (issue 12, docs/SECURITY.md).
#   scripts/bench-hostile.sh [benchtime-scale]   (1 = the documented run)
set -euo pipefail
cd "$(dirname "$0")/.."
load() { cut -d' ' -f1 /proc/loadavg; }
go test -c -o /tmp/cohesix-tests.test ./tests/ >/dev/null
T=/tmp/cohesix-tests.test
cd tests
echo "== attach under attack (load $(load))"
$T -test.run '^$' -test.bench 'AttachUnderAttack' -test.benchtime 1000x | grep -E 'Benchmark|ms'
echo "== 1,000 idle connections (load $(load))"
$T -test.run '^$' -test.bench "HostileListenIdle1000" -test.benchtime 200x | grep -E "Benchmark|RSS|ms"
echo "== console append, in memory vs durable, and raw fsync (load $(load))"
$T -test.run '^$' -test.bench 'ConsoleAppend|Fsync' -test.benchtime 2s | grep -E 'Benchmark'
echo "== one connection's flood, anonymous RSS (load $(load))"
COHESIX_BOUNDS_SETTLE_S=10 $T -test.run 'TestHostileBounds(FidCap|ConsoleBurst)' -test.v | grep -E 'RSS|busy'
echo "load at the end $(load)"
