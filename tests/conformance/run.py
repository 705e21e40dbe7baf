#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run hvconf under some host and report its TAP output.

  run.py qemu QEMU KERNEL [--smp N] [--accel A] [--cpu C] [--append TEXT] [--timeout S]
      Boot the kernel with qemu-system-x86_64 (TCG by default).
  run.py exec [--append TEXT] [--resume] [--out FILE] [--timeout S] [--idle S]
              -- COMMAND...
      Run COMMAND; the argument @APPEND@ in it is replaced by the kernel
      command line. With --resume, a host that dies in the middle (no TAP
      plan line) is started again after the check it died in, until every
      check ran; the dead check is reported "not ok ... # host died". A host
      that prints nothing for --idle seconds counts as dead (a VP stuck in
      the host is beyond the guest's own watchdog).
      --deviation 'TEXT=WHY' (repeatable) marks a failing check whose
      description contains TEXT as a known, documented deviation of this host:
      TAP "not ok ... # TODO deviation: WHY" (an expected failure; the check
      still runs, and a pass shows up as a pass). Every use must be explained
      in docs/conformance.md.

The guest leaves through isa-debug-exit: status (code << 1) | 1, where code
0 means every check passed. This script exits 0 in that case, 1 otherwise,
and prints the (merged) TAP on stdout; --out also writes it to FILE.
"""
import argparse
import os
import re
import selectors
import signal
import subprocess
import sys
import time

CHECK_RE = re.compile(r"^(not ok|ok) (\d+) - (.*)$")


def run_once(cmd, append, timeout, idle):
    """Runs the host; kills it (its whole process group) after `timeout`
    seconds, or after `idle` seconds without a byte of guest output: a VP
    stuck inside the host cannot be rescued by the guest's own watchdog."""
    argv = [a.replace("@APPEND@", append) for a in cmd]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, start_new_session=True)
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    chunks, start, last = [], time.monotonic(), time.monotonic()
    killed = None
    while True:
        now = time.monotonic()
        if now - start > timeout or now - last > idle:
            killed = "timeout" if now - start > timeout else f"no output for {idle} s"
            break
        if sel.select(timeout=1.0):
            data = os.read(p.stdout.fileno(), 65536)
            if not data:
                break
            chunks.append(data)
            last = time.monotonic()
    if killed:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                break
            try:
                p.wait(timeout=10)
                break
            except subprocess.TimeoutExpired:
                continue
        sys.stderr.write(f"run.py: killed the host: {killed}\n")
    status = p.wait() if not killed else None
    out = b"".join(chunks)
    # Serial relays may add their own CR to the guest's CRLF: drop them all.
    return out.decode("utf-8", "replace").replace("\r", ""), status


def parse(text):
    """-> (lines, plan_seen, results) where results is a list of
    (group, index_in_group, line_index) for every check line."""
    lines = text.split("\n")
    group, idx, results, plan = None, 0, [], False
    for i, line in enumerate(lines):
        if line.startswith("# group "):
            group, idx = line[8:].strip(), 0
        elif CHECK_RE.match(line):
            idx += 1
            results.append((group, idx, i))
        elif re.match(r"^1\.\.\d+$", line):
            plan = True
    return lines, plan, results


def groups_after(text, group):
    """Group names from the first run's header order, from `group` on."""
    order = [l[8:].strip() for l in text.split("\n") if l.startswith("# group ")]
    return order[order.index(group):] if group in order else [group]


def renumber(lines, deviations=()):
    """Rewrite check numbers 1..N and the plan, drop old plans/summaries;
    mark declared deviations (TEXT, WHY) as TAP TODO."""
    out, n, npass, nfail, nskip, ndev = [], 0, 0, 0, 0, 0
    for line in lines:
        m = CHECK_RE.match(line)
        if m:
            n += 1
            rest = m.group(3)
            why = next((w for t, w in deviations if t in rest), None)
            if m.group(1) == "not ok" and why and "# " not in rest:
                rest += f" # TODO deviation: {why}"
                ndev += 1
            elif m.group(1) == "not ok":
                nfail += 1
            elif "# SKIP" in rest:
                nskip += 1
            else:
                npass += 1
            out.append(f"{m.group(1)} {n} - {rest}")
        elif re.match(r"^1\.\.\d+$", line) or line.startswith("# summary:"):
            continue
        else:
            out.append(line)
    while out and out[-1] == "":
        out.pop()
    out.append(f"1..{n}")
    out.append(f"# summary: {n} checks, {npass} passed, {nfail} failed, {nskip} skipped, "
               f"{ndev} known deviations")
    return out, nfail, ndev


def cmd_exec(a):
    text, status = run_once(a.command, a.append, a.timeout, a.idle)
    raw_log = [f"===== first run: {a.append}\n{text}"]
    lines, plan, results = parse(text)
    if a.resume and not plan:
        sys.stderr.write(f"run.py: first run: status {status}, {len(results)} checks, "
                         "no plan line: the host died\n")
    merged = list(lines)
    died_any = False
    tries = 0
    while a.resume and not plan and tries < 20:
        tries += 1
        died_any = True
        # The check after the last reported one is where the host died.
        if results:
            group, idx, _ = results[-1]
            # If the last line was the end of its group, we cannot know the
            # next group's name here; the guest prints "# group" first, so
            # a trailing "# group X" line tells us.
            tail = [l for l in lines[results[-1][2] + 1:] if l.startswith("# group ")]
            if tail:
                group, idx = tail[-1][8:].strip(), 0
        else:
            tail = [l for l in lines if l.startswith("# group ")]
            if not tail:
                break
            group, idx = tail[-1][8:].strip(), 0
        dead = idx + 1
        merged = [l for l in merged if not re.match(r"^1\.\.\d+$", l)]
        merged.append(f"not ok 0 - [§?] {group} check #{dead} # host died (see the .log)")
        skip = ",".join(f"{group}.{i}" for i in range(1, dead + 1))
        rest = ",".join(groups_after(text, group))
        append = f"{a.append} groups={rest} skip={skip}".strip()
        more, status = run_once(a.command, append, a.timeout, a.idle)
        mlines, plan, mresults = parse(more)
        raw_log.append(f"===== resumed run {tries}: {append}\n{more}")
        sys.stderr.write(f"run.py: resumed run {tries} ({append}): status {status}, "
                         f"{len(mresults)} checks, plan {'seen' if plan else 'missing'}\n")
        # Keep only what was not run before: the checks after `dead` in
        # `group` and the later groups (the self-tests run again; drop
        # them), each with its diagnostics.
        rest_list = rest.split(",")
        keep, cur_group, cur_idx, keeping = [], None, 0, False
        for l in mlines:
            if l.startswith("# group "):
                cur_group, cur_idx = l[8:].strip(), 0
                keeping = cur_group in rest_list
                if keeping:
                    keep.append(l)
            elif CHECK_RE.match(l):
                cur_idx += 1
                keeping = cur_group in rest_list and not (cur_group == group and cur_idx <= dead)
                if keeping:
                    keep.append(l)
            elif l.startswith("#   ") and keeping:
                keep.append(l)
        merged += keep
        text, lines, results = more, mlines, mresults
        # Re-anchor the dead-check name: patch the placeholder with the
        # check's real description if the resumed run printed it skipped.
        placeholder = f"[§?] {group} check #{dead}"
        in_group = [l for l in (mlines) if CHECK_RE.match(l) and f"skip={group}." in l]
        for l in mlines:
            m = CHECK_RE.match(l)
            if m and l.endswith(f"skip={group}.{dead}"):
                desc = m.group(3).split(" # SKIP")[0]
                merged = [x.replace(placeholder, desc) for x in merged]
                break
        else:
            if len(in_group) < dead:
                merged = [x.replace(placeholder, f"[§rt] after the last {group} check "
                                                 "(cleanup or exit)") for x in merged]

    deviations = [tuple(d.split("=", 1)) for d in getattr(a, "deviation", [])]
    out, nfail, ndev = renumber(merged, deviations)
    final = "\n".join(out) + "\n"
    sys.stdout.write(final)
    if a.out:
        with open(a.out, "w") as f:
            f.write(final)
        with open(a.out + ".log", "w") as f:
            f.write("\n".join(raw_log))
    if not plan:
        print("Bail out! the host stopped before the end of the run")
        return 1
    if died_any or nfail:
        return 1
    if status is None or status % 2 == 0:
        print(f"# host exit status {status}: not a debug-exit")
        return 1
    # The guest's own verdict counts every failure; only declared ones may remain.
    return 0 if status == 1 or ndev else 1


def cmd_qemu(a):
    cmd = [a.qemu, "-accel", a.accel, "-m", "256", "-smp", a.smp, "-kernel", a.kernel,
           "-serial", "stdio", "-display", "none", "-no-reboot", "-monitor", "none",
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-append", "@APPEND@"]
    if a.cpu:
        cmd[1:1] = ["-cpu", a.cpu]
    a.command, a.resume, a.out = cmd, False, None
    return cmd_exec(a)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    q = sub.add_parser("qemu")
    q.add_argument("qemu")
    q.add_argument("kernel")
    q.add_argument("--smp", default="2")
    q.add_argument("--accel", default="tcg")
    q.add_argument("--cpu", default=None)
    q.add_argument("--append", default="")
    q.add_argument("--timeout", type=int, default=240)
    q.add_argument("--idle", type=int, default=120)
    e = sub.add_parser("exec")
    e.add_argument("--append", default="")
    e.add_argument("--resume", action="store_true")
    e.add_argument("--out", default=None)
    e.add_argument("--timeout", type=int, default=1800)
    e.add_argument("--idle", type=int, default=180,
                   help="kill the host after this many seconds without output")
    e.add_argument("--deviation", action="append", default=[], metavar="TEXT=WHY",
                   help="a known deviation of this host (see above)")
    e.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    if a.mode == "exec":
        for d in a.deviation:
            if "=" not in d or not d.split("=", 1)[0] or not d.split("=", 1)[1]:
                ap.error(f"--deviation: '{d}' is not TEXT=WHY")
        if a.command and a.command[0] == "--":
            a.command = a.command[1:]
        if not a.command:
            ap.error("exec: no command")
        return cmd_exec(a)
    return cmd_qemu(a)


if __name__ == "__main__":
    sys.exit(main())
