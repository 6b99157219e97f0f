/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Helpers shared by test_gobin.c and test_goproc.c: where the Go test
 * targets are (tests/targets/go/bin, built by `make targets`; LT_GO_BIN
 * overrides), their "// LINE:name" markers, and the esbuild package
 * (`npm pack @esbuild/linux-x64`, cached under .output/esbuild/).
 */
#ifndef LT_GOTEST_H
#define LT_GOTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

static inline const char *gotest__bindir(void)
{
	const char *e = getenv("LT_GO_BIN");

	return e ? e : "tests/targets/go/bin";
}

/* Path of a built Go target, or NULL (and a skip reason) when it is not built. */
static inline const char *gotest__bin(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", gotest__bindir(), name);
	if (access(buf, X_OK)) {
		test__skip("Go test targets not built (make targets needs golang-go)");
		return NULL;
	}
	return buf;
}

/* Line of "// LINE:NAME" in tests/targets/go/PROG/main.go, or 0. */
static inline int gotest__line(const char *prog, const char *name)
{
	char path[512], line[1024], tag[128];
	int n = 0, found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/../%s/main.go", gotest__bindir(), prog);
	snprintf(tag, sizeof(tag), "// LINE:%s", name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *p;

		n++;
		p = strstr(line, tag);
		if (p && (p[strlen(tag)] == '\n' || p[strlen(tag)] == ' ' || !p[strlen(tag)])) {
			found = n;
			break;
		}
	}
	fclose(f);
	return found;
}

/* esbuild's binary (npm pack, cached in .output/esbuild), or NULL with a skip reason. */
static inline const char *gotest__esbuild(char *buf, size_t len)
{
	const char *out = getenv("OUTPUT") ? getenv("OUTPUT") : ".output";
	char *r;

	snprintf(buf, len, "%s/esbuild/package/bin/esbuild", out);
	if (!access(buf, X_OK))
		return buf;
	r = test__run_cmd("mkdir -p '%s/esbuild' && cd '%s/esbuild' && "
			  "timeout 120 npm pack --silent @esbuild/linux-x64@0.28.2 2>/dev/null | tail -n 1 | "
			  "xargs -r tar xzf && ls package/bin/esbuild", out, out);
	free(r);
	if (access(buf, X_OK)) {
		test__skip("npm pack @esbuild/linux-x64 failed (no npm registry?)");
		return NULL;
	}
	return buf;
}

static inline bool gotest__ends_with(const char *s, const char *suffix)
{
	size_t a = s ? strlen(s) : 0, b = strlen(suffix);

	return s && a >= b && !strcmp(s + a - b, suffix);
}

#endif /* LT_GOTEST_H */
