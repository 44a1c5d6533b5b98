#!/usr/bin/env bash
# check-limit-literals.sh: fail when a manifest-owned limit appears as a
# numeric literal in non-test Go code. Limits live in configs/root_task.toml
# and reach code only through package generated (ARCHITECTURE rule 4).
#
# Scanned: tracked and untracked (not ignored) *.go files, except tests,
# generated/, testdata/, and the compiler's own red lines and defaults
# (internal/manifest/redlines.go, internal/manifest/defaults.go).
# Comments are ignored. A line may opt out with a trailing
# "// limit-literal-ok: <reason>" comment.
set -euo pipefail
cd "$(dirname "$0")/.."

# Values owned by the manifest: msize/frame 8192, console ports 31337, 9P
# ports 5640/564, ticket 224, line/ACK 256, JSON 192, echo/summary 128,
# path 96, ingest/bandwidth 131072 and 32768, trace 1048576, /proc/lease summary
# 160.
limits='8192|31337|5640|564|224|256|192|160|128|96|131072|32768|1048576'

mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.go' |
	grep -v -E '(_test\.go$|^generated/|/testdata/|^internal/manifest/(redlines|defaults)\.go$)' | sort -u)

[ ${#files[@]} -eq 0 ] && { echo "check-limit-literals: no Go files"; exit 0; }

found=$(awk -v re="(^|[^0-9A-Za-z_.])(${limits})([^0-9A-Za-z_.]|$)" '
	FNR == 1 { inblock = 0 }
	{
		line = $0
		if (line ~ /limit-literal-ok/) next
		code = line
		if (inblock) {
			if (code ~ /\*\//) { sub(/^.*\*\//, "", code); inblock = 0 } else next
		}
		while (code ~ /\/\*/) {
			if (code ~ /\/\*.*\*\//) { sub(/\/\*[^*]*\*+([^\/*][^*]*\*+)*\//, "", code) }
			else { sub(/\/\*.*$/, "", code); inblock = 1; break }
		}
		sub(/\/\/.*$/, "", code)
		if (code ~ re) printf "%s:%d: %s\n", FILENAME, FNR, line
	}' "${files[@]}")

if [ -n "$found" ]; then
	echo "$found"
	echo "check-limit-literals: manifest-owned limits found as literals; use the generated constants (package generated) instead" >&2
	exit 1
fi
echo "check-limit-literals: ok (${#files[@]} files)"
