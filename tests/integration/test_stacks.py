# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""--stacks: full stacks for code built without frame pointers (.eh_frame walked in BPF).

- leaker_nofp (leaker.c built -O2 -fomit-frame-pointer) under the default
  --stacks auto gives the frame-pointer leaker's exact sites and the same
  stacks, function and file:line, up to and including main;
- cbleak leaks from a qsort comparator: with --stacks dwarf the stack shows
  the frames on both sides of libc (which has no frame pointers); with
  --stacks fp it cannot, and says so (truncated);
- Debian's python3 (stripped, non-PIE) with PYTHONMALLOC=malloc leaks
  bytearrays: the stacks reach Py_BytesMain and __libc_start_call_main;
- bad uses of --stacks are refused with one line.
"""
import os
import signal
import subprocess
import tempfile
import time

from harness import (pure, refused, LEAKTRACE, REPO, SCALE, SETTLE, Fail, Skip, Target, Tracer, check, check_eq,
                     check_leaker, describe_sites, fmt_frame, leaker_expect, leaker_run,
                     marker_line, mem_sites, source_of, sites_of, totals, trace_target)

PYTHON = "/usr/bin/python3"
PY_SCRIPT = REPO / "tests" / "targets" / "bufleak.py"
PY_N_BUFS, PY_SZ_BUF = 200, 4096          # bufleak.py: bytearray(4096) -> malloc(4097)
CB_N, CB_SZ = 5, 1500                     # cbleak.c: 5 x malloc(1500) in cmp_leaky


def _program_frames(site, exe):
    """(func, file, line) of the program's own frames, innermost first, up to main."""
    out = []
    for fr in site.get("stack") or []:
        if not (fr.get("module") or "").endswith("/" + exe):
            continue
        out.append((fr.get("func"), os.path.basename(fr.get("file") or ""), fr.get("line")))
        if fr.get("func") == "main":
            break
    return out


def _stacks_of(run, func):
    return {tuple(_program_frames(s, run.exe)) for s in sites_of(run.final, run.exe, func, run.pid)}


def test_nofp_leaker_exact():
    """leaker_nofp, --stacks auto: every leak function's exact allocs, bytes and file:line."""
    run = leaker_run("leaker_nofp")
    check_leaker(run, leaker_expect("leaker_nofp"), source_of("leaker"))


def test_nofp_stacks_match_fp_build():
    """leaker_nofp's stacks equal the frame-pointer leaker's, to main, and are whole."""
    fp, nofp = leaker_run("leaker"), leaker_run("leaker_nofp")
    problems = []
    for func in leaker_expect("leaker_nofp"):
        want, got = _stacks_of(fp, func), _stacks_of(nofp, func)
        if not want or want != got:
            problems.append(f"{func}:\n  frame pointers: {sorted(want)}\n  .eh_frame:      {sorted(got)}")
        for s in sites_of(nofp.final, nofp.exe, func, nofp.pid):
            if s.get("truncated"):
                problems.append(f"{func}: a site is flagged truncated")
            names = [fr.get("func") for fr in s.get("stack") or []]
            if func != "thread_first_malloc" and "main" not in names:
                problems.append(f"{func}: no main in {names}")
    if problems:
        raise Fail("\n".join(problems) + "\n" + describe_sites(nofp.final))


def test_nofp_thread_stacks_reach_clone():
    """Threads' leaks in leaker_nofp: the walk ends at the thread's entry, whole."""
    run = leaker_run("leaker_nofp")
    ss = sites_of(run.final, run.exe, "thread_first_malloc", run.pid)
    check(ss, "a thread_first_malloc site")
    for s in ss:
        names = [fr.get("func") for fr in s.get("stack") or []]
        check("start_thread" in names, f"start_thread in the thread's stack: {names}")
        check_eq(s.get("truncated"), False, "thread stack truncated flag")


def _cbleak(mode):
    return trace_target("cbleak", lt_args=("--format", "json", "-T", "0", "--stacks", mode, "-v"))


def test_qsort_callback_dwarf():
    """cbleak, --stacks dwarf: cmp_leaky <- libc's qsort frames <- sort_numbers <- main, exact."""
    run = _cbleak("dwarf")
    b, a, ss = totals(run.final, "cbleak", "cmp_leaky", run.pid)
    check_eq((a, b), (CB_N, CB_N * CB_SZ), "cmp_leaky allocs, bytes")
    line = marker_line(source_of("cbleak"), "cmp_leaky")
    for s in ss:
        st = s.get("stack") or []
        names = [fr.get("func") for fr in st]
        mods = [os.path.basename(fr.get("module") or "") for fr in st]
        desc = " <- ".join(fmt_frame(fr) for fr in st)
        check_eq((names[0], st[0].get("line")), ("cmp_leaky", line), "the leaking frame")
        check("qsort_r" in names, f"libc's qsort_r between the callback and its caller: {desc}")
        i_q = names.index("qsort_r")
        check(all(m == "libc.so.6" for m in mods[1:i_q + 1]),
              f"the frames between cmp_leaky and qsort_r are libc's: {desc}")
        check_eq(names[i_q + 1:i_q + 3], ["sort_numbers", "main"], f"qsort_r's callers: {desc}")
        check_eq(s.get("truncated"), False, f"truncated flag: {desc}")
    check(any("pid %d: stacks walked with .eh_frame tables (--stacks dwarf)" % run.pid in l
              for l in run.tracer.stderr_lines()), "-v names the table walk")


def test_qsort_callback_fp_is_flagged():
    """cbleak under frame pointers (auto picks them: cbleak keeps them): the walk is flagged truncated."""
    run = _cbleak("auto")
    b, a, ss = totals(run.final, "cbleak", "cmp_leaky", run.pid)
    check_eq((a, b), (CB_N, CB_N * CB_SZ), "cmp_leaky allocs, bytes")
    for s in ss:
        names = [fr.get("func") for fr in s.get("stack") or []]
        if "sort_numbers" not in names:
            check_eq(s.get("truncated"), True, f"a stack that lost qsort's callers is flagged: {names}")
    check(not any("stacks walked with .eh_frame tables" in l for l in run.tracer.stderr_lines()),
          "auto keeps frame pointers for a program that has them")


def test_python_stripped_non_pie():
    """python3 with PYTHONMALLOC=malloc leaking bytearrays: exact bytes, stack to Py_BytesMain."""
    if not os.access(PYTHON, os.X_OK):
        raise Skip(f"{PYTHON} is not installed")
    with Target("python3", [str(PY_SCRIPT)], path=PYTHON, env={"PYTHONMALLOC": "malloc"}) as t, \
            Tracer(["-p", t.pid, "--format", "json", "-T", "5", "-v", 60]) as lt:
        lt.wait_ready()
        t.release()
        time.sleep(SETTLE)
        lt.stop(signal.SIGINT)
        final = lt.final_report()
        err = lt.stderr_lines()
    sites = mem_sites(final)
    check(sites, "python3 has memory sites")
    top = sites[0]
    st = top.get("stack") or []
    names = [fr.get("func") for fr in st]
    desc = " <- ".join(fmt_frame(fr) for fr in st)
    check_eq((top.get("allocs"), top.get("bytes")), (PY_N_BUFS, PY_N_BUFS * (PY_SZ_BUF + 1)),
             f"the top site's allocs, bytes: {desc}")
    check("Py_BytesMain" in names, f"Py_BytesMain in the top site's stack: {desc}")
    check("__libc_start_call_main" in names, f"__libc_start_call_main in the stack: {desc}")
    check("_PyEval_EvalFrameDefault" in names, f"the interpreter loop in the stack: {desc}")
    check_eq(top.get("truncated"), False, "truncated flag")
    check(any("stacks walked with .eh_frame tables (its program keeps no frame pointer)" in l
              for l in err), "-v says auto chose the tables for python3")


QUICK_PY = """import time
keep = [bytearray(5000) for _ in range(100)]
time.sleep(60)
"""


def test_command_python_from_first_allocation():
    """-c python3: the command stops once at its first allocation in libc, so startup stacks are whole too."""
    if not os.access(PYTHON, os.X_OK):
        raise Skip(f"{PYTHON} is not installed")
    with tempfile.TemporaryDirectory(prefix="lt-stacks-") as d:
        script = os.path.join(d, "quickleak.py")
        with open(script, "w") as f:
            f.write(QUICK_PY)
        with Tracer(["-c", f"{PYTHON} {script}", "--format", "json", "-T", 0, "--once", 3, "-v"],
                    env={"PYTHONMALLOC": "malloc"}, child_marker="quickleak.py") as lt:
            lt.wait(timeout=30 * SCALE)
            final = lt.final_report()
            err = lt.stderr_lines()
    sites = mem_sites(final)
    top = sites[0] if sites else {}
    st = top.get("stack") or []
    desc = " <- ".join(fmt_frame(fr) for fr in st)
    check_eq((top.get("allocs"), top.get("bytes")), (100, 100 * 5001), f"the top site: {desc}")
    check("Py_BytesMain" in [fr.get("func") for fr in st], f"Py_BytesMain in the top stack: {desc}")
    check_eq(top.get("truncated"), False, "the top site's truncated flag")
    check(any("stopped at its first allocation" in l for l in err),
          "-v says the command was stopped once for its tables")
    # Only the allocation that stopped the command was walked before libc's table was in.
    trunc = [s for s in sites if s.get("truncated")]
    check(len(trunc) <= 1, f"at most one truncated site of {len(sites)}, got {len(trunc)}: "
          + "; ".join(" <- ".join(fmt_frame(fr) for fr in s.get("stack") or [])[:200] for s in trunc[:5]))


@pure
def test_bad_stacks_value():
    refused(["-p", "1", "--stacks", "lbr"], "expected auto, fp or dwarf")


@pure
def test_stacks_dwarf_with_all_refused():
    refused(["-a", "--stacks", "dwarf"], "--stacks dwarf needs -p or -c")
