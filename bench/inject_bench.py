#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""--inject's overhead (README, "--inject: sampling inside the target"), run by
bench/run.sh after the other benchmarks (BENCH_SKIP=inject leaves it out).

1. The benchmark's workload (bench/workload, malloc+free pairs six frames
   deep, 1 thread): ns per pair untraced, with -p --inject --sample 524288,
   and with --sample 524288 (BPF sampling: every call still traps). Each
   mode BENCH_RUNS processes, medians.
2. Debian's redis-server (jemalloc) under redis-benchmark -t set,get -P 16:
   requests per second untraced, with -p --inject --sample 524288, after
   that leaktrace was SIGKILLed (the sampler inert), and with --sample 524288
   without --inject. Rotations of untraced and --inject in one run, so that
   the ratio is measured within one run; --sample without --inject traps
   every call and gets a shorter load (its rate is what counts).

Results: bench/results/inject.json, bench/README-inject.md, and the block
between the <!-- bench:inject --> markers in README.md.
"""
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEAKTRACE = os.path.join(ROOT, "leaktrace")
WORKLOAD = os.path.join(ROOT, ".output", "bench", "workload")
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
PAIRS = int(os.environ.get("BENCH_PAIRS", "200000")) * 10
REDIS_N = int(os.environ.get("BENCH_REDIS_N", "2000000"))
RATE = 524288


def log(msg):
    print("inject bench: " + msg, file=sys.stderr, flush=True)


def tracer(pid, args):
    p = subprocess.Popen([LEAKTRACE, "-p", str(pid), "--track", "mem", *args, "3600"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        line = p.stderr.readline()
        if not line:
            break
        if line.startswith("leaktrace: ready"):
            return p
    p.kill()
    raise RuntimeError("leaktrace %s did not get ready" % " ".join(args))


def stop(p, sig=signal.SIGINT):
    if p.poll() is None:
        p.send_signal(sig)
    try:
        p.wait(60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


# ---------------------------------------------------------------- the workload

def workload_run(args):
    # --sample without --inject traps every call: a tenth of the pairs
    pairs = PAIRS // 10 if args and "--inject" not in args else PAIRS
    wl = subprocess.Popen([WORKLOAD, "-t", "1", "-n", str(pairs), "-r", "3"], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True)
    wl.stdout.readline()    # READY
    tr = tracer(wl.pid, args) if args is not None else None
    wl.stdin.write("x")
    wl.stdin.flush()
    ns = []
    for line in wl.stdout:
        m = re.match(r"rep \d+ ns_per_pair ([\d.]+)", line)
        if m:
            ns.append(float(m.group(1)))
        if len(ns) == 3:
            break
    if tr:
        stop(tr)
    wl.stdin.close()
    wl.kill()
    wl.wait()
    return statistics.median(ns)


def bench_workload():
    modes = [("untraced", None), ("--inject --sample %d" % RATE, ["--inject", "--sample", str(RATE)]),
             ("--sample %d" % RATE, ["--sample", str(RATE)])]
    res = {m: [] for m, _ in modes}
    for r in range(RUNS):
        for name, args in modes:
            res[name].append(workload_run(args))
            log("workload run %d %s: %.1f ns per pair" % (r + 1, name, res[name][-1]))
    return {m: statistics.median(v) for m, v in res.items()}


# ---------------------------------------------------------------- redis

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def redis_bench(port, n):
    p = subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set,get", "-P", "16", "-n", str(n),
                        "-r", "100000", "-q"], capture_output=True, text=True, timeout=1800)
    out = p.stdout.replace("\r", "\n")
    rps = {m.group(1): float(m.group(2))
           for m in re.finditer(r"^(SET|GET): ([\d.]+) requests per second", out, re.M)}
    errors = len(re.findall(r"(?i)error", out)) + (p.returncode != 0)
    return rps, errors


def bench_redis():
    if not (shutil.which("redis-server") and shutil.which("redis-benchmark")):
        log("redis-server or redis-benchmark not installed: no redis figures")
        return None
    d = tempfile.mkdtemp(prefix="lt-bench-redis-")
    port = free_port()
    rs = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--dir", d, "--daemonize", "no",
                           "--logfile", d + "/log"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True,
                              text=True).stdout.strip() == "PONG":
                break
            time.sleep(0.05)
        res = {"untraced": [], "inject": [], "killed": [], "bpf": []}
        errors = 0
        for r in range(RUNS):
            rps, e = redis_bench(port, REDIS_N)
            res["untraced"].append(rps)
            errors += e
            tr = tracer(rs.pid, ["--inject", "--sample", str(RATE)])
            rps, e = redis_bench(port, REDIS_N)
            res["inject"].append(rps)
            errors += e
            stop(tr)
            log("redis rotation %d: untraced %s, --inject %s" % (r + 1, res["untraced"][-1], res["inject"][-1]))
        # leaktrace SIGKILLed: the sampler goes inert once the heartbeat stops (3 s)
        tr = tracer(rs.pid, ["--inject", "--sample", str(RATE)])
        tr.kill()
        tr.wait()
        time.sleep(4)
        rps, e = redis_bench(port, REDIS_N)
        res["killed"].append(rps)
        errors += e
        rps, e = redis_bench(port, REDIS_N)
        res["untraced"].append(rps)
        errors += e
        log("redis after SIGKILL: %s" % res["killed"][-1])
        # --sample without --inject: every call traps; a shorter load
        tr = tracer(rs.pid, ["--sample", str(RATE)])
        rps, e = redis_bench(port, max(REDIS_N // 100, 10000))
        res["bpf"].append(rps)
        errors += e
        stop(tr)
        log("redis --sample without --inject: %s" % res["bpf"][-1])
        alive = rs.poll() is None
    finally:
        rs.kill()
        rs.wait()
        shutil.rmtree(d, ignore_errors=True)

    def med(mode, op):
        v = [x[op] for x in res[mode] if op in x]
        return statistics.median(v) if v else None
    out = {"n": REDIS_N, "errors": errors, "alive": alive, "rps": {}}
    for mode in res:
        out["rps"][mode] = {op: med(mode, op) for op in ("SET", "GET")}
    return out


# ---------------------------------------------------------------- README

def fmt_ratio(a, b):
    return "%.3f" % (a / b) if a and b else "n/a"


def render(wl, rd):
    lines = ["<!-- bench:inject (written by `make bench`, bench/inject_bench.py) -->", ""]
    lines.append("Measured %s on this machine (%d CPUs), one run; ratios are within that run."
                 % (time.strftime("%Y-%m-%d"), os.cpu_count()))
    lines.append("")
    lines.append("| bench/workload, 1 thread | ns per malloc+free pair | ÷ untraced |")
    lines.append("|---|---:|---:|")
    for m, v in wl.items():
        lines.append("| %s | %.1f | %s |" % (m, v, fmt_ratio(v, wl["untraced"])))
    if rd:
        u = rd["rps"]["untraced"]
        lines.append("")
        lines.append("| redis-server, redis-benchmark -t set,get -P 16 -n %d | SET req/s | GET req/s | "
                     "÷ untraced (SET, GET) |" % rd["n"])
        lines.append("|---|---:|---:|---:|")
        names = {"untraced": "untraced", "inject": "-p --inject --sample %d" % RATE,
                 "killed": "after that leaktrace was SIGKILLed (inert detours)",
                 "bpf": "--sample %d without --inject (every call traps)" % RATE}
        for mode in ("untraced", "inject", "killed", "bpf"):
            v = rd["rps"][mode]
            lines.append("| %s | %s | %s | %s, %s |" % (
                names[mode], "%.0f" % v["SET"] if v["SET"] else "n/a", "%.0f" % v["GET"] if v["GET"] else "n/a",
                fmt_ratio(v["SET"], u["SET"]), fmt_ratio(v["GET"], u["GET"])))
        lines.append("")
        lines.append("redis-benchmark errors: %d; redis-server alive at the end: %s." %
                     (rd["errors"], "yes" if rd["alive"] else "NO"))
    lines.append("")
    lines.append("<!-- /bench:inject -->")
    return "\n".join(lines)


def main():
    wl = bench_workload()
    rd = bench_redis()
    res = {"workload_ns_per_pair": wl, "redis": rd, "rate": RATE}
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "inject.json"), "w") as f:
        json.dump(res, f, indent=1)
    block = render(wl, rd)
    with open(os.path.join(ROOT, "bench", "README-inject.md"), "w") as f:
        f.write(block + "\n")
    readme = os.path.join(ROOT, "README.md")
    with open(readme) as f:
        text = f.read()
    new = re.sub(r"<!-- bench:inject .*?<!-- /bench:inject -->", lambda m: block, text, flags=re.S)
    if new != text:
        with open(readme, "w") as f:
            f.write(new)
    print(block)


if __name__ == "__main__":
    main()
