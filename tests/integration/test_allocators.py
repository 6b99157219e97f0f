# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The same exact leaks with other allocators, found without --allocator.

- leaker_nopvalloc (leaker.c with -DNO_PVALLOC) under LD_PRELOAD=libjemalloc.so.2:
  malloc & co. come from jemalloc, reallocarray from libc (it calls realloc);
- cxxleaker under jemalloc, whose operator new never calls malloc;
- leaker_nopvalloc and cxxleaker under LD_PRELOAD=libtcmalloc_minimal.so.4
  (gperftools), which also defines __libc_malloc and the like;
- leaker_static (leaker.c linked -static): the allocator is in the executable.
"""
from harness import (Fail, check, check_leaker, describe_sites, leaker_run, need_jemalloc, need_tcmalloc)
from test_cxx import check_cxx, cxx_run


def _uses(run, needle):
    return any(needle in m[4] for m in run.maps)


def _preloaded(run, lib):
    if not _uses(run, lib):
        raise Fail(f"{lib} is not mapped in the target: LD_PRELOAD did not take effect")
    return run


def test_jemalloc_leaker():
    check_leaker(_preloaded(leaker_run("leaker_nopvalloc", preload=need_jemalloc()), "libjemalloc"))


def test_jemalloc_cxx():
    """jemalloc's operator new calls no tracked function, so leaktrace puts a
    return probe on it; a std::bad_alloc thrown through that probe cannot be
    caught (README, Limits), so this run does not throw one."""
    r = _preloaded(cxx_run(preload=need_jemalloc(), targs=("--no-throw",)), "libjemalloc")
    check_cxx(r, expect_caught=False)
    check(any("return probe on operator new" in l for l in r.tracer.stderr_lines()),
          "leaktrace did not warn about the return probe on jemalloc's operator new:\n" + r.tracer.diag())


def test_tcmalloc_leaker():
    check_leaker(_preloaded(leaker_run("leaker_nopvalloc", preload=need_tcmalloc()), "libtcmalloc"))


def test_tcmalloc_cxx():
    """tcmalloc's operator new, like jemalloc's, calls no tracked function."""
    check_cxx(_preloaded(cxx_run(preload=need_tcmalloc(), targs=("--no-throw",)), "libtcmalloc"),
              expect_caught=False)


def test_static_leaker():
    r = leaker_run("leaker_static")
    if _uses(r, "libc.so"):
        raise Fail("leaker_static maps libc.so: it is not a static binary")
    check_leaker(r)


def test_glibc_cxx_all():
    """cxxleaker under glibc, every check at once (the baseline for test_jemalloc_cxx)."""
    check_cxx(cxx_run())


def test_static_modules():
    """In a static binary every frame of a leaker site is in the executable itself."""
    r = leaker_run("leaker_static")
    from harness import sites_of
    import os
    for s in sites_of(r.final, r.exe, "leak_malloc", r.pid):
        mods = {os.path.basename(f.get("module") or "") for f in s["stack"]}
        if mods != {"leaker_static"}:
            raise Fail(f"leak_malloc site in leaker_static has frames in {sorted(mods)}\n"
                       f"{describe_sites(r.final)}")
