// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The timer tracker's collector (BPF side: bpf/timer.bpf.c): timerfds and
 * POSIX timers per creation site. At a report, /proc/PID/fdinfo checks
 * that each tracked timerfd is still a timerfd with the clock and interval
 * recorded (every timerfd shares one inode, so /proc checks an fd but
 * cannot identify a timer); mismatches are counted as a drop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "goproc.h"
#include "kfeatures.h"
#include "log.h"
#include "umulti.h"
#include "tracer_priv.h"
#include "util.h"

/* Per target: tracked timerfds /proc disagreed with at the last check. */
struct timer_state {
	int mismatch;
};

static struct timer_state *state(struct tracer *t, struct target *tg)
{
	return target__state(tg, t, &lt_tracker_timers, sizeof(struct timer_state));
}

static void configure(struct tracer *t)
{
	bool on = tracer__slot(t, &lt_tracker_timers) != NULL, fds = tracer__slot(t, &lt_tracker_fds) != NULL;

	if (t->multi)
		bpf_program__set_expected_attach_type(t->skel->progs.lt_go_timer, LT_BPF_TRACE_UPROBE_MULTI);
	t->skel->rodata->release_hook = t->hook;
	/* one sys_exit program serves the syscalls: the fd tracker's when it runs */
	t->skel->rodata->timer_sys_shared = on && fds;
	bpf_program__set_autoload(t->skel->progs.lt_timer_sys_exit, on && !fds);
	bpf_program__set_autoload(t->skel->progs.lt_timer_exec, on);
	bpf_program__set_autoload(t->skel->progs.lt_timerfd_release_fentry, on && t->hook == LT_HOOK_FENTRY);
	bpf_program__set_autoload(t->skel->progs.lt_timerfd_release_kprobe, on && t->hook == LT_HOOK_KPROBE);
}

static struct bpf_program *prog(struct tracer *t, bool ret)
{
	return ret ? NULL : t->skel->progs.lt_timer_entry;
}

/* The syscalls' exit (unless the fd tracker's program serves them), exec, and the release hook. */
static int attach(struct tracer *t)
{
	struct leaktrace_bpf *sk = t->skel;
	struct bpf_program *progs[] = {
		sk->progs.lt_timer_sys_exit, sk->progs.lt_timer_exec,
		sk->progs.lt_timerfd_release_fentry, sk->progs.lt_timerfd_release_kprobe,
	};
	int err = 0;

	for (size_t i = 0; !err && i < sizeof(progs) / sizeof(progs[0]); i++)
		if (bpf_program__autoload(progs[i]))
			err = attach__prog(t->att, progs[i]);
	return err;
}

/*
 * A Go target: an entry probe where its timers start (time.startTimer up to
 * Go 1.22, runtime.newTimer from 1.23), for their creation stacks. Placed
 * on the first instruction the kernel emulates (the stack check's jbe).
 */
static void watch(struct tracer *t, struct target *tg)
{
	bool newer = tg->go_bin && gobin__version_cmp(tg->go_bin, 1, 23) >= 0;

	if (tg->go_bin)
		target__go_probe(t, tg, newer ? "runtime.newTimer" : "time.startTimer", t->skel->progs.lt_go_timer,
				 newer ? LT_FN_GO_NEW_TIMER : LT_FN_GO_START_TIMER);
}

static void gc(struct tracer *t, const struct u64_vec *dead)
{
	map__delete_tgids(bpf_map__fd(t->skel->maps.timers), sizeof(struct lt_timer_key), dead);
	map__delete_tgids(bpf_map__fd(t->skel->maps.go_timers), sizeof(struct lt_go_timer_key), dead);
}

static void stack_refs(struct tracer *t, struct u64_vec *refs)
{
	map__collect_u64(bpf_map__fd(t->skel->maps.timers), sizeof(struct lt_timer_key),
			 sizeof(struct lt_timer), false, offsetof(struct lt_timer, site.stack), refs);
}

/*
 * Is FD of PID still a timerfd with the clock and interval we recorded?
 * Returns its unread expirations (ticks), or -1 on a mismatch.
 */
static int64_t check_timerfd(int pid, int fd, const struct lt_timer *tm)
{
	char path[96], link[128], *text, *p;
	long long clock = -1, ticks = -1, isec = -1, insec = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return -1;
	link[n] = 0;
	if (!strstr(link, "timerfd"))
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	text = util__read_file(path, NULL);
	if (!text)
		return -1;
	if ((p = strstr(text, "clockid:")))
		clock = strtoll(p + 8, NULL, 10);
	if ((p = strstr(text, "ticks:")))
		ticks = strtoll(p + 6, NULL, 10);
	if ((p = strstr(text, "it_interval: (")))
		sscanf(p + 14, "%lld, %lld", &isec, &insec);
	free(text);
	if (clock != tm->clock || ticks < 0 ||
	    (uint64_t)(isec * 1000000000LL + insec) != tm->interval_ns)
		return -1;
	return ticks;
}

/* One timer into its site (sites of one kind): v[0] open, v[1] periodic; num its interval; num2 ticks. */
static void add_timer(const void *key, const void *val, void *arg)
{
	const struct lt_timer_key *k = key;
	const struct lt_timer *tm = val;
	struct collect_ctx *c = arg;
	struct target *tg = tracer__find(c->t, k->tgid);
	struct lt_site_id id = site_id_of(&tm->site);
	struct lt_site *s;

	if (!tg || !target__alive(tg))
		return;
	s = site_set__get(c->ss, &id, k->kind);
	if (!s) {
		c->err = -ENOMEM;
		return;
	}
	if (s->v[0] == 0)
		s->num2 = k->kind == LT_TIMER_FD && c->report ? 0 : -1;
	s->v[0]++;
	if (tm->armed && tm->interval_ns) {
		s->v[1]++;
		if (!s->num)
			s->num = tm->interval_ns;
	}
	if (!s->oldest_ns || tm->created_ns < s->oldest_ns)
		s->oldest_ns = tm->created_ns;
	if (k->kind == LT_TIMER_FD && c->report) {
		int64_t ticks = check_timerfd(tg->pid, (int)k->id, tm);
		struct timer_state *st = state(c->t, tg);

		if (ticks < 0 && st)
			st->mismatch++;
		else if (ticks >= 0 && s->num2 >= 0)
			s->num2 += ticks;
	}
}

static uint32_t go_kind(enum go_timer_kind k)
{
	return k == GO_TIMER_TICKER ? LT_TIMER_GO_TICKER :
	       k == GO_TIMER_AFTERFUNC ? LT_TIMER_GO_AFTERFUNC : LT_TIMER_GO_TIMER;
}

/*
 * TG's live Go timers (Timer, Ticker, AfterFunc; not the runtime's own),
 * from its P heaps, at their creation sites: the stack the start probe
 * took, or no stack for one started before the attach.
 */
static int collect_go(struct tracer *t, struct target *tg, struct site_set *ss)
{
	struct gobin *gb = goproc__gobin(tg->go);
	bool newer = gb && gobin__version_cmp(gb, 1, 23) >= 0;
	int fd = bpf_map__fd(t->skel->maps.go_timers), n = 0, err;
	struct go_timer *tm = NULL;

	err = goproc__timers(tg->go, &tm, &n);
	if (err)
		return err == -EOPNOTSUPP || err == -ESRCH ? 0 : err;
	for (int i = 0; i < n; i++) {
		struct lt_go_timer_key k = { .tgid = tg->pid, .ptr = newer ? tm[i].arg : tm[i].addr };
		struct lt_site_id id = { (uint32_t)tg->pid };
		struct lt_go_site gs;
		struct lt_site *s;

		if (tm[i].kind == GO_TIMER_OTHER)
			continue;
		if (bpf_map_lookup_elem(fd, &k, &gs) == 0) {
			id = site_id_of(&gs.site);
			id.anc = gs.anc;	/* --go-ancestry: the creating goroutine's */
		}
		s = site_set__get(ss, &id, go_kind(tm[i].kind));
		if (!s) {
			free(tm);
			return -ENOMEM;
		}
		s->num2 = -1;
		s->v[0]++;
		if (tm[i].period > 0) {
			s->v[1]++;
			s->num = (uint64_t)tm[i].period;
		}
	}
	free(tm);
	return 0;
}

static int collect(struct tracer *t, struct site_set *ss, bool report)
{
	int err;

	for (int i = 0; report && i < t->ntg; i++) {
		struct timer_state *st = state(t, t->tg[i]);

		if (st && target__alive(t->tg[i]))
			st->mismatch = 0;
	}
	err = collect__map(t, bpf_map__fd(t->skel->maps.timers), sizeof(struct lt_timer_key),
			   sizeof(struct lt_timer), add_timer, ss, report);
	for (int i = 0; !err && i < t->ntg; i++)
		if (target__alive(t->tg[i]) && target__go(t, t->tg[i]))
			err = collect_go(t, t->tg[i], ss);
	return err;
}

static const char *kind_name(uint64_t kind)
{
	switch (kind) {
	case LT_TIMER_FD: return "timerfd";
	case LT_TIMER_POSIX: return "posix";
	case LT_TIMER_GO_TICKER: return "go_ticker";
	case LT_TIMER_GO_AFTERFUNC: return "go_afterfunc";
	default: return "go_timer";
	}
}

static void finish(struct tracer *t, struct lt_section *sec, struct lt_report *r)
{
	sec->note = tracer__hooks(t);
	r->hooks = sec->note;
	for (int i = 0; i < t->ntg; i++) {
		struct timer_state *st = state(t, t->tg[i]);

		if (st)
			r->drops[LT_DROP_TIMER_MISMATCH] += st->mismatch;
	}
	for (int i = 0; i < sec->nsites; i++)
		sec->sites[i].label = strdup(kind_name(sec->sites[i].tag));
}

const struct tracker lt_tracker_timers = {
	.name = "timers",
	.track = LT_TRACK_TIMERS,
	.view = &lt_view_timers,
	.plan_tracker = LT_TRACKER_TIMERS,
	.keep_dead = true,
	.configure = configure,
	.prog = prog,
	.attach = attach,
	.watch = watch,
	.gc = gc,
	.stack_refs = stack_refs,
	.collect = collect,
	.finish = finish,
};
