# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""--help, the man page and the README list the same options (as bpftool's docs test does),
and `make demo` names the demo's leak."""
import os
import re
import subprocess

from harness import pure, LEAKTRACE, check, check_eq

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def help_options():
    out = subprocess.run([LEAKTRACE, "--help"], capture_output=True, text=True, timeout=10).stdout
    return set(re.findall(r"--([a-z][a-z-]+)", out)) - {"help", "usage", "version"}


@pure
def test_help_man_readme_in_step():
    opts = help_options()
    check(len(opts) >= 15, f"--help lists too few options: {sorted(opts)}")
    man = open(os.path.join(ROOT, "leaktrace.8")).read().replace("\\-", "-")
    readme = open(os.path.join(ROOT, "README.md")).read()
    missing_man = sorted(o for o in opts if f"--{o}" not in man)
    missing_readme = sorted(o for o in opts if f"--{o}" not in readme)
    check_eq(missing_man, [], "options in --help but not in leaktrace.8")
    check_eq(missing_readme, [], "options in --help but not in README.md")
    man_opts = set(re.findall(r"--([a-z][a-z-]+)", man)) - {"help", "usage", "version", "port"}
    check_eq(sorted(man_opts - opts), [], "options in leaktrace.8 that --help does not know")


def test_make_demo_names_the_leak():
    p = subprocess.run(["make", "-s", "demo"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    check_eq(p.returncode, 0, "make demo exit status\n" + p.stderr[-2000:])
    check(re.search(r"^MEMORY: \d+ bytes", p.stdout, re.M), "make demo printed a report:\n" + p.stdout[-2000:])
    first = re.search(r"^  #1 .*\n\s+(\S+)\+0x", p.stdout, re.M)
    check(first, "make demo's report has a top site:\n" + p.stdout[-2000:])
    check_eq(first.group(1), "load_dataset", "the top site of make demo")
