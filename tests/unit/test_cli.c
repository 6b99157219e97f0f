// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* CLI parsing: defaults, strict numbers, conflicts, exit statuses. */
#include <errno.h>
#include <stdlib.h>
#include "opts.h"
#include "test.h"

static int parse(struct lt_opts *o, const char *const *args)
{
	char *argv[32];
	int argc = 0;

	argv[argc++] = (char *)"leaktrace";
	for (; *args; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	return cli__parse(argc, argv, o);
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void test_defaults(void)
{
	struct lt_opts o;

	if (!ASSERT_EQ(parse(&o, ARGS("-p", "123")), 0, "parse"))
		return;
	ASSERT_EQ(o.npids, 1, "npids");
	ASSERT_EQ(o.pids[0], 123, "pid");
	ASSERT_TRUE(o.interval == 10, "interval 10");
	ASSERT_EQ(o.count, 0, "count");
	ASSERT_EQ(o.top, 10, "top");
	ASSERT_EQ(o.formats, LT_FMT_TEXT, "text");
	ASSERT_EQ(o.nouts, 1, "one output");
	ASSERT_EQ(o.outs[0].format, LT_FMT_TEXT, "text output");
	ASSERT_TRUE(o.outs[0].path == NULL, "to stdout");
	ASSERT_EQ(o.max_allocs, 1000000, "max allocs");
	ASSERT_TRUE(o.max_size == UINT64_MAX, "max size");
	ASSERT_EQ(o.track, LT_TRACK_MEM | LT_TRACK_THREADS | LT_TRACK_TIMERS | LT_TRACK_FDS |
		  LT_TRACK_GOROUTINES | LT_TRACK_GOHEAP, "default trackers: all but mmap");
	cli__free(&o);
}

/* --track fds,mmap; --mmap adds the mmap tracker to whatever --track says, before or after it. */
static void test_track_fds_mmap(void)
{
	struct lt_opts o;

	if (ASSERT_EQ(parse(&o, ARGS("-p", "1", "--track", "fds,mmap")), 0, "--track fds,mmap"))
		ASSERT_EQ(o.track, LT_TRACK_FDS | LT_TRACK_MMAP, "fds and mmap");
	cli__free(&o);
	if (ASSERT_EQ(parse(&o, ARGS("-p", "1", "--mmap")), 0, "--mmap"))
		ASSERT_EQ(o.track, LT_TRACK_DEFAULT | LT_TRACK_MMAP, "the default and mmap");
	cli__free(&o);
	if (ASSERT_EQ(parse(&o, ARGS("-p", "1", "--mmap", "--track", "mem")), 0, "--mmap --track mem"))
		ASSERT_EQ(o.track, LT_TRACK_MEM | LT_TRACK_MMAP, "mem and mmap");
	cli__free(&o);
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "--track", "fd")), 2, "--track fd (unknown name)");
	cli__free(&o);
}

static void test_everything(void)
{
	struct lt_opts o;

	if (!ASSERT_EQ(parse(&o, ARGS("-p", "1,2,3", "--once", "2.5", "-T", "0", "--format", "json",
				      "-o", "/tmp/x", "--min-age", "1", "--min-size", "8", "--max-size", "4096",
				      "--sort", "growth", "--fail-on-leak", "-vv", "--max-allocs", "1000",
				      "--allocator", "/lib/libjemalloc.so.2", "5", "3")), 0, "parse"))
		return;
	ASSERT_EQ(o.npids, 3, "npids");
	ASSERT_EQ(o.pids[2], 3, "third pid");
	ASSERT_TRUE(o.once == 2.5, "once");
	ASSERT_EQ(o.top, 0, "top 0 = all");
	ASSERT_EQ(o.formats, LT_FMT_JSON, "json");
	ASSERT_STREQ(o.output, "/tmp/x", "output");
	ASSERT_EQ(o.nouts, 1, "one output");
	ASSERT_STREQ(o.outs[0].path, "/tmp/x", "json to -o");
	ASSERT_EQ(o.min_size, 8, "min size");
	ASSERT_EQ(o.max_size, 4096, "max size");
	ASSERT_EQ(o.sort, LT_SORT_GROWTH, "sort");
	ASSERT_TRUE(o.fail_on_leak, "fail on leak");
	ASSERT_EQ(o.verbose, 2, "-vv");
	ASSERT_EQ(o.max_allocs, 1000, "max allocs");
	ASSERT_STREQ(o.allocator, "/lib/libjemalloc.so.2", "allocator");
	ASSERT_TRUE(o.interval == 5, "interval");
	ASSERT_EQ(o.count, 3, "count");
	cli__free(&o);
}

static void test_command(void)
{
	struct lt_opts o;

	if (!ASSERT_EQ(parse(&o, ARGS("-c", "./server --port 80")), 0, "parse"))
		return;
	ASSERT_STREQ(o.command, "./server --port 80", "command");
	cli__free(&o);
}

static void test_usage_errors_exit_2(void)
{
	struct lt_opts o;

	/* stderr noise is expected here */
	ASSERT_EQ(parse(&o, ARGS("--once", "3")), 2, "no target");
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "-T", "abc")), 2, "-T abc");
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "--once", "-1")), 2, "--once -1");
	ASSERT_EQ(parse(&o, ARGS("-p", "0")), 2, "pid 0");
	ASSERT_EQ(parse(&o, ARGS("-p", "12x")), 2, "pid 12x");
	ASSERT_EQ(parse(&o, ARGS("-p", "1,,")), 0, "empty list items are skipped");
	cli__free(&o);
	ASSERT_EQ(parse(&o, ARGS("-p", "99999999999")), 2, "pid overflow");
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "-c", "ls")), 2, "-p and -c");
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "--format", "xml")), 2, "bad format");
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "--sort", "name")), 2, "bad sort");
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "--bogus")), 2, "unknown option");
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "0")), 2, "interval 0");
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "1", "2", "3")), 2, "three positionals");
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "--min-size", "10", "--max-size", "5")), 2, "min > max");
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "--max-allocs", "0")), 2, "max-allocs 0");
	cli__free(&o);
}

static void test_format_lists_and_outputs(void)
{
	struct lt_opts o;

	/* one file per format, in order */
	if (ASSERT_EQ(parse(&o, ARGS("-p", "1", "--format", "json,folded", "-o", "a.jsonl,b.folded")), 0,
		      "json,folded -o a,b")) {
		ASSERT_EQ(o.nouts, 2, "two outputs");
		ASSERT_EQ(o.outs[0].format, LT_FMT_JSON, "first json");
		ASSERT_STREQ(o.outs[0].path, "a.jsonl", "json file");
		ASSERT_EQ(o.outs[1].format, LT_FMT_FOLDED, "then folded");
		ASSERT_STREQ(o.outs[1].path, "b.folded", "folded file");
		ASSERT_EQ(o.formats, LT_FMT_JSON | LT_FMT_FOLDED, "format bits");
		ASSERT_EQ(o.top, 10, "-T stays 10 with json");
		cli__free(&o);
	}
	/* fewer files: the format left over goes to stdout */
	if (ASSERT_EQ(parse(&o, ARGS("-p", "1", "--format", "pprof,folded", "-o", "heap.pb.gz")), 0,
		      "pprof,folded -o heap.pb.gz")) {
		ASSERT_STREQ(o.outs[0].path, "heap.pb.gz", "pprof file");
		ASSERT_TRUE(o.outs[1].path == NULL, "folded to stdout");
		ASSERT_EQ(o.top, 0, "profiles only: all sites");
		cli__free(&o);
	}
	/* "-" is stdout, anywhere in the list */
	if (ASSERT_EQ(parse(&o, ARGS("-p", "1", "--format", "text,pprof", "-o", "-,h.%n.pb.gz")), 0,
		      "-o -,FILE")) {
		ASSERT_TRUE(o.outs[0].path == NULL, "text to stdout");
		ASSERT_STREQ(o.outs[1].path, "h.%n.pb.gz", "%n kept for later");
		ASSERT_EQ(o.top, 10, "-T stays 10 with text");
		cli__free(&o);
	}
	if (ASSERT_EQ(parse(&o, ARGS("-p", "1", "--format", "folded", "-T", "5")), 0, "folded -T 5")) {
		ASSERT_EQ(o.top, 5, "an explicit -T wins");
		ASSERT_TRUE(o.outs[0].path == NULL, "folded to stdout");
		cli__free(&o);
	}
	if (ASSERT_EQ(parse(&o, ARGS("-p", "1", "--format", "json", "--format", "folded")), 0, "twice")) {
		ASSERT_EQ(o.nouts, 1, "the last --format wins");
		ASSERT_EQ(o.formats, LT_FMT_FOLDED, "folded");
		cli__free(&o);
	}

	/* usage errors, exit 2 */
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "--format", "json,folded")), 2, "two formats on stdout");
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "--format", "json,folded", "-o", "-,-")), 2, "both '-'");
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "--format", "pprof")), 2, "pprof without -o");
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "--format", "pprof,json", "-o", "-,a")), 2, "pprof to '-'");
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "--format", "json", "-o", "a,b")), 2, "more files than formats");
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "-o", "a,b")), 2, "two files for text");
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "--format", "json,folded", "-o", "a,a")), 2, "one file twice");
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "--format", "json,folded", "-o", "a,")), 2, "empty name");
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "--format", "json,json", "-o", "a,b")), 2, "format twice");
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "--format", "json,svg")), 2, "unknown format");
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "--format", ",")), 2, "empty format list");
}

/* --sample, --exact, --sample-seed: -a samples at 512 KiB unless --exact; -p and -c stay exact. */
static void test_sampling(void)
{
	struct lt_opts o;

	if (ASSERT_EQ(parse(&o, ARGS("-p", "1")), 0, "-p"))
		ASSERT_EQ(o.sample, 0, "-p: exact");
	cli__free(&o);
	if (ASSERT_EQ(parse(&o, ARGS("-c", "ls")), 0, "-c"))
		ASSERT_EQ(o.sample, 0, "-c: exact");
	cli__free(&o);
	if (ASSERT_EQ(parse(&o, ARGS("-a")), 0, "-a"))
		ASSERT_EQ(o.sample, 524288, "-a: sampled at 512 KiB");
	cli__free(&o);
	if (ASSERT_EQ(parse(&o, ARGS("-a", "--exact")), 0, "-a --exact"))
		ASSERT_EQ(o.sample, 0, "-a --exact: exact");
	cli__free(&o);
	if (ASSERT_EQ(parse(&o, ARGS("-a", "--sample", "65536")), 0, "-a --sample 65536"))
		ASSERT_EQ(o.sample, 65536, "-a --sample 65536");
	cli__free(&o);
	if (ASSERT_EQ(parse(&o, ARGS("-p", "1", "--sample", "1", "--sample-seed", "0")), 0, "--sample 1 --sample-seed 0")) {
		ASSERT_EQ(o.sample, 1, "--sample 1");
		ASSERT_TRUE(o.sample_seed_set && o.sample_seed == 0, "seed 0 is a seed");
	}
	cli__free(&o);
	/* stderr noise is expected here */
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "--sample", "0")), 2, "--sample 0");
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "--sample", "abc")), 2, "--sample abc");
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "--sample", "-5")), 2, "--sample -5");
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "--sample", "2147483648")), 2, "--sample above 1 GiB");
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "--exact", "--sample", "4096")), 2, "--exact --sample");
	ASSERT_EQ(parse(&o, ARGS("-p", "1", "--sample-seed", "3")), 2, "a seed without sampling");
	ASSERT_EQ(parse(&o, ARGS("-a", "--exact", "--sample-seed", "3")), 2, "a seed with -a --exact");
	cli__free(&o);
}

static const struct test_case tests[] = {
	TEST_CASE(test_defaults),
	TEST_CASE(test_track_fds_mmap),
	TEST_CASE(test_everything),
	TEST_CASE(test_command),
	TEST_CASE(test_usage_errors_exit_2),
	TEST_CASE(test_format_lists_and_outputs),
	TEST_CASE(test_sampling),
};

int main(int argc, char **argv)
{
	return test__main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
