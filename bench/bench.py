#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""leaktrace overhead benchmark (README, "Performance"), driven by bench/run.sh.

Modes, each with 1 and 2 threads, BENCH_RUNS runs (separate processes):
  untraced    the workload alone
  leaktrace   ./leaktrace -p PID --stacks fp --format json 3600 (frame-pointer stacks,
              what the default --stacks auto picks for this workload; no report in
              the window, the final one gives the stack depth)
  leaktrace-dwarf  the same with --stacks dwarf: every allocation's stack walked
              in BPF with .eh_frame unwind tables
  sample-512k, sample-64k  leaktrace --stacks fp --sample 524288 / 65536 (uprobe
              sessions where the kernel has them: no return trap unsampled)
  sample-512k-ret  --sample 524288 with LEAKTRACE_NO_UPROBE_SESSION=1: entry and
              return probes, as on kernels without sessions (6.1)
  floor       empty entry programs at leaktrace's own probes (bench/floor.c)
  floor+ret   the floor plus empty return programs where leaktrace has them
  bpftrace    a script that only counts malloc and free hits (naive peer)
  bcc         memleak-bpfcc -p PID 3600, always last
and a memory run: leaktrace with 1,000,000 outstanding allocations (RSS,
map memory, report latency). Results: bench/results/latest.json, a markdown
table on stdout, bench/README-section.md.
"""
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

import bpfstats

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
OUT = os.path.join(ROOT, ".output", "bench")
WORKLOAD = os.path.join(OUT, "workload")
FLOOR = os.path.join(OUT, "floor")
LEAKTRACE = os.path.join(ROOT, "leaktrace")

PAIRS = int(os.environ.get("BENCH_PAIRS", "200000"))
UNTRACED_PAIRS = PAIRS * 10     # 30 ns/pair: 10x more pairs so a run lasts ~60 ms
RUNS = int(os.environ.get("BENCH_RUNS", "5"))             # untraced, leaktrace, floors
PEER_RUNS = int(os.environ.get("BENCH_PEER_RUNS", "3"))   # bpftrace, bcc: 3-20 s each
THREADS = [1, 2]
HOLD = int(os.environ.get("BENCH_HOLD", "1000000"))
SKIP = set(filter(None, os.environ.get("BENCH_SKIP", "").split(",")))
LONG_INTERVAL = "3600"          # seconds: no periodic report inside a timed run

MODES = ["untraced", "leaktrace", "leaktrace-dwarf", "sample-512k", "sample-64k", "sample-512k-ret",
         "floor", "floor+ret", "bpftrace", "bcc"]
LT_MODES = ("leaktrace", "leaktrace-dwarf", "sample-512k", "sample-64k", "sample-512k-ret")
SAMPLE_MODES = ("sample-512k", "sample-64k", "sample-512k-ret")
LT_STACKS = {"leaktrace": "fp", "leaktrace-dwarf": "dwarf", "sample-512k": "fp", "sample-64k": "fp",
             "sample-512k-ret": "fp"}
LT_EXTRA = {"sample-512k": ["--sample", "524288"], "sample-64k": ["--sample", "65536"],
            "sample-512k-ret": ["--sample", "524288"]}
LT_ENV = {"sample-512k-ret": {"LEAKTRACE_NO_UPROBE_SESSION": "1"}}
# the modes timed interleaved in every round (the peers run after them)
CORE_MODES = ("untraced", "leaktrace", "leaktrace-dwarf", "sample-512k", "sample-64k", "sample-512k-ret",
              "floor", "floor+ret")
MODE_DESC = {
    "untraced": "the workload alone",
    "leaktrace": "`leaktrace -p PID --stacks fp --format json 3600` (frame-pointer stacks; "
                 "the default --stacks auto picks fp for this workload)",
    "leaktrace-dwarf": "`leaktrace -p PID --stacks dwarf --format json 3600` (stacks walked in BPF "
                       "with .eh_frame unwind tables)",
    "sample-512k": "`leaktrace -p PID --stacks fp --sample 524288 --format json 3600` (sampled; "
                   "uprobe sessions where the kernel has them)",
    "sample-64k": "`leaktrace -p PID --stacks fp --sample 65536 --format json 3600`",
    "sample-512k-ret": "sample-512k with LEAKTRACE_NO_UPROBE_SESSION=1: entry and return probes, "
                       "the return exits early when unsampled (kernels without uprobe sessions)",
    "floor": "empty entry programs at leaktrace's own probes",
    "floor+ret": "floor + empty return programs where leaktrace has them",
    "bpftrace": "bpftrace counting malloc and free hits per pid",
    "bcc": "`memleak-bpfcc -p PID 3600` (bcc 0.26)",
}

T0 = time.monotonic()


def log(msg):
    print("bench [%5.1fs] %s" % (time.monotonic() - T0, msg), file=sys.stderr, flush=True)


class Proc:
    """A child process whose stdout and stderr lines are collected with timestamps."""

    def __init__(self, argv, stdin=None, name=None, env=None):
        self.argv = argv
        self.name = name or os.path.basename(argv[0])
        self.p = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, start_new_session=True,
                                  env=dict(os.environ, **env) if env else None)
        self.pid = self.p.pid
        self.lines = {"out": [], "err": []}
        self.cv = threading.Condition()
        self.rusage = None
        self.status = None
        self.threads = [threading.Thread(target=self._read, args=(self.p.stdout, "out"), daemon=True),
                        threading.Thread(target=self._read, args=(self.p.stderr, "err"), daemon=True)]
        for t in self.threads:
            t.start()

    def _read(self, f, which):
        for raw in iter(f.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cv:
                self.lines[which].append((time.monotonic(), line))
                self.cv.notify_all()
        with self.cv:
            self.lines[which].append((time.monotonic(), None))   # EOF
            self.cv.notify_all()

    def wait_line(self, regex, which="out", timeout=30.0, start=0):
        """First line matching REGEX (from index START): (match, t, index), or None at EOF/timeout."""
        rx = re.compile(regex)
        end = time.monotonic() + timeout
        i = start
        with self.cv:
            while True:
                while i < len(self.lines[which]):
                    t, line = self.lines[which][i]
                    if line is None:
                        return None
                    m = rx.search(line)
                    if m:
                        return m, t, i
                    i += 1
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cv.wait(left)

    def text(self, which="err"):
        with self.cv:
            return "\n".join(l for _, l in self.lines[which] if l is not None)

    def alive(self):
        if self.status is not None:
            return False
        try:
            pid, st, ru = os.wait4(self.pid, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True
        self.status, self.rusage = st, ru
        return False

    def wait(self, timeout):
        end = time.monotonic() + timeout
        while self.alive():
            if time.monotonic() > end:
                return False
            time.sleep(0.02)
        for t in self.threads:
            t.join(2)
        return True

    def stop(self, sig=signal.SIGINT, timeout=30.0):
        """Signal the process (ours, by pid); SIGKILL if it has not exited after TIMEOUT."""
        if self.alive():
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass
        if not self.wait(timeout):
            log("%s (pid %d) ignored signal %d for %.0f s: SIGKILL" % (self.name, self.pid, sig, timeout))
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.wait(10)
        for f in (self.p.stdin, self.p.stdout, self.p.stderr):
            try:
                if f:
                    f.close()
            except OSError:
                pass


# ---- evidence that probes are in place ----

def libc_addrs(pid):
    """Runtime addresses of malloc and free in PID's libc, or None."""
    libc = base = None
    try:
        with open("/proc/%d/maps" % pid) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and re.search(r"/libc\.so\.6$|/libc-[0-9.]+\.so$", parts[5]):
                    start, off = int(parts[0].split("-")[0], 16), int(parts[2], 16)
                    if off == 0 and base is None:
                        libc, base = parts[5], start
    except OSError:
        return None
    if libc is None:
        return None
    try:
        nm = subprocess.run(["nm", "-D", "--defined-only", "/proc/%d/root%s" % (pid, libc)],
                            capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    syms = {}
    for line in nm.splitlines():
        p = line.split()
        if len(p) == 3 and p[1] in "TtWi":
            syms.setdefault(p[2].split("@")[0], int(p[0], 16))
    if "malloc" not in syms or "free" not in syms:
        return None
    return {"path": libc, "malloc": base + syms["malloc"], "free": base + syms["free"]}


def code_bytes(pid, addr, n=4):
    try:
        with open("/proc/%d/mem" % pid, "rb") as f:
            f.seek(addr)
            return f.read(n)
    except OSError:
        return b""


def breakpoints_in(pid, addrs):
    """Are malloc+0 and free+0 or free+3 int3 (0xcc) in the target's memory?"""
    m = code_bytes(pid, addrs["malloc"], 1)
    f = code_bytes(pid, addrs["free"], 4)
    return m == b"\xcc" and len(f) == 4 and (f[0] == 0xcc or f[3] == 0xcc)


def perf_uprobes(tracer_pid):
    """Perf-event uprobes (bcc, bpftrace) that TRACER_PID holds, from `bpftool perf list`."""
    try:
        out = subprocess.run(["bpftool", "-j", "perf", "list"], capture_output=True, text=True,
                             timeout=20).stdout
        return [e for e in json.loads(out or "[]")
                if e.get("pid") == tracer_pid and e.get("fd_type") in ("uprobe", "uretprobe")]
    except (OSError, subprocess.SubprocessError, ValueError):
        return []


def multi_links(tracer_pid):
    """uprobe_multi links TRACER_PID holds (from /proc/PID/fdinfo): [(retprobe?, path, [offsets])]."""
    links = []
    d = "/proc/%d/fdinfo" % tracer_pid
    try:
        fds = os.listdir(d)
    except OSError:
        return links
    for fd in fds:
        try:
            with open(os.path.join(d, fd)) as f:
                txt = f.read()
        except OSError:
            continue
        if "link_type:\tuprobe_multi" not in txt:
            continue
        path = re.search(r"^path:\s*(\S+)", txt, re.M)
        offs = [int(m.group(1), 16) for m in re.finditer(r"^\d+\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+$", txt, re.M)]
        prog = re.search(r"^prog_id:\s*(\d+)", txt, re.M)
        links.append({"path": path.group(1) if path else "?", "offsets": offs,
                      "prog_id": int(prog.group(1)) if prog else 0})
    return links


def map_memory(tracer_pid):
    """Kernel memory of the BPF maps TRACER_PID holds: {name: memlock bytes}."""
    ids = tracer_maps(tracer_pid)
    maps = {}
    for i in sorted(ids):
        try:
            out = subprocess.run(["bpftool", "-j", "map", "show", "id", str(i)], capture_output=True,
                                 text=True, timeout=20).stdout
            e = json.loads(out)
        except (OSError, subprocess.SubprocessError, ValueError):
            continue
        maps["%s#%d" % (e.get("name", "?"), i)] = {"type": e.get("type"), "max_entries": e.get("max_entries"),
                                                   "bytes_memlock": e.get("bytes_memlock", 0)}
    return maps


def tracer_maps(tracer_pid):
    """IDs of the BPF maps TRACER_PID holds (from /proc/PID/fdinfo)."""
    ids = set()
    d = "/proc/%d/fdinfo" % tracer_pid
    try:
        fds = os.listdir(d)
    except OSError:
        return ids
    for fd in fds:
        try:
            with open(os.path.join(d, fd)) as f:
                m = re.search(r"^map_id:\s*(\d+)", f.read(), re.M)
        except OSError:
            continue
        if m:
            ids.add(int(m.group(1)))
    return ids


def unwind_tables_for(tracer_pid, pid):
    """Does leaktrace (TRACER_PID) walk PID's stacks with its unwind tables? True when PID is a
    key of its uw_tgid map (the BPF side's switch between the tables and bpf_get_stack()),
    False when not, None when the map is not found."""
    for i in sorted(tracer_maps(tracer_pid)):
        try:
            e = json.loads(subprocess.run(["bpftool", "-j", "map", "show", "id", str(i)],
                                          capture_output=True, text=True, timeout=20).stdout)
            if e.get("name") != "uw_tgid":
                continue
            d = json.loads(subprocess.run(["bpftool", "-j", "map", "dump", "id", str(i)],
                                          capture_output=True, text=True, timeout=20).stdout or "[]")
        except (OSError, subprocess.SubprocessError, ValueError):
            return None
        # a value with LT_UW_SYS_ONLY (bit 31): the tables serve the fd and mmap syscalls' stacks only
        return any(x.get("formatted", {}).get("key") == pid and
                   not (int(x.get("formatted", {}).get("value", 0)) & (1 << 31)) for x in d)
    return None


def top_site_stack(report_line):
    """The stack of the site with most allocations in a JSON report line: (funcs, frames, truncated),
    frames = distinct return addresses (physical frames above the allocator; inlined entries
    share their caller's address)."""
    try:
        rep = json.loads(report_line)
        sites = rep.get("memory", {}).get("sites", [])
    except (ValueError, AttributeError):
        return None
    if not sites:
        return None
    s = max(sites, key=lambda x: x.get("allocs", 0))
    st = s.get("stack", [])
    funcs = [f.get("func") or f.get("addr") for f in st]
    frames = len({f.get("addr") for f in st})
    return funcs, frames, bool(s.get("truncated"))


def cpu_ticks(wl_pid, tracer_pid):
    """(all CPUs busy, workload's user+sys, tracer's user+sys) in clock ticks, or None."""
    def proc(pid):
        if pid is None:
            return 0
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])     # utime, stime (all threads)
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        busy = sum(v[:8]) - v[3] - v[4]     # all but idle and iowait
        return busy, proc(wl_pid), proc(tracer_pid)
    except (OSError, ValueError, IndexError):
        return None


def proc_status(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


# ---- modes ----

def bpftrace_script(libc):
    return ("uprobe:%s:malloc { @[pid] = count(); }\n"
            "uprobe:%s:free { @[pid] = count(); }\n" % (libc, libc))


def tool_check(mode):
    """None if MODE can run here, else the reason it cannot."""
    if mode in SKIP:
        return "skipped (BENCH_SKIP)"
    if mode == "bpftrace" and not shutil.which("bpftrace"):
        return "bpftrace not installed (BENCH_INSTALL=1 installs it)"
    if mode == "bcc":
        if not shutil.which("memleak-bpfcc"):
            return "memleak-bpfcc not installed (BENCH_INSTALL=1 installs bpfcc-tools)"
        k = "/lib/modules/%s/" % os.uname().release
        if not (os.path.exists("/sys/kernel/kheaders.tar.xz") or
                (os.path.isdir(k + "build/include") and
                 any(os.path.exists(k + d + "/include/linux/kconfig.h") for d in ("build", "source")))):
            return ("no kernel headers at /lib/modules/%s/build "
                    "(BENCH_INSTALL=1 installs linux-headers-amd64 and links them)" % os.uname().release)
    return None


def stale_bcc_hint():
    try:
        out = subprocess.run(["dmesg"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    if "ref_ctr_offset mismatch" in out:
        return " (dmesg: ref_ctr_offset mismatch: a stale uprobe left on libc free+0 by an earlier bcc run; gone after a reboot)"
    return ""


def start_tracer(mode, pid, addrs):
    if mode in LT_MODES:
        # --format json: the final report (after the timed loop) says how deep the stacks were
        return Proc([LEAKTRACE, "-p", str(pid), "--stacks", LT_STACKS[mode], *LT_EXTRA.get(mode, []),
                     "--format", "json", LONG_INTERVAL], name="leaktrace", env=LT_ENV.get(mode))
    if mode == "floor":
        return Proc([FLOOR, "-p", str(pid)], name="floor")
    if mode == "floor+ret":
        return Proc([FLOOR, "-p", str(pid), "--ret"], name="floor")
    if mode == "bpftrace":
        return Proc(["bpftrace", "-e", bpftrace_script(addrs["path"])], name="bpftrace")
    if mode == "bcc":
        return Proc(["memleak-bpfcc", "-p", str(pid), LONG_INTERVAL], name="memleak-bpfcc")
    raise ValueError(mode)


STOP_SIG = dict({m: signal.SIGINT for m in LT_MODES}, **{"floor": signal.SIGINT,
            "floor+ret": signal.SIGINT, "bpftrace": signal.SIGINT, "bcc": signal.SIGTERM})
READY_TIMEOUT = dict({m: 60 for m in LT_MODES}, **{"floor": 60, "floor+ret": 60,
                 "bpftrace": 60, "bcc": 180})


def wait_ready(mode, tr, wl_pid, addrs):
    """Wait until TR's probes are attached to WL_PID. Returns (evidence dict, None) or (None, reason)."""
    end = time.monotonic() + READY_TIMEOUT[mode]
    ev = {}
    if mode in LT_MODES + ("floor", "floor+ret"):
        word = "leaktrace: ready" if mode in LT_MODES else "floor: ready"
        if not tr.wait_line(re.escape(word), "err", READY_TIMEOUT[mode]):
            return None, last_words(tr) or "no ready line"
    last_n, stable = -1, 0
    while time.monotonic() < end:
        if not tr.alive():
            return None, last_words(tr) or "exited"
        bp = breakpoints_in(wl_pid, addrs)
        if mode in LT_MODES + ("floor", "floor+ret"):
            links = multi_links(tr.pid)
            n = sum(len(l["offsets"]) for l in links)
            ev = {"uprobe_multi_links": len(links), "uprobes": n}
            if not links:
                # kernels without uprobe_multi: perf-event links
                ps = perf_uprobes(tr.pid)
                n = len(ps)
                ev = {"perf_uprobes": n}
            if bp and n > 0:
                return ev, None
        else:
            ps = perf_uprobes(tr.pid)
            n = len(ps)
            ev = {"perf_uprobes": n}
            # bcc attaches free, then munmap: ready when the count holds still
            stable = stable + 1 if (n == last_n and n > 0) else 0
            last_n = n
            if bp and n >= 2 and (mode == "bpftrace" or stable >= 2):
                return ev, None
        time.sleep(0.25)
    return None, "probes not attached after %d s" % READY_TIMEOUT[mode]


def last_words(tr):
    lines = [l for l in tr.text("err").splitlines() + tr.text("out").splitlines()
             if l.strip() and "RLIMIT_MEMLOCK" not in l]
    err = [l for l in lines if re.search(r"error|fail|invalid|cannot|exception|denied", l, re.I)]
    msg = (err or lines or [""])[-1].strip()[:240]
    # bpftrace and bcc probe free+0, where a stale bcc uprobe makes attaching fail with EINVAL
    if re.search(r"Invalid argument|EINVAL|[Aa]ttach", msg) and tr.name in ("bpftrace", "memleak-bpfcc"):
        msg += stale_bcc_hint()
    return msg


def run_once(mode, threads, addrs_cache):
    """One workload process under MODE. Returns (ns_per_pair, info) or (None, reason)."""
    pairs = UNTRACED_PAIRS if mode == "untraced" else PAIRS
    wl = Proc([WORKLOAD, "-t", str(threads), "-n", str(pairs), "-r", "1"], stdin=subprocess.PIPE,
              name="workload")
    tr = None
    info = {}
    try:
        r = wl.wait_line(r"^READY (\d+)", timeout=30)
        if not r:
            return None, "workload did not start: " + wl.text("err")[-200:]
        addrs = libc_addrs(wl.pid)
        if addrs is None:
            return None, "cannot find malloc/free in the workload's libc"
        addrs_cache.update(addrs)
        if mode != "untraced":
            if code_bytes(wl.pid, addrs["malloc"], 1) == b"\xcc":
                log("warning: malloc is already probed in pid %d before %s attached (another tracer?)"
                    % (wl.pid, mode))
            tr = start_tracer(mode, wl.pid, addrs)
            t0 = time.monotonic()
            ev, why = wait_ready(mode, tr, wl.pid, addrs)
            if why:
                return None, why
            info = dict(ev, attach_s=round(time.monotonic() - t0, 2))
            if mode in ("leaktrace", "leaktrace-dwarf", "floor"):
                info["probe_offsets"] = sorted({(l["path"], o) for l in multi_links(tr.pid) for o in l["offsets"]})
            if mode in LT_MODES:
                # the tables are loaded before "ready": the workload's pid must be in uw_tgid
                # with --stacks dwarf and absent with --stacks fp
                tables = unwind_tables_for(tr.pid, wl.pid)
                info["unwind_tables"] = tables
                if (tables is True) != (mode == "leaktrace-dwarf"):
                    return None, ("leaktrace --stacks %s: pid %d %s in its uw_tgid map (%s)" %
                                  (LT_STACKS[mode], wl.pid, "is" if tables else "is not",
                                   "map not found" if tables is None else
                                   "stacks not walked the way the mode says"))
        c0 = cpu_ticks(wl.pid, tr.pid if tr else None)
        b0 = bpfstats.snapshot(tr.pid) if mode in LT_MODES else None
        wl.p.stdin.write(b"x")
        wl.p.stdin.flush()
        r = wl.wait_line(r"ns_per_pair ([0-9.]+)", timeout=600)
        if not r:
            return None, "workload gave no result: " + wl.text("err")[-200:]
        ns = float(r[0].group(1))
        c1 = cpu_ticks(wl.pid, tr.pid if tr else None)
        if b0 is not None:
            # the BPF programs' own run time (kernel statistics, on for the whole bench)
            d = {i: v for i, v in bpfstats.delta(b0, bpfstats.snapshot(tr.pid)).items() if v[1]}
            info["bpf_ns_per_pair"] = round(sum(v[0] for v in d.values()) / (pairs * threads), 1)
            nm = bpfstats.names(d)
            info["bpf_progs"] = {nm[i]: {"ns_per_run": round(v[0] / v[1], 1), "runs_per_pair":
                                         round(v[1] / (pairs * threads), 3)} for i, v in d.items()}
        if c0 and c1:
            hz = os.sysconf("SC_CLK_TCK")
            info["tracer_cpu_s"] = round((c1[2] - c0[2]) / hz, 2)
            # CPU time of everything else on the machine while the loop ran: the bench driver,
            # and anyone else's processes (on a 2-CPU VM they take CPU from the workload)
            info["other_cpu_s"] = round(((c1[0] - c0[0]) - (c1[1] - c0[1]) - (c1[2] - c0[2])) / hz, 2)
        wl.wait_line(r"^DONE", timeout=60)
        if tr is not None and not tr.alive():
            return None, "%s exited during the timed loop: %s" % (mode, last_words(tr))
        if mode == "bpftrace":
            tr.stop(signal.SIGINT, 30)
            m = re.search(r"@\[%d\]: (\d+)" % wl.pid, tr.text("out"))
            info["hits"] = int(m.group(1)) if m else None
        if mode in LT_MODES:
            tr.stop(signal.SIGINT, 30)
            reports = [l for l in tr.text("out").splitlines() if l.startswith("{")]
            st = top_site_stack(reports[-1]) if reports else None
            if st:
                info["stack_funcs"], info["stack_frames"], info["stack_truncated"] = st
        return ns, info
    finally:
        if tr is not None:
            tr.stop(STOP_SIG[mode], 30)
        try:
            wl.p.stdin.close()
        except OSError:
            pass
        wl.stop(signal.SIGTERM, 10)


def stats(vals):
    return {"runs_ns": vals, "min": min(vals), "median": statistics.median(vals)}


# ---- memory with 1M outstanding allocations ----

def memory_run():
    res = {"outstanding_target": HOLD}
    why = tool_check("memory")
    if why:
        return {"available": False, "reason": why}
    wl = Proc([WORKLOAD, "-H", str(HOLD)], stdin=subprocess.PIPE, name="workload")
    lt = None
    try:
        if not wl.wait_line(r"^READY", timeout=30):
            return {"available": False, "reason": "workload did not start"}
        addrs = libc_addrs(wl.pid)
        argv = [LEAKTRACE, "-p", str(wl.pid), "--max-allocs", str(2 * HOLD), "--format", "json",
                "-T", "10", LONG_INTERVAL]
        res["command"] = " ".join(["leaktrace"] + argv[1:])
        lt = Proc(argv, name="leaktrace")
        ev, why = wait_ready("leaktrace", lt, wl.pid, addrs)
        if why:
            return {"available": False, "reason": why}
        res["rss_idle_bytes"] = proc_status(lt.pid, "VmRSS")
        wl.p.stdin.write(b"x")
        wl.p.stdin.flush()
        r = wl.wait_line(r"^HELD (\d+) (\d+)", timeout=300)
        if not r:
            return {"available": False, "reason": "workload did not finish its allocations"}
        res["alloc_ns_per_malloc"] = round(int(r[0].group(2)) / int(r[0].group(1)), 1)
        time.sleep(1.5)     # let leaktrace take its once-a-second sample
        res["rss_held_bytes"] = proc_status(lt.pid, "VmRSS")
        res["hwm_before_report_bytes"] = proc_status(lt.pid, "VmHWM")
        maps = map_memory(lt.pid)
        res["maps"] = maps
        res["maps_memlock_bytes"] = sum(m["bytes_memlock"] or 0 for m in maps.values())
        n0 = len(lt.lines["out"])
        t0 = time.monotonic()
        os.kill(lt.pid, signal.SIGINT)
        r = lt.wait_line(r"^\{", "out", timeout=120, start=n0)
        if not r:
            return dict(res, available=False, reason="no report after SIGINT: " + last_words(lt))
        res["report_latency_s"] = round(r[1] - t0, 3)
        try:
            rep = json.loads(r[0].string)
            res["reported_outstanding_allocs"] = rep.get("memory", {}).get("outstanding_allocs")
            res["reported_untracked"] = rep.get("drops", {}).get("allocs_untracked")
        except ValueError:
            res["reported_outstanding_allocs"] = None
        lt.wait(120)
        res["exit_after_sigint_s"] = round(time.monotonic() - t0, 3)
        res["peak_rss_bytes"] = lt.rusage.ru_maxrss * 1024 if lt.rusage else None
        res["available"] = True
        return res
    finally:
        if lt is not None:
            lt.stop(signal.SIGINT, 60)
        try:
            wl.p.stdin.close()
        except OSError:
            pass
        wl.stop(signal.SIGTERM, 10)


# ---- report ----

def sysinfo():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass

    def ver(argv):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=20)
            return (out.stdout + out.stderr).strip().splitlines()[0]
        except (OSError, subprocess.SubprocessError, IndexError):
            return None

    bcc = None
    if shutil.which("dpkg-query"):
        bcc = ver(["dpkg-query", "-W", "-f=${Version}", "bpfcc-tools"])
    commit = ver(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "kernel": os.uname().release,
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "machine": platform.machine(),
        "glibc": platform.libc_ver()[1],
        "leaktrace": ver([LEAKTRACE, "--version"]),
        "commit": commit,
        "bpftrace": ver(["bpftrace", "--version"]) if shutil.which("bpftrace") else None,
        "bcc": bcc if shutil.which("memleak-bpfcc") else None,
    }


def fmt_ns(v):
    if v is None:
        return "–"
    return "{:,.0f}".format(v) if v >= 100 else "{:.1f}".format(v)


def fmt_ratio(v):
    return "–" if v is None else "%.2f" % v


def added(R, mode, t):
    """MODE's added cost (median) with T threads, or None."""
    m = R["modes"].get(mode)
    if not m or not m["available"]:
        return None
    return m["threads"].get(str(t), {}).get("added_median")


def markdown(R):
    s, c = R["system"], R["config"]
    out = []
    out.append("Machine: %s, %d CPUs, kernel %s, glibc %s; %s; commit %s." %
               (s["cpu"], s["nproc"], s["kernel"], s["glibc"], s["date"], s["commit"]))
    out.append("Workload: %s malloc+free pairs per thread per run (untraced: %s), mixed sizes "
               "16 B–32 KiB, 6 frames deep; runs per row: %d (bpftrace, bcc: %d), each a new process and a new attach. "
               "ns per pair = wall time of the timed loop / pairs per thread." %
               ("{:,}".format(c["pairs_per_thread"]), "{:,}".format(c["untraced_pairs_per_thread"]),
                c["runs"], c.get("peer_runs", c["runs"])))
    out.append("")
    out.append("| mode | threads | min ns/pair | median ns/pair | added (median) | × untraced |")
    out.append("|---|---:|---:|---:|---:|---:|")
    for mode in MODES:
        m = R["modes"].get(mode)
        if m is None:
            continue
        if not m["available"]:
            out.append("| %s | – | unavailable: %s | | | |" % (mode, m["reason"].replace("|", "/")))
            continue
        for t in THREADS:
            st = m["threads"].get(str(t))
            if not st:
                continue
            base = R["modes"]["untraced"]["threads"].get(str(t)) if R["modes"]["untraced"]["available"] else None
            x = st["median"] / base["median"] if base else None
            out.append("| %s | %d | %s | %s | %s | %s |" % (
                mode, t, fmt_ns(st["min"]), fmt_ns(st["median"]),
                fmt_ns(st.get("added_median")) if mode != "untraced" else "–",
                "%.0f×" % x if x and mode != "untraced" else "–"))
    out.append("")
    out.append("Added cost = mode − untraced (medians; mins in latest.json).")
    if "floor_matches_leaktrace" in R:
        out.append("The floor's probes %s leaktrace's (%d offsets, read from both tracers' "
                   "uprobe_multi links in /proc/PID/fdinfo)." %
                   ("are exactly" if R["floor_matches_leaktrace"] else "DIFFER from",
                    len(R.get("probe_offsets", {}).get("leaktrace", []))))
    if "dwarf_probes_match_fp" in R:
        out.append("leaktrace-dwarf's probes %s leaktrace's (`--stacks` changes only how a stack is walked)."
                   % ("are exactly" if R["dwarf_probes_match_fp"] else "DIFFER from"))
    if not R.get("split"):
        # no run-time statistics: the BPF work estimated as the difference to the floor with return probes
        for t in THREADS:
            for mode, what in (("leaktrace", "leaktrace's"), ("leaktrace-dwarf", "leaktrace-dwarf's")):
                lt, fr = added(R, mode, t), added(R, "floor+ret", t)
                if lt is not None and fr is not None:
                    out.append("With %d thread%s, of %s %s ns added per pair, %s ns are the uprobe traps "
                               "themselves (floor+ret: entry and return probes) and %s ns its BPF programs' own work."
                               % (t, "s" if t > 1 else "", what, fmt_ns(lt), fmt_ns(fr), fmt_ns(lt - fr)))
    if R.get("split"):
        out.append("")
        out.append("Split of each leaktrace mode's added cost (medians): its BPF programs' run time, from the "
                   "kernel's statistics (BPF_ENABLE_STATS, on for every mode of the run), and the rest: the traps "
                   "themselves. ns per program run in the last column, for the programs that run at least once per 100 pairs.")
        out.append("")
        out.append("| mode | threads | added ns/pair | BPF ns/pair | traps (added − BPF) | ns per run |")
        out.append("|---|---:|---:|---:|---:|---|")
        for mode in LT_MODES:
            for t in THREADS:
                sp = R["split"].get(mode, {}).get(str(t))
                if sp:
                    out.append("| %s | %d | %s | %s | %s | %s |" % (
                        mode, t, fmt_ns(sp["added_ns"]), fmt_ns(sp["bpf_ns"]), fmt_ns(sp["traps_ns"]),
                        ", ".join("%s %s" % (k, fmt_ns(v)) for k, v in sorted(sp["ns_per_run"].items()))))
        out.append("")
    stk = R.get("stacks", {})
    for mode in ("leaktrace", "leaktrace-dwarf"):
        if mode in stk:
            out.append("%s: the top site's stack, %d frames above the allocator (%s), %s." % (
                "leaktrace-dwarf (.eh_frame tables)" if mode == "leaktrace-dwarf" else "leaktrace (frame pointers)",
                stk[mode]["frames"], " ← ".join(stk[mode]["funcs"]),
                "truncated" if stk[mode]["truncated"] else "complete"))
    oc = R.get("other_cpu", {})
    if oc:
        out.append("CPU time taken by anything but the workload and its tracer while a timed loop ran "
                   "(the machine's busy time minus theirs; on 2 CPUs it competes with them), "
                   "median / max per run: " + "; ".join(
                       "%s %.2f / %.2f s" % (mode, oc[mode]["median_s"], oc[mode]["max_s"])
                       for mode in MODES if mode in oc) + ".")
    at = R.get("attach_s_median", {})
    if at:
        out.append("Attach time, from the tracer's start to its probes in place (not part of the timed loop), "
                   "median: " + "; ".join("%s %.2f s" % (mode, at[mode]) for mode in MODES if mode in at) + ".")
    out.append("")
    out.append("| threads | leaktrace ÷ bcc (goal ≤ 0.25) | leaktrace ÷ floor (goal ≤ 2) | leaktrace ÷ floor+ret (goal ≤ 1.5) | sample-512k ÷ floor (goal ≤ 1.25) | sample-64k ÷ floor | sample-512k-ret ÷ floor+ret | bpftrace ÷ floor |")
    out.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for t in THREADS:
        r = R["ratios"].get(str(t), {})
        out.append("| %d | %s | %s | %s | %s | %s | %s | %s |" % (
            t, fmt_ratio(r.get("leaktrace/bcc")), fmt_ratio(r.get("leaktrace/floor")),
            fmt_ratio(r.get("leaktrace/floor+ret")), fmt_ratio(r.get("sample-512k/floor")),
            fmt_ratio(r.get("sample-64k/floor")), fmt_ratio(r.get("sample-512k-ret/floor+ret")),
            fmt_ratio(r.get("bpftrace/floor"))))
    if "leaktrace-dwarf" in R["modes"]:
        out.append("")
        out.append("`--stacks dwarf` against `--stacks fp` (added costs, medians; BPF work = added − floor+ret's):")
        out.append("")
        out.append("| threads | fp added ns | dwarf added ns | dwarf ÷ fp (goal ≤ 2) | dwarf BPF work ÷ fp BPF work | dwarf ÷ bcc | fp ÷ bcc |")
        out.append("|---:|---:|---:|---:|---:|---:|---:|")
        for t in THREADS:
            r = R["ratios"].get(str(t), {})
            out.append("| %d | %s | %s | %s | %s | %s | %s |" % (
                t, fmt_ns(added(R, "leaktrace", t)), fmt_ns(added(R, "leaktrace-dwarf", t)),
                fmt_ratio(r.get("leaktrace-dwarf/leaktrace")), fmt_ratio(r.get("dwarf-work/fp-work")),
                fmt_ratio(r.get("leaktrace-dwarf/bcc")), fmt_ratio(r.get("leaktrace/bcc"))))
    mem = R["memory"]
    out.append("")
    if mem.get("available"):
        out.append("Memory, %s outstanding allocations (`%s`):" % ("{:,}".format(c["hold"]), mem["command"]))
        out.append("")
        out.append("| leaktrace RSS idle | RSS holding 1M | peak RSS (incl. report) | BPF maps (memlock) | report after SIGINT | exit after SIGINT | reported outstanding |")
        out.append("|---:|---:|---:|---:|---:|---:|---:|")
        mib = lambda b: "–" if b is None else "%.1f MiB" % (b / 1048576.0)
        out.append("| %s | %s | %s | %s | %.3f s | %.3f s | %s |" % (
            mib(mem.get("rss_idle_bytes")), mib(mem.get("rss_held_bytes")), mib(mem.get("peak_rss_bytes")),
            mib(mem.get("maps_memlock_bytes")), mem["report_latency_s"], mem["exit_after_sigint_s"],
            "{:,}".format(mem["reported_outstanding_allocs"]) if mem.get("reported_outstanding_allocs") is not None else "?"))
    else:
        out.append("Memory with 1M outstanding allocations: unavailable: %s" % mem.get("reason"))
    out.append("")
    out.append("Goals:")
    out.append("")
    for g in R["goals"]:
        out.append("- %s: %s — %s" % (g["goal"], {True: "**met**", False: "**not met**", None: "unknown"}[g["met"]],
                                       g["detail"]))
    return "\n".join(out)


def goals(R):
    G = []

    def ratio_goal(key, limit, name):
        vals = {t: R["ratios"].get(str(t), {}).get(key) for t in THREADS}
        known = {t: v for t, v in vals.items() if v is not None}
        if not known:
            G.append({"goal": name, "met": None, "detail": "not measured (a mode was unavailable)"})
            return
        met = all(v <= limit for v in known.values()) and len(known) == len(THREADS)
        G.append({"goal": name, "met": met if len(known) == len(THREADS) else None,
                  "detail": ", ".join("%d thread%s: %.2f" % (t, "s" if t > 1 else "", v)
                                      for t, v in sorted(known.items())) + " (limit %g)" % limit})

    ratio_goal("leaktrace/bcc", 0.25, "leaktrace's added cost ≤ 1/4 of bcc memleak's")
    ratio_goal("leaktrace/floor", 2.0, "leaktrace's added cost ≤ 2× the floor's")
    ratio_goal("leaktrace/floor+ret", 1.5, "exact mode's added cost ≤ 1.5× the floor with return probes'")
    ratio_goal("sample-512k/floor", 1.25, "sampled mode at 512 KiB: added cost ≤ 1.25× the entry-only floor's")
    if "leaktrace-dwarf" in R["modes"]:
        ratio_goal("leaktrace-dwarf/leaktrace", 2.0,
                   "`--stacks dwarf`'s added cost ≤ 2× `--stacks fp`'s")
    mem = R["memory"]
    if mem.get("available"):
        lat = mem["report_latency_s"]
        G.append({"goal": "report in < 1 s at 1M outstanding allocations", "met": lat < 1.0,
                  "detail": "%.3f s from SIGINT to the report (%.3f s to exit, detach included)" %
                  (lat, mem["exit_after_sigint_s"])})
        peak = mem.get("peak_rss_bytes") or mem.get("hwm_before_report_bytes")
        G.append({"goal": "leaktrace RSS < 200 MiB at 1M outstanding allocations",
                  "met": peak is not None and peak < 200 * 1048576,
                  "detail": "peak RSS %.1f MiB (BPF maps in the kernel: %.1f MiB more)" %
                  (peak / 1048576.0, (mem.get("maps_memlock_bytes") or 0) / 1048576.0)})
    else:
        for g in ("report in < 1 s at 1M outstanding allocations", "leaktrace RSS < 200 MiB at 1M outstanding allocations"):
            G.append({"goal": g, "met": None, "detail": "not measured: %s" % mem.get("reason")})
    return G


def readme_section(R, table):
    s = R["system"]
    return """## Performance

`make bench` measures what tracing costs a malloc/free-heavy program
(README, "Performance"). The workload (`bench/workload.c`) runs malloc+free pairs of
mixed sizes six frames deep, in 1 and 2 threads, and is timed only after the
tracer's probes are in place (checked in the target's own code bytes and in
the tracer's links). Modes:

- **untraced**;
- **leaktrace** with `--stacks fp` (frame-pointer stack walks by
  bpf_get_stack(), what the default `--stacks auto` picks for this workload,
  which is built with frame pointers) and **leaktrace-dwarf** with
  `--stacks dwarf` (every allocation's stack walked in BPF with `.eh_frame`
  unwind tables: a table search per frame, so its cost grows with the depth);
  the report each prints after the timed loop gives the depth walked, and
  the bench checks in leaktrace's `uw_tgid` map that the tables are (dwarf)
  or are not (fp) in use for the workload;
- **sample-512k** and **sample-64k**: leaktrace `--stacks fp --sample 524288`
  and `--sample 65536` (uprobe sessions where the kernel has them, so that an
  unsampled call costs its entry trap only), and **sample-512k-ret**, the
  same with `LEAKTRACE_NO_UPROBE_SESSION=1`: entry and return probes, as on
  kernels without sessions (6.1);
- the **floor**: empty BPF programs at leaktrace's own probe offsets, attached
  the way leaktrace attaches them (`bench/floor.c`; **floor+ret** adds empty
  return probes where leaktrace has them) — what any uprobe tracer pays;
- **bpftrace** counting malloc and free hits (it must probe `free` at +0,
  which the kernel single-steps);
- bcc's **memleak-bpfcc** (`-p PID` with a long interval, like leaktrace),
  run last: it registers its uprobes with a bogus ref_ctr_offset, so while it
  is attached other tracers' probes on the same libc addresses fail with
  EINVAL, and it can leave a stale one on `free`+0 (README, "Limits").

A peer that is missing is reported as unavailable, not as a failure.

Latest results:

%(table)s

Reproduce (root; this run took %(elapsed).0f s, installs not counted):

```sh
make bench                     # peers that are missing are "unavailable"
BENCH_INSTALL=1 make bench     # first installs bpftrace, bpfcc-tools and kernel headers
```

`BENCH_RUNS`, `BENCH_PEER_RUNS`, `BENCH_PAIRS` and `BENCH_SKIP=bcc,bpftrace,memory`
tune a run. While memleak-bpfcc is attached, any other tracer that probes the
same libc address (malloc+0) gets EINVAL (dmesg: `ref_ctr_offset mismatch`),
so do not run the bench beside tests that attach probes.
Raw numbers, per-run values and the probes each tracer attached are in
`bench/results/latest.json`. On a 2-CPU VM, runs vary (2-thread runs most,
since the tracer and the driver share the CPUs): compare medians and ratios
rather than single values. Every run records the CPU time that anything
other than the workload and its tracer took while the loop ran
(`other_cpu_s`; summed up above the ratio table): more than a
few hundredths of a second means something else was running (tests, a VM)
and the run's numbers are high; run the bench again on a quiet machine.
""" % dict(s, table=table, elapsed=R["elapsed_s"])


def main():
    for f in (WORKLOAD, FLOOR, LEAKTRACE):
        if not os.access(f, os.X_OK):
            sys.exit("bench: %s is missing: run `make bench`" % f)
    R = {"system": sysinfo(),
         "config": {"pairs_per_thread": PAIRS, "untraced_pairs_per_thread": UNTRACED_PAIRS,
                    "runs": RUNS, "peer_runs": PEER_RUNS, "threads": THREADS, "hold": HOLD},
         "modes": {}, "ratios": {}, "memory": {}, "goals": []}
    addrs = {}
    stats_fd = bpfstats.enable()
    if stats_fd is None:
        log("warning: BPF run-time statistics unavailable: no trap/BPF split")
    for mode in MODES:
        why = tool_check(mode)
        R["modes"][mode] = {"available": why is None, "description": MODE_DESC[mode],
                            "threads": {}, "runs_info": {}}
        if why:
            R["modes"][mode]["reason"] = why
            log("%s: unavailable: %s" % (mode, why))

    def measure(mode, t):
        m = R["modes"][mode]
        if not m["available"]:
            return
        ns, info = run_once(mode, t, addrs)
        if ns is None:
            m["available"] = False
            m["reason"] = info
            log("%s: unavailable: %s" % (mode, info))
            return
        if "stack_funcs" in info:   # one example per mode, the frame counts stay per run
            R.setdefault("stacks", {}).setdefault(mode, {"funcs": info["stack_funcs"],
                                                         "frames": info["stack_frames"],
                                                         "truncated": info["stack_truncated"]})
            del info["stack_funcs"]
        m["threads"].setdefault(str(t), {"runs_ns": []})["runs_ns"].append(ns)
        m["runs_info"].setdefault(str(t), []).append(info)
        log("%-15s %d thread%s: %s ns/pair %s" % (mode, t, "s" if t > 1 else " ", fmt_ns(ns),
                                                 {k: v for k, v in info.items() if k != "probe_offsets"} or ""))

    # untraced, leaktrace and the floors interleaved, so that drift hits them alike
    for run in range(RUNS):
        for t in THREADS:
            for mode in CORE_MODES:
                measure(mode, t)
    for run in range(PEER_RUNS):
        for t in THREADS:
            measure("bpftrace", t)
    log("memory: leaktrace with %s outstanding allocations" % "{:,}".format(HOLD))
    R["memory"] = memory_run()
    log("memory: %s" % {k: v for k, v in R["memory"].items() if k != "maps"})
    # bcc last: it can leave a stale uprobe on free+0 behind (README, "Limits")
    for t in THREADS:
        for run in range(PEER_RUNS):
            measure("bcc", t)

    bpfstats.disable(stats_fd)
    R["elapsed_s"] = round(time.monotonic() - T0, 1)
    analyze(R)
    return output(R)


def analyze(R):
    """Statistics, added costs, ratios, probe check and goals from the raw runs in R."""
    for mode, m in R["modes"].items():
        for t, st in m["threads"].items():
            st.update(stats(st["runs_ns"]))
    base = R["modes"]["untraced"]
    for mode, m in R["modes"].items():
        if not m["available"] or not base["available"]:
            continue
        for t, st in m["threads"].items():
            b = base["threads"].get(t)
            if b:
                st["added_median"] = st["median"] - b["median"]
                st["added_min"] = st["min"] - b["min"]
    for t in THREADS:
        added = {}
        for mode, m in R["modes"].items():
            st = m["threads"].get(str(t)) if m["available"] else None
            if st and "added_median" in st:
                added[mode] = st["added_median"]
        r = {}
        for a, b in (("sample-512k", "floor"), ("sample-64k", "floor"), ("sample-512k-ret", "floor"),
                     ("sample-512k-ret", "floor+ret"), ("sample-512k", "leaktrace"),
                     ("leaktrace", "bcc"), ("leaktrace", "floor"), ("leaktrace", "floor+ret"),
                     ("bpftrace", "floor"), ("floor+ret", "floor"),
                     ("leaktrace-dwarf", "leaktrace"), ("leaktrace-dwarf", "bcc"),
                     ("leaktrace-dwarf", "floor"), ("leaktrace-dwarf", "floor+ret")):
            if a in added and b in added and added[b] > 0:
                r[a + "/" + b] = added[a] / added[b]
        # the BPF programs' own work (added cost beyond the traps): what --stacks changes
        if all(k in added for k in ("leaktrace", "leaktrace-dwarf", "floor+ret")):
            fp_work = added["leaktrace"] - added["floor+ret"]
            if fp_work > 0:
                r["dwarf-work/fp-work"] = (added["leaktrace-dwarf"] - added["floor+ret"]) / fp_work
        R["ratios"][str(t)] = r
    # the floor sits at exactly leaktrace's probes?
    lt_offs = {tuple(o) for infos in R["modes"]["leaktrace"]["runs_info"].values() for i in infos
               for o in i.get("probe_offsets", [])}
    dw_offs = {tuple(o) for infos in R["modes"].get("leaktrace-dwarf", {}).get("runs_info", {}).values()
               for i in infos for o in i.get("probe_offsets", [])}
    if lt_offs and dw_offs:
        R["dwarf_probes_match_fp"] = dw_offs == lt_offs
    fl_offs = {tuple(o) for infos in R["modes"]["floor"]["runs_info"].values() for i in infos
               for o in i.get("probe_offsets", [])}
    if lt_offs and fl_offs:
        # return links sit at entry offsets: the sets are equal when the floor is at leaktrace's probes
        R["floor_matches_leaktrace"] = fl_offs == lt_offs
        R["probe_offsets"] = {"leaktrace": sorted("%s+0x%x" % (os.path.basename(p), o) for p, o in lt_offs),
                              "floor": sorted("%s+0x%x" % (os.path.basename(p), o) for p, o in fl_offs)}
    for m in R["modes"].values():
        for infos in m["runs_info"].values():
            for i in infos:
                i.pop("probe_offsets", None)
    # CPU that anything else on the machine took while the timed loops ran, per mode
    oc = {}
    for mode, m in R["modes"].items():
        v = [i["other_cpu_s"] for infos in m["runs_info"].values() for i in infos if "other_cpu_s" in i]
        if v:
            oc[mode] = {"median_s": statistics.median(v), "max_s": max(v), "runs": len(v)}
    R["other_cpu"] = oc
    # start of the tracer to its probes in place (not timed in the loop; leaktrace loads and verifies
    # its BPF programs in this time)
    at = {}
    for mode, m in R["modes"].items():
        v = [i["attach_s"] for infos in m["runs_info"].values() for i in infos if "attach_s" in i]
        if v:
            at[mode] = statistics.median(v)
    R["attach_s_median"] = at
    # each leaktrace mode's added cost split: its BPF programs' run time (kernel statistics) and the rest
    # (the traps, their entry and exit, and the cache and TLB misses they cause the workload)
    split = {}
    for mode in LT_MODES:
        m = R["modes"].get(mode)
        for t in THREADS:
            infos = (m or {}).get("runs_info", {}).get(str(t), [])
            v = [i["bpf_ns_per_pair"] for i in infos if "bpf_ns_per_pair" in i]
            a = (m or {}).get("threads", {}).get(str(t), {}).get("added_median") if (m or {}).get("available") else None
            if v and a is not None:
                bpf = statistics.median(v)
                progs = {}
                for i in infos:
                    for name, st in i.get("bpf_progs", {}).items():
                        if st["runs_per_pair"] >= 0.01:     # the per-pair programs, not exec or fork
                            progs.setdefault(name, []).append(st["ns_per_run"])
                split.setdefault(mode, {})[str(t)] = {
                    "added_ns": a, "bpf_ns": bpf, "traps_ns": a - bpf,
                    "ns_per_run": {k: statistics.median(x) for k, x in progs.items()}}
    R["split"] = split
    R["goals"] = goals(R)


def output(R):
    table = markdown(R)
    os.makedirs(os.path.join(BENCH, "results"), exist_ok=True)
    with open(os.path.join(BENCH, "results", "latest.json"), "w") as f:
        json.dump(R, f, indent=2, sort_keys=False)
        f.write("\n")
    with open(os.path.join(BENCH, "README-section.md"), "w") as f:
        f.write(readme_section(R, table))
    print(table)
    print()
    print("bench: %.0f s; results in bench/results/latest.json, README block in bench/README-section.md"
          % R["elapsed_s"])
    # peers may be missing; leaktrace, the floor and the workload itself may not
    broken = [m for m in ("untraced", "leaktrace", "leaktrace-dwarf", "floor")
              if m in R["modes"] and not R["modes"][m]["available"]
              and "BENCH_SKIP" not in R["modes"][m].get("reason", "")]
    if broken:
        print("bench: FAILED: %s could not run" % ", ".join(broken), file=sys.stderr)
        return 1
    return 0


def render(path):
    """Re-render the table and README block from a results file (after editing the text here)."""
    with open(path) as f:
        R = json.load(f)
    analyze(R)
    return output(R)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--render":
        sys.exit(render(sys.argv[2]))
    sys.exit(main())
