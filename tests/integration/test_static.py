# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The static build (./leaktrace-static, `make leaktrace-static`) on a small subset.

The whole suite runs against any binary with LEAKTRACE=...; this file only
makes sure that `make check` exercises the static one too: it is really
static (no PT_INTERP, so `ldd` says "not a dynamic executable") and traces
leaker exactly. Skipped when the binary is not built.

Environment: LEAKTRACE_STATIC (default <repo>/leaktrace-static).
"""
import os
import struct

import harness
from harness import REPO, Skip, check, check_leaker, leaker_expect, source_of, trace_target

STATIC = os.environ.get("LEAKTRACE_STATIC", str(REPO / "leaktrace-static"))
PT_INTERP, PT_DYNAMIC = 3, 2


def _need_static():
    if not (os.path.isfile(STATIC) and os.access(STATIC, os.X_OK)):
        raise Skip(f"{STATIC} not built (make leaktrace-static)")
    return STATIC


def _phdr_types(path):
    with open(path, "rb") as f:
        ehdr = f.read(64)
        check(ehdr[:4] == b"\x7fELF" and ehdr[4] == 2, f"{path} is not a 64-bit ELF file")
        phoff, = struct.unpack_from("<Q", ehdr, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", ehdr, 0x36)
        types = []
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            types.append(struct.unpack("<I", f.read(4))[0])
    return types


def test_static_binary_is_static():
    """No program interpreter and no dynamic section: nothing to load at run time."""
    types = _phdr_types(_need_static())
    check(PT_INTERP not in types, f"{STATIC} has a PT_INTERP (dynamically linked)")
    check(PT_DYNAMIC not in types, f"{STATIC} has a PT_DYNAMIC segment")


def test_static_leaker_exact():
    """leaker traced by the static binary: every site exact, nothing freed reported."""
    path = _need_static()
    saved = harness.LEAKTRACE
    harness.LEAKTRACE = path        # Tracer reads it at start
    try:
        run = trace_target("leaker")
    finally:
        harness.LEAKTRACE = saved
    check_leaker(run, leaker_expect("leaker"), source_of("leaker"))
