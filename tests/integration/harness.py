# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Helpers for leaktrace's integration tests (Python 3 stdlib only).

A typical test:

    with Target("leaker") as t:                 # started, "READY <pid>" read
        with Tracer(["-p", str(t.pid), "--format", "json", "-T", "0", "60"]) as lt:
            lt.wait_ready()                     # "leaktrace: ready..." on stderr
            t.release()                         # SIGUSR1, then wait for "DONE"
            lt.stop()                           # SIGINT, exit status 0
            final = lt.final_report()           # last JSON line, "final": true
    check_site(final, "leaker", "leak_malloc", allocs=3, nbytes=3003, ...)

Targets and tracers are always killed on the way out, also on failure and
on the per-test timeout (run.py raises TestTimeout through SIGALRM).

Environment:
    LEAKTRACE                 path of the binary (default <repo>/leaktrace)
    LEAKTRACE_TIMEOUT_SCALE   multiply every timeout (e.g. 10 under qemu TCG)
"""

import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TARGETS = REPO / "tests" / "targets"
LEAKTRACE = os.environ.get("LEAKTRACE", str(REPO / "leaktrace"))
JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"
SCALE = float(os.environ.get("LEAKTRACE_TIMEOUT_SCALE", "1") or 1)

READY_TIMEOUT = 30 * SCALE      # leaktrace attach: "leaktrace: ready"
TARGET_TIMEOUT = 10 * SCALE     # target READY / DONE lines
STOP_TIMEOUT = 20 * SCALE       # leaktrace exit after SIGINT/SIGTERM
# Pause between the target's DONE and the SIGINT to leaktrace. Allocations are
# recorded synchronously in BPF; this only leaves room for event delivery.
SETTLE = 0.2 * SCALE

# Allocations of tests/targets/leaker.c: function -> (marker, allocs, bytes).
# The marker names the /* LEAK:<marker> */ comment on the allocating line.
# The grown block (grow_origin / grow_realloc) is checked in test_realloc.py.
LEAKER_EXPECT = {
    "leak_malloc":            ("leak_malloc", 3, 3 * 1001),
    "leak_calloc":            ("leak_calloc", 4, 4 * 3 * 111),
    "leak_realloc_null":      ("leak_realloc_null", 2, 2 * 1237),
    "leak_reallocarray":      ("leak_reallocarray", 2, 2 * 7 * 191),
    "leak_posix_memalign":    ("leak_posix_memalign", 3, 3 * 1500),
    "leak_aligned_alloc":     ("leak_aligned_alloc", 2, 2 * 1664),
    "leak_memalign":          ("leak_memalign", 3, 3 * 1760),
    "leak_valloc":            ("leak_valloc", 2, 2 * 1800),
    "leak_pvalloc":           ("leak_pvalloc", 2, 2 * 1900),
    "leak_realloc_fail_orig": ("leak_realloc_fail_orig", 1, 1234),
    "thread_first_malloc":    ("thread_first_malloc", 10, 10 * 2345),
}
# realloc grown three times: malloc(1111) in grow_origin, then realloc to
# 2222, 3333 and 4447 in grow_realloc. One block of 4447 bytes remains.
GROW_FUNCS = ("grow_origin", "grow_realloc")
GROW_FINAL_BYTES = 4447
# Where that block is expected. The acceptance text reads "a block grown three
# times and kept is reported once, at its final size, at its original site":
# grow_origin (the malloc). "grow_realloc" would mean the latest realloc's
# site (memleak-bcc's free+malloc model). This is the only place to change it.
EXPECT_REALLOC_SITE = "grow_origin"
# Functions of leaker that only allocate what they free again.
FREED_PREFIX = "freed_"


def pure(fn):
    """A test that needs neither root nor BPF (docs, --help, usage errors):
    run.py runs it without root too."""
    fn.pure = True
    return fn


class Skip(Exception):
    """The test cannot run here (reason in the message)."""


class Fail(AssertionError):
    """A test assertion failed (expected vs actual in the message)."""


class TestTimeout(Exception):
    """Raised by run.py's per-test alarm."""


# ---------------------------------------------------------------- asserts

def check(cond, what):
    if not cond:
        raise Fail(what)


def check_eq(actual, expected, what):
    if actual != expected:
        raise Fail(f"{what}: expected {expected!r}, got {actual!r}")


def refused(args, needle):
    """leaktrace ARGS is a usage error: exit 2, one stderr line that contains NEEDLE."""
    args = [str(a) for a in args]
    p = subprocess.run([LEAKTRACE, *args], capture_output=True, text=True, timeout=30)
    check_eq(p.returncode, 2, f"exit status of leaktrace {' '.join(args)}")
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    check_eq(len(lines), 1, f"one line on stderr: {p.stderr!r}")
    check(needle in lines[0], f"{needle!r} in {lines[0]!r}")


def check_le(actual, limit, what):
    if not actual <= limit:
        raise Fail(f"{what}: expected <= {limit!r}, got {actual!r}")


class Errors:
    """Collects several failures and raises them together."""

    def __init__(self):
        self.msgs = []

    def run(self, fn, *args, **kw):
        try:
            fn(*args, **kw)
        except Fail as e:
            self.msgs.append(str(e))

    def raise_if_any(self, report=None):
        if self.msgs:
            tail = f"\n{describe_sites(report)}" if report is not None else ""
            raise Fail(f"{len(self.msgs)} problem(s):\n" + "\n".join(self.msgs) + tail)


# ---------------------------------------------------------------- sources

def source_of(name):
    for ext in (".c", ".cc"):
        p = TARGETS / (name + ext)
        if p.exists():
            return p
    raise Fail(f"no source for target {name} in {TARGETS}")


def marker_line(source, marker):
    """1-based line number of the line that ends with /* LEAK:<marker> */."""
    tag = f"/* LEAK:{marker} */"
    hits = [i + 1 for i, line in enumerate(Path(source).read_text().splitlines())
            if line.rstrip().endswith(tag)]
    if len(hits) != 1:
        raise Fail(f"{source}: expected exactly one line ending with {tag}, found {hits}")
    return hits[0]


def target_path(name):
    p = TARGETS / name
    if not (p.is_file() and os.access(p, os.X_OK)):
        raise Fail(f"target {p} is not built (make builds tests/targets/)")
    return p


def need_tcmalloc():
    if not os.path.exists(TCMALLOC):
        raise Skip(f"{TCMALLOC} not installed (apt-get install libtcmalloc-minimal4)")
    return TCMALLOC


def need_jemalloc():
    if not os.path.exists(JEMALLOC):
        raise Skip(f"{JEMALLOC} not installed (apt-get install libjemalloc2)")
    return JEMALLOC


# ---------------------------------------------------------------- processes

class _Lines:
    """Reads a pipe line by line in a thread; callers wait for a line."""

    def __init__(self, pipe):
        self.lines = []
        self.eof = False
        self._cond = threading.Condition()
        self._t = threading.Thread(target=self._run, args=(pipe,), daemon=True)
        self._t.start()

    def _run(self, pipe):
        try:
            for raw in iter(pipe.readline, b""):
                with self._cond:
                    self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                    self._cond.notify_all()
        except (OSError, ValueError):
            pass
        finally:
            with self._cond:
                self.eof = True
                self._cond.notify_all()

    def wait_for(self, pred, timeout, start=0):
        """Index and text of the first line (from start) matching pred, or None."""
        deadline = time.monotonic() + timeout
        i = start
        with self._cond:
            while True:
                while i < len(self.lines):
                    if pred(self.lines[i]):
                        return i, self.lines[i]
                    i += 1
                left = deadline - time.monotonic()
                if self.eof or left <= 0:
                    return None
                self._cond.wait(min(left, 0.5))

    def wait_eof(self, timeout):
        self._t.join(timeout)
        return self.eof

    def text(self, last=None):
        with self._cond:
            lines = list(self.lines if last is None else self.lines[-last:])
        return "\n".join(lines)


def _tail(text, n=15):
    lines = text.splitlines()
    if len(lines) > n:
        lines = [f"... ({len(lines) - n} more lines)"] + lines[-n:]
    return "\n".join("    | " + l for l in lines) if lines else "    | (empty)"


def _reap(proc, timeout=5):
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


class Target:
    """A test target started with the READY/SIGUSR1/DONE handshake."""

    def __init__(self, name, args=(), preload=None, env=None, wait_ready=True, path=None, prefix=()):
        """path: run this file (e.g. a copy of a target) instead of tests/targets/<name>.
        prefix: run it through this, e.g. [ld.so, "--library-path", dir]."""
        self.name = name
        self.path = Path(path) if path else target_path(name)
        e = dict(os.environ)
        e.pop("LD_PRELOAD", None)
        if preload:
            e["LD_PRELOAD"] = preload
        if env:
            e.update(env)
        self.proc = subprocess.Popen([*prefix, str(self.path), *args], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=e, start_new_session=True)
        self.pid = self.proc.pid
        self.out = _Lines(self.proc.stdout)
        self.err = _Lines(self.proc.stderr)
        if wait_ready:
            try:
                self.wait_ready()
            except BaseException:
                self.kill()
                raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        return False

    def _diag(self):
        return (f"target {self.name} stdout:\n{_tail(self.out.text())}\n"
                f"target {self.name} stderr:\n{_tail(self.err.text())}")

    def wait_ready(self, timeout=TARGET_TIMEOUT):
        r = self.out.wait_for(lambda l: l.startswith("READY"), timeout)
        if r is None:
            raise Fail(f"target {self.name} did not print READY within {timeout:.0f} s "
                       f"(exit status {self.proc.poll()})\n{self._diag()}")
        check_eq(r[1], f"READY {self.pid}", f"{self.name} READY line")

    def wait_line(self, line, timeout=TARGET_TIMEOUT):
        r = self.out.wait_for(lambda l: l == line, timeout)
        if r is None:
            raise Fail(f"target {self.name} did not print {line!r} within {timeout:.0f} s "
                       f"(exit status {self.proc.poll()})\n{self._diag()}")

    def saw(self, line):
        return line in self.out.lines

    def release(self, expect="DONE", timeout=TARGET_TIMEOUT):
        """Send SIGUSR1 and wait for the target's DONE line."""
        os.kill(self.pid, signal.SIGUSR1)
        if expect:
            self.wait_line(expect, timeout)

    def alive(self):
        return self.proc.poll() is None

    def wait_exit(self, timeout=TARGET_TIMEOUT):
        """Reap the target (as its parent would) and return its exit status."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Fail(f"target {self.name} did not exit within {timeout:.0f} s")

    def kill(self):
        if self.proc.poll() is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
        _reap(self.proc)


def maps_of(pid):
    """[(start, end, perms, offset, path)] from /proc/PID/maps."""
    out = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            path = parts[5].strip() if len(parts) > 5 else ""
            out.append((lo, hi, parts[1], int(parts[2], 16), path))
    return out


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


class Tracer:
    """One leaktrace process. stdout and stderr are collected in threads."""

    READY_RE = re.compile(r"^leaktrace: ready\b")

    def __init__(self, args, prefix=(), cwd=None, env=None, child_marker=None):
        """child_marker: with -c, a string in the command line of the child
        leaktrace starts; that child is killed on the way out if still there."""
        self.child_marker = child_marker
        self.argv = [*prefix, LEAKTRACE, *[str(a) for a in args]]
        e = dict(os.environ)
        e.pop("LD_PRELOAD", None)
        if env:
            e.update(env)
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     cwd=cwd, env=e, start_new_session=True)
        self.pid = self.proc.pid
        self.out = _Lines(self.proc.stdout)
        self.err = _Lines(self.proc.stderr)
        self.rc = None
        self.wall = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        return False

    def diag(self):
        return (f"command: {' '.join(self.argv)}\n"
                f"leaktrace stderr:\n{_tail(self.err.text(), 25)}\n"
                f"leaktrace stdout (last lines):\n{_tail(self.out.text(), 3)[:3000]}")

    def wait_ready(self, timeout=READY_TIMEOUT):
        r = self.err.wait_for(lambda l: bool(self.READY_RE.match(l)), timeout)
        if r is None:
            rc = self.proc.poll()
            why = (f"exited with status {rc}" if rc is not None
                   else f"printed no 'leaktrace: ready' line within {timeout:.0f} s")
            raise Fail(f"leaktrace {why} before it was ready\n{self.diag()}")
        return r[1]

    def ready_line(self):
        for l in self.err.lines:
            if self.READY_RE.match(l):
                return l
        return None

    def _finish(self, timeout):
        try:
            self.rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Fail(f"leaktrace did not exit within {timeout:.0f} s\n{self.diag()}")
        self.wall = time.monotonic() - self.t0
        self.out.wait_eof(5)
        self.err.wait_eof(5)
        return self.rc

    def stop(self, sig=signal.SIGINT, timeout=STOP_TIMEOUT, expect_rc=0):
        """Send sig, wait for exit, check the exit status; returns it."""
        if self.proc.poll() is None:
            os.kill(self.pid, sig)
        rc = self._finish(timeout)
        if expect_rc is not None and rc != expect_rc:
            raise Fail(f"leaktrace exit status after {signal.Signals(sig).name}: "
                       f"expected {expect_rc}, got {rc}\n{self.diag()}")
        return rc

    def wait(self, timeout, expect_rc=0):
        """Wait for leaktrace to exit by itself; check the exit status."""
        rc = self._finish(timeout)
        if expect_rc is not None and rc != expect_rc:
            raise Fail(f"leaktrace exit status: expected {expect_rc}, got {rc}\n{self.diag()}")
        return rc

    def stderr_lines(self):
        return [l for l in self.err.lines if l.strip()]

    def reports(self):
        """Every stdout line parsed as JSON (JSON Lines); Fail on anything else."""
        out = []
        for i, line in enumerate(self.out.lines):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                raise Fail(f"stdout line {i + 1} is not JSON ({e}): {line[:200]!r}\n{self.diag()}")
            if not isinstance(obj, dict):
                raise Fail(f"stdout line {i + 1} is not a JSON object: {line[:200]!r}")
            out.append(obj)
        return out

    def final_report(self):
        reps = self.reports()
        if not reps:
            raise Fail(f"leaktrace printed no JSON report\n{self.diag()}")
        last = reps[-1]
        if last.get("final") is not True:
            raise Fail(f"last JSON report does not have \"final\": true "
                       f"(report={last.get('report')!r}, final={last.get('final')!r})\n{self.diag()}")
        return last

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _reap(self.proc)
        if self.child_marker:
            for pid in self.traced_pids():
                cmd = _cmdline(pid)
                if cmd and any(self.child_marker.encode() in a for a in cmd):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass

    def traced_pids(self):
        """PIDs named by the ready line ("tracing pid N") or the reports' targets."""
        pids = set()
        for l in self.err.lines:
            if self.READY_RE.match(l):
                pids.update(int(x) for x in re.findall(r"\bpids? (\d+)", l))
        for line in self.out.lines:
            try:
                for t in json.loads(line).get("targets") or []:
                    if isinstance(t.get("pid"), int):
                        pids.add(t["pid"])
            except (ValueError, AttributeError):
                pass
        return sorted(pids)


# ---------------------------------------------------------------- reports

def mem_sites(report):
    mem = report.get("memory")
    if not isinstance(mem, dict):
        raise Fail(f"report has no \"memory\" object: keys {sorted(report)}")
    sites = mem.get("sites")
    if not isinstance(sites, list):
        raise Fail("report.memory has no \"sites\" list")
    return sites


def _module_is(frame, exe):
    mod = frame.get("module") or ""
    return os.path.basename(mod) == exe or mod.endswith("/" + exe)


def first_exe_frame(site, exe):
    """The first (innermost) frame of site whose module is the executable exe."""
    for fr in site.get("stack") or []:
        if _module_is(fr, exe):
            return fr
    return None


def sites_of(report, exe, func, pid=None):
    """Memory sites whose first frame in exe has func == func."""
    out = []
    for s in mem_sites(report):
        if pid is not None and s.get("pid") != pid:
            continue
        fr = first_exe_frame(s, exe)
        if fr is not None and fr.get("func") == func:
            out.append(s)
    return out


def totals(report, exe, func, pid=None):
    """(bytes, allocs, sites) summed over sites_of(report, exe, func)."""
    ss = sites_of(report, exe, func, pid)
    return sum(s.get("bytes", 0) for s in ss), sum(s.get("allocs", 0) for s in ss), ss


def fmt_frame(fr):
    f = os.path.basename(fr.get("file") or "") or "?"
    return (f"{fr.get('func')}+{fr.get('offset')} ({f}:{fr.get('line')}) "
            f"[{os.path.basename(fr.get('module') or '?')}]")


def describe_sites(report, limit=30):
    lines = []
    try:
        sites = mem_sites(report)
    except Fail as e:
        return str(e)
    for s in sorted(sites, key=lambda s: -(s.get("bytes") or 0))[:limit]:
        stack = s.get("stack") or []
        lines.append(f"    {s.get('bytes')} B in {s.get('allocs')} allocs, pid {s.get('pid')}: "
                     + " <- ".join(fmt_frame(f) for f in stack[:3])
                     + (" <- ..." if len(stack) > 3 else ""))
    if len(sites) > limit:
        lines.append(f"    ... {len(sites) - limit} more sites")
    return f"{len(sites)} memory sites:\n" + "\n".join(lines)


def check_site(report, exe, func, allocs, nbytes, source=None, marker=None,
               pid=None, top=True, show=True):
    """Exact allocs and bytes over all sites whose first exe frame is func.

    With source, every such site's frame must be in that file (basename) at the
    line of /* LEAK:<marker> */. With top, that frame must be stack[0] (the
    innermost frame that is not the allocator's own).
    """
    b, a, ss = totals(report, exe, func, pid)
    sites = f"\n{describe_sites(report)}" if show else ""
    if not ss:
        raise Fail(f"{func}: no memory site whose first frame in {exe} is {func!r} "
                   f"(expected {allocs} allocs, {nbytes} B){sites}")
    if (a, b) != (allocs, nbytes):
        raise Fail(f"{func}: expected {allocs} allocs / {nbytes} B, got {a} allocs / {b} B "
                   f"in {len(ss)} site(s){sites}")
    want_line = marker_line(source, marker or func) if source else None
    for s in ss:
        fr = first_exe_frame(s, exe)
        stack = s.get("stack") or []
        if top and stack and stack[0] is not fr:
            raise Fail(f"{func}: stack[0] should be {func} in {exe}, got {fmt_frame(stack[0])}")
        if source is not None:
            check_eq(os.path.basename(fr.get("file") or ""), os.path.basename(str(source)),
                     f"{func}: file of the frame")
            check_eq(fr.get("line"), want_line, f"{func}: line of the frame "
                     f"(the line marked LEAK:{marker or func})")
        check_eq(fr.get("inlined"), False, f"{func}: frame inlined flag")
    return ss


def check_absent(report, exe, func, pid=None):
    b, a, ss = totals(report, exe, func, pid)
    if ss:
        raise Fail(f"{func}: expected no site, got {a} allocs / {b} B in {len(ss)} site(s)")


def frames_named(report, pred):
    """[(site, frame)] for every frame in every memory site with pred(func)."""
    hits = []
    for s in mem_sites(report):
        for fr in s.get("stack") or []:
            if pred(fr.get("func") or ""):
                hits.append((s, fr))
    return hits


def check_no_freed(report, prefix=FREED_PREFIX):
    hits = frames_named(report, lambda f: f.startswith(prefix))
    if hits:
        raise Fail(f"freed memory reported: {len(hits)} frame(s) named {prefix}*, e.g. "
                   + "; ".join(f"{s.get('bytes')} B/{s.get('allocs')} at {fmt_frame(fr)}"
                               for s, fr in hits[:5]))


# ---------------------------------------------------------------- standard runs

class Run:
    """Outcome of trace_target(): final report, all reports, target, tracer."""

    def __init__(self, final, reports, target, tracer, maps=None):
        self.maps = maps or []      # the target's /proc/PID/maps after DONE
        self.final = final
        self.reports = reports
        self.target = target
        self.tracer = tracer
        self.pid = target.pid
        self.exe = target.name


def trace_target(name, targs=(), preload=None, lt_args=("--format", "json", "-T", "0"),
                 interval=60, expect="DONE", settle=SETTLE, check_alive=True):
    """The standard flow: start target, attach, release, SIGINT, final report."""
    with Target(name, targs, preload=preload) as t, \
            Tracer(["-p", t.pid, *lt_args, interval]) as lt:
        lt.wait_ready()
        t.release(expect=expect)
        if settle:
            time.sleep(settle)
        if check_alive and not t.alive():
            raise Fail(f"target {name} died while traced (status {t.proc.poll()})\n"
                       f"{t._diag()}\n{lt.diag()}")
        maps = maps_of(t.pid) if t.alive() else []
        lt.stop(signal.SIGINT)
        final = lt.final_report()
        return Run(final, lt.reports(), t, lt, maps)


_cache = {}


def cached(key, fn):
    """Run fn() once per key per run; later calls get the result or the error."""
    if key not in _cache:
        try:
            _cache[key] = (True, fn())
        except (Fail, Skip) as e:
            _cache[key] = (False, e)
            raise
    ok, val = _cache[key]
    if not ok:
        raise type(val)(f"(from an earlier run of {key}) {val}")
    return val


def leaker_run(binary="leaker", preload=None):
    """The shared run of a leaker variant with -T 0 (cached per variant)."""
    return cached(("leaker", binary, preload),
                  lambda: trace_target(binary, preload=preload))


def leaker_expect(binary):
    exp = dict(LEAKER_EXPECT)
    if binary == "leaker_nopvalloc":
        exp.pop("leak_pvalloc")
    return exp


def check_leaker(run, exp=None, source=None):
    """Every leaker function: exact bytes/allocs/file:line; nothing freed."""
    exp = exp if exp is not None else leaker_expect(run.exe)
    source = source or source_of("leaker")
    errs = Errors()
    for func, (marker, allocs, nbytes) in exp.items():
        errs.run(check_site, run.final, run.exe, func, allocs, nbytes,
                 source=source, marker=marker, pid=run.pid, show=False)
    errs.run(check_grow, run, show=False)
    errs.run(check_grow_site, run, source, show=False)
    errs.run(check_no_freed, run.final)
    errs.raise_if_any(run.final)


def check_grow(run, show=True):
    """The block grown three times is reported once, at its final size."""
    b = a = 0
    for func in GROW_FUNCS:
        fb, fa, _ = totals(run.final, run.exe, func, run.pid)
        b += fb
        a += fa
    if (a, b) != (1, GROW_FINAL_BYTES):
        raise Fail(f"grown block: expected 1 alloc / {GROW_FINAL_BYTES} B over "
                   f"{'+'.join(GROW_FUNCS)}, got {a} allocs / {b} B"
                   + (f"\n{describe_sites(run.final)}" if show else ""))


def check_grow_site(run, source=None, show=True):
    """The grown block sits at EXPECT_REALLOC_SITE, at its marked line."""
    source = source or source_of("leaker")
    check_site(run.final, run.exe, EXPECT_REALLOC_SITE, 1, GROW_FINAL_BYTES,
               source=source, marker=EXPECT_REALLOC_SITE, pid=run.pid, show=show)
    for func in GROW_FUNCS:
        if func != EXPECT_REALLOC_SITE:
            check_absent(run.final, run.exe, func, run.pid)


def proc_has_mapping(pid, needle):
    try:
        return any(needle in m[4] for m in maps_of(pid))
    except OSError:
        return False
