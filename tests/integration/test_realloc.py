# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""realloc semantics, on the shared leaker run (see test_leaker.py).

- a block grown three times and kept is reported once, at its final size;
- a failed realloc(p, SIZE_MAX/2) leaves the original block where it was;
- realloc(NULL, n) and reallocarray(NULL, ...) are counted once each, although
  glibc implements them through realloc and malloc.
"""
from harness import (EXPECT_REALLOC_SITE, GROW_FINAL_BYTES, LEAKER_EXPECT, check_absent,
                     check_grow, check_grow_site, check_site, leaker_run, source_of)


def _site(func):
    marker, allocs, nbytes = LEAKER_EXPECT[func]
    r = leaker_run()
    check_site(r.final, r.exe, func, allocs, nbytes, source=source_of("leaker"),
               marker=marker, pid=r.pid)


def test_realloc_grow_reported_once_at_final_size():
    """malloc(1111) then realloc to 2222, 3333, 4447: one block of 4447 B."""
    check_grow(leaker_run())


def _grow_site():
    check_grow_site(leaker_run())


# The name says where the grown block is expected; EXPECT_REALLOC_SITE in
# harness.py is the one place that decides it.
_grow_site.__doc__ = (f"The grown block ({GROW_FINAL_BYTES} B) is attributed to "
                      f"{EXPECT_REALLOC_SITE}, at its LEAK marker line.")
globals()[f"test_realloc_grow_site_is_{EXPECT_REALLOC_SITE}"] = _grow_site


def test_realloc_fail_keeps_original():
    """malloc(1234) in leak_realloc_fail_orig, then a failing realloc: still 1 x 1234 there."""
    _site("leak_realloc_fail_orig")
    r = leaker_run()
    check_absent(r.final, r.exe, "realloc_fail_try", r.pid)


def test_realloc_null_counted_once():
    """realloc(NULL, 1237) x 2: 2 allocs, 2474 B (not 4: the nested malloc is not counted)."""
    _site("leak_realloc_null")


def test_reallocarray_counted_once():
    """reallocarray(NULL, 7, 191) x 2: 2 allocs, 2674 B."""
    _site("leak_reallocarray")
