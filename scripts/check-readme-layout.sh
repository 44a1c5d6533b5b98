#!/usr/bin/env bash
# Fails when a Go package of the repository is missing from README.md's
# layout table: every directory holding non-test .go files (outside
# testdata/) must appear there as `its/path`.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=0
for dir in $(git ls-files '*.go' | grep -v '_test\.go$' | grep -v '/testdata/' | xargs -n1 dirname | sort -u); do
	[ "$dir" = "." ] && continue
	if ! grep -qF "\`$dir\`" README.md; then
		echo "README.md layout table lacks \`$dir\`"
		missing=1
	fi
done
if [ "$missing" -ne 0 ]; then
	echo "add a row for each package above to README.md's Layout table" >&2
	exit 1
fi
