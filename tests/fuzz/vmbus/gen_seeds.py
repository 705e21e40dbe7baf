#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Seed corpora for the VMBus fuzz targets (tests/fuzz/corpus/vmbus-*).

Each seed is a valid, interesting input in the target's own format (see
the comment at the top of each fuzz_*.c): Linux 6.1's handshake and
channel bring-up, multi-message GPADLs, wrapped rings, integration-service
answers. Run from this directory; it rewrites the seed directories.
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


def v(major, minor):
    return major << 16 | minor


# ------------------------------------------------------------ messages

def initiate(version, target=0, m1=4096, m2=8192):
    intr = 2 if version >= v(5, 0) else 0x3000
    return struct.pack('<IIIIQQQ', 14, 0, version, target, intr, m1, m2)


def gpadl_header(relid, handle, pfns, buflen=None, count=1, in_header=None):
    n = len(pfns) if in_header is None else in_header
    buflen = 8 + 8 * len(pfns) if buflen is None else buflen
    return (struct.pack('<IIIIHH', 8, 0, relid, handle, buflen, count) +
            struct.pack('<II', len(pfns) * 4096, 0) +
            b''.join(struct.pack('<Q', p) for p in pfns[:n]))


def gpadl_body(handle, pfns):
    return struct.pack('<IIII', 9, 0, 0, handle) + b''.join(struct.pack('<Q', p) for p in pfns)


def open_channel(relid, gpadl, offset, vp=0):
    return struct.pack('<IIIIIII', 5, 0, relid, relid, gpadl, vp, offset) + bytes(120)


def post(msg, conn=1, vp=0):
    return bytes([0, vp, 0 if conn == 1 else 1, len(msg)]) + msg


def msg_seeds():
    req = struct.pack('<II', 3, 0)
    hs = post(initiate(v(5, 3)), conn=4) + post(req)
    # echo device is relid 1: ring GPADL of 8 pages at page 16, open 4+4
    ring = list(range(16, 24))
    open1 = post(gpadl_header(1, 0xE1E10, ring)) + post(open_channel(1, 0xE1E10, 4))
    write('vmbus-msg', 'linux-handshake', hs)
    write('vmbus-msg', 'linux-open-echo', hs + open1)
    # fallback: refused 5.3 (bad SINT), then 4.0 on connection 1
    bad = bytearray(initiate(v(5, 3)))
    bad[16] = 3
    write('vmbus-msg', 'version-fallback',
          post(bytes(bad), conn=4) + post(initiate(v(4, 0))) + post(req))
    # multi-message GPADL: 60 pages, 26 + 28 + 6
    big = list(range(40, 100))
    write('vmbus-msg', 'gpadl-multi',
          hs + post(gpadl_header(1, 7, big, in_header=26)) +
          post(gpadl_body(7, big[26:54])) + post(gpadl_body(7, big[54:])) +
          post(struct.pack('<IIII', 11, 0, 1, 7)))
    # UNLOAD then contact again (kexec)
    write('vmbus-msg', 'unload-recontact',
          hs + open1 + post(struct.pack('<II', 16, 0)) + hs)
    # bring-up via the driver, traffic both ways, time, save/load, traffic
    traffic = b''
    for ch in range(5):
        traffic += bytes([0x0b, ch, 4]) + bytes(range(32))
        traffic += bytes([0x0c, ch])
    write('vmbus-msg', 'bringup-traffic-save',
          bytes([0x0a, 7, 2]) + traffic + bytes([0x03, 0xd0, 0x07]) + bytes([0x09]) +
          traffic + bytes([0x08, 0, 2, 0x08, 1, 0, 0x03, 0x10, 0x27]))
    # corrupt the echo ring's write index, then signal it
    write('vmbus-msg', 'broken-ring',
          hs + open1 + bytes([0x04, 0x00, 0x00, 0x01, 4, 0xff, 0xff, 0, 0]) + bytes([0x01, 1]))
    # busy SynIC slot with a burst of offers, then EOMs
    write('vmbus-msg', 'busy-backlog',
          bytes([0x05]) + hs + bytes([0x02, 0x05, 0x02, 0x02]))
    # MODIFYCHANNEL at 5.3 and a rescind + release
    write('vmbus-msg', 'modify-rescind',
          hs + open1 + post(struct.pack('<IIII', 22, 0, 1, 1)) + bytes([0x07, 2]) +
          post(struct.pack('<III', 13, 0, 2)))


# --------------------------------------------------------------- GPADL

def gpadl_seeds():
    def hdr(relid, handle, count, buflen, data):
        return bytes([0, relid, handle]) + struct.pack('<HH', count, buflen) + \
            bytes([len(data)]) + data
    one = struct.pack('<QQQ', 2 * 4096, 0x10, 0x11)
    write('vmbus-gpadl', 'single', hdr(1, 1, 1, 24, one) + bytes([2, 1, 1]))
    pfns = b''.join(struct.pack('<Q', 0x100 + i) for i in range(40))
    rng = struct.pack('<Q', 40 * 4096)
    write('vmbus-gpadl', 'multi-message',
          hdr(1, 2, 1, 8 + 320, rng + pfns[:26 * 8]) +
          bytes([1, 2, 112]) + pfns[26 * 8:40 * 8] + bytes([3, 2, 2, 1, 2, 4, 2]))
    multi = struct.pack('<QQQQQ', 100 | 4000 << 32, 0x10, 0x11, 4096, 0x20)
    write('vmbus-gpadl', 'multi-range', hdr(3, 3, 2, 40, multi) + bytes([5, 3]))
    write('vmbus-gpadl', 'duplicate', hdr(1, 4, 1, 24, one) + hdr(1, 4, 1, 24, one))


# ---------------------------------------------------------------- rings

def packet(ptype, trans, payload, prev, extra=b''):
    off8 = (16 + len(extra)) // 8
    padded = payload + bytes((-len(payload)) % 8)
    len8 = (16 + len(extra) + len(padded)) // 8
    return struct.pack('<HHHHQ', ptype, off8, len8, 0, trans) + extra + padded + \
        struct.pack('<Q', prev << 32)


def ring_seed(pages, packets, start=0, buflen=4096):
    size = (pages - 1) * 4096
    data = bytearray(size)
    pos = start
    for p in packets:
        for b in p:
            data[pos] = b
            pos = (pos + 1) % size
    head = struct.pack('<BIIIII', pages - 2, pos, start, 0, 0, 1) + struct.pack('<H', buflen)
    return head + bytes(data[:6000])


def ring_seeds():
    a = packet(6, 1, b'hello world', 0)
    b = packet(11, 2, bytes(100), len(a))
    write('vmbus-ring', 'two-packets', ring_seed(2, [a, b]) + struct.pack('<IH', 0, 64) * 4)
    # wrapped: start 40 bytes before the end of a 4 KiB data area
    c = packet(6, 3, bytes(range(200)), 4096 - 40)
    write('vmbus-ring', 'wrapped', ring_seed(2, [c], start=4096 - 40))
    xfer = struct.pack('<HBBI', 0xCAFE, 0, 0, 2) + struct.pack('<IIII', 100, 0, 200, 4096)
    write('vmbus-ring', 'xfer-pages', ring_seed(3, [packet(7, 4, bytes(40), 0, xfer)]))
    gpa = struct.pack('<II', 0, 1) + struct.pack('<IIQQ', 5000, 100, 0x111, 0x222)
    write('vmbus-ring', 'gpa-direct', ring_seed(3, [packet(9, 5, bytes(64), 0, gpa)]))
    writes = b''.join(struct.pack('<IH', r, l) for r, l in
                      [(0, 1000), (0, 1000), (0, 3000), (1032, 500), (5000, 8), (8, 8)])
    write('vmbus-ring', 'writer', ring_seed(3, []) + writes)


# --------------------------------------------------------- IC parsers

def ic_msg(msgtype, body, flags=5, status=0, fw=(3, 0), mv=(3, 0)):
    hdr = struct.pack('<HHHHHHIBB2x', fw[0], fw[1], msgtype, mv[0], mv[1], len(body),
                      status, 0, flags)
    return struct.pack('<II', 1, 20 + len(body)) + hdr + body


def negotiate_answer(fw, ver):
    return ic_msg(0, struct.pack('<HHI', 1, 1, 0) + struct.pack('<HHHH', fw[0], fw[1], *ver),
                  fw=(0, 0), mv=(0, 0))


def utf16(s):
    return s.encode('utf-16-le') + b'\0\0'


def kvp_value(key, value):
    k, val = utf16(key), utf16(value)
    return struct.pack('<III', 1, len(k), len(val)) + k.ljust(512, b'\0') + val.ljust(2048, b'\0')


def ic_seeds():
    write('vmbus-ic', 'negotiate', bytes([0]) + negotiate_answer((3, 0), (3, 2)))
    write('vmbus-ic', 'negotiate-none',
          bytes([0]) + ic_msg(0, struct.pack('<HHIHHHH', 0, 0, 0, 0, 0, 0, 0)))
    enum = struct.pack('<BBHI', 3, 2, 0, 0) + kvp_value('OSName', 'Debian GNU/Linux')
    write('vmbus-ic', 'kvp-enumerate', bytes([1, 3]) + struct.pack('<I', 0) + enum)
    get = struct.pack('<BBH', 0, 1, 0) + kvp_value('app', 'running')
    write('vmbus-ic', 'kvp-get', bytes([1, 0]) + struct.pack('<I', 0) + get)
    ip = bytearray(7428)
    ip[0] = 4
    ip[2:2 + 36] = '00:15:5D:00:00:01'.encode('utf-16-le')
    ip[258] = 1
    ip[260:260 + 18] = utf16('10.0.0.2')
    write('vmbus-ic', 'kvp-ip-info', bytes([1, 4]) + struct.pack('<I', 0) + bytes(ip))
    write('vmbus-ic', 'utf16', bytes([2]) + 'h\u00e9llo \u20ac \U0001F600'.encode('utf-16-le') +
          b'\x00\xd8x\x00')


def services_seeds():
    # channel order from fb_linux_bringup: echo, heartbeat, shutdown,
    # timesync, kvp (relids 1..5)
    def answer(ch, payload, keep=0):
        return bytes([0, ch, keep]) + struct.pack('<H', len(payload)) + payload
    nego = (answer(1, negotiate_answer((3, 0), (3, 0))) +
            answer(2, negotiate_answer((3, 0), (3, 2))) +
            answer(3, negotiate_answer((3, 0), (4, 0))) +
            answer(4, negotiate_answer((3, 0), (4, 0))))
    hb = answer(1, ic_msg(1, struct.pack('<Q', 2) + bytes(32)))
    write('vmbus-ic-services', 'negotiate-all', nego)
    write('vmbus-ic-services', 'heartbeat', nego + hb + bytes([1, 0xd0, 0x07]) +
          answer(1, ic_msg(1, struct.pack('<Q', 3) + bytes(32))))
    write('vmbus-ic-services', 'shutdown',
          nego + bytes([2, 0, 1]) + answer(2, ic_msg(3, bytes(2060), mv=(3, 2))))
    write('vmbus-ic-services', 'timesync',
          nego + answer(3, ic_msg(4, bytes(22), mv=(4, 0))) + bytes([1, 0x88, 0x13]) +
          answer(3, ic_msg(4, bytes(22), mv=(4, 0))))
    enum = struct.pack('<BBHI', 3, 2, 0, 0) + kvp_value('OSName', 'Linux')
    write('vmbus-ic-services', 'kvp',
          nego + bytes([2, 1, 0]) + answer(4, ic_msg(2, enum, mv=(4, 0))) +
          bytes([2, 2, 1]) + answer(4, ic_msg(2, bytes(7428), mv=(4, 0))))
    write('vmbus-ic-services', 'bad-answers',
          answer(1, negotiate_answer((2, 0), (3, 0))) + answer(2, bytes(10)) +
          answer(3, negotiate_answer((3, 0), (9, 9)), keep=0x80) + bytes([3, 4]))


if __name__ == '__main__':
    msg_seeds()
    gpadl_seeds()
    ring_seeds()
    ic_seeds()
    services_seeds()
