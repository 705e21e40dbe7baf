#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Host side of the e2e test "vmbus" (tests/e2e/e2e.py): runs as hvshim-run's --rig-script next to
# hvshim-kvm (in the rig's L1, or on this host in direct mode) and drives the guest
# (guest-init.sh, hvshim.test=vmbus-e2e) through hvshim-ctl and the VM's control socket
# ($HVSHIM_CTL). Every result is a line "VMBUS-HOST <what> ..." on stdout (hvshim-run's stderr),
# which e2e.py checks. The guest goes through three boots: full, kexec, and final (after the
# reboot this script asks for); the script ends by asking for a shutdown.
#
# Usage: vmbus-host.sh HOTDISK   (HOTDISK: a file to create and hot-add as a SCSI disk)
HOTDISK=${1:-/tmp/hvshim-hotdisk.img}

say() { echo "VMBUS-HOST $*"; }
ctl() { hvshim-ctl -t 60 "$@"; }
# Prefix each line of a command's output.
tagged() { tag=$1; shift; "$@" 2>&1 | sed "s/^/VMBUS-HOST $tag /"; }

# wait_for WHAT SECONDS COMMAND...: retry every second; says how long it took.
wait_for() {
    what=$1 limit=$2 n=0
    shift 2
    while ! "$@" >/dev/null 2>&1; do
        n=$((n + 1))
        if [ $n -ge "$limit" ]; then
            say "timeout $what after ${n}s"
            return 1
        fi
        sleep 1
    done
    say "waited $what ${n}s"
}

status_field() { ctl status | sed -n "s/.* $1=\([^ ]*\).*/\1/p" | head -n 1; }
hb_healthy() { ctl heartbeat | grep -q "negotiated=1 healthy=1"; }
contacts_above() { [ "$(status_field contacts)" -gt "$1" ] && hb_healthy; }
boots_at_least() { [ "$(status_field boots)" -ge "$1" ] && hb_healthy; }
kvp_ready() { ctl -t 5 kvp list auto; }
# Enumerate, not GET: Linux 6.1's hv_kvp_daemon answers a GET with as many value bytes as the
# request's value_size, which hv_kvp sets to 0, so a GET of a guest key is always empty.
guest_ack() { ctl -t 5 kvp list guest | grep -q "key=hvshim-guest-ack value=hotadd-seen"; }

say "start ctl=$HVSHIM_CTL"

# ---- boot 1, phase full: the guest walks the versions, then loads hv_utils for good.
wait_for heartbeat 900 hb_healthy || exit 1
tagged heartbeat-1 ctl heartbeat
sleep 5
tagged heartbeat-2 ctl heartbeat
tagged list ctl list
tagged status ctl status

wait_for kvp 300 kvp_ready
tagged kvp-auto ctl kvp list auto
ctl kvp set external hvshim-host-key "pushed by the host"
say "kvp-set rc=$?"

# Hot add: a SCSI controller with one disk the guest recognises by its first bytes.
{ printf 'hvshim-hotdisk'; dd if=/dev/zero bs=1024 count=4096 2>/dev/null; } > "$HOTDISK"
relid=$(ctl add scsi | sed -n 's/^added relid=//p')
say "hotadd-scsi relid=${relid:-none}"
tagged hotadd-disk ctl add disk "file=$HOTDISK,serial=hvshim-hot" "$relid"
wait_for guest-ack 300 guest_ack
tagged list-hotadd ctl list
contacts=$(status_field contacts)
ctl rescind "$relid"
say "rescind rc=$? relid=$relid"
tagged list-rescind ctl list

# ---- boot 1 -> kexec: the new kernel connects again.
wait_for kexec-reconnect 600 contacts_above "$contacts"
tagged status-kexec ctl status
ctl reboot
say "reboot rc=$?"

# ---- boot 2 (the VMM restarted the guest), phase final.
wait_for reboot 600 boots_at_least 2
tagged status-final ctl status
ctl shutdown
say "shutdown rc=$?"
# The VMM exits when the guest powers off.
n=0
while kill -0 "$HVSHIM_VMM_PID" 2>/dev/null && [ $n -lt 60 ]; do sleep 1; n=$((n + 1)); done
say "vmm-gone after ${n}s"
