#!/usr/bin/env bash
# Measures the one-door refactor (issue 13) against the tree before it, in
# one run: the Secure9P walk+open+read+clunk of /proc/boot against bare
# hugelgupf/p9 staticfs, and the console `cat /proc/boot` round trip
# against a framed loopback echo, each for BEFORE (default 718074e) and
# the working tree, alternating so both see the same load. Prints ns/op
# lines and the load average; docs/BENCHMARKS.md "One door" has the table.
set -euo pipefail
cd "$(dirname "$0")/.."
before=${BEFORE:-718074e}
count=${COUNT:-3}
benchtime=${BENCHTIME:-2s}
work=$(mktemp -d)
trap 'git worktree remove --force "$work/before" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add -q --detach "$work/before" "$before"
build() { # tree pkg out
	(cd "$1" && go test -c -o "$3" "./$2")
}
s9p_before=internal/secure9p
[ -d "$work/before/internal/transport/secure9p" ] && s9p_before=internal/transport/secure9p
build "$work/before" "$s9p_before" "$work/s9p.before"
build . internal/transport/secure9p "$work/s9p.after"
build "$work/before" tests "$work/e2e.before"
build . tests "$work/e2e.after"
run() { # binary dir pattern
	(cd "$2" && "$1" -test.run '^$' -test.bench "$3" -test.benchtime "$benchtime" -test.count 1 2>/dev/null | grep '^Benchmark')
}
for i in $(seq "$count"); do
	echo "# round $i/$count load: $(cut -d' ' -f1-3 /proc/loadavg)"
	run "$work/s9p.before" "$work/before/$s9p_before" 'BootRead|BareStaticFS' | sed 's/^/before /'
	run "$work/s9p.after" internal/transport/secure9p 'BootRead|BareStaticFS' | sed 's/^/after  /'
	run "$work/e2e.before" "$work/before/tests" 'ConsoleCatBoot|LoopbackFramedEcho' | sed 's/^/before /'
	run "$work/e2e.after" tests 'ConsoleCatBoot|LoopbackFramedEcho' | sed 's/^/after  /'
done
