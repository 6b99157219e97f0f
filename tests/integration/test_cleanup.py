# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""No probe is left behind, even after SIGKILL of leaktrace.

libbpf's uprobes never show in uprobe_events, so the target's code is read
through /proc/PID/mem. With -v leaktrace prints every probe as

    leaktrace: probe <symbol> <module-path> +0x<function offset> ... addr=0x<address>

where addr is the probed address in the target; their number must be the
ready line's "N probes". While traced the byte at each addr must be 0xcc
(int3); after leaktrace is gone every executable file mapping must equal the
file's bytes again (read through /proc/PID/map_files, so that a probe
another tracer had left in the memory before the test cannot pass for an
original byte) and the target must still run (SIGUSR1 -> DONE).
"""
import os
import re
import signal
import time

from harness import (SCALE, Fail, Target, Tracer, check, check_leaker, leaker_expect,
                     maps_of, Run, source_of)

PROBE_RE = re.compile(r"^leaktrace: probe (\S+) (\S+) \+0x([0-9a-fA-F]+)\b.*?\baddr=0x([0-9a-fA-F]+)")
RESTORE_WAIT = 2.0 * SCALE


def snapshot_code(pid):
    """{(start, end): bytes} for every executable mapping of pid."""
    snap = {}
    fd = os.open(f"/proc/{pid}/mem", os.O_RDONLY)
    try:
        for lo, hi, perms, _off, path in maps_of(pid):
            if "x" not in perms or path == "[vsyscall]":
                continue
            try:
                snap[(lo, hi, path)] = os.pread(fd, hi - lo, lo)
            except OSError:
                pass
    finally:
        os.close(fd)
    return snap


def read_byte(pid, addr):
    fd = os.open(f"/proc/{pid}/mem", os.O_RDONLY)
    try:
        return os.pread(fd, 1, addr)[0]
    finally:
        os.close(fd)


def original_byte(snap, addr):
    for (lo, hi, path), data in snap.items():
        if lo <= addr < hi:
            return data[addr - lo], path
    return None, None


def file_bytes(pid, lo, hi, off):
    """The bytes of the file mapped at [lo, hi) (file offset off), through
    /proc/PID/map_files: what the code is without any probe, whatever another
    tracer on this machine did to the memory before the snapshot."""
    fd = os.open(f"/proc/{pid}/map_files/{lo:x}-{hi:x}", os.O_RDONLY)
    try:
        return os.pread(fd, hi - lo, off)
    finally:
        os.close(fd)


def file_byte(pid, addr):
    for lo, hi, perms, off, path in maps_of(pid):
        if lo <= addr < hi and path.startswith("/"):
            return file_bytes(pid, lo, hi, off)[addr - lo]
    return None


def probes_from(lt):
    """[(symbol, module, func_off, addr)] from leaktrace -v stderr."""
    probes = []
    for l in lt.err.lines:
        m = PROBE_RE.match(l)
        if m:
            probes.append((m.group(1), m.group(2), int(m.group(3), 16), int(m.group(4), 16)))
    return probes


def attached(t, snap, lt):
    """Check the probes while traced; returns them."""
    lt.wait_ready()
    time.sleep(0.3)     # let any -v lines printed after "ready" arrive
    probes = probes_from(lt)
    if not probes:
        raise Fail("leaktrace -v printed no 'leaktrace: probe <symbol> <module> +0x<off> ... "
                   f"addr=0x<addr>' lines\n{lt.diag()}")
    m = re.search(r", (\d+) probes$", lt.ready_line() or "")
    check(m and int(m.group(1)) == len(probes),
          f"{len(probes)} 'leaktrace: probe' lines, but the ready line says "
          f"{lt.ready_line()!r}: every attached probe must be listed (and checked)")
    syms = {p[0] for p in probes}
    check("malloc" in syms or any(s.startswith("malloc") for s in syms),
          f"no probe on malloc among {sorted(syms)}")
    mapped = {os.path.basename(m[4]) for m in maps_of(t.pid)}
    bad = []
    for sym, mod, off, addr in probes:
        orig, path = original_byte(snap, addr)
        if orig is None:
            bad.append(f"{sym} addr=0x{addr:x} is not in an executable mapping of the target")
            continue
        if os.path.basename(mod) not in mapped:
            bad.append(f"{sym}: module {mod} is not mapped in the target")
        cur = read_byte(t.pid, addr)
        if cur != 0xCC:
            bad.append(f"{sym} {os.path.basename(mod)}+0x{off:x} addr=0x{addr:x}: "
                       f"byte is 0x{cur:02x} (original 0x{orig:02x}), expected 0xcc while traced")
    if bad:
        raise Fail(f"{len(bad)} of {len(probes)} probes wrong:\n" + "\n".join(bad[:20]))
    return probes


def restored(t, snap, probes):
    """Wait until every probed address has its original byte again."""
    deadline = time.monotonic() + RESTORE_WAIT
    time.sleep(0.5)
    while True:
        left = []
        for sym, mod, off, addr in probes:
            orig = file_byte(t.pid, addr)
            cur = read_byte(t.pid, addr)
            if cur != orig:
                left.append(f"{sym} addr=0x{addr:x}: 0x{cur:02x}, original (in {mod}) "
                            + (f"0x{orig:02x}" if orig is not None else "unreadable"))
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if left:
        raise Fail(f"{len(left)} probe(s) still in the target {RESTORE_WAIT:.1f} s after "
                   f"leaktrace exited:\n" + "\n".join(left[:20]))
    # nothing else in the code differs from the files either (no int3 anywhere)
    now = snapshot_code(t.pid)
    for lo, hi, perms, off, path in maps_of(t.pid):
        if "x" not in perms or not path.startswith("/") or (lo, hi, path) not in now:
            continue
        data, mem = file_bytes(t.pid, lo, hi, off), now[(lo, hi, path)]
        n = min(len(data), len(mem))    # a mapping may run past the end of the file
        if data[:n] != mem[:n]:
            diff = next(i for i in range(n) if data[i] != mem[i])
            raise Fail(f"code of {path} at 0x{lo + diff:x} is 0x{mem[diff]:02x} in memory, "
                       f"0x{data[diff]:02x} in the file, after leaktrace exited")


def _cleanup(stop_sig):
    with Target("leaker") as t:
        snap = snapshot_code(t.pid)
        with Tracer(["-v", "-p", t.pid, "--format", "json", "-T", 0, 60]) as lt:
            probes = attached(t, snap, lt)
            if stop_sig == signal.SIGKILL:
                os.kill(lt.pid, signal.SIGKILL)
                lt.wait(timeout=10 * SCALE, expect_rc=-signal.SIGKILL)
            else:
                lt.stop(stop_sig)
        restored(t, snap, probes)
        check(t.alive(), "the target died")
        t.release()     # it still mallocs and frees, without traps
        time.sleep(0.2)
        check(t.alive(), f"the target died after release (status {t.proc.poll()})")


def test_no_probe_left_after_sigkill():
    _cleanup(signal.SIGKILL)


def test_no_probe_left_after_sigint():
    _cleanup(signal.SIGINT)


def test_reattach_after_sigkill():
    """A second leaktrace attaches to the same process and sees exact leaks."""
    with Target("leaker") as t:
        with Tracer(["-p", t.pid, "--format", "json", "-T", 0, 60]) as lt:
            lt.wait_ready()
            os.kill(lt.pid, signal.SIGKILL)
            lt.wait(timeout=10 * SCALE, expect_rc=-signal.SIGKILL)
        with Tracer(["-p", t.pid, "--format", "json", "-T", 0, 60]) as lt:
            lt.wait_ready()
            t.release()
            time.sleep(0.2 * SCALE)
            lt.stop(signal.SIGINT)
            run = Run(lt.final_report(), lt.reports(), t, lt)
            check_leaker(run, leaker_expect("leaker"), source_of("leaker"))
