# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""--inject: the in-process sampler, put into running processes (-p) and
into commands at their entry point (-c).

- At --sample 1 every allocation is sampled: the numbers are those of the
  uprobe mode, exactly (leaker under glibc, jemalloc and tcmalloc, static,
  C++ through libstdc++'s, jemalloc's and tcmalloc's operator new), with -p
  and with -c alike.
- C++ at a sampling rate: an operator new and the malloc it calls count once.
- Every byte leaktrace patched is the file's again after it detaches: the
  whole text mapping of the allocator is compared with its file.
- A thread held inside malloc's first bytes (a userfaultfd holds it at
  malloc+2): tried 8 times, then malloc and free keep uprobes, exact; let
  go after the first try: detoured at a later one, exact.
- Faults: leaktrace SIGKILLed (the target goes on, the sampler goes inert
  and a later leaktrace takes its detours over), 100 inject/undo cycles on
  a process whose threads live in malloc (no fd or mapping added beyond the
  sampler's), a process already traced by someone else (one clear line).
- redis-server (Debian, jemalloc) under redis-benchmark: no error, DBSIZE
  right, BGSAVE's child fine, the top site that of --sample without --inject.
"""
import ctypes
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

from harness import (JEMALLOC, LEAKER_EXPECT, LEAKTRACE, REPO, SCALE, SETTLE, Fail, Skip, Target, Tracer,
                     check, check_eq, check_leaker, check_site, describe_sites, first_exe_frame,
                     leaker_expect, maps_of, mem_sites, need_jemalloc, need_tcmalloc, source_of,
                     target_path)

SAMPLER_DIR = "/run/leaktrace/"
LT_SMP_TEXT = 0x2000
LT_SMP_TRAMP = 0x1000


# ---------------------------------------------------------------- helpers

def text_diffs(pid, needle):
    """Bytes of PID's executable mappings of a file whose path contains NEEDLE
    that differ from the file: [(path, offset)]."""
    diffs = []
    seen = False
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for lo, hi, perms, off, path in maps_of(pid):
            if "x" not in perms or needle not in path or not path.startswith("/"):
                continue
            seen = True
            mem.seek(lo)
            live = mem.read(hi - lo)
            with open(path, "rb") as f:
                f.seek(off)
                disk = f.read(hi - lo)
            n = min(len(live), len(disk))
            if live[:n] != disk[:n]:
                diffs += [(path, off + i) for i in range(n) if live[i] != disk[i]]
    check(seen, f"pid {pid} has no executable mapping of {needle}")
    return diffs


def sampler_maps(pid):
    return [m for m in maps_of(pid) if m[4].startswith(SAMPLER_DIR)]


def sampler_ctl(pid):
    """The sampler's control block: (active, dead, sampled)."""
    m = sampler_maps(pid)
    check(len(m) == 1, f"one mapping of the sampler file expected, got {m}")
    ctl = m[0][0] + LT_SMP_TEXT + LT_SMP_TRAMP
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        mem.seek(ctl)
        raw = mem.read(4096)
    magic, active, dead = struct.unpack_from("<QII", raw, 0)
    check_eq(magic, 0x31706d73746c, "sampler control block magic")
    return active, dead


def sampling(final):
    return final.get("memory", {}).get("sampling")


def check_in_process(final, rate):
    check_eq(sampling(final), {"rate": rate, "source": "in-process"}, "memory.sampling")


def inject_flow(name, needles, preload=None, rate=1, targs=(), wait_for=None):
    """-p NAME --inject --sample RATE: the text of each of NEEDLES (paths)
    patched while traced, original after. WAIT_FOR: a line of the target's
    to wait for before leaktrace starts."""
    needles = (needles,) if isinstance(needles, str) else needles
    with Target(name, targs, preload=preload) as t:
        if wait_for:
            t.wait_line(wait_for)
        for needle in needles:
            check_eq(text_diffs(t.pid, needle), [], f"{needle} text before the inject")
        with Tracer(["-p", t.pid, "--inject", "--sample", rate, "--format", "json", "-T", 0,
                     "-v", 60]) as lt:
            lt.wait_ready()
            for needle in needles:
                during = text_diffs(t.pid, needle)
                check(0 < len(during) <= 5 * 32,
                      f"{needle}: the detours should change a few bytes, changed {len(during)}")
            t.release()
            time.sleep(SETTLE)
            lt.stop(signal.SIGINT)
            final = lt.final_report()
            err = lt.err.text()
        check(t.alive(), f"{name} died while traced\n{t._diag()}")
        for needle in needles:
            check_eq(text_diffs(t.pid, needle), [], f"{needle} text after the detach")
        check(re.search(r"--inject: pid \d+: \d+ detours undone, the original bytes checked", err),
              f"no undo line in leaktrace's stderr:\n{err[-2000:]}")

        class R:
            pass
        r = R()
        r.final, r.exe, r.pid, r.target, r.err = final, name, t.pid, t, err
        r.maps = maps_of(t.pid)
        return r


# ---------------------------------------------------------------- exact at --sample 1

def test_inject_leaker_glibc_exact():
    """glibc: every leaker function's bytes, allocs and line, as the uprobe mode has them."""
    r = inject_flow("leaker", "libc.so")
    check_in_process(r.final, 1)
    check_leaker(r)


def test_inject_leaker_jemalloc_exact():
    """jemalloc (LD_PRELOAD): the same exact numbers; jemalloc's text restored."""
    r = inject_flow("leaker_nopvalloc", "libjemalloc", preload=need_jemalloc())
    check_in_process(r.final, 1)
    check_leaker(r)


def test_inject_leaker_tcmalloc_exact():
    """tcmalloc (gperftools, LD_PRELOAD): exact; its realloc(NULL, n) allocates
    itself (it defines __libc_malloc, but it is not glibc)."""
    r = inject_flow("leaker_nopvalloc", "libtcmalloc", preload=need_tcmalloc())
    check_in_process(r.final, 1)
    check_leaker(r)


def test_inject_cxx_other_allocators():
    """jemalloc's and tcmalloc's operator new call no hooked function: each is
    an allocation of its own (no mark), exact (no std::bad_alloc: a throw
    through a sampled call's frame in the sampler cannot be caught, as through
    the uprobe mode's return probe on them)."""
    from test_cxx import check_cxx
    for lib, needle in ((need_jemalloc(), "libjemalloc"), (need_tcmalloc(), "libtcmalloc")):
        r = inject_flow("cxxleaker", needle, preload=lib, targs=("--no-throw",))
        check_in_process(r.final, 1)
        check_cxx(r, expect_caught=False)


def test_inject_static_exact():
    """A static binary: its own malloc and free are detoured."""
    r = inject_flow("leaker_static", "leaker_static")
    check_in_process(r.final, 1)
    check_leaker(r)


def test_inject_cxx_exact():
    """C++: operator new is detoured in libstdc++ (the stack starts at its
    caller, the malloc it calls is not counted again); cxxleaker's sites and
    lines exact, its std::bad_alloc caught through the detour."""
    from test_cxx import check_cxx
    r = inject_flow("cxxleaker", ("libc.so", "libstdc++"))
    check_in_process(r.final, 1)
    check_cxx(r)


CXX_MANY = 20000        # cxxleaker --many: new char[1000] leaked (and as many freed)
CXX_MANY_SIZE = 1000


def check_cxx_many(final, pid, rate):
    """leak_many()'s estimate at RATE: unbiased, and the whole estimate too
    (an operator new counted twice, at the new and at its malloc, would
    double it)."""
    truth = CXX_MANY * CXX_MANY_SIZE
    est = sum(s["bytes"] for s in mem_sites(final)
              if (first_exe_frame(s, "cxxleaker") or {}).get("func") == "leak_many(int)")
    # ~305 samples at 65536: a standard error of 5.7 %; 25 % is 4.4 of them
    check(0.75 * truth <= est <= 1.25 * truth,
          f"leak_many(): estimated {est} B, truth {truth} B (rate {rate})\n{describe_sites(final)}")
    # and nothing else of that size: its malloc sampled too would add as much, at main()
    total = final["memory"]["outstanding_bytes"]
    check(total <= 1.25 * truth + 8 * rate,
          f"{total} B outstanding in all, leak_many() {est} B of it (truth {truth} B)\n{describe_sites(final)}")
    return est


def test_inject_cxx_sampled():
    """C++ at --sample 65536 through the detours: leak_many()'s 20 MB within
    25 % (the unsampled new's own malloc passes without counting)."""
    r = inject_flow("cxxleaker", ("libc.so", "libstdc++"), rate=65536, targs=("--many", str(CXX_MANY)))
    check_in_process(r.final, 65536)
    est = check_cxx_many(r.final, r.pid, 65536)
    print(f"    leak_many(): {est} B estimated of {CXX_MANY * CXX_MANY_SIZE} B")


# ---------------------------------------------------------------- a thread inside the bytes to patch

INPATCH_LEAK = (100, 400000)    # inpatch.c: leak_after(), 100 x 4000 B


def need_userfaultfd():
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.syscall(323, os.O_CLOEXEC)        # SYS_userfaultfd (x86_64)
    if fd < 0:
        raise Skip(f"no userfaultfd here (errno {ctypes.get_errno()}): inpatch cannot hold a thread")
    os.close(fd)


def check_inpatch(r):
    check_site(r.final, "inpatch", "leak_after", *INPATCH_LEAK, source=source_of("inpatch"),
               marker="leak_after", pid=r.pid)
    others = [s for s in mem_sites(r.final) if (first_exe_frame(s, "inpatch") or {}).get("func") != "leak_after"]
    check_eq(others, [], "sites beside leak_after() (balanced() frees all it allocates)")


def test_inject_thread_held_in_malloc():
    """A thread held at malloc+2 (a userfaultfd holds its second push) through
    every try: malloc keeps a uprobe, and so does free (a block malloc's uprobe
    records is not in the sampler's set); one line says why for each; after
    the thread goes on, leak_after() exact, balanced() absent."""
    need_userfaultfd()
    r = inject_flow("inpatch", "libc.so", wait_for="STUCK")
    tries = len(re.findall(r"a thread is inside the bytes to patch; trying again", r.err))
    check_eq(tries, 7, "tries after the first")
    check(re.search(r"warning: --inject: pid \d+: malloc at 0x[0-9a-f]+ not detoured: a thread stayed inside "
                    r"its first \d+ bytes through 8 tries; a uprobe traces it instead", r.err),
          f"no line for malloc:\n{r.err[-2500:]}")
    check(re.search(r"free at 0x[0-9a-f]+ not detoured: malloc keeps a uprobe, so the frees do too", r.err),
          f"no line for free:\n{r.err[-2500:]}")
    check_in_process(r.final, 1)
    check_inpatch(r)


def test_inject_thread_leaves_malloc():
    """The same thread let go once a ptrace stop interrupted it: a later try
    finds malloc's first bytes free, every function is detoured, exact."""
    need_userfaultfd()
    r = inject_flow("inpatch", "libc.so", targs=("--retry",), wait_for="STUCK")
    tries = len(re.findall(r"a thread is inside the bytes to patch; trying again", r.err))
    check(1 <= tries < 8, f"{tries} tries after the first (1 to 7 expected)\n{r.err[-2500:]}")
    check(not re.search(r"not detoured", r.err), f"a function left to a uprobe:\n{r.err[-2500:]}")
    check(re.search(r"--inject: pid \d+: sampler at 0x[0-9a-f]+ \(.*\), (\d+) of \1 functions detoured", r.err),
          f"not every function detoured:\n{r.err[-2500:]}")
    check_in_process(r.final, 1)
    check_inpatch(r)


def test_inject_set_full_counted():
    """150,000 live sampled blocks, more than the sampler's set holds: the
    ones it could not keep are counted in drops.sampler_set_full, and with
    the recorded ones they make exactly 150,000."""
    n = 150000
    r = inject_flow("cxxleaker", ("libc.so", "libstdc++"), targs=("--many", str(n)))
    recorded = sum(s["allocs"] for s in mem_sites(r.final)
                   if (first_exe_frame(s, "cxxleaker") or {}).get("func") == "leak_many(int)")
    full = r.final["drops"].get("sampler_set_full")
    check(full and full > 0, f"drops.sampler_set_full: {full}")
    check_eq(recorded + full, n, f"leak_many() blocks recorded ({recorded}) + sampler_set_full ({full})")
    print(f"    {recorded} recorded, {full} counted in drops.sampler_set_full")


# ---------------------------------------------------------------- the same with -c

def command_flow(name, rate=1, targs=(), preload=None):
    """-c 'NAME --exit' --inject --sample RATE: the sampler goes in at the
    program's entry point; SIGUSR1 on its READY line, its DONE, its exit;
    the final report (written to a file: the command shares stdout)."""
    path = target_path(name)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "r.jsonl")
        with Tracer(["-c", " ".join([str(path), *targs, "--exit"]), "--inject", "--sample", rate,
                     "--format", "json", "-o", out, "-T", 0, "-v"],
                    env={"LD_PRELOAD": preload} if preload else None, child_marker=str(path)) as lt:
            ready = lt.out.wait_for(lambda l: l.startswith("READY "), 30 * SCALE)
            check(ready is not None, f"{name}: no READY line\n{lt.diag()}")
            pid = int(ready[1].split()[1])
            if preload:
                check(any(preload in m[4] for m in maps_of(pid)), f"{preload} not mapped in {name}")
            check(sampler_maps(pid), f"{name}: no sampler mapped at its READY")
            os.kill(pid, signal.SIGUSR1)
            check(lt.out.wait_for(lambda l: l == "DONE", 30 * SCALE) is not None, f"{name}: no DONE\n{lt.diag()}")
            lt.wait(timeout=60 * SCALE)
            err = lt.err.text()
            said = list(lt.out.lines)
        lines = [l for l in open(out).read().splitlines() if l.strip()]
    check(re.search(rf"--inject: pid {pid} reached its entry point", err), f"no entry line:\n{err[-1500:]}")
    check(not re.search(r"not detoured", err), f"a function left to a uprobe:\n{err[-1500:]}")

    class R:
        class target:       # what the command printed (stdout is shared with leaktrace's)
            saw = staticmethod(lambda line: line in said)
    r = R()
    import json
    r.final, r.exe, r.pid, r.err = json.loads(lines[-1]), name, pid, err
    check_eq(r.final.get("final"), True, "the last report is the final one")
    return r


def test_inject_command_leaker_glibc():
    """-c leaker --inject --sample 1: every leaker site exact, as -p has them."""
    r = command_flow("leaker")
    check_in_process(r.final, 1)
    check_leaker(r)


def test_inject_command_leaker_jemalloc():
    """-c under jemalloc (LD_PRELOAD in the command's environment): exact."""
    r = command_flow("leaker_nopvalloc", preload=need_jemalloc())
    check_in_process(r.final, 1)
    check_leaker(r)


def test_inject_command_leaker_tcmalloc():
    """-c under tcmalloc: exact."""
    r = command_flow("leaker_nopvalloc", preload=need_tcmalloc())
    check_in_process(r.final, 1)
    check_leaker(r)


def test_inject_command_leaker_static():
    """-c a static binary: its own malloc detoured from its entry point; exact."""
    r = command_flow("leaker_static")
    check_in_process(r.final, 1)
    check_leaker(r)


def test_inject_command_cxx():
    """-c cxxleaker: exact at --sample 1; at 65536 leak_many()'s estimate within 25 %."""
    from test_cxx import check_cxx
    r = command_flow("cxxleaker")
    check_in_process(r.final, 1)
    check_cxx(r)
    r = command_flow("cxxleaker", rate=65536, targs=("--many", str(CXX_MANY)))
    check_in_process(r.final, 65536)
    est = check_cxx_many(r.final, r.pid, 65536)
    print(f"    -c leak_many(): {est} B estimated of {CXX_MANY * CXX_MANY_SIZE} B")


# sampleleak.c's table: function -> (allocs, bytes)
SAMPLELEAK = {
    "leak_kb": (10000, 10000 * 1000),
    "leak_100k": (100, 100 * 100 * 1024),
    "leak_64": (1000, 64000),
    "leak_1m": (50, 50 * 1024 * 1024),
    "leak_24": (20000, 480000),
}


def test_inject_command_exact():
    """-c 'sampleleak' --inject --sample 1: the sampler goes in at the entry point; exact numbers."""
    target_path("sampleleak")
    with Tracer(["-c", "tests/targets/sampleleak", "--inject", "--sample", 1, "--format", "json",
                 "-T", 0, "-v"], cwd=str(REPO), child_marker="sampleleak") as lt:
        lt.wait(timeout=60 * SCALE)
        final = lt.final_report()
        err = lt.err.text()
    check_in_process(final, 1)
    check(re.search(r"--inject: pid \d+ reached its entry point", err), f"no entry line:\n{err[-1500:]}")
    for func, (allocs, nbytes) in SAMPLELEAK.items():
        check_site(final, "sampleleak", func, allocs, nbytes, pid=final["targets"][0]["pid"])


def test_inject_command_sampled():
    """-c --inject at 512 KiB: estimates within a factor of the truth for the large sites."""
    with Tracer(["-c", "tests/targets/sampleleak", "--inject", "--sample", 524288, "--sample-seed", 7,
                 "--format", "json", "-T", 0], cwd=str(REPO), child_marker="sampleleak") as lt:
        lt.wait(timeout=60 * SCALE)
        final = lt.final_report()
    check_in_process(final, 524288)
    total = final["memory"]["outstanding_bytes"]
    truth = sum(b for _, b in SAMPLELEAK.values())
    check(0.7 * truth < total < 1.3 * truth, f"estimated {total} B outstanding, truth {truth} B")


# ---------------------------------------------------------------- faults

def _rounds(t, timeout=5):
    """The churn target's latest ROUNDS count (waits for a new line)."""
    n = len(t.out.lines)
    end = time.monotonic() + timeout * SCALE
    while time.monotonic() < end:
        lines = [l for l in t.out.lines[n:] if l.startswith("ROUNDS ")]
        if lines:
            return int(lines[-1].split()[1])
        time.sleep(0.05)
    raise Fail(f"churn printed no ROUNDS line in {timeout} s (alive: {t.alive()})\n{t._diag()}")


def _fds(pid):
    return sorted(os.listdir(f"/proc/{pid}/fd"))


def test_inject_100_cycles():
    """100 inject/undo cycles on one process whose 2 threads live in malloc:
    each undo checked byte for byte, no fd and no mapping left but the sampler's."""
    with Target("churn", ["2"]) as t:
        r0 = _rounds(t)
        fds0, maps0 = _fds(t.pid), len(maps_of(t.pid))
        with Tracer(["-p", t.pid, "--inject", "--track", "mem", "--once", 1, "-v"],
                    env={"LEAKTRACE_INJECT_CYCLES": "100"}) as lt:
            lt.wait(timeout=60 * SCALE)
            err = lt.err.text()
        undone = re.findall(r"--inject: pid \d+: (\d+) detours undone, the original bytes checked", err)
        check_eq(len(undone), 100, "undo lines")
        retries = err.count("a thread is inside the bytes to patch")
        check(t.alive(), f"churn died\n{t._diag()}")
        r1 = _rounds(t)
        check(r1 > r0, f"churn made no progress: {r0} -> {r1}")
        check_eq(_fds(t.pid), fds0, "the target's fds")
        check_eq(len(maps_of(t.pid)), maps0 + 3, "mappings: the sampler's text, trampolines and data added")
        check_eq(len(sampler_maps(t.pid)), 1, "mappings of the sampler file")
        check_eq(text_diffs(t.pid, "libc.so"), [], "libc text after 100 cycles")
        print(f"100 cycles: {retries} retries because a thread was inside the bytes to patch")


def test_inject_sigkill():
    """leaktrace SIGKILLed: the target goes on; the sampler goes inert once the
    heartbeat stops (a mapping and inert detours are left); a later leaktrace
    takes the detours over and undoes them (with --inject, without it, and -a)."""
    with Target("churn", ["2"]) as t:
        with Tracer(["-p", t.pid, "--inject", "--sample", 65536, "--track", "mem", 60]) as lt:
            lt.wait_ready()
            time.sleep(0.5)
            check_eq(sampler_ctl(t.pid), (1, 0), "(active, dead) while traced")
            lt.kill()
        r0 = _rounds(t)
        time.sleep(4 * SCALE)   # the heartbeat times out after 3 s
        r1 = _rounds(t)
        check(t.alive() and r1 > r0, f"churn stopped after leaktrace was killed: {r0} -> {r1}")
        check_eq(sampler_ctl(t.pid), (0, 1), "(active, dead) after the heartbeat stopped")
        check(text_diffs(t.pid, "libc.so") != [], "the inert detours should still be there")
        with Tracer(["-p", t.pid, "--inject", "--track", "mem", "--once", 1, "-v"]) as lt2:
            lt2.wait(timeout=30 * SCALE)
            err = lt2.err.text()
        check("taken over" in err, f"the second leaktrace should take the detours over:\n{err[-1500:]}")
        check(t.alive(), "churn died")
        check_eq(text_diffs(t.pid, "libc.so"), [], "libc text after the second leaktrace")
        check_eq(len(sampler_maps(t.pid)), 1, "mappings of the sampler file")
        # killed again; then leaktrace without --inject: the detours go before its uprobes do
        with Tracer(["-p", t.pid, "--inject", "--track", "mem", 60]) as lt3:
            lt3.wait_ready()
            lt3.kill()
        check(text_diffs(t.pid, "libc.so") != [], "the inert detours should be there again")
        with Tracer(["-p", t.pid, "--track", "mem", "--once", 2]) as lt4:
            lt4.wait(timeout=30 * SCALE)
            err = lt4.err.text()
        check("its detours are undone before the uprobes go in" in err,
              f"leaktrace without --inject should undo the stale detours:\n{err[-1500:]}")
        r2 = _rounds(t)
        check(t.alive() and r2 > r1, f"churn after uprobes on formerly detoured functions: {r1} -> {r2}")
        check_eq(text_diffs(t.pid, "libc.so"), [], "libc text after leaktrace without --inject")
        # killed once more; then -a: the stale detours go before the system-wide uprobes
        with Tracer(["-p", t.pid, "--inject", "--track", "mem", 60]) as lt5:
            lt5.wait_ready()
            lt5.kill()
        check(text_diffs(t.pid, "libc.so") != [], "the inert detours should be there once more")
        with Tracer(["-a", "--track", "mem", "--sample", 524288, "--once", 2]) as lt6:
            lt6.wait(timeout=60 * SCALE)
            err = lt6.err.text()
        check(f"pid {t.pid} had the sampler of an earlier leaktrace --inject: its detours are undone" in err,
              f"-a should undo the stale detours first:\n{err[-1500:]}")
        r3 = _rounds(t)
        check(t.alive() and r3 > r2, f"churn after -a: {r2} -> {r3}")
        check_eq(text_diffs(t.pid, "libc.so"), [], "libc text after -a")


def test_inject_ptrace_refused():
    """A process another tracer holds: one line saying so, exit 1, nothing written."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    with Target("churn", ["1"]) as t:
        if libc.ptrace(0x4206, t.pid, None, None) != 0:   # PTRACE_SEIZE
            raise Fail(f"cannot seize churn: errno {ctypes.get_errno()}")
        p = subprocess.run([LEAKTRACE, "-p", str(t.pid), "--inject", "--track", "mem", "--once", "1"],
                           capture_output=True, text=True, timeout=30 * SCALE)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        check_eq(p.returncode, 1, f"exit status (stderr: {lines})")
        check(any(re.match(r"leaktrace: --inject: pid \d+: cannot ptrace thread \d+: Operation not "
                           r"permitted \(", l) for l in lines), f"no ptrace line: {lines}")
        check_eq(text_diffs(t.pid, "libc.so"), [], "libc text")


def test_inject_usage_errors():
    for args, want in ((["-a", "--inject"], "--inject writes into its targets"),
                       (["-p", "1", "--inject", "--exact"], "--inject samples"),
                       (["-p", "1", "--inject", "--track", "fds"], "--inject is for the memory tracker")):
        p = subprocess.run([LEAKTRACE, *args], capture_output=True, text=True, timeout=20)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        check(p.returncode == 2 and len(lines) == 1 and want in lines[0],
              f"leaktrace {' '.join(args)}: exit {p.returncode}, {lines}")


# ---------------------------------------------------------------- redis

REDIS = shutil.which("redis-server")
BENCH = shutil.which("redis-benchmark")
CLI = shutil.which("redis-cli")


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Redis:
    def __init__(self):
        if not (REDIS and BENCH and CLI):
            raise Skip("redis-server, redis-benchmark or redis-cli not installed "
                       "(apt-get install redis-server redis-tools)")
        self.dir = tempfile.mkdtemp(prefix="lt-redis-")
        self.port = _free_port()
        self.proc = subprocess.Popen([REDIS, "--port", str(self.port), "--save", "", "--dir", self.dir,
                                      "--daemonize", "no", "--logfile", f"{self.dir}/log",
                                      "--appendonly", "no"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        self.pid = self.proc.pid
        end = time.monotonic() + 10 * SCALE
        while self.cli("ping") != "PONG":
            if time.monotonic() > end or self.proc.poll() is not None:
                raise Fail(f"redis-server did not answer PING\n{self.log()}")
            time.sleep(0.05)

    def cli(self, *args):
        p = subprocess.run([CLI, "-p", str(self.port), *args], capture_output=True, text=True,
                           timeout=30 * SCALE)
        return p.stdout.strip()

    def log(self):
        try:
            with open(f"{self.dir}/log") as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def bench(self, n, tests="set,get", keys=100000):
        return subprocess.Popen([BENCH, "-p", str(self.port), "-t", tests, "-P", "16", "-n", str(n),
                                 "-r", str(keys), "-q"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)
        return False


def _top_sites(final):
    """The sites holding at least 15 % of the outstanding bytes, each as its first 3 functions."""
    sites = mem_sites(final)
    total = sum(s["bytes"] for s in sites)
    check(total > 0, "no memory outstanding")
    return sorted(tuple(f.get("func") or "?" for f in s["stack"][:3])
                  for s in sites if s["bytes"] >= 0.15 * total)


def test_inject_redis():
    """redis-server under redis-benchmark -t set,get -P 16 -n 2000000 with -p --inject
    --sample 524288 from its start: no benchmark error, DBSIZE 100000, BGSAVE's child
    fine, jemalloc's text original after the detach."""
    with Redis() as r:
        with Tracer(["-p", r.pid, "--inject", "--sample", 524288, "--track", "mem", "--format", "json",
                     "-T", 5, "-v", 60]) as lt:
            lt.wait_ready()
            check(text_diffs(r.pid, "libjemalloc") != [], "jemalloc should be detoured")
            b = r.bench(2000000)
            time.sleep(1)
            lastsave = r.cli("lastsave")
            check_eq(r.cli("bgsave"), "Background saving started", "BGSAVE")
            end = time.monotonic() + 20 * SCALE
            while (r.cli("lastsave") == lastsave) and time.monotonic() < end:
                time.sleep(0.1)
            info = r.cli("info", "persistence")
            check("rdb_last_bgsave_status:ok" in info, f"BGSAVE failed:\n{info}\n{r.log()}")
            time.sleep(1)
            lt.stop(signal.SIGINT)
            inj = lt.final_report()
        check_eq(text_diffs(r.pid, "libjemalloc"), [], "jemalloc text after the detach")
        check_in_process(inj, 524288)
        check(mem_sites(inj), "no memory site while redis filled 100000 keys")
        out, _ = b.communicate(timeout=80 * SCALE)
        check_eq(b.returncode, 0, f"redis-benchmark exit status\n{out[-1500:]}")
        check(not re.search(r"(?i)error", out), f"redis-benchmark saw an error:\n{out[-1500:]}")
        check_eq(r.cli("dbsize"), "100000", "DBSIZE")
        check(r.proc.poll() is None, f"redis-server died\n{r.log()}")


def _redis_top(inject):
    """A fresh redis filled with 60000 SETs of new keys, traced at --sample 16384: the top sites."""
    with Redis() as r:
        with Tracer(["-p", r.pid, *(["--inject"] if inject else []), "--sample", 16384, "--sample-seed", 3,
                     "--track", "mem", "--format", "json", "-T", 5, 60]) as lt:
            lt.wait_ready()
            b = r.bench(60000, tests="set", keys=100000000)
            out, _ = b.communicate(timeout=60 * SCALE)
            check_eq(b.returncode, 0, f"redis-benchmark exit status\n{out[-1500:]}")
            lt.stop(signal.SIGINT)
            final = lt.final_report()
        check_eq(sampling(final), {"rate": 16384, "source": "in-process" if inject else "bpf"},
                 "memory.sampling")
        return _top_sites(final)


def test_inject_redis_top_sites():
    """The top sites with --inject are those --sample without --inject finds (same load)."""
    check_eq(_redis_top(True), _redis_top(False), "top sites' first frames, --inject vs --sample")
