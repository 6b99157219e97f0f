// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The fd tracker's /proc parsers (src/procfd.c) and the mmap tracker's
 * overlay of records on the mapped ranges (src/overlay.c): pure, no root.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "overlay.h"
#include "procfd.h"
#include "test.h"

static const char tcp[] =
	"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	"   0: 0100007F:A42F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0\n"
	"   1: 0100007F:BD96 0100007F:A42F 01 00000000:00000000 00:00000000 00000000     0        0 1002 1 0000000000000000 20 4 30 10 -1\n"
	"   2: garbage\n";

static const char tcp6[] =
	"  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	"   0: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2001 1 0000000000000000 100 0 0 10 0\n";

static const char udp[] =
	"   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
	"  1: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3001 2 0000000000000000 0\n";

static const char unx[] =
	"Num       RefCount Protocol Flags    Type St Inode Path\n"
	"0000000000000000: 00000002 00000000 00010000 0001 01 4001 /run/test.sock\n"
	"0000000000000000: 00000003 00000000 00000000 0001 03 4002\n"
	"0000000000000000: 00000002 00000000 00010000 0001 01 4003 @abstract\n";

static void test_net_tables(void)
{
	struct net_tab nt = {};
	const struct net_sock *s;

	ASSERT_EQ(net_tab__parse(&nt, tcp, LT_FDK_TCP), 0, "tcp");
	ASSERT_EQ(net_tab__parse(&nt, tcp6, LT_FDK_TCP), 0, "tcp6");
	ASSERT_EQ(net_tab__parse(&nt, udp, LT_FDK_UDP), 0, "udp");
	ASSERT_EQ(net_tab__parse(&nt, unx, LT_FDK_UNIX), 0, "unix");
	ASSERT_EQ(net_tab__parse(&nt, NULL, LT_FDK_UNIX), 0, "no text");
	net_tab__sort(&nt);
	ASSERT_EQ(nt.n, 7, "sockets (the garbage line skipped)");
	s = net_tab__find(&nt, 1001);
	if (ASSERT_OK_PTR(s, "listener"))
		ASSERT_STREQ(s->desc, "127.0.0.1:42031 (listening)", "listener desc");
	s = net_tab__find(&nt, 1002);
	if (ASSERT_OK_PTR(s, "client")) {
		ASSERT_STREQ(s->desc, "127.0.0.1:48534 -> 127.0.0.1:42031", "client desc");
		ASSERT_EQ(s->kind, LT_FDK_TCP, "client kind");
	}
	s = net_tab__find(&nt, 2001);
	if (ASSERT_OK_PTR(s, "tcp6"))
		ASSERT_STREQ(s->desc, "[::1]:80 (listening)", "tcp6 desc");
	s = net_tab__find(&nt, 3001);
	if (ASSERT_OK_PTR(s, "udp")) {
		ASSERT_STREQ(s->desc, "0.0.0.0:53", "udp desc");
		ASSERT_EQ(s->kind, LT_FDK_UDP, "udp kind");
	}
	s = net_tab__find(&nt, 4001);
	if (ASSERT_OK_PTR(s, "unix path"))
		ASSERT_STREQ(s->desc, "/run/test.sock", "unix desc");
	s = net_tab__find(&nt, 4002);
	if (ASSERT_OK_PTR(s, "unix unnamed"))
		ASSERT_STREQ(s->desc, "unix:[4002] (unnamed)", "unnamed desc");
	s = net_tab__find(&nt, 4003);
	if (ASSERT_OK_PTR(s, "unix abstract"))
		ASSERT_STREQ(s->desc, "@abstract", "abstract desc");
	ASSERT_TRUE(net_tab__find(&nt, 9999) == NULL, "unknown inode");
	net_tab__free(&nt);
}

static void test_classify(void)
{
	struct net_tab nt = {};
	char ex[160];

	net_tab__parse(&nt, tcp, LT_FDK_TCP);
	net_tab__sort(&nt);
	ASSERT_EQ(fdproc__classify("/tmp/x (deleted)", &nt, ex, sizeof(ex)), LT_FDK_FILE, "file");
	ASSERT_STREQ(ex, "/tmp/x (deleted)", "file example");
	ASSERT_EQ(fdproc__classify("pipe:[77]", &nt, ex, sizeof(ex)), LT_FDK_PIPE, "pipe");
	ASSERT_EQ(fdproc__classify("anon_inode:[eventfd]", &nt, ex, sizeof(ex)), LT_FDK_EVENTFD, "eventfd");
	ASSERT_EQ(fdproc__classify("anon_inode:[eventpoll]", &nt, ex, sizeof(ex)), LT_FDK_EPOLL, "epoll");
	ASSERT_EQ(fdproc__classify("anon_inode:[timerfd]", &nt, ex, sizeof(ex)), -1, "timerfd: the timers'");
	ASSERT_EQ(fdproc__classify("anon_inode:[signalfd]", &nt, ex, sizeof(ex)), LT_FDK_OTHER, "signalfd");
	ASSERT_EQ(fdproc__classify("socket:[1002]", &nt, ex, sizeof(ex)), LT_FDK_TCP, "tcp socket");
	ASSERT_STREQ(ex, "127.0.0.1:48534 -> 127.0.0.1:42031", "tcp example");
	ASSERT_EQ(fdproc__classify("socket:[5]", &nt, ex, sizeof(ex)), LT_FDK_OTHER, "netlink");
	ASSERT_STREQ(ex, "socket:[5]", "netlink example");
	ASSERT_EQ(fdproc__classify("socket:[1002]", NULL, ex, sizeof(ex)), LT_FDK_OTHER, "no table");
	ASSERT_EQ(fdproc__socket_ino("socket:[123]"), 123, "socket ino");
	ASSERT_EQ(fdproc__socket_ino("pipe:[123]"), 0, "no socket");
	ASSERT_STREQ(fd_kind__name(LT_FDK_UNIX), "unix", "kind name");
	ASSERT_STREQ(fd_kind__name(LT_FDK_UNKNOWN), "other", "unknown kind name");
	net_tab__free(&nt);
}

static void test_nofile(void)
{
	ASSERT_EQ(fdproc__nofile("Limit                     Soft Limit           Hard Limit           Units\n"
				 "Max open files            1024                 524288               files\n"), 1024,
		  "soft limit");
	ASSERT_EQ(fdproc__nofile("Max open files            unlimited            unlimited            files\n"),
		  INT64_MAX, "unlimited");
	ASSERT_EQ(fdproc__nofile("Max processes 10\n"), -1, "no line");
	ASSERT_EQ(fdproc__nofile(NULL), -1, "no text");
}

#define K 4096ULL

/* bytes of the record whose tag is TAG */
static uint64_t bytes_of(const struct ov_rec *r, int n, uint64_t tag)
{
	for (int i = 0; i < n; i++)
		if (r[i].tag == tag)
			return r[i].bytes;
	return (uint64_t)-1;
}

static void test_overlay_partial_unmaps(void)
{
	/* three 4-page mappings: the middle, the head and the tail unmapped */
	struct ov_rec r[] = {
		{ .start = 0x10000, .len = 4 * K, .created_ns = 1, .tag = 0 },
		{ .start = 0x20000, .len = 4 * K, .created_ns = 2, .tag = 1 },
		{ .start = 0x30000, .len = 4 * K, .created_ns = 3, .tag = 2 },
	};
	struct ov_range m[] = {
		{ 0x10000, 0x10000 + K }, { 0x10000 + 3 * K, 0x10000 + 4 * K },	/* hole in the middle */
		{ 0x20000 + 2 * K, 0x20000 + 4 * K },				/* head gone */
		{ 0x30000, 0x30000 + 2 * K },					/* tail gone */
	};

	ASSERT_EQ(overlay__bytes(r, 3, m, 4), 0, "overlay");
	ASSERT_EQ(bytes_of(r, 3, 0), 2 * K, "middle hole: 2 pages left");
	ASSERT_EQ(bytes_of(r, 3, 1), 2 * K, "head gone: 2 pages left");
	ASSERT_EQ(bytes_of(r, 3, 2), 2 * K, "tail gone: 2 pages left");
}

static void test_overlay_newest_owns(void)
{
	/* an old 8-page record, a newer one in its middle (a hole re-mapped), and one unmapped */
	struct ov_rec r[] = {
		{ .start = 0x100000, .len = 8 * K, .created_ns = 10, .tag = 0 },
		{ .start = 0x100000 + 2 * K, .len = 2 * K, .created_ns = 20, .tag = 1 },
		{ .start = 0x200000, .len = 4 * K, .created_ns = 5, .tag = 2 },
		/* a record older than what covers it entirely: nothing */
		{ .start = 0x100000 + 2 * K, .len = K, .created_ns = 15, .tag = 3 },
	};
	struct ov_range m[] = { { 0x100000, 0x100000 + 8 * K } };

	ASSERT_EQ(overlay__bytes(r, 4, m, 1), 0, "overlay");
	ASSERT_EQ(bytes_of(r, 4, 0), 6 * K, "old record: all but the newer's 2 pages");
	ASSERT_EQ(bytes_of(r, 4, 1), 2 * K, "newer record in the hole");
	ASSERT_EQ(bytes_of(r, 4, 2), 0, "unmapped record");
	ASSERT_EQ(bytes_of(r, 4, 3), 0, "covered by a newer one");
	ASSERT_EQ(overlay__bytes(r, 0, m, 1), 0, "no records");
}

static const struct test_case tests[] = {
	TEST_CASE(test_net_tables),
	TEST_CASE(test_classify),
	TEST_CASE(test_nofile),
	TEST_CASE(test_overlay_partial_unmaps),
	TEST_CASE(test_overlay_newest_owns),
};

int main(int argc, char **argv)
{
	return test__main(argc, argv, tests, (int)(sizeof(tests) / sizeof(tests[0])));
}
