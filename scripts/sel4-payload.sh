#!/usr/bin/env bash
# sel4-payload.sh — build the linux/arm64 Go root task the seL4 shim embeds:
# generate the x7 overlay from the local GOROOT (out/sel4/overlay, never
# committed), build with it (TAGS=cohesix_sel4 selects roottask/platform/sel4;
# default is the hosted build qemu-aarch64 runs), check every svc site.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${SEL4_OUT:-out/sel4}
go run ./sel4/tools/sel4overlay -out "$out/overlay" ./roottask >/dev/null
GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -trimpath -ldflags=-s -tags "${TAGS:-}" \
	-overlay "$out/overlay/overlay.json" -o "$out/roottask-arm64" ./roottask
scripts/sel4-svc-check.sh "$out/roottask-arm64"
echo "sel4-payload: $out/roottask-arm64 ($(wc -c <"$out/roottask-arm64") bytes)"
