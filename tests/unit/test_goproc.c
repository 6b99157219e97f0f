// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for src/goproc.c on live Go processes (children of this
 * test, so process_vm_readv works without root under Yama scope 1).
 * Expected values come from the targets themselves: goleak writes
 * runtime.NumGoroutine() and its own goroutine profile (debug=1 counts per
 * stack, debug=2 "created by" per goroutine) at SIGUSR2; esbuild's runtime
 * prints every user goroutine at SIGQUIT.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gobin.h"
#include "goproc.h"
#include "gotest.h"
#include "test.h"

#define TICKS 30
#define TICKER_PERIOD 10800007000000ll	/* 3h + 7ms, goleak's TickerPeriod */

static char *slurp_file(const char *path)
{
	char *r = test__run_cmd("cat '%s'", path);

	return r;
}

/* ---------------------------------------------------------------------- */
/* sites                                                                  */

#define MAX_SITES 256

struct site {
	char key[600];
	int n;
};

struct sites {
	struct site s[MAX_SITES];
	int n;
};

static void sites_add(struct sites *ss, const char *key, int k)
{
	for (int i = 0; i < ss->n; i++)
		if (!strcmp(ss->s[i].key, key)) {
			ss->s[i].n += k;
			return;
		}
	if (ss->n < MAX_SITES) {
		snprintf(ss->s[ss->n].key, sizeof(ss->s[0].key), "%s", key);
		ss->s[ss->n++].n = k;
	}
}

static int sites_get(const struct sites *ss, const char *key)
{
	for (int i = 0; i < ss->n; i++)
		if (!strcmp(ss->s[i].key, key))
			return ss->s[i].n;
	return 0;
}

/* "file:line" of the go statement that created G (its innermost frame, as tracebacks print it). */
static void g_site(struct goproc *p, const struct go_g *g, char *key, size_t len)
{
	struct gobin_frame fr[16];
	int n = gobin__resolve(goproc__gobin(p), g->gopc - goproc__bias(p), true, fr, 16);

	if (n > 0)
		snprintf(key, len, "%s:%d", fr[0].file ? fr[0].file : "?", fr[0].line);
	else
		snprintf(key, len, "?");
}

/* Does G's blocked stack contain FILE_SUFFIX:LINE (or the function FUNC when LINE is 0)? */
static bool g_stack_has(struct goproc *p, const struct go_g *g, const char *file_suffix, int line,
			const char *func)
{
	uint64_t pcs[64];
	int n = goproc__stack(p, g, pcs, 64);

	for (int i = 0; i < n; i++) {
		struct gobin_frame fr[16];
		int k = gobin__resolve(goproc__gobin(p), pcs[i] - goproc__bias(p), true, fr, 16);

		for (int j = 0; j < k; j++) {
			if (func && fr[j].func && !strcmp(fr[j].func, func))
				return true;
			if (!func && fr[j].line == line && gotest__ends_with(fr[j].file, file_suffix))
				return true;
		}
	}
	return false;
}

/*
 * Walk G's blocked stack: 1 when every frame has a function and a line,
 * 0 when one has not (FRAME says which), -EAGAIN when G ran meanwhile.
 */
static int g_stack_resolves(struct goproc *p, const struct go_g *g, char *frame, size_t len)
{
	uint64_t pcs[64];
	int n = goproc__stack(p, g, pcs, 64);

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		struct gobin_frame fr[16];
		/* as the report does: PCS[0] is the saved pc itself, the rest return addresses */
		int k = gobin__resolve(goproc__gobin(p), pcs[i] - goproc__bias(p), i > 0, fr, 16);

		for (int j = 0; j < k || !k; j++) {
			if (!k || !fr[j].func || fr[j].line <= 0) {
				snprintf(frame, len, "frame %d: %#llx %s line %d", i, (unsigned long long)pcs[i],
					 k && fr[j].func ? fr[j].func : "?", k ? fr[j].line : 0);
				return 0;
			}
		}
	}
	return 1;
}

static const char *start_name(struct goproc *p, const struct go_g *g)
{
	return gobin__func_name(goproc__gobin(p), g->startpc - goproc__bias(p));
}

/* ---------------------------------------------------------------------- */
/* goleak                                                                 */

static bool start_goleak(struct gotest_child *c, const char *bin, const char *dump, bool churn)
{
	char *argv[] = { (char *)bin, "-ticks", "30", "-out", (char *)dump, churn ? "-churn" : NULL, NULL };

	if (!ASSERT_TRUE(gotest__child_start(c, argv, false, NULL), "start goleak"))
		return false;
	if (!ASSERT_TRUE(gotest__child_wait(c, "READY", 10000), "READY"))
		return false;
	kill(c->pid, SIGUSR1);
	return ASSERT_TRUE(gotest__child_wait(c, "DONE", 10000), "DONE");
}

static struct goproc *open_or_skip(int pid)
{
	char err[256];
	struct goproc *p = goproc__open(pid, err, sizeof(err));

	if (!p && errno == EPERM) {
		test__skip("process_vm_readv not permitted (needs CAP_SYS_PTRACE or Yama scope <= 1)");
		return NULL;
	}
	if (!p)
		fprintf(stderr, "    goproc__open: %s\n", err);
	ASSERT_OK_PTR(p, "goproc__open");
	return p;
}

/* debug=2 section: "created by F\n\tFILE:LINE +0x.." per goroutine -> sites. */
static void parse_created_by(const char *text, struct sites *ss)
{
	const char *p = text;

	while ((p = strstr(p, "\ncreated by "))) {
		const char *tab = strstr(p + 1, "\n\t"), *sp, *nl;
		char key[600];

		if (!tab)
			break;
		tab += 2;
		nl = strchr(tab, '\n');
		sp = strchr(tab, ' ');
		if (sp && nl && sp < nl)
			nl = sp;
		if (!nl)
			break;
		snprintf(key, sizeof(key), "%.*s", (int)(nl - tab), tab);
		sites_add(ss, key, 1);
		p = nl;
	}
}

/* debug=1: total and the count of the stack(s) that contain NEEDLE. */
static void parse_debug1(const char *text, long *total, long *sum, long *with_needle, const char *needle)
{
	const char *p = strstr(text, "goroutine profile: total ");
	const char *end = strstr(text, "==== debug=2");

	*total = *sum = *with_needle = 0;
	if (!p)
		return;
	*total = strtol(p + strlen("goroutine profile: total "), NULL, 10);
	p = strchr(p, '\n');
	while (p && (!end || p < end)) {
		const char *blk = p + 1, *next = strstr(blk, "\n\n");
		char *at;
		long k = strtol(blk, &at, 10);

		if (at != blk && !strncmp(at, " @ ", 3)) {
			*sum += k;
			if (next && memmem(blk, (size_t)(next - blk), needle, strlen(needle)))
				*with_needle += k;
		}
		p = next ? next + 1 : NULL;
	}
}

static void check_goleak(const char *variant)
{
	char bin[512], dump[] = "/tmp/lt-goleak-dump.XXXXXX", key[600], leak_key[600],
	     bal_key[600], *text = NULL;
	int leak_line = gotest__line("goleak", "leak-go"), block_line = gotest__line("goleak", "leak-block"),
	    bal_line = gotest__line("goleak", "balanced-go"), fd;
	struct sites ours = { 0 }, theirs = { 0 };
	struct go_snapshot s = { 0 };
	struct go_timer *t = NULL;
	struct goproc *p = NULL;
	struct gotest_child c = { 0 };
	int nt = 0, tickers = 0, balanced_tickers = 0, blocked_ok = 0, leak_n = 0, afterfuncs = 0;
	long total, sum, with_leak;

	if (!gotest__bin(variant, bin, sizeof(bin)))
		return;
	if (!ASSERT_TRUE(leak_line && block_line && bal_line, "LINE markers"))
		return;
	fd = mkstemp(dump);
	if (fd >= 0)
		close(fd);
	if (!start_goleak(&c, bin, dump, false))
		goto out;
	p = open_or_skip(c.pid);
	if (!p)
		goto out;
	if (!ASSERT_EQ(goproc__snapshot(p, &s), 0, "snapshot")) {
		fprintf(stderr, "    %s\n", goproc__error(p));
		goto out;
	}
	snprintf(leak_key, sizeof(leak_key), "goleak/main.go:%d", leak_line);
	snprintf(bal_key, sizeof(bal_key), "goleak/main.go:%d", bal_line);
	for (int i = 0; i < s.n; i++) {
		const struct go_g *g = &s.g[i];

		if (g->system || g->goid == 1)
			continue;
		g_site(p, g, key, sizeof(key));
		sites_add(&ours, key, 1);
		if (gotest__ends_with(key, leak_key)) {
			leak_n++;
			ASSERT_STREQ(g->waitreason_str, "chan receive", "leaked g's wait reason");
			ASSERT_EQ(g->status, GO_WAITING, "leaked g waiting");
			ASSERT_STREQ(start_name(p, g), "main.leakOne.func1", "start function");
			blocked_ok += g_stack_has(p, g, "goleak/main.go", block_line, NULL);
			if (leak_n == 1) {
				/* as if it had run and parked elsewhere since the snapshot */
				struct go_g moved = *g;
				uint64_t pcs[8];

				moved.sched_sp += 8;
				ASSERT_EQ(goproc__stack(p, &moved, pcs, 8), -EAGAIN, "a g whose sched.sp moved");
				moved = *g;
				moved.sched_pc += 1;
				ASSERT_EQ(goproc__stack(p, &moved, pcs, 8), -EAGAIN, "a g whose sched.pc moved");
			}
		}
		ASSERT_FALSE(gotest__ends_with(key, bal_key), "nothing from the balanced go statement");
	}
	ASSERT_EQ(leak_n, TICKS, "goroutines at the leaking go statement");
	ASSERT_EQ(blocked_ok, TICKS, "blocked stacks at <-block (LINE:leak-block)");

	if (!ASSERT_EQ(goproc__timers(p, &t, &nt), 0, "timers"))
		fprintf(stderr, "    %s\n", goproc__error(p));
	for (int i = 0; i < nt; i++) {
		if (t[i].kind == GO_TIMER_TICKER && t[i].period == TICKER_PERIOD)
			tickers++;
		if (t[i].period == 3600000000000ll)
			balanced_tickers++;
		if (t[i].kind == GO_TIMER_AFTERFUNC) {
			const char *fn = gobin__func_name(goproc__gobin(p), t[i].fn - goproc__bias(p));

			afterfuncs += fn && !strcmp(fn, "main.leakAfterFunc.func1");
		}
	}
	ASSERT_EQ(afterfuncs, TICKS, "AfterFuncs with the user's func");
	ASSERT_EQ(tickers, TICKS, "live tickers with goleak's period");
	ASSERT_EQ(balanced_tickers, 0, "stopped tickers not live");

	/* the program's own numbers, taken while it is idle */
	kill(c.pid, SIGUSR2);
	if (!ASSERT_TRUE(gotest__child_wait(&c, "DUMPED", 10000), "DUMPED"))
		goto out;
	text = slurp_file(dump);
	if (!ASSERT_OK_PTR(text, "dump"))
		goto out;
	ASSERT_EQ(s.nuser, strtol(text + strlen("numgoroutine "), NULL, 10), "user goroutines == runtime.NumGoroutine()");
	parse_debug1(text, &total, &sum, &with_leak, "main.leakOne.func1");
	ASSERT_EQ(total, s.nuser, "pprof total");
	ASSERT_EQ(sum, s.nuser, "pprof counts add up");
	ASSERT_EQ(with_leak, TICKS, "pprof count of the leaking stack");
	parse_created_by(strstr(text, "==== debug=2") ? strstr(text, "==== debug=2") : text, &theirs);
	ASSERT_EQ(ours.n, theirs.n, "creation sites");
	for (int i = 0; i < ours.n; i++)
		if (!ASSERT_EQ(ours.s[i].n, sites_get(&theirs, ours.s[i].key), ours.s[i].key))
			fprintf(stderr, "      site %s\n", ours.s[i].key);
	printf("    %s: %d user goroutines (NumGoroutine agrees), %d sites, %d tickers, %d afterfuncs, layout %s, retries %d\n",
	       variant, s.nuser, ours.n, tickers, afterfuncs, goproc__layout(p)->source, s.retries);
out:
	free(text);
	free(t);
	go_snapshot__free(&s);
	goproc__free(p);
	gotest__child_stop(&c);
	unlink(dump);
}

static void test_goproc_goleak(void)
{
	check_goleak("goleak");
}

static void test_goproc_goleak_stripped(void)
{
	check_goleak("goleak_stripped");
}

static void test_goproc_goleak_pie(void)
{
	check_goleak("goleak_pie");
}

/* 10,000 goroutines a second beside the leaks: the leaking site stays exact. */
static void test_goproc_churn(void)
{
	char bin[512], key[600], leak_key[600];
	struct goproc *p = NULL;
	struct gotest_child c = { 0 };
	int leak_line = gotest__line("goleak", "leak-go"), snaps = 0, retries = 0, churn_max = 0,
	    timer_snaps = 0, walked = 0, moved = 0, unresolved = 0;
	char bad[256] = "";
	double t0;

	if (!gotest__bin("goleak_stripped", bin, sizeof(bin)))
		return;
	snprintf(leak_key, sizeof(leak_key), "goleak/main.go:%d", leak_line);
	if (!start_goleak(&c, bin, "/dev/null", true))
		goto out;
	p = open_or_skip(c.pid);
	if (!p)
		goto out;
	usleep(200 * 1000);
	t0 = gotest__now_ms();
	while (gotest__now_ms() - t0 < 3000 && snaps < 500) {
		struct go_snapshot s;
		int leak = 0, churn = 0;

		if (!ASSERT_EQ(goproc__snapshot(p, &s), 0, "snapshot under churn")) {
			fprintf(stderr, "    %s\n", goproc__error(p));
			break;
		}
		snaps++;
		retries += s.retries;
		for (int i = 0; i < s.n; i++) {
			const struct go_g *g = &s.g[i];
			const char *sn = start_name(p, g);

			/* every record validates */
			ASSERT_TRUE(gobin__is_func_entry(goproc__gobin(p), g->startpc), "startpc an entry");
			ASSERT_TRUE(g->status != GO_DEAD && g->status <= GO_PREEMPTED, "status");
			g_site(p, g, key, sizeof(key));
			leak += gotest__ends_with(key, leak_key);
			churn += sn && !strcmp(sn, "main.churnOne.func1");
			if (g->status != GO_RUNNING && g->status != GO_SYSCALL) {
				/* the stacks of goroutines that come and go: whole, or refused */
				int r = g_stack_resolves(p, g, bad, sizeof(bad));

				walked++;
				moved += r == -EAGAIN;
				unresolved += r == 0;
				if (r == 0)
					fprintf(stderr, "    goroutine %llu (%s): %s\n",
						(unsigned long long)g->goid, sn ? sn : "?", bad);
			}
		}
		if (churn > churn_max)
			churn_max = churn;
		if (snaps % 10 == 0) {	/* the timer heaps change all the time too (time.Sleep) */
			struct go_timer *t = NULL;
			int nt = 0, tick = 0;

			if (ASSERT_EQ(goproc__timers(p, &t, &nt), 0, "timers under churn")) {
				for (int i = 0; i < nt; i++)
					tick += t[i].kind == GO_TIMER_TICKER && t[i].period == TICKER_PERIOD;
				ASSERT_EQ(tick, TICKS, "leaked tickers under churn");
				timer_snaps++;
			} else {
				fprintf(stderr, "    %s\n", goproc__error(p));
			}
			free(t);
		}
		go_snapshot__free(&s);
		if (!ASSERT_EQ(leak, TICKS, "leaking site under churn"))
			break;
	}
	ASSERT_GE(snaps, 50, "snapshots taken");
	ASSERT_GE(churn_max, 1, "churn goroutines seen");
	ASSERT_EQ(unresolved, 0, "blocked stacks with a frame without function or line");
	printf("    %d snapshots under churn, leaking site %d at every one, %d torn reads retried, up to %d churn goroutines seen; %d timer reads, %d tickers at each\n",
	       snaps, TICKS, retries, churn_max, timer_snaps, TICKS);
	printf("    %d blocked stacks walked, every frame resolved; %d refused (the goroutine ran between snapshot and stack read)\n",
	       walked, moved);
out:
	goproc__free(p);
	gotest__child_stop(&c);
}

/* 100,000 parked goroutines: snapshot time. */
static void test_goproc_100k(void)
{
	char bin[512], *argv[] = { bin, "-n", "100000", NULL };
	struct goproc *p = NULL;
	struct gotest_child c = { 0 };
	double best = 1e9, worst = 0;
	int park_line = gotest__line("goparked", "park-go");

	if (!gotest__bin("goparked", bin, sizeof(bin)))
		return;
	if (!ASSERT_TRUE(gotest__child_start(&c, argv, false, NULL), "start goparked") ||
	    !ASSERT_TRUE(gotest__child_wait(&c, "READY", 60000), "READY"))
		goto out;
	p = open_or_skip(c.pid);
	if (!p)
		goto out;
	for (int k = 0; k < 5; k++) {
		struct go_snapshot s;
		double t0 = gotest__now_ms(), dt;
		int parked = 0;

		if (!ASSERT_EQ(goproc__snapshot(p, &s), 0, "snapshot"))
			break;
		dt = gotest__now_ms() - t0;
		best = dt < best ? dt : best;
		worst = dt > worst ? dt : worst;
		for (int i = 0; i < s.n; i++) {
			char key[600];

			g_site(p, &s.g[i], key, sizeof(key));
			if (strstr(key, "goparked/main.go:") && atoi(strrchr(key, ':') + 1) == park_line)
				parked++;
		}
		ASSERT_EQ(parked, 100000, "parked goroutines at their go statement");
		go_snapshot__free(&s);
	}
	printf("    snapshot of 100,000 goroutines: %.1f ms best, %.1f ms worst of 5 (goal < 100 ms)\n", best, worst);
	ASSERT_TRUE(best < 1000, "snapshot of 100k goroutines under a second");
out:
	goproc__free(p);
	gotest__child_stop(&c);
}

/* ---------------------------------------------------------------------- */
/* calibration and errors, through the memory interface                  */

static int test_readv(void *ctx, struct gomem_iov *iov, int n)
{
	int pid = *(int *)ctx;

	for (int i = 0; i < n; i++) {
		struct iovec l = { iov[i].buf, iov[i].len }, r = { (void *)(uintptr_t)iov[i].addr, iov[i].len };
		ssize_t got = process_vm_readv(pid, &l, 1, &r, 1, 0);

		if (got < 0 && (errno == ESRCH || errno == EPERM))
			return -errno;
		iov[i].err = got == (ssize_t)iov[i].len ? 0 : -EFAULT;
	}
	return 0;
}

static void test_goproc_calibrate(void)
{
	char bin[512], err[256];
	struct go_layout good, bad;
	struct goproc_target t = { 0 };
	struct gomem_ops ops = { test_readv, NULL };
	struct goproc *p = NULL;
	struct gotest_child c = { 0 };
	struct gobin *gb = NULL;
	int pid;

	if (!gotest__bin("goleak_stripped", bin, sizeof(bin)))
		return;
	if (!start_goleak(&c, bin, "/dev/null", false))
		goto out;
	pid = c.pid;
	ops.ctx = &pid;
	gb = gobin__open(bin);
	if (!ASSERT_OK_PTR(gb, "gobin") || !ASSERT_EQ(gobin__layout_table(1, 19, &good), 0, "table"))
		goto out;
	bad = good;
	bad.g_goid += 8;	/* as a table for another version would be */
	bad.g_startpc -= 16;
	t.gb = gb;
	t.layout = &bad;
	t.no_calibrate = true;
	p = goproc__open_mem(&t, &ops, err, sizeof(err));
	if (!p && errno == EPERM) {
		test__skip("process_vm_readv not permitted");
		goto out;
	}
	ASSERT_TRUE(p == NULL, "a wrong layout is refused");
	ASSERT_TRUE(strstr(err, "go1.19.8") != NULL, "the error names the Go version");
	printf("    refused: %s\n", err);
	goproc__free(p);

	t.no_calibrate = false;
	p = goproc__open_mem(&t, &ops, err, sizeof(err));
	if (ASSERT_OK_PTR(p, "calibrated")) {
		const struct go_layout *l = goproc__layout(p);
		struct go_snapshot s;

		ASSERT_STREQ(l->source, "calibrated", "source");
		ASSERT_EQ(l->g_goid, good.g_goid, "goid");
		ASSERT_EQ(l->g_atomicstatus, good.g_atomicstatus, "atomicstatus");
		ASSERT_EQ(l->g_startpc, good.g_startpc, "startpc");
		ASSERT_EQ(l->g_gopc, good.g_gopc, "gopc");
		ASSERT_EQ(l->g_sched_sp, good.g_sched_sp, "sched.sp");
		ASSERT_EQ(l->g_sched_bp, good.g_sched_bp, "sched.bp");
		ASSERT_EQ(l->g_waitreason, good.g_waitreason, "waitreason");
		if (ASSERT_EQ(goproc__snapshot(p, &s), 0, "snapshot")) {
			ASSERT_GE(s.nuser, TICKS + 2, "user goroutines");
			go_snapshot__free(&s);
		}
	} else {
		fprintf(stderr, "    %s\n", err);
	}
out:
	goproc__free(p);
	gobin__free(gb);
	gotest__child_stop(&c);
}

/* ---------------------------------------------------------------------- */
/* esbuild (go1.26.5, stripped, static)                                   */

static int count_site(struct goproc *p, const char *start, const char *frame, int *with_frame)
{
	struct go_snapshot s;
	int n = 0;

	*with_frame = 0;
	if (goproc__snapshot(p, &s))
		return -1;
	for (int i = 0; i < s.n; i++) {
		const char *sn = start_name(p, &s.g[i]);

		if (!sn || strcmp(sn, start))
			continue;
		n++;
		*with_frame += g_stack_has(p, &s.g[i], NULL, 0, frame);
	}
	go_snapshot__free(&s);
	return n;
}

static void test_goproc_esbuild(void)
{
	static const char *const start = "net/http.(*Server).Serve.gowrap3";
	static const char *const frame = "net/http.(*conn).serve";
	char bin[512], dir[] = "/tmp/lt-esbuild.XXXXXX", serve[64], sdir[600], *r;
	int port = 20000 + getpid() % 20000, socks[40], nsock = 0, base, n = -1, wf = 0;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct goproc *p = NULL;
	struct gotest_child c = { 0 };
	struct go_snapshot s = { 0 };
	double t0;

	if (!gotest__esbuild(bin, sizeof(bin)) || !mkdtemp(dir))
		return;
	snprintf(serve, sizeof(serve), "--serve=127.0.0.1:%d", port);
	snprintf(sdir, sizeof(sdir), "--servedir=%s", dir);
	r = test__run_cmd("echo hello > '%s/index.html'", dir);
	free(r);
	{
		char *argv[] = { bin, serve, sdir, NULL };

		if (!ASSERT_TRUE(gotest__child_start(&c, argv, true, NULL), "start esbuild"))
			goto out;
	}
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	for (t0 = gotest__now_ms(); gotest__now_ms() - t0 < 10000;) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool ok = fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa));

		if (fd >= 0)
			close(fd);
		if (ok)
			break;
		usleep(20000);
	}
	usleep(200000);
	p = open_or_skip(c.pid);
	if (!p)
		goto out;
	ASSERT_STREQ(gobin__version(goproc__gobin(p)), "go1.26.5", "version");
	ASSERT_STREQ(goproc__layout(p)->source, "table go1.26 (measured)", "layout");
	base = count_site(p, start, frame, &wf);
	ASSERT_GE(base, 0, "baseline");

	/* 40 idle keep-alive connections */
	for (int i = 0; i < 40; i++) {
		static const char req[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
		char resp[4096];
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct pollfd pfd = { fd, POLLIN, 0 };

		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
		    write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1 ||
		    poll(&pfd, 1, 5000) != 1 || read(fd, resp, sizeof(resp)) <= 0) {
			ASSERT_TRUE(false, "keep-alive request");
			if (fd >= 0)
				close(fd);
			break;
		}
		socks[nsock++] = fd;
	}
	for (t0 = gotest__now_ms(); gotest__now_ms() - t0 < 3000; usleep(20000)) {
		n = count_site(p, start, frame, &wf);
		if (n == base + nsock && wf == n)
			break;
	}
	ASSERT_EQ(nsock, 40, "connections");
	ASSERT_EQ(n, base + 40, "gowrap3 site raised by exactly 40");
	ASSERT_EQ(wf, n, "each with (*conn).serve in its blocked stack");
	printf("    esbuild: %s %d -> %d with 40 keep-alive connections", start, base, n);
	for (int i = 0; i < nsock; i++)
		close(socks[i]);
	for (t0 = gotest__now_ms(); gotest__now_ms() - t0 < 5000; usleep(20000)) {
		n = count_site(p, start, frame, &wf);
		if (n == base)
			break;
	}
	printf(" -> %d after closing them\n", n);
	ASSERT_EQ(n, base, "back to the baseline after closing");

	/* last: the runtime's own list at SIGQUIT (it kills esbuild) */
	if (ASSERT_EQ(goproc__snapshot(p, &s), 0, "snapshot")) {
		char *dump = NULL;
		size_t len = 0, cap = 0;
		int theirs = 0;

		kill(c.pid, SIGQUIT);
		for (;;) {
			struct pollfd pfd = { c.out, POLLIN, 0 };
			ssize_t k;

			if (cap - len < 4096) {
				char *nb = realloc(dump, cap + 65536);

				if (!nb)
					break;
				dump = nb;
				cap += 65536;
			}
			if (poll(&pfd, 1, 5000) != 1 || (k = read(c.out, dump + len, cap - len - 1)) <= 0)
				break;
			len += (size_t)k;
		}
		if (dump) {
			dump[len] = 0;
			/*
			 * A SIGQUIT is a runtime throw: traceback level 2, so
			 * system goroutines are listed too, and "goroutine 0"
			 * (the g0 the signal interrupted) first.
			 */
			for (char *q = dump; (q = strstr(q, "\ngoroutine ")); q++)
				theirs += strncmp(q, "\ngoroutine 0 ", 13) != 0;
		}
		ASSERT_GE(theirs, 1, "SIGQUIT dump");
		ASSERT_EQ(s.n, theirs, "live goroutines == the runtime's SIGQUIT dump");
		printf("    esbuild: %d goroutines (%d user, %d system), %d in its SIGQUIT dump\n", s.n,
		       s.nuser, s.nsystem, theirs);
		free(dump);
		go_snapshot__free(&s);
	}
out:
	goproc__free(p);
	gotest__child_stop(&c);
	r = test__run_cmd("rm -rf '%s'", dir);
	free(r);
}

static const struct test_case tests[] = {
	TEST_CASE(test_goproc_goleak),
	TEST_CASE(test_goproc_goleak_stripped),
	TEST_CASE(test_goproc_goleak_pie),
	TEST_CASE(test_goproc_churn),
	TEST_CASE(test_goproc_100k),
	TEST_CASE(test_goproc_calibrate),
	TEST_CASE(test_goproc_esbuild),
};

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	return test__main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
