#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`nestvmm run` and `bench` as a user drives them, on /dev/kvm, with stdin
each of /dev/null, a pipe, a FIFO and a pseudo-terminal: a stop signal is an
orderly stop (status 128+N, the reason on stderr, --stats printed, the
terminal restored), Ctrl-A x quits only from a terminal, a closed console
reader stops the VM, the guest's debug-exit status is always odd, and output
errors make bench fail. The sandbox: every thread of a running VM holds a
seccomp filter and no capability, a thread of each kind that breaks its
filter stops the process (status 159, one line, the terminal restored),
--sandbox off runs unfiltered, and --user switches user. The guest is
tests/kvm/minikernel.S.

usage: run_cli.py NESTVMM MINIKERNEL
"""
import json
import os
import pty
import resource
import select
import signal
import subprocess
import sys
import tempfile
import termios
import time

NESTVMM, KERNEL = sys.argv[1], sys.argv[2]
BANNER = b"minikernel: up\n"
failures = []
checks = 0


def fail(what):
    failures.append(what)
    print("FAIL: " + what, flush=True)


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        fail(what)
    return cond


class Stdin:
    """One kind of stdin for the child; .feed(b) writes to it, .close() ends it."""

    def __init__(self, kind, tmp):
        self.kind, self.writer, self.master, self.slave = kind, None, None, None
        if kind == "null":
            self.child = os.open("/dev/null", os.O_RDONLY)
        elif kind == "pipe":
            self.child, self.writer = os.pipe()
        elif kind == "fifo":
            path = os.path.join(tmp, "fifo")
            if not os.path.exists(path):
                os.mkfifo(path)
            # O_RDWR opens a FIFO at once on Linux; a writer end is kept too.
            self.child = os.open(path, os.O_RDWR)
            self.writer = os.open(path, os.O_WRONLY)
        elif kind == "pty":
            self.master, self.slave = pty.openpty()
            self.child = self.slave
            self.writer = self.master
            self.saved = termios.tcgetattr(self.slave)
        else:
            raise ValueError(kind)

    def feed(self, data):
        os.write(self.writer, data)

    def tty_restored(self):
        return self.kind != "pty" or termios.tcgetattr(self.slave) == self.saved

    def close(self):
        for fd in (self.child, self.writer, self.master):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass


def start(args, stdin, stdout=subprocess.PIPE):
    return subprocess.Popen([NESTVMM, "run"] + args, stdin=stdin.child, stdout=stdout,
                            stderr=subprocess.PIPE, close_fds=True)


def read_until(proc, want, timeout=30.0):
    """Read the child's stdout until @want appears; returns what was read."""
    got = b""
    end = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while want not in got and time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            got += chunk
    return got


def finish(proc, timeout=30):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return None, out, err
    return proc.returncode, out, err


def test_stop_signal(kind, sig, tmp):
    """A stop signal to a running VM: status 128+sig, the reason, --stats, the tty back."""
    stdin = Stdin(kind, tmp)
    name = signal.Signals(sig).name
    what = "run (stdin %s) + %s" % (kind, name)
    proc = start(["-k", KERNEL, "-p", "halt", "--stats"], stdin)
    up = read_until(proc, BANNER)
    check(BANNER in up, what + ": the guest did not come up: %r" % up)
    proc.send_signal(sig)
    status, _, err = finish(proc)
    err = err.decode(errors="replace")
    check(status == 128 + sig, what + ": status %s, want %d; stderr: %s" % (status, 128 + sig, err))
    check("interrupted by " + name[3:] in err, what + ": no 'interrupted by' line: " + err)
    check("exit statistics" in err, what + ": --stats output lost")
    check(stdin.tty_restored(), what + ": terminal left in raw mode")
    stdin.close()


def test_escape(kind, tmp):
    """0x01 'x' quits from a terminal only; from anything else it is the guest's input."""
    stdin = Stdin(kind, tmp)
    what = "run (stdin %s) fed ^A x" % kind
    proc = start(["-k", KERNEL, "-p", "echo"], stdin)
    check(BANNER in read_until(proc, BANNER), what + ": the guest did not come up")
    stdin.feed(b"ab\x01xcd\n")  # the UART's output is line-buffered
    if kind == "pty":
        status, out, err = finish(proc)
        check(status == 0, what + ": status %s, want 0 (quit)" % status)
    else:
        echoed = read_until(proc, b"ab\x01xcd\n", timeout=20)
        check(b"ab\x01xcd\n" in echoed, what + ": guest did not get the bytes back: %r" % echoed)
        check(proc.poll() is None, what + ": the VM quit on piped input")
        proc.send_signal(signal.SIGTERM)
        status, _, _ = finish(proc)
        check(status == 128 + signal.SIGTERM, what + ": status %s after SIGTERM" % status)
    check(stdin.tty_restored(), what + ": terminal left in raw mode")
    stdin.close()


def test_closed_reader(kind, tmp):
    """`nestvmm run | head`: the reader goes away, the VM stops in order."""
    stdin = Stdin(kind, tmp)
    what = "run -p flood (stdin %s) | head -n 3" % kind
    rfd, wfd = os.pipe()
    proc = subprocess.Popen([NESTVMM, "run", "-k", KERNEL, "-p", "flood"], stdin=stdin.child,
                            stdout=wfd, stderr=subprocess.PIPE, close_fds=True)
    os.close(wfd)
    head = subprocess.run(["head", "-n", "3"], stdin=rfd, capture_output=True, timeout=30)
    os.close(rfd)
    status, _, err = finish(proc)
    err = err.decode(errors="replace")
    check(head.stdout.count(b"\n") == 3, what + ": head got %r" % head.stdout)
    check(status == 1, what + ": status %s, want 1; stderr: %s" % (status, err))
    check("broken pipe" in err, what + ": stderr does not say why: " + err)
    check(stdin.tty_restored(), what + ": terminal left in raw mode")
    stdin.close()


def test_debug_exit(tmp):
    """The guest's debug-exit value v ends nestvmm with (v << 1) | 1, never 0 or 2."""
    for digit, want in (("0", 1), ("1", 3), ("2", 5), ("7", 15)):
        stdin = Stdin("null", tmp)
        proc = start(["-k", KERNEL, "-p", "s" + digit], stdin)
        status, _, err = finish(proc)
        check(status == want, "debug-exit %s: status %s, want %d (%s)" % (digit, status, want, err))
        stdin.close()


def test_initrd_too_big(tmp):
    """An initrd that does not fit is reported as the initrd, not as the kernel."""
    path = os.path.join(tmp, "big.initrd")
    with open(path, "wb") as f:
        f.truncate(300 << 20)
    r = subprocess.run([NESTVMM, "run", "-k", KERNEL, "-i", path, "-m", "256M"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    err = r.stderr.decode(errors="replace")
    check(r.returncode == 1 and err.startswith("nestvmm: initrd " + path + ": "),
          "initrd too big: status %d, %r" % (r.returncode, err))
    os.unlink(path)


def bench_status(stdout_kind):
    """bench's status with stdout /dev/full, closed, or a pipe nobody reads."""
    args = [NESTVMM, "bench", "-w", "cpuid,fib", "--iters", "8"]
    if stdout_kind == "full":
        with open("/dev/full", "wb") as full:
            r = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=full,
                               stderr=subprocess.PIPE, timeout=120)
    elif stdout_kind == "closed":
        r = subprocess.run(args, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           timeout=120, preexec_fn=lambda: os.close(1))
    else:
        rfd, wfd = os.pipe()
        os.close(rfd)
        r = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=wfd,
                           stderr=subprocess.PIPE, timeout=120)
        os.close(wfd)
    return r.returncode, r.stderr.decode(errors="replace")


def test_bench_output_errors():
    for kind in ("full", "closed", "broken-pipe"):
        status, err = bench_status(kind)
        check(status == 1, "bench > %s: status %s, want 1 (%s)" % (kind, status, err.strip()))
        check(err.startswith("nestvmm: ") and err.count("\n") == 1,
              "bench > %s: want one 'nestvmm:' line, got %r" % (kind, err))


def test_bench_scratch_never_left(tmp):
    """bench's scratch image lives in $TMPDIR, nameless: SIGKILL mid-fill leaves nothing."""
    scratch = os.path.join(tmp, "scratch")
    os.mkdir(scratch)
    env = dict(os.environ, TMPDIR=scratch)
    proc = subprocess.Popen([NESTVMM, "bench", "-w", "blk-qd1", "--iters", "16",
                             "--disk-size", "2G"], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE,
                                                                  (3 << 30, 3 << 30)))
    seen = set()
    for _ in range(20):
        time.sleep(0.05)
        seen.update(os.listdir(scratch))
    proc.kill()
    proc.wait()
    check(not seen and not os.listdir(scratch),
          "bench scratch image had a name in $TMPDIR: %s" % sorted(seen | set(os.listdir(scratch))))
    r = subprocess.run([NESTVMM, "bench", "-w", "blk-qd1", "--iters", "16", "--disk-size", "64M"],
                       env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    check(r.returncode == 0 and scratch.encode() in r.stdout,
          "bench blk-qd1 did not use $TMPDIR: %r" % r.stdout[-200:])
    # Bounded by RLIMIT_FSIZE too: a nestvmm without the free-space check
    # must fail here, not fill the disk (or a tmpfs, i.e. RAM) first.
    r = subprocess.run([NESTVMM, "bench", "-w", "blk-qd1", "--disk-size", "100T"], env=env,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60,
                       preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE,
                                                              (64 << 20, 64 << 20)))
    check(r.returncode == 1 and b"does not fit" in r.stderr,
          "bench --disk-size 100T: status %d, %r" % (r.returncode, r.stderr))


def thread_states(pid):
    """{tid: (comm, Seccomp mode, CapEff, Uid)} of every thread of @pid."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        base = "/proc/%d/task/%s/" % (pid, tid)
        try:
            with open(base + "comm") as f:
                comm = f.read().strip()
            fields = {}
            with open(base + "status") as f:
                for line in f:
                    k, _, v = line.partition(":")
                    fields[k] = v.strip()
        except OSError:
            continue  # the thread ended meanwhile
        out[tid] = (comm, fields.get("Seccomp"), fields.get("CapEff"),
                    fields.get("Uid", "").split()[:1])
    return out


def running_vm(args, stdin):
    """Start a halting guest with a disk and wait for it; returns the process."""
    proc = start(["-k", KERNEL, "-p", "halt", "-c", "2"] + args, stdin)
    check(BANNER in read_until(proc, BANNER), "run %s: the guest did not come up" % args)
    time.sleep(0.3)  # the console and I/O threads are made before the guest runs
    return proc


def test_sandbox_threads(tmp):
    """Every thread holds a filter (Seccomp 2) and no capability; --sandbox off: none."""
    disk = os.path.join(tmp, "sandbox.img")
    for path in (disk, disk + ".lun0", disk + ".lun1"):
        with open(path, "wb") as f:
            f.truncate(8 << 20)
    for mode in ("on", "off"):
        stdin = Stdin("pipe", tmp)
        proc = running_vm(["--disk", disk, "--scsi", disk + ".lun0", "--scsi", disk + ".lun1,ro",
                           "--sandbox", mode], stdin)
        states = thread_states(proc.pid)
        names = sorted(c for c, _, _, _ in states.values())
        # Threads KVM makes for the process (kvm-nx-lpage-recovery) are not ours.
        ours = {t: st for t, st in states.items() if not st[0].startswith("kvm")}
        check({"vcpu0", "vcpu1", "blk-q0", "blk-q1", "scsi-ctl", "scsi-q0", "scsi-q1",
               "console"} <= set(names),
              "sandbox %s: threads %s" % (mode, names))
        want = "2" if mode == "on" else "0"
        bad = [(c, m) for c, m, _, _ in ours.values() if m != want]
        check(not bad, "sandbox %s: threads whose Seccomp is not %s: %s" % (mode, want, bad))
        if mode == "on" and os.geteuid() == 0:
            caps = [(c, e) for c, _, e, _ in ours.values() if int(e, 16) != 0]
            check(not caps, "sandbox on: threads that kept capabilities: %s" % caps)
        proc.send_signal(signal.SIGTERM)
        status, _, err = finish(proc)
        check(status == 128 + signal.SIGTERM,
              "sandbox %s: status %s after SIGTERM (%s)" % (mode, status, err))
        stdin.close()
    for path in (disk, disk + ".lun0", disk + ".lun1"):
        os.unlink(path)


def test_sandbox_violation(kind, stdin_kind, tmp):
    """A thread of @kind breaks its filter on purpose: status 159, one line, tty back."""
    disk = os.path.join(tmp, "violation.img")
    with open(disk, "wb") as f:
        f.truncate(8 << 20)
    stdin = Stdin(stdin_kind, tmp)
    what = "sandbox self-test %s (stdin %s)" % (kind, stdin_kind)
    env = dict(os.environ, NESTVMM_SANDBOX_SELFTEST=kind)
    proc = subprocess.Popen([NESTVMM, "run", "-k", KERNEL, "-p", "halt", "--disk", disk],
                            stdin=stdin.child, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, close_fds=True)
    status, _, err = finish(proc)
    err = err.decode(errors="replace")
    label = {"main": "main", "vcpu": "vCPU", "io": "I/O", "console": "console"}[kind]
    check(status == 159, what + ": status %s, want 159; stderr: %s" % (status, err))
    check(err.startswith("nestvmm: sandbox: the %s thread " % label) and
          "a forbidden system call: socket (41); stopping\n" in err and err.count("\n") == 1,
          what + ": want one line naming the thread and socket, got %r" % err)
    check(stdin.tty_restored(), what + ": terminal left in raw mode")
    stdin.close()
    os.unlink(disk)


def test_sandbox_options(tmp):
    """--sandbox and --user values are checked; --user switches the running VM's user."""
    for args, want in ((["--sandbox", "maybe"], "--sandbox: 'maybe' is neither on nor off"),
                       (["--user", "no-such-user-here"], "no such user or group"),
                       (["--user", "0:"], "is not USER[:GROUP]"),
                       (["--user", "4294967295"], "is not USER[:GROUP]")):
        r = subprocess.run([NESTVMM, "run", "-k", KERNEL] + args, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=30)
        err = r.stderr.decode(errors="replace")
        check(r.returncode == 2 and err.startswith("nestvmm: ") and want in err and
              err.count("\n") == 1, "run %s: status %d, %r" % (args, r.returncode, err))
    env = dict(os.environ, NESTVMM_SANDBOX_SELFTEST="everything")
    r = subprocess.run([NESTVMM, "run", "-k", KERNEL, "-p", "s1"], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=30, env=env)
    check(r.returncode == 1 and b"NESTVMM_SANDBOX_SELFTEST" in r.stderr,
          "a bad NESTVMM_SANDBOX_SELFTEST: status %d, %r" % (r.returncode, r.stderr))
    if os.geteuid() != 0:
        print("SKIP: --user switch: not root")
        return
    stdin = Stdin("pipe", tmp)
    proc = running_vm(["--user", "65534:65534"], stdin)
    uids = sorted({u[0] for _, _, _, u in thread_states(proc.pid).values() if u})
    check(uids == ["65534"], "--user 65534: threads run as %s" % uids)
    proc.send_signal(signal.SIGTERM)
    status, _, err = finish(proc)
    check(status == 128 + signal.SIGTERM, "--user 65534: status %s (%s)" % (status, err))
    stdin.close()


def test_fault_hook(tmp):
    """The tests' fault engine hook: a bad count is refused, an empty one is no hook."""
    disk = os.path.join(tmp, "fault.img")
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    for value, want in (("ten", 1), ("0", 1), ("", 3)):
        env = dict(os.environ, NESTVMM_FAULT_EIO_AFTER=value)
        r = subprocess.run([NESTVMM, "run", "-k", KERNEL, "-p", "s1", "--disk", disk],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30, env=env)
        err = r.stderr.decode(errors="replace")
        ok = r.returncode == want and (want != 1 or "NESTVMM_FAULT_EIO_AFTER: '%s'" % value in err)
        check(ok, "NESTVMM_FAULT_EIO_AFTER=%r: status %d, %r" % (value, r.returncode, err))
    os.unlink(disk)


def test_boot_timer():
    """A write to the boot timer port shows in --stats, table and JSON, with the start-up
    time and the VMM's own memory (RSS minus resident guest RAM: more than 0, under 64 MiB)."""
    r = subprocess.run([NESTVMM, "run", "-k", KERNEL, "-p", "bA", "--stats"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    err = r.stderr.decode(errors="replace")
    check(r.returncode == 1, "boot mark: status %d, want 1 (debug-exit 0)" % r.returncode)
    check("launch -> boot mark 0x41 " in err and " to userspace)" in err,
          "boot mark: no 'launch -> boot mark 0x41' line: %s" % err)
    check("launch -> first KVM_RUN " in err, "boot mark: no start-up line: %s" % err)
    check(" KiB (RSS minus the resident guest RAM)" in err, "no VMM memory line: %s" % err)
    r = subprocess.run([NESTVMM, "run", "-k", KERNEL, "-p", "bA", "--stats=json"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    try:
        doc = json.loads(r.stderr.decode(errors="replace").split("\nnestvmm: ")[0])
        marks = doc.get("boot_marks", [])
        ok = (len(marks) == 1 and marks[0]["value"] == 0x41 and marks[0]["ns"] > 0 and
              marks[0]["user_exits"] >= 1 and doc.get("launch_to_first_run_ns", 0) > 0 and
              marks[0]["ns"] > doc["launch_to_first_run_ns"] and
              0 < doc.get("vmm_memory_bytes", 0) < (64 << 20))
    except (ValueError, KeyError, IndexError) as e:
        ok, marks = False, repr(e)
    check(ok, "boot mark JSON: %s" % marks)


def main():
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
        os.close(fd)
    except OSError as e:
        print("SKIP: /dev/kvm cannot be opened: %s" % e)
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("null", "pipe", "fifo", "pty"):
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                test_stop_signal(kind, sig, tmp)
        for kind in ("pipe", "fifo", "pty"):
            test_escape(kind, tmp)
        for kind in ("null", "pipe", "pty"):
            test_closed_reader(kind, tmp)
        test_debug_exit(tmp)
        test_initrd_too_big(tmp)
        test_sandbox_threads(tmp)
        for kind in ("main", "vcpu", "io", "console"):
            test_sandbox_violation(kind, "pipe", tmp)
        test_sandbox_violation("vcpu", "pty", tmp)
        test_sandbox_options(tmp)
        test_fault_hook(tmp)
        test_boot_timer()
        test_bench_output_errors()
        test_bench_scratch_never_left(tmp)
    print("%d checks, %d failed" % (checks, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
