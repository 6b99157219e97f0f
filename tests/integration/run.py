#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Run leaktrace's integration tests.

    python3 tests/integration/run.py [-v] [--pure] [FILTER...]

Discovers test_*.py next to this file and runs every function named test_*
(in file order), or only those whose "module.function" name contains one of
the FILTER substrings. Prints one line per test:

    PASS name
    FAIL name: reason          (details follow, indented)
    SKIP name: reason

and ends with the line "N passed, N failed, N skipped". Exit status 1 if any
test failed, else 0.

Everything is skipped (not passed) when not root, without
/sys/kernel/btf/vmlinux, or without the leaktrace binary ($LEAKTRACE, default
<repo>/leaktrace) -- but the pure tests (marked @pure: docs, --help, the man
page, command-line refusals), which need neither root nor BPF: they run
without root too. --pure runs only those (tests/run.sh runs them as an
unprivileged user). Each test has a time limit ($LEAKTRACE_TEST_TIMEOUT
seconds, default 90, times $LEAKTRACE_TIMEOUT_SCALE).
"""
import importlib
import os
import signal
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, str(HERE))

import harness  # noqa: E402
from harness import Fail, Skip, TestTimeout  # noqa: E402

TEST_TIMEOUT = float(os.environ.get("LEAKTRACE_TEST_TIMEOUT", "90")) * harness.SCALE


def discover():
    """[(name, function)] for every test_* function of every test_*.py."""
    tests = []
    for path in sorted(HERE.glob("test_*.py")):
        modname = path.stem
        try:
            mod = importlib.import_module(modname)
        except Exception as e:  # a broken test file is a failure, not a crash
            tests.append((f"{modname}.<import>", _broken(e)))
            continue
        for key, fn in list(vars(mod).items()):
            if key.startswith("test_") and callable(fn) \
                    and getattr(fn, "__module__", None) == modname:
                tests.append((f"{modname}.{key}", fn))
    return tests


def _broken(exc):
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()

    def fn():
        raise Fail(f"cannot import: {text}")
    return fn


def global_skip_reason(fn):
    lt = harness.LEAKTRACE
    if not (os.path.isfile(lt) and os.access(lt, os.X_OK)):
        return f"leaktrace binary not found at {lt} (build it, or set LEAKTRACE)"
    if getattr(fn, "pure", False):
        return None
    if os.geteuid() != 0:
        return "not root (integration tests need root for BPF)"
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        return "no /sys/kernel/btf/vmlinux (kernel BTF)"
    return None


def _on_alarm(signum, frame):
    raise TestTimeout(f"timed out after {TEST_TIMEOUT:.0f} s")


def _one_line(text):
    lines = str(text).strip().splitlines() or [""]
    return lines[0], lines[1:]


def run_one(name, fn, verbose):
    t0 = time.monotonic()
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, TEST_TIMEOUT)
    try:
        fn()
        status, reason = "PASS", None
    except Skip as e:
        status, reason = "SKIP", str(e) or "skipped"
    except Fail as e:
        status, reason = "FAIL", str(e) or "assertion failed"
    except TestTimeout as e:
        status, reason = "FAIL", str(e)
    except KeyboardInterrupt:
        raise
    except Exception as e:
        status = "FAIL"
        reason = f"{type(e).__name__}: {e}\n" + traceback.format_exc()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    dt = time.monotonic() - t0
    if reason is None:
        print(f"PASS {name}" + (f" ({dt:.1f} s)" if verbose else ""), flush=True)
    else:
        first, rest = _one_line(reason)
        print(f"{status} {name}: {first}", flush=True)
        if rest and (status == "FAIL" or verbose):
            print("\n".join("    " + l for l in rest), flush=True)
    return status


def main(argv):
    verbose = pure_only = False
    filters = []
    for a in argv:
        if a in ("-v", "--verbose"):
            verbose = True
        elif a == "--pure":
            pure_only = True
        elif a in ("-h", "--help"):
            print(__doc__.strip())
            return 0
        else:
            filters.append(a)

    tests = discover()
    if filters:
        tests = [(n, f) for n, f in tests if any(x in n for x in filters)]
    if pure_only:
        tests = [(n, f) for n, f in tests if getattr(f, "pure", False)]

    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    try:
        for name, fn in tests:
            skip = global_skip_reason(fn)
            if skip:
                print(f"SKIP {name}: {skip}", flush=True)
                counts["SKIP"] += 1
            else:
                counts[run_one(name, fn, verbose)] += 1
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        counts["FAIL"] += 1
    print(f"{counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped",
          flush=True)
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
