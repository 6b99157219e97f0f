#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Go figures of `make bench` (README, "Go programs"), driven by bench/run.sh:

- the time of one goroutine snapshot of 100,000 parked goroutines
  (tests/targets/go/goparked), as the report says it (goroutines.read_ms);
- the time of one read of a Go heap profile of 30,000 buckets
  (tests/targets/go/goheap -stacks 30000), as the report says it
  (go_heap.read_ms: the walk, every record read twice, the checks);
- the cost of --go-ancestry per goroutine creation: tests/targets/go/gospawn
  starts 200,000 goroutines and says the ns per goroutine, untraced, traced
  without and with --go-ancestry (two entry probes on every creation).

Runs are interleaved (untraced, traced, ancestry, ...) and the medians are
compared within this one run. Writes bench/results/go.json and
bench/README-go.md.
"""
import json
import os
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
LT = os.environ.get("LEAKTRACE", os.path.join(REPO, "leaktrace"))
GO_BIN = os.path.join(REPO, "tests", "targets", "go", "bin")
RUNS = int(os.environ.get("BENCH_GO_RUNS", "3"))


def start(argv):
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    line = p.stdout.readline()
    if not line.startswith("READY"):
        raise SystemExit(f"go_bench: {argv[0]} did not start: {line!r}")
    return p


def tracer(args):
    p = subprocess.Popen([LT, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    while True:
        line = p.stderr.readline()
        if not line:
            raise SystemExit(f"go_bench: leaktrace {' '.join(args)} did not start")
        if line.startswith("leaktrace: ready"):
            return p


def snapshot_ms():
    park = start([os.path.join(GO_BIN, "goparked"), "-n", "100000"])
    try:
        lt = tracer(["-p", str(park.pid), "--track", "goroutines", "--format", "json", "-T", "1",
                     "--once", "2"])
        out, _ = lt.communicate(timeout=60)
        rep = json.loads(out.strip().splitlines()[-1])
        g = rep["goroutines"]
        return g["read_ms"], g["total"]
    finally:
        park.kill()
        park.wait()


def goheap_ms():
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        gh = start([os.path.join(GO_BIN, "goheap"), "-rate", "1", "-stacks", "30000",
                    "-out", os.path.join(tmp, "own")])
        try:
            os.kill(gh.pid, signal.SIGUSR1)
            while gh.stdout.readline().strip() != "DONE":
                pass
            lt = tracer(["-p", str(gh.pid), "--track", "goheap", "--format", "json", "-T", "1",
                         "--once", "2"])
            out, _ = lt.communicate(timeout=60)
            rep = json.loads(out.strip().splitlines()[-1])
            return rep["go_heap"]["read_ms"], rep["go_heap"]["sites_total"]
        finally:
            gh.kill()
            gh.wait()


def spawn_ns(extra):
    sp = start([os.path.join(GO_BIN, "gospawn"), "-n", "200000"])
    lt = None
    try:
        if extra is not None:
            lt = tracer(["-p", str(sp.pid), "--track", "goroutines", *extra, "--once", "60"])
        os.kill(sp.pid, signal.SIGUSR1)
        line = sp.stdout.readline()
        sp.wait(60)
        return float(line.split()[1])
    finally:
        if lt:
            lt.send_signal(signal.SIGINT)
            lt.communicate(timeout=30)
        if sp.poll() is None:
            sp.kill()
            sp.wait()


def main():
    if not os.path.exists(os.path.join(GO_BIN, "goparked")):
        print("go_bench: the Go targets are not built (make targets, needs golang-go); skipped")
        return 0
    snaps, heaps, modes = [], [], {"untraced": [], "traced": [], "ancestry": []}
    for _ in range(RUNS):
        snaps.append(snapshot_ms())
        heaps.append(goheap_ms())
        modes["untraced"].append(spawn_ns(None))
        modes["traced"].append(spawn_ns([]))
        modes["ancestry"].append(spawn_ns(["--go-ancestry"]))
    med = {k: statistics.median(v) for k, v in modes.items()}
    snap = statistics.median(s[0] for s in snaps)
    heap = statistics.median(h[0] for h in heaps)
    res = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "snapshot_100k_ms": snap,
           "snapshot_runs_ms": [s[0] for s in snaps], "goroutines": snaps[0][1],
           "goheap_read_ms": heap, "goheap_runs_ms": [h[0] for h in heaps], "goheap_buckets": heaps[0][1],
           "spawn_ns": modes, "spawn_ns_median": med,
           "ancestry_added_ns": med["ancestry"] - med["untraced"]}
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "go.json"), "w") as f:
        json.dump(res, f, indent=1)
    text = (f"Go figures, {res['time']} ({RUNS} runs each, medians):\n\n"
            f"| what | figure |\n|---|---|\n"
            f"| one snapshot of {snaps[0][1]:,} goroutines (goroutines.read_ms) | {snap:.1f} ms |\n"
            f"| one read of a Go heap profile of {heaps[0][1]:,} buckets (go_heap.read_ms) | {heap:.1f} ms |\n"
            f"| a goroutine creation, untraced | {med['untraced']:.0f} ns |\n"
            f"| traced (`--track goroutines`, no probe) | {med['traced']:.0f} ns |\n"
            f"| traced with `--go-ancestry` (two entry probes) | {med['ancestry']:.0f} ns |\n"
            f"| added by `--go-ancestry` per new goroutine | {res['ancestry_added_ns']:.0f} ns |\n")
    with open(os.path.join(HERE, "README-go.md"), "w") as f:
        f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
