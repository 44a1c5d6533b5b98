#!/usr/bin/env bash
# qemu-run.sh IMAGE [extra qemu args] — boot a Cohesix seL4 image on QEMU
# virt (Cortex-A53, 1 GiB, the memory size the kernel's DTB was dumped
# with) with the serial console on this terminal. QEMU never exits by
# itself: quit with Ctrl-A X. QEMU_NET=1 adds a virtio-net-device (virtio-mmio,
# modern interface) on QEMU's user network with the VM's console (31337) and
# Secure9P (564) forwarded to 127.0.0.1:${QEMU_CONSOLE_PORT:-31337} and
# 127.0.0.1:${QEMU_9P_PORT:-5640}; the VM asks QEMU's DHCP server for its
# address (10.0.2.15) unless network.sel4_ipv4 or COHESIX_IPV4 (in
# COHESIX_ENV) names one, and then QEMU_GUEST_IP must name it too, so that
# the forwards reach it. A virtio-rng-device fed from the host's
# /dev/urandom is the VM's entropy source (DECISIONS P73); QEMU_RNG=0 leaves
# it out, and the root task then refuses every ticket (detail=no-entropy).
# QEMU_BLK=DISK adds DISK (a raw image) as a virtio-blk-device: /proc/spool,
# the settings, the governance spool and the telemetry ingest spool keep
# their state there and survive a reboot (docs/SEL4.md "Storage" gives the
# size: truncate -s 38806528 DISK for the dev manifest).
#
# COHESIX_ENV="K=V ..." reaches the shim through fw_cfg (opt/cohesix/env):
# COHESIX_ECHO=0 stops the shim echoing serial input, anything else goes
# into the Go root task's environment. When stdin is not a terminal (a
# program such as `cohsh --transport serial --serial-cmd` drives the
# console) COHESIX_ECHO=0 is the default.
set -euo pipefail
img=${1:?usage: qemu-run.sh IMAGE}
shift
# Every virtio device is a modern (version 2) virtio-mmio transport.
dev=(-global virtio-mmio.force-legacy=false)
if [ "${QEMU_RNG:-1}" = 1 ]; then
	dev+=(-object rng-random,id=rng0,filename=/dev/urandom -device virtio-rng-device,rng=rng0)
fi
if [ -n "${QEMU_BLK:-}" ]; then
	dev+=(-drive "file=$QEMU_BLK,if=none,format=raw,id=hd0" -device virtio-blk-device,drive=hd0)
fi
net=(-nic none)
if [ "${QEMU_NET:-0}" = 1 ]; then
	guest=${QEMU_GUEST_IP:-}
	net=(-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:${QEMU_CONSOLE_PORT:-31337}-$guest:31337,hostfwd=tcp:127.0.0.1:${QEMU_9P_PORT:-5640}-$guest:564"
		-device virtio-net-device,netdev=n0)
fi
env=${COHESIX_ENV-}
if [ -z "${COHESIX_ENV+x}" ] && [ ! -t 0 ]; then
	env="COHESIX_ECHO=0"
fi
fw=()
if [ -n "$env" ]; then
	fw=(-fw_cfg "name=opt/cohesix/env,string=${env//,/,,}")
fi
exec qemu-system-aarch64 -machine virt -cpu cortex-a53 -m 1G -nographic "${dev[@]}" "${net[@]}" "${fw[@]}" -kernel "$img" "$@"
