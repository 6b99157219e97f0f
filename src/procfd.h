/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What an fd is, from /proc text (pure: parses text, fuzzable, no I/O):
 * the link /proc/PID/fd/N reads as, the sockets of /proc/PID/net/{tcp,
 * tcp6,udp,udp6,unix} by inode, and RLIMIT_NOFILE from /proc/PID/limits.
 */
#ifndef LT_PROCFD_H
#define LT_PROCFD_H

#include <stddef.h>
#include <stdint.h>
#include "leaktrace.h"	/* enum lt_fd_kind */

/* The JSON name of KIND ("file", "tcp", ...; "other" for LT_FDK_UNKNOWN). */
const char *fd_kind__name(int kind);

/* A socket of the process's network namespace. */
struct net_sock {
	uint64_t ino;
	int kind;		/* LT_FDK_TCP, LT_FDK_UDP or LT_FDK_UNIX */
	char desc[160];		/* "127.0.0.1:80 -> 10.0.0.2:5555", "0.0.0.0:80 (listening)", "/run/x.sock" */
};

struct net_tab {
	struct net_sock *s;	/* sorted by ino once net_tab__sort() ran */
	int n, cap;
};

/*
 * Add the sockets of one /proc/PID/net table. KIND: LT_FDK_TCP or
 * LT_FDK_UDP for tcp, tcp6, udp and udp6 (the address family is seen in
 * the text), LT_FDK_UNIX for unix. Lines that do not parse are skipped.
 * 0 or -ENOMEM.
 */
int net_tab__parse(struct net_tab *t, const char *text, int kind);
void net_tab__sort(struct net_tab *t);
/* The socket with inode INO, or NULL (sorted table). */
const struct net_sock *net_tab__find(const struct net_tab *t, uint64_t ino);
void net_tab__free(struct net_tab *t);

/*
 * Classify the target of /proc/PID/fd/N (LINK): its kind, and the path or
 * addresses to show in EXAMPLE. NT may be NULL (a socket is then "other").
 * Returns an enum lt_fd_kind, or -1 for a timerfd (the timer tracker's).
 */
int fdproc__classify(const char *link, const struct net_tab *nt, char *example, size_t len);
/* The inode of a "socket:[N]" link; 0 if LINK is no socket. */
uint64_t fdproc__socket_ino(const char *link);

/* The soft "Max open files" of /proc/PID/limits text; -1 if none, INT64_MAX for unlimited. */
int64_t fdproc__nofile(const char *limits);

#endif /* LT_PROCFD_H */
