#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""hvshim-run: run hvshim-kvm directly or inside the nested rig.

usage: hvshim-run [hvshim-run options] [--] HVSHIM-KVM-ARGUMENTS...

On a host whose /dev/kvm is hardware-backed (vmx/svm and kvm_intel/kvm_amd) it runs hvshim-kvm
directly. Otherwise (e.g. a software KVM such as kvm_pvm, on which stock Linux does not boot) it
boots the "nested rig": a QEMU TCG -cpu max L1 with Debian's kernel and kvm-amd, which gives a
/dev/kvm with nested paging, and runs hvshim-kvm there. Either way the guest's COM1 is our
stdout/stdin, VMM messages are our stderr, and hvshim-kvm's exit status is ours.

hvshim-run options (before the hvshim-kvm arguments):
  --mode=auto|direct|rig  where to run hvshim-kvm (default auto)
  --timeout SECONDS       kill everything after this long; exit status 124
  --rig-script FILE       shell script run next to the VMM (in L1, or on this host in direct
                          mode) with HVSHIM_VMM_PID (and HVSHIM_CTL) in its environment; its
                          output goes to stderr; if it fails, exit status 122
  --rig-file SRC[:DEST]   make a host file or directory available in L1 (at DEST, default SRC)
  --vmm FILE              run this VMM instead of hvshim-kvm (e.g. qemu-system-x86_64 as a
                          reference; a dynamically linked VMM gets its libraries copied to L1)
  --l1-mem MIB, --l1-smp N  size of the L1 (default: enough for the guest's --mem/--smp)
  --l1-append TEXT        more L1 kernel parameters (e.g. loglevel=7 with -v to debug the rig)
  --stamp                 prefix each guest output line with the clock of the host next to the
                          VMM (L1 in the rig), "SECONDS.MICROSECONDS ", taken as the line leaves
                          the VMM (for clock comparisons without relay jitter)
  --keep                  keep the rig's work directory (L1 console log, initramfs)
  -v, --verbose           copy the L1 console to stderr
  -h, --help              this text

Exit status: hvshim-kvm's (0 poweroff, 2 usage, 4 guest crash, 6 VMM failure, odd: debug exit),
else 2 usage error of hvshim-run, 122 rig script failed, 124 timeout, 126 rig failure.

Environment: HVSHIM_KVM, HVSHIM_KVM_STATIC (VMM binaries), HVSHIM_GUEST_ASSETS (the asset
builder), HVSHIM_ASSETS (a directory with assets.env, skips the builder), HVSHIM_QEMU (L0 QEMU),
XDG_CACHE_HOME (cache: $XDG_CACHE_HOME/hvshim, default ~/.cache/hvshim).
"""

import errno
import hashlib
import os
import re
import secrets
import selectors
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import termios
import threading
import time

# Filled in by meson (configure_file); left as-is when run from the source tree.
CONFIGURED = {
    "kvm": "@HVSHIM_KVM@",
    "kvm_static": "@HVSHIM_KVM_STATIC@",
    "ctl_static": "@HVSHIM_CTL_STATIC@",
    "guest_assets": "@GUEST_ASSETS@",
}

STATUS_USAGE = 2
STATUS_SCRIPT_FAILED = 122
STATUS_TIMEOUT = 124
STATUS_RIG_FAILURE = 126

# Files up to this size travel inside the per-run initramfs; bigger ones (and every --disk) become
# an L1 virtio-blk device, so L1 does not hold them in RAM.
INLINE_MAX = int(os.environ.get("HVSHIM_RIG_INLINE_MAX", str(256 << 20)))

PROG = "hvshim-run"


def note(msg):
    sys.stderr.write(f"{PROG}: {msg}\n")
    sys.stderr.flush()


class UsageError(Exception):
    pass


class RigFailure(Exception):
    pass


# ------------------------------------------------------------------------------------------------
# Command line


class Options:
    def __init__(self):
        self.mode = "auto"
        self.timeout = None
        self.rig_script = None
        self.rig_files = []        # (src, dest)
        self.vmm = None
        self.l1_mem = None
        self.l1_smp = None
        self.l1_append = ""
        self.keep = False
        self.stamp = False
        self.verbose = False
        self.vmm_args = []


def parse_args(argv):
    o = Options()
    own_with_value = {"--mode", "--timeout", "--rig-script", "--rig-file", "--vmm", "--l1-mem",
                      "--l1-smp", "--l1-append"}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            i += 1
            break
        name, eq, value = a.partition("=")
        if name in own_with_value:
            if not eq:
                if i + 1 >= len(argv):
                    raise UsageError(f"option {name} needs an argument")
                value = argv[i + 1]
                i += 1
            apply_option(o, name, value)
        elif a in ("-v", "--verbose"):
            o.verbose = True
        elif a == "--keep":
            o.keep = True
        elif a == "--stamp":
            o.stamp = True
        elif a in ("-h", "--help"):
            sys.stdout.write(__doc__)
            sys.exit(0)
        else:
            break       # the first argument that is not ours starts the VMM's arguments
        i += 1
    o.vmm_args = argv[i:]
    if not o.vmm_args:
        raise UsageError("no hvshim-kvm arguments (e.g. --kernel FILE); see --help")
    return o


def apply_option(o, name, value):
    if name == "--mode":
        if value not in ("auto", "direct", "rig"):
            raise UsageError(f"--mode: '{value}' is not auto, direct or rig")
        o.mode = value
    elif name == "--timeout":
        try:
            o.timeout = float(value)
        except ValueError:
            raise UsageError(f"--timeout: '{value}' is not a number of seconds") from None
        if not 0 < o.timeout < 1e7:
            raise UsageError(f"--timeout: {value} is out of range")
    elif name == "--rig-script":
        if not os.path.isfile(value):
            raise UsageError(f"--rig-script: cannot read '{value}'")
        o.rig_script = value
    elif name == "--rig-file":
        src, sep, dest = value.partition(":")
        if not os.path.exists(src):
            raise UsageError(f"--rig-file: '{src}' does not exist")
        o.rig_files.append((os.path.abspath(src), dest if sep and dest else os.path.abspath(src)))
    elif name == "--vmm":
        o.vmm = value
    elif name == "--l1-append":
        o.l1_append = (o.l1_append + " " + value).strip()
    elif name in ("--l1-mem", "--l1-smp"):
        if not value.isdigit() or int(value) < 1:
            raise UsageError(f"{name}: '{value}' is not a positive number")
        if name == "--l1-mem":
            o.l1_mem = int(value)
        else:
            o.l1_smp = int(value)


def vmm_option(args, name):
    """Last value of a VMM option given as '--name V' or '--name=V' (None if absent)."""
    val = None
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            val = args[i + 1]
        elif a.startswith(name + "="):
            val = a[len(name) + 1:]
    return val


def parse_mib(text, default):
    """hvshim-kvm's --mem syntax (512M, 1G, plain number = MiB) in MiB."""
    if text is None:
        return default
    m = re.fullmatch(r"(\d+)([KkMmGgTt]?)(i?B)?", text)
    if not m:
        return default      # hvshim-kvm will report the error itself
    v = int(m.group(1))
    unit = m.group(2).upper() or "M"
    return max(1, {"K": v // 1024, "M": v, "G": v << 10, "T": v << 20}[unit])


# ------------------------------------------------------------------------------------------------
# Where to run


def detect_mode():
    """('direct'|'rig', reason)."""
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    modules = [m for m in ("kvm_intel", "kvm_amd", "kvm_pvm") if os.path.isdir(f"/sys/module/{m}")]
    hw = "vmx" if "vmx" in flags else "svm" if "svm" in flags else None
    kvm_ok = os.access("/dev/kvm", os.R_OK | os.W_OK)
    hw_module = [m for m in modules if m in ("kvm_intel", "kvm_amd")]
    if hw and hw_module and kvm_ok:
        return "direct", f"/dev/kvm is {hw_module[0]} on {hw}"
    why = []
    if not hw:
        why.append("no vmx/svm in /proc/cpuinfo")
    if not kvm_ok:
        why.append("/dev/kvm missing or not accessible")
    elif not hw_module:
        why.append(f"/dev/kvm is {modules[0] if modules else 'not kvm_intel/kvm_amd'}")
    return "rig", "; ".join(why)


def configured(key):
    v = CONFIGURED[key]
    return None if v.startswith("@") else v


def find_binary(env, key, name):
    here = os.path.dirname(os.path.realpath(__file__))
    for cand in (os.environ.get(env), configured(key), os.path.join(here, name),
                 os.path.join(here, "..", name)):
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return os.path.realpath(cand)
    return None


# ------------------------------------------------------------------------------------------------
# Direct mode


def run_direct(o, reason):
    note(f"mode=direct ({reason})")
    vmm = o.vmm or find_binary("HVSHIM_KVM", "kvm", "hvshim-kvm")
    if not vmm:
        raise UsageError("cannot find hvshim-kvm (set HVSHIM_KVM or build it)")
    for src, dest in o.rig_files:
        if src != dest:
            note(f"--rig-file {src}:{dest}: direct mode runs on this host; {dest} is not created")
    argv = [vmm] + o.vmm_args
    if o.timeout is None and not o.rig_script and not o.stamp:
        os.execv(vmm, argv)     # nothing to supervise: the VMM owns our stdio and exit status
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE if o.stamp else None)
    stamper = None
    if o.stamp:
        stamper = threading.Thread(target=stamp_lines, args=(proc.stdout, sys.stdout.fileno()))
        stamper.start()
    script = None
    if o.rig_script:
        env = dict(os.environ, HVSHIM_VMM_PID=str(proc.pid),
                   HVSHIM_CTL=vmm_option(o.vmm_args, "--ctl") or "")
        script = subprocess.Popen(["sh", o.rig_script], env=env, stdin=subprocess.DEVNULL,
                                  stdout=sys.stderr.fileno(), stderr=sys.stderr.fileno())
    deadline = None if o.timeout is None else time.monotonic() + o.timeout
    try:
        rc = proc.wait(timeout=None if deadline is None else max(0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        note(f"timeout after {o.timeout:g} s: stopping hvshim-kvm (SIGTERM, then SIGKILL after 5 s)")
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if script:
            script.kill()
            script.wait()
        return STATUS_TIMEOUT
    rc = 128 - rc if rc < 0 else rc
    if stamper:
        stamper.join()
    if script:
        try:
            src = script.wait(timeout=10)
        except subprocess.TimeoutExpired:
            script.kill()
            script.wait()
            src = "timeout"
        if src != 0:
            note(f"rig script failed ({src}); hvshim-kvm exit status {rc}")
            return STATUS_SCRIPT_FAILED
    return rc


def stamp_lines(src, fd):
    """Copy lines from src to fd, each prefixed with the wall clock when it arrived."""
    for line in iter(src.readline, b""):
        write_all(fd, f"{time.time():.6f} ".encode() + line)


# ------------------------------------------------------------------------------------------------
# newc cpio writer (the kernel unpacks concatenated archives in order, later entries win)


class Cpio:
    def __init__(self, f):
        self.f = f
        self.ino = 0x48560000       # away from the base archive's numbers
        self.dirs = set()

    def _header(self, name, mode, size, nlink=1):
        self.ino += 1
        data = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (
            self.ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, len(data), 0))
        out = hdr.encode() + data
        self.f.write(out + b"\0" * (-len(out) % 4))

    def _pad(self, size):
        self.f.write(b"\0" * (-size % 4))

    def mkdirs(self, path):
        parts = path.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d and d not in self.dirs:
                self.dirs.add(d)
                self._header(d, stat.S_IFDIR | 0o755, 0, nlink=2)

    def add_bytes(self, path, data, mode=0o644):
        self.mkdirs(os.path.dirname(path))
        self._header(path.strip("/"), stat.S_IFREG | mode, len(data))
        self.f.write(data)
        self._pad(len(data))

    def add_file(self, path, src):
        st = os.stat(src)
        self.mkdirs(os.path.dirname(path))
        self._header(path.strip("/"), stat.S_IFREG | (st.st_mode & 0o7777), st.st_size)
        with open(src, "rb") as s:
            left = st.st_size
            while left:
                chunk = s.read(min(left, 1 << 20))
                if not chunk:
                    raise RigFailure(f"{src} shrank while being copied")
                self.f.write(chunk)
                left -= len(chunk)
        self._pad(st.st_size)

    def add_symlink(self, path, target):
        self.mkdirs(os.path.dirname(path))
        data = target.encode()
        self._header(path.strip("/"), stat.S_IFLNK | 0o777, len(data))
        self.f.write(data)
        self._pad(len(data))

    def add_tree(self, dest, src):
        if os.path.isdir(src) and not os.path.islink(src):
            self.mkdirs(dest)
            for name in sorted(os.listdir(src)):
                self.add_tree(os.path.join(dest, name), os.path.join(src, name))
        elif os.path.islink(src):
            self.add_symlink(dest, os.readlink(src))
        elif os.path.isfile(src):
            self.add_file(dest, src)

    def finish(self):
        self._header("TRAILER!!!", 0, 0)


def shared_libraries(binary):
    """Absolute paths of the libraries a dynamically linked binary loads ([] if static)."""
    if not is_dynamic(binary):
        return []
    out = subprocess.run(["ldd", binary], capture_output=True, text=True)
    libs = []
    for line in out.stdout.splitlines():
        m = re.search(r"(/\S+)\s+\(0x", line)
        if m and os.path.exists(m.group(1)):
            libs.append(m.group(1))
    return libs


def is_dynamic(binary):
    """True if the ELF has a PT_INTERP program header."""
    import struct
    with open(binary, "rb") as f:
        ehdr = f.read(64)
        if len(ehdr) < 64 or ehdr[:4] != b"\x7fELF" or ehdr[4] != 2:
            return False
        phoff, = struct.unpack_from("<Q", ehdr, 32)
        phentsize, phnum = struct.unpack_from("<HH", ehdr, 54)
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            p_type, = struct.unpack("<I", f.read(4))
            if p_type == 3:
                return True
    return False


# ------------------------------------------------------------------------------------------------
# Rig mode


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "hvshim")


def load_assets():
    d = os.environ.get("HVSHIM_ASSETS")
    if d:
        env_file = os.path.join(d, "assets.env")
        if not os.path.isfile(env_file):
            raise RigFailure(f"HVSHIM_ASSETS={d} has no assets.env")
        text = open(env_file).read()
    else:
        builder = os.environ.get("HVSHIM_GUEST_ASSETS") or configured("guest_assets")
        if not builder:
            here = os.path.dirname(os.path.realpath(__file__))
            builder = os.path.join(here, "..", "..", "scripts", "guest-assets")
        if not os.path.isfile(builder):
            raise RigFailure("cannot find scripts/guest-assets (set HVSHIM_GUEST_ASSETS)")
        r = subprocess.run([builder, "--print"], stdout=subprocess.PIPE)
        if r.returncode != 0:
            raise RigFailure(f"{builder} failed with status {r.returncode}")
        text = r.stdout.decode()
    assets = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    for k in ("VMLINUX", "L1_BASE"):
        if not os.path.isfile(assets.get(k, "")):
            raise RigFailure(f"asset {k} missing ({assets.get(k)})")
    return assets


class RunFiles:
    """Host files the VMM needs inside L1: inline (per-run cpio) or as virtio-blk disks."""

    def __init__(self):
        self.inline = {}        # dest -> src (file or directory)
        self.disks = []         # (src, dest, writable)

    def add(self, src, dest, disk=False, read_only=False):
        src = os.path.realpath(src)
        if disk or (os.path.isfile(src) and os.path.getsize(src) > INLINE_MAX) or \
                stat.S_ISBLK(os.stat(src).st_mode):
            if any(d == dest for _, d, _ in self.disks):
                return
            self.disks.append((src, dest, disk and not read_only))
        else:
            self.inline[dest] = src


def map_vmm_args(args, files):
    """Note every host file the VMM arguments name; rewrite --serial file:PATH.

    Files appear in L1 at their absolute host path and the VMM starts in the host's working
    directory, so path arguments stay as they are. Returns (args, serial_file)."""
    out = []
    serial_file = None
    i = 0

    def value_of(i):
        a = args[i]
        if "=" in a and a.startswith("--"):
            return a.split("=", 1)[1], i, True
        return (args[i + 1] if i + 1 < len(args) else None), i + 1, False

    while i < len(args):
        a = args[i]
        name = a.split("=", 1)[0] if a.startswith("--") else a
        # QEMU's spellings too, so that --vmm qemu-system-x86_64 works as a reference VMM.
        name = {"-kernel": "--kernel", "-initrd": "--initrd", "-drive": "--disk"}.get(name, name)
        if name in ("--kernel", "--initrd", "--disk", "--serial"):
            val, vi, joined = value_of(i)
            if val is None:
                out.append(a)
                i += 1
                continue
            newval = val
            if name == "--kernel":
                need_file(val, name)
                files.add(val, os.path.abspath(val))
            elif name == "--initrd":
                for item in val.split(","):
                    path = item.strip().split(" ", 1)[0]
                    if path:
                        need_file(path, name)
                        files.add(path, os.path.abspath(path))
            elif name == "--disk":
                paths = re.findall(r"(?:^|,)file=([^,]+)", val)
                if not paths and os.path.exists(val.split(",", 1)[0]):
                    paths = [val.split(",", 1)[0]]
                read_only = "ro" in val.split(",")
                for p in paths:
                    need_file(p, name)
                    files.add(p, os.path.abspath(p), disk=True, read_only=read_only)
            elif name == "--serial" and val.startswith("file:") and len(val) > 5:
                serial_file = val[5:]
                newval = "stdio"
            if joined:
                out.append(f"{a.split('=', 1)[0]}={newval}")
            else:
                out.extend([a, newval])
            i = vi + 1
            continue
        out.append(a)
        i += 1
    return out, serial_file


def need_file(path, opt):
    if not os.path.exists(path):
        raise UsageError(f"{opt}: '{path}' does not exist")


class Rig:
    def __init__(self, o, reason):
        self.o = o
        self.reason = reason
        self.nonce = secrets.token_hex(8)
        self.work = tempfile.mkdtemp(prefix="hvshim-run.")
        if len(self.work) > 80 or "," in self.work:
            # Socket paths must fit sockaddr_un and QEMU options must not contain commas.
            os.rmdir(self.work)
            self.work = tempfile.mkdtemp(prefix="hvshim-run.", dir="/tmp")
        self.qemu = None
        self.console = bytearray()      # the whole L1 console, for failure reports
        self.marks = {}                 # event -> (host seconds since start, L1 uptime)
        self.exit_vmm = None
        self.exit_script = None
        self.failure = None
        self.tty_restore = None         # (fd, termios) to put back on the way out
        self.t_start = time.monotonic()     # --timeout counts from here
        self.t0 = self.t_start              # QEMU start, once it runs

    # --- building the L1 initramfs --------------------------------------------------------------
    def vmm_segment(self, vmm):
        """Cached cpio segment with the VMM (and its libraries) as /rig/hvshim-kvm."""
        libs = shared_libraries(vmm)
        extra = [("/rig/hvshim-ctl", configured("ctl_static"))] \
            if configured("ctl_static") and os.path.isfile(configured("ctl_static")) else []
        h = hashlib.sha256()
        for p in [vmm] + libs + [src for _, src in extra]:
            with open(p, "rb") as f:
                h.update(hashlib.sha256(f.read()).digest())
        d = os.path.join(cache_dir(), "rig")
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, f"vmm-{h.hexdigest()[:16]}.cpio")
        if not os.path.exists(path):
            tmp = path + f".tmp{os.getpid()}"
            with open(tmp, "wb") as f:
                c = Cpio(f)
                c.add_file("/rig/hvshim-kvm", vmm)
                for lib in libs:
                    c.add_file(lib, lib)
                for dest, src in extra:
                    c.add_file(dest, src)
                c.finish()
            os.replace(tmp, path)
            for old in sorted((os.path.join(d, n) for n in os.listdir(d) if n.startswith("vmm-")),
                              key=os.path.getmtime)[:-4]:
                os.unlink(old)
        return path

    def build_initrd(self, assets, vmm, args, files, env_lines):
        initrd = os.path.join(self.work, "l1-initrd.cpio")
        with open(initrd, "wb") as out:
            for seg in (assets["L1_BASE"], self.vmm_segment(vmm)):
                with open(seg, "rb") as s:
                    shutil.copyfileobj(s, out, 1 << 20)
            c = Cpio(out)
            for dest, src in sorted(files.inline.items()):
                c.add_tree(dest, src)
            c.add_bytes("/rig/args", ("set -- " + " ".join(shlex.quote(a) for a in args) +
                                      "\n").encode())
            c.add_bytes("/rig/run.env", "".join(f"{k}={shlex.quote(v)}\n"
                                                for k, v in env_lines).encode())
            if self.o.rig_script:
                c.add_file("/rig/rig-script", self.o.rig_script)
            c.finish()
        return initrd

    # --- running ---------------------------------------------------------------------------------
    def run(self):
        o = self.o
        note(f"mode=rig ({self.reason})")
        vmm = o.vmm or find_binary("HVSHIM_KVM_STATIC", "kvm_static", "hvshim-kvm-static")
        if not vmm:
            raise UsageError("cannot find hvshim-kvm-static (set HVSHIM_KVM_STATIC or build it)")
        vmm = shutil.which(vmm) or vmm
        qemu = os.environ.get("HVSHIM_QEMU") or shutil.which("qemu-system-x86_64")
        if not qemu:
            raise RigFailure("qemu-system-x86_64 not found (run scripts/setup-deps)")

        files = RunFiles()
        args, serial_file = map_vmm_args(o.vmm_args, files)
        for src, dest in o.rig_files:
            files.add(src, dest)
        assets = load_assets()
        t_assets = time.monotonic()

        disks = [(f"vd{chr(ord('a') + i)}", src, dest, writable)
                 for i, (src, dest, writable) in enumerate(files.disks)]
        cwd = os.getcwd()
        env_lines = [("NONCE", self.nonce), ("CWD", cwd),
                     ("DISKS", " ".join(f"{dev}={dest}" for dev, _, dest, _ in disks)),
                     ("CTL", vmm_option(args, "--ctl") or ""),
                     ("STAMP", "1" if o.stamp else "0")]
        initrd = self.build_initrd(assets, vmm, args, files, env_lines)
        initrd_mib = os.path.getsize(initrd) >> 20

        # (QEMU's -m/-smp too, for --vmm qemu-system-x86_64)
        l2_mib = parse_mib(vmm_option(args, "--mem") or vmm_option(args, "-m"), 512)
        smp = (vmm_option(args, "--smp") or vmm_option(args, "-smp") or "1").split(",")[0]
        l2_smp = int(smp) if smp.isdigit() else 1
        # L1 holds the initramfs twice (archive + unpacked), its own kernel and the guest's RAM.
        l1_mem = o.l1_mem or max(1536, l2_mib + 2 * initrd_mib + 768)
        l1_smp = o.l1_smp or max(2, l2_smp)

        socks = {}
        for name in ("console", "guest", "vmmerr"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(os.path.join(self.work, name + ".sock"))
            s.listen(1)
            socks[name] = s
        cmd = [qemu, "-accel", "tcg,thread=multi", "-cpu", "max", "-m", str(l1_mem),
               "-smp", str(l1_smp), "-nodefaults", "-no-user-config", "-display", "none",
               "-monitor", "none", "-no-reboot",
               "-kernel", assets["VMLINUX"], "-initrd", initrd,
               "-append", ("console=ttyS0 quiet panic=-1 rdinit=/init mitigations=off "
                           "tsc=reliable 8250.nr_uarts=4 cryptomgr.notests " + o.l1_append).strip()]
        for name in ("console", "guest", "vmmerr"):
            cmd += ["-chardev", f"socket,id={name},path={os.path.join(self.work, name + '.sock')}",
                    "-serial", f"chardev:{name}"]
        for i, (dev, src, dest, writable) in enumerate(disks):
            ro = "" if writable else ",readonly=on"
            # (a comma inside a QEMU option value is written twice)
            cmd += ["-drive", f"file={src.replace(',', ',,')},format=raw,if=none,id=disk{i},"
                              f"cache=unsafe{ro}",
                    "-device", f"virtio-blk-pci,drive=disk{i}"]
        if o.verbose:
            note("L1: " + " ".join(shlex.quote(c) for c in cmd))
            note(f"assets ready in {t_assets - self.t0:.2f} s, L1 initramfs {initrd_mib} MiB "
                 f"built in {time.monotonic() - t_assets:.2f} s")
        self.t0 = time.monotonic()
        qerr = open(os.path.join(self.work, "qemu.stderr"), "w+b")
        self.qemu = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=qerr, stderr=qerr,
                                     start_new_session=True)
        conns = {}
        for name, s in socks.items():
            s.settimeout(30 if o.timeout is None else
                         max(1.0, min(30.0, self.t_start + o.timeout - time.monotonic())))
            try:
                conns[name], _ = s.accept()
            except socket.timeout:
                if o.timeout is not None and time.monotonic() >= self.t_start + o.timeout:
                    return self.timed_out()
                raise RigFailure("QEMU did not connect its serial ports: " +
                                 self.qemu_stderr(qerr)) from None
            s.close()
        return self.pump(conns, serial_file, qerr)

    def qemu_stderr(self, qerr):
        qerr.seek(0)
        return qerr.read().decode(errors="replace").strip()

    def pump(self, conns, serial_file, qerr):
        o = self.o
        sel = selectors.DefaultSelector()
        for name, c in conns.items():
            c.setblocking(False)
            sel.register(c, selectors.EVENT_READ, name)
        guest_out = open(serial_file, "wb") if serial_file else None
        # Written as it arrives, so a run that seems stuck can be watched (tail -f).
        console_log = open(os.path.join(self.work, "l1-console.log"), "wb")
        stdin_fd = sys.stdin.fileno() if sys.stdin else None
        tty_saved = None
        if stdin_fd is not None:
            try:
                os.set_blocking(stdin_fd, False)
                if os.isatty(stdin_fd):
                    # Characters go to the guest as typed; Ctrl-C still stops hvshim-run.
                    tty_saved = termios.tcgetattr(stdin_fd)
                    self.tty_restore = (stdin_fd, tty_saved)
                    t = termios.tcgetattr(stdin_fd)
                    t[0] &= ~(termios.ICRNL | termios.IXON)
                    t[3] &= ~(termios.ICANON | termios.ECHO)
                    termios.tcsetattr(stdin_fd, termios.TCSANOW, t)
                sel.register(stdin_fd, selectors.EVENT_READ, "stdin")
            except (OSError, ValueError):
                pass
        deadline = None if o.timeout is None else self.t_start + o.timeout
        exit_grace = None       # after the exit line, wait this long for QEMU to finish
        line = bytearray()
        to_guest = bytearray()
        stdin_paused = False
        open_streams = set(conns)
        try:
            while open_streams:
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    return self.timed_out()
                if "vmm-start" not in self.marks and now - self.t0 >= self.L1_START_SECONDS:
                    step = (max(self.marks, key=lambda e: self.marks[e][0]) if self.marks
                            else "QEMU start")
                    self.failure = (f"the L1 kernel is hung: no VMM start {self.L1_START_SECONDS} s "
                                    f"after QEMU started (last step: {step})")
                    break
                if exit_grace is not None and now >= exit_grace:
                    break
                if self.qemu.poll() is not None and not sel.select(0):
                    break
                waits = [1.0]
                if deadline is not None:
                    waits.append(deadline - now)
                if exit_grace is not None:
                    waits.append(exit_grace - now)
                for key, events in sel.select(max(0.0, min(waits))):
                    name = key.data
                    if name == "stdin":
                        try:
                            data = os.read(stdin_fd, 4096)
                        except BlockingIOError:
                            continue
                        except OSError:
                            data = b""
                        if not data:
                            sel.unregister(stdin_fd)
                            continue
                        to_guest += data
                        if len(to_guest) > (1 << 20):
                            sel.unregister(stdin_fd)    # resumes once the guest catches up
                            stdin_paused = True
                        sel.modify(conns["guest"], selectors.EVENT_READ | selectors.EVENT_WRITE,
                                   "guest")
                        continue
                    if name == "guest" and events & selectors.EVENT_WRITE and to_guest:
                        try:
                            n = conns["guest"].send(to_guest)
                            del to_guest[:n]
                        except BlockingIOError:
                            pass
                        except OSError:
                            to_guest.clear()
                        if not to_guest:
                            sel.modify(conns["guest"], selectors.EVENT_READ, "guest")
                            if stdin_paused:
                                sel.register(stdin_fd, selectors.EVENT_READ, "stdin")
                                stdin_paused = False
                        if not events & selectors.EVENT_READ:
                            continue
                    try:
                        data = key.fileobj.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if not data:
                        sel.unregister(key.fileobj)
                        open_streams.discard(name)
                        continue
                    if name == "guest":
                        if guest_out:
                            guest_out.write(data)
                        else:
                            write_all(sys.stdout.fileno(), data)
                    elif name == "vmmerr":
                        write_all(sys.stderr.fileno(), data)
                    else:
                        self.console += data
                        console_log.write(data)
                        console_log.flush()
                        if o.verbose:
                            write_all(sys.stderr.fileno(), data)
                        line += data
                        while b"\n" in line:
                            one, _, rest = bytes(line).partition(b"\n")
                            line = bytearray(rest)
                            if self.on_console_line(one.decode(errors="replace")) \
                                    and exit_grace is None:
                                # L1 powers off after its exit line; a failed rig is ended now.
                                exit_grace = time.monotonic() + (0 if self.failure else 20)
            # QEMU powers off right after the exit line; give it a moment, then make sure.
            try:
                self.qemu.wait(timeout=0 if self.failure else 5)
            except subprocess.TimeoutExpired:
                self.kill_qemu()
        finally:
            if tty_saved is not None:
                termios.tcsetattr(stdin_fd, termios.TCSANOW, tty_saved)
            if stdin_fd is not None:
                try:
                    os.set_blocking(stdin_fd, True)
                except OSError:
                    pass
            if guest_out:
                guest_out.close()
            console_log.close()
        return self.result(qerr)

    # An L1 CPU stuck this long is a hung rig, not a slow one: a host too busy to run a vCPU
    # thread for a while makes the watchdog report tens of seconds, never minutes in a row.
    L1_HUNG_SECONDS = 120
    # L1 reaches the VMM in 3-7 s even at load 8 (docs/rig.md); 90 s without it is a hang.
    L1_START_SECONDS = 90

    def on_console_line(self, text):
        """Act on a status line from L1's /init; True once the run is over."""
        m = re.search(r"HVSHIM-RIG " + self.nonce + r" (\S+)(.*?) uptime=([\d.]+)", text)
        if not m:
            lock = re.search(r"soft lockup - CPU#\d+ stuck for (\d+)s", text)
            if lock and int(lock.group(1)) >= self.L1_HUNG_SECONDS:
                self.failure = (f"the L1 kernel is hung (soft lockup, a CPU stuck for "
                                f"{lock.group(1)} s): QEMU's TCG or L1's KVM, not the VMM's exit")
                return True
            if "Kernel panic - not syncing" in text:
                self.failure = "the L1 kernel panicked"
                return True
            return False
        event, rest, uptime = m.group(1), m.group(2).strip(), float(m.group(3))
        self.marks[event] = (time.monotonic() - self.t0, uptime)
        if event == "exit":
            kv = dict(p.split("=", 1) for p in rest.split() if "=" in p)
            self.exit_vmm = kv.get("vmm")
            self.exit_script = kv.get("script")
            return True
        if event == "fail":
            self.failure = rest
            return True
        return False

    def timed_out(self):
        self.kill_qemu()
        phase = max(self.marks, key=lambda e: self.marks[e][0]) if self.marks else "before L1 /init"
        note(f"timeout after {self.o.timeout:g} s (last rig event: {phase}); QEMU killed")
        self.show_console_tail()
        return STATUS_TIMEOUT

    def kill_qemu(self):
        if self.qemu and self.qemu.poll() is None:
            try:
                os.killpg(self.qemu.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.qemu.wait()

    def show_console_tail(self, lines=25):
        tail = self.console.decode(errors="replace").splitlines()[-lines:]
        if tail:
            note(f"last {len(tail)} lines of the L1 console:")
            for t in tail:
                sys.stderr.write("  | " + t.rstrip("\r") + "\n")
        # The whole console goes to the cache (the newest 10 are kept) for a closer look.
        try:
            d = os.path.join(cache_dir(), "rig", "failed-l1-consoles")
            os.makedirs(d, exist_ok=True)
            path = os.path.join(d, time.strftime("%Y%m%d-%H%M%S-") + self.nonce[:6] + ".log")
            with open(path, "wb") as f:
                f.write(self.console)
            note(f"full L1 console: {path}")
            for old in sorted(os.listdir(d))[:-10]:
                os.unlink(os.path.join(d, old))
        except OSError:
            pass

    def timing(self):
        parts = []
        for event, label in (("init", "L1 /init"), ("kvm", "L1 /dev/kvm"),
                             ("vmm-start", "VMM start"), ("vmm-exit", "VMM exit")):
            if event in self.marks:
                host, up = self.marks[event]
                parts.append(f"{label} {host:.1f} s (L1 uptime {up:.1f})")
        if "vmm-start" in self.marks and "vmm-exit" in self.marks:
            parts.append(f"VMM ran {self.marks['vmm-exit'][0] - self.marks['vmm-start'][0]:.1f} s")
        parts.append(f"preparation {self.t0 - self.t_start:.1f} s")
        parts.append(f"total {time.monotonic() - self.t_start:.1f} s")
        note("rig timing: " + ", ".join(parts))

    def result(self, qerr):
        if self.failure:
            self.kill_qemu()
            note(f"rig failure: {self.failure}")
            self.show_console_tail()
            return STATUS_RIG_FAILURE
        if self.exit_vmm is None:
            qrc = self.qemu.returncode
            note(f"rig failure: L1 ended without reporting the VMM's exit status (QEMU status "
                 f"{qrc}){': ' + self.qemu_stderr(qerr) if self.qemu_stderr(qerr) else ''}")
            self.show_console_tail()
            return STATUS_RIG_FAILURE
        self.timing()
        rc = int(self.exit_vmm) if self.exit_vmm.isdigit() else STATUS_RIG_FAILURE
        if self.exit_script not in (None, "-", "0"):
            note(f"rig script failed ({self.exit_script}); hvshim-kvm exit status {rc}")
            return STATUS_SCRIPT_FAILED
        return rc

    def cleanup(self):
        self.kill_qemu()
        if self.o.keep:
            note(f"work directory kept: {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            time.sleep(0.001)
            continue
        except OSError as e:
            if e.errno == errno.EPIPE:
                return
            raise
        view = view[n:]


def main(argv):
    try:
        o = parse_args(argv)
        if o.mode == "auto":
            mode, reason = detect_mode()
        else:
            mode, reason = o.mode, f"forced by --mode={o.mode}"
        if mode == "direct":
            return run_direct(o, reason)
        current = []

        def on_signal(signum, _frame):
            rig = current[-1]
            if rig.tty_restore:
                termios.tcsetattr(rig.tty_restore[0], termios.TCSANOW, rig.tty_restore[1])
            rig.kill_qemu()
            note(f"stopped by signal {signum}")
            rig.cleanup()
            os._exit(128 + signum)
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGHUP, on_signal)
        # L1 itself sometimes hangs under TCG's nested SVM (soft lockup inside KVM_RUN, see
        # docs/rig.md): that says nothing about the VMM, so such a run is started once more.
        for attempt in (1, 2):
            rig = Rig(o, reason)
            current.append(rig)
            try:
                rc = rig.run()
            finally:
                rig.cleanup()
            hung = rc == STATUS_RIG_FAILURE and (rig.failure or "").startswith("the L1 kernel is hung")
            if not hung or attempt == 2 or sys.stdin.isatty():
                return rc
            note("the L1 kernel hung (a rig problem, not the VMM's): running once more; the guest's "
                 "output so far is repeated below")
    except UsageError as e:
        note(str(e))
        return STATUS_USAGE
    except RigFailure as e:
        note(f"rig failure: {e}")
        return STATUS_RIG_FAILURE


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
