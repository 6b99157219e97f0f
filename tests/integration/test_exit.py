# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Targets that exit while traced, and -c.

exiter leaks N x 4321 B from leak_before_exit(), waits 0.5 s and exits 0.
leaktrace must print a final, symbolized report (the process is gone by
then) and exit 0 by itself.
"""
import os

from harness import (REPO, SCALE, Target, Tracer, check, check_eq, check_site, source_of)

EXIT_BLOCK = 4321


def test_exiter_pid():
    """-p PID, no --once: target exits -> final report, exit 0."""
    with Target("exiter") as t, \
            Tracer(["-p", t.pid, "--format", "json", "-T", 0]) as lt:
        lt.wait_ready()
        t.release()
        check_eq(t.wait_exit(), 0, "exiter exit status")
        lt.wait(timeout=15 * SCALE)
        final = lt.final_report()
        check_eq([x.get("pid") for x in final.get("targets") or []], [t.pid], "targets[].pid")
        check_site(final, "exiter", "leak_before_exit", 4, 4 * EXIT_BLOCK,
                   source=source_of("exiter"), pid=t.pid)


def test_exiter_command():
    """-c 'tests/targets/exiter --no-wait 7': arguments honoured, startup traced."""
    cmd = "tests/targets/exiter --no-wait 7"
    if not os.access(REPO / "tests" / "targets" / "exiter", os.X_OK):
        from harness import target_path
        target_path("exiter")   # fails with the "not built" message
    with Tracer(["-c", cmd, "--format", "json", "-T", 0], cwd=str(REPO),
                child_marker="exiter") as lt:
        lt.wait(timeout=20 * SCALE)
        final = lt.final_report()
        pids = [x.get("pid") for x in final.get("targets") or []]
        check(len(pids) == 1 and isinstance(pids[0], int) and pids[0] != lt.pid,
              f"targets[].pid should be the child's pid, got {pids}")
        check_site(final, "exiter", "leak_before_exit", 7, 7 * EXIT_BLOCK,
                   source=source_of("exiter"), pid=pids[0])
