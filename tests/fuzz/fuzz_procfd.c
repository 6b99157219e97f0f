// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The fd tracker's /proc parsers on arbitrary text. The first byte picks
 * the socket table's kind (tcp, udp or unix); the text up to the first NUL
 * is that table, the rest is fd link targets (one per line) to classify
 * against it, then /proc/PID/limits text. Whatever is accepted must be
 * sane: every socket has an inode, a kind and a terminated description,
 * every socket is found again by its inode, a classification names a known
 * kind (or -1 for a timerfd) with a terminated example, and the open-files
 * limit is -1 or not negative.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "procfd.h"
#include "fuzz.h"

static void procfd_check_tab(const struct net_tab *t, int kind)
{
	for (int i = 0; i < t->n; i++) {
		const struct net_sock *s = &t->s[i], *f;

		FUZZ_CHECK(s->ino != 0);
		FUZZ_CHECK(s->kind == kind);
		FUZZ_CHECK(memchr(s->desc, 0, sizeof(s->desc)) != NULL);
		f = net_tab__find(t, s->ino);
		FUZZ_CHECK(f != NULL && f->ino == s->ino);
		if (i)
			FUZZ_CHECK(t->s[i - 1].ino <= s->ino);
	}
}

static void procfd_check_links(const struct net_tab *t, char *links)
{
	char example[96];

	for (char *line = links, *nl; line; line = nl ? nl + 1 : NULL) {
		int kind;

		nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		memset(example, 'x', sizeof(example));
		kind = fdproc__classify(line, t, example, sizeof(example));
		FUZZ_CHECK(kind == -1 || (kind >= 0 && kind < LT_FDK__MAX));
		FUZZ_CHECK(memchr(example, 0, sizeof(example)) != NULL);
		FUZZ_CHECK(fd_kind__name(kind) != NULL);
		if (fdproc__socket_ino(line) == 0)
			FUZZ_CHECK(kind != LT_FDK_TCP && kind != LT_FDK_UDP && kind != LT_FDK_UNIX);
	}
}

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	static const int kinds[] = { LT_FDK_TCP, LT_FDK_UDP, LT_FDK_UNIX };
	struct net_tab t = { 0 };
	char *text, *rest;
	size_t tlen;
	int kind;

	if (size < 1)
		return 0;
	kind = kinds[data[0] % 3];
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	text[size] = 0;
	tlen = strlen(text);
	rest = text + tlen + (tlen < size - 1);

	if (net_tab__parse(&t, text, kind) == 0) {
		net_tab__sort(&t);
		procfd_check_tab(&t, kind);
	}
	{
		int64_t lim = fdproc__nofile(rest);

		FUZZ_CHECK(lim == -1 || lim >= 0);
	}
	procfd_check_links(&t, rest);	/* cuts REST into lines */
	net_tab__free(&t);
	free(text);
	return 0;
}
