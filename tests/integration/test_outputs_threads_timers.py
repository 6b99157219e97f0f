# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The threads and timers pprof profiles (docs/outputs.md): `-o t.pb.gz` also writes
t.threads.pb.gz and t.timers.pb.gz, one per section that is on, read back with
`go tool pprof` (skipped without go). Folded output stays memory-only.

Counts are those of tests/targets/threads.c and timers.c (see test_threads.py and
test_timers.py).
"""
import os
import re
import shutil
import signal
import tempfile
import time

from harness import SCALE, SETTLE, Fail, Target, Tracer, check, check_eq
from test_outputs import _go, go_pprof, parse_folded

ROW = re.compile(r"^\s*(\d+)\s+[\d.]+%\s+[\d.]+%\s+(\d+)\s+[\d.]+%\s+(.+?)\s*$")


def pprof_counts(path, tmp, *args):
    """{function: flat} from `go tool pprof -top -nodefraction=0 ARGS PATH`, and the output."""
    argv = ["-top", "-nodefraction=0", *args, path]
    rc, out, err = go_pprof(argv, tmp)
    if rc != 0:
        raise Fail(f"go tool pprof {' '.join(argv)}: exit {rc}\n{err[-2000:]}")
    flat = {}
    for line in out.splitlines():
        m = ROW.match(line)
        if m:
            name = re.sub(r" \(inline\)$", "", m.group(3))
            flat[name] = flat.get(name, 0) + int(m.group(1))
    return flat, out


def pprof_raw(path, tmp):
    rc, raw, err = go_pprof(["-raw", path], tmp)
    if rc != 0:
        raise Fail(f"go tool pprof -raw {path}: exit {rc}\n{err[-2000:]}")
    return raw


def check_flat(path, tmp, want, *args):
    """Every function of WANT has exactly that flat value in -top ARGS."""
    flat, out = pprof_counts(path, tmp, *args)
    bad = [f"{func}: expected {n}, got {flat.get(func)}" for func, n in want.items()
           if flat.get(func) != n]
    if bad:
        raise Fail(f"go tool pprof -top {' '.join(args)}:\n" + "\n".join(bad) + "\n" + out[:3000])
    return flat


def traced_pprof(exe, track, tmp):
    """EXE traced with --track TRACK --format pprof -o TMP/t.pb.gz, released, stopped."""
    path = os.path.join(tmp, "t.pb.gz")
    with Target(exe) as t, \
            Tracer(["-p", t.pid, "--track", track, "--format", "pprof", "-o", path, 60]) as lt:
        lt.wait_ready()
        t.release(expect="DONE")
        time.sleep(SETTLE)
        lt.stop(signal.SIGINT)
        check_eq(lt.out.text().strip(), "", "stdout with --format pprof -o FILE")
    return path


def test_pprof_threads_profile():
    """--track threads: only t.threads.pb.gz; live per creating function, exited-unjoined,
    the default `threads` type (their sum) and the start_routine label."""
    _go()
    with tempfile.TemporaryDirectory() as tmp:
        traced_pprof("threads", "threads", tmp)
        files = sorted(f for f in os.listdir(tmp) if f != "gohome")
        check_eq(files, ["t.threads.pb.gz"], "files written with --track threads")
        path = os.path.join(tmp, "t.threads.pb.gz")

        raw = pprof_raw(path, tmp)
        for want in ("PeriodType: threads count", "Period: 1",
                     "threads/count[dflt] live/count exited_unjoined/count stack_reservation/bytes",
                     "start_routine:[run_forever]", "start_routine:[run_unjoined]",
                     "report 1 (final)"):
            check(want in raw, f"go tool pprof -raw lacks {want!r}:\n{raw[:2000]}")

        live = check_flat(path, tmp, {"spawn_forever": 7}, "-sample_index=live")
        check_eq(live.get("spawn_unjoined", 0), 0, "spawn_unjoined live")
        unj = check_flat(path, tmp, {"spawn_unjoined": 5}, "-sample_index=exited_unjoined")
        check_eq(unj.get("spawn_forever", 0), 0, "spawn_forever exited_unjoined")
        check_flat(path, tmp, {"spawn_forever": 7, "spawn_unjoined": 5})
        for func in ("spawn_joined", "spawn_detached", "spawn_attr_detached", "spawn_tryjoined"):
            check(func not in live and func not in unj, f"{func} in the threads profile")
        # the label selects by start routine
        check_flat(path, tmp, {"spawn_forever": 7}, "-tagfocus=start_routine=run_forever")
        flat, out = pprof_counts(path, tmp, "-tagfocus=start_routine=run_forever")
        check("spawn_unjoined" not in flat, f"-tagfocus start_routine=run_forever:\n{out}")


def test_pprof_timers_profile():
    """--track timers: only t.timers.pb.gz; open and periodic per creating function,
    the kind and interval_ns labels."""
    _go()
    with tempfile.TemporaryDirectory() as tmp:
        traced_pprof("timers", "timers", tmp)
        files = sorted(f for f in os.listdir(tmp) if f != "gohome")
        check_eq(files, ["t.timers.pb.gz"], "files written with --track timers")
        path = os.path.join(tmp, "t.timers.pb.gz")

        raw = pprof_raw(path, tmp)
        for want in ("PeriodType: timers count", "open/count[dflt] periodic/count",
                     "kind:[timerfd]", "kind:[posix]", "interval_ns:[1000000000"):
            check(want in raw, f"go tool pprof -raw lacks {want!r}:\n{raw[:2000]}")

        opened = {"leak_timerfd_periodic": 25, "leak_timerfd_oneshot": 4, "leak_posix_periodic": 7}
        check_flat(path, tmp, opened)
        check_flat(path, tmp, opened, "-sample_index=open")
        per = check_flat(path, tmp, {"leak_timerfd_periodic": 25, "leak_posix_periodic": 7},
                         "-sample_index=periodic")
        check_eq(per.get("leak_timerfd_oneshot", 0), 0, "leak_timerfd_oneshot periodic")
        posix, out = pprof_counts(path, tmp, "-tagfocus=kind=posix")
        check_eq({f: n for f, n in posix.items() if f.startswith("leak_")},
                 {"leak_posix_periodic": 7}, f"-tagfocus kind=posix:\n{out}")
        ticking, out = pprof_counts(path, tmp, "-tagfocus=interval_ns=1s")
        check("leak_timerfd_oneshot" not in ticking and ticking.get("leak_timerfd_periodic") == 25,
              f"-tagfocus interval_ns=1s:\n{out}")


def test_pprof_every_section_with_n():
    """All trackers, -o p.%n.pb.gz, 2 reports 1 s apart: the heap, threads, timers and fds
    profiles of each report, named p.N.pb.gz, p.N.threads.pb.gz, p.N.timers.pb.gz,
    p.N.fds.pb.gz; the folded file of the same run has memory lines only (the fds
    section's go to f.fds.folded)."""
    with tempfile.TemporaryDirectory() as tmp:
        d = os.path.join(tmp, "out")
        os.mkdir(d)
        outs = f"{os.path.join(d, 'p.%n.pb.gz')},{os.path.join(d, 'f.folded')}"
        with Target("threads") as t, \
                Tracer(["-p", t.pid, "-T", 0, "--format", "pprof,folded", "-o", outs, 1, 2]) as lt:
            lt.wait_ready()
            t.release(expect="DONE")
            lt.wait(timeout=(2 + 20) * SCALE)
        want = sorted(f"p.{n}{kind}.pb.gz" for n in (1, 2) for kind in ("", ".threads", ".timers", ".fds"))
        check_eq(sorted(os.listdir(d)), sorted(want + ["f.folded", "f.fds.folded"]), "files written")
        for frames, _ in parse_folded(open(os.path.join(d, "f.folded")).read()):
            check(not frames[0].startswith("["), f"a folded line that is not memory: {frames}")
        if not shutil.which("go"):
            return
        for kind in ("", ".threads", ".timers"):
            raw = pprof_raw(os.path.join(d, f"p.2{kind}.pb.gz"), tmp)
            check("report 2 (final)" in raw, f"p.2{kind}.pb.gz is not the last report:\n{raw[:300]}")
