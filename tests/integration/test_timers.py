# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Timer leaks (issue 4): timerfds and POSIX timers never closed.

tests/targets/timers makes 25 periodic timerfds (1 s) never closed, 10
closed by close(), 5 by close_range(), 5 replaced by dup2 onto their fd,
4 one-shot timerfds never closed, 7 periodic POSIX timers never deleted
and 3 deleted. On this kernel the tracepoint hooks see the closes.
"""
import os
import subprocess

from harness import (LEAKTRACE, Fail, Target, Tracer, cached, check, check_eq,
                     marker_line, source_of, trace_target)

EXE = "timers"
# creating function -> (open, kind, periodic, interval_ns)
EXPECT = {
    "leak_timerfd_periodic": (25, "timerfd", 25, 1_000_000_000),
    "leak_timerfd_oneshot": (4, "timerfd", 0, 0),
    "leak_posix_periodic": (7, "posix", 7, 1_000_000_000),
}
LT_ARGS = ("--format", "json", "-T", "0", "--track", "timers")


def timers_of(report):
    tm = report.get("timers")
    if not isinstance(tm, dict):
        raise Fail(f"report has no \"timers\" object: keys {sorted(report)}")
    return tm


def first_exe(site, exe=EXE):
    for fr in site.get("stack") or []:
        if os.path.basename(fr.get("module") or "") == exe:
            return fr
    return None


def by_creator(tm):
    out = {}
    for s in tm["sites"]:
        fr = first_exe(s)
        out.setdefault(fr.get("func") if fr else None, []).append(s)
    return out


def describe(tm):
    return "\n".join(f"  open={s['open']} kind={s['kind']} periodic={s['periodic']} "
                     f"interval={s['interval_ns']} first={(first_exe(s) or {}).get('func')}"
                     for s in tm["sites"])


def run_set():
    return cached("timers", lambda: trace_target(EXE, lt_args=LT_ARGS))


def test_timer_counts_per_site():
    r = run_set()
    tm = timers_of(r.final)
    src = source_of(EXE)
    groups = by_creator(tm)
    for func, (n, kind, periodic, interval) in EXPECT.items():
        sites = groups.get(func, [])
        check(sites, f"no timer site created by {func}\n{describe(tm)}")
        check_eq(sum(s["open"] for s in sites), n, f"{func}: open")
        check_eq(sum(s["periodic"] for s in sites), periodic, f"{func}: periodic")
        for s in sites:
            check_eq(s["kind"], kind, f"{func}: kind")
            check_eq(s["interval_ns"], interval, f"{func}: interval_ns")
            fr = first_exe(s)
            check_eq(os.path.basename(fr.get("file") or ""), "timers.c", f"{func}: file")
            check_eq(fr.get("line"), marker_line(src, func), f"{func}: line")
    check_eq(tm["open"], 36, "timers.open")


def test_timers_with_fds_tracker():
    """With the fd tracker on, its sys_exit program sees the timer syscalls
    (one program, not two): the same counts, and the closed, close_range'd
    and dup2'ed timerfds gone; none of them counts as an fd."""
    r = cached("timers_fds", lambda: trace_target(
        EXE, lt_args=("--format", "json", "-T", "0", "--track", "timers,fds")))
    tm = timers_of(r.final)
    groups = by_creator(tm)
    for func, (n, _kind, periodic, _interval) in EXPECT.items():
        check_eq(sum(s["open"] for s in groups.get(func, [])), n, f"{func}: open with fds on")
        check_eq(sum(s["periodic"] for s in groups.get(func, [])), periodic,
                 f"{func}: periodic with fds on")
    check_eq(sorted(f for f in groups if f not in EXPECT), [], "unexpected timer sites with fds on")
    check_eq(tm["open"], 36, "timers.open with fds on")
    fds = r.final.get("fds") or {}
    check_eq([s for s in fds.get("sites", []) if s.get("kind") == "timerfd"], [],
             "timerfds counted as fds")


def test_closed_timers_absent():
    tm = timers_of(run_set().final)
    groups = by_creator(tm)
    for func in groups:
        check(func in EXPECT, f"unexpected timer site {func}:\n{describe(tm)}")


def test_timer_hooks_and_drops():
    r = run_set()
    check("tracepoint" in (r.final.get("hooks") or ""),
          f"hooks should say tracepoints on this kernel: {r.final.get('hooks')!r}")
    check_eq(r.final["drops"].get("timer_mismatch"), 0, "fdinfo mismatches")
    check_eq(r.final["drops"].get("timers_untracked"), 0, "timers_untracked")


def test_exec_closes_cloexec_timerfds():
    r = trace_target(EXE, targs=("--exec",), lt_args=LT_ARGS)
    tm = timers_of(r.final)
    check_eq(tm["open"], 0, "timers open after exec with CLOEXEC timerfds:\n" + describe(tm))


def _hooks_run(hooks):
    with Target(EXE) as t:
        p = subprocess.run([LEAKTRACE, "-p", str(t.pid), "--track", "timers", "--hooks", hooks,
                            "--once", "1"], capture_output=True, text=True, timeout=60)
    return p


def test_hooks_kprobe_refused_here():
    if os.path.exists("/sys/bus/event_source/devices/kprobe"):
        from harness import Skip
        raise Skip("this kernel has kprobes")
    p = _hooks_run("kprobe")
    check_eq(p.returncode, 1, "exit status of --hooks kprobe")
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    check_eq(len(lines), 1, f"one stderr line: {lines}")
    check("no kprobes" in lines[0], f"the line says kprobes are missing: {lines[0]!r}")


def test_hooks_fentry_refused_here():
    p = _hooks_run("fentry")
    if p.returncode == 0:
        from harness import Skip
        raise Skip("this kernel accepts fentry")
    check_eq(p.returncode, 1, "exit status of --hooks fentry")
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    check_eq(len(lines), 1, f"one stderr line: {lines}")
    check("fentry" in lines[0] and "refused" in lines[0], f"the line names fentry: {lines[0]!r}")


def test_hooks_auto_picks_tracepoint():
    with Target(EXE) as t:
        p = subprocess.run([LEAKTRACE, "-p", str(t.pid), "--track", "timers", "-v",
                            "--once", "1"], capture_output=True, text=True, timeout=60)
    check_eq(p.returncode, 0, "exit status of --hooks auto")
    check(any("timerfd closes: tracepoints" in l for l in p.stderr.splitlines()),
          "-v says the tracepoint path runs:\n" + p.stderr)
