# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""tests/targets/leaker under glibc malloc: exact leaks per allocation function.

One leaktrace run (-p PID --format json -T 0 60, SIGINT after DONE) is shared
by all tests here and in test_realloc.py.
"""
import math
import os
import re

from harness import (Fail, LEAKER_EXPECT, check, check_eq, check_no_freed, check_site,
                     leaker_run, mem_sites, source_of)

TRENDS = {"growing", "stable", "shrinking", "new"}


def _make(func, marker, allocs, nbytes):
    def test():
        r = leaker_run()
        check_site(r.final, r.exe, func, allocs, nbytes, source=source_of("leaker"),
                   marker=marker, pid=r.pid)
    test.__name__ = f"test_{func}"
    test.__doc__ = f"{func}: {allocs} allocs, {nbytes} B, leaker.c at LEAK:{marker}"
    return test


# One test per leaking function: test_leak_malloc, test_leak_calloc, ...,
# test_thread_first_malloc (10 threads whose first malloc creates an arena).
for _func, (_marker, _allocs, _bytes) in LEAKER_EXPECT.items():
    globals()[f"test_{_func}"] = _make(_func, _marker, _allocs, _bytes)
del _func, _marker, _allocs, _bytes


def test_freed_not_reported():
    """No frame named freed_* in any site: freed blocks are not leaks."""
    check_no_freed(leaker_run().final)


def test_targets_and_pids():
    r = leaker_run()
    targets = r.final.get("targets")
    check(isinstance(targets, list) and targets, f"targets should be a non-empty list: {targets!r}")
    check_eq([t.get("pid") for t in targets], [r.pid], "targets[].pid")
    check_eq(targets[0].get("comm"), "leaker", "targets[0].comm")
    bad = [s.get("pid") for s in mem_sites(r.final) if s.get("pid") != r.pid]
    check_eq(bad, [], "memory sites with a pid other than the target's")


def test_one_report_then_final():
    """Interval 60 s and SIGINT after a few seconds: exactly one report, the final one."""
    r = leaker_run()
    check_eq(len(r.reports), 1, "number of JSON lines")
    check_eq(r.final.get("report"), 1, "report number")


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def test_json_contract():
    """Field names and types of docs/design.md, "JSON" (memory part)."""
    r = leaker_run()
    rep = r.final
    problems = []

    def want(cond, what):
        if not cond:
            problems.append(what)

    want(rep.get("version") == 1, f"version == 1 (got {rep.get('version')!r})")
    t = rep.get("time")
    want(isinstance(t, str) and re.match(
        r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", t),
        f"time is RFC3339 (got {t!r})")
    want(_is_num(rep.get("elapsed_s")) and rep["elapsed_s"] >= 0,
         f"elapsed_s is a number >= 0 (got {rep.get('elapsed_s')!r})")
    want(_is_int(rep.get("report")) and rep["report"] >= 1, "report is an int >= 1")
    want(rep.get("final") is True, "final is true")
    mem = rep.get("memory")
    want(isinstance(mem, dict), "memory is an object")
    if isinstance(mem, dict):
        for k in ("outstanding_bytes", "outstanding_allocs"):
            want(_is_int(mem.get(k)) and mem[k] >= 0, f"memory.{k} is an int >= 0")
        want(isinstance(mem.get("sites"), list), "memory.sites is a list")
    drops = rep.get("drops")
    want(isinstance(drops, dict), "drops is an object")
    if isinstance(drops, dict):
        for k in ("allocs_untracked", "stack_collisions", "ringbuf_lost", "missed_returns"):
            want(_is_int(drops.get(k)) and drops[k] >= 0, f"drops.{k} is an int >= 0")
    elapsed = rep.get("elapsed_s") if _is_num(rep.get("elapsed_s")) else math.inf
    for i, s in enumerate((mem or {}).get("sites") or []):
        w = f"sites[{i}]"
        for k in ("pid", "bytes", "allocs", "delta_bytes"):
            want(_is_int(s.get(k)), f"{w}.{k} is an int (got {s.get(k)!r})")
        want(_is_int(s.get("allocs")) and s["allocs"] > 0, f"{w}.allocs > 0")
        want(_is_num(s.get("oldest_age_s")) and 0 <= s["oldest_age_s"] <= elapsed + 1,
             f"{w}.oldest_age_s in [0, elapsed_s] (got {s.get('oldest_age_s')!r})")
        want(s.get("trend") in TRENDS, f"{w}.trend in {sorted(TRENDS)} (got {s.get('trend')!r})")
        want(isinstance(s.get("truncated"), bool), f"{w}.truncated is a bool")
        stack = s.get("stack")
        want(isinstance(stack, list) and stack, f"{w}.stack is a non-empty list")
        for j, fr in enumerate(stack or []):
            f = f"{w}.stack[{j}]"
            want(isinstance(fr, dict) and set(fr) >= {"addr", "func", "offset", "file", "line",
                                                      "module", "inlined"},
                 f"{f} has addr, func, offset, file, line, module, inlined "
                 f"(got {sorted(fr) if isinstance(fr, dict) else fr!r})")
            if not isinstance(fr, dict):
                continue
            want(isinstance(fr.get("addr"), str) and re.match(r"^0x[0-9a-f]+$", fr["addr"]),
                 f"{f}.addr is a 0x hex string (got {fr.get('addr')!r})")
            want(isinstance(fr.get("inlined"), bool), f"{f}.inlined is a bool")
        if len(problems) > 20:
            break
    if problems:
        raise Fail("JSON contract: " + "; ".join(problems[:20]))


def test_totals_match_sites():
    """With -T 0 every site is listed, so the totals are their sums."""
    r = leaker_run()
    sites = mem_sites(r.final)
    mem = r.final["memory"]
    check_eq(mem.get("outstanding_bytes"), sum(s["bytes"] for s in sites),
             "memory.outstanding_bytes vs the sum of site bytes")
    check_eq(mem.get("outstanding_allocs"), sum(s["allocs"] for s in sites),
             "memory.outstanding_allocs vs the sum of site allocs")


CONTRACT_DROPS = ("allocs_untracked", "stack_collisions", "ringbuf_lost", "missed_returns")


def test_no_drops():
    """The four drop counters of the contract are all 0 for leaker (extra keys may exist)."""
    r = leaker_run()
    drops = r.final.get("drops") or {}
    check_eq({k: drops.get(k) for k in CONTRACT_DROPS}, dict.fromkeys(CONTRACT_DROPS, 0),
             f"drops (all: {drops})")


def test_frame_addresses_in_module():
    """stack[0] of each leaker site lies in a mapping of the module it names."""
    r = leaker_run()
    from harness import sites_of
    maps = r.maps
    for func in LEAKER_EXPECT:
        for s in sites_of(r.final, r.exe, func, r.pid):
            fr = s["stack"][0]
            a = int(fr["addr"], 16)
            m = [m for m in maps if m[0] <= a < m[1]]
            check(m and os.path.basename(m[0][4]) == os.path.basename(fr["module"]),
                  f"{func}: stack[0].addr {fr['addr']} is not in {fr['module']} "
                  f"(mapping: {m[0][4] if m else 'none'})")
