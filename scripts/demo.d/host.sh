#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Host side of the README demo (hvshim-run --rig-script: runs next to hvshim-kvm, in the nested
# rig's L1 or on this host). Gives the guest's NIC an address on the host's tap, waits for the guest
# to report ready through KVP, shows the VM through hvshim-ctl, then shuts the guest down cleanly.
TAP=${DEMO_TAP:-hvdemo0}
say() { echo "== host: $*"; }
ctl() { hvshim-ctl -t 30 "$@"; }
indent() { sed 's/^/  /'; }

say "waiting for hvshim-kvm's tap $TAP"
t0=$(date +%s)
waited() { echo $(( $(date +%s) - t0 )); }
until ip link show "$TAP" >/dev/null 2>&1; do
    [ "$(waited)" -lt 120 ] || { say "tap $TAP never appeared"; break; }
    sleep 0.2
done
ip addr add 192.168.77.1/24 dev "$TAP" && ip link set "$TAP" up &&
    say "$TAP is 192.168.77.1/24; waiting for the guest to report ready (KVP)"

# (A KVP GET of a guest pool key answers an empty value with Linux 6.1's hv_kvp_daemon, which
# copies as many value bytes as the request's value_size, and hv_kvp sends it 0: enumerate.)
until ctl -t 5 kvp list guest 2>/dev/null | grep -q "key=hvshim-demo value=ready"; do
    if [ "$(waited)" -ge 60 ] && [ -z "${told:-}" ]; then
        told=1
        say "still waiting; the guest's answer so far:"
        ctl -t 5 kvp list guest 2>&1 | indent
    fi
    if [ "$(waited)" -ge 900 ]; then
        say "the guest did not report ready in 15 minutes; last answer:"
        break
    fi
    sleep 1
done
say "guest ready after $(waited) s"
say "hvshim-ctl list"; ctl list | indent
say "hvshim-ctl heartbeat"; ctl heartbeat | indent
say "hvshim-ctl kvp list auto   (what the guest's hv_kvp_daemon reports about itself)"
ctl kvp list auto | indent
say "hvshim-ctl shutdown"
ctl shutdown | indent && say "the guest accepted the shutdown request"
