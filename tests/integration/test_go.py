# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Go programs: goroutines and Go timers per creation site, read from the
runtime's own memory (no pprof endpoint, no restart), for Debian's Go 1.19
targets built plain, stripped (-ldflags='-s -w') and PIE.

tests/targets/go/goleak leaks per tick a goroutine blocked on a channel
receive (leakOne), a time.Ticker never stopped (leakTicker) and an
AfterFunc due in 5 h (leakAfterFunc), next to balanced goroutines and
stopped tickers (balancedWork). After DONE it is quiet; SIGUSR2 makes it
write runtime.NumGoroutine() and its own goroutine profile (debug=1 and 2),
which the tests compare with leaktrace's numbers: equal, not close.
"""
import os
import re
import signal
import tempfile
import time
from collections import Counter
from pathlib import Path

from harness import (REPO, SCALE, SETTLE, Fail, Skip, Target, Tracer, check, check_eq)

GO_BIN = REPO / "tests" / "targets" / "go" / "bin"
GOLEAK_SRC = REPO / "tests" / "targets" / "go" / "goleak" / "main.go"
TICKS = 30
TICKER_PERIOD_NS = (3 * 3600 + 0) * 10**9 + 7 * 10**6     # 3h + 7ms (goleak's TickerPeriod)


def go_target(name):
    path = GO_BIN / name
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise Skip(f"{path} is not built (make targets builds it with Debian's golang-go)")
    return path


def marker_line(marker, src=GOLEAK_SRC):
    for i, line in enumerate(src.read_text().splitlines(), 1):
        if f"// LINE:{marker}" in line:
            return i
    raise Fail(f"no LINE:{marker} in {src}")


def goroutine_sites(report):
    return (report.get("goroutines") or {}).get("sites") or []


NEST_TICKER_PERIOD_NS = (5 * 3600 * 1000 + 3) * 1000 * 1000   # gonest's NestTickerPeriod


def timer_sites(report, kind):
    return [s for s in (report.get("timers") or {}).get("sites") or [] if s.get("kind") == kind]


def frame_at(stack, func, line):
    return any(f.get("func") == func and f.get("line") == line for f in stack or [])


def check_frames_valid(report, where):
    """Every frame of every Go site is symbolized (a function and a line)."""
    for s in goroutine_sites(report):
        for key in ("stack", "blocked_stack"):
            for f in s.get(key) or []:
                if not f.get("func") or not f.get("line"):
                    raise Fail(f"{where}: a {key} frame without function or line: {f}")


def dump_of(target, path):
    """The target's own numbers at this moment: (NumGoroutine, Counter of (creating
    function, file line) from its debug=2 goroutine profile's "created by" lines)."""
    os.kill(target.pid, signal.SIGUSR2)
    n0 = len([l for l in target.out.lines if l == "DUMPED"])
    deadline = time.monotonic() + 10 * SCALE
    while len([l for l in target.out.lines if l == "DUMPED"]) == n0 and time.monotonic() < deadline:
        time.sleep(0.05)
    text = Path(path).read_text()
    num = int(re.search(r"^numgoroutine (\d+)$", text, re.M).group(1))
    created = Counter()
    debug2 = text.split("==== debug=2\n", 1)[1]
    for m in re.finditer(r"^created by (\S+)\n\t(\S+):(\d+)", debug2, re.M):
        created[(m.group(1), int(m.group(3)))] += 1
    return num, created


def traced_goleak(binary, extra=(), interval=60, churn=False):
    """goleak BINARY traced by leaktrace -p, released, its ticks done: (target, tracer, dump path)."""
    tmp = tempfile.mkdtemp()
    dump = os.path.join(tmp, "goleak.dump")
    args = ["-ticks", str(TICKS), "-out", dump] + (["-churn"] if churn else [])
    t = Target("goleak", args, path=go_target(binary))
    lt = Tracer(["-p", t.pid, "--format", "json", "-T", 0, *extra, interval])
    lt.wait_ready()
    t.release(expect="DONE")
    return t, lt, dump


def check_goleak(final, binary, dump):
    leak_go, leak_block = marker_line("leak-go"), marker_line("leak-block")
    sites = goroutine_sites(final)
    leaks = [s for s in sites if s.get("start_func") == "main.leakOne.func1"]
    check_eq(len(leaks), 1, f"{binary}: sites whose start function is main.leakOne.func1")
    s = leaks[0]
    check_eq(s.get("count"), TICKS, f"{binary}: goroutines at the leaking go statement")
    check_eq(s.get("states"), {"chan receive": TICKS}, f"{binary}: their states")
    check(s["stack"] and s["stack"][0].get("func") == "main.leakOne" and
          s["stack"][0].get("line") == leak_go,
          f"{binary}: the creation site is main.leakOne at line {leak_go}: {s['stack'][:2]}")
    check(frame_at(s.get("blocked_stack"), "main.leakOne.func1", leak_block),
          f"{binary}: the blocked stack has the <-block line {leak_block}: {s.get('blocked_stack')}")
    check_eq(s.get("truncated"), False, f"{binary}: truncated")
    balanced = marker_line("balanced-go")
    check_eq([x for x in sites if any(f.get("line") == balanced for f in x.get("stack") or [])], [],
             f"{binary}: sites at the balanced go statement (line {balanced})")
    check_frames_valid(final, binary)
    return s


def test_goroutines_and_timers_exact():
    """goleak after 30 ticks, plain, stripped and PIE: exactly 30 goroutines at the
    leaking go statement in chan receive with the <-block line in blocked_stack,
    30 live periodic tickers and 30 AfterFuncs at their lines, nothing at the
    balanced sites; counts and totals equal to the program's own profile."""
    for binary in ("goleak", "goleak_stripped", "goleak_pie"):
        t, lt, dump = traced_goleak(binary)
        with t, lt:
            num, created = dump_of(t, dump)
            time.sleep(SETTLE)
            lt.stop(signal.SIGINT)
            final = lt.final_report()
        check_goleak(final, binary, dump)
        g = final["goroutines"]
        check_eq(g.get("total"), num, f"{binary}: total goroutines vs the program's runtime.NumGoroutine()")
        mine = Counter()
        for s in goroutine_sites(final):
            if s.get("start_func") != "runtime.main":      # goroutine 1 has no "created by"
                mine[(s["stack"][0]["func"], s["stack"][0]["line"])] += s["count"]
        check_eq(dict(mine), dict(created), f"{binary}: goroutines per creation site vs its own profile")
        tick = timer_sites(final, "go_ticker")
        check_eq(sum(s["open"] for s in tick), TICKS, f"{binary}: live tickers")
        check_eq(sum(s["periodic"] for s in tick), TICKS, f"{binary}: periodic tickers")
        check(all(s["interval_ns"] == TICKER_PERIOD_NS for s in tick), f"{binary}: ticker period: {tick}")
        check(all(frame_at(s["stack"], "main.leakTicker", marker_line("leak-ticker")) for s in tick),
              f"{binary}: tickers created at main.leakTicker: {[s['stack'][:3] for s in tick]}")
        af = timer_sites(final, "go_afterfunc")
        check_eq(sum(s["open"] for s in af), TICKS, f"{binary}: live AfterFuncs")
        check(all(frame_at(s["stack"], "main.leakAfterFunc", marker_line("leak-afterfunc")) for s in af),
              f"{binary}: AfterFuncs created at main.leakAfterFunc")
        check_eq(timer_sites(final, "go_timer"), [], f"{binary}: plain Go timers")


def test_churn_counts_stay_exact():
    """10,000 goroutines a second created and ended beside the leaks: the leaking
    site is exactly 30 at every report, and no frame is ever unsymbolized."""
    t, lt, dump = traced_goleak("goleak", interval=0.5, churn=True)
    with t, lt:
        time.sleep(6 * SCALE)
        lt.stop(signal.SIGINT)
        reps = lt.reports()
    check(len(reps) >= 8, f"reports under churn: {len(reps)}")
    for r in reps:
        leaks = [s for s in goroutine_sites(r) if s.get("start_func") == "main.leakOne.func1"]
        check_eq([s["count"] for s in leaks], [TICKS], f"report {r['report']}: the leaking site")
        check_frames_valid(r, f"report {r['report']}")
        check_eq(r["drops"].get("timers_untracked", 0), 0, f"report {r['report']}: drops")


def test_go_command_from_start():
    """-c a Go program: its goroutines, and its Go timers with their creation
    stacks (the timer probe is in at its exec, before it runs)."""
    with tempfile.TemporaryDirectory() as tmp:
        bin_ = go_target("goleak")
        out = os.path.join(tmp, "r.jsonl")
        with Tracer(["-c", f"{bin_} -ticks {TICKS} -out {tmp}/d", "--format", "json", "-o", out,
                     "-T", 0, 60], child_marker="goleak") as lt:
            lt.wait_ready()
            ready = lt.out.wait_for(lambda l: l.startswith("READY "), 10 * SCALE)
            check(ready is not None, f"the command's READY line\n{lt.diag()}")
            os.kill(int(ready[1].split()[1]), signal.SIGUSR1)
            check(lt.out.wait_for(lambda l: l == "DONE", 10 * SCALE) is not None, "the command's DONE")
            time.sleep(SETTLE)
            lt.stop(signal.SIGINT)
        import json
        final = json.loads(Path(out).read_text().splitlines()[-1])
        leaks = [s for s in goroutine_sites(final) if s.get("start_func") == "main.leakOne.func1"]
        check_eq([s["count"] for s in leaks], [TICKS], "the leaking site under -c")
        tick = timer_sites(final, "go_ticker")
        check(tick and all(frame_at(s["stack"], "main.leakTicker", marker_line("leak-ticker")) for s in tick),
              f"tickers created at main.leakTicker under -c: {tick}")


ESBUILD_VERSION = "0.28.2"     # go1.26.5, stripped, static, no .go.buildinfo


def esbuild_binary():
    """esbuild's Go binary from the npm registry (cached in $OUTPUT/esbuild), or Skip."""
    import subprocess
    out = REPO / os.environ.get("OUTPUT", ".output") / "esbuild"
    path = out / "package" / "bin" / "esbuild"
    if not path.exists():
        out.mkdir(parents=True, exist_ok=True)
        p = subprocess.run(f"timeout 120 npm pack --silent @esbuild/linux-x64@{ESBUILD_VERSION} "
                           "2>/dev/null | tail -n 1 | xargs -r tar xzf", shell=True, cwd=out)
        if p.returncode != 0 or not path.exists():
            raise Skip(f"npm pack @esbuild/linux-x64@{ESBUILD_VERSION} failed (no npm registry?)")
    return path


def test_esbuild_keepalive_connections():
    """A real, stripped, static Go 1.26 program nobody here built (esbuild's
    --serve): N idle keep-alive HTTP connections raise the goroutine site of its
    per-connection handler by exactly N, and closing them brings it back."""
    import json
    import socket
    import subprocess
    N = 25
    bin_ = esbuild_binary()
    with tempfile.TemporaryDirectory() as d:
        Path(d, "index.html").write_text("<p>hi</p>\n")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        # esbuild stops serving when its stdin closes: keep a pipe open
        es = subprocess.Popen([str(bin_), f"--serve=127.0.0.1:{port}", f"--servedir={d}"],
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, start_new_session=True)
        conns = []
        try:
            deadline = time.monotonic() + 10 * SCALE
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            out = os.path.join(d, "r.jsonl")
            with Tracer(["-p", es.pid, "--track", "goroutines", "--format", "json", "-o", out,
                         "-T", 0, 1]) as lt:
                lt.wait_ready()

                def handler_count():
                    """The per-connection site after the next report: (count, site)."""
                    n0 = len(Path(out).read_text().splitlines()) if os.path.exists(out) else 0
                    deadline = time.monotonic() + 10 * SCALE
                    while time.monotonic() < deadline:
                        lines = Path(out).read_text().splitlines() if os.path.exists(out) else []
                        if len(lines) > n0 + 1:
                            rep = json.loads(lines[-1])
                            sites = [x for x in goroutine_sites(rep)
                                     if x.get("start_func") == "net/http.(*Server).Serve.gowrap3"]
                            return sum(x["count"] for x in sites), sites, rep
                        time.sleep(0.1)
                    raise Fail(f"no new report\n{lt.diag()}")

                base, _, rep = handler_count()
                check(rep["goroutines"]["total"] > 0, "esbuild's goroutines are read")
                for _ in range(N):
                    c = socket.create_connection(("127.0.0.1", port), timeout=5)
                    c.sendall(f"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                              "Connection: keep-alive\r\n\r\n".encode())
                    buf = b""
                    while b"<p>hi</p>" not in buf:
                        chunk = c.recv(4096)
                        if not chunk:
                            break
                        buf += chunk
                    check(b" 200 " in buf.split(b"\r\n", 1)[0], f"esbuild answered: {buf[:80]!r}")
                    conns.append(c)
                time.sleep(0.5)
                held, sites, rep = handler_count()
                check_eq(held - base, N, "per-connection goroutines while the connections are held")
                check(any(frame_at([f], f["func"], f["line"]) and f["func"].startswith("net/http.")
                          for x in sites for f in x["stack"][:1]),
                      f"the creation site is in net/http: {[x['stack'][:1] for x in sites]}")
                check(all(f.get("func") for x in sites for f in x.get("blocked_stack") or []),
                      "every blocked frame symbolized from .gopclntab (the binary is stripped)")
                for c in conns:
                    c.close()
                conns = []
                deadline = time.monotonic() + 10 * SCALE
                while True:
                    after, _, _ = handler_count()
                    if after == base or time.monotonic() > deadline:
                        break
                check_eq(after, base, "per-connection goroutines after the connections closed")
                lt.stop(signal.SIGINT)
        finally:
            for c in conns:
                c.close()
            es.kill()
            es.wait(5)


def test_cgo_malloc_and_goroutines():
    """A cgo program: its C mallocs at leak_c (exact bytes) and its goroutines
    at the leaking go statement, in one report."""
    src = REPO / "tests" / "targets" / "go" / "cgoleak" / "main.go"
    ticks = 20
    with Target("cgoleak", ["-ticks", str(ticks)], path=go_target("cgoleak")) as t, \
            Tracer(["-p", t.pid, "--format", "json", "-T", 0, 60]) as lt:
        lt.wait_ready()
        t.release(expect="DONE")
        time.sleep(SETTLE)
        lt.stop(signal.SIGINT)
        final = lt.final_report()
    line = marker_line("leak-c", src)
    mem = [s for s in final["memory"]["sites"]
           if s["stack"] and s["stack"][0].get("func") == "leak_c"]
    check_eq((sum(s["allocs"] for s in mem), sum(s["bytes"] for s in mem)), (ticks, ticks * 1000),
             "C mallocs at leak_c")
    check(all(s["stack"][0].get("line") == line for s in mem), f"leak_c's line {line}: {mem}")
    check_eq([s for s in final["memory"]["sites"]
              if any(f.get("func") == "balanced_c" for f in s["stack"])], [], "balanced C blocks")
    gl = [s for s in goroutine_sites(final) if s["stack"] and s["stack"][0].get("func") == "main.leakGo"]
    check_eq(sum(s["count"] for s in gl), ticks, "goroutines at main.leakGo")
    check(all(s["stack"][0].get("line") == marker_line("cgo-leak-go", src) for s in gl), "the go statement's line")


def test_system_wide_go_processes():
    """-a: a Go process appears with its goroutine totals among the top processes."""
    t, lt, _ = None, None, None
    with Target("goleak", ["-ticks", str(TICKS)], path=go_target("goleak")) as t:
        t.release(expect="DONE")
        with Tracer(["-a", "--track", "goroutines", "--format", "json", "-T", 0, "--top-procs", 0,
                     "--once", 3]) as lt:
            lt.wait(30 * SCALE)
            final = lt.final_report()
    procs = {p["pid"]: p for p in final["goroutines"].get("top_processes") or []}
    check(t.pid in procs, f"goleak among the Go processes: {list(procs)}")
    check_eq(procs[t.pid]["goroutines"], TICKS + 2, "its goroutines (30 leaked, main, signal loop)")
    leaks = [s for s in goroutine_sites(final)
             if s["pid"] == t.pid and s.get("start_func") == "main.leakOne.func1"]
    check_eq([s["count"] for s in leaks], [TICKS], "its leaking site")


def test_go_ancestry():
    """--go-ancestry: goleak's leaking site continues past its go statement to
    main.main; gonest's leaves (started by workers that spawner started) reach
    through both go statements to the line in main.main, exact counts; so do
    the stacks of the tickers the leaves create (any record made in a goroutine
    gets the goroutine's ancestry)."""
    t, lt, _ = traced_goleak("goleak", extra=["--go-ancestry"])
    with t, lt:
        time.sleep(SETTLE)
        lt.stop(signal.SIGINT)
        final = lt.final_report()
    leaks = [s for s in goroutine_sites(final) if s.get("start_func") == "main.leakOne.func1"]
    check_eq([s["count"] for s in leaks], [TICKS], "goleak: the leaking site, one with its ancestry")
    st = [(f.get("func"), f.get("line")) for f in leaks[0]["stack"]]
    check(st[:2] == [("main.leakOne", marker_line("leak-go")), ("main.main", st[1][1])] and
          st[1][1], f"goleak: the stack past the go statement: {st}")
    check_eq(leaks[0]["truncated"], False, "goleak: truncated")

    src = REPO / "tests" / "targets" / "go" / "gonest" / "main.go"
    n = 12
    with Target("gonest", ["-n", str(n)], path=go_target("gonest")) as t, \
            Tracer(["-p", t.pid, "--go-ancestry", "--format", "json", "-T", 0, 60]) as lt:
        lt.wait_ready()
        t.release(expect="DONE")
        time.sleep(SETTLE)
        lt.stop(signal.SIGINT)
        final = lt.final_report()
    # `go leaf(wg)` compiles to a closure: the start function is main.worker.func1, as pprof says
    leaves = [s for s in goroutine_sites(final) if s.get("start_func") == "main.worker.func1"]
    check_eq([s["count"] for s in leaves], [n], "gonest: the leaves, one site")
    st = [(f.get("func"), f.get("line")) for f in leaves[0]["stack"]]
    want = [("main.worker", marker_line("nest-leaf-go", src)),
            ("main.spawner", marker_line("nest-worker-go", src)),
            ("main.main", marker_line("nest-spawner-call", src))]
    got = [x for x in st if x[0] in ("main.worker", "main.spawner", "main.main")]
    check_eq(got, want, f"gonest: the leaves' ancestry (whole stack {st})")
    check_eq(final["goroutines"].get("ancestry_lost", 0), 0, "goroutines whose ancestry was lost")
    # each leaf's ticker: created in main.leaf, then the leaf goroutine's whole ancestry
    tick = [s for s in timer_sites(final, "go_ticker") if s.get("interval_ns") == NEST_TICKER_PERIOD_NS]
    check_eq([s["open"] for s in tick], [n], f"gonest: the leaves' tickers, one site: {tick}")
    st = [(f.get("func"), f.get("line")) for f in tick[0]["stack"]]
    want = [("main.leaf", marker_line("nest-ticker", src))] + want
    got = [x for x in st if x[0] in ("main.leaf", "main.worker", "main.spawner", "main.main")]
    check_eq(got, want, f"gonest: the ticker's stack through the ancestry (whole stack {st})")
    check_eq(tick[0]["truncated"], False, "gonest: the ticker's stack truncated")


def test_goroutine_profile_and_folded():
    """The goroutine profile (goroutine/count, as Go's own) opens in `go tool
    pprof`: main.leakOne holds 30; the folded sibling has the same line."""
    from test_outputs import go_pprof
    with tempfile.TemporaryDirectory() as tmp:
        t, lt, _ = traced_goleak("goleak_stripped",
                                 extra=["--format", "pprof,folded", "-o",
                                        f"{tmp}/p.pb.gz,{tmp}/p.folded"])
        with t, lt:
            time.sleep(SETTLE)
            lt.stop(signal.SIGINT)
        prof = f"{tmp}/p.goroutine.pb.gz"
        check(os.path.exists(prof), f"the goroutine profile beside the heap one: {os.listdir(tmp)}")
        rc, out, err = go_pprof(["-top", "-nodefraction=0", prof], tmp)
        check_eq(rc, 0, "go tool pprof -top\n" + err[-2000:])
        check("Type: goroutine" in out, "the sample type\n" + out)
        rows = [l.split() for l in out.splitlines() if l.strip().endswith("main.leakOne")]
        check(rows and rows[0][0] == str(TICKS), f"main.leakOne has {TICKS} goroutines\n" + out)
        folded = Path(f"{tmp}/p.goroutines.folded").read_text().splitlines()
        check(f"goleak_stripped;main.leakOne {TICKS}" in folded, f"the folded line: {folded}")
