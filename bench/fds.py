#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Cost of the fd and mmap trackers per hooked call (README, "Performance"), run by
bench/run.sh after bench.py (BENCH_SKIP=fds leaves it out).

bench/fdwork makes and releases an fd (open+close of /dev/null, socket+close,
pipe+2 closes, eventfd+close) or a 64 KiB anonymous mapping (mmap+munmap), N
times, four frames deep; ns per make+release pair, median of BENCH_RUNS
processes (each the median of its 3 repetitions). getppid makes nothing: its
added cost is what every syscall of every process pays while the fd tracker
is on. Modes:
  untraced             the workload alone
  fds (tracepoint)     leaktrace --track fds (--stacks fp): the sys_exit takes the fd, and
                       walks the stack from the saved user registers with the .eh_frame tables
  fds --stacks dwarf   the same, the whole process walked with the tables
  fds (uprobes)        LEAKTRACE_FD_UPROBES=1: a uprobe on the libc wrapper takes the stack
                       with frame pointers (what -a does), the sys_exit the fd
  timers only          leaktrace --track timers: its per-syscall tracepoints put every
                       syscall on the kernel's slow path; getppid there is the floor that
                       the fd tracker's raw_syscalls:sys_exit program adds to
  mmap (tracepoint), mmap (uprobes)   the same for --track mmap
Results: bench/results/fds.json and a markdown table on stdout.
"""
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FDWORK = os.path.join(ROOT, ".output", "bench", "fdwork")
LEAKTRACE = os.path.join(ROOT, "leaktrace")
N = int(os.environ.get("BENCH_FD_OPS", "20000"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
FD_OPS = ["open", "socket", "pipe", "eventfd", "getppid"]
# (name, leaktrace arguments, workload ops, environment)
MODES = [
    ("untraced", None, FD_OPS + ["mmap"], {}),
    ("fds (tracepoint)", ["--track", "fds", "--stacks", "fp"], FD_OPS, {}),
    ("fds --stacks dwarf", ["--track", "fds", "--stacks", "dwarf"], FD_OPS, {}),
    ("fds (uprobes)", ["--track", "fds", "--stacks", "fp"], FD_OPS, {"LEAKTRACE_FD_UPROBES": "1"}),
    ("timers only", ["--track", "timers"], ["getppid"], {}),
    ("mmap (tracepoint)", ["--track", "mmap", "--stacks", "fp"], ["mmap"], {}),
    ("mmap (uprobes)", ["--track", "mmap", "--stacks", "fp"], ["mmap"], {"LEAKTRACE_FD_UPROBES": "1"}),
]


def log(msg):
    print("fds bench: " + msg, file=sys.stderr, flush=True)


def wait_line(proc, prefix, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = proc.readline()
        if not line:
            return None
        if line.startswith(prefix):
            return line
    return None


def run_once(lt_args, ops, env):
    wl = subprocess.Popen([FDWORK, "-n", str(N), "-r", "3", *ops], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True)
    tr = None
    try:
        ready = wait_line(wl.stdout, "READY", 30)
        if not ready:
            return None, "workload did not start"
        pid = int(ready.split()[1])
        if lt_args:
            tr = subprocess.Popen([LEAKTRACE, "-p", str(pid), *lt_args, "--format", "json", "3600"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                  env=dict(os.environ, **env))
            if not wait_line(tr.stderr, "leaktrace: ready", 120):
                return None, "leaktrace not ready"
        wl.stdin.write("g")
        wl.stdin.flush()
        res = {}
        for line in wl.stdout:
            parts = line.split()
            if parts and parts[0] == "END":
                break
            if len(parts) == 6 and parts[0] == "op":
                res.setdefault(parts[1], []).append(float(parts[5]))
        return {op: statistics.median(v) for op, v in res.items()}, None
    finally:
        if tr and tr.poll() is None:
            tr.send_signal(2)
            try:
                tr.wait(30)
            except subprocess.TimeoutExpired:
                tr.kill()
        if wl.poll() is None:
            wl.kill()
        wl.wait()


def main():
    if not os.access(FDWORK, os.X_OK):
        log(f"{FDWORK} not built (make -C bench)")
        return 1
    results = {}
    for name, args, ops, env in MODES:
        per = {}
        for r in range(RUNS):
            got, why = run_once(args, ops, env)
            if got is None:
                log(f"{name}: run {r + 1}: {why}")
                continue
            for op, ns in got.items():
                per.setdefault(op, []).append(ns)
        results[name] = {op: statistics.median(v) for op, v in per.items()}
        log(f"{name}: " + ", ".join(f"{op} {ns:.0f} ns" for op, ns in results[name].items()))
    base = results.get("untraced", {})
    print("| mode | " + " | ".join(FD_OPS + ["mmap"]) + " |")
    print("|---|" + "---:|" * (len(FD_OPS) + 1))
    for name, _, _, _ in MODES:
        cells = []
        for op in FD_OPS + ["mmap"]:
            ns = results.get(name, {}).get(op)
            if ns is None:
                cells.append("")
            elif name == "untraced" or op not in base:
                cells.append(f"{ns:,.0f}")
            else:
                cells.append(f"{ns:,.0f} (+{ns - base[op]:,.0f})")
        print(f"| {name} | " + " | ".join(cells) + " |")
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "fds.json"), "w") as f:
        json.dump({"ops_per_run": N, "runs": RUNS, "ns_per_pair": results,
                   "kernel": os.uname().release, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                  f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
