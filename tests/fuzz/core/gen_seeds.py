#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpora of the core fuzz targets.

corpus/hypercall: one file per hypercall form (slow, fast, XMM, rep,
variable header, each call, plus the #UD and denial paths), in the layout
fuzz_hypercall.c reads. corpus/msr: Linux 6.1's boot-time MSR sequence
(docs: linux-guest.md section 3), SynIC setup with message and direct
stimers, and crash reporting, in fuzz_msr.c's 12-byte records.

Run from this directory: ./gen_seeds.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "corpus")

ALL_FEATURES = (1 << 32) - 1
LONG, PROTECTED, REAL = 2, 1, 0
FAST = 1 << 16
IN, OUT = 0x1000, 0x2000


def varhead(n):
    return n << 17


def reps(n):
    return n << 32


def hypercall(control, rdx=IN, r8=OUT, page=(), xmm=(), features=ALL_FEATURES, nr_vps=4,
              vp=0, mode=LONG, cpl=0, preempt=0, host_status=0):
    head = struct.pack("<Q8B", features, nr_vps - 1, vp, mode, cpl, preempt, host_status, 0, 0)
    regs = struct.pack("<3Q", control, rdx, r8)
    xmm = list(xmm) + [0] * (12 - len(xmm))
    body = struct.pack("<12Q", *xmm)
    data = b"".join(struct.pack("<Q", q) if isinstance(q, int) else q for q in page)
    return head + regs + body + data


def post_message(conn, type_, size, rsvd=0):
    payload = bytes(range(16, 256))
    return [struct.pack("<IIII", conn, rsvd, type_, size) + payload]


HYPERCALL_SEEDS = {
    "switch_as_fast": hypercall(0x0001 | FAST, rdx=0x5000, r8=0),
    "switch_as_slow": hypercall(0x0001, page=[0x6000]),
    "flush_space_slow": hypercall(0x0002, page=[0x7000, 0, 0x3]),
    "flush_space_all": hypercall(0x0002, page=[0, 0x7, 0]),
    "flush_space_xmm": hypercall(0x0002 | FAST, rdx=0x7000, r8=0, xmm=[0x5]),
    "flush_list_slow": hypercall(0x0003 | reps(3), page=[0x7000, 0, 0x1, 0x10000, 0x20005, 0x30FFF]),
    "flush_list_preempt": hypercall(0x0003 | reps(8), preempt=0x55,
                                    page=[0x7000, 0, 0xF] + [0x1000 * i for i in range(8)]),
    "flush_list_xmm": hypercall(0x0003 | FAST | reps(2), rdx=0x7000, r8=0, xmm=[1, 0x4000, 0x8001]),
    "flush_space_ex": hypercall(0x0013 | varhead(2), page=[0x7000, 0, 0, 0x3, 0x1, 0x2]),
    "flush_space_ex_all": hypercall(0x0013, page=[0, 0x2, 1, 0]),
    "flush_space_ex_xmm": hypercall(0x0013 | FAST | varhead(1), rdx=0x7000, r8=0, xmm=[0, 1, 0xF]),
    "flush_list_ex": hypercall(0x0014 | varhead(1) | reps(2), preempt=0x1,
                               page=[0x7000, 0, 0, 0x1, 0x6, 0x9000, 0xA003]),
    "spin_wait": hypercall(0x0008 | FAST, rdx=2047, r8=0),
    "ipi_fast": hypercall(0x000B | FAST, rdx=0xF3, r8=0x3),
    "ipi_slow": hypercall(0x000B, page=[0x40, 0xF]),
    "ipi_protected_mode": hypercall(0x000B, mode=PROTECTED, page=[0x41, 0x2]),
    "ipi_ex": hypercall(0x0015 | varhead(1), page=[0x50, 0, 0x1, 0x5]),
    "ipi_ex_all": hypercall(0x0015, page=[0x50, 1, 0]),
    "ipi_ex_xmm": hypercall(0x0015 | FAST | varhead(1), rdx=0x60, r8=0, xmm=[1, 0x3]),
    "post_message": hypercall(0x005C, page=post_message(4, 1, 16)),
    "post_message_busy": hypercall(0x005C, host_status=1, page=post_message(1, 1, 240)),
    "post_message_event_conn": hypercall(0x005C, page=post_message(0x2001, 1, 8)),
    "signal_event_fast": hypercall(0x005D | FAST, rdx=(3 << 32) | 0x2001, r8=0),
    "signal_event_slow": hypercall(0x005D, page=[(5 << 32) | 0x2002]),
    "ext_query_slow": hypercall(0x8001, rdx=0),
    "ext_query_fast": hypercall(0x8001 | FAST, rdx=0, r8=0),
    "ext_unreported": hypercall(0x8002),
    "get_partition_id": hypercall(0x0046),
    "unknown_code": hypercall(0x0099),
    "reserved_bits": hypercall(0x000B | FAST | (1 << 60), rdx=0x30, r8=1),
    "ud_cpl3": hypercall(0x000B | FAST, rdx=0x30, r8=1, cpl=3),
    "ud_real_mode": hypercall(0x000B | FAST, rdx=0x30, r8=1, mode=REAL),
    "no_features": hypercall(0x0002, features=0, page=[0, 1, 1]),
    "gate_denied": hypercall(0x0002, features=1, page=[0, 1, 1]),
    "misaligned": hypercall(0x0002, rdx=IN + 4, page=[0, 0, 1]),
}

# fuzz_msr.c ops
READ, WRITE, ADVANCE, EXPIRE, POLL, EOI, HOST_POST, HOST_SIGNAL, ASSIST = range(9)


def rec(op, vp=0, msr=0, value=0):
    return struct.pack("<BBHQ", op, vp, msr & 0x1FF, value)


def linux_boot():
    r = [rec(READ, 0, 0x105)]                              # CRASH_CTL capabilities
    for vp in (0, 1):
        r += [rec(READ, vp, 0x002), rec(WRITE, vp, 0x073, ((8 + vp) << 12) | 1)]
    r += [rec(WRITE, 0, 0x000, 0x8100000601C00000),        # GUEST_OS_ID
          rec(READ, 0, 0x001), rec(WRITE, 0, 0x001, (3 << 12) | 1),  # HYPERCALL
          rec(READ, 0, 0x021), rec(WRITE, 0, 0x021, (4 << 12) | 1),  # REFERENCE_TSC
          rec(WRITE, 0, 0x118, 1),                         # TSC_INVARIANT_CONTROL
          rec(READ, 0, 0x022), rec(READ, 0, 0x023),        # frequencies
          rec(READ, 0, 0x020), rec(ADVANCE, value=500000), rec(READ, 1, 0x020)]
    # direct-mode stimer 0: vector 0xED, absolute COUNT
    for vp in (0, 1):
        r += [rec(WRITE, vp, 0x0B0, 0x1ED9), rec(WRITE, vp, 0x0B1, 20000 + vp)]
    r += [rec(ADVANCE, value=3000000), rec(POLL, 0), rec(POLL, 1),
          rec(WRITE, 0, 0x070, 0),                         # EOI MSR
          rec(ASSIST, 0, value=(0xED << 8) | 1), rec(ASSIST, 0, value=0),
          rec(WRITE, 0, 0x0B1, 0), rec(WRITE, 0, 0x0B0, 0)]  # shutdown
    return b"".join(r)


def synic_setup():
    r = []
    for vp in (0, 1):
        simp, siefp = 5 + 2 * vp, 6 + 2 * vp
        r += [rec(READ, vp, 0x083), rec(WRITE, vp, 0x083, (simp << 12) | 1),
              rec(READ, vp, 0x082), rec(WRITE, vp, 0x082, (siefp << 12) | 1),
              rec(READ, vp, 0x092), rec(WRITE, vp, 0x092, 0x200F3),  # SINT2, AutoEOI
              rec(READ, vp, 0x080), rec(WRITE, vp, 0x080, 1)]
    # VMBus's message-mode stimer: enable | auto_enable | SINT2
    r += [rec(WRITE, 0, 0x0B0, 0x20009), rec(WRITE, 0, 0x0B1, 30000),
          rec(ADVANCE, value=4000000), rec(POLL, 0),
          rec(HOST_POST, 0, value=(1 << 32) | (64 << 16) | 2),
          rec(HOST_POST, 0, value=(1 << 32) | (8 << 16) | 2),
          rec(WRITE, 0, 0x084, 0),                         # EOM
          rec(HOST_SIGNAL, 1, value=(5 << 8) | 2), rec(EOI, 1, value=0xF3),
          rec(POLL, 1)]
    return b"".join(r)


def periodic_stimer():
    r = [rec(WRITE, 0, 0x083, (5 << 12) | 1), rec(WRITE, 0, 0x092, 0x40),
         rec(WRITE, 0, 0x080, 1),
         rec(WRITE, 0, 0x0B0, 0x2000B), rec(WRITE, 0, 0x0B1, 10000)]
    for _ in range(6):
        r += [rec(ADVANCE, value=1500000), rec(POLL, 0), rec(WRITE, 0, 0x084, 0)]
    r += [rec(EXPIRE, 0, value=0), rec(WRITE, 0, 0x0B0, 0)]
    return b"".join(r)


def crash_report():
    r = [rec(WRITE, 0, 0x100 + i, 0x1111 * (i + 1)) for i in range(5)]
    r += [rec(READ, 0, 0x105), rec(WRITE, 0, 0x105, 1 << 63)]
    r += [rec(WRITE, 1, 0x103, 10 << 12), rec(WRITE, 1, 0x104, 64),
          rec(WRITE, 1, 0x105, (1 << 63) | (1 << 62))]
    return b"".join(r)


MSR_SEEDS = {
    "linux_boot": linux_boot(),
    "synic_setup": synic_setup(),
    "stimer_periodic": periodic_stimer(),
    "crash_report": crash_report(),
}


def write(name, seeds):
    d = os.path.join(CORPUS, name)
    os.makedirs(d, exist_ok=True)
    for fname, data in seeds.items():
        with open(os.path.join(d, fname), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("hypercall", HYPERCALL_SEEDS)
    write("msr", MSR_SEEDS)
