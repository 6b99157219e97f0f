// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Trend rule, per-site history, sorting and the writers, fed synthetic data. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include "report.h"
#include "trackers.h"
#include "trend.h"
#include "test.h"

static void test_trend_new_until_min_samples(void)
{
	int64_t s[] = { 100, 200 };

	ASSERT_EQ(trend__classify(s, 0), LT_TREND_NEW, "0 samples");
	ASSERT_EQ(trend__classify(s, 1), LT_TREND_NEW, "1 sample");
	ASSERT_EQ(trend__classify(s, 2), LT_TREND_NEW, "2 samples");
}

static void test_trend_steady_leak_grows(void)
{
	int64_t s[12];

	for (int i = 0; i < 12; i++)
		s[i] = 1000 * (i + 1);
	for (int n = TREND_MIN_SAMPLES; n <= 12; n++)
		ASSERT_EQ(trend__classify(s, n), LT_TREND_GROWING, "linear leak");
}

static void test_trend_capped_cache_levels_off(void)
{
	/* grows for 5 samples, then flat: stable once the window is all flat */
	int64_t s[14];

	for (int i = 0; i < 14; i++)
		s[i] = i < 5 ? 4096 * (i + 1) : 4096 * 5;
	ASSERT_EQ(trend__classify(s, 5), LT_TREND_GROWING, "while filling");
	ASSERT_EQ(trend__classify(s, 5 + TREND_WINDOW), LT_TREND_STABLE, "flat for a window");
	ASSERT_EQ(trend__classify(s, 14), LT_TREND_STABLE, "flat long after");
}

/* The series of tests/targets/trend as the once-a-second sampler sees it. */
static void test_trend_target_series(void)
{
	int64_t cache[12], leak[12];

	for (int i = 0; i < 12; i++) {
		cache[i] = 10240 * (i + 1 < 5 ? i + 1 : 5);
		leak[i] = 3000 * (i + 1);
	}
	for (int n = TREND_MIN_SAMPLES; n <= 12; n++) {
		ASSERT_EQ(trend__classify(leak, n), LT_TREND_GROWING, "leak grows at every report");
		/* full at sample 5; the first all-flat window is samples 5..9 */
		ASSERT_EQ(trend__classify(cache, n), n < 5 + TREND_WINDOW - 1 ? LT_TREND_GROWING : LT_TREND_STABLE,
			  "cache: growing while the window has its growth, then stable");
	}
}

static void test_trend_noise_is_stable(void)
{
	/* a large cache jittering by ±1% is not a leak */
	int64_t s[] = { 1000000, 1010000, 995000, 1008000, 992000, 1005000, 998000 };

	ASSERT_EQ(trend__classify(s, 7), LT_TREND_STABLE, "±1% noise");
	/* small absolute jitter under the 64-byte floor */
	int64_t t[] = { 10, 40, 0, 60, 20 };

	ASSERT_EQ(trend__classify(t, 5), LT_TREND_STABLE, "tiny jitter");
}

static void test_trend_noisy_leak_still_grows(void)
{
	/* +5000/sample with ±1500 noise */
	int64_t s[] = { 5000, 11500, 13500, 21500, 23500, 31500, 33500 };

	ASSERT_EQ(trend__classify(s, 7), LT_TREND_GROWING, "noisy leak");
}

static void test_trend_long_steady_leak_stays_growing(void)
{
	/* 100 B/s for an hour: 0.03% a second, far under the 2% threshold */
	int64_t s[3600];

	for (int i = 0; i < 3600; i++)
		s[i] = 100LL * (i + 1);
	ASSERT_EQ(trend__classify(s, 3600), LT_TREND_GROWING, "an hour-old steady leak");
	/* one flat second in the window: back to the threshold rule */
	s[3598] = s[3597];
	ASSERT_EQ(trend__classify(s, 3599), LT_TREND_STABLE, "a pause under the noise threshold");
}

static void test_trend_shrinking(void)
{
	int64_t s[] = { 50000, 40000, 30000, 20000, 10000 };

	ASSERT_EQ(trend__classify(s, 5), LT_TREND_SHRINKING, "draining");
}

static void test_trend_tab_series_and_delta(void)
{
	struct trend_tab *t = trend_tab__new();
	struct lt_site_id a = { .tgid = 1, .stack = 3, .caller = 0x1000 };
	struct lt_site_id b = { .tgid = 1, .stack = 3, .caller = 0x2000 };
	uint64_t seq = 0;

	if (!ASSERT_OK_PTR(t, "trend_tab__new"))
		return;
	/* many sites: forces the table to grow */
	for (int i = 0; i < 1000; i++) {
		struct lt_site_id k = { .tgid = 2, .stack = i, .caller = i };

		trend_tab__sample(t, &k, i, 1);
	}
	for (int i = 0; i < 6; i++) {
		seq++;
		trend_tab__sample(t, &a, 1000 * (i + 1), seq);
		if (i < 2)
			trend_tab__sample(t, &b, 500, seq);
		trend_tab__end_round(t, seq);
	}
	ASSERT_EQ(trend_tab__trend(t, &a), LT_TREND_GROWING, "a grows");
	/* b vanished after 2 rounds: zero-filled, so it shrank */
	ASSERT_EQ(trend_tab__trend(t, &b), LT_TREND_SHRINKING, "b freed");
	ASSERT_EQ(trend_tab__delta(t, &a, 6000, true), 6000, "first delta is the size");
	ASSERT_EQ(trend_tab__delta(t, &a, 7500, true), 1500, "then the change");
	ASSERT_EQ(trend_tab__delta(t, &a, 7000, false), -500, "peek");
	ASSERT_EQ(trend_tab__delta(t, &a, 7000, true), -500, "commit");
	ASSERT_TRUE(trend_tab__slope(t, &a) > 999 && trend_tab__slope(t, &a) < 1001, "slope 1000/sample");
	/* sampled once in round 1, then zero-filled: flat zeros are stable */
	struct lt_site_id k = { .tgid = 2, .stack = 999, .caller = 999 };
	struct lt_site_id never = { .tgid = 3 };

	ASSERT_EQ(trend_tab__trend(t, &k), LT_TREND_STABLE, "zero-filled");
	ASSERT_EQ(trend_tab__trend(t, &never), LT_TREND_NEW, "never sampled");
	trend_tab__free(t);
	trend_tab__free(NULL);
}

static struct lt_frame frame(const char *func, const char *file, int line, const char *mod)
{
	struct lt_frame f = { .addr = 0x401000, .offset = 0x12, .line = line };

	f.func = func ? strdup(func) : NULL;
	f.file = file ? strdup(file) : NULL;
	f.module = strdup(mod);
	return f;
}

static void fill_report(struct lt_report *r, struct lt_target *tg)
{
	struct lt_section *sec;
	struct lt_site *s;

	memset(r, 0, sizeof(*r));
	r->number = 3;
	r->final = true;
	r->elapsed_s = 12.5;
	r->wall.tv_sec = 1700000000;
	tg->pid = 42;
	strcpy(tg->comm, "srv \"x\"");
	r->targets = tg;
	r->ntargets = 1;
	sec = report__add_section(r, &lt_view_memory);
	section__alloc_sites(sec, 2);
	s = &sec->sites[0];
	*s = (struct lt_site){ .pid = 42, .v = { 300, 3 }, .delta = 100, .oldest_age_s = 9.5,
			       .trend = LT_TREND_GROWING, .id = { .caller = 2 } };
	s->stack = calloc(2, sizeof(struct lt_frame));
	s->stack[0] = frame("load_dataset", "job.c", 42, "/usr/bin/server");
	s->stack[1] = frame("main", "job.c", 80, "/usr/bin/server");
	s->nstack = 2;
	s = &sec->sites[1];
	*s = (struct lt_site){ .pid = 42, .v = { 4000, 1 }, .delta = 0, .oldest_age_s = -1,
			       .trend = LT_TREND_STABLE, .truncated = true, .id = { .caller = 1 } };
	s->stack = calloc(1, sizeof(struct lt_frame));
	s->stack[0] = frame(NULL, NULL, 0, "[unknown]");
	s->nstack = 1;
	sec->tot[0] = 4300;
	sec->tot[1] = 4;
	r->drops[LT_DROP_MISSED_RETURNS] = 7;
}

static void test_sort_by_size_growth_age(void)
{
	struct lt_report r;
	struct lt_target tg;
	struct lt_section *sec;

	fill_report(&r, &tg);
	sec = &r.secs[0];
	section__sort(sec, LT_SORT_SIZE);
	ASSERT_EQ(sec->sites[0].v[0], 4000, "size first");
	section__sort(sec, LT_SORT_GROWTH);
	ASSERT_EQ(sec->sites[0].v[0], 300, "growth first");
	section__sort(sec, LT_SORT_AGE);
	ASSERT_EQ(sec->sites[0].v[0], 300, "oldest first (unknown age last)");
	report__free_sites(&r);
}

/* Threads and timers sort by count whatever --sort says; ties by the caller. */
static void test_sort_counts(void)
{
	struct lt_report r = {};
	struct lt_section *sec = report__add_section(&r, &lt_view_threads);

	section__alloc_sites(sec, 3);
	sec->sites[0] = (struct lt_site){ .pid = 1, .v = { 2, 0, 2 }, .oldest_age_s = 50, .id = { .caller = 9 } };
	sec->sites[1] = (struct lt_site){ .pid = 1, .v = { 2, 1, 1 }, .oldest_age_s = 1, .id = { .caller = 8 } };
	sec->sites[2] = (struct lt_site){ .pid = 1, .v = { 5, 0, 5 }, .oldest_age_s = 2, .id = { .caller = 7 } };
	section__sort(sec, LT_SORT_AGE);
	ASSERT_EQ(sec->sites[0].v[0], 5, "most threads first, not the oldest");
	ASSERT_EQ(sec->sites[1].v[1], 1, "then more exited-unjoined");
	ASSERT_EQ(sec->sites[2].id.caller, 9, "then the rest");
	report__free_sites(&r);
}

/* Write with the writer, read back with a real JSON parser. */
static void test_json_is_valid_and_complete(void)
{
	struct lt_report r;
	struct lt_target tg;
	char path[] = "/tmp/lt-json-XXXXXX", cmd[512], out[4096] = "";
	int fd = mkstemp(path);
	FILE *f, *p;

	if (!ASSERT_TRUE(fd >= 0, "mkstemp"))
		return;
	if (system("python3 -c pass 2>/dev/null") != 0) {
		test__skip("python3 is missing");
		close(fd);
		unlink(path);
		return;
	}
	f = fdopen(fd, "w");
	fill_report(&r, &tg);
	ASSERT_EQ(output__json(f, &r), 0, "output__json");
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import json,sys; lines=open(\"%s\").read().splitlines(); assert len(lines)==1; "
		 "d=json.loads(lines[0]); m=d[\"memory\"]; s=m[\"sites\"]; "
		 "print(d[\"version\"], d[\"report\"], d[\"final\"], d[\"targets\"][0][\"comm\"], m[\"outstanding_bytes\"], "
		 "s[0][\"bytes\"], s[0][\"trend\"], s[0][\"stack\"][0][\"func\"], s[0][\"stack\"][0][\"line\"], "
		 "s[1][\"oldest_age_s\"], s[1][\"truncated\"], s[1][\"stack\"][0][\"func\"], "
		 "d[\"drops\"][\"missed_returns\"], d[\"drops\"][\"allocs_untracked\"], d[\"time\"])'", path);
	p = popen(cmd, "r");
	if (p) {
		if (!fgets(out, sizeof(out), p))
			out[0] = 0;
		pclose(p);
	}
	ASSERT_STREQ(out, "1 3 True srv \"x\" 4300 300 growing load_dataset 42 None True None 7 0 2023-11-14T22:13:20Z\n",
		     "json fields");
	report__free_sites(&r);
	unlink(path);
}

static void test_text_report(void)
{
	struct lt_report r;
	struct lt_target tg;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fill_report(&r, &tg);
	ASSERT_EQ(output__text(f, &r), 0, "output__text");
	fclose(f);
	ASSERT_TRUE(strstr(buf, "leaktrace report 3 (final)") != NULL, "header");
	ASSERT_TRUE(strstr(buf, "MEMORY: 4300 bytes") != NULL, "totals");
	ASSERT_TRUE(strstr(buf, "load_dataset+0x12 (job.c:42) [/usr/bin/server]") != NULL, "frame line");
	ASSERT_TRUE(strstr(buf, "300 bytes (300 B) in 3 allocations, +100 since last, growing, oldest 9.5 s") != NULL,
		    "site line");
	ASSERT_TRUE(strstr(buf, "DROPS: missed_returns=7") != NULL, "drops");
	free(buf);
	report__free_sites(&r);
}

/* The fds and mmap sections: a synthetic report through the JSON and text writers. */
static void fill_fds(struct lt_report *r, struct lt_target *tg)
{
	static const char *const kinds[] = { "file", "tcp", "udp", "unix", "pipe", "eventfd", "epoll", "other" };
	struct lt_section *sec;
	struct lt_site *s;

	memset(r, 0, sizeof(*r));
	r->number = 1;
	r->final = true;
	tg->pid = 7;
	strcpy(tg->comm, "srv");
	r->targets = tg;
	r->ntargets = 1;
	sec = report__add_section(r, &lt_view_fds);
	section__alloc_sites(sec, 1);
	s = &sec->sites[0];
	*s = (struct lt_site){ .pid = 7, .v = { 9 }, .delta = 2, .oldest_age_s = 3, .trend = LT_TREND_GROWING };
	strcpy(s->comm, "srv");
	s->counts = calloc(8, sizeof(*s->counts));
	s->ncounts = 8;
	for (int k = 0; k < 8; k++)
		s->counts[k] = (struct lt_count){ strdup(kinds[k]), k == 1 ? 7 : k == 4 ? 2 : 0 };
	s->label = strdup("127.0.0.1:1 -> 127.0.0.1:2");
	sec->tot[0] = 9;
	sec->delta = 2;
	sec->extra[0] = 1024;
	sec->extra[1] = 3;
	sec->extra[2] = 1013;
	sec->extra[3] = 1001;
	sec->procs = calloc(1, sizeof(*sec->procs));
	sec->procs[0] = (struct lt_proc){ .pid = 7, .comm = "srv", .v = { 1013, 1024, 3, 1001 } };
	sec->nprocs = sec->nprocs_total = 1;
	sec = report__add_section(r, &lt_view_mmap);
	section__alloc_sites(sec, 1);
	sec->sites[0] = (struct lt_site){ .pid = 7, .v = { 8192, 1 }, .delta = 8192, .oldest_age_s = -1 };
	sec->tot[0] = 8192;
	sec->tot[1] = 1;
}

static void test_fds_mmap_sections(void)
{
	struct lt_report r;
	struct lt_target tg;
	char path[] = "/tmp/lt-json-XXXXXX", cmd[768], out[512] = "", *buf = NULL;
	size_t len = 0;
	int fd = mkstemp(path);
	FILE *f, *p;

	if (!ASSERT_TRUE(fd >= 0, "mkstemp"))
		return;
	fill_fds(&r, &tg);
	f = open_memstream(&buf, &len);
	ASSERT_EQ(output__text(f, &r), 0, "output__text");
	fclose(f);
	ASSERT_TRUE(strstr(buf, "FDS: 9 open from tracked creation sites, +2 since the last report") != NULL,
		    "fds headline");
	ASSERT_TRUE(strstr(buf, "  pid 7 (srv): 1,013 of 1,024 fds open (RLIMIT_NOFILE), 3 from before the attach, "
			   "1001 not seen made") != NULL, "the limit line");
	ASSERT_TRUE(strstr(buf, "  #1 9 open (tcp 7, pipe 2), +2 since last, growing, oldest 3.0 s, "
			   "e.g. 127.0.0.1:1 -> 127.0.0.1:2") != NULL, "fds site line");
	ASSERT_TRUE(strstr(buf, "MMAP: 8192 bytes (8.0 KiB) of anonymous mappings in 1 regions") != NULL,
		    "mmap headline");
	free(buf);
	if (system("python3 -c pass 2>/dev/null") != 0) {
		test__skip("python3 is missing");
		goto out;
	}
	f = fdopen(fd, "w");
	fd = -1;
	ASSERT_EQ(output__json(f, &r), 0, "output__json");
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import json; d=json.loads(open(\"%s\").read()); f=d[\"fds\"]; s=f[\"sites\"][0]; "
		 "m=d[\"mmap\"]; print(f[\"open\"], f[\"preexisting\"], f[\"limit\"], f[\"total_open\"], "
		 "f[\"processes\"][0][\"open\"], s[\"open\"], sorted(k for k, v in s[\"kinds\"].items() if v), "
		 "len(s[\"kinds\"]), s[\"example\"], s[\"delta\"], m[\"bytes\"], m[\"regions\"], "
		 "m[\"sites\"][0][\"delta_bytes\"], m[\"sites\"][0][\"oldest_age_s\"])'", path);
	p = popen(cmd, "r");
	if (p) {
		if (!fgets(out, sizeof(out), p))
			out[0] = 0;
		pclose(p);
	}
	ASSERT_STREQ(out, "9 3 1024 1013 1013 9 ['pipe', 'tcp'] 8 127.0.0.1:1 -> 127.0.0.1:2 2 8192 1 8192 None\n",
		     "fds and mmap JSON fields");
out:
	if (fd >= 0)
		close(fd);
	unlink(path);
	report__free_sites(&r);
}

static const struct test_case tests[] = {
	TEST_CASE(test_trend_new_until_min_samples),
	TEST_CASE(test_trend_steady_leak_grows),
	TEST_CASE(test_trend_capped_cache_levels_off),
	TEST_CASE(test_trend_target_series),
	TEST_CASE(test_trend_noise_is_stable),
	TEST_CASE(test_trend_noisy_leak_still_grows),
	TEST_CASE(test_trend_long_steady_leak_stays_growing),
	TEST_CASE(test_trend_shrinking),
	TEST_CASE(test_trend_tab_series_and_delta),
	TEST_CASE(test_sort_by_size_growth_age),
	TEST_CASE(test_sort_counts),
	TEST_CASE(test_json_is_valid_and_complete),
	TEST_CASE(test_text_report),
	TEST_CASE(test_fds_mmap_sections),
};

int main(int argc, char **argv)
{
	return test__main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
