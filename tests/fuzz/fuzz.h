/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Shared by the libFuzzer harnesses in tests/fuzz/ (`make fuzz`) and by
 * tests/unit/test_fuzz_regress.c, which includes the harness sources with
 * FUZZ_ENTRY and FUZZ_FAIL defined to replay tests/fuzz/corpus/ without
 * libFuzzer.
 */
#ifndef LT_FUZZ_H
#define LT_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

/* The harness's entry point; libFuzzer's name by default. */
#ifndef FUZZ_ENTRY
#define FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

/* A broken invariant: a crash for libFuzzer (it saves the input). */
#ifndef FUZZ_FAIL
#define FUZZ_FAIL(what) do {							\
	fprintf(stderr, "fuzz check failed: %s (%s:%d)\n", what, __FILE__, __LINE__); \
	abort();								\
} while (0)
#endif

#define FUZZ_CHECK(cond) do { if (!(cond)) FUZZ_FAIL(#cond); } while (0)

#endif /* LT_FUZZ_H */
