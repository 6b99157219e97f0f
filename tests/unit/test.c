/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <stdlib.h>
#include "test.h"

int test__failed_asserts;
static const char *skip_reason;

void test__skip(const char *why)
{
	skip_reason = why;
}

int test__main(int argc, char **argv, const struct test_case *tests, int n)
{
	int passed = 0, failed = 0, skipped = 0;
	const char *only = argc > 1 ? argv[1] : NULL;

	for (int i = 0; i < n; i++) {
		if (only && !strstr(tests[i].name, only))
			continue;
		test__failed_asserts = 0;
		skip_reason = NULL;
		tests[i].fn();
		if (test__failed_asserts) {
			printf("FAIL %s\n", tests[i].name);
			failed++;
		} else if (skip_reason) {
			printf("SKIP %s: %s\n", tests[i].name, skip_reason);
			skipped++;
		} else {
			printf("PASS %s\n", tests[i].name);
			passed++;
		}
		fflush(stdout);
	}
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}

char *test__run_cmd(const char *fmt, ...)
{
	char cmd[4096], *out = NULL;
	size_t len = 0, cap = 0;
	va_list ap;
	FILE *f;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	if (!f)
		return NULL;
	for (;;) {
		size_t n;

		if (cap - len < 4096) {
			char *nb = realloc(out, cap + 65536);

			if (!nb) {
				free(out);
				pclose(f);
				return NULL;
			}
			out = nb;
			cap += 65536;
		}
		n = fread(out + len, 1, cap - len - 1, f);
		if (!n)
			break;
		len += n;
	}
	out[len] = 0;
	st = pclose(f);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		free(out);
		return NULL;
	}
	return out;
}
