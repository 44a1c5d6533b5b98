#!/usr/bin/env bash
# Packs a random file (default 1 GiB; BYTES=N to change) into a bundle with
# chunk_bytes 8192 in a temp dir, then times `cas-tool verify` against
# `sha256sum` of the same payload bytes and prints both, the ratio and the
# load average (docs/BENCHMARKS.md, CAS bundle verification).
set -euo pipefail
cd "$(dirname "$0")/.."
bytes=${BYTES:-1073741824}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/cas-tool" ./cmd/cas-tool
head -c "$bytes" /dev/urandom >"$tmp/input.bin"
"$tmp/cas-tool" pack "$tmp/input.bin" --out "$tmp/bundle" --epoch 1 --chunk-bytes 8192 >/dev/null
# The payload itself, for sha256sum: the chunk files in manifest order.
python3 - "$tmp/bundle/manifest.cbor" >"$tmp/order" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
off = 0
def head():
    global off
    c = b[off]; off += 1
    ai = c & 0x1f
    if ai < 24:
        return ai
    n = {24: 1, 25: 2, 26: 4, 27: 8}[ai]
    v = int.from_bytes(b[off:off + n], "big"); off += n
    return v
head()                      # array
for _ in range(2):          # schema, epoch
    n = head(); off += n
head(); head()              # chunk_bytes, payload_bytes
n = head(); off += n        # payload_sha256
for _ in range(head()):     # chunks
    n = head()
    print(b[off:off + n].hex()); off += n
PY
(cd "$tmp/bundle/chunks" && xargs cat <"$tmp/order") >"$tmp/payload.bin"
sync
cat "$tmp/payload.bin" >/dev/null # both runs read from the page cache
now() { date +%s.%N; }
t0=$(now); sha256sum "$tmp/payload.bin" >/dev/null; t1=$(now)
"$tmp/cas-tool" verify "$tmp/bundle" --unsigned >/dev/null; t2=$(now) # warm the chunk files
t2=$(now); "$tmp/cas-tool" verify "$tmp/bundle" --unsigned >/dev/null; t3=$(now)
sha=$(echo "$t1 - $t0" | bc -l)
ver=$(echo "$t3 - $t2" | bc -l)
printf 'bytes=%d sha256sum=%.3fs cas-tool-verify=%.3fs ratio=%.2f\n' "$bytes" "$sha" "$ver" "$(echo "$ver / $sha" | bc -l)"
echo "loadavg: $(cat /proc/loadavg)"
