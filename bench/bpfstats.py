# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The BPF programs' own run time, for bench.py's split of a mode's cost into
the uprobe traps and the BPF work.

enable() turns on the kernel's run-time statistics through BPF_ENABLE_STATS:
they stay on while the returned fd is open, and go off by themselves when it
is closed (or the bench dies), unlike the kernel.bpf_stats_enabled sysctl.
snapshot(pid) reads run_time_ns and run_cnt of every BPF program a tracer
holds, from /proc/PID/fdinfo (no bpftool needed); names() maps ids to names.
"""
import ctypes
import json
import os
import subprocess

_NR_BPF = 321               # x86_64
_BPF_ENABLE_STATS = 32
_BPF_STATS_RUN_TIME = 0


def enable():
    """An fd that keeps the run-time statistics on; None when the kernel refuses."""
    libc = ctypes.CDLL(None, use_errno=True)
    attr = (ctypes.c_uint32 * 4)(_BPF_STATS_RUN_TIME, 0, 0, 0)
    fd = libc.syscall(_NR_BPF, _BPF_ENABLE_STATS, ctypes.byref(attr), ctypes.sizeof(attr))
    return fd if fd >= 0 else None


def disable(fd):
    if fd is not None:
        os.close(fd)


def snapshot(pid):
    """prog id -> (run_time_ns, run_cnt) of the BPF programs PID holds open."""
    out = {}
    d = "/proc/%d/fd" % pid
    try:
        fds = os.listdir(d)
    except OSError:
        return out
    for fd in fds:
        try:
            if os.readlink(os.path.join(d, fd)) != "anon_inode:bpf-prog":
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                kv = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
        except OSError:
            continue
        if "prog_id" in kv and "run_time_ns" in kv:
            out[int(kv["prog_id"])] = (int(kv["run_time_ns"]), int(kv["run_cnt"]))
    return out


def delta(before, after):
    """prog id -> (ns, runs) between two snapshots."""
    return {i: (a[0] - before.get(i, (0, 0))[0], a[1] - before.get(i, (0, 0))[1])
            for i, a in after.items()}


def names(ids):
    """prog id -> name (bpftool), for the programs that ran."""
    out = {}
    for i in ids:
        try:
            p = subprocess.run(["bpftool", "prog", "show", "id", str(i), "-j"], capture_output=True,
                               text=True, timeout=10)
            out[i] = json.loads(p.stdout).get("name", str(i))
        except (OSError, ValueError, subprocess.TimeoutExpired):
            out[i] = str(i)
    return out
