# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""File-descriptor leaks per creation site, and anonymous mmap leaks (issue 16).

tests/targets/fdleak leaks, each at its own function: 12 files, 7 connected TCP
client sockets and the 7 sockets accepted from them (on loopback, to itself),
5 pipes (10 fds: both ends of each), 4 eventfds and 2 dup()s; 6 x 1 MiB
anonymous mappings and 3 x 4-page mappings with 2 pages of each unmapped (the
middle, the head, the tail). It also opens and closes 100 files and 50
sockets, closes files by close_range (and marks some CLOEXEC with it), by dup2
onto them and through a dup, and maps and unmaps 20 x 256 KiB: none of those
may show. fdleak_nofp is the same without frame pointers (--stacks dwarf).
"""
import os
import re
import resource
import shutil
import signal
import subprocess
import time

from harness import (LEAKTRACE, SCALE, SETTLE, TARGET_TIMEOUT, Fail, Skip, Target, Tracer,
                     cached, check, check_eq, marker_line, source_of, trace_target)

EXE = "fdleak"
# creating function -> (open fds, {kind: n}, how the example starts)
FD_EXPECT = {
    "leak_files": (12, {"file": 12}, "/tmp/fdleak."),
    "leak_tcp_clients": (7, {"tcp": 7}, "127.0.0.1:"),
    "leak_tcp_accepted": (7, {"tcp": 7}, "127.0.0.1:"),
    "leak_pipes": (10, {"pipe": 10}, "pipe:["),
    "leak_eventfds": (4, {"eventfd": 4}, "anon_inode:[eventfd]"),
    "leak_dup": (2, {"file": 2}, "/tmp/fdleak."),
}
FD_TOTAL = sum(n for n, _, _ in FD_EXPECT.values())     # 42
PAGE = 4096
# creating function -> (bytes, regions)
MMAP_EXPECT = {
    "leak_mmap_big": (6 << 20, 6),
    "leak_mmap_partial": (3 * 2 * PAGE, 3),
}
# functions that only make what they release
BALANCED = ("freed_files", "freed_sockets", "freed_mmaps", "freed_range", "freed_cloexec_range",
            "freed_dup2", "make_listener", "open_one")
KINDS = ("file", "tcp", "udp", "unix", "pipe", "eventfd", "epoll", "other")
LT_ARGS = ("--format", "json", "-T", "0", "--mmap")


def section(report, key):
    sec = report.get(key)
    if not isinstance(sec, dict) or not isinstance(sec.get("sites"), list):
        raise Fail(f"report has no \"{key}\" object with sites: keys {sorted(report)}")
    return sec


def first_exe(site, exe):
    for i, fr in enumerate(site.get("stack") or []):
        if os.path.basename(fr.get("module") or "") == exe:
            return i, fr
    return None, None


def by_creator(sec, exe):
    out = {}
    for s in sec["sites"]:
        _, fr = first_exe(s, exe)
        out.setdefault(fr.get("func") if fr else None, []).append(s)
    return out


def describe(sec, exe):
    lines = []
    for s in sec["sites"]:
        _, fr = first_exe(s, exe)
        what = (f"open={s.get('open')} kinds={ {k: v for k, v in (s.get('kinds') or {}).items() if v} }"
                f" example={s.get('example')!r}" if "open" in s else
                f"bytes={s.get('bytes')} regions={s.get('regions')}")
        lines.append(f"  {what} first={fr.get('func') if fr else None} "
                     f"stack={[f.get('func') for f in (s.get('stack') or [])[:4]]}")
    return "\n".join(lines) or "  (no sites)"


def cleanup_files(pid):
    shutil.rmtree(f"/tmp/fdleak.{pid}", ignore_errors=True)


def fdleak_run(exe=EXE, stacks=None):
    """fdleak's set traced with LT_ARGS (and --stacks STACKS); cached per (exe, stacks)."""
    def run():
        args = LT_ARGS + (("--stacks", stacks) if stacks else ())
        r = trace_target(exe, lt_args=args)
        cleanup_files(r.pid)
        return r
    return cached(("fdleak", exe, stacks), run)


def check_fd_sites(report, exe, src):
    """Every leaking function: exact open fds and kinds, stack[0] at its LEAK line."""
    fds = section(report, "fds")
    groups = by_creator(fds, exe)
    for func, (n, kinds, example) in FD_EXPECT.items():
        sites = groups.get(func, [])
        check(sites, f"no fd site created by {func}\n{describe(fds, exe)}")
        check_eq(sum(s["open"] for s in sites), n, f"{func}: open fds")
        got = {k: sum(s["kinds"][k] for s in sites) for k in KINDS}
        check_eq({k: v for k, v in got.items() if v}, kinds, f"{func}: kinds")
        for s in sites:
            check_eq(sorted(s["kinds"]), sorted(KINDS), f"{func}: kinds keys")
            check(str(s.get("example") or "").startswith(example),
                  f"{func}: example {s.get('example')!r} should start with {example!r}")
            idx, fr = first_exe(s, exe)
            check_eq(idx, 0, f"{func}: the creating function is stack[0]")
            check_eq(os.path.basename(fr.get("file") or ""), "fdleak.c", f"{func}: file")
            check_eq(fr.get("line"), marker_line(src, func), f"{func}: line")
    check_eq(fds["open"], FD_TOTAL, "fds.open")
    unexpected = sorted(f for f in groups if f not in FD_EXPECT)
    check_eq(unexpected, [], f"fd sites of other functions\n{describe(fds, exe)}")


def check_mmap_sites(report, exe, src):
    mm = section(report, "mmap")
    groups = by_creator(mm, exe)
    for func, (nbytes, regions) in MMAP_EXPECT.items():
        sites = groups.get(func, [])
        check(sites, f"no mmap site created by {func}\n{describe(mm, exe)}")
        check_eq(sum(s["bytes"] for s in sites), nbytes, f"{func}: bytes")
        check_eq(sum(s["regions"] for s in sites), regions, f"{func}: regions")
        for s in sites:
            idx, fr = first_exe(s, exe)
            check_eq(idx, 0, f"{func}: the creating function is stack[0]")
            check_eq(fr.get("line"), marker_line(src, func), f"{func}: line")
    check_eq(mm["bytes"], sum(b for b, _ in MMAP_EXPECT.values()), "mmap.bytes")
    check_eq(mm["regions"], sum(r for _, r in MMAP_EXPECT.values()), "mmap.regions")
    unexpected = sorted(f for f in groups if f not in MMAP_EXPECT)
    check_eq(unexpected, [], f"mmap sites of other functions\n{describe(mm, exe)}")


def check_drops(report):
    bad = {k: v for k, v in report["drops"].items() if v}
    check_eq(bad, {}, "non-zero drops")


# ---------------------------------------------------------------- counts and stacks

def test_fd_counts_kinds_lines_fp():
    """--stacks fp: every fd site, exact counts and kinds, the creating function at its line."""
    r = fdleak_run(stacks="fp")
    check_fd_sites(r.final, EXE, source_of(EXE))


def test_mmap_bytes_regions_fp():
    """--mmap, --stacks fp: 6 MiB in 6 regions, and 3 x 2 pages left of 3 x 4 after the partial munmaps."""
    r = fdleak_run(stacks="fp")
    check_mmap_sites(r.final, EXE, source_of(EXE))


def test_fd_and_mmap_dwarf_nofp():
    """fdleak_nofp (no frame pointers) with --stacks dwarf: the same sites and numbers; the
    stacks are walked from the syscalls' saved registers (no wrapper probes) and are whole."""
    r = fdleak_run("fdleak_nofp", stacks="dwarf")
    src = source_of(EXE)
    check_fd_sites(r.final, "fdleak_nofp", src)
    check_mmap_sites(r.final, "fdleak_nofp", src)
    for key in ("fds", "mmap"):
        for s in section(r.final, key)["sites"]:
            check(not s["truncated"], f"{key} site truncated with --stacks dwarf: "
                  f"{[f.get('func') for f in s['stack']]}")
            funcs = [f.get("func") for f in s["stack"]]
            check("main" in funcs, f"{key} site does not reach main: {funcs}")
    check_drops(r.final)


def test_fd_dwarf_fp_build():
    """fdleak (frame pointers) with --stacks dwarf: the same counts at the same lines."""
    r = fdleak_run(stacks="dwarf")
    check_fd_sites(r.final, EXE, source_of(EXE))
    check_mmap_sites(r.final, EXE, source_of(EXE))


def test_balanced_absent_and_no_drops():
    """Nothing at the functions that release what they make; no drop; no fd mismatch."""
    for stacks in ("fp", "dwarf"):
        r = fdleak_run(stacks=stacks)
        for key in ("fds", "mmap"):
            sec = section(r.final, key)
            for s in sec["sites"]:
                funcs = [f.get("func") for f in s.get("stack") or []]
                hit = [f for f in funcs if f in BALANCED]
                check(not hit, f"--stacks {stacks}: a {key} site through {hit}: {funcs}")
        check_drops(r.final)


def test_process_line_limit_preexisting():
    """Per process: fds open in all against RLIMIT_NOFILE, 3 from before the attach (stdin,
    stdout, stderr), none not seen made; the text report's line says "45 of N"."""
    r = fdleak_run(stacks="fp")
    fds = section(r.final, "fds")
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)     # the target inherits ours
    check_eq(fds["preexisting"], 3, "fds.preexisting")
    check_eq(fds["untracked"], 0, "fds.untracked")
    check_eq(fds["total_open"], FD_TOTAL + 3, "fds.total_open")
    check_eq(fds["limit"], soft, "fds.limit")
    procs = fds.get("processes") or []
    check_eq([(p["pid"], p["open"], p["limit"], p["preexisting"]) for p in procs],
             [(r.pid, FD_TOTAL + 3, soft, 3)], "fds.processes")
    check("filp" in (r.final.get("hooks") or "") or "tracepoints" in (r.final.get("hooks") or ""),
          f"hooks: {r.final.get('hooks')!r}")


def test_text_report():
    """The text report: the FDS section with the limit line and the kinds; the MMAP section."""
    with Target(EXE) as t, Tracer(["-p", t.pid, "--mmap", "-T", 0, 60]) as lt:
        try:
            lt.wait_ready()
            t.release()
            time.sleep(SETTLE)
            lt.stop(signal.SIGINT)
        finally:
            cleanup_files(t.pid)
    text = lt.out.text()
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    check(re.search(rf"^FDS: {FD_TOTAL} open from tracked creation sites", text, re.M),
          f"FDS headline:\n{text[:3000]}")
    want = f"  pid {t.pid} (fdleak): {FD_TOTAL + 3} of {soft:,} fds open (RLIMIT_NOFILE), 3 from before the attach"
    check(want in text, f"the limit line {want!r}:\n{text[:3000]}")
    check(re.search(r"^  #\d+ 12 open \(file 12\)", text, re.M), f"leak_files' line:\n{text[:3000]}")
    check(re.search(r"^  #\d+ 7 open \(tcp 7\).*e\.g\. 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+", text, re.M),
          f"a tcp site with its addresses:\n{text[:3000]}")
    check(re.search(r"^MMAP: \d+ bytes .* in 9 regions", text, re.M), f"MMAP headline:\n{text[:3000]}")


# ---------------------------------------------------------------- ends

def test_exec_closes_cloexec_fds():
    """--exec: 3 CLOEXEC files and 2 without, then exec: no tracked fd stays; the 2 that
    survive the exec count as not seen made (their stacks were the old image's)."""
    r = trace_target(EXE, targs=("--exec",), lt_args=LT_ARGS)
    cleanup_files(r.pid)
    fds = section(r.final, "fds")
    check_eq(fds["open"], 0, "fds open after the exec:\n" + describe(fds, EXE))
    check_eq(fds["untracked"], 2, "fds.untracked (the 2 without CLOEXEC)")
    check_eq(fds["preexisting"], 3, "fds.preexisting")
    check_drops(r.final)


def test_churn_100k_leaves_nothing():
    """100,000 files opened and closed: no fd site, no drop."""
    n = 100_000
    with Target(EXE, ["--churn", str(n)]) as t, \
            Tracer(["-p", t.pid, "--format", "json", "-T", 0, "--track", "fds", 60]) as lt:
        try:
            lt.wait_ready()
            t0 = time.monotonic()
            t.release(timeout=max(TARGET_TIMEOUT, 120 * SCALE))
            took = time.monotonic() - t0
            time.sleep(SETTLE)
            lt.stop(signal.SIGINT)
        finally:
            cleanup_files(t.pid)
    final = lt.final_report()
    fds = section(final, "fds")
    check_eq(fds["sites"], [], f"fd sites after {n} opens and closes ({took:.1f} s)")
    check_eq(fds["open"], 0, "fds.open")
    check_drops(final)


def test_fail_on_leak_growing_fds_and_mmap():
    """--drip (a file and 64 KiB mapped every 20 ms): --fail-on-leak exits 3 with --track fds
    and with --track mmap, and the drip sites are growing."""
    for track, key, func in (("fds", "fds", "drip_file"), ("mmap", "mmap", "drip_mmap")):
        with Target(EXE, ["--drip"], wait_ready=True) as t, \
                Tracer(["-p", t.pid, "--track", track, "--fail-on-leak", "--once", 8,
                        "--format", "json"]) as lt:
            try:
                lt.wait_ready()
                t.release()
                lt.wait(timeout=30 * SCALE, expect_rc=3)
            finally:
                cleanup_files(t.pid)
        sec = section(lt.final_report(), key)
        sites = by_creator(sec, EXE).get(func, [])
        check(sites and all(s["trend"] == "growing" for s in sites),
              f"--track {track}: {func} should be growing:\n{describe(sec, EXE)}")


# ---------------------------------------------------------------- outputs

def test_pprof_and_folded_siblings():
    """--format pprof,folded: X.fds.pb.gz and X.mmap.pb.gz beside the heap profile, and
    X.fds.folded and X.mmap.folded beside X.folded; the fds profile has every site's count."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        outs = f"{os.path.join(tmp, 'x.pb.gz')},{os.path.join(tmp, 'x.folded')}"
        with Target(EXE) as t, \
                Tracer(["-p", t.pid, "--mmap", "--format", "pprof,folded", "-o", outs, 60]) as lt:
            try:
                lt.wait_ready()
                t.release()
                time.sleep(SETTLE)
                lt.stop(signal.SIGINT)
            finally:
                cleanup_files(t.pid)
        files = sorted(os.listdir(tmp))
        for f in ("x.pb.gz", "x.fds.pb.gz", "x.mmap.pb.gz", "x.folded", "x.fds.folded", "x.mmap.folded"):
            check(f in files, f"{f} not written: {files}")
        folded = {}
        for line in open(os.path.join(tmp, "x.fds.folded")).read().splitlines():
            stack, n = line.rsplit(" ", 1)
            folded[stack.split(";")[-1]] = folded.get(stack.split(";")[-1], 0) + int(n)
        check_eq({f: folded.get(f) for f in FD_EXPECT}, {f: n for f, (n, _, _) in FD_EXPECT.items()},
                 "open fds per innermost frame in x.fds.folded")
        mm = {}
        for line in open(os.path.join(tmp, "x.mmap.folded")).read().splitlines():
            stack, n = line.rsplit(" ", 1)
            mm[stack.split(";")[-1]] = mm.get(stack.split(";")[-1], 0) + int(n)
        check_eq({f: mm.get(f) for f in MMAP_EXPECT}, {f: b for f, (b, _) in MMAP_EXPECT.items()},
                 "bytes per innermost frame in x.mmap.folded")
        if not shutil.which("go"):
            return
        from test_outputs import go_pprof
        for name, want, args in (
                ("x.fds.pb.gz", {f: n for f, (n, _, _) in FD_EXPECT.items()}, []),
                ("x.mmap.pb.gz", {f: b for f, (b, _) in MMAP_EXPECT.items()}, ["-unit=B"])):
            argv = ["-top", "-nodefraction=0", *args, os.path.join(tmp, name)]
            rc, out, err = go_pprof(argv, tmp)
            check_eq(rc, 0, f"go tool pprof {' '.join(argv)}: {err[-1000:]}")
            flat = {}
            for line in out.splitlines():
                m = re.match(r"^\s*(\d+)B?\s+[\d.]+%\s+[\d.]+%\s+(\d+)B?\s+[\d.]+%\s+(.+?)\s*$", line)
                if m:
                    flat[m.group(3)] = flat.get(m.group(3), 0) + int(m.group(1))
            check_eq({f: flat.get(f) for f in want}, want, f"flat values in {name}:\n{out}")


# ---------------------------------------------------------------- hooks

def _hooks_run(hooks):
    with Target(EXE) as t:
        p = subprocess.run([LEAKTRACE, "-p", str(t.pid), "--track", "fds", "--hooks", hooks,
                            "--once", "1"], capture_output=True, text=True, timeout=60 * SCALE)
        cleanup_files(t.pid)
    return p


def test_fd_hooks_refused_here():
    """--track fds --hooks fentry/kprobe on a kernel that refuses them: exit 1, one line."""
    for hooks, present in (("fentry", True), ("kprobe", not os.path.exists("/sys/bus/event_source/devices/kprobe"))):
        if not present:
            continue
        p = _hooks_run(hooks)
        if p.returncode == 0:
            raise Skip(f"this kernel accepts --hooks {hooks}")
        check_eq(p.returncode, 1, f"exit status of --hooks {hooks}")
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        check_eq(len(lines), 1, f"one stderr line: {lines}")
        check(hooks in lines[0], f"the line names {hooks}: {lines[0]!r}")
        if hooks == "fentry":
            check("filp_" in lines[0], f"the line names the fd hook function: {lines[0]!r}")


def _gohttp_run(n, extra=()):
    from test_go import go_target
    with Target("gohttpleak", ["-n", str(n)], path=go_target("gohttpleak")) as t, \
            Tracer(["-p", t.pid, "--format", "json", "-T", 0, *extra, 60]) as lt:
        lt.wait_ready()
        t.release(expect="DONE")
        time.sleep(SETTLE)
        lt.stop(signal.SIGINT)
        return lt.final_report()


def test_go_response_bodies_never_closed():
    """A Go program makes N requests to its own net/http server and never
    closes the bodies: N client sockets made at net/http's dial, N accepted
    at the server's accept, both tcp; with --go-ancestry the client sockets'
    stack continues from the dial goroutine through Client.Get to the line
    in main.fetchAll; the goroutines: two per client connection (readLoop,
    writeLoop), one per server connection (conn.serve)."""
    from test_go import goroutine_sites, marker_line as go_marker
    from harness import REPO
    n = 8
    src = REPO / "tests" / "targets" / "go" / "gohttpleak" / "main.go"
    get_line = go_marker("get", src)
    for extra in ((), ("--go-ancestry",)):
        final = _gohttp_run(n, extra)
        where = " ".join(extra) or "without --go-ancestry"
        sites = section(final, "fds")["sites"]

        def funcs(s):
            return [f.get("func") for f in s["stack"]]
        dial = [s for s in sites if "net/http.(*Transport).dial" in funcs(s)]
        acc = [s for s in sites if "net.(*TCPListener).Accept" in funcs(s)]
        check_eq([(s["open"], s["kinds"]["tcp"]) for s in dial], [(n, n)], f"{where}: client sockets at the dial")
        check_eq([(s["open"], s["kinds"]["tcp"]) for s in acc], [(n, n)], f"{where}: accepted sockets")
        reach = any(f.get("func") == "main.fetchAll" and f.get("line") == get_line for f in dial[0]["stack"])
        check_eq(reach, bool(extra), f"{where}: the client sockets' stack reaches main.fetchAll:{get_line}: "
                 f"{funcs(dial[0])}")
        gs = goroutine_sites(final)
        per_conn = sum(s["count"] for s in gs if (s.get("start_func") or "").startswith("net/http.(*Transport).dialConn"))
        served = sum(s["count"] for s in gs if (s.get("start_func") or "").startswith("net/http.(*Server).Serve"))
        check_eq((per_conn, served), (2 * n, n), f"{where}: goroutines per client and per server connection")


def test_go_runtime_mappings_one_site():
    """--mmap on a Go program: the runtime's own mappings (heap arenas,
    goroutine stacks, its structures) are one "[go runtime]" site holding
    every byte, not a stack each."""
    import tempfile
    from test_go import go_target
    with tempfile.TemporaryDirectory() as tmp:
        with Target("goheap", ["-rate", "1", "-out", os.path.join(tmp, "own")], path=go_target("goheap")) as t, \
                Tracer(["-p", t.pid, "--mmap", "--format", "json", "-T", 0, 60]) as lt:
            lt.wait_ready()
            t.release(expect="DONE")
            time.sleep(SETTLE)
            lt.stop(signal.SIGINT)
            final = lt.final_report()
    mm = section(final, "mmap")
    names = [[f.get("func") for f in s["stack"]] for s in mm["sites"]]
    check_eq(names, [["[go runtime]"]], "one [go runtime] site")
    check(mm["sites"][0]["bytes"] >= 4 << 20 and mm["bytes"] == mm["sites"][0]["bytes"],
          f"it holds the heap arena's 4 MiB and every byte: {mm['sites'][0]}")
