#!/usr/bin/env bash
# check-generated.sh: drift gate for coh-rtc outputs.
#
# Recompiles every profile (configs/root_task.toml and configs/root_task.fleet.toml,
# DECISIONS P50) into a temporary tree and byte-compares every committed artefact
# (generated/ with both profiles' tables and resolved manifests, docs/snippets/, the
# spliced regions of docs/*.md, scripts/cohsh/boot_v0.coh) with the fresh copy. Any
# difference prints a unified diff, lists the file and exits 1 ("drift detected").
# Fix: make generate (go generate ./cmd/coh-rtc), commit.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The manifests and prose docs are read from here; every output lands under $tmp.
go run ./cmd/coh-rtc --into "$tmp" >/dev/null
mkdir -p "$tmp/generated" "$tmp/docs" "$tmp/scripts"

drift=()
while IFS= read -r -d '' fresh; do
	rel=${fresh#"$tmp/"}
	if [ ! -f "$rel" ]; then
		drift+=("$rel (missing)")
	elif ! diff -u "$rel" "$fresh" >"$tmp/diff.txt"; then
		cat "$tmp/diff.txt" >&2
		drift+=("$rel (differs)")
	fi
done < <(find "$tmp/generated" "$tmp/docs" "$tmp/scripts" -type f -print0 | sort -z)

# Committed outputs that the compiler no longer writes are drift too.
while IFS= read -r f; do
	[ -e "$tmp/$f" ] || drift+=("$f (stale: no longer generated)")
done < <(git ls-files generated docs/snippets scripts/cohsh/boot_v0.coh)

if [ ${#drift[@]} -gt 0 ]; then
	echo "drift detected: regenerate with 'make generate' (go generate ./cmd/coh-rtc) and commit:" >&2
	printf '  %s\n' "${drift[@]}" >&2
	exit 1
fi
echo "check-generated: no drift"
