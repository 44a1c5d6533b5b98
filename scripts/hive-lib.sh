# Sourced by the bench scripts: start a hosted root task on loopback ports
# the kernel picks, and stop it on exit.
#
#   . scripts/hive-lib.sh     # sets $work, a temporary directory
#   hive_start BIN/roottask [ROOTTASK FLAGS...]
#   ... "$pid" "$console" "$ninep" ...
#
# The hive's stdout is $work/hive.log; the EXIT trap stops the hive
# (SIGINT, then SIGKILL after 5 s) and removes $work.
pid=""
work=$(mktemp -d)
hive_stop() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -INT "$pid"
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
	fi
	rm -rf "$work"
}
trap hive_stop EXIT
hive_start() {
	local bin=$1
	shift
	"$bin" --console-listen 127.0.0.1:0 --secure9p-listen 127.0.0.1:0 --serial none "$@" >"$work/hive.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		grep -q 'secure9p listening' "$work/hive.log" && grep -q 'console listening' "$work/hive.log" && break
		sleep 0.1
	done
	console=$(sed -n 's/^\[event\] console listening tcp=//p' "$work/hive.log")
	ninep=$(sed -n 's/^\[event\] secure9p listening tcp=//p' "$work/hive.log")
	[ -n "$console" ] && [ -n "$ninep" ] || { cat "$work/hive.log"; echo "hive did not start" >&2; exit 1; }
	head -1 "$work/hive.log"
}
