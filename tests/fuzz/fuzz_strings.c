// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The small text parsers and builders with fixed-size buffers: the CapEff
 * check of /proc/self/status (util__missing_caps), the -o name template
 * (sink__expand with %n) and pprof's sibling file names (pprof__sibling).
 * The first byte picks one and the output buffer's size; whatever is
 * returned, the output stays NUL-terminated inside its buffer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pprof.h"
#include "sink.h"
#include "util.h"
#include "fuzz.h"

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	char *text, *out, *guard;
	size_t len;
	int r, n;

	if (size < 3)
		return 0;
	len = 1 + data[1] % 96;
	n = (int)(int8_t)data[2] * 1000003;
	text = malloc(size - 2);
	out = malloc(len + 1);
	if (!text || !out) {
		free(text);
		free(out);
		return 0;
	}
	memcpy(text, data + 3, size - 3);
	text[size - 3] = 0;	/* a C string: up to the first NUL */
	guard = out + len;
	*guard = 0x5a;
	memset(out, 'x', len);

	switch (data[0] % 3) {
	case 0:
		r = util__missing_caps(text, (int)(int8_t)data[2], out, len);
		FUZZ_CHECK(r == -EINVAL || (r >= 0 && r <= 4));
		FUZZ_CHECK(memchr(out, 0, len) != NULL);
		break;
	case 1:
		r = sink__expand(text, n, out, len);
		FUZZ_CHECK(r == 0 || r == -ENAMETOOLONG);
		if (r == 0) {
			FUZZ_CHECK(memchr(out, 0, len) != NULL);
			FUZZ_CHECK(strstr(out, "%n") == NULL);	/* every %n expanded */
		}
		(void)sink__has_n(text);
		break;
	default:
		r = pprof__sibling(text, data[2] & 1 ? "threads" : "timers", out, len);
		FUZZ_CHECK(r == 0 || r == -ENAMETOOLONG);
		if (r == 0)
			FUZZ_CHECK(memchr(out, 0, len) != NULL && strstr(out, ".pb.gz"));
		break;
	}
	FUZZ_CHECK(*guard == 0x5a);	/* no write past the buffer */
	free(text);
	free(out);
	return 0;
}
