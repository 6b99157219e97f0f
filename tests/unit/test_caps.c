// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* util__missing_caps: the capability check leaktrace makes at start. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "test.h"

#define BIT(c) (1ULL << (c))
#define PTRACE BIT(19)
#define ADMIN BIT(21)
#define PERFMON BIT(38)
#define BPF BIT(39)
#define CR BIT(40)
#define ALL 0x000001ffffffffffULL	/* root on a kernel with 41 capabilities */

static int missing(unsigned long long eff, int last_cap, char *out, size_t len)
{
	char status[256];

	snprintf(status, sizeof(status), "Name:\tleaktrace\nUmask:\t0022\nCapInh:\t0000000000000000\n"
		 "CapPrm:\t%016llx\nCapEff:\t%016llx\nCapBnd:\t%016llx\n", eff, eff, eff);
	return util__missing_caps(status, last_cap, out, len);
}

static void test_root_has_all(void)
{
	char out[160];

	ASSERT_EQ(missing(ALL, 40, out, sizeof(out)), 0, "root");
	ASSERT_STREQ(out, "", "names");
	ASSERT_EQ(missing(ALL, -1, out, sizeof(out)), 0, "cap_last_cap unknown");
}

static void test_nothing(void)
{
	char out[160];

	ASSERT_EQ(missing(0, 40, out, sizeof(out)), 4, "no capability");
	ASSERT_STREQ(out, "CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE, CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE",
		     "names");
}

static void test_each_one(void)
{
	char out[160];

	ASSERT_EQ(missing(ALL & ~BPF & ~ADMIN, 40, out, sizeof(out)), 1, "no bpf, no admin");
	ASSERT_STREQ(out, "CAP_BPF", "names");
	ASSERT_EQ(missing(ALL & ~PERFMON & ~ADMIN, 40, out, sizeof(out)), 1, "no perfmon, no admin");
	ASSERT_STREQ(out, "CAP_PERFMON", "names");
	ASSERT_EQ(missing(ALL & ~PTRACE, 40, out, sizeof(out)), 1, "no ptrace");
	ASSERT_STREQ(out, "CAP_SYS_PTRACE", "names");
	ASSERT_EQ(missing(ALL & ~ADMIN & ~CR, 40, out, sizeof(out)), 1, "no map_files");
	ASSERT_STREQ(out, "CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE", "names");
}

static void test_admin_grants_bpf_perfmon(void)
{
	char out[160];

	/* bpf_capable() and perfmon_capable() accept CAP_SYS_ADMIN */
	ASSERT_EQ(missing(ALL & ~BPF & ~PERFMON, 40, out, sizeof(out)), 0, "admin without bpf, perfmon");
	/* CAP_CHECKPOINT_RESTORE opens map_files without admin */
	ASSERT_EQ(missing(BPF | PERFMON | PTRACE | CR, 40, out, sizeof(out)), 0, "no admin");
}

static void test_old_kernels(void)
{
	char out[160];

	/* before 5.8: no CAP_BPF or CAP_PERFMON, CAP_SYS_ADMIN does it all */
	ASSERT_EQ(missing(ADMIN | PTRACE, 37, out, sizeof(out)), 0, "4.19 root");
	ASSERT_EQ(missing(PTRACE, 37, out, sizeof(out)), 1, "4.19 without admin");
	ASSERT_STREQ(out, "CAP_SYS_ADMIN", "names");
	/* 5.8: CAP_BPF, but map_files still needs CAP_SYS_ADMIN */
	ASSERT_EQ(missing(BPF | PERFMON | PTRACE, 39, out, sizeof(out)), 1, "5.8 without admin");
	ASSERT_STREQ(out, "CAP_SYS_ADMIN", "names");
}

static void test_malformed(void)
{
	char out[160];

	ASSERT_EQ(util__missing_caps("Name:\tx\n", 40, out, sizeof(out)), -EINVAL, "no CapEff");
	ASSERT_EQ(util__missing_caps(NULL, 40, out, sizeof(out)), -EINVAL, "NULL");
	ASSERT_EQ(util__missing_caps("CapEff:\tzz\n", 40, out, sizeof(out)), -EINVAL, "not hex");
	ASSERT_EQ(util__missing_caps("CapEff:\t1ffffffffff junk\n", 40, out, sizeof(out)), -EINVAL,
		  "junk after");
	ASSERT_EQ(util__missing_caps("CapEff:\t000001ffffffffff", 40, out, sizeof(out)), 0,
		  "first line, no newline");
	ASSERT_EQ(util__missing_caps("XCapEff:\t0\nCapEff:\t000001ffffffffff\n", 40, out, sizeof(out)), 0,
		  "only a line that starts with CapEff");
	ASSERT_EQ(missing(0, 40, out, 8), 4, "short buffer: still counted");
	ASSERT_EQ(strlen(out), 7, "short buffer: truncated");
}

static void test_self(void)
{
	char *status = util__read_file("/proc/self/status", NULL), out[160];

	if (!ASSERT_OK_PTR(status, "/proc/self/status"))
		return;
	ASSERT_GE(util__missing_caps(status, -1, out, sizeof(out)), 0, "this process's CapEff parses");
	free(status);
}

static const struct test_case tests[] = {
	TEST_CASE(test_root_has_all),
	TEST_CASE(test_nothing),
	TEST_CASE(test_each_one),
	TEST_CASE(test_admin_grants_bpf_perfmon),
	TEST_CASE(test_old_kernels),
	TEST_CASE(test_malformed),
	TEST_CASE(test_self),
};

int main(int argc, char **argv)
{
	return test__main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
