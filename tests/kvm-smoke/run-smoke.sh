#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs hvshim-kvm once and checks its exit status and output.
#   run-smoke.sh HVSHIM_KVM SMOKE_ELF STATUS REGEX ARGS...
# STATUS "cli": a command-line error is expected: status 2, exactly one
# line on stderr, matching REGEX. STATUS "cli-nokvm": the same, run as an
# unprivileged user who cannot open /dev/kvm (needs root and setpriv). STATUS "reboots": the guest keeps
# rebooting; after 3 s at least 3 boots must have printed REGEX.
# Skips (77) when /dev/kvm is unusable.
set -u
kvm=$1 elf=$2 want=$3 regex=$4
shift 4
[ -f "$elf" ] || { echo "smoke guest $elf missing"; exit 1; }

out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

runas=""
if [ "$want" = cli-nokvm ]; then
    if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
        echo "SKIP: needs root and setpriv to drop /dev/kvm access"
        exit 77
    fi
    runas="setpriv --reuid=65534 --regid=65534 --clear-groups"
    want=cli
fi
if [ "$want" != cli ]; then
    if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
        echo "SKIP: /dev/kvm is missing or not read/writable here"
        exit 77
    fi
fi

# The nested rig (hvshim-run) boots an L1 first and is slow on a busy
# machine: give it its own --timeout room.
limit=50
case "$kvm" in *hvshim-run*) limit=320 ;; esac
[ "$want" = reboots ] && limit=3
timeout "$limit" $runas "$kvm" "$@" </dev/null >"$out" 2>"$err"
status=$?
echo "--- stdout"; cat "$out"; echo "--- stderr"; cat "$err"; echo "--- status $status"

if [ "$want" = cli ]; then
    if [ -z "$runas" ] && grep -q "cannot open /dev/kvm" "$err"; then
        echo "SKIP: /dev/kvm unusable, CLI checks after it cannot run"
        exit 77
    fi
    [ "$status" -eq 2 ] || { echo "FAIL: expected exit status 2"; exit 1; }
    [ "$(wc -l <"$err")" -eq 1 ] || { echo "FAIL: expected exactly one line on stderr"; exit 1; }
    grep -Eq -e "$regex" "$err" || { echo "FAIL: stderr does not match '$regex'"; exit 1; }
    exit 0
fi
if grep -q "cannot open /dev/kvm\|lacks KVM_CAP" "$err"; then
    echo "SKIP: $(cat "$err")"
    exit 77
fi
if [ "$want" = reboots ]; then
    n=$(cat "$out" "$err" | grep -Ec -e "$regex")
    echo "--- $n boots"
    [ "$n" -ge 3 ] || { echo "FAIL: fewer than 3 boots matched '$regex'"; exit 1; }
    exit 0
fi
if [ "$status" -eq 37 ] && [ "$want" -ne 37 ]; then
    echo "SKIP: the guest reports this host cannot exercise the test (see above)"
    exit 77
fi
[ "$status" -eq "$want" ] || { echo "FAIL: expected exit status $want"; exit 1; }
cat "$out" "$err" | grep -Eq -e "$regex" || { echo "FAIL: output does not match '$regex'"; exit 1; }
exit 0
