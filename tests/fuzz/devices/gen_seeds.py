#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Seed corpora for the device fuzz targets (tests/fuzz/corpus/devices-*).

Each seed is a meaningful input in the target's own format (see the comment
at the top of each fuzz_*.c): Linux 6.1's NIC bring-up and traffic, the
storvsc init and probe scan with I/O, RNDIS control and data messages, and
the SCSI commands Linux's sd driver issues. Run from this directory; it
rewrites the seed directories.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, '..', 'corpus')


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(bytes(data))


def u8(v):
    return struct.pack('<B', v & 0xFF)


def u16(v):
    return struct.pack('<H', v & 0xFFFF)


def u32(v):
    return struct.pack('<I', v & 0xFFFFFFFF)


# ------------------------------------------------------------------ RNDIS

RNDIS_PACKET, RNDIS_INIT, RNDIS_HALT, RNDIS_QUERY, RNDIS_SET = 1, 2, 3, 4, 5
RNDIS_KEEPALIVE = 8
OIDS = {
    'max_frame': 0x00010106, 'mac': 0x01010101, 'name': 0x00020216,
    'hwcaps': 0xFC01020D, 'offload': 0xFC01020C, 'link': 0x00010114,
    'speed': 0x00010107, 'rss': 0x00010203, 'filter': 0x0001010E,
}


def rndis_init(req=1):
    return struct.pack('<IIIIII', RNDIS_INIT, 24, req, 1, 0, 0x4000)


def rndis_query(oid, req=2, info=b''):
    return struct.pack('<IIIIII', RNDIS_QUERY, 28 + len(info), req, oid, len(info), 20) + \
        u32(0) + info


def rndis_set(oid, value, req=3):
    return struct.pack('<IIIIII', RNDIS_SET, 28 + len(value), req, oid, len(value), 20) + \
        u32(0) + value


def rndis_packet(frame, pad=0, vlan=None):
    ppi = b''
    if vlan is not None:
        ppi = struct.pack('<III', 16, 6, 12) + u32(vlan)
    hdr = struct.pack('<IIIIIIIIIII', RNDIS_PACKET, 44 + len(ppi) + len(frame) + pad,
                      36 + len(ppi), len(frame), 0, 0, 0, 36 if ppi else 0, len(ppi), 0, 0)
    return hdr + ppi + frame + bytes(pad)


def frame(dst, n, ethertype=0x0800):
    body = bytes((i * 7) & 0xFF for i in range(n - 14))
    return dst + b'\x02\x00\x00\x00\x00\x01' + struct.pack('>H', ethertype) + body


NIC_MAC = None  # derived in the fixture; seeds use "mine" flags instead


def rndis_seeds():
    offload_hdr = bytes([0xA7, 3, 156, 0]) + bytes(152)
    seeds = {
        'init': u8(5) + rndis_init(),
        'query-mac': u8(5) + rndis_query(OIDS['mac']),
        'query-hwcaps-v4': u8(2) + rndis_query(OIDS['hwcaps'], info=offload_hdr[:144]),
        'query-hwcaps-v61': u8(5) + rndis_query(OIDS['hwcaps'], info=offload_hdr),
        'set-offload': u8(5) + rndis_set(OIDS['offload'], bytes([0x80, 3, 40, 0]) + bytes(36)),
        'set-filter': u8(5) + rndis_set(OIDS['filter'], u32(0x0D)),
        'keepalive': u8(5) + struct.pack('<III', RNDIS_KEEPALIVE, 12, 9),
        'halt': u8(5) + struct.pack('<III', RNDIS_HALT, 12, 9),
        'packets-batched': u8(5) + rndis_packet(frame(b'\xff' * 6, 60), pad=0) +
        rndis_packet(frame(b'\x00\x15\x5d\x01\x02\x03', 61), pad=3) +
        rndis_packet(frame(b'\x01\x00\x5e\x00\x00\x01', 100)),
        'packet-vlan': u8(5) + rndis_packet(frame(b'\x00\x15\x5d\x01\x02\x03', 64),
                                           vlan=3 | 100 << 4),
    }
    for name, data in seeds.items():
        write('devices-rndis', name, data)


# -------------------------------------------------------------------- NIC

def nv_write(page, off, data):
    """op 2: write guest memory; page counts from the receive buffer (16)."""
    out = b''
    while data:
        chunk, data = data[:255], data[255:]
        out += u8(2) + u8(page - 16) + u16(off) + u8(len(chunk)) + chunk
        off += len(chunk)
    return out


def nv_rndis_pkt(chan, sec, size, ranges=()):
    """op 1: SEND_RNDIS_PKT; ranges = [(page_index_in_scratch, off, len)]."""
    out = u8(1) + u8(chan) + u8(sec) + u16(size) + u8(len(ranges))
    for page, off, ln in ranges:
        out += u8(0) + u16(off) + u16(ln) + u8(page)
    return out


def nv_frame(n, mine=True, ethertype=0x0800):
    f = frame(b'\x00' * 6, n, ethertype)
    return u8(5) + u8(1 if mine else 0) + u16(len(f)) + f


def nv_drain(n=255):
    return u8(4) + u8(n)


def nv_complete_all(k=8):
    return b''.join(u8(3) + u8(0) for _ in range(k))


def nvsp_inline(mtype_index, body=b'', flags=1, tid=7):
    return u8(0) + u8(mtype_index) + u8(flags) + u16(tid) + body.ljust(36, b'\0')[:36]


def nic_seeds():
    SEND = 48
    msg = rndis_packet(frame(b'\x02\x00\x00\x00\x00\x09', 60))
    seeds = {
        # Bring-up, then traffic both ways.
        'linux-rx': u8(1) + nv_frame(1514) + nv_frame(60) + nv_drain() + nv_complete_all() +
        nv_frame(200) + nv_drain(),
        'linux-tx-section': u8(1) + nv_write(SEND, 0, msg) + nv_rndis_pkt(0, 0, len(msg)) +
        nv_drain(),
        'linux-tx-gpa': u8(1) + nv_write(56, 0, msg) + nv_rndis_pkt(0, 0xFF, 0, [(0, 0, len(msg))]) +
        nv_drain(),
        'linux-query': u8(1) + nv_write(56, 64, rndis_query(OIDS['hwcaps'])) +
        nv_rndis_pkt(1, 0xFF, 0, [(0, 64, 28)]) + nv_drain() + nv_complete_all(2),
        'link-flap': u8(1) + u8(7) + nv_drain() + u8(7) + nv_drain() + nv_complete_all(2),
        'revoke': u8(1) + nvsp_inline(5, flags=0) + nvsp_inline(6, flags=0) + nv_frame(100) +
        nv_drain(),
        # By hand: INIT 6.1 then buffers, then a batched send section.
        'manual-init': nvsp_inline(0, struct.pack('<II', 0x60001, 0x60001)) +
        nvsp_inline(3, struct.pack('<IH', 0x100, 0xCAFE)) +
        nvsp_inline(4, struct.pack('<IH', 0x101, 0)) + nv_drain(),
        # op 8: kind, oid, extra length, then the message from byte 8 on
        'control-msgs': u8(1) +
        u8(8) + u8(1) + u32(OIDS['mac']) + u8(0) + struct.pack('<IIIII', 5, OIDS['mac'], 0, 20, 0) +
        u8(8) + u8(2) + u32(OIDS['filter']) + u8(4) +
        struct.pack('<IIIIII', 6, OIDS['filter'], 4, 20, 0, 0x20) + nv_drain(),
    }
    for name, data in seeds.items():
        write('devices-nvsp', name, data)


# ------------------------------------------------------------------- SCSI

def srb_op(op_index, version=0, tid=0xFFFD):
    return u8(0) + u8(op_index) + u16(version) + u16(tid)


def srb(cdb, direction, length, lun=0, target=0, chan=0, ranges=(), tid=1):
    addr = lun & 3 | (target & 1) << 2 | (chan & 1) << 3
    out = u8(1) + u8(addr) + u8(len(cdb)) + bytes(cdb).ljust(16, b'\0') + \
        u8(direction | 20 << 2) + u32(length) + u8(len(ranges))
    for page, off, ln in ranges:
        out += u8(0) + u16(off) + u16(ln) + u8(page)
    return out + u16(tid)


def scsi_write(page, off, data):
    out = b''
    while data:
        chunk, data = data[:255], data[255:]
        out += u8(2) + u8(page) + u16(off) + u8(len(chunk)) + chunk
        off += len(chunk)
    return out


INQ = [0x12, 0, 0, 0, 36, 0]
VPD = lambda page: [0x12, 1, page, 0, 255, 0]   # noqa: E731
RL = [0xA0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0]
RC16 = [0x9E, 0x10] + [0] * 11 + [32, 0, 0]
MS6 = [0x1A, 0, 0x3F, 0, 192, 0]
TUR = [0, 0, 0, 0, 0, 0]
SYNC = [0x35] + [0] * 9


def rw10(op, lba, blocks):
    return [op, 0] + list(struct.pack('>I', lba)) + [0] + list(struct.pack('>H', blocks)) + [0]


def storvsc_seeds():
    init = srb_op(0) + srb_op(1, 0x0602) + srb_op(2) + srb_op(3) + u8(3) + u8(8)
    read = 1
    seeds = {
        'init': init,
        'init-fallback': srb_op(0) + srb_op(1, 0x0700) + srb_op(1, 0x0600) + srb_op(2) +
        srb_op(3) + u8(3) + u8(8),
        'scan': init + srb(INQ, read, 36, ranges=[(0, 0, 36)]) +
        srb(RL, read, 4096, ranges=[(0, 0, 4096)]) +
        srb(INQ, read, 36, lun=1, ranges=[(0, 0, 36)]) +
        srb(INQ, read, 36, target=1, ranges=[(0, 0, 36)]) +
        srb(TUR, 2, 0, lun=1) + u8(3) + u8(16),
        'revalidate': init + srb(TUR, 2, 0) + srb(RC16, read, 32, ranges=[(1, 0, 32)]) +
        srb(VPD(0), read, 255, ranges=[(1, 0, 255)]) + srb(VPD(0xB0), read, 64, ranges=[(1, 0, 64)]) +
        srb(VPD(0xB2), read, 64, ranges=[(1, 0, 64)]) + srb(MS6, read, 192, ranges=[(1, 0, 192)]) +
        u8(3) + u8(16),
        'io': init + scsi_write(2, 0, bytes(range(255))) +
        srb(rw10(0x2A, 8, 8), 0, 4096, ranges=[(2, 0, 4096)]) + u8(5) +
        srb(rw10(0x28, 8, 8), read, 4096, ranges=[(3, 0, 4096)]) + u8(5) +
        srb(SYNC, 2, 0) + u8(5) + u8(3) + u8(16),
        'unmap': init + scsi_write(4, 0, struct.pack('>HHI', 22, 16, 0) + struct.pack('>QII', 8, 8, 0)) +
        srb([0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0], 0, 24, ranges=[(4, 0, 24)]) + u8(5) + u8(3) + u8(8),
        'read-only-write': init + srb(rw10(0x2A, 0, 1), 0, 512, lun=2, ranges=[(5, 0, 512)]) +
        u8(5) + u8(3) + u8(8),
        'hotplug': init + srb(TUR, 2, 0) + u8(4) + u8(1) + u8(3) + u8(8) + u8(4) + u8(0) +
        srb(TUR, 2, 0) + u8(3) + u8(8),
    }
    for name, data in seeds.items():
        write('devices-srb', name, data)


def scsi_case(cdb, buflen, blocks=2048, flags=0, data=b''):
    return u16(blocks) + u8(flags) + u8(len(cdb)) + bytes(cdb).ljust(16, b'\0') + \
        u32(buflen) + data


def scsi_seeds():
    seeds = {
        'inquiry': scsi_case(INQ, 36),
        'vpd-00': scsi_case(VPD(0), 255),
        'vpd-83': scsi_case(VPD(0x83), 255),
        'vpd-b0': scsi_case(VPD(0xB0), 255),
        'rc16': scsi_case(RC16, 32),
        'rc10': scsi_case([0x25] + [0] * 9, 8),
        'mode-sense-all': scsi_case(MS6, 192),
        'mode-sense10-llbaa': scsi_case([0x5A, 0x10, 0x3F, 0, 0, 0, 0, 1, 0, 0], 256),
        'read10': scsi_case(rw10(0x28, 4, 8), 4096),
        'write16-fua': scsi_case([0x8A, 0x08] + [0] * 7 + [9, 0, 0, 0, 2, 0, 0], 1024,
                                 data=bytes(1024)),
        'write-ro': scsi_case(rw10(0x2A, 0, 1), 512, flags=1, data=bytes(512)),
        'unmap': scsi_case([0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0], 24,
                           data=struct.pack('>HHI', 22, 16, 0) + struct.pack('>QII', 8, 8, 0)),
        'write-same': scsi_case([0x41, 0, 0, 0, 0, 10, 0, 0, 4, 0], 512, data=bytes(range(256)) * 2),
        'write-same16-ndob': scsi_case([0x93, 1] + [0] * 7 + [20, 0, 0, 0, 8, 0, 0], 0),
        'report-luns': scsi_case(RL, 4096, flags=0xC0),
        'sync16': scsi_case([0x91] + [0] * 15, 0),
        'blocks4k': scsi_case(rw10(0x28, 1, 1), 4096, flags=4),
    }
    for name, data in seeds.items():
        write('devices-scsi', name, data)


if __name__ == '__main__':
    rndis_seeds()
    nic_seeds()
    storvsc_seeds()
    scsi_seeds()
