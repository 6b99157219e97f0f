# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Errors: exit 1 for errors, 2 for usage errors, and exactly one stderr line
starting with "leaktrace: " (README, "Errors")."""
import os
import shutil
import subprocess

from harness import pure, LEAKTRACE, SCALE, Fail, Skip, Target, check_eq

TIMEOUT = 20 * SCALE


def run_lt(args, prefix=()):
    argv = [*prefix, LEAKTRACE, *[str(a) for a in args]]
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        raise Fail(f"{' '.join(argv)}: did not exit within {TIMEOUT:.0f} s")
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def check_error(args, rc_want, prefix=()):
    rc, out, err = run_lt(args, prefix)
    lines = [l for l in err.splitlines() if l.strip()]
    what = f"leaktrace {' '.join(str(a) for a in args)}"
    if rc != rc_want or len(lines) != 1 or not lines[0].startswith("leaktrace: "):
        raise Fail(f"{what}: expected exit {rc_want} and exactly one stderr line starting "
                   f"'leaktrace: ', got exit {rc} and {len(lines)} line(s):\n"
                   + "\n".join("    | " + l for l in lines[:10]))
    return lines[0]


def _free_pid():
    for pid in (999999, 999998, 4194000, 31999):
        if not os.path.exists(f"/proc/{pid}"):
            return pid
    raise Skip("no unused pid found")


def test_no_such_pid():
    check_error(["-p", _free_pid()], 1)


def test_no_such_pid_json():
    """The error stays one stderr line with --format json; stdout stays empty."""
    rc, out, err = run_lt(["-p", _free_pid(), "--format", "json"])
    check_eq(rc, 1, "exit status")
    check_eq(out.strip(), "", "stdout")


@pure
def test_no_target():
    check_error([], 2)


@pure
def test_no_target_with_options():
    check_error(["--format", "json", "-T", 5], 2)


def test_command_not_found():
    """-c of a missing program: one line, non-zero exit, no hang."""
    rc, out, err = run_lt(["-c", "/nonexistent/leaktrace-test-program --x"])
    lines = [l for l in err.splitlines() if l.strip()]
    if rc == 0 or len(lines) != 1 or not lines[0].startswith("leaktrace: "):
        raise Fail(f"expected non-zero exit and one 'leaktrace: ' line, got exit {rc}:\n"
                   + "\n".join("    | " + l for l in lines[:10]))


# Usage errors with an otherwise valid target (a waiting, non-leaking process).
BAD_ARGS = {
    "top_not_a_number": ["-T", "abc"],
    "once_negative": ["--once", "-1"],
    "once_not_a_number": ["--once", "soon"],
    "format_unknown": ["--format", "xml"],
    "unknown_option": ["--no-such-option"],
    "track_unknown": ["--track", "bogus"],
    "min_size_not_a_number": ["--min-size", "big"],
    "interval_not_a_number": ["often"],
    "both_pid_and_command": ["-c", "/bin/true"],
}


def _usage(args):
    def test():
        with Target("continuous") as t:
            check_error(["-p", t.pid, *args], 2)
            if not t.alive():
                raise Fail("the target died")
    return test


for _n, _a in BAD_ARGS.items():
    _t = _usage(_a)
    _t.__doc__ = f"leaktrace -p PID {' '.join(_a)} -> exit 2, one line"
    globals()[f"test_usage_{_n}"] = pure(_t)
del _n, _a, _t


@pure
def test_bad_pid_syntax():
    check_error(["-p", "abc"], 2)


def test_not_root():
    """As nobody (setpriv, no capabilities): exit 1, one line."""
    setpriv = shutil.which("setpriv")
    if not setpriv:
        raise Skip("setpriv (util-linux) not installed")
    prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    probe = subprocess.run([*prefix, "test", "-x", LEAKTRACE], capture_output=True)
    if probe.returncode != 0:
        raise Skip(f"{LEAKTRACE} is not executable by uid 65534")
    with Target("continuous") as t:
        check_error(["-p", t.pid], 1, prefix=prefix)


def test_kernel_thread():
    """-p 2 (kthreadd) is a kernel thread: one line that says so, not "no malloc"."""
    line = check_error(["-p", 2], 1)
    if "kernel thread" not in line or "no malloc" in line:
        raise Fail(f"expected a line naming a kernel thread, got: {line}")


@pure
def test_command_blank():
    """-c '   ': the command is empty (exit 2), not an exec error."""
    line = check_error(["-c", "   "], 2)
    if "empty" not in line:
        raise Fail(f"expected 'the command is empty', got: {line}")
