# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Security: capabilities checked at start, and -o never follows a symlink or
writes a file that is not the user's.

Every refusal is exit 1 with exactly one stderr line starting "leaktrace: ",
before anything is attached, and leaves the files as they were.
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile

from harness import LEAKTRACE, Fail, Skip, Target, Tracer, check, check_eq, check_site
from test_errors import check_error

NOBODY = 65534


def _setpriv():
    p = shutil.which("setpriv")
    if not p:
        raise Skip("setpriv (util-linux) not installed")
    return p


# the start-up check's line: "leaktrace: root, but missing A, B (dropped ...): why"
# or "leaktrace: not root, and missing A, B: run as root, ... (why)"
CAPS_RE = re.compile(r"^leaktrace: (root, but|not root, and) missing (.+?)(?: \(dropped|: run as root)")


def _missing(line):
    """The capabilities the start-up line names as missing, in order."""
    m = CAPS_RE.match(line)
    if not m:
        raise Fail(f"not the start-up capability line: {line!r}")
    return m.group(2).split(", ")


def _cap_line(bounding):
    """leaktrace -p PID run as root with the capabilities BOUNDING dropped."""
    prefix = [_setpriv(), "--inh-caps=-all", f"--bounding-set={bounding}", "--"]
    with Target("continuous") as t:
        return check_error(["-p", t.pid], 1, prefix=prefix)


def test_caps_root_without_bpf():
    """Root without CAP_BPF (and CAP_SYS_ADMIN, which would grant it): exit 1,
    one line that names CAP_BPF, and only it."""
    check_eq(_missing(_cap_line("-bpf,-sys_admin")), ["CAP_BPF"], "missing capabilities")


def test_caps_root_without_ptrace():
    check_eq(_missing(_cap_line("-sys_ptrace")), ["CAP_SYS_PTRACE"], "missing capabilities")


def test_caps_root_without_map_files():
    """Neither CAP_SYS_ADMIN nor CAP_CHECKPOINT_RESTORE: /proc/PID/map_files is closed."""
    check_eq(_missing(_cap_line("-sys_admin,-checkpoint_restore")),
             ["CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE"], "missing capabilities")


def test_caps_sys_admin_grants_bpf():
    """Root without CAP_BPF but with CAP_SYS_ADMIN: the kernel's bpf_capable() and
    perfmon_capable() accept CAP_SYS_ADMIN, so leaktrace starts and traces."""
    prefix = [_setpriv(), "--inh-caps=-all", "--bounding-set=-bpf,-perfmon", "--"]
    with Target("leaker") as t, \
            Tracer(["-p", t.pid, "--format", "json", "-T", 0, 60], prefix=prefix) as lt:
        lt.wait_ready()
        t.release()
        lt.stop(signal.SIGINT)
        check_site(lt.final_report(), "leaker", "leak_malloc", 3, 3003, pid=t.pid)


def test_caps_nobody_names_all():
    """uid nobody with no capabilities: one line naming every missing one."""
    prefix = [_setpriv(), f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]
    probe = subprocess.run([*prefix, "test", "-x", LEAKTRACE], capture_output=True)
    if probe.returncode != 0:
        raise Skip(f"{LEAKTRACE} is not executable by uid {NOBODY}")
    with Target("continuous") as t:
        line = check_error(["-p", t.pid], 1, prefix=prefix)
    check(line.startswith("leaktrace: not root"), f"the line does not say 'not root': {line!r}")
    check_eq(_missing(line), ["CAP_BPF", "CAP_PERFMON", "CAP_SYS_PTRACE",
                              "CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE"], "missing capabilities")


# ---------------------------------------------------------------- -o

CONTENT = b"precious, not leaktrace's\n"


class _Dir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="lt-sec-")
        os.chmod(self.path, 0o755)
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)
        return False


def _state(path):
    st = os.lstat(path)
    with open(path, "rb") as f:
        return f.read(), st.st_uid, st.st_mode, st.st_mtime_ns, st.st_size


def _refused(args, path):
    with Target("continuous") as t:
        line = check_error(["-p", t.pid, "--once", 1, *args], 1)
    check("refusing to write" in line and path in line,
          f"expected 'refusing to write {path}', got {line!r}")
    return line


def _symlink_case(fmt_args, link_name):
    with _Dir() as d:
        real = os.path.join(d, "real")
        with open(real, "wb") as f:
            f.write(CONTENT)
        link = os.path.join(d, link_name)
        os.symlink(real, link)
        before = _state(real)
        _refused([*fmt_args, "-o", link], link)
        check_eq(_state(real), before, "the symlink's target (content, owner, mode, mtime)")
        check(os.path.islink(link), "the symlink itself was replaced")
        dangling = os.path.join(d, "dangling")
        os.symlink(os.path.join(d, "created-through-link"), dangling)
        _refused([*fmt_args, "-o", dangling], dangling)
        check(not os.path.exists(os.path.join(d, "created-through-link")),
              "a file was created through a dangling symlink")


def test_output_symlink_json():
    """-o at a symlink (JSON: opened with O_NOFOLLOW): exit 1, one line, target unchanged."""
    _symlink_case(["--format", "json"], "link.json")


def test_output_symlink_pprof():
    """-o at a symlink (pprof: replaced per report, checked with lstat at start)."""
    _symlink_case(["--format", "pprof", "--track", "mem"], "link.pb.gz")


def test_output_symlink_text_per_report():
    """-o with %n (text replaced per report): the expanded name is a symlink."""
    with _Dir() as d:
        real = os.path.join(d, "real")
        with open(real, "wb") as f:
            f.write(CONTENT)
        os.symlink(real, os.path.join(d, "r1.txt"))
        before = _state(real)
        _refused(["-o", os.path.join(d, "r%n.txt")], os.path.join(d, "r1.txt"))
        check_eq(_state(real), before, "the symlink's target")


def test_output_owned_by_nobody():
    """-o at a regular file owned by nobody (chown 65534): exit 1, one line, file unchanged."""
    with _Dir() as d:
        path = os.path.join(d, "theirs.json")
        with open(path, "wb") as f:
            f.write(CONTENT)
        os.chown(path, NOBODY, NOBODY)
        os.chmod(path, 0o666)   # writable by anyone: only the owner check refuses
        before = _state(path)
        _refused(["--format", "json", "-o", path], path)
        check_eq(_state(path), before, "the file (content, owner, mode, mtime)")
        check_eq(before[1], NOBODY, "owner")


def test_output_owned_by_nobody_pprof():
    with _Dir() as d:
        path = os.path.join(d, "theirs.pb.gz")
        with open(path, "wb") as f:
            f.write(CONTENT)
        os.chown(path, NOBODY, NOBODY)
        os.chmod(path, 0o666)
        before = _state(path)
        _refused(["--format", "pprof", "--track", "mem", "-o", path], path)
        check_eq(_state(path), before, "the file (content, owner, mode, mtime)")
