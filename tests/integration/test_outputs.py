# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Outputs other tools read (docs/outputs.md): pprof, folded, several formats
from one report, -o lists and %n, trends over time, --fail-on-leak.

pprof files are read with Debian's golang-go (`go tool pprof`, offline);
scripts/install-deps.sh installs it. Without `go` those checks are skipped.
"""
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from harness import (pure, GROW_FINAL_BYTES, LEAKER_EXPECT, LEAKTRACE, SCALE, SETTLE, Fail, Skip, Target, Tracer,
                     check, check_eq, describe_sites, mem_sites, sites_of, totals)

GO_TIMEOUT = 60 * SCALE

# tests/targets/trend.c
CACHE_STEP, CACHE_STEPS, LEAK_STEP = 10240, 5, 3000
TREND_REPORTS = 12
TREND_WINDOW = 5        # src/trend.h TREND_WINDOW (K)
TREND_MIN_SAMPLES = 3   # src/trend.h TREND_MIN_SAMPLES


# ---------------------------------------------------------------- helpers

def _go():
    go = shutil.which("go")
    if not go:
        raise Skip("go not installed (scripts/install-deps.sh installs golang-go)")
    return go


def go_pprof(args, tmp):
    """Run `go tool pprof ARGS` offline with its caches in tmp; (rc, stdout, stderr)."""
    home = os.path.join(tmp, "gohome")
    os.makedirs(home, exist_ok=True)
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.update(HOME=home, GOCACHE=os.path.join(home, "cache"), GOPATH=os.path.join(home, "go"),
               PPROF_TMPDIR=os.path.join(home, "pprof"), GOFLAGS="", GOTOOLCHAIN="local",
               GOPROXY="off", PPROF_BINARY_PATH=home)
    argv = [_go(), "tool", "pprof", *args]
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, cwd=home,
                           env=env, timeout=GO_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Fail(f"{' '.join(argv)}: did not exit within {GO_TIMEOUT:.0f} s")
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def pprof_top(path, tmp):
    """{function: flat bytes} from `go tool pprof -top -unit=B -sample_index=inuse_space`."""
    args = ["-top", "-unit=B", "-sample_index=inuse_space", "-nodefraction=0", path]
    rc, out, err = go_pprof(args, tmp)
    if rc != 0:
        raise Fail(f"go tool pprof {' '.join(args)}: exit {rc}\n{err[-2000:]}")
    flat = {}
    row = re.compile(r"^\s*(\d+)B?\s+[\d.]+%\s+[\d.]+%\s+\d+B?\s+[\d.]+%\s+(.+?)\s*$")
    for line in out.splitlines():
        m = row.match(line)
        if m:
            name = re.sub(r" \(inline\)$", "", m.group(2))
            flat[name] = flat.get(name, 0) + int(m.group(1))
    if not flat:
        raise Fail(f"no rows in go tool pprof -top output:\n{out[:2000]}")
    return flat, out


def run_lt(args, timeout=20 * SCALE):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    try:
        p = subprocess.run([LEAKTRACE, *[str(a) for a in args]], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise Fail(f"leaktrace {' '.join(map(str, args))}: did not exit within {timeout:.0f} s")
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def check_one_line_error(args, rc_want):
    rc, out, err = run_lt(args)
    lines = [l for l in err.splitlines() if l.strip()]
    if rc != rc_want or len(lines) != 1 or not lines[0].startswith("leaktrace: "):
        raise Fail(f"leaktrace {' '.join(map(str, args))}: expected exit {rc_want} and one "
                   f"'leaktrace: ' line, got exit {rc} and:\n" + "\n".join("    | " + l for l in lines))
    check_eq(out, "", "stdout of a usage error")
    return lines[0]


def parse_folded(text):
    """[(frames, count)] of folded lines; Fail on a line that is not 'stack count'."""
    out = []
    for i, line in enumerate(text.splitlines()):
        m = re.match(r"^(\S.*) (\d+)$", line)
        if not m:
            raise Fail(f"folded line {i + 1} is not 'stack count': {line!r}")
        out.append((m.group(1).split(";"), int(m.group(2))))
    return out


def leaker_pprof_run(tmp, extra=()):
    """leaker traced with --format pprof -o FILE (and EXTRA); returns (path, tracer)."""
    path = os.path.join(tmp, "heap.pb.gz")
    with Target("leaker") as t, \
            Tracer(["-p", t.pid, "--format", "pprof", "-o", path, *extra, 60]) as lt:
        lt.wait_ready()
        t.release()
        time.sleep(SETTLE)
        lt.stop(signal.SIGINT)
        check_eq(lt.out.text().strip(), "", "stdout with --format pprof -o FILE")
        return path, lt


# ---------------------------------------------------------------- pprof

def test_pprof_leaker_opens_in_go_pprof():
    """--format pprof -o FILE on leaker: gzip'ed profile.proto that `go tool pprof -raw`
    reads; -top lists every leaking function with exactly its bytes."""
    _go()
    with tempfile.TemporaryDirectory() as tmp:
        path, lt = leaker_pprof_run(tmp)
        with open(path, "rb") as f:
            check_eq(f.read(2), b"\x1f\x8b", "gzip magic of the pprof file")
        with gzip.open(path) as f:
            check(len(f.read()) > 100, "decompressed profile is not empty")
        extra = set(os.listdir(tmp)) - {"heap.pb.gz", "heap.threads.pb.gz", "heap.timers.pb.gz",
                                        "heap.fds.pb.gz"}
        check_eq(sorted(extra), [], "files beside heap.pb.gz other than its threads/timers/fds siblings")

        rc, raw, err = go_pprof(["-raw", path], tmp)
        if rc != 0:
            raise Fail(f"go tool pprof -raw: exit {rc}\n{err[-2000:]}")
        for want in ("PeriodType: space bytes", "Period: 1",
                     "inuse_objects/count inuse_space/bytes[dflt]", "Locations", "Mappings"):
            check(want in raw, f"go tool pprof -raw output lacks {want!r}:\n{raw[:1500]}")
        check(re.search(r"^Duration: ", raw, re.M), "no Duration in -raw output")
        check(re.search(r"^Time: ", raw, re.M), "no Time in -raw output")
        check(re.search(r"^\d+: 0x[0-9a-f]+/0x[0-9a-f]+/0x[0-9a-f]+ \S*/leaker ", raw, re.M),
              f"no mapping for the leaker executable:\n{raw[raw.find('Mappings'):][:800]}")

        flat, top = pprof_top(path, tmp)
        problems = []
        for func, (_marker, _allocs, nbytes) in LEAKER_EXPECT.items():
            if flat.get(func) != nbytes:
                problems.append(f"{func}: expected {nbytes} B flat, got {flat.get(func)}")
        if flat.get("grow_origin") != GROW_FINAL_BYTES:
            problems.append(f"grow_origin: expected {GROW_FINAL_BYTES} B, got {flat.get('grow_origin')}")
        freed = [f for f in flat if f.startswith("freed_")]
        if freed:
            problems.append(f"freed functions in the profile: {freed}")
        if problems:
            raise Fail("go tool pprof -top:\n" + "\n".join(problems) + "\n" + top[:3000])


def test_pprof_objects_match_allocs():
    """-sample_index=inuse_objects counts allocations per function."""
    _go()
    with tempfile.TemporaryDirectory() as tmp:
        path, _ = leaker_pprof_run(tmp)
        rc, out, err = go_pprof(["-top", "-sample_index=inuse_objects", "-nodefraction=0", path], tmp)
        if rc != 0:
            raise Fail(f"go tool pprof: exit {rc}\n{err[-2000:]}")
        got = {}
        for line in out.splitlines():
            m = re.match(r"^\s*(\d+)\s+[\d.]+%\s+[\d.]+%\s+\d+\s+[\d.]+%\s+(\S+)", line)
            if m:
                got[m.group(2)] = got.get(m.group(2), 0) + int(m.group(1))
        for func in ("leak_malloc", "leak_calloc", "thread_first_malloc"):
            check_eq(got.get(func), LEAKER_EXPECT[func][1], f"{func} inuse_objects")


# ---------------------------------------------------------------- folded + json

def test_json_and_folded_from_one_report():
    """-T 0 --format json,folded -o FILE: json to FILE, folded to stdout, from the same
    report: every folded line is 'stack count', and they add up to outstanding_bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        jpath = os.path.join(tmp, "r.jsonl")
        with Target("leaker") as t, \
                Tracer(["-p", t.pid, "-T", 0, "--format", "json,folded", "-o", jpath, 60]) as lt:
            lt.wait_ready()
            t.release()
            time.sleep(SETTLE)
            lt.stop(signal.SIGINT)
            folded_text = lt.out.text()
        lines = [l for l in open(jpath).read().splitlines() if l.strip()]
        check_eq(len(lines), 1, "JSON lines in the json file")
        rep = json.loads(lines[0])
        check_eq(rep.get("final"), True, "final flag")
        folded = parse_folded(folded_text)
        total = rep["memory"]["outstanding_bytes"]
        check_eq(sum(c for _, c in folded), total,
                 "sum of folded counts vs memory.outstanding_bytes")
        check_eq(len(folded), len([s for s in mem_sites(rep) if s["bytes"] > 0]),
                 "folded lines vs sites holding bytes")
        check(all(frames[0] == "leaker" for frames, _ in folded), "every stack starts with comm")
        # frames outermost first: the leaking function is last, main is before it
        leak = [(fr, c) for fr, c in folded if fr[-1] == "leak_malloc"]
        check_eq(sum(c for _, c in leak), LEAKER_EXPECT["leak_malloc"][2], "leak_malloc bytes (folded)")
        for fr, _ in leak:
            check("main" in fr[:-1], f"main is not an outer frame of leak_malloc: {fr}")
        b, _, _ = totals(rep, "leaker", "leak_malloc", t.pid)
        check_eq(b, LEAKER_EXPECT["leak_malloc"][2], "leak_malloc bytes (json)")


def test_periodic_files_and_n():
    """1 s reports, 3 of them: %n gives one json and one folded file per report; pprof
    without %n is replaced at each report; nothing half-written is left."""
    with tempfile.TemporaryDirectory() as tmp:
        d = os.path.join(tmp, "out")
        os.mkdir(d)
        outs = ",".join(os.path.join(d, n) for n in ("r%n.jsonl", "heap.pb.gz", "f%n.folded"))
        with Target("continuous", ["--no-wait"]) as t, \
                Tracer(["-p", t.pid, "-T", 0, "--format", "json,pprof,folded", "-o", outs,
                        1, 3]) as lt:
            lt.wait(timeout=(3 + 20) * SCALE)
            check_eq(lt.out.text().strip(), "", "stdout when every format has a file")
        want = sorted([f"r{n}.jsonl" for n in (1, 2, 3)] + [f"f{n}.folded" for n in (1, 2, 3)]
                      + ["heap.pb.gz"])
        # once those sections exist; the fds section has its own folded file too
        siblings = {"heap.threads.pb.gz", "heap.timers.pb.gz", "heap.fds.pb.gz"} | \
            {f"f{n}.fds.folded" for n in (1, 2, 3)}
        check_eq(sorted(set(os.listdir(d)) - siblings), want, "files written")
        for n in (1, 2, 3):
            lines = open(os.path.join(d, f"r{n}.jsonl")).read().splitlines()
            check_eq(len(lines), 1, f"r{n}.jsonl lines")
            rep = json.loads(lines[0])
            check_eq(rep.get("report"), n, f"r{n}.jsonl report number")
            check_eq(rep.get("final"), n == 3, f"r{n}.jsonl final flag")
            folded = parse_folded(open(os.path.join(d, f"f{n}.folded")).read())
            check_eq(sum(c for _, c in folded), rep["memory"]["outstanding_bytes"],
                     f"f{n}.folded total vs r{n}.jsonl")
            check(any(fr[-1] == "drip" for fr, _ in folded), f"f{n}.folded has no drip stack")
        with gzip.open(os.path.join(d, "heap.pb.gz")) as f:
            f.read()
        if shutil.which("go"):
            rc, raw, err = go_pprof(["-raw", os.path.join(d, "heap.pb.gz")], tmp)
            check_eq(rc, 0, f"go tool pprof -raw exit status ({err[-500:]})")
            check("report 3 (final)" in raw, f"heap.pb.gz is not the last report:\n{raw[:300]}")


def test_json_appends_and_text_appends():
    """Without %n, json and text files get every report appended."""
    with tempfile.TemporaryDirectory() as tmp:
        j, txt = os.path.join(tmp, "r.jsonl"), os.path.join(tmp, "r.txt")
        with Target("continuous", ["--no-wait"]) as t, \
                Tracer(["-p", t.pid, "--format", "json,text", "-o", f"{j},{txt}", 1, 2]) as lt:
            lt.wait(timeout=(2 + 20) * SCALE)
        reps = [json.loads(l) for l in open(j).read().splitlines() if l.strip()]
        check_eq([r.get("report") for r in reps], [1, 2], "json reports appended")
        heads = [l for l in open(txt).read().splitlines() if l.startswith("leaktrace report")]
        check_eq(len(heads), 2, "text reports appended")


# ---------------------------------------------------------------- -o / --format rules

BAD_OUTPUTS = {
    "two_formats_on_stdout": ["--format", "json,folded"],
    "both_dash": ["--format", "json,folded", "-o", "-,-"],
    "pprof_without_o": ["--format", "pprof"],
    "pprof_to_dash": ["--format", "pprof,json", "-o", "-,x.json"],
    "more_files_than_formats": ["--format", "json", "-o", "a.json,b.json"],
    "same_file_twice": ["--format", "json,folded", "-o", "same,same"],
    "format_twice": ["--format", "json,json", "-o", "a,b"],
    "format_unknown_in_list": ["--format", "json,svg", "-o", "a,b"],
}


@pure
def test_output_usage_errors():
    """Ambiguous --format/-o combinations: exit 2, one stderr line, the target untouched."""
    with Target("continuous") as t:
        for name, args in BAD_OUTPUTS.items():
            check_one_line_error(["-p", t.pid, *args], 2)
        check(t.alive(), "the target died")


def test_output_dir_missing():
    """A replaced file in a missing directory: exit 1 before tracing, one line."""
    with Target("continuous") as t:
        line = check_one_line_error(["-p", t.pid, "--format", "pprof", "-o",
                                     "/nonexistent-dir/heap.pb.gz", "--once", 1], 1)
        check("/nonexistent-dir" in line, f"the error should name the directory: {line}")


# ---------------------------------------------------------------- trends

def _trend_site(rep, func):
    ss = sites_of(rep, "trend", func)
    if len(ss) != 1:
        raise Fail(f"report {rep.get('report')}: expected one {func} site, got {len(ss)}\n"
                   f"{describe_sites(rep)}")
    return ss[0]


def test_trend_growing_and_stable():
    """tests/targets/trend: cache_fill() adds 10 KiB a step for 5 steps then stays;
    leak_step() leaks 3000 B every step. Steps are 1 s apart; 12 reports, 1 s apart.

    Phase: leaktrace samples every site at start+k s (k = 1, 2, ...) and report k is
    made right after sample k. The test releases the target 0.5 s after leaktrace's
    ready line, so step i runs at start + 0.5 + i s: sample k sees steps 0..k-1, i.e.
    cache = 10240 * min(k, 5) and leak = 3000 * k. The test checks that first (bytes
    per report), so a phase error is reported as such and not as a trend error.

    Both sites exist from sample 1, so report k classifies k samples:
    - reports 1-2: "new" (fewer than TREND_MIN_SAMPLES = 3 samples);
    - leak: "growing" from report 3 on (the 4th report on is the acceptance text;
      3 holds too since the series is linear from its first sample);
    - cache: "growing" in reports 3-8: the window (last K = 5 samples) still has a
      rise; report 8's window is samples 4-8 = 40K,50K,50K,50K,50K, a rise of 8 KiB;
    - cache: "stable" from report 9 on: samples 5-9 are all 50 KiB, the first window
      that is flat, K = 5 samples after the cache stopped growing (sample 5 is the
      first that sees the full cache).
    --sort growth is on: sites are ordered by delta_bytes, so from report 6 on (cache
    delta 0) the leak comes before the larger cache.
    """
    with Target("trend") as t, \
            Tracer(["-p", t.pid, "--format", "json", "-T", 0, "--sort", "growth",
                    1, TREND_REPORTS]) as lt:
        lt.wait_ready()
        time.sleep(0.5)
        t.release()
        lt.wait(timeout=(TREND_REPORTS + 20) * SCALE)
        reps = lt.reports()
    check_eq([r.get("report") for r in reps], list(range(1, TREND_REPORTS + 1)), "report numbers")

    phase = []
    for k, rep in enumerate(reps, 1):
        cache, leak = _trend_site(rep, "cache_fill"), _trend_site(rep, "leak_step")
        want = (CACHE_STEP * min(k, CACHE_STEPS), LEAK_STEP * k)
        if (cache["bytes"], leak["bytes"]) != want:
            phase.append(f"report {k}: cache/leak bytes {cache['bytes']}/{leak['bytes']}, "
                         f"expected {want[0]}/{want[1]}")
    if phase:
        raise Fail("the target's steps are not where the test put them (sampler phase):\n"
                   + "\n".join(phase))

    got = []
    want = []
    for k, rep in enumerate(reps, 1):
        cache, leak = _trend_site(rep, "cache_fill"), _trend_site(rep, "leak_step")
        got.append((k, cache["trend"], leak["trend"]))
        if k < TREND_MIN_SAMPLES:
            want.append((k, "new", "new"))
        elif k < CACHE_STEPS + TREND_WINDOW - 1:
            want.append((k, "growing", "growing"))
        else:
            want.append((k, "stable", "growing"))
    if got != want:
        raise Fail("trends (report, cache, leak):\n" + "\n".join(
            f"    {g}{'' if g == w else f'   expected {w}'}" for g, w in zip(got, want)))

    for k, rep in enumerate(reps, 1):
        deltas = [s["delta_bytes"] for s in mem_sites(rep)]
        check_eq(deltas, sorted(deltas, reverse=True), f"report {k}: --sort growth order")
        if k >= CACHE_STEPS + 1:
            names = [s["stack"][0]["func"] for s in mem_sites(rep)]
            check(names.index("leak_step") < names.index("cache_fill"),
                  f"report {k}: leak_step should come before cache_fill with --sort growth")


# ---------------------------------------------------------------- --fail-on-leak

def test_fail_on_leak():
    """--fail-on-leak --once 8: exit 3 on continuous (leaks 10 KB/s), 0 on nolk (frees
    everything it allocates). Both run at once."""
    with Target("continuous", ["--no-wait"]) as leaky, Target("nolk", ["--no-wait"]) as clean, \
            Tracer(["-p", leaky.pid, "--fail-on-leak", "--once", 8, "--format", "json"]) as lt1, \
            Tracer(["-p", clean.pid, "--fail-on-leak", "--once", 8, "--format", "json",
                    "-T", 0]) as lt2:
        lt1.wait(timeout=30 * SCALE, expect_rc=3)
        lt2.wait(timeout=30 * SCALE, expect_rc=0)
        final = lt1.final_report()
        drips = sites_of(final, "continuous", "drip")
        check(drips and all(s["trend"] == "growing" for s in drips),
              f"drip should be growing:\n{describe_sites(final)}")
        final = lt2.final_report()
        growing = [s for s in mem_sites(final) if s["trend"] == "growing"]
        check_eq(growing, [], "growing sites of nolk")
        check(leaky.alive() and clean.alive(), "a target died while traced")

