# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The Go heap (go_heap section): the runtime's own heap profile read from
outside, compared with the profile the program writes of itself.

tests/targets/go/goheap (Go 1.19) sets runtime.MemProfileRate (-rate 1, or
the default 512 KiB with -rate 0), keeps 30 x 64 KiB from keepBig, a map
capped at 20 values of 1000 bytes from capped, drops 2000 temporaries,
runs two GCs, stops GCs and writes its own heap profile (PREFIX.pb.gz,
runtime/pprof's proto, scaled) before it prints DONE. After that its
profile does not move: leaktrace's sites must equal the program's samples
stack for stack, in all four values. tests/targets/go/gonoprof never
references runtime.MemProfile: the linker turns profiling off.
"""
import os
import re
import signal
import tempfile
import time
from collections import defaultdict

import pprofpb
from harness import REPO, SCALE, SETTLE, Target, Tracer, check, check_eq
from test_go import go_target, marker_line
from test_outputs import go_pprof

GOHEAP_SRC = REPO / "tests" / "targets" / "go" / "goheap" / "main.go"
NOPROF_SRC = REPO / "tests" / "targets" / "go" / "gonoprof" / "main.go"


def line_of(marker, src=GOHEAP_SRC):
    return marker_line(marker, src)


def go_heap(report):
    return report.get("go_heap") or {}


def by_stack_json(report):
    """{(func, line) frames: [alloc_objects, alloc_space, inuse_objects, inuse_space]} of leaktrace's sites."""
    out = defaultdict(lambda: [0, 0, 0, 0])
    for s in go_heap(report).get("sites") or []:
        key = tuple((f.get("func"), f.get("line")) for f in s["stack"])
        for i, v in enumerate((s["alloc_objects"], s["alloc_bytes"], s["inuse_objects"], s["inuse_bytes"])):
            out[key][i] += v
    return {k: v for k, v in out.items() if any(v)}


def sites_at(report, func, line, size):
    """[alloc_objects, alloc_space, inuse_objects, inuse_space] of each site whose first frame is
    FUNC:LINE and whose objects are SIZE bytes (other sizes there: the slices and maps holding them)."""
    return [[s["alloc_objects"], s["alloc_bytes"], s["inuse_objects"], s["inuse_bytes"]]
            for s in go_heap(report).get("sites") or []
            if s["stack"] and (s["stack"][0]["func"], s["stack"][0]["line"]) == (func, line)
            and s["object_size"] == size]


def by_stack_pprof(prof):
    names = [t for t, _ in prof.sample_types]
    order = [names.index(n) for n in ("alloc_objects", "alloc_space", "inuse_objects", "inuse_space")]
    out = defaultdict(lambda: [0, 0, 0, 0])
    for s in prof.samples:
        key = tuple(s["frames"])
        for i, k in enumerate(order):
            out[key][i] += s["values"][k]
    return {k: v for k, v in out.items() if any(v)}


def diff(a, b):
    lines = []
    for k in sorted(set(a) | set(b), key=str):
        if a.get(k) != b.get(k):
            lines.append(f"  {a.get(k)} vs {b.get(k)}: {' < '.join(f'{f}:{l}' for f, l in k[:4])}")
    return "\n".join(lines[:20])


def traced_goheap(binary, rate, tmp, extra=(), once=True):
    prefix = os.path.join(tmp, "own")
    t = Target("goheap", ["-rate", str(rate), "-out", prefix], path=go_target(binary))
    t.release(expect="DONE")
    lt_pb = os.path.join(tmp, "lt.pb.gz")
    lt = Tracer(["-p", t.pid, "--format", "json,pprof", "-o", f"-,{lt_pb}", "-T", 0, *extra,
                 "--once", 2])
    return t, lt, prefix + ".pb.gz", os.path.join(tmp, "lt.goheap.pb.gz")


def test_goheap_equals_own_profile():
    """Rate 1 and the default rate, plain, stripped and PIE: every stack's
    in-use and allocated objects and bytes equal the program's own proto
    (scaled as pprof scales them), in the JSON and in leaktrace's own goheap
    profile; keepBig holds exactly 30 x 64 KiB, capped 20 of its 1000."""
    for binary in ("goheap", "goheap_stripped", "goheap_pie"):
        for rate in (1, 0):
            with tempfile.TemporaryDirectory() as tmp:
                t, lt, own_pb, lt_pb = traced_goheap(binary, rate, tmp)
                with t, lt:
                    lt.wait(30 * SCALE)
                    final = lt.final_report()
                where = f"{binary} rate {rate or 'default'}"
                own = pprofpb.read(own_pb)
                mine = pprofpb.read(lt_pb)
                want = by_stack_pprof(own)
                got = by_stack_json(final)
                check(want, f"{where}: the program's own profile has samples")
                check_eq(got == want, True, f"{where}: JSON sites vs the program's profile, per stack "
                         f"(leaktrace vs own):\n{diff(got, want)}")
                check_eq(by_stack_pprof(mine) == want, True, f"{where}: leaktrace's goheap profile vs the "
                         f"program's:\n{diff(by_stack_pprof(mine), want)}")
                check_eq([t for t, _ in mine.sample_types], [t for t, _ in own.sample_types],
                         f"{where}: sample types")
                check_eq((mine.period_type, mine.period), (own.period_type, own.period),
                         f"{where}: period type and period (the rate)")
                gh = go_heap(final)
                check_eq(gh.get("rate"), own.period, f"{where}: the rate in the JSON")
                keep = sites_at(final, "main.keepBig", line_of("keep-big"), 65536)
                capped = sites_at(final, "main.capped", line_of("map-value"), 1024)
                if rate == 1:
                    check_eq(keep, [[30, 30 * 65536, 30, 30 * 65536]], f"{where}: keepBig")
                    check_eq([v[2:] for v in capped], [[20, 20 * 1024]], f"{where}: capped in use")
                    check_eq([v[0] for v in capped], [1000], f"{where}: capped allocated")
                procs = gh.get("processes") or []
                check_eq([p["pid"] for p in procs], [t.pid], f"{where}: the process overview")
                p = procs[0]
                check(p["profiling"] is True and p["rate"] == own.period, f"{where}: profiling on: {p}")
                check(p["heap_inuse_bytes"] and p["heap_inuse_bytes"] >= 30 * 65536,
                      f"{where}: Go heap in use (memstats) holds keepBig's 1.9 MiB: {p}")
                check(p["stacks_inuse_bytes"] and p["num_gc"] >= 2 and p["rss_bytes"] > 0,
                      f"{where}: goroutine stacks, GCs and RSS: {p}")
                check_eq(p["c_heap_bytes"], None, f"{where}: no C heap in a Go program without libc")


def pprof_top_rows(path, tmp):
    rc, out, err = go_pprof(["-top", "-nodefraction=0", path], tmp)
    check_eq(rc, 0, f"go tool pprof -top {path}\n{err[-2000:]}")
    rows = [l for l in out.splitlines() if re.match(r"^\s*[\d.]+\w*\s+[\d.]+%", l)]
    head = [l for l in out.splitlines() if l.startswith("Showing nodes") or l.startswith("Type:")]
    return head, rows, out


def test_goheap_pprof_top_same_as_own():
    """`go tool pprof -top` prints the same lines for leaktrace's goheap
    profile as for the program's own, at the default rate (scaled)."""
    with tempfile.TemporaryDirectory() as tmp:
        t, lt, own_pb, lt_pb = traced_goheap("goheap_stripped", 0, tmp)
        with t, lt:
            lt.wait(30 * SCALE)
        h1, r1, out1 = pprof_top_rows(own_pb, tmp)
        h2, r2, out2 = pprof_top_rows(lt_pb, tmp)
        check(r1, f"rows in the program's own -top:\n{out1}")
        check_eq(h2, h1, "the Type and Showing lines")
        check_eq(r2, r1, f"the -top rows\nleaktrace:\n{out2}\nown:\n{out1}")


def test_goheap_profiling_off_and_rate_write():
    """gonoprof has profiling off: one line says so, goroutines are still
    read, no Go heap site. With --go-memprofile-rate 4096 the 25 x 64 KiB
    it keeps after the write appear at main.after, and none from before."""
    with Target("gonoprof", [], path=go_target("gonoprof")) as t, \
            Tracer(["-p", t.pid, "--format", "json", "-T", 0, 60]) as lt:
        lt.wait_ready()
        t.release(expect="BEFORE")
        time.sleep(SETTLE)
        lt.stop(signal.SIGINT)
        final = lt.final_report()
        err = "\n".join(lt.stderr_lines())
    off = [l for l in err.splitlines() if "memory profiling is off" in l]
    check_eq(len(off), 1, f"one line says profiling is off:\n{err}")
    check(f"pid {t.pid} (gonoprof)" in off[0] and "--go-memprofile-rate" in off[0], off[0])
    check_eq(go_heap(final).get("sites"), [], "no Go heap sites")
    check((final.get("goroutines") or {}).get("total", 0) >= 1, "goroutines still read")
    p = go_heap(final)["processes"][0]
    check_eq((p["profiling"], p["rate"]), (False, 0), "the overview says profiling is off")
    check("profiling is off" in (p["note"] or ""), f"the overview's note: {p}")

    with Target("gonoprof", [], path=go_target("gonoprof")) as t:
        t.release(expect="BEFORE")
        lt = Tracer(["-p", t.pid, "--go-memprofile-rate", 4096, "--format", "json", "-T", 0, 60])
        with lt:
            lt.wait_ready()
            t.release(expect="AFTER")
            time.sleep(SETTLE)
            lt.stop(signal.SIGINT)
            final = lt.final_report()
            err = "\n".join(lt.stderr_lines())
    check(f"pid {t.pid} (gonoprof): runtime.MemProfileRate 0 -> 4096" in err, f"the write is said:\n{err}")
    check("memory profiling is off" not in err, f"no profiling-off line once the rate is set:\n{err}")
    after = sites_at(final, "main.after", line_of("after", NOPROF_SRC), 65536)
    before = [s for s in go_heap(final)["sites"] if any(f["func"] == "main.before" for f in s["stack"])]
    check_eq(after, [[25, 25 * 65536, 25, 25 * 65536]], "main.after: 25 x 64 KiB (64 KiB > rate: unscaled)")
    check_eq(before, [], "nothing from before the write")
    check_eq(go_heap(final)["rate"], 4096, "the rate")


def test_goheap_rate_refused():
    """--go-memprofile-rate: refused for a process that is not Go (exit 2,
    one line), with -a (usage), and as a value out of range."""
    from test_outputs import run_lt
    with Target("leaker") as t:
        rc, out, err = run_lt(["-p", t.pid, "--go-memprofile-rate", 4096, "--once", 1])
    check_eq(rc, 2, f"exit status for a C program\n{err}")
    check(f"pid {t.pid} (leaker) is not a Go program" in err and len(err.strip().splitlines()) == 1,
          f"one line:\n{err}")
    rc, out, err = run_lt(["-a", "--go-memprofile-rate", 4096, "--once", 1])
    check_eq(rc, 2, f"-a\n{err}")
    check("not -a" in err, err)
    rc, out, err = run_lt(["-p", 1, "--go-memprofile-rate", 0, "--once", 1])
    check_eq(rc, 2, f"rate 0\n{err}")


def test_goheap_growth_and_fail_on_leak():
    """goheap -grow keeps 64 KiB more every 100 ms: main.growing is a
    growing Go heap site and --fail-on-leak exits 3; without -grow the
    heap is flat and it exits 0."""
    for grow, rc_want in ((True, 3), (False, 0)):
        with tempfile.TemporaryDirectory() as tmp:
            args = ["-rate", "1", "-out", os.path.join(tmp, "own")] + (["-grow"] if grow else [])
            with Target("goheap", args, path=go_target("goheap")) as t:
                t.release(expect="DONE")
                with Tracer(["-p", t.pid, "--format", "json", "-T", 0, "--fail-on-leak", "--once", 6]) as lt:
                    lt.wait(40 * SCALE, expect_rc=rc_want)
                    final = lt.final_report()
        # the 64 KiB blocks (the slice that holds them grows too: other sizes, other buckets)
        sites = [s for s in go_heap(final)["sites"] if s["stack"] and s["stack"][0]["func"] == "main.growing"
                 and s["object_size"] == 65536]
        if grow:
            check_eq(len(sites), 1, "one main.growing site")
            check_eq(sites[0]["trend"], "growing", f"main.growing's trend: {sites[0]}")
            check(sites[0]["inuse_objects"] >= 30 and sites[0]["inuse_bytes"] == sites[0]["inuse_objects"] * 65536,
                  f"main.growing holds n x 64 KiB, n >= 30 after 6 s: {sites[0]}")
        else:
            check_eq(sites, [], "no main.growing without -grow")
            check_eq([(s["stack"][:2], s["inuse_bytes"]) for s in go_heap(final)["sites"] if s["trend"] == "growing"],
                     [], "nothing grows")


def test_goheap_text_and_c_program_has_no_go_sections():
    """Text: the GO HEAP section with the overview line; a C program's
    report has no Go sections at all (JSON keys and sibling files)."""
    from test_outputs import run_lt
    with tempfile.TemporaryDirectory() as tmp:
        t = Target("goheap", ["-rate", "1", "-out", os.path.join(tmp, "own")], path=go_target("goheap"))
        with t:
            t.release(expect="DONE")
            rc, out, err = run_lt(["-p", t.pid, "--once", 1, "-T", 3])
        check_eq(rc, 0, err)
        check(re.search(r"^GO HEAP: 1\.\d MiB in use in \d+ objects", out, re.M), f"the headline:\n{out}")
        check(re.search(rf"^  pid {t.pid} \(goheap\) go1\.\d+(\.\d+)?: Go heap in use .* goroutine stacks .* "
                        r"C heap not tracked, RSS .*; \d+ GCs, the last [\d.]+ s ago$", out, re.M),
              f"the overview line:\n{out}")
        check(re.search(r"^  #1 1\.9 MiB in use in 30 objects of 64\.0 KiB", out, re.M), f"keepBig first:\n{out}")
        check(f"main.keepBig" in out, out)
    with tempfile.TemporaryDirectory() as tmp:
        with Target("leaker") as t:
            rc, out, err = run_lt(["-p", t.pid, "--once", 1, "--format", "json,pprof,folded",
                                   "-o", f"-,{tmp}/h.pb.gz,{tmp}/h.folded"])
        check_eq(rc, 0, err)
        rep = [l for l in out.splitlines() if l.startswith("{")][-1]
        check("\"goroutines\"" not in rep and "\"go_heap\"" not in rep, f"no Go sections for a C program: {rep[:300]}")
        check_eq(sorted(f for f in os.listdir(tmp) if "go" in f), [], "no Go sibling files")
