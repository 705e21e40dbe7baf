#!/bin/sh
# SPDX-License-Identifier: MIT
#
# /init of the README demo's guest (Debian 6.1 kernel + busybox, from scripts/guest-assets; this
# file is laid over that image's /init by scripts/demo). It prints, as a reader would want it, what
# the guest sees of hvshim: the Hyper-V interface, the VMBus and its devices, the NIC and the disk.
# Then it waits for the host: `hvshim-ctl shutdown` reaches it through the shutdown integration
# service, whose /sbin/poweroff signals this init (USR2).
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo 1 > /proc/sys/kernel/printk

say() { echo "  $*"; }
head_line() { echo; echo "== guest: $*"; }
poll() {  # poll SECONDS COMMAND...: retry every 0.2 s
    n=$(( $1 * 5 )); shift
    until "$@"; do n=$((n - 1)); [ $n -gt 0 ] || return 1; usleep 200000; done
}
off() { echo; echo "== guest: $1; powering off"; sync; poweroff -f; sleep 10; }
trap 'off "the host asked for a shutdown (shutdown integration service)"' USR2
trap 'echo "== guest: reboot requested"; sync; reboot -f' TERM

head_line "Hyper-V interface (kernel log)"
dmesg | sed -n 's/^\[[ 0-9.]*\] //p' | grep -E 'Hypervisor detected|^Hyper-V:|hv_|clocksource: Switched|TSC page' |
    sed 's/^/  /'
cs=/sys/devices/system/clocksource/clocksource0
say "clocksource: $(cat $cs/current_clocksource) (available: $(cat $cs/available_clocksource))"
for ce in /sys/devices/system/clockevents/clockevent*; do
    [ -e "$ce/current_device" ] && say "${ce##*/}: $(cat "$ce/current_device")"
done
say "CPUs online: $(cat /sys/devices/system/cpu/online)"

head_line "VMBus"
for m in hv_vmbus hv_utils hv_netvsc hv_storvsc sd_mod ext4; do modprobe $m || say "modprobe $m failed"; done
class_name() {
    case "$1" in
    *57164f39-9115-4e78-ab55-382f3bd5422d*) echo "heartbeat" ;;
    *0e0b6031-5213-4934-818b-38d90ced39db*) echo "shutdown" ;;
    *9527e630-d0ae-497b-adce-e80ab0175caf*) echo "timesync" ;;
    *a9a0f4e7-5a45-4d96-b827-8a841e8c03e6*) echo "kvp (key/value pairs)" ;;
    *f8615163-df3e-46c5-913f-f2d2f965ed0e*) echo "network (netvsc)" ;;
    *ba6163d9-04a1-4d29-b605-72e2ffb1dc7f*) echo "SCSI controller (storvsc)" ;;
    *) echo "class $1" ;;
    esac
}
opened() {
    for d in /sys/bus/vmbus/devices/*; do [ "$(cat "$d/state" 2>/dev/null)" = 3 ] || return 1; done
}
poll 60 opened || say "(not every channel opened within 60 s)"
say "$(dmesg | sed -n 's/.*\(Vmbus version:[0-9.]*\).*/\1/p' | tail -n 1)"
for d in /sys/bus/vmbus/devices/*; do
    [ -e "$d/class_id" ] || continue
    st=$(cat "$d/state"); [ "$st" = 3 ] && st=open
    printf '%4s  %-28s channel %-5s %s\n' "$(cat "$d/id")" "$(class_name "$(cat "$d/class_id")")" \
        "$st" "${d##*/}"
done | sort -n | sed 's/^/  relid/'
mkdir -p /var/lib/hyperv
hostname hvshim-demo
printf '127.0.0.1 localhost\n127.0.1.1 hvshim-demo.example hvshim-demo\n' > /etc/hosts
hv_kvp_daemon && say "hv_kvp_daemon started (the host can now read this guest's key/value pairs)"

head_line "network"
if poll 30 test -e /sys/class/net/eth0; then
    say "eth0: MAC $(cat /sys/class/net/eth0/address), MTU $(cat /sys/class/net/eth0/mtu)," \
        "driver $(basename "$(readlink /sys/class/net/eth0/device/driver)")"
    ip addr add 192.168.77.2/24 dev eth0 && ip link set eth0 up
    poll 20 sh -c 'ping -c 1 -W 1 192.168.77.1 >/dev/null 2>&1' || true
    ping -c 3 -W 2 192.168.77.1 | grep -E 'bytes from|packets' | sed 's/^/  /'
else
    say "no eth0"
fi

head_line "disk"
if poll 30 test -e /sys/block/sda; then
    say "sda: $(( $(cat /sys/block/sda/size) / 2048 )) MiB, model '$(cat /sys/block/sda/device/model)'," \
        "vendor '$(cat /sys/block/sda/device/vendor)'"
    mkdir -p /mnt
    if mount -t ext4 /dev/sda /mnt; then
        say "mounted; /mnt/hello.txt says: $(cat /mnt/hello.txt)"
        echo "written by the guest at $(date -u +%H:%M:%S)" > /mnt/guest.txt && sync && umount /mnt &&
            say "wrote guest.txt back to the host's image and unmounted"
    fi
else
    say "no sda"
fi

kvp=/var/lib/hyperv/.kvp_pool_1
{ printf 'hvshim-demo'; head -c 501 /dev/zero; printf 'ready'; head -c 2043 /dev/zero; } > $kvp
echo
echo "== guest: done; waiting for the host (hvshim-ctl shutdown)"
while :; do sleep 1; done
