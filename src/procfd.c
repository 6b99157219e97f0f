// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* What an fd is, from /proc text (see procfd.h). Pure. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "procfd.h"

const char *fd_kind__name(int kind)
{
	static const char *const names[LT_FDK__MAX] = {
		[LT_FDK_UNKNOWN] = "other", [LT_FDK_FILE] = "file", [LT_FDK_TCP] = "tcp",
		[LT_FDK_UDP] = "udp", [LT_FDK_UNIX] = "unix", [LT_FDK_PIPE] = "pipe",
		[LT_FDK_EVENTFD] = "eventfd", [LT_FDK_EPOLL] = "epoll", [LT_FDK_OTHER] = "other",
	};

	return kind >= 0 && kind < LT_FDK__MAX ? names[kind] : "other";
}

static int push(struct net_tab *t, const struct net_sock *s)
{
	if (t->n == t->cap) {
		int nc = t->cap ? t->cap * 2 : 64;
		struct net_sock *n = realloc(t->s, nc * sizeof(*n));

		if (!n)
			return -ENOMEM;
		t->s = n;
		t->cap = nc;
	}
	t->s[t->n++] = *s;
	return 0;
}

/* "0100007F:1F90" (tcp, udp) or 32 hex digits and a port (tcp6, udp6): "127.0.0.1:8080", "[::1]:8080". */
static bool parse_addr(const char *hex, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	const char *colon = strchr(hex, ':');
	unsigned port;

	if (!colon || sscanf(colon + 1, "%x", &port) != 1)
		return false;
	if (colon - hex == 8) {
		struct in_addr a;
		unsigned long v;

		if (sscanf(hex, "%8lx", &v) != 1)
			return false;
		a.s_addr = (uint32_t)v;	/* the kernel prints the raw __be32 as a number */
		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		snprintf(out, len, "%s:%u", ip, port);
		return true;
	}
	if (colon - hex == 32) {
		struct in6_addr a;

		for (int i = 0; i < 4; i++) {
			char w[9];
			unsigned long v;

			memcpy(w, hex + 8 * i, 8);
			w[8] = 0;
			if (sscanf(w, "%lx", &v) != 1)
				return false;
			a.s6_addr32[i] = (uint32_t)v;
		}
		inet_ntop(AF_INET6, &a, ip, sizeof(ip));
		snprintf(out, len, "[%s]:%u", ip, port);
		return true;
	}
	return false;
}

/* One line of tcp, tcp6, udp or udp6: "sl local rem st ... uid timeout inode ...". */
static void parse_inet_line(struct net_tab *t, const char *line, int kind, int *err)
{
	char local[80], rem[80], l[64], r[64];
	unsigned st;
	unsigned long long ino;
	struct net_sock s = { .kind = kind };

	if (sscanf(line, " %*[0-9]: %79s %79s %x %*s %*s %*s %*s %*s %llu", local, rem, &st, &ino) != 4)
		return;
	if (!ino || !parse_addr(local, l, sizeof(l)) || !parse_addr(rem, r, sizeof(r)))
		return;
	s.ino = ino;
	if (kind == LT_FDK_TCP && st == 0x0a)	/* TCP_LISTEN */
		snprintf(s.desc, sizeof(s.desc), "%s (listening)", l);
	else if (strcmp(r, "0.0.0.0:0") == 0 || strcmp(r, "[::]:0") == 0)
		snprintf(s.desc, sizeof(s.desc), "%s", l);
	else
		snprintf(s.desc, sizeof(s.desc), "%s -> %s", l, r);
	if (push(t, &s))
		*err = -ENOMEM;
}

/* One line of unix: "Num RefCount Protocol Flags Type St Inode [Path]". */
static void parse_unix_line(struct net_tab *t, const char *line, int *err)
{
	struct net_sock s = { .kind = LT_FDK_UNIX };
	unsigned long long ino;
	int pos = 0;

	if (sscanf(line, "%*[0-9a-fA-F]: %*x %*x %*x %*x %*x %llu%n", &ino, &pos) != 1 || !ino)
		return;
	line += pos;
	line += strspn(line, " \t");
	s.ino = ino;
	if (*line && *line != '\n')
		snprintf(s.desc, sizeof(s.desc), "%.*s", (int)strcspn(line, "\n"), line);
	else
		snprintf(s.desc, sizeof(s.desc), "unix:[%llu] (unnamed)", ino);
	if (push(t, &s))
		*err = -ENOMEM;
}

int net_tab__parse(struct net_tab *t, const char *text, int kind)
{
	int err = 0;

	if (!text)
		return 0;
	/* the first line is the header */
	for (const char *line = strchr(text, '\n'); line && !err; line = strchr(line, '\n')) {
		line++;
		if (!*line)
			break;
		if (kind == LT_FDK_UNIX)
			parse_unix_line(t, line, &err);
		else
			parse_inet_line(t, line, kind, &err);
	}
	return err;
}

static int sock_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct net_sock *)a)->ino, y = ((const struct net_sock *)b)->ino;

	return x < y ? -1 : x > y;
}

void net_tab__sort(struct net_tab *t)
{
	if (t->n)
		qsort(t->s, t->n, sizeof(*t->s), sock_cmp);
}

const struct net_sock *net_tab__find(const struct net_tab *t, uint64_t ino)
{
	struct net_sock key = { .ino = ino };

	return t && t->n ? bsearch(&key, t->s, t->n, sizeof(*t->s), sock_cmp) : NULL;
}

void net_tab__free(struct net_tab *t)
{
	free(t->s);
	memset(t, 0, sizeof(*t));
}

uint64_t fdproc__socket_ino(const char *link)
{
	if (strncmp(link, "socket:[", 8) != 0)
		return 0;
	return strtoull(link + 8, NULL, 10);
}

int fdproc__classify(const char *link, const struct net_tab *nt, char *example, size_t len)
{
	static const struct { const char *link; int kind; } anon[] = {
		{ "anon_inode:[eventfd]", LT_FDK_EVENTFD },
		{ "anon_inode:[eventpoll]", LT_FDK_EPOLL },
		{ "anon_inode:[timerfd]", -1 },
	};
	uint64_t ino;

	snprintf(example, len, "%s", link);
	if (link[0] == '/')
		return LT_FDK_FILE;
	if (strncmp(link, "pipe:[", 6) == 0)
		return LT_FDK_PIPE;
	for (size_t i = 0; i < sizeof(anon) / sizeof(anon[0]); i++)
		if (strcmp(link, anon[i].link) == 0)
			return anon[i].kind;
	ino = fdproc__socket_ino(link);
	if (ino) {
		const struct net_sock *s = net_tab__find(nt, ino);

		if (!s)
			return LT_FDK_OTHER;	/* netlink, packet, raw, ... */
		snprintf(example, len, "%s", s->desc);
		return s->kind;
	}
	return LT_FDK_OTHER;
}

int64_t fdproc__nofile(const char *limits)
{
	const char *p = limits ? strstr(limits, "Max open files") : NULL;
	int64_t v;

	if (!p)
		return -1;
	p += strlen("Max open files");
	p += strspn(p, " \t");
	if (strncmp(p, "unlimited", 9) == 0)
		return INT64_MAX;
	if (*p < '0' || *p > '9')
		return -1;	/* not a count: no limit known */
	errno = 0;
	v = strtoll(p, NULL, 10);
	return errno ? -1 : v;
}
