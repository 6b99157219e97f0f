# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Report modes and options: --once, INTERVAL COUNT, SIGTERM, -o, --track,
--min-age, --min-size/--max-size, -T.

continuous leaks 100 B from drip() every 10 ms (at most 100 per second).
"""
import os
import signal
import tempfile
import time

from harness import (LEAKER_EXPECT, GROW_FINAL_BYTES, SCALE, Fail, Target, Tracer, check,
                     check_absent, check_eq, check_le, check_site, describe_sites,
                     marker_line, mem_sites, source_of, sites_of, first_exe_frame, totals,
                     trace_target)

DRIP = 100
ONCE_LIMIT = 5.0 * SCALE     # --once 3 must be done in under 5 s, attach included


def _drip(report, exe="continuous"):
    """(bytes, allocs, sites) of drip(), checked to be whole 100 B blocks."""
    b, a, ss = totals(report, exe, "drip")
    if not ss:
        raise Fail(f"no drip() site\n{describe_sites(report)}")
    check_eq(b, a * DRIP, "drip bytes vs 100 * allocs")
    return b, a, ss


def _check_drip_frame(report):
    line = marker_line(source_of("continuous"), "drip")
    for s in sites_of(report, "continuous", "drip"):
        fr = first_exe_frame(s, "continuous")
        check(s["stack"][0] is fr, "drip: stack[0] is not drip()")
        check_eq(os.path.basename(fr.get("file") or ""), "continuous.c", "drip: file")
        check_eq(fr.get("line"), line, "drip: line")


def test_once_json_one_report():
    """-p PID --once 3: one final report, exit 0, in under 5 s."""
    with Target("continuous", ["--no-wait"]) as t, \
            Tracer(["-p", t.pid, "--once", 3, "--format", "json", "-T", 0]) as lt:
        lt.wait(timeout=15 * SCALE)
        check_le(round(lt.wall, 2), ONCE_LIMIT, "wall time of leaktrace --once 3 (s)")
        reps = lt.reports()
        check_eq(len(reps), 1, "number of reports printed with --once")
        final = lt.final_report()
        b, a, ss = _drip(final)
        check(a >= 50, f"drip: expected at least 50 allocations in 3 s, got {a}")
        check_le(a, 100 * lt.wall + 5, "drip allocations vs 100 per second")
        _check_drip_frame(final)
        for s in ss:
            check(s.get("trend") in ("growing", "new"),
                  f"drip trend: expected growing (or new), got {s.get('trend')!r}")
        check(t.alive(), "the target died while traced")


def test_once_text():
    """--once 3 in the default text format: exit 0, under 5 s, names drip."""
    with Target("continuous", ["--no-wait"]) as t, \
            Tracer(["-p", t.pid, "--once", 3]) as lt:
        lt.wait(timeout=15 * SCALE)
        check_le(round(lt.wall, 2), ONCE_LIMIT, "wall time of leaktrace --once 3 (s)")
        text = lt.out.text()
        check("drip" in text, f"text report does not mention drip:\n{text[:2000]}")
        check("continuous.c:" in text, "text report has no continuous.c:LINE frame")
        headers = [l for l in text.splitlines() if l.startswith("leaktrace report")]
        if headers:
            check_eq(len(headers), 1, "number of 'leaktrace report' headers with --once")


def test_interval_count():
    """INTERVAL 1 COUNT 2: exits by itself; reports numbered; delta_bytes is the change."""
    with Target("continuous", ["--no-wait"]) as t, \
            Tracer(["-p", t.pid, "--format", "json", "-T", 0, 1, 2]) as lt:
        lt.wait(timeout=(2 + 20) * SCALE)
        reps = lt.reports()
        check(len(reps) >= 2, f"expected at least 2 reports, got {len(reps)}")
        check_eq([r.get("report") for r in reps], list(range(1, len(reps) + 1)),
                 "report numbers")
        check_eq([bool(r.get("final")) for r in reps], [False] * (len(reps) - 1) + [True],
                 "final flags")
        prev = None
        for r in reps:
            b, a, ss = _drip(r)
            if prev is not None and len(ss) == 1:
                check_eq(ss[0].get("delta_bytes"), b - prev,
                         f"report {r.get('report')}: drip delta_bytes vs the previous report")
            prev = b if len(ss) == 1 else None
        check(_drip(reps[-1])[0] > _drip(reps[0])[0], "drip bytes did not grow between reports")


def test_sigterm_final_report():
    with Target("continuous") as t, \
            Tracer(["-p", t.pid, "--format", "json", "-T", 0, 60]) as lt:
        lt.wait_ready()
        t.release()
        time.sleep(1.0)
        lt.stop(signal.SIGTERM)
        final = lt.final_report()
        b, a, _ = _drip(final)
        check(a >= 20, f"drip: expected at least 20 allocations in 1 s, got {a}")
        _check_drip_frame(final)


def test_output_file():
    """-o FILE: the JSON report goes to the file, not to stdout."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "report.json")
        with Target("continuous", ["--no-wait"]) as t, \
                Tracer(["-p", t.pid, "--once", 2, "--format", "json", "-T", 0, "-o", out]) as lt:
            lt.wait(timeout=15 * SCALE)
            check_eq(lt.out.text().strip(), "", "stdout with -o")
            check(os.path.exists(out), f"-o {out} was not written")
            import json
            lines = [l for l in open(out).read().splitlines() if l.strip()]
            check_eq(len(lines), 1, "JSON lines in the -o file")
            rep = json.loads(lines[0])
            check_eq(rep.get("final"), True, "final flag in the -o file")
            _drip(rep)


def test_track_mem_only():
    """--track mem: the threads and timers keys are omitted."""
    with Target("continuous", ["--no-wait"]) as t, \
            Tracer(["-p", t.pid, "--once", 1, "--format", "json", "-T", 0,
                    "--track", "mem"]) as lt:
        lt.wait(timeout=15 * SCALE)
        final = lt.final_report()
        check("memory" in final, "memory key missing with --track mem")
        extra = sorted(k for k in ("threads", "timers") if k in final)
        check_eq(extra, [], "keys of trackers that are off")
        _drip(final)


def test_min_age():
    """--min-age 2 --once 3: only drips older than 2 s count (<= 100/s of the rest)."""
    with Target("continuous", ["--no-wait"]) as t, \
            Tracer(["-p", t.pid, "--once", 3, "--min-age", 2, "--format", "json",
                    "-T", 0]) as lt:
        lt.wait(timeout=15 * SCALE)
        final = lt.final_report()
        b, a, ss = _drip(final)
        check(a > 0, "no drip allocation older than 2 s was reported")
        # allocations older than 2 s were made in the first (traced time - 2) s;
        # without the filter there would be about 100 * traced time of them
        check_le(a, int(100 * (lt.wall - 2)) + 5,
                 f"drip allocs older than 2 s (leaktrace ran {lt.wall:.1f} s)")
        for s in ss:
            check(s.get("oldest_age_s", 0) >= 2.0,
                  f"oldest_age_s {s.get('oldest_age_s')} < --min-age 2")


def test_size_filters():
    """--min-size 1700 --max-size 2000 on leaker: memalign 1760, valloc 1800, pvalloc 1900."""
    r = trace_target("leaker", lt_args=("--format", "json", "-T", "0",
                                        "--min-size", "1700", "--max-size", "2000"))
    src = source_of("leaker")
    inside = {"leak_memalign", "leak_valloc", "leak_pvalloc"}
    for func, (marker, allocs, nbytes) in LEAKER_EXPECT.items():
        if func in inside:
            check_site(r.final, r.exe, func, allocs, nbytes, source=src, marker=marker,
                       pid=r.pid)
        else:
            check_absent(r.final, r.exe, func, r.pid)
    for func in ("grow_origin", "grow_realloc"):
        check_absent(r.final, r.exe, func, r.pid)
    big = [s for s in mem_sites(r.final) if not 1700 * s["allocs"] <= s["bytes"]
           <= 2000 * s["allocs"]]
    check_eq(len(big), 0, "sites with an average size outside [1700, 2000]")


def test_top_limits_sites():
    """-T 1: one memory site, while the totals still count everything."""
    r = trace_target("leaker", lt_args=("--format", "json", "-T", "1"))
    sites = mem_sites(r.final)
    check_eq(len(sites), 1, "memory sites with -T 1")
    want = sum(v[2] for v in LEAKER_EXPECT.values()) + GROW_FINAL_BYTES
    got = r.final["memory"].get("outstanding_bytes", 0)
    check(got >= want, f"memory.outstanding_bytes {got} < the {want} B leaker leaks")
    check(got >= sites[0]["bytes"], "outstanding_bytes smaller than the one site shown")
