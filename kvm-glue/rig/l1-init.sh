#!/bin/sh
# SPDX-License-Identifier: MIT
#
# /init of the nested rig's L1 (Debian 6.1 under QEMU TCG -cpu max; built into l1-base.cpio by
# scripts/guest-assets). hvshim-run appends /rig/hvshim-kvm and a per-run archive with
# /rig/run.env, /rig/args, the guest's files (at their host paths) and maybe /rig/rig-script.
#
# Serial lines (QEMU chardevs that hvshim-run reads):
#   ttyS0  L1 console and the status lines "HVSHIM-RIG <nonce> <event> ..." hvshim-run acts on
#   ttyS1  hvshim-kvm's stdin/stdout, i.e. the L2 guest's COM1 (raw; with STAMP=1 each output
#          line is prefixed with L1's clock)
#   ttyS2  hvshim-kvm's stderr and the rig script's output (raw)
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm

NONCE=none
DISKS=
SCRIPT_GRACE=10
[ -r /rig/run.env ] && . /rig/run.env

say() { echo "HVSHIM-RIG $NONCE $* uptime=$(cut -d' ' -f1 /proc/uptime)" > /dev/ttyS0; }
fail() {
    say "fail $*"
    poweroff -f
    while :; do sleep 1000; done
}
say init

[ -x /rig/hvshim-kvm ] || fail "no /rig/hvshim-kvm in the L1 initramfs"
modprobe kvm-amd 2>/dev/ttyS0 || fail "modprobe kvm-amd failed (does QEMU's -cpu offer svm?)"
[ -c /dev/kvm ] || fail "no /dev/kvm after modprobe kvm-amd"
say kvm
# For hvshim-kvm --nic tap=...: /dev/net/tun (bridge loads on demand when a script asks).
modprobe tun 2>/dev/null

# Large files and disks arrive as virtio-blk devices; a symlink at the host path makes the VMM's
# arguments work unchanged. DISKS = "vda=/abs/path vdb=/abs/path ...".
if [ -n "$DISKS" ]; then
    modprobe virtio_pci 2>/dev/ttyS0
    modprobe virtio_blk 2>/dev/ttyS0 || fail "modprobe virtio_blk failed"
    for d in $DISKS; do
        dev=/dev/${d%%=*}
        path=${d#*=}
        n=0
        while [ ! -b "$dev" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
        [ -b "$dev" ] || fail "virtio disk $dev for $path did not appear"
        mkdir -p "${path%/*}"
        ln -sf "$dev" "$path"
    done
fi

for t in /dev/ttyS1 /dev/ttyS2; do
    stty -F $t 115200 raw -echo -echoe -echok -echoctl -echoke || fail "stty $t failed"
done

[ -n "${CWD:-}" ] && mkdir -p "$CWD" && cd "$CWD"
set --
[ -r /rig/args ] && . /rig/args

say vmm-start
stamper=
if [ "${STAMP:-0}" = 1 ]; then
    # hvshim-run --stamp: each guest line gets this host's clock (seconds.microseconds) the
    # moment it leaves the VMM, so clock comparisons see no relay jitter.
    mkfifo /tmp/vmm-stdout
    ts '%.s' </tmp/vmm-stdout >/dev/ttyS1 &
    stamper=$!
    /rig/hvshim-kvm "$@" </dev/ttyS1 >/tmp/vmm-stdout 2>/dev/ttyS2 &
else
    /rig/hvshim-kvm "$@" </dev/ttyS1 >/dev/ttyS1 2>/dev/ttyS2 &
fi
vmm=$!

script=
if [ -r /rig/rig-script ]; then
    PATH=/rig:/bin HVSHIM_VMM_PID=$vmm HVSHIM_CTL=${CTL:-} sh /rig/rig-script </dev/null >/dev/ttyS2 2>&1 &
    script=$!
fi

wait $vmm
vmm_rc=$?
[ -n "$stamper" ] && wait "$stamper"
say vmm-exit

script_rc=-
if [ -n "$script" ]; then
    # The script may still be collecting results; give it a bounded grace period.
    ( sleep "$SCRIPT_GRACE"; kill -9 "$script" 2>/dev/null ) &
    watchdog=$!
    wait "$script"
    script_rc=$?
    kill "$watchdog" 2>/dev/null
fi

say "exit vmm=$vmm_rc script=$script_rc"
poweroff -f
while :; do sleep 1000; done
