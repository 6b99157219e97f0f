# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Sampled mode (--sample BYTES): accuracy of the estimates against a known truth.

tests/targets/sampleleak leaks at five sites (LEAKS) and churns balanced
blocks of the same sizes. It is run 20 times under `-c` at --sample 65536
with seeds 0..19 (uprobe sessions on this kernel), and 5 more times with
LEAKTRACE_NO_UPROBE_SESSION=1 (entry and return probes, as on 6.1).

The model: at rate R a block of SIZE bytes is sampled on its own with
probability p = 1 - e^(-SIZE/R) and weighs w = SIZE / p bytes, so a site of
N blocks reports K * w bytes with K ~ Binomial(N, p):
  - every single run: K (= bytes / w) lies in Binomial(N, p)'s central
    interval of probability 1 - 2e-5 (PER_RUN_TAIL each side); over the 125
    site-runs here a false alarm has probability below 0.3 %;
  - sites expecting N p >= 50 samples a run: the mean of the 20 estimates is
    within 5 % of the true bytes;
  - the others (64 B and 24 B blocks): the mean is within 3 standard errors,
    SE = w sqrt(N p (1 - p) / 20);
  - no other site appears (the churn frees everything it allocates).
"""
import math
import os
import tempfile
import threading

from harness import (REPO, SCALE, Fail, Skip, Tracer, check, check_eq, first_exe_frame,
                     mem_sites, pure, refused, target_path)
import pprofpb

EXE = "sampleleak"
RATE = 65536
RUNS = 20
FALLBACK_RUNS = 5
PER_RUN_TAIL = 1e-5
# function -> (blocks, bytes each); keep in sync with tests/targets/sampleleak.c
LEAKS = {
    "leak_kb": (10000, 1000),
    "leak_100k": (100, 100 * 1024),
    "leak_64": (1000, 64),
    "leak_1m": (50, 1024 * 1024),
    "leak_24": (20000, 24),
}
STATIC_SUITE = os.environ.get("LEAKTRACE_SUITE_NAME") == "static"


def _model(n, size, rate=RATE):
    p = -math.expm1(-size / rate)
    return p, size / p


def _binom_interval(n, p, tail):
    """The smallest k_lo and largest k_hi with P(K < k_lo) <= tail and P(K > k_hi) <= tail."""
    logp, logq = math.log(p), math.log1p(-p)
    pmf = [math.exp(math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
                    + k * logp + (n - k) * logq) for k in range(n + 1)]
    lo, acc = 0, 0.0
    while lo < n and acc + pmf[lo] <= tail:
        acc += pmf[lo]
        lo += 1
    hi, acc = n, 0.0
    while hi > 0 and acc + pmf[hi] <= tail:
        acc += pmf[hi]
        hi -= 1
    return lo, hi


def _run(seed, extra=(), env=None, cmd_args=""):
    cmd = f"{target_path(EXE)} {cmd_args}".strip()
    args = ["-c", cmd, "--format", "json", "-T", 0, "--track", "mem", "--stacks", "fp",
            "--sample-seed", seed, *extra]
    if "--sample" not in extra:
        args += ["--sample", RATE]
    with Tracer(args, cwd=str(REPO), env=env, child_marker=EXE) as lt:
        lt.wait(timeout=60 * SCALE)
        return lt.final_report(), lt.stderr_lines()


def _runs(key, n, env=None):
    """n runs with seeds 0..n-1, two at a time (cached)."""
    from harness import cached

    def go():
        out, errs = [None] * n, []

        def worker(i0):
            try:
                for i in range(i0, n, 2):
                    out[i] = _run(i, extra=("-v",), env=env)
            except BaseException as e:  # noqa: BLE001 - reported below
                errs.append(e)
        th = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
        for t in th:
            t.start()
        for t in th:
            t.join()
        if errs:
            raise errs[0]
        return out
    return cached(("sample", key), go)


def _site_bytes(report):
    """function -> (bytes, allocs) of the leak sites; Fail on any other site."""
    got, other = {}, []
    for s in mem_sites(report):
        fr = first_exe_frame(s, EXE)
        fn = fr.get("func") if fr else None
        if fn not in LEAKS:
            other.append(f"{s.get('bytes')} B at {fn or (s.get('stack') or [{}])[0].get('func')}")
            continue
        b, a = got.get(fn, (0, 0))
        got[fn] = (b + s["bytes"], a + s["allocs"])
    if other:
        raise Fail(f"sites that do not leak appear: {other[:5]}")
    return got


def _check_runs(runs, what):
    problems, means = [], {}
    for fn, (n, size) in LEAKS.items():
        p, w = _model(n, size)
        lo, hi = _binom_interval(n, p, PER_RUN_TAIL)
        ests = []
        for i, (rep, _) in enumerate(runs):
            b, a = _site_bytes(rep).get(fn, (0, 0))
            ests.append(b)
            k = round(b / w)
            # each block's weight is an integer within 1e-5 of w
            if abs(b - k * w) > k * (1 + 2e-5 * w):
                problems.append(f"{what} seed {i}: {fn} {b} B is not a whole number of weights {w:.1f}")
            if not lo <= k <= hi:
                problems.append(f"{what} seed {i}: {fn} {b} B = {k} samples of {w:.1f} B, outside "
                                f"Binomial({n}, {p:.6f})'s [{lo}, {hi}]")
            if k and abs(a - round(k * w / size)) > max(1, k):
                problems.append(f"{what} seed {i}: {fn} {a} allocs, expected about {k * w / size:.0f}")
        means[fn] = sum(ests) / len(ests)
        means[fn] = (means[fn], ests)
    return problems, means


def test_sample_accuracy():
    """20 seeds at --sample 65536: per-run binomial bounds, the means within 5 % or 3 SE."""
    runs = _runs("session", RUNS)
    problems, means = _check_runs(runs, "session")
    lines = []
    for fn, (n, size) in LEAKS.items():
        p, w = _model(n, size)
        true = n * size
        mean, ests = means[fn]
        if n * p >= 50 - 1e-3:     # 50 x 1 MiB: 50 (1 - e^-16) samples
            ok = abs(mean - true) <= 0.05 * true
            bound = f"5 % ({0.05 * true:.0f} B)"
        else:
            se = w * math.sqrt(n * p * (1 - p) / len(ests))
            ok = abs(mean - true) <= 3 * se
            bound = f"3 SE ({3 * se:.0f} B)"
        lines.append(f"{fn}: true {true}, mean {mean:.0f} ({(mean / true - 1) * 100:+.2f} %), "
                     f"{n * p:.1f} samples a run, bound {bound}")
        if not ok:
            problems.append(f"{fn}: mean of {len(ests)} runs {mean:.0f} B vs true {true} B, "
                            f"outside {bound}")
    print("    " + "\n    ".join(lines))
    if problems:
        raise Fail(f"{len(problems)} problems: " + "; ".join(problems[:8]))


def test_sample_reports_rate():
    """memory.sampling {rate, source: bpf} in every run; -v says uprobe sessions on this kernel."""
    runs = _runs("session", RUNS)
    for rep, err in runs[:3]:
        check_eq(rep["memory"].get("sampling"), {"rate": RATE, "source": "bpf"}, "memory.sampling")
    err = runs[0][1]
    check(any("as uprobe sessions (no return trap for an unsampled call)" in l for l in err),
          "-v says the sampled probes are uprobe sessions: " + " | ".join(
              l for l in err if "sampling" in l))


def test_sample_seed_repeats():
    """The same --sample-seed gives the same estimates (a single-threaded target)."""
    a = _site_bytes(_runs("session", RUNS)[3][0])
    b = _site_bytes(_run(3)[0])
    check_eq(b, a, "per-site (bytes, allocs) of two runs with --sample-seed 3")
    c = _site_bytes(_runs("session", RUNS)[4][0])
    check(a != c, f"seeds 3 and 4 give different samples: {a}")


def test_sample_fallback_return_probes():
    """LEAKTRACE_NO_UPROBE_SESSION=1: entry and return probes (the 6.1 way), same model bounds."""
    if STATIC_SUITE:
        raise Skip("the same BPF programs as the dynamic suite's run")
    runs = _runs("fallback", FALLBACK_RUNS, env={"LEAKTRACE_NO_UPROBE_SESSION": "1"})
    err = runs[0][1]
    check(any("with return probes (no uprobe sessions here)" in l for l in err),
          "-v says return probes: " + " | ".join(l for l in err if "sampling" in l))
    problems, _ = _check_runs(runs, "fallback")
    for rep, _ in runs:
        d = rep.get("drops") or {}
        if d.get("unmatched_returns") or d.get("missed_returns"):
            problems.append(f"drops {d}")
    if problems:
        raise Fail(f"{len(problems)} problems: " + "; ".join(problems[:8]))


def test_sample_one_is_exact():
    """--sample 1 samples every allocation with weight = size: exact numbers."""
    rep, _ = _run(0, extra=("--sample", 1))
    check_eq(rep["memory"].get("sampling"), {"rate": 1, "source": "bpf"}, "memory.sampling")
    want = {fn: (n * size, n) for fn, (n, size) in LEAKS.items()}
    check_eq(_site_bytes(rep), want, "per-site (bytes, allocs) at --sample 1")


def test_sample_pprof_period():
    """pprof: period = R (space/bytes, as Go's heap profiles), values = the JSON estimates;
    folded lines carry the estimates too."""
    with tempfile.TemporaryDirectory() as d:
        path, fpath = os.path.join(d, "heap.pb.gz"), os.path.join(d, "heap.folded")
        rep, _ = _run(5, extra=("--format", "json,pprof,folded", "-o", f"-,{path},{fpath}"))
        prof = pprofpb.read(path)
        with open(fpath) as f:
            folded = {}
            for line in f:
                stack, _, n = line.rstrip("\n").rpartition(" ")
                fn = next((x for x in reversed(stack.split(";")) if x in LEAKS), None)
                if fn:
                    folded[fn] = folded.get(fn, 0) + int(n)
    check_eq(prof.period, RATE, "pprof period")
    check_eq(prof.period_type, ("space", "bytes"), "pprof period type")
    idx = [t for t, _ in prof.sample_types].index("inuse_space")
    got = {}
    for s in prof.samples:
        fns = [f for f, _ in s["frames"]]
        fn = next((f for f in fns if f in LEAKS), None)
        if fn:
            got[fn] = got.get(fn, 0) + s["values"][idx]
    want = {fn: b for fn, (b, _) in _site_bytes(rep).items()}
    check_eq(got, want, "pprof inuse_space per leak function vs the JSON estimates")
    check_eq(folded, want, "folded bytes per leak function vs the JSON estimates")


def _system(extra):
    with Tracer(["-a", "--once", 1, "--format", "json", "--track", "mem", "-T", 1, *extra]) as lt:
        lt.wait(timeout=60 * SCALE)
        return lt.final_report()


def test_sample_all_default():
    """-a samples at 524288 by default (memory.sampling); --exact takes it away."""
    if STATIC_SUITE:
        raise Skip("option handling is the dynamic suite's; -a costs every process traps")
    rep = _system([])
    check_eq(rep["memory"].get("sampling"), {"rate": 524288, "source": "bpf"}, "-a memory.sampling")
    rep = _system(["--exact"])
    check("sampling" not in rep["memory"], f"-a --exact has no memory.sampling: {rep['memory'].get('sampling')}")


@pure
def test_sample_bad_values():
    """--sample 0 / abc / too large, --exact with --sample, a seed without sampling: exit 2, one line."""
    refused(["-p", 1, "--sample", 0], "invalid value '0' for --sample")
    refused(["-p", 1, "--sample", "abc"], "invalid value 'abc' for --sample")
    refused(["-p", 1, "--sample", "64k"], "invalid value '64k' for --sample")
    refused(["-p", 1, "--sample", 1 << 31], "out of range")
    refused(["-p", 1, "--exact", "--sample", 4096], "--exact and --sample exclude each other")
    refused(["-a", "--exact", "--sample", 4096], "--exact and --sample exclude each other")
    refused(["-p", 1, "--sample-seed", 3], "--sample-seed goes with sampling")
    refused(["-p", 1, "--sample"], "see --help")


def _sample_one_run(name, env=None):
    """A -p run of a standard target at --sample 1 (every call sampled: exact)."""
    from harness import cached, trace_target

    def go():
        saved = {k: os.environ.get(k) for k in (env or {})}
        os.environ.update(env or {})
        try:
            return trace_target(name, lt_args=("--format", "json", "-T", "0", "--sample", "1"))
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    return cached(("sample1", name, tuple(sorted((env or {}).items()))), go)


def _check_leaker_exact(r):
    from harness import (EXPECT_REALLOC_SITE, GROW_FINAL_BYTES, LEAKER_EXPECT, Errors, check_no_freed,
                         check_site, source_of)
    errs = Errors()
    for fn, (marker, allocs, nbytes) in LEAKER_EXPECT.items():
        errs.run(check_site, r.final, r.exe, fn, allocs, nbytes, source=source_of("leaker"),
                 marker=marker, pid=r.pid, show=False)
    errs.run(check_site, r.final, r.exe, EXPECT_REALLOC_SITE, 1, GROW_FINAL_BYTES, pid=r.pid, show=False)
    errs.run(check_no_freed, r.final)
    errs.raise_if_any(r.final)


def test_sample_one_leaker_session():
    """leaker at --sample 1 through the session program: every function's exact leak,
    realloc(NULL) counted once, a grown block at its first site, a failed realloc keeps its block."""
    _check_leaker_exact(_sample_one_run("leaker"))


def test_sample_one_leaker_return_probes():
    """The same through entry and return probes (LEAKTRACE_NO_UPROBE_SESSION=1, the 6.1 way)."""
    if STATIC_SUITE:
        raise Skip("the same BPF programs as the dynamic suite's run")
    _check_leaker_exact(_sample_one_run("leaker", env={"LEAKTRACE_NO_UPROBE_SESSION": "1"}))
