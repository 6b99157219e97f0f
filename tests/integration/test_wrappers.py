# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""-c through wrappers: services are started by scripts (#!/bin/sh ... exec
./server) and shims (#!/usr/bin/env bash, as pyenv's). leaktrace follows the
#! interpreter to the ELF file the kernel runs, and every later exec to the
real program gets that program's probes before it runs: exiter leaks
N x 4321 B at once, so an exact N proves the probes were in from its first
allocation.
"""
import os
import shutil
import stat
import tempfile

from harness import REPO, SCALE, Skip, Tracer, check, check_eq, check_site, source_of, target_path

EXIT_BLOCK = 4321
JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"


def _script(dirname, name, text):
    path = os.path.join(dirname, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    return path


def _run(cmd, n, env=None):
    """Trace CMD with -c; exiter's N leaks must be exact, at the pid the command started."""
    with Tracer(["-c", cmd, "--format", "json", "-T", 0], cwd=str(REPO), env=env,
                child_marker="exiter") as lt:
        lt.wait(timeout=20 * SCALE)
        final = lt.final_report()
        pids = [x.get("pid") for x in final.get("targets") or []]
        check(len(pids) == 1 and isinstance(pids[0], int), f"one target, got {pids}")
        check_site(final, "exiter", "leak_before_exit", n, n * EXIT_BLOCK,
                   source=source_of("exiter"), pid=pids[0])
        return lt


def test_shell_wrapper_execs_program():
    """#!/bin/sh, then exec the program: its leaks are exact, from its first allocation."""
    exiter = target_path("exiter")
    with tempfile.TemporaryDirectory() as d:
        wrap = _script(d, "wrap.sh", f"#!/bin/sh\nexec {exiter} --no-wait 7\n")
        _run(wrap, 7)


def test_env_shebang_shim():
    """#!/usr/bin/env bash (a pyenv-style shim) on PATH, found by name."""
    if not shutil.which("bash"):
        raise Skip("bash is missing")
    exiter = target_path("exiter")
    with tempfile.TemporaryDirectory() as d:
        _script(d, "shimmed", f'#!/usr/bin/env bash\nexec {exiter} --no-wait "$@"\n')
        env = {"PATH": f"{d}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
        _run("shimmed 5", 5, env=env)


def test_nested_wrappers():
    """A script that runs a script that execs the program."""
    exiter = target_path("exiter")
    with tempfile.TemporaryDirectory() as d:
        inner = _script(d, "inner.sh", f"#!/bin/sh\nexec {exiter} --no-wait 3\n")
        outer = _script(d, "outer.sh", f"#!/bin/sh\nexec {inner}\n")
        _run(outer, 3)


def test_wrapper_sets_another_allocator():
    """The wrapper puts jemalloc in LD_PRELOAD before the exec: the program's
    malloc is jemalloc's, planned from the program's own environment at its
    exec stop, and still exact from its first allocation."""
    if not os.path.exists(JEMALLOC):
        raise Skip(f"{JEMALLOC} is missing (libjemalloc2)")
    exiter = target_path("exiter")
    with tempfile.TemporaryDirectory() as d:
        wrap = _script(d, "wrap.sh", f"#!/bin/sh\nLD_PRELOAD={JEMALLOC} exec {exiter} --no-wait 4\n")
        _run(wrap, 4)


def test_script_errors():
    """A script whose interpreter is missing, and a file that is neither ELF
    nor script: one line each, exit 1, nothing run."""
    with tempfile.TemporaryDirectory() as d:
        bad = _script(d, "bad.sh", "#!/no/such/interpreter\necho hi\n")
        junk = _script(d, "junk", "just text\n")
        for path, want in ((bad, "its interpreter /no/such/interpreter"),
                           (junk, "neither an ELF executable nor a #! script")):
            with Tracer(["-c", path]) as lt:
                lt.wait(timeout=10 * SCALE, expect_rc=1)
                errs = lt.stderr_lines()
                check_eq(len(errs), 1, f"{path}: one line on stderr: {errs}")
                check(want in errs[0] and errs[0].startswith("leaktrace: cannot run"),
                      f"{path}: expected '{want}', got {errs}")
