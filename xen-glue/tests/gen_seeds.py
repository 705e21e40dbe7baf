#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Seeds for fuzz_xen_restore.c (run from this directory): a viridian mask,
Xen's VIRIDIAN_DOMAIN record, two VIRIDIAN_VCPU records, as a Linux guest
under Xen's own viridian would have left them."""
import struct

PAGE = 4096


def domain(hypercall, os_id, ref, tsc):
    return struct.pack('<4Q', hypercall, os_id, ref, tsc)


def vcpu(assist, pending, simp, sints, configs, counts):
    return (struct.pack('<QB7xQ', assist, pending, simp) +
            struct.pack('<16Q', *sints) + struct.pack('<4Q', *configs) +
            struct.pack('<4Q', *counts))


masked = [1 << 16] * 16
linux_sints = list(masked)
linux_sints[2] = 0xF3 | (1 << 17)
linux_os = 0x8100000601C00000

seeds = {
    'libxl-default': struct.pack('<Q', 0x1865) +
        domain(2 * PAGE | 1, linux_os, 123456789, 0) +
        vcpu(3 * PAGE | 1, 0, 0, masked, [0] * 4, [0] * 4) * 2,
    'stimer-message': struct.pack('<Q', 0x1FD) +
        domain(2 * PAGE | 1, linux_os, 5000, 4 * PAGE | 1) +
        vcpu(5 * PAGE | 1, 1, 6 * PAGE | 1, linux_sints, [0x20009, 0, 0, 0], [100000, 0, 0, 0]) +
        vcpu(7 * PAGE | 1, 0, 8 * PAGE | 1, linux_sints, [0x2000B, 0, 0, 0], [0, 0, 0, 0]),
    'hvshim-all': struct.pack('<Q', 0x1FFFFD) +
        domain(2 * PAGE | 1, linux_os, 1, 4 * PAGE | 1) +
        vcpu(5 * PAGE | 1, 0, 6 * PAGE | 1, linux_sints, [0x1ED9, 0, 0, 0], [99, 0, 0, 0]) * 2,
    'quirks': struct.pack('<Q', 0x1FFF) +
        domain(2 * PAGE | 0xFFF, 0, 7, 4 * PAGE | 0xFFE) +
        vcpu(5 * PAGE | 0xFFF, 9, 6 * PAGE | 0xFFF, [0xFFFFFFFFFFFFFFFF] * 16,
             [0xFFFFFFFFFFFFFFFF] * 4, [0] * 4),
}
for name, data in seeds.items():
    with open('corpus/xen-restore/' + name, 'wb') as f:
        f.write(data)
