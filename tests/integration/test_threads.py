# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Thread leaks (issue 3): live and exited-unjoined threads per creation site.

tests/targets/threads makes, each from its own function and start routine:
7 that block forever, 5 that exit unjoined, 6 joined, 4 detached then
exited, 3 created detached, 2 reaped by pthread_tryjoin_np after EBUSY; and
3 threads before the attach that must count as pre-existing only.
"""
import os
import re

from harness import (Fail, Target, Tracer, cached, check, check_eq, marker_line,
                     source_of, trace_target)

EXE = "threads"
# creating function -> (live, exited_unjoined, start routine)
EXPECT = {
    "spawn_forever": (7, 0, "run_forever"),
    "spawn_unjoined": (0, 5, "run_unjoined"),
}
ABSENT = ["spawn_joined", "spawn_detached", "spawn_attr_detached", "spawn_tryjoined",
          "pre_attach"]


def thread_sites(report):
    th = report.get("threads")
    if not isinstance(th, dict):
        raise Fail(f"report has no \"threads\" object: keys {sorted(report)}")
    return th


def first_exe(site, exe=EXE):
    for fr in site.get("stack") or []:
        if os.path.basename(fr.get("module") or "") == exe:
            return fr
    return None


def by_creator(th):
    out = {}
    for s in th["sites"]:
        fr = first_exe(s)
        name = fr.get("func") if fr else None
        out.setdefault(name, []).append(s)
    return out


def describe(th):
    lines = []
    for s in th["sites"]:
        fr = first_exe(s) or {}
        lines.append(f"  live={s['live']} exited_unjoined={s['exited_unjoined']} "
                     f"start={s.get('start_routine')} first={fr.get('func')}:{fr.get('line')}")
    return "\n".join(lines)


def run_set():
    return cached("threads", lambda: trace_target(
        EXE, lt_args=("--format", "json", "-T", "0", "--track", "threads")))


def test_thread_counts_per_site():
    r = run_set()
    th = thread_sites(r.final)
    src = source_of(EXE)
    groups = by_creator(th)
    for func, (live, exited, routine) in EXPECT.items():
        sites = groups.get(func, [])
        check(sites, f"no thread site created by {func}\n{describe(th)}")
        check_eq(sum(s["live"] for s in sites), live, f"{func}: live")
        check_eq(sum(s["exited_unjoined"] for s in sites), exited, f"{func}: exited_unjoined")
        for s in sites:
            check_eq(s.get("start_routine"), routine, f"{func}: start routine")
            fr = first_exe(s)
            check_eq(os.path.basename(fr.get("file") or ""), "threads.c", f"{func}: file")
            check_eq(fr.get("line"), marker_line(src, func), f"{func}: line")
    check_eq(th["live"], 7, "threads.live")
    check_eq(th["exited_unjoined"], 5, "threads.exited_unjoined")


def test_released_threads_absent():
    th = thread_sites(run_set().final)
    groups = by_creator(th)
    for func in ABSENT:
        check(func not in groups, f"{func} should not be reported:\n{describe(th)}")
    check_eq(len(th["sites"]), sum(len(groups[f]) for f in EXPECT if f in groups),
             "no thread site other than the leaking ones")


def test_preexisting_threads():
    th = thread_sites(run_set().final)
    check_eq(th["preexisting"], 4, "pre-existing threads (main + 3 pre_attach)")
    # main + 3 pre-attach + 7 forever still running
    check_eq(th["total_live"], 11, "threads running in all")


def test_no_thread_drops():
    d = run_set().final["drops"]
    check_eq(d.get("threads_untracked"), 0, "threads_untracked")
    check_eq(d.get("missed_returns"), 0, "missed_returns")


def test_churn_10000_threads():
    r = trace_target(EXE, targs=("--churn", "10000"),
                     lt_args=("--format", "json", "-T", "0", "--track", "threads"))
    th = thread_sites(r.final)
    check_eq(len(th["sites"]), 0, "thread sites after 10,000 joined threads:\n" + describe(th))
    check_eq(th["live"] + th["exited_unjoined"], 0, "leaked threads")
    for k, v in r.final["drops"].items():
        check_eq(v, 0, f"drops.{k}")


def test_text_thread_section():
    with Target(EXE) as t, Tracer(["-p", t.pid, "--track", "threads", "-T", "0", 60]) as lt:
        lt.wait_ready()
        t.release(expect="DONE")
        lt.stop()
        text = "\n".join(lt.out.lines)
    m = re.search(r"^THREADS: (\d+) live and (\d+) exited-unjoined", text, re.M)
    check(m, "no THREADS line in the text report:\n" + text)
    check_eq((int(m.group(1)), int(m.group(2))), (7, 5), "THREADS totals")
    counts = [(int(a), int(b)) for a, b in
              re.findall(r"^  #\d+ (\d+) live, (\d+) exited-unjoined", text, re.M)]
    check_eq(sum(a for a, _ in counts), 7, "live over the text sites")
    check_eq(sum(b for _, b in counts), 5, "exited-unjoined over the text sites")
    totals = [a + b for a, b in counts]
    check_eq(totals, sorted(totals, reverse=True), "thread sites sorted by count")
    check("spawn_forever+" in text and "spawn_unjoined+" in text, "creating functions in the text")


def test_libc_internal_thread():
    """timer_create(SIGEV_THREAD) makes libc start a helper thread itself:
    it is reported, flagged libc_internal, and not as the program's leak."""
    r = trace_target(EXE, targs=("--sigev-thread",),
                     lt_args=("--format", "json", "-T", "0", "--track", "threads"))
    th = thread_sites(r.final)
    internal = [s for s in th["sites"] if s.get("libc_internal")]
    check_eq(sum(s["live"] for s in internal), 1, "live libc-internal threads:\n" + describe(th))
    check_eq([s for s in th["sites"] if not s.get("libc_internal")], [],
             "no thread site attributed to the program")
