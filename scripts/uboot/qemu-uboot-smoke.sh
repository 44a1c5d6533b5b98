#!/usr/bin/env bash
# qemu-uboot-smoke.sh [IMAGE] — the U-Boot boot path on QEMU virt: package
# IMAGE (default: build it with scripts/cohesix-build-run.sh, which needs
# SEL4_BUILD_DIR) with scripts/uboot/mkdisk.sh, boot it through Debian's
# u-boot-qemu from the FAT disk (fatload + bootm), wait for cohesix>, run the
# serial pack and require its acknowledgements. Prints the time from U-Boot
# running boot.scr (its "cohesix: fatload" line) to the cohesix> prompt.
# Needs qemu-system-arm, u-boot-qemu, u-boot-tools, mtools.
set -euo pipefail
cd "$(dirname "$0")/../.."
for t in qemu-system-aarch64 mkimage mcopy; do
	command -v "$t" >/dev/null || { echo "qemu-uboot-smoke: $t missing (apt-get install qemu-system-arm u-boot-tools mtools)" >&2; exit 2; }
done
[ -r "${UBOOT_BIN:-/usr/lib/u-boot/qemu_arm64/u-boot.bin}" ] || { echo "qemu-uboot-smoke: u-boot.bin missing (apt-get install u-boot-qemu)" >&2; exit 2; }
img=${1:-}
if [ -z "$img" ]; then
	scripts/cohesix-build-run.sh --no-run >/dev/null
	img=${SEL4_OUT:-out/sel4}/image/cohesix-image
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
scripts/uboot/mkdisk.sh "$img" "$work"
python3 - "$work/disk.img" <<'EOPY'
import subprocess, sys, time, select, os
disk = sys.argv[1]
env = dict(os.environ, COHESIX_ENV="COHESIX_ECHO=0")
p = subprocess.Popen(["scripts/uboot/qemu-uboot-run.sh", disk], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
buf, t0, marks = b"", time.monotonic(), {}

def wait(token, since=0, limit=60):
    """Reads serial until token appears after offset since; returns the time."""
    global buf
    end = time.monotonic() + limit
    while buf.find(token, since) < 0:
        left = end - time.monotonic()
        if left <= 0 or p.poll() is not None:
            sys.stdout.write(buf.decode(errors="replace"))
            sys.exit("qemu-uboot-smoke: no %r within %ds" % (token, limit))
        if select.select([p.stdout], [], [], left)[0]:
            buf += os.read(p.stdout.fileno(), 65536)
    return time.monotonic()

try:
    marks["fatload"] = wait(b"cohesix: fatload")
    prompt = wait(b"cohesix> ")
    cut = len(buf)
    # The serial pack in the raw console's words (cohsh's spawn is an echo).
    pack = ["attach queen", "help", "ping", "cat /proc/boot", "log",
            'echo /queen/ctl {"spawn":"heartbeat","ticks":5}']
    for cmd in pack:
        mark = len(buf)
        p.stdin.write((cmd + "\n").encode()); p.stdin.flush()
        wait(b"cohesix> ", mark, 30)
    p.stdin.write(b"quit\n"); p.stdin.flush()
    wait(b"OK QUIT", cut, 30)
    out = buf[cut:].decode(errors="replace")
    need = ["OK ATTACH role=queen", "OK HELP", "OK PING reply=pong", "OK CAT path=/proc/boot", "OK LOG",
            "OK ECHO path=/queen/ctl", "OK QUIT"]
    missing = [n for n in need if n not in out]
    print(out)
    if missing:
        sys.exit("qemu-uboot-smoke: missing %s" % missing)
    print("qemu-uboot-smoke: QEMU start to boot.scr %.0f ms, fatload to cohesix> %.0f ms, serial pack OK" %
          ((marks["fatload"] - t0) * 1000, (prompt - marks["fatload"]) * 1000))
finally:
    p.kill()
EOPY
