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
