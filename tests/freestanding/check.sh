#!/bin/sh
# Prove the core is freestanding: compile every core source with
# hypervisor-style flags, link them into one relocatable object, and check
# that nothing is left undefined but memcpy/memset/memcmp.
#
# usage: check.sh <compiler> <source-root> <flags-file> <source>...
set -eu
cc=$1; root=$2; flags_file=$3; shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags=$(grep -v '^#' "$flags_file" | tr '\n' ' ')
objs=
for src in "$@"; do
    obj="$work/$(echo "$src" | tr '/' '_').o"
    # shellcheck disable=SC2086
    "$cc" $flags -I"$root" -c "$src" -o "$obj"
    objs="$objs $obj"
done
# shellcheck disable=SC2086
ld -r -o "$work/core.o" $objs
undefined=$(nm -u "$work/core.o" | awk '{print $2}' | sort -u)
# CHECK_EXTRA_ALLOWED: symbols a specific host's toolchain provides (e.g.
# Xen's retpoline thunks and the GOT its -fpic code names), space-separated.
extra=
for s in ${CHECK_EXTRA_ALLOWED:-}; do extra="$extra -e $s"; done
# shellcheck disable=SC2086
bad=$(echo "$undefined" | grep -v -x -e memcpy -e memset -e memcmp -e '' $extra || true)
echo "compiler: $cc"
echo "flags: $flags"
echo "sources: $#"
echo "undefined symbols: $(echo $undefined)"
if [ -n "$bad" ]; then
    echo "FAIL: the core needs symbols outside the host interface: $bad"
    exit 1
fi
# No writable data: the core keeps no globals (const tables only).
data=$(nm "$work/core.o" | awk '$2 ~ /^[BbDdCcGgSs]$/ {print $3}')
# CHECK_RELRO_OK: position-independent builds (Xen's -fpic) put const
# tables of pointers in .data.rel.ro, read-only once relocated: not data.
if [ -n "${CHECK_RELRO_OK:-}" ] && [ -n "$data" ]; then
    relro=$(objdump -t "$work/core.o" | awk '/ \.data\.rel\.ro/ {print $NF}')
    if [ -n "$relro" ]; then
        data=$(echo "$data" | grep -v -x -F "$relro" || true)
    fi
fi
if [ -n "$data" ]; then
    echo "FAIL: the core has mutable global or static data: $data"
    exit 1
fi
echo "PASS: freestanding, no mutable globals"
