#!/usr/bin/env bash
# sel4-idle-cpu.sh IMAGE [SECONDS] — host CPU of an idle Cohesix seL4 VM.
# Boots IMAGE with scripts/qemu-run.sh (QEMU_NET=1: virtio-net and
# virtio-rng, as the system tests boot it), waits for the `cohesix>` prompt
# and the network event line, lets it settle 5 s, then reads the QEMU
# process's utime+stime from /proc/<pid>/stat over SECONDS (default 30) and
# prints the share of one host core it used, the interrupt mode the shim
# and the Go side named, and the host's load average. Ports: QEMU_CONSOLE_PORT
# and QEMU_9P_PORT (defaults 31437/5740, so a running VM is left alone).
set -euo pipefail
img=${1:?usage: sel4-idle-cpu.sh IMAGE [SECONDS]}
secs=${2:-30}
cd "$(dirname "$0")/.."
log=$(mktemp)
fifo=$(mktemp -u)
mkfifo "$fifo"
trap 'kill "$qpid" 2>/dev/null || true; rm -f "$fifo" "$log"' EXIT
# A FIFO held open as the VM's stdin: the console stays quiet, nothing is typed.
exec 3<>"$fifo"
QEMU_NET=1 QEMU_CONSOLE_PORT=${QEMU_CONSOLE_PORT:-31437} QEMU_9P_PORT=${QEMU_9P_PORT:-5740} \
	scripts/qemu-run.sh "$img" <&3 >"$log" 2>&1 &
qpid=$!
for _ in $(seq 600); do
	grep -q "sel4 network:" "$log" && grep -q "cohesix>" "$log" && break
	sleep 0.1
done
grep -q "cohesix>" "$log" || { cat "$log"; echo "sel4-idle-cpu: no prompt" >&2; exit 1; }
# qemu-run.sh execs QEMU, so $qpid is QEMU itself.
sleep 5
tck=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$qpid/stat"; }
t0=$(ticks)
sleep "$secs"
t1=$(ticks)
grep -a "cohesix-shim: interrupts\|sel4 network:\|sel4 entropy" "$log" | tr -d '\r' || true
awk -v d=$((t1 - t0)) -v hz="$tck" -v s="$secs" 'BEGIN { printf "sel4-idle-cpu: QEMU used %.2f s of CPU in %d s idle = %.1f%% of one core\n", d / hz, s, 100 * d / hz / s }'
echo "sel4-idle-cpu: load average $(cut -d' ' -f1-3 /proc/loadavg)"
