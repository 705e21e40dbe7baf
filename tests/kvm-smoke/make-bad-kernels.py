#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Malformed kernels for hvshim-kvm's loader error tests.

make-bad-kernels.py SMOKE_ELF OUTDIR writes:
  truncated.elf   the smoke guest cut after its multiboot header: the ELF
                  program headers point past the end of the file
  old-bzimage     a Linux setup header ("HdrS") of boot protocol 2.02,
                  which has no 64-bit entry point
  short-bzimage   a 2.15 setup header whose protected-mode kernel would
                  start beyond the end of the file
"""
import os
import struct
import sys

elf, out = sys.argv[1], sys.argv[2]
with open(elf, "rb") as f:
    data = f.read()
# The multiboot header sits at the start of the first segment (file offset
# 0x1000); keep a little of it.
with open(os.path.join(out, "truncated.elf"), "wb") as f:
    f.write(data[:0x1040])


def setup_header(version, setup_sects, xloadflags, size):
    img = bytearray(size)
    img[0x1F1] = setup_sects
    img[0x201] = 0x6A                     # header length - 0x202
    img[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", img, 0x206, version)
    struct.pack_into("<H", img, 0x236, xloadflags)
    return img


with open(os.path.join(out, "old-bzimage"), "wb") as f:
    f.write(setup_header(0x0202, 4, 0, 0x2000))
with open(os.path.join(out, "short-bzimage"), "wb") as f:
    f.write(setup_header(0x020F, 30, 1, 0x1000))
