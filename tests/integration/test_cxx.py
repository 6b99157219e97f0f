# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""tests/targets/cxxleaker: operator new / new[] with demangled names.

make_widget() runs 3 times: new Widget (sizeof 120) and new int[100] (400 B)
leak from make_widget(); Widget::Widget() leaks new char[777].
A std::bad_alloc is thrown and caught while traced ("CAUGHT").
"""
from harness import (Errors, Fail, cached, check, check_eq, check_no_freed, check_site,
                     describe_sites, first_exe_frame, marker_line, mem_sites, sites_of,
                     source_of, trace_target)

N_WIDGETS = 3
SIZEOF_WIDGET = 120
INTS_BYTES = 100 * 4
WIDGET_BUF = 777

# demangled function -> (allocs, bytes)
CXX_EXPECT = {
    "make_widget()": (2 * N_WIDGETS, N_WIDGETS * (SIZEOF_WIDGET + INTS_BYTES)),
    "Widget::Widget()": (N_WIDGETS, N_WIDGETS * WIDGET_BUF),
}
# per allocating line in make_widget(): marker -> (allocs, bytes)
MAKE_WIDGET_LINES = {
    "make_widget_obj": (N_WIDGETS, N_WIDGETS * SIZEOF_WIDGET),
    "make_widget_arr": (N_WIDGETS, N_WIDGETS * INTS_BYTES),
}


def cxx_run(preload=None, targs=()):
    return cached(("cxxleaker", preload, targs),
                  lambda: trace_target("cxxleaker", targs=targs, preload=preload))


def check_cxx(r, expect_caught=True):
    src = source_of("cxxleaker")
    errs = Errors()
    if expect_caught:
        errs.run(check, r.target.saw("CAUGHT"),
                 "cxxleaker did not print CAUGHT: std::bad_alloc was not caught while traced")
    errs.run(check_site, r.final, r.exe, "make_widget()", *CXX_EXPECT["make_widget()"],
             pid=r.pid, show=False)
    errs.run(check_site, r.final, r.exe, "Widget::Widget()", *CXX_EXPECT["Widget::Widget()"],
             source=src, marker="Widget::Widget", pid=r.pid, show=False)
    errs.run(check_make_widget_lines, r, src)
    errs.run(check_no_freed, r.final)
    errs.run(check_no_huge, r)
    errs.raise_if_any(r.final)


def check_make_widget_lines(r, src):
    """new Widget and new int[100] are separate call sites with their own lines."""
    by_line = {}
    for s in sites_of(r.final, r.exe, "make_widget()", r.pid):
        fr = first_exe_frame(s, r.exe)
        check_eq(fr.get("file") and fr["file"].rsplit("/", 1)[-1], "cxxleaker.cc",
                 "make_widget(): file")
        a, b = by_line.get(fr.get("line"), (0, 0))
        by_line[fr.get("line")] = (a + s["allocs"], b + s["bytes"])
    want = {marker_line(src, m): v for m, v in MAKE_WIDGET_LINES.items()}
    if by_line != want:
        raise Fail(f"make_widget(): per line (allocs, bytes): expected {want}, got {by_line}")


def check_no_huge(r):
    """The failed new char[1 << 60] must not be recorded as an allocation."""
    big = [s for s in mem_sites(r.final) if s.get("bytes", 0) >= 1 << 40]
    if big:
        raise Fail(f"a failed allocation was recorded: {big[0].get('bytes')} B\n"
                   f"{describe_sites(r.final)}")


def test_cxx_caught_bad_alloc():
    r = cxx_run()
    check(r.target.saw("CAUGHT"),
          "cxxleaker did not print CAUGHT: std::bad_alloc was not caught while traced")


def test_cxx_make_widget():
    r = cxx_run()
    check_site(r.final, r.exe, "make_widget()", *CXX_EXPECT["make_widget()"], pid=r.pid)
    check_make_widget_lines(r, source_of("cxxleaker"))


def test_cxx_widget_ctor():
    r = cxx_run()
    check_site(r.final, r.exe, "Widget::Widget()", *CXX_EXPECT["Widget::Widget()"],
               source=source_of("cxxleaker"), marker="Widget::Widget", pid=r.pid)


def test_cxx_freed_not_reported():
    check_no_freed(cxx_run().final)


def test_cxx_failed_new_not_recorded():
    check_no_huge(cxx_run())
