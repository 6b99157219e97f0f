/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Minimal test harness in the style of selftests/bpf's ASSERT_*: every
 * assertion returns bool so a test can stop early, and every failure prints
 * expected and actual values. Each unit test binary ends with
 * "N passed, N failed, N skipped" for tests/run.sh to add up.
 */
#ifndef LT_TEST_H
#define LT_TEST_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

extern int test__failed_asserts;

#define TEST_FAIL_(fmt, ...) do {						\
	test__failed_asserts++;							\
	fprintf(stderr, "    %s:%d: " fmt "\n", __FILE__, __LINE__, ##__VA_ARGS__); \
} while (0)

#define ASSERT_TRUE(cond, name) ({						\
	bool ___ok = !!(cond);							\
	if (!___ok) TEST_FAIL_("%s: expected true: %s", name, #cond);		\
	___ok; })

#define ASSERT_FALSE(cond, name) ({						\
	bool ___ok = !(cond);							\
	if (!___ok) TEST_FAIL_("%s: expected false: %s", name, #cond);		\
	___ok; })

#define ASSERT_EQ(actual, expected, name) ({					\
	long long ___a = (long long)(actual), ___e = (long long)(expected);	\
	bool ___ok = ___a == ___e;						\
	if (!___ok) TEST_FAIL_("%s: expected %lld (0x%llx), got %lld (0x%llx)", \
			       name, ___e, ___e, ___a, ___a);			\
	___ok; })

#define ASSERT_NEQ(actual, unexpected, name) ({					\
	long long ___a = (long long)(actual), ___e = (long long)(unexpected);	\
	bool ___ok = ___a != ___e;						\
	if (!___ok) TEST_FAIL_("%s: expected anything but %lld, got it", name, ___e); \
	___ok; })

#define ASSERT_GE(actual, bound, name) ({					\
	long long ___a = (long long)(actual), ___b = (long long)(bound);	\
	bool ___ok = ___a >= ___b;						\
	if (!___ok) TEST_FAIL_("%s: expected >= %lld, got %lld", name, ___b, ___a); \
	___ok; })

#define ASSERT_STREQ(actual, expected, name) ({					\
	const char *___a = (actual), *___e = (expected);			\
	bool ___ok = ___a && ___e && strcmp(___a, ___e) == 0;			\
	if (!___ok) TEST_FAIL_("%s: expected \"%s\", got \"%s\"", name,		\
			       ___e ? ___e : "(null)", ___a ? ___a : "(null)");	\
	___ok; })

#define ASSERT_OK_PTR(ptr, name) ({						\
	const void *___p = (ptr);						\
	bool ___ok = ___p != NULL;						\
	if (!___ok) TEST_FAIL_("%s: unexpected NULL (errno %s)", name, strerror(errno)); \
	___ok; })

/* A test function returns nothing; it is skipped by calling test__skip(). */
struct test_case {
	const char *name;
	void (*fn)(void);
};

void test__skip(const char *why);

/*
 * Run a shell command (printf-style); returns its stdout (malloc'ed,
 * NUL-terminated), or NULL if it could not run or exited non-zero.
 */
char *test__run_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs the table, prints one line per test and the closing line. Returns the exit status. */
int test__main(int argc, char **argv, const struct test_case *tests, int n);

#define TEST_CASE(fn) { #fn, fn }

#endif /* LT_TEST_H */
