#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Boot hvconf under QEMU (TCG unless --accel says otherwise) and pass its
TAP output through. QEMU's isa-debug-exit status (code << 1) | 1 is turned
back into the guest's code: 1 -> 0 (all passed), 3 -> 1 (failures).

usage: run-qemu-tcg.py QEMU KERNEL [--smp N] [--accel A] [--cpu C]
                       [--append "groups=... verbose"] [--timeout S]
"""
import argparse
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("qemu")
    ap.add_argument("kernel")
    ap.add_argument("--smp", default="2")
    ap.add_argument("--accel", default="tcg")
    ap.add_argument("--cpu", default=None)
    ap.add_argument("--append", default="")
    ap.add_argument("--timeout", type=int, default=240)
    a = ap.parse_args()

    cmd = [a.qemu, "-accel", a.accel, "-m", "256", "-smp", a.smp,
           "-kernel", a.kernel, "-serial", "stdio", "-display", "none",
           "-no-reboot", "-monitor", "none",
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    if a.cpu:
        cmd += ["-cpu", a.cpu]
    if a.append:
        cmd += ["-append", a.append]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=a.timeout)
    except subprocess.TimeoutExpired as e:
        sys.stdout.write((e.stdout or b"").decode("utf-8", "replace"))
        print("Bail out! QEMU timed out after %d s" % a.timeout)
        return 1
    out = p.stdout.decode("utf-8", "replace").replace("\r\n", "\n")
    sys.stdout.write(out)
    if p.returncode == 1:
        return 0
    if p.returncode == 3:
        return 1
    print("Bail out! QEMU exited with status %d (no debug-exit?)" % p.returncode)
    return 1


if __name__ == "__main__":
    sys.exit(main())
