#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Boot a Xen hypervisor with a dom0 kernel and dom0 initramfs under QEMU TCG
# (the by-hand rig of docs/xen.md §7; shared/reference/xen.md §8). Fetches
# nothing and builds nothing: the user provides all three files.
#
#   boot-xen-qemu.sh XEN DOM0_KERNEL DOM0_INITRAMFS LOG [TIMEOUT_S]
#
# XEN is the multiboot image (xen/xen of a build, or a gunzipped xen.gz).
# DOM0_ARGS (environment) is appended to the dom0 kernel command line.
# The run ends when LOG shows "RIG-DONE" (the dom0 /init prints it), or at
# the timeout (default 900 s). Exit 0 if RIG-DONE was seen.
set -eu
[ $# -ge 4 ] || { echo "usage: $0 XEN DOM0_KERNEL DOM0_INITRAMFS LOG [TIMEOUT_S]" >&2; exit 2; }
xen=$1; kernel=$2; initrd=$3; log=$4; timeout=${5:-900}
for f in "$xen" "$kernel" "$initrd"; do
    [ -r "$f" ] || { echo "$0: cannot read $f" >&2; exit 2; }
done
case "$kernel$initrd" in
*,*) echo "$0: QEMU's multiboot module list cannot take paths with commas" >&2; exit 2 ;;
esac

: >"$log"
# smap/smep off: TCG's emulation of them crashes Debian's PV dom0 at once.
qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m 4096 -smp 2 -display none \
    -serial "file:$log" -no-reboot \
    -kernel "$xen" \
    -append "console=com1 com1=115200,8n1 dom0_mem=2048M,max:2048M smap=false smep=false loglvl=all guest_loglvl=all noreboot" \
    -initrd "$kernel console=hvc0 earlyprintk=xen ${DOM0_ARGS:-},$initrd" &
qemu=$!
trap 'kill $qemu 2>/dev/null || true' EXIT INT TERM

start=$(date +%s)
status=1
while kill -0 $qemu 2>/dev/null; do
    if grep -q RIG-DONE "$log"; then
        status=0
        sleep 3
        break
    fi
    if [ $(( $(date +%s) - start )) -ge "$timeout" ]; then
        echo "$0: timeout after ${timeout}s" >&2
        break
    fi
    sleep 2
done
kill $qemu 2>/dev/null || true
wait $qemu 2>/dev/null || true
echo "$0: $(( $(date +%s) - start ))s, log in $log"
exit $status
