# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Forks and many PIDs (issue 8): a fork is traced only with -f/--follow,
blocks inherited from before the fork stay the parent's, and more than a
few -p PIDs share one probe per function (pid = -1 plus a tgid map)."""
import os
import signal

from harness import (Target, Tracer, check, check_eq, first_exe_frame, mem_sites)

EXE = "forker"


def run(follow):
    args = ["--format", "json", "-T", "0", "--track", "mem", 60]
    with Target(EXE) as t, Tracer(["-p", t.pid] + (["-f"] if follow else []) + args) as lt:
        lt.wait_ready()
        t.release(expect="DONE")
        child = int([l for l in t.out.lines if l.startswith("CHILD ")][0].split()[1])
        lt.stop(signal.SIGINT)
        final = lt.final_report()
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return final, t.pid, child


def by(final, pid):
    out = {}
    for s in mem_sites(final):
        if s["pid"] != pid:
            continue
        fr = first_exe_frame(s, EXE)
        if fr:
            name = fr["func"]
            b, a = out.get(name, (0, 0))
            out[name] = (b + s["bytes"], a + s["allocs"])
    return out


def test_fork_not_followed_by_default():
    final, parent, child = run(follow=False)
    check_eq(sorted({s["pid"] for s in mem_sites(final)}), [parent], "pids with sites without -f")
    p = by(final, parent)
    check_eq(p.get("parent_leak"), (2000, 2), "parent_leak")
    check_eq(p.get("inherited"), (777, 1), "inherited, freed only by the child's copy")
    check("child_leak" not in p, "child_leak must not be the parent's")


def test_fork_followed():
    final, parent, child = run(follow=True)
    pids = {tg["pid"] for tg in final["targets"]}
    check(child in pids, f"child {child} among the targets {sorted(pids)}")
    c = by(final, child)
    check_eq(c.get("child_leak"), (1665, 3), "child_leak in the child")
    check("inherited" not in c, "the inherited block is not the child's")
    p = by(final, parent)
    check_eq(p.get("parent_leak"), (2000, 2), "parent_leak")
    check_eq(p.get("inherited"), (777, 1), "inherited stays the parent's")


def test_many_pids_share_probes():
    """Six -p PIDs: one probe per function for all of them (a tgid map in
    BPF), and each one's leaks are exact."""
    from harness import Run, check_leaker, leaker_expect
    targets = [Target("leaker") for _ in range(6)]
    try:
        with Tracer(["-p", ",".join(str(t.pid) for t in targets), "-v", "--format", "json",
                     "-T", "0", "--track", "mem", 60]) as lt:
            lt.wait_ready()
            for t in targets:
                t.release(expect="DONE")
            lt.stop(signal.SIGINT)
            final = lt.final_report()
            err = "\n".join(lt.stderr_lines())
        check("filtered by a tgid map" in err, "-v says probes are shared with a tgid map:\n" + err)
        check_eq(sum(1 for l in err.splitlines() if l.startswith("leaktrace: probe malloc ")), 1,
                 "malloc probed once for all six pids")
        check_eq(sorted({s["pid"] for s in mem_sites(final)}), sorted(t.pid for t in targets),
                 "pids with sites")
        for t in targets:
            sites = [s for s in mem_sites(final) if s["pid"] == t.pid]
            check_leaker(Run({"memory": {"sites": sites}}, [], t, None), leaker_expect("leaker"))
    finally:
        for t in targets:
            t.kill()


def test_200_targets():
    """200 targets at once with -p: one probe per function for all (a tgid
    map), RLIMIT_NOFILE raised for their open files, every leak exact."""
    targets = []
    try:
        for _ in range(200):
            targets.append(Target("exiter"))
        with Tracer(["-p", ",".join(str(t.pid) for t in targets), "--format", "json",
                     "-T", "0", "--track", "mem", 120]) as lt:
            lt.wait_ready(timeout=120)
            for t in targets:
                os.kill(t.pid, signal.SIGUSR1)
            for t in targets:
                t.wait_exit(timeout=60)
            # detaching probes shared by every process takes a while
            lt.wait(240)
            final = lt.final_report()
        seen = {}
        for s in mem_sites(final):
            fr = first_exe_frame(s, "exiter")
            if fr and fr.get("func") == "leak_before_exit":
                b, a = seen.get(s["pid"], (0, 0))
                seen[s["pid"]] = (b + s["bytes"], a + s["allocs"])
        check_eq(len(final["targets"]), 200, "targets in the report")
        missing = [t.pid for t in targets if seen.get(t.pid) != (17284, 4)]
        check_eq(missing, [], "targets without exactly 4 x 4321 B at leak_before_exit")
    finally:
        for t in targets:
            t.kill()
