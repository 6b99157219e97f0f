// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The Prometheus renderer (metrics.h), fed plain structs: the exact text of
 * a small report, label escaping, the "other" row of -a, trackers that are
 * off. promtool and a Prometheus server read it in
 * tests/integration/test_serve.py.
 */
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include "leaktrace.h"
#include "metrics.h"
#include "report.h"
#include "test.h"

static const int64_t OFF = -1;

/* Every tracker's growing_sites and value not applicable, then the caller's. */
static struct lt_metrics_proc proc(int pid, const char *comm)
{
	struct lt_metrics_proc p = { .pid = pid, .comm = comm };

	for (int t = 0; t < METRICS__NTRACKERS; t++)
		p.growing_sites[t] = OFF;
	p.outstanding_bytes = p.outstanding_allocations = OFF;
	p.threads_live = p.threads_exited_unjoined = OFF;
	p.timers_open = p.fds_open = p.goroutines = p.go_heap_inuse_bytes = OFF;
	return p;
}

static char *render(const struct lt_metrics *m, size_t *len)
{
	char *out = NULL;
	size_t l = 0;
	int err = metrics__render(m, &out, &l);

	if (!ASSERT_EQ(err, 0, "metrics__render"))
		return NULL;
	ASSERT_EQ(strlen(out), l, "length returned");
	if (len)
		*len = l;
	return out;
}

/* Show where two texts part, then assert them equal. */
static bool text_eq(const char *got, const char *want, const char *name)
{
	size_t i = 0;

	if (!got)
		return ASSERT_TRUE(got, name);
	while (got[i] && got[i] == want[i])
		i++;
	if (got[i] || want[i]) {
		size_t from = i > 60 ? i - 60 : 0;

		fprintf(stderr, "    %s: texts differ at byte %zu\n    got:  ...%.120s\n    want: ...%.120s\n",
			name, i, got + from, want + from);
	}
	return ASSERT_STREQ(got, want, name);
}

/*
 * Memory, threads and timers on (the default trackers); two processes and
 * the -a "other" row. Process 7's comm has every character that needs
 * escaping and a byte that is not UTF-8; it has no timers (-1).
 */
static void test_metrics_exact_text(void)
{
	struct lt_metrics_proc procs[2], other;
	struct lt_metrics_drop drops[] = { { "allocs_untracked", 0 }, { "ringbuf_lost", 12 } };
	struct lt_metrics m = {
		.has = { [METRICS_MEMORY] = true, [METRICS_THREADS] = true, [METRICS_TIMERS] = true },
		.procs = procs, .nprocs = 2, .other = &other,
		.drops = drops, .ndrops = 2,
		.reports_total = 3, .report_duration_s = 0.0125, .version = "0.1.0",
	};
	const char *want =
		"# HELP leaktrace_outstanding_bytes Bytes allocated on the C heap and not freed (requested sizes).\n"
		"# TYPE leaktrace_outstanding_bytes gauge\n"
		"leaktrace_outstanding_bytes{pid=\"42\",comm=\"server\"} 4350\n"
		"leaktrace_outstanding_bytes{pid=\"7\",comm=\"a\\\"b\\\\c\\nd\xef\xbf\xbd\"} 100\n"
		"leaktrace_outstanding_bytes{pid=\"other\",comm=\"other\"} 5000\n"
		"# HELP leaktrace_outstanding_allocations C heap allocations not freed.\n"
		"# TYPE leaktrace_outstanding_allocations gauge\n"
		"leaktrace_outstanding_allocations{pid=\"42\",comm=\"server\"} 6\n"
		"leaktrace_outstanding_allocations{pid=\"7\",comm=\"a\\\"b\\\\c\\nd\xef\xbf\xbd\"} 1\n"
		"leaktrace_outstanding_allocations{pid=\"other\",comm=\"other\"} 50\n"
		"# HELP leaktrace_growing_sites Sites whose trend is growing, per tracker.\n"
		"# TYPE leaktrace_growing_sites gauge\n"
		"leaktrace_growing_sites{pid=\"42\",comm=\"server\",tracker=\"memory\"} 2\n"
		"leaktrace_growing_sites{pid=\"42\",comm=\"server\",tracker=\"threads\"} 1\n"
		"leaktrace_growing_sites{pid=\"42\",comm=\"server\",tracker=\"timers\"} 0\n"
		"leaktrace_growing_sites{pid=\"7\",comm=\"a\\\"b\\\\c\\nd\xef\xbf\xbd\",tracker=\"memory\"} 0\n"
		"leaktrace_growing_sites{pid=\"7\",comm=\"a\\\"b\\\\c\\nd\xef\xbf\xbd\",tracker=\"threads\"} 0\n"
		"leaktrace_growing_sites{pid=\"other\",comm=\"other\",tracker=\"memory\"} 3\n"
		"leaktrace_growing_sites{pid=\"other\",comm=\"other\",tracker=\"threads\"} 0\n"
		"leaktrace_growing_sites{pid=\"other\",comm=\"other\",tracker=\"timers\"} 1\n"
		"# HELP leaktrace_threads Threads created since the attach and not done: live, or exited and not joined.\n"
		"# TYPE leaktrace_threads gauge\n"
		"leaktrace_threads{pid=\"42\",comm=\"server\",state=\"live\"} 7\n"
		"leaktrace_threads{pid=\"42\",comm=\"server\",state=\"exited_unjoined\"} 5\n"
		"leaktrace_threads{pid=\"7\",comm=\"a\\\"b\\\\c\\nd\xef\xbf\xbd\",state=\"live\"} 0\n"
		"leaktrace_threads{pid=\"7\",comm=\"a\\\"b\\\\c\\nd\xef\xbf\xbd\",state=\"exited_unjoined\"} 0\n"
		"leaktrace_threads{pid=\"other\",comm=\"other\",state=\"live\"} 2\n"
		"leaktrace_threads{pid=\"other\",comm=\"other\",state=\"exited_unjoined\"} 0\n"
		"# HELP leaktrace_timers_open Timers created and not deleted.\n"
		"# TYPE leaktrace_timers_open gauge\n"
		"leaktrace_timers_open{pid=\"42\",comm=\"server\"} 29\n"
		"leaktrace_timers_open{pid=\"other\",comm=\"other\"} 4\n"
		"# HELP leaktrace_drops_total Events leaktrace could not record, by kind (see the report's drop counters).\n"
		"# TYPE leaktrace_drops_total counter\n"
		"leaktrace_drops_total{kind=\"allocs_untracked\"} 0\n"
		"leaktrace_drops_total{kind=\"ringbuf_lost\"} 12\n"
		"# HELP leaktrace_reports_total Reports made since leaktrace started.\n"
		"# TYPE leaktrace_reports_total counter\n"
		"leaktrace_reports_total 3\n"
		"# HELP leaktrace_report_duration_seconds How long the last report took to make.\n"
		"# TYPE leaktrace_report_duration_seconds gauge\n"
		"leaktrace_report_duration_seconds 0.0125\n"
		"# HELP leaktrace_build_info leaktrace's version, as a label; always 1.\n"
		"# TYPE leaktrace_build_info gauge\n"
		"leaktrace_build_info{version=\"0.1.0\"} 1\n";
	char *got;

	procs[0] = proc(42, "server");
	procs[0].outstanding_bytes = 4350;
	procs[0].outstanding_allocations = 6;
	procs[0].growing_sites[METRICS_MEMORY] = 2;
	procs[0].growing_sites[METRICS_THREADS] = 1;
	procs[0].growing_sites[METRICS_TIMERS] = 0;
	procs[0].threads_live = 7;
	procs[0].threads_exited_unjoined = 5;
	procs[0].timers_open = 29;
	procs[0].fds_open = 99;		/* fds is off: never shown */

	procs[1] = proc(7, "a\"b\\c\nd\xff");
	procs[1].outstanding_bytes = 100;
	procs[1].outstanding_allocations = 1;
	procs[1].growing_sites[METRICS_MEMORY] = 0;
	procs[1].growing_sites[METRICS_THREADS] = 0;
	procs[1].threads_live = 0;
	procs[1].threads_exited_unjoined = 0;

	other = proc(0, "ignored");
	other.outstanding_bytes = 5000;
	other.outstanding_allocations = 50;
	other.growing_sites[METRICS_MEMORY] = 3;
	other.growing_sites[METRICS_THREADS] = 0;
	other.growing_sites[METRICS_TIMERS] = 1;
	other.threads_live = 2;
	other.threads_exited_unjoined = 0;
	other.timers_open = 4;

	got = render(&m, NULL);
	text_eq(got, want, "rendered text");
	free(got);
}

/* Each tracker on alone: its own families and its growing_sites, no other tracker's. */
static void test_metrics_trackers_off_emit_nothing(void)
{
	static const char *const family[METRICS__NTRACKERS] = {
		[METRICS_MEMORY] = "leaktrace_outstanding_bytes",
		[METRICS_THREADS] = "leaktrace_threads",
		[METRICS_TIMERS] = "leaktrace_timers_open",
		[METRICS_FDS] = "leaktrace_fds_open",
		[METRICS_GOROUTINES] = "leaktrace_goroutines",
		[METRICS_GO_HEAP] = "leaktrace_go_heap_inuse_bytes",
		[METRICS_MMAP] = NULL,	/* only growing_sites */
	};
	struct lt_metrics_proc p = { .pid = 5, .comm = "go-svc", .outstanding_bytes = 1,
				     .outstanding_allocations = 1, .threads_live = 1,
				     .threads_exited_unjoined = 1, .timers_open = 1, .fds_open = 1,
				     .goroutines = 1, .go_heap_inuse_bytes = 1 };
	struct lt_metrics m = { .procs = &p, .nprocs = 1, .version = "x", .report_duration_s = NAN };
	char *got, name[64], series[128];

	for (int t = 0; t < METRICS__NTRACKERS; t++)
		p.growing_sites[t] = 1;

	/* nothing on: only leaktrace's own families */
	got = render(&m, NULL);
	if (got) {
		ASSERT_FALSE(strstr(got, "pid="), "no per-process series with every tracker off");
		ASSERT_FALSE(strstr(got, "leaktrace_growing_sites"), "no growing_sites family");
		ASSERT_FALSE(strstr(got, "leaktrace_report_duration_seconds"), "no duration before a report");
		ASSERT_TRUE(strstr(got, "leaktrace_reports_total 0\n"), "reports_total");
		ASSERT_TRUE(strstr(got, "leaktrace_build_info{version=\"x\"} 1\n"), "build_info");
	}
	free(got);

	for (int on = 0; on < METRICS__NTRACKERS; on++) {
		memset(m.has, 0, sizeof(m.has));
		m.has[on] = true;
		got = render(&m, NULL);
		if (!got)
			continue;
		for (int t = 0; t < METRICS__NTRACKERS; t++) {
			snprintf(series, sizeof(series),
				 "leaktrace_growing_sites{pid=\"5\",comm=\"go-svc\",tracker=\"%s\"} 1\n",
				 metrics__tracker_name(t));
			snprintf(name, sizeof(name), "%s on: growing_sites of %s",
				 metrics__tracker_name(on), metrics__tracker_name(t));
			if (t == on)
				ASSERT_TRUE(strstr(got, series), name);
			else
				ASSERT_FALSE(strstr(got, series), name);
			if (!family[t])
				continue;
			snprintf(series, sizeof(series), "# TYPE %s gauge\n", family[t]);
			snprintf(name, sizeof(name), "%s on: family %s", metrics__tracker_name(on),
				 family[t]);
			if (t == on)
				ASSERT_TRUE(strstr(got, series), name);
			else
				ASSERT_FALSE(strstr(got, series), name);
		}
		free(got);
	}
}

/* -a with Go: fds, goroutines and the Go heap; the C process has no Go series. */
static void test_metrics_go_and_fds(void)
{
	struct lt_metrics_proc procs[2];
	struct lt_metrics m = {
		.has = { [METRICS_FDS] = true, [METRICS_GOROUTINES] = true, [METRICS_GO_HEAP] = true,
			 [METRICS_MMAP] = true },
		.procs = procs, .nprocs = 2, .reports_total = 1, .report_duration_s = 2,
		.version = "0.1.0",
	};
	const char *want =
		"# HELP leaktrace_growing_sites Sites whose trend is growing, per tracker.\n"
		"# TYPE leaktrace_growing_sites gauge\n"
		"leaktrace_growing_sites{pid=\"100\",comm=\"api\",tracker=\"fds\"} 1\n"
		"leaktrace_growing_sites{pid=\"100\",comm=\"api\",tracker=\"goroutines\"} 4\n"
		"leaktrace_growing_sites{pid=\"100\",comm=\"api\",tracker=\"go_heap\"} 2\n"
		"leaktrace_growing_sites{pid=\"100\",comm=\"api\",tracker=\"mmap\"} 0\n"
		"leaktrace_growing_sites{pid=\"200\",comm=\"nginx\",tracker=\"fds\"} 0\n"
		"leaktrace_growing_sites{pid=\"200\",comm=\"nginx\",tracker=\"mmap\"} 3\n"
		"# HELP leaktrace_fds_open File descriptors opened and not closed.\n"
		"# TYPE leaktrace_fds_open gauge\n"
		"leaktrace_fds_open{pid=\"100\",comm=\"api\"} 17\n"
		"leaktrace_fds_open{pid=\"200\",comm=\"nginx\"} 1024\n"
		"# HELP leaktrace_goroutines Goroutines of the Go process.\n"
		"# TYPE leaktrace_goroutines gauge\n"
		"leaktrace_goroutines{pid=\"100\",comm=\"api\"} 12345\n"
		"# HELP leaktrace_go_heap_inuse_bytes Bytes in use on the Go heap.\n"
		"# TYPE leaktrace_go_heap_inuse_bytes gauge\n"
		"leaktrace_go_heap_inuse_bytes{pid=\"100\",comm=\"api\"} 9007199254740993\n"
		"# HELP leaktrace_drops_total Events leaktrace could not record, by kind (see the report's drop counters).\n"
		"# TYPE leaktrace_drops_total counter\n"
		"# HELP leaktrace_reports_total Reports made since leaktrace started.\n"
		"# TYPE leaktrace_reports_total counter\n"
		"leaktrace_reports_total 1\n"
		"# HELP leaktrace_report_duration_seconds How long the last report took to make.\n"
		"# TYPE leaktrace_report_duration_seconds gauge\n"
		"leaktrace_report_duration_seconds 2\n"
		"# HELP leaktrace_build_info leaktrace's version, as a label; always 1.\n"
		"# TYPE leaktrace_build_info gauge\n"
		"leaktrace_build_info{version=\"0.1.0\"} 1\n";
	char *got;

	procs[0] = proc(100, "api");
	procs[0].growing_sites[METRICS_FDS] = 1;
	procs[0].growing_sites[METRICS_GOROUTINES] = 4;
	procs[0].growing_sites[METRICS_GO_HEAP] = 2;
	procs[0].growing_sites[METRICS_MMAP] = 0;
	procs[0].fds_open = 17;
	procs[0].goroutines = 12345;
	procs[0].go_heap_inuse_bytes = 9007199254740993LL;	/* 2^53 + 1: printed exactly */
	procs[1] = proc(200, "nginx");
	procs[1].growing_sites[METRICS_FDS] = 0;
	procs[1].growing_sites[METRICS_MMAP] = 3;
	procs[1].fds_open = 1024;

	got = render(&m, NULL);
	text_eq(got, want, "rendered text");
	free(got);
}

/* Label values: escapes, UTF-8 kept, invalid UTF-8 replaced (overlong, surrogate, truncated). */
static void test_metrics_label_escaping(void)
{
	static const struct {
		const char *comm, *want;
	} cases[] = {
		{ "plain", "plain" },
		{ "", "" },
		{ "back\\slash", "back\\\\slash" },
		{ "quo\"te", "quo\\\"te" },
		{ "new\nline", "new\\nline" },
		{ "tab\tcr\r", "tab\tcr\r" },			/* not escaped by the format */
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x9b", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x9b" },
		{ "\xff\xfe", "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "over\xc0\xaflong", "over\xef\xbf\xbd\xef\xbf\xbdlong" },
		{ "sur\xed\xa0\x80g", "sur\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdg" },
		{ "cut\xe2\x82", "cut\xef\xbf\xbd\xef\xbf\xbd" },
		{ "{a=\"}\\", "{a=\\\"}\\\\" },
	};
	struct lt_metrics_proc p = proc(1, NULL);
	struct lt_metrics_drop d = { "we\"ird", 1 };
	struct lt_metrics m = { .has = { [METRICS_TIMERS] = true }, .procs = &p, .nprocs = 1,
				.drops = &d, .ndrops = 1, .version = "1\n2" };
	char want[256];
	char *got;

	p.timers_open = 1;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p.comm = cases[i].comm;
		got = render(&m, NULL);
		if (!got)
			continue;
		snprintf(want, sizeof(want), "\nleaktrace_timers_open{pid=\"1\",comm=\"%s\"} 1\n",
			 cases[i].want);
		if (!ASSERT_TRUE(strstr(got, want), cases[i].comm))
			fprintf(stderr, "    wanted: %s    in: %.400s\n", want, got);
		ASSERT_TRUE(strstr(got, "\nleaktrace_drops_total{kind=\"we\\\"ird\"} 1\n"), "drop kind escaped");
		ASSERT_TRUE(strstr(got, "\nleaktrace_build_info{version=\"1\\n2\"} 1\n"), "version escaped");
		free(got);
	}
	p.comm = NULL;
	got = render(&m, NULL);
	ASSERT_TRUE(got && strstr(got, "leaktrace_timers_open{pid=\"1\",comm=\"\"} 1\n"), "NULL comm");
	free(got);
}

/*
 * Every line is a comment or "name{labels} value" of the text format, whatever
 * the bytes of the comm: one regular expression of the 0.0.4 grammar.
 */
static void test_metrics_lines_parse(void)
{
	struct lt_metrics_proc procs[64];
	struct lt_metrics_drop drops[LT_DROP__MAX];
	struct lt_metrics m = { .procs = procs, .nprocs = 64, .drops = drops,
				.ndrops = LT_DROP__MAX, .version = "0.1.0", .reports_total = 9,
				.report_duration_s = 1e-7 };
	char comms[64][16];
	regex_t re;
	char *got, *line, *save;
	int lines = 0;

	for (int t = 0; t < METRICS__NTRACKERS; t++)
		m.has[t] = true;
	srand(7);
	for (int i = 0; i < 64; i++) {
		for (int j = 0; j < 15; j++)
			comms[i][j] = (char)(1 + rand() % 255);
		comms[i][15] = 0;
		procs[i] = (struct lt_metrics_proc){ .pid = i + 1, .comm = comms[i],
						     .outstanding_bytes = i, .threads_live = i };
	}
	for (int i = 0; i < LT_DROP__MAX; i++)
		drops[i] = (struct lt_metrics_drop){ drop__name(i), i };
	ASSERT_EQ(regcomp(&re,
			  "^(# (HELP|TYPE) [a-z_]+ .*"
			  "|[a-z_]+(\\{([a-z_]+=\"([^\"\\\\\n]|\\\\[\\\\\"n])*\",?)*\\})? -?[0-9.e+-]+)$",
			  REG_EXTENDED | REG_NOSUB), 0, "regcomp");
	got = render(&m, NULL);
	for (line = got ? strtok_r(got, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
		lines++;
		if (!ASSERT_EQ(regexec(&re, line, 0, NULL, 0), 0, "a line of the format"))
			fprintf(stderr, "    line: %s\n", line);
	}
	/* 64 procs x (2 memory + 7 growing + 2 threads + 4 others) + drops + 3 + comments */
	ASSERT_EQ(lines, 64 * 15 + LT_DROP__MAX + 3 + 2 * 12, "lines");
	free(got);
	regfree(&re);
}

static void test_metrics_drop_names(void)
{
	struct lt_metrics_drop drops[LT_DROP__MAX];
	struct lt_metrics m = { .drops = drops, .ndrops = LT_DROP__MAX, .version = "v" };
	char want[128], *got;

	for (int i = 0; i < LT_DROP__MAX; i++)
		drops[i] = (struct lt_metrics_drop){ drop__name(i), 1000 + i };
	got = render(&m, NULL);
	for (int i = 0; got && i < LT_DROP__MAX; i++) {
		snprintf(want, sizeof(want), "\nleaktrace_drops_total{kind=\"%s\"} %d\n", drop__name(i),
			 1000 + i);
		ASSERT_TRUE(strstr(got, want), drop__name(i));
	}
	ASSERT_TRUE(got && strstr(got, "{kind=\"ringbuf_lost\"}"), "the JSON contract's names");
	free(got);
}

static void test_metrics_errors(void)
{
	struct lt_metrics m = { .version = "v" };
	char *out = (char *)"untouched";
	size_t len = 77;

	ASSERT_EQ(metrics__render(NULL, &out, &len), -EINVAL, "NULL metrics");
	ASSERT_EQ(metrics__render(&m, NULL, &len), -EINVAL, "NULL out");
	ASSERT_EQ(metrics__render(&m, &out, NULL), -EINVAL, "NULL len");
	m.nprocs = 1;	/* and procs NULL */
	ASSERT_EQ(metrics__render(&m, &out, &len), -EINVAL, "procs NULL");
	m.nprocs = -1;
	ASSERT_EQ(metrics__render(&m, &out, &len), -EINVAL, "nprocs < 0");
	ASSERT_STREQ(out, "untouched", "out untouched on error");
	ASSERT_EQ(len, 77, "len untouched on error");
	ASSERT_STREQ(metrics__tracker_name(METRICS_GO_HEAP), "go_heap", "tracker name");
	ASSERT_TRUE(metrics__tracker_name(METRICS__NTRACKERS) == NULL, "out of range");
}

static const struct test_case tests[] = {
	TEST_CASE(test_metrics_exact_text),
	TEST_CASE(test_metrics_trackers_off_emit_nothing),
	TEST_CASE(test_metrics_go_and_fds),
	TEST_CASE(test_metrics_label_escaping),
	TEST_CASE(test_metrics_lines_parse),
	TEST_CASE(test_metrics_drop_names),
	TEST_CASE(test_metrics_errors),
};

int main(int argc, char **argv)
{
	return test__main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
