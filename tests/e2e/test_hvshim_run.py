#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fast checks of hvshim-run itself (meson suite 'rig'): no L1 boot.

usage: test_hvshim_run.py   (HVSHIM_RUN = the generated hvshim-run; HVSHIM_SMOKE_ELF optional)
The pieces tested directly (cpio writer, argument mapping, option parsing) are loaded from the
generated script; the CLI and direct mode are run as a user would run them.
"""

import importlib.machinery
import importlib.util
import os
import subprocess
import sys
import tempfile
import unittest

RUN = os.environ.get("HVSHIM_RUN", "")


def read(path, mode="rb"):
    with open(path, mode) as f:
        return f.read()


def load():
    loader = importlib.machinery.SourceFileLoader("hvshim_run", RUN)
    spec = importlib.util.spec_from_loader("hvshim_run", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


class CpioWriter(unittest.TestCase):
    def test_round_trip_with_gnu_cpio(self):
        hr = load()
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "src")
            os.makedirs(os.path.join(src, "sub"))
            for name, data in (("a.bin", bytes(range(256)) * 3 + b"x"),   # not a multiple of 4
                               ("sub/b.txt", b"hello\n"), ("sub/empty", b"")):
                with open(os.path.join(src, name), "wb") as f:
                    f.write(data)
            os.chmod(os.path.join(src, "a.bin"), 0o751)
            os.symlink("a.bin", os.path.join(src, "link"))
            archive = os.path.join(d, "out.cpio")
            with open(archive, "wb") as f:
                c = hr.Cpio(f)
                c.add_tree("/deep/dir/tree", src)
                c.add_bytes("/rig/args", b"set -- 'a b'\n")
                c.finish()
            self.assertEqual(os.path.getsize(archive) % 4, 0)
            out = os.path.join(d, "x")
            os.makedirs(out)
            r = subprocess.run(["cpio", "-idm", "--quiet", "-F", archive], cwd=out,
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            t = os.path.join(out, "deep/dir/tree")
            self.assertEqual(read(os.path.join(t, "a.bin")),
                             bytes(range(256)) * 3 + b"x")
            self.assertEqual(os.stat(os.path.join(t, "a.bin")).st_mode & 0o777, 0o751)
            self.assertEqual(read(os.path.join(t, "sub/b.txt")), b"hello\n")
            self.assertEqual(os.path.getsize(os.path.join(t, "sub/empty")), 0)
            self.assertEqual(os.readlink(os.path.join(t, "link")), "a.bin")
            self.assertEqual(read(os.path.join(out, "rig/args"), "r"), "set -- 'a b'\n")


class ArgumentMapping(unittest.TestCase):
    def setUp(self):
        self.hr = load()
        self.d = tempfile.TemporaryDirectory()
        self.k = os.path.join(self.d.name, "kernel")
        self.i = os.path.join(self.d.name, "initrd")
        self.disk = os.path.join(self.d.name, "disk.img")
        for p in (self.k, self.i, self.disk):
            with open(p, "wb") as f:
                f.write(b"\0" * 4096)

    def tearDown(self):
        self.d.cleanup()

    def test_files_are_collected_and_args_kept(self):
        files = self.hr.RunFiles()
        args = ["--kernel", self.k, f"--initrd={self.i} arg=1,{self.k}", "--smp", "2",
                "--disk", f"file={self.disk},serial=d0", "--append", "console=ttyS0"]
        out, serial = self.hr.map_vmm_args(args, files)
        self.assertEqual(out, args)
        self.assertIsNone(serial)
        self.assertEqual(sorted(files.inline), sorted({self.k, self.i}))
        self.assertEqual(files.disks, [(os.path.realpath(self.disk), self.disk, True)])

    def test_read_only_disks_stay_read_only(self):
        files = self.hr.RunFiles()
        self.hr.map_vmm_args(["--disk", f"file={self.disk},ro,serial=abc"], files)
        self.assertEqual(files.disks, [(os.path.realpath(self.disk), self.disk, False)])

    def test_serial_file_is_rewritten_to_the_relay(self):
        files = self.hr.RunFiles()
        out, serial = self.hr.map_vmm_args(["--kernel", self.k, "--serial", "file:/tmp/x.log"],
                                           files)
        self.assertEqual(out, ["--kernel", self.k, "--serial", "stdio"])
        self.assertEqual(serial, "/tmp/x.log")
        out, serial = self.hr.map_vmm_args(["--serial=file:/tmp/y"], files)
        self.assertEqual(out, ["--serial=stdio"])
        self.assertEqual(serial, "/tmp/y")

    def test_qemu_spellings(self):
        files = self.hr.RunFiles()
        self.hr.map_vmm_args(["-kernel", self.k, "-initrd", self.i], files)
        self.assertEqual(sorted(files.inline), sorted({self.k, self.i}))

    def test_missing_file_is_a_usage_error(self):
        with self.assertRaises(self.hr.UsageError):
            self.hr.map_vmm_args(["--kernel", self.k + ".missing"], self.hr.RunFiles())

    def test_big_files_become_disks(self):
        self.hr.INLINE_MAX = 1024
        files = self.hr.RunFiles()
        self.hr.map_vmm_args(["--kernel", self.k], files)
        self.assertEqual(files.inline, {})
        self.assertEqual(files.disks, [(os.path.realpath(self.k), self.k, False)])


class OwnOptions(unittest.TestCase):
    def test_parse(self):
        hr = load()
        o = hr.parse_args(["--mode=rig", "--timeout", "30", "-v", "--kernel", "k", "--timeout", "1"])
        self.assertEqual((o.mode, o.timeout, o.verbose), ("rig", 30.0, True))
        self.assertEqual(o.vmm_args, ["--kernel", "k", "--timeout", "1"])
        o = hr.parse_args(["--", "--mode=x"])
        self.assertEqual(o.vmm_args, ["--mode=x"])

    def test_mem_sizes(self):
        hr = load()
        self.assertEqual(hr.parse_mib("1G", 0), 1024)
        self.assertEqual(hr.parse_mib("512", 0), 512)
        self.assertEqual(hr.parse_mib("768MiB", 0), 768)
        self.assertEqual(hr.parse_mib(None, 7), 7)

    def test_mode_reason(self):
        mode, reason = load().detect_mode()
        self.assertIn(mode, ("direct", "rig"))
        self.assertTrue(reason)


class ConsoleLines(unittest.TestCase):
    """How hvshim-run reads L1's console: its own status lines, and signs of a hung L1."""

    def setUp(self):
        self.hr = load()
        self.rig = self.hr.Rig(self.hr.Options(), "test")

    def tearDown(self):
        self.rig.cleanup()

    def test_status_lines_need_the_runs_nonce(self):
        rig, n = self.rig, self.rig.nonce
        self.assertFalse(rig.on_console_line(f"HVSHIM-RIG {n} kvm uptime=3.5"))
        self.assertEqual(rig.marks["kvm"][1], 3.5)
        self.assertFalse(rig.on_console_line("HVSHIM-RIG 0123456789abcdef exit vmm=0 script=- uptime=1"))
        self.assertIsNone(rig.exit_vmm)
        # A kernel message may precede the line on the same console line.
        self.assertTrue(rig.on_console_line(f"[ 9.1] x HVSHIM-RIG {n} exit vmm=4 script=0 uptime=9.0"))
        self.assertEqual((rig.exit_vmm, rig.exit_script), ("4", "0"))
        self.assertIsNone(rig.failure)

    def test_short_lockups_are_tolerated_long_ones_end_the_run(self):
        rig = self.rig
        self.assertFalse(rig.on_console_line(
            "[ 30.1] watchdog: BUG: soft lockup - CPU#0 stuck for 23s! [kworker/0:1:20]"))
        self.assertIsNone(rig.failure)
        self.assertTrue(rig.on_console_line(
            "[ 300.1] watchdog: BUG: soft lockup - CPU#1 stuck for 246s! [rcu_preempt:15]"))
        self.assertIn("hung", rig.failure)

    def test_l1_panic_ends_the_run(self):
        self.assertTrue(self.rig.on_console_line("[ 5.0] Kernel panic - not syncing: VFS"))
        self.assertIn("panicked", self.rig.failure)


class CommandLine(unittest.TestCase):
    def run_cli(self, *args, **kw):
        return subprocess.run([RUN, *args], capture_output=True, text=True, timeout=120, **kw)

    def test_usage_errors_exit_2_with_one_line(self):
        for args in ([], ["--mode=fast", "--kernel", "k"], ["--timeout", "soon", "--kernel", "k"],
                     ["--rig-script", "/nonexistent", "--kernel", "k"], ["--timeout"]):
            r = self.run_cli(*args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, (args, r.stderr))
            self.assertTrue(r.stderr.startswith("hvshim-run: "), r.stderr)

    def test_help(self):
        r = self.run_cli("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--rig-script", r.stdout)

    def test_missing_kernel_in_rig_mode(self):
        r = self.run_cli("--mode=rig", "--", "--kernel", "/nonexistent/vmlinuz")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("does not exist", r.stderr)


def kvm_usable():
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


class DirectMode(unittest.TestCase):
    """hvshim-kvm run directly on this host's /dev/kvm with the smoke guest."""

    def setUp(self):
        self.elf = os.environ.get("HVSHIM_SMOKE_ELF", "")
        if not os.path.isfile(self.elf):
            self.skipTest("HVSHIM_SMOKE_ELF not built")
        if not kvm_usable():
            self.skipTest("/dev/kvm is not usable here")

    def test_status_and_output_pass_through(self):
        r = subprocess.run([RUN, "--mode=direct", "--", "--kernel", self.elf, "--append",
                            "test=boot"], capture_output=True, text=True, timeout=120,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 33, r.stderr)
        self.assertIn("SMOKE boot PASS", r.stdout)
        self.assertIn("hvshim-run: mode=direct (forced by --mode=direct)", r.stderr)

    def test_stamp_prefixes_each_line_with_the_host_clock(self):
        import re
        import time
        before = time.time()
        r = subprocess.run([RUN, "--mode=direct", "--stamp", "--", "--kernel", self.elf,
                            "--append", "test=boot"], capture_output=True, text=True,
                           timeout=120, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 33, r.stderr)
        lines = r.stdout.splitlines()
        self.assertTrue(lines)
        for line in lines:
            m = re.match(r"(\d+\.\d{6}) ", line)
            self.assertIsNotNone(m, line)
            self.assertTrue(before <= float(m.group(1)) <= time.time(), line)
        self.assertTrue(any(line.endswith("SMOKE boot PASS") for line in lines))

    def test_rig_script_and_timeout_supervision(self):
        with tempfile.TemporaryDirectory() as d:
            script = os.path.join(d, "s.sh")
            with open(script, "w") as f:
                f.write('echo "script sees vmm $HVSHIM_VMM_PID"\nexit 3\n')
            r = subprocess.run([RUN, "--mode=direct", "--timeout", "60", "--rig-script", script,
                                "--", "--kernel", self.elf, "--append", "test=boot"],
                               capture_output=True, text=True, timeout=120,
                               stdin=subprocess.DEVNULL)
        self.assertIn("script sees vmm ", r.stderr)
        self.assertEqual(r.returncode, 122, r.stderr)
        self.assertIn("rig script failed (3); hvshim-kvm exit status 33", r.stderr)


if __name__ == "__main__":
    if not RUN or not os.path.isfile(RUN):
        print("HVSHIM_RUN is not set to the generated hvshim-run (run through meson test)")
        sys.exit(1)
    result = unittest.main(exit=False, verbosity=2).result
    for test, why in result.skipped:
        print(f"skipped {test.id()}: {why}")
    sys.exit(0 if result.wasSuccessful() else 1)
