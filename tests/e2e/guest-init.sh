#!/bin/sh
# SPDX-License-Identifier: MIT
#
# /init of the L2 test guest (Debian 6.1 + busybox), built into guest-initrd.cpio by
# scripts/guest-assets. One image serves every test; the kernel command line picks one:
#   hvshim.test=basic     (default) platform facts + IPI/TLB-flush workload + clock samples, poweroff
#   hvshim.test=panic     crash the kernel at once (echo c > /proc/sysrq-trigger)
#   hvshim.test=poweroff  power off as soon as /init runs (boot-time measurement)
#   hvshim.test=vmbus     load hv_vmbus + hv_utils, list the VMBus devices, start hv_kvp_daemon
#   hvshim.test=shell     platform facts, then an interactive shell on the console ("shell-ready"
#                         when it starts); poweroff when it exits
#   hvshim.test=vmbus-e2e VMBus end to end, driven with a host-side script (e2e.py "vmbus"); asks
#                         its phase on the console ("phase-query") unless hvshim.phase= says:
#                         full: every VMBus version 5.3 .. 2.4 (hv_vmbus max_version, load,
#                           open a channel, unload), timesync, KVP both ways, SCSI disks (boot
#                           time, hot-added, rescinded), then kexec into phase kexec;
#                         kexec: the bus connects again, then waits for the host's reboot;
#                         final: waits for the host's shutdown
#   hvshim.clk_secs=N     how long basic samples the guest clock (default 12)
# Results are lines "HVSHIM-E2E key=value" (tests/e2e/e2e.py parses them); clock samples are
# "@<guest seconds.microseconds>" lines, which the host stamps (hvshim-run --stamp).
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null

test=basic
clk_secs=12
for w in $(cat /proc/cmdline); do
    case "$w" in
    hvshim.test=*) test=${w#hvshim.test=} ;;
    hvshim.clk_secs=*) clk_secs=${w#hvshim.clk_secs=} ;;
    esac
done

r() { echo "HVSHIM-E2E $*"; }
uptime_s() { cut -d. -f1 /proc/uptime; }

# Kernel messages printed on the console could split a result line; dmesg still has them all.
# Level 1 keeps panic output (level 0) visible.
echo 1 > /proc/sys/kernel/printk

r "init uptime=$(cut -d' ' -f1 /proc/uptime) test=$test"

finish() {
    r "done"
    sync
    poweroff -f
    sleep 10
    r "poweroff-failed"
    while :; do sleep 1000; done
}

platform_facts() {
    r "hyperv_detected=$(dmesg | grep -c 'Hypervisor detected: Microsoft Hyper-V')"
    r "kvm_detected=$(dmesg | grep -c 'Hypervisor detected: KVM')"
    dmesg | grep -iE 'hyper-v|hv_|hypervisor|clocksource|stimer' | sed 's/^/HVSHIM-DMESG /'
    r "clocksource=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
    r "clocksources=$(cat /sys/devices/system/clocksource/clocksource0/available_clocksource)"
    for ce in /sys/devices/system/clockevents/clockevent*; do
        [ -e "$ce/current_device" ] && r "${ce##*/}=$(cat "$ce/current_device")"
    done
    r "cpus_online=$(cat /sys/devices/system/cpu/online)"
    r "nproc=$(nproc)"
}

# Work that makes Linux send IPIs and remote TLB flushes: a shell that keeps moving between the
# CPUs and forks (fork write-protects the parent's pages, which flushes the parent's mm on every CPU
# it was recently on), while another loop keeps the other CPU busy (scheduler and wakeup IPIs).
ipi_tlb_workload() {
    n=$(nproc)
    [ "$n" -ge 2 ] || { r "workload=skipped(1 cpu)"; return; }
    ( i=0; while [ $i -lt 150 ]; do /bin/busybox true; i=$((i + 1)); done ) &
    bg=$!
    i=0
    while [ $i -lt 150 ]; do
        taskset -p $((1 << (i % n))) $$ >/dev/null 2>&1
        /bin/busybox true
        i=$((i + 1))
    done
    wait $bg
    r "workload=done"
}

# Clock samples for the host, two-step like PTP: busybox ts takes the time (since it started, in
# microseconds) as it reads each empty input line and writes "\n@<time> \n"; the host stamps the
# first newline, one UART byte after the guest's stamp, and pairs it with the value that follows.
# (Every byte the guest sends is a VM exit, and each exit adds jitter between the two stamps.)
clock_sampler() {
    while [ ! -e /tmp/clk.stop ]; do
        echo
        usleep 50000
    done | ts -s "$(printf '\n@%%.s')"
}

# ---- hvshim.test=vmbus-e2e (see the header) ----

vmbus_class_dev() {  # class GUID -> the vmbus device directory, if offered
    for d in /sys/bus/vmbus/devices/*; do
        [ "$(cat "$d/class_id" 2>/dev/null)" = "{$1}" ] && { echo "$d"; return 0; }
    done
    return 1
}
HB_CLASS=57164f39-9115-4e78-ab55-382f3bd5422d

# wait_until SECONDS COMMAND...: poll every 0.2 s; false on timeout
wait_until() {
    t=$(( $1 * 5 )); shift
    while ! "$@"; do
        t=$((t - 1)); [ $t -le 0 ] && return 1
        usleep 200000
    done
}
hb_opened() { d=$(vmbus_class_dev $HB_CLASS) && [ "$(cat "$d/state")" = 3 ]; }
vmbus_devs() { ls /sys/bus/vmbus/devices 2>/dev/null | wc -l; }
have_devs() { [ "$(vmbus_devs)" -ge "$1" ]; }
last_version() { dmesg | sed -n 's/.*Vmbus version:\([0-9.]*\).*/\1/p' | tail -n 1; }

# Load hv_vmbus capped at each version Linux 6.1 knows, see the offers, open the heartbeat
# channel through hv_utils (GPADL + OPENCHANNEL at that version), unload (UNLOAD) again.
vmbus_version_walk() {
    for v in 0x50003 0x50002 0x50001 0x50000 0x40001 0x40000 0x30000 0x20004; do
        if ! modprobe hv_vmbus max_version=$v; then r "vmbus_version want=$v load=failed"; continue; fi
        wait_until 20 have_devs 4
        n=$(vmbus_devs)
        modprobe hv_utils
        wait_until 20 hb_opened && hb=opened || hb=not-opened
        r "vmbus_version want=$v got=$(last_version) devices=$n heartbeat=$hb"
        rmmod hv_utils && rmmod hv_vmbus || { r "vmbus_unload=failed"; return 1; }
    done
    r "vmbus_unload=ok"
}

# KVP pool files of hv_kvp_daemon: records of a 512-byte key and a 2048-byte value, NUL padded.
kvp_value() {  # pool key
    f=/var/lib/hyperv/.kvp_pool_$1
    [ -f "$f" ] && tr -s '\0' '\n' < "$f" | grep -A1 -x -- "$2" | tail -n +2
}
kvp_has() { [ "$(kvp_value "$1" "$2")" = "$3" ]; }
kvp_put() {  # pool key value: the pool holds this one record (the daemon re-reads it per request)
    f=/var/lib/hyperv/.kvp_pool_$1
    { printf '%s' "$2"; head -c $((512 - ${#2})) /dev/zero
      printf '%s' "$3"; head -c $((2048 - ${#3})) /dev/zero; } > "$f.new" && mv "$f.new" "$f"
}

disk_with() {  # marker -> sdX whose first bytes are the marker
    for b in /sys/block/sd*; do
        [ -e "$b" ] || continue
        [ "$(head -c ${#1} /dev/${b##*/} 2>/dev/null)" = "$1" ] && { echo ${b##*/}; return 0; }
    done
    return 1
}
has_disk() { disk_with "$1" >/dev/null; }
gone() { [ ! -e "$1" ]; }

wait_for_host() {
    # hv_utils' shutdown service runs /sbin/poweroff or /sbin/reboot, which signal init.
    trap 'r "guest-shutdown-requested"; finish' USR2
    trap 'r "guest-reboot-requested"; sync; reboot -f' TERM
    r "$1"
    while :; do sleep 1; done
}

vmbus_load() {
    modprobe hv_vmbus; wait_until 30 have_devs 4
    modprobe hv_utils; wait_until 30 hb_opened && hb=opened || hb=not-opened
    r "$1 version=$(last_version) devices=$(vmbus_devs) heartbeat=$hb"
}

vmbus_e2e_full() {
    platform_facts
    vmbus_version_walk
    modprobe hv_vmbus; wait_until 30 have_devs 4
    for d in /sys/bus/vmbus/devices/*; do
        [ -e "$d/class_id" ] && r "vmbus_device=${d##*/} class=$(cat "$d/class_id")"
    done
    # timesync: the SYNC message that follows the channel open sets a wrong clock right.
    date -s "2001-02-03 04:05:06" >/dev/null
    r "clock_wrong=$(date +%s)"
    modprobe hv_utils
    wait_until 30 sh -c '[ $(date +%s) -gt 1600000000 ]'
    r "clock_after_sync=$(date +%s)"
    # KVP: hv_kvp_daemon reports FullyQualifiedDomainName from the host name.
    hostname hvshim-e2e-guest
    printf '127.0.0.1 localhost\n127.0.1.1 hvshim-e2e-guest.example hvshim-e2e-guest\n' > /etc/hosts
    mkdir -p /var/lib/hyperv
    hv_kvp_daemon && r "kvp_daemon=started" || r "kvp_daemon=failed"
    modprobe hv_storvsc; modprobe sd_mod
    wait_until 60 has_disk hvshim-bootdisk && r "boot_disk=$(disk_with hvshim-bootdisk)"
    # The host pushes a key (pool 0), hot-adds a SCSI controller with a disk, waits for our
    # acknowledgement (pool 1), then rescinds the controller.
    wait_until 300 kvp_has 0 hvshim-host-key "pushed by the host" &&
        r "kvp_host_key=$(kvp_value 0 hvshim-host-key)"
    if wait_until 300 has_disk hvshim-hotdisk; then
        hot=$(disk_with hvshim-hotdisk)
        inst=$(readlink -f /sys/block/$hot | tr / '\n' | grep -E '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' | head -n 1)
        r "hotadd_disk=$hot vmbus_device=$inst"
        kvp_put 1 hvshim-guest-ack hotadd-seen
        wait_until 300 gone /sys/bus/vmbus/devices/$inst && r "rescinded=$inst"
        wait_until 30 gone /sys/block/$hot && r "hotadd_disk_gone=$hot"
    fi
    # kexec into the same kernel; the initramfs is rebuilt from this one.
    r "kexec-now"
    (cd / && find . -xdev | grep -v '^\./tmp/' | cpio -o -H newc > /tmp/kexec-initrd.cpio 2>/dev/null)
    guest-kexec /boot/vmlinuz /tmp/kexec-initrd.cpio "$(cat /proc/cmdline) hvshim.phase=kexec"
    r "kexec-failed"
    finish
}

vmbus_e2e() {
    phase=
    for w in $(cat /proc/cmdline); do
        case "$w" in hvshim.phase=*) phase=${w#hvshim.phase=} ;; esac
    done
    if [ -z "$phase" ]; then
        r "phase-query"
        read -t 120 phase < /dev/console || phase=full
    fi
    r "phase=$phase"
    case "$phase" in
    kexec) vmbus_load kexec_vmbus; wait_for_host kexec-ready ;;
    final) vmbus_load final_vmbus; wait_for_host final-ready ;;
    *) vmbus_e2e_full ;;
    esac
}

case "$test" in
basic)
    t0=$(uptime_s)
    clock_sampler &
    sampler=$!
    platform_facts
    ipi_tlb_workload
    # The clock comparison needs a long enough span: wait until clk_secs have passed.
    while [ $(( $(uptime_s) - t0 )) -lt "$clk_secs" ]; do sleep 0.5; done
    touch /tmp/clk.stop
    wait $sampler
    finish
    ;;
panic)
    platform_facts
    r "panic-now"
    # The console transmits from a buffer on interrupts: let it drain before the crash,
    # or the host may never see the line above.
    sleep 1
    echo c > /proc/sysrq-trigger
    r "panic-returned"
    finish
    ;;
poweroff)
    finish
    ;;
vmbus)
    platform_facts
    modprobe hv_vmbus; r "modprobe_hv_vmbus=$?"
    modprobe hv_utils; r "modprobe_hv_utils=$?"
    for d in /sys/bus/vmbus/devices/*; do
        [ -e "$d/class_id" ] && r "vmbus_device=${d##*/} class=$(cat "$d/class_id")"
    done
    mkdir -p /var/lib/hyperv
    hv_kvp_daemon && r "kvp_daemon=started" || r "kvp_daemon=failed"
    sleep 2
    finish
    ;;
vmbus-e2e)
    vmbus_e2e
    ;;
shell)
    platform_facts
    echo 7 > /proc/sys/kernel/printk
    r "shell-ready"
    echo "hvshim test guest: busybox shell; 'exit' powers off"
    setsid cttyhack sh
    finish
    ;;
*)
    r "unknown-test=$test"
    finish
    ;;
esac
