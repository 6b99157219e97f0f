# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Fault tests (issue 8): each with an exact expected outcome.

- the target is SIGKILLed in the middle of a report (gdb holds leaktrace at
  a breakpoint between the site totals and the symbolization);
- --max-allocs smaller than the live allocations: exact allocs_untracked;
- a target that execs: the allocator is found again after the exec;
- a binary deleted after start (symbols through /proc/PID/map_files);
- missing or corrupt debug info (strip -g, strip --strip-all, random
  .debug_info / .debug_line).

SIGKILL of leaktrace itself is covered by test_cleanup.py.
"""
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time

from harness import (check_absent, LEAKER_EXPECT, SCALE, SETTLE, TARGETS, Errors, Fail, Run, Skip, Target,
                     Tracer, check, check_eq, check_leaker, check_site, describe_sites,
                     first_exe_frame, mem_sites, source_of, totals)

JSON_ALL = ["--format", "json", "-T", 0]


def _trace(target, extra=(), env=None, settle=SETTLE):
    """Attach to a started target, release it, SIGINT, return the final report."""
    with Tracer(["-p", target.pid, *JSON_ALL, *extra, 60], env=env) as lt:
        lt.wait_ready()
        target.release()
        time.sleep(settle)
        lt.stop(signal.SIGINT)
        return lt.final_report(), lt


# ---------------------------------------------------------------- 1. killed mid-report

def test_target_killed_mid_report():
    """SIGINT to leaktrace, then SIGKILL of the target while the final report
    stands between the site totals and the symbolization (gdb holds leaktrace
    at a breakpoint on assemble__stacks, the function kept out of line for
    this): exit 0, and the final report still has leak_malloc exactly
    (3 allocs, 3003 B), symbolized."""
    if not shutil.which("gdb"):
        raise Skip("gdb is missing (scripts/install-deps.sh installs it)")
    with Target("leaker") as t, Tracer(["-p", t.pid, *JSON_ALL, 60]) as lt:
        lt.wait_ready()
        t.release()
        time.sleep(SETTLE)
        check(t.alive(), "the target died before the test killed it")
        # the SIGINT waits while gdb holds leaktrace, and reaches it at "continue"
        gdb = subprocess.run(
            ["gdb", "-q", "-nx", "-batch", "-p", str(lt.pid),
             "-ex", "set pagination off", "-ex", "handle SIGINT nostop noprint pass",
             "-ex", "break assemble__stacks", "-ex", f"shell kill -INT {lt.pid}",
             "-ex", "continue",
             "-ex", "shell echo STOPPED-IN-REPORT",
             "-ex", f"shell kill -KILL {t.pid}",
             "-ex", "delete", "-ex", "detach"],
            capture_output=True, text=True, timeout=60 * SCALE)
        out = gdb.stdout + gdb.stderr
        check("Breakpoint 1, " in out and "assemble__stacks" in out and "STOPPED-IN-REPORT" in out,
              f"gdb did not stop leaktrace in the report:\n{out[-2000:]}")
        check_eq(t.proc.wait(5), -signal.SIGKILL, "target exit status")
        lt.wait(20 * SCALE, expect_rc=0)
        final = lt.final_report()
        check_eq(len(lt.reports()), 1, "number of reports")
        src = source_of("leaker")
        check_site(final, "leaker", "leak_malloc", 3, 3003, source=src, marker="leak_malloc",
                   pid=t.pid)
        fr = first_exe_frame(totals(final, "leaker", "leak_malloc", t.pid)[2][0], "leaker")
        check_eq(fr.get("func"), "leak_malloc", "stack[0].func")
        errs = [l for l in lt.stderr_lines() if not l.startswith("leaktrace: ready")]
        check_eq(errs, [], "leaktrace stderr besides the ready line")


# ---------------------------------------------------------------- 3. --max-allocs

MANY_BLOCKS, MANY_SIZE, MAX_ALLOCS = 5000, 64, 1000


def test_max_allocs_exact_untracked():
    """--max-allocs 1000 and 5000 live malloc(64) after the attach: the allocation
    map holds exactly 1000 (BPF_F_NO_PREALLOC hash, max_entries 1000), the other
    4000 are drops.allocs_untracked; nothing else allocates."""
    with Target("many") as t:
        final, _ = _trace(t, ["--max-allocs", MAX_ALLOCS])
    mem = final.get("memory") or {}
    drops = final.get("drops") or {}
    errs = Errors()
    errs.run(check_eq, drops.get("allocs_untracked"), MANY_BLOCKS - MAX_ALLOCS,
             "drops.allocs_untracked")
    errs.run(check_eq, mem.get("outstanding_allocs"), MAX_ALLOCS, "memory.outstanding_allocs")
    errs.run(check_eq, mem.get("outstanding_bytes"), MAX_ALLOCS * MANY_SIZE,
             "memory.outstanding_bytes")
    errs.run(check_site, final, "many", "hold_many", MAX_ALLOCS, MAX_ALLOCS * MANY_SIZE,
             source=source_of("many"), marker="hold_many", pid=t.pid, show=False)
    others = {k: v for k, v in drops.items() if k != "allocs_untracked" and v}
    errs.run(check_eq, others, {}, "other non-zero drops")
    errs.raise_if_any(final)


def test_max_allocs_not_reached():
    """The control: the default --max-allocs holds all 5000, no drop."""
    with Target("many") as t:
        final, _ = _trace(t)
    check_eq((final.get("drops") or {}).get("allocs_untracked"), 0, "drops.allocs_untracked")
    check_site(final, "many", "hold_many", MANY_BLOCKS, MANY_BLOCKS * MANY_SIZE,
               source=source_of("many"), marker="hold_many", pid=t.pid)
    check_eq(final["memory"].get("outstanding_allocs"), MANY_BLOCKS, "memory.outstanding_allocs")


# ---------------------------------------------------------------- 4. exec

BEFORE = (3, 3 * 1717)      # execer.c before_exec
AFTER = (2, 2 * 2929)       # execer.c / execed.c after_exec


def _exec_case(args, exe_after, src_after):
    with Target("execer", args) as t:
        final, lt = _trace(t)
        check(t.alive(), "the target died after its exec")
    errs = Errors()
    # the allocator (libc's malloc, same inode) is found again in the new image
    errs.run(check_site, final, exe_after, "after_exec", *AFTER, source=src_after,
             marker="after_exec", pid=t.pid, show=False)
    # Blocks from before the exec went away with the old image: leaktrace
    # drops the process's records from before its exec (sched_process_exec)
    errs.run(check_absent, final, "execer", "before_exec", t.pid)
    mem = final["memory"]
    errs.run(check_eq, (mem.get("outstanding_allocs"), mem.get("outstanding_bytes")), AFTER,
             "memory totals (after_exec only, nothing from the old image)")
    errs.run(check_eq, (final.get("drops") or {}).get("allocs_untracked"), 0,
             "drops.allocs_untracked")
    errs.raise_if_any(final)


def test_exec_self():
    """execer re-execs itself: after_exec exact and symbolized in the new image."""
    _exec_case((), "execer", source_of("execer"))


def test_exec_other_binary():
    """execer execs tests/targets/execed: a new executable file is symbolized."""
    _exec_case((str(TARGETS / "execed"),), "execed", source_of("execed"))


# ---------------------------------------------------------------- 5. deleted binary

class TempCopy:
    """A temporary directory holding one file named like a target."""

    def __init__(self, name="leaker"):
        self.dir = tempfile.mkdtemp(prefix="lt-faults-")
        self.path = os.path.join(self.dir, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)
        return False


def test_deleted_binary():
    """leaker copied to a temp dir, started, deleted, then attached: every leak
    exact with function, file and line (opened through /proc/PID/map_files)."""
    with TempCopy() as c:
        shutil.copy2(TARGETS / "leaker", c.path)
        with Target("leaker", path=c.path) as t:
            os.unlink(c.path)
            check(os.readlink(f"/proc/{t.pid}/exe").endswith(" (deleted)"),
                  f"/proc/{t.pid}/exe is not a deleted file: {os.readlink(f'/proc/{t.pid}/exe')}")
            final, lt = _trace(t)
            run = Run(final, lt.reports(), t, lt)
    check_site(final, "leaker", "leak_malloc", 3, 3003, source=source_of("leaker"),
               marker="leak_malloc", pid=t.pid)
    fr = first_exe_frame(totals(final, "leaker", "leak_malloc", t.pid)[2][0], "leaker")
    check_eq(fr.get("module"), c.path, "module of the leak_malloc frame (the deleted path)")
    check_leaker(run)


# ---------------------------------------------------------------- 6. debug info

def _leaker_symbols():
    """{function: (start, end)} vaddrs from the unstripped leaker's symtab."""
    try:
        out = subprocess.run(["nm", "-S", "--defined-only", str(TARGETS / "leaker")],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise Skip(f"nm (binutils) failed: {e}")
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tT":
            syms[parts[3]] = (int(parts[0], 16), int(parts[0], 16) + int(parts[1], 16))
    return syms


def _run_copy(make):
    """Make a variant of leaker with make(dst), trace it; (final report, path)."""
    with TempCopy() as c:
        make(c.path)
        with Target("leaker", path=c.path) as t:
            final, lt = _trace(t)
            check(t.alive(), "the target died")
        check_eq(lt.rc, 0, "leaktrace exit status")
        return final, c.path, t.pid


def _check_exact_named(final, pid, nodebug):
    """Every leaker function: exact allocs/bytes by function name; no file/line when nodebug."""
    errs = Errors()
    for func, (_marker, allocs, nbytes) in LEAKER_EXPECT.items():
        errs.run(check_site, final, "leaker", func, allocs, nbytes, pid=pid, show=False)
        for s in totals(final, "leaker", func, pid)[2]:
            fr = first_exe_frame(s, "leaker")
            if nodebug:
                errs.run(check_eq, (fr.get("file"), fr.get("line")), (None, None),
                         f"{func}: file and line without debug info")
    errs.raise_if_any(final)


def _strip(flag):
    def make(dst):
        subprocess.run(["strip", flag, "-o", dst, str(TARGETS / "leaker")], check=True)
    return make


def _sections(path):
    out = subprocess.run(["readelf", "-S", "-W", path], capture_output=True, text=True,
                         check=True).stdout
    return out


def test_strip_debug():
    """strip -g: no DWARF; function names from the symtab, file/line null, exact bytes."""
    final, path, pid = _run_copy(_strip("-g"))
    _check_exact_named(final, pid, nodebug=True)


def test_strip_all():
    """strip --strip-all: only dynsym. The program's frames degrade to
    module+offset (func null), no crash, and the bytes per function, found by
    module_offset in the unstripped symtab's ranges, are still exact."""
    syms = _leaker_symbols()
    final, path, pid = _run_copy(_strip("--strip-all"))
    errs = Errors()
    named = [fr for s in mem_sites(final) for fr in s.get("stack") or []
             if os.path.basename(fr.get("module") or "") == "leaker" and fr.get("func")]
    errs.run(check_eq, [f["func"] for f in named][:5], [],
             "functions named in the stripped program (it has no symtab)")
    for func, (_marker, allocs, nbytes) in LEAKER_EXPECT.items():
        lo, hi = syms[func]
        a = b = 0
        for s in mem_sites(final):
            fr = first_exe_frame(s, "leaker")
            if fr is not None and lo <= fr.get("module_offset", -1) < hi:
                a += s["allocs"]
                b += s["bytes"]
                errs.run(check_eq, (fr.get("module"), fr.get("func"), fr.get("file")),
                         (path, None, None), f"{func}: frame module, func, file")
        errs.run(check_eq, (a, b), (allocs, nbytes), f"{func} (module_offset in "
                 f"[0x{lo:x}, 0x{hi:x})): allocs, bytes")
    errs.raise_if_any(final)


def test_strip_all_text_frames():
    """strip --strip-all, text report: a frame whose function is in no symbol
    table prints as module+0xOFFSET (what addr2line on a debug build takes),
    never as a bare address; the offsets fall in the leak functions."""
    syms = _leaker_symbols()
    with TempCopy() as c:
        _strip("--strip-all")(c.path)
        with Target("leaker", path=c.path) as t, \
                Tracer(["-p", t.pid, "-T", 0, 60]) as lt:
            lt.wait_ready()
            t.release()
            time.sleep(SETTLE)
            lt.stop(signal.SIGINT)
        base = os.path.basename(c.path)
        frames = [l.strip() for l in lt.out.lines if l.startswith("        ")]
        mine = [f for f in frames if f.endswith(f"[{c.path}]")]
        check(mine, f"no frame in {c.path}:\n" + "\n".join(frames[:20]))
        bare = [f for f in mine if f.startswith("0x")]
        check_eq(bare, [], "frames of the stripped program printed as bare addresses")
        offs = [int(f.split()[0][len(base) + 3:], 16) for f in mine if f.startswith(base + "+0x")]
        check_eq(len(offs), len(mine), f"frames as {base}+0xOFFSET")
        for func in LEAKER_EXPECT:
            lo, hi = syms[func]
            check(any(lo <= o < hi for o in offs), f"no {base}+0x... frame inside {func} "
                  f"[0x{lo:x}, 0x{hi:x})")


def _corrupt(section, seed):
    """leaker with SECTION replaced by as many random bytes (fixed seed)."""
    def make(dst):
        size = None
        for line in _sections(str(TARGETS / "leaker")).splitlines():
            parts = line.replace("[ ", "[").split()
            if len(parts) > 5 and parts[1] == section:
                size = int(parts[5], 16)
        if not size:
            raise Skip(f"leaker has no {section}")
        junk = dst + ".junk"
        with open(junk, "wb") as f:
            f.write(random.Random(seed).randbytes(size))
        subprocess.run(["objcopy", "--update-section", f"{section}={junk}",
                        str(TARGETS / "leaker"), dst], check=True)
        os.unlink(junk)
    return make


def test_corrupt_debug_info():
    """.debug_info replaced by random bytes: no crash, names from the symtab,
    no file/line (no usable CU), exact bytes."""
    final, path, pid = _run_copy(_corrupt(".debug_info", 8))
    _check_exact_named(final, pid, nodebug=True)


def test_corrupt_debug_line():
    """.debug_line replaced by random bytes: no crash, exact bytes and names."""
    final, path, pid = _run_copy(_corrupt(".debug_line", 8))
    _check_exact_named(final, pid, nodebug=False)
