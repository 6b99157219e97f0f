// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The fd tracker's collector (BPF side: bpf/fd.bpf.c). A site is a
 * creation stack and its fds still open. The once-a-second sample counts
 * the records; a report also checks every tracked fd against /proc:
 * /proc/PID/fd/N must still lead to the inode it was made with (else the
 * record is stale, a close was missed: counted as fd_mismatch, and
 * dropped), and its link gives the kind and the example (a path, the
 * addresses of a socket from /proc/PID/net by inode). Per process: the
 * fds open in all against RLIMIT_NOFILE, those from before the attach
 * (listed at the first watch, never attributed), and those not seen made
 * (received over a unix socket, or surviving an exec). Timerfds are the
 * timer tracker's: a dup of one is dropped here.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "kfeatures.h"
#include "log.h"
#include "procfd.h"
#include "tracer_priv.h"
#include "util.h"

/* An fd of a process as /proc shows it. */
struct pfd {
	int fd;
	uint64_t dev, ino;	/* stat() of /proc/PID/fd/N (what it leads to) */
};

/* Per target. */
struct fd_target {
	struct pfd *pre;	/* open at the first watch, sorted by fd */
	int npre;
	bool watched;
	/* at the last report while it lived */
	int64_t open, limit, preexisting, untracked;
	int mismatch;
	/* during a report */
	struct pfd *now;	/* open now, sorted by fd */
	int nnow;
	bool *tracked;		/* now[i] is a tracked fd */
	struct net_tab net;
	bool net_read;
};

/* What the shown sites need beyond their counts: kinds and an example. */
struct fd_detail {
	struct lt_site_id id;
	int64_t kinds[LT_FDK__MAX];
	char example[128];
	uint64_t example_ns;
};

struct fds_state {
	struct fd_detail *d;	/* the last report's, sorted by id after collect */
	int n, cap;
	struct lt_fd_key *stale;	/* records to drop after a report's walk */
	int nstale, capstale;
};

static struct fds_state *state(struct tracer *t)
{
	return tracer__state(t, &lt_tracker_fds, sizeof(struct fds_state));
}

static struct fd_target *tstate(struct tracer *t, struct target *tg)
{
	return target__state(tg, t, &lt_tracker_fds, sizeof(struct fd_target));
}

/*
 * Only the programs that will run load: each copy of the unwinder costs
 * the verifier about 0.15 s here. The wrappers' uprobe program only where
 * the plan has those probes (-a).
 */
static void configure(struct tracer *t)
{
	struct leaktrace_bpf *sk = t->skel;
	bool on = tracer__slot(t, &lt_tracker_fds) != NULL;
	bool flush = t->fd_release_fn && strcmp(t->fd_release_fn, "filp_flush") == 0;

	bpf_program__set_autoload(sk->progs.lt_fd_sys_exit, on);
	bpf_program__set_autoload(sk->progs.lt_fd_exec, on && t->hook == LT_HOOK_TRACEPOINT);
	bpf_program__set_autoload(sk->progs.lt_fd_entry, on && plan__stack_probes());

	bpf_program__set_autoload(sk->progs.lt_fd_close_fentry, on && t->hook == LT_HOOK_FENTRY && !flush);
	bpf_program__set_autoload(sk->progs.lt_fd_flush_fentry, on && t->hook == LT_HOOK_FENTRY && flush);
	bpf_program__set_autoload(sk->progs.lt_fd_close_kprobe, on && t->hook == LT_HOOK_KPROBE && !flush);
	bpf_program__set_autoload(sk->progs.lt_fd_flush_kprobe, on && t->hook == LT_HOOK_KPROBE && flush);
}

static struct bpf_program *prog(struct tracer *t, bool ret)
{
	return ret || !plan__stack_probes() ? NULL : t->skel->progs.lt_fd_entry;
}

/*
 * lt_fd_sys_exit at every syscall's exit (it picks those that make an fd,
 * and without the hooks close and close_range), and the release hook.
 */
static int attach(struct tracer *t)
{
	struct leaktrace_bpf *sk = t->skel;
	struct bpf_program *progs[] = {
		sk->progs.lt_fd_sys_exit,
		bpf_program__autoload(sk->progs.lt_fd_exec) ? sk->progs.lt_fd_exec : NULL,
		bpf_program__autoload(sk->progs.lt_fd_close_fentry) ? sk->progs.lt_fd_close_fentry : NULL,
		bpf_program__autoload(sk->progs.lt_fd_flush_fentry) ? sk->progs.lt_fd_flush_fentry : NULL,
		bpf_program__autoload(sk->progs.lt_fd_close_kprobe) ? sk->progs.lt_fd_close_kprobe : NULL,
		bpf_program__autoload(sk->progs.lt_fd_flush_kprobe) ? sk->progs.lt_fd_flush_kprobe : NULL,
	};
	int err = kfeatures__tracefs();

	for (size_t i = 0; !err && i < sizeof(progs) / sizeof(progs[0]); i++)
		if (progs[i])
			err = attach__prog(t->att, progs[i]);
	return err;
}

/* ---- /proc ---- */

static int pfd_cmp(const void *a, const void *b)
{
	return ((const struct pfd *)a)->fd - ((const struct pfd *)b)->fd;
}

/* PID's open fds (with STAT: what each leads to), sorted. Count or -errno. */
static int list_fds(int pid, bool with_stat, struct pfd **out)
{
	char path[64];
	struct pfd *v = NULL;
	struct dirent *d;
	int n = 0, cap = 0, dfd;
	DIR *dir;

	*out = NULL;
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	dfd = dirfd(dir);
	while ((d = readdir(dir))) {
		struct pfd p = {};
		struct stat st;
		char *end;

		p.fd = strtol(d->d_name, &end, 10);
		if (*end || end == d->d_name)
			continue;
		if (with_stat && fstatat(dfd, d->d_name, &st, 0) == 0) {
			p.dev = st.st_dev;
			p.ino = st.st_ino;
		}
		if (n == cap) {
			struct pfd *nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*nv));

			if (!nv) {
				free(v);
				closedir(dir);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = p;
	}
	closedir(dir);
	if (n)
		qsort(v, n, sizeof(*v), pfd_cmp);
	*out = v;
	return n;
}

static struct pfd *find_pfd(struct pfd *v, int n, int fd)
{
	struct pfd key = { .fd = fd };

	return n ? bsearch(&key, v, n, sizeof(*v), pfd_cmp) : NULL;
}

/* The fds open at the first look: never attributed. */
static void watch(struct tracer *t, struct target *tg)
{
	struct fd_target *ts = tstate(t, tg);
	int n;

	if (!ts || ts->watched)
		return;
	ts->watched = true;
	n = list_fds(tg->pid, true, &ts->pre);
	ts->npre = n > 0 ? n : 0;
}

static void read_net(struct fd_target *ts, int pid)
{
	static const struct { const char *name; int kind; } tabs[] = {
		{ "tcp", LT_FDK_TCP }, { "tcp6", LT_FDK_TCP }, { "udp", LT_FDK_UDP },
		{ "udp6", LT_FDK_UDP }, { "unix", LT_FDK_UNIX },
	};

	if (ts->net_read)
		return;
	ts->net_read = true;
	for (size_t i = 0; i < sizeof(tabs) / sizeof(tabs[0]); i++) {
		char path[64], *text;

		snprintf(path, sizeof(path), "/proc/%d/net/%s", pid, tabs[i].name);
		text = util__read_file(path, NULL);
		net_tab__parse(&ts->net, text, tabs[i].kind);
		free(text);
	}
	net_tab__sort(&ts->net);
}

static int64_t read_limit(int pid)
{
	char path[64], *text;
	int64_t v;

	snprintf(path, sizeof(path), "/proc/%d/limits", pid);
	text = util__read_file(path, NULL);
	v = fdproc__nofile(text);
	free(text);
	return v;
}

/* ---- records ---- */

static struct fd_detail *detail_of(struct fds_state *st, const struct lt_site_id *id)
{
	for (int i = st->n - 1; i >= 0; i--) {
		struct lt_site_id *o = &st->d[i].id;

		if (o->tgid == id->tgid && o->stack == id->stack && o->caller == id->caller && o->err == id->err &&
		    o->anc == id->anc)
			return &st->d[i];
	}
	if (st->n == st->cap) {
		int nc = st->cap ? st->cap * 2 : 64;
		struct fd_detail *n = realloc(st->d, nc * sizeof(*n));

		if (!n)
			return NULL;
		st->d = n;
		st->cap = nc;
	}
	memset(&st->d[st->n], 0, sizeof(st->d[0]));
	st->d[st->n].id = *id;
	return &st->d[st->n++];
}

static void push_stale(struct fds_state *st, const struct lt_fd_key *k)
{
	if (st->nstale == st->capstale) {
		int nc = st->capstale ? st->capstale * 2 : 64;
		struct lt_fd_key *n = realloc(st->stale, nc * sizeof(*n));

		if (!n)
			return;
		st->stale = n;
		st->capstale = nc;
	}
	st->stale[st->nstale++] = *k;
}

/* /proc/PID/fd/N of R: its kind (-1: a timerfd; -2: not R's file any more) and example. */
static int check_fd(struct fd_target *ts, int pid, const struct lt_fd_key *k, const struct lt_fd *r,
		    char *example, size_t len)
{
	struct pfd *p = find_pfd(ts->now, ts->nnow, k->fd);
	char path[64], link[256];
	uint64_t dev = makedev(r->dev >> 20, r->dev & 0xfffff);
	ssize_t n;

	if (!p || (r->ino && (p->ino != r->ino || p->dev != dev)))
		return -2;
	ts->tracked[p - ts->now] = true;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, k->fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return -2;
	link[n] = 0;
	if (fdproc__socket_ino(link))
		read_net(ts, pid);
	return fdproc__classify(link, &ts->net, example, len);
}

/* One fd into its site: v[0] open. */
static void add_fd(const void *key, const void *val, void *arg)
{
	const struct lt_fd_key *k = key;
	const struct lt_fd *r = val;
	struct collect_ctx *c = arg;
	struct target *tg = tracer__find(c->t, k->tgid);
	struct lt_site_id id = site_id_of(&r->site);
	struct fds_state *st = state(c->t);
	struct lt_site *s;

	if (!tg || !target__alive(tg))
		return;
	id.anc = r->anc;	/* --go-ancestry: the making goroutine's, appended to the stack */
	if (c->report && st) {
		struct fd_target *ts = tstate(c->t, tg);
		char example[128];
		struct fd_detail *d;
		int kind = ts && ts->now ? check_fd(ts, tg->pid, k, r, example, sizeof(example)) : r->kind;

		if (kind < 0) {
			if (kind == -2 && ts)
				ts->mismatch++;
			push_stale(st, k);
			return;
		}
		d = detail_of(st, &id);
		if (d) {
			d->kinds[kind]++;
			if (!d->example_ns || r->created_ns < d->example_ns) {
				d->example_ns = r->created_ns;
				snprintf(d->example, sizeof(d->example), "%s", example);
			}
		}
	}
	s = site_set__get(c->ss, &id, 0);
	if (!s) {
		c->err = -ENOMEM;
		return;
	}
	s->v[0]++;
	if (!s->oldest_ns || r->created_ns < s->oldest_ns)
		s->oldest_ns = r->created_ns;
}

/* Drop a stale record, and its place in the release hooks' index. */
static void forget(struct tracer *t, const struct lt_fd_key *k)
{
	int fd = bpf_map__fd(t->skel->maps.fds), ffd = bpf_map__fd(t->skel->maps.ffiles);
	struct lt_fd r;

	if (bpf_map_lookup_elem(fd, k, &r) == 0 && r.files) {
		struct lt_ffile_key fk = { .files = r.files, .file = r.file };
		struct lt_ffile ff;
		bool empty = true;

		if (bpf_map_lookup_elem(ffd, &fk, &ff) == 0) {
			for (int i = 0; i < LT_FD_DUPS; i++) {
				if (ff.fd[i] == k->fd)
					ff.fd[i] = -1;
				empty &= ff.fd[i] < 0;
			}
			if (empty)
				bpf_map_delete_elem(ffd, &fk);
			else
				bpf_map_update_elem(ffd, &fk, &ff, BPF_EXIST);
		}
	}
	bpf_map_delete_elem(fd, k);
}

/* A report: read each live target's fds before the walk. */
static void begin_report(struct tracer *t)
{
	for (int i = 0; i < t->ntg; i++) {
		struct target *tg = t->tg[i];
		struct fd_target *ts = tstate(t, tg);
		int n;

		if (!ts || !target__alive(tg))
			continue;
		ts->mismatch = 0;
		n = list_fds(tg->pid, true, &ts->now);
		ts->nnow = n > 0 ? n : 0;
		ts->tracked = calloc(ts->nnow ? ts->nnow : 1, sizeof(*ts->tracked));
		ts->net_read = false;
	}
}

/* After the walk: the per-process totals, and what is left of the report's reads. */
static void end_report(struct tracer *t)
{
	for (int i = 0; i < t->ntg; i++) {
		struct target *tg = t->tg[i];
		struct fd_target *ts = tstate(t, tg);
		int64_t pre = 0, untracked = 0, tracked = 0;

		if (!ts || !ts->now)
			continue;
		for (int j = 0; j < ts->nnow; j++) {
			struct pfd *p = &ts->now[j], *old;
			char path[64], link[64];
			ssize_t n;

			if (ts->tracked && ts->tracked[j]) {
				tracked++;
				continue;
			}
			old = find_pfd(ts->pre, ts->npre, p->fd);
			if (old && old->dev == p->dev && old->ino == p->ino) {
				pre++;
				continue;
			}
			/* timerfds are counted by the timer tracker */
			snprintf(path, sizeof(path), "/proc/%d/fd/%d", tg->pid, p->fd);
			n = readlink(path, link, sizeof(link) - 1);
			if (n > 0 && (link[n] = 0, strcmp(link, "anon_inode:[timerfd]") == 0))
				continue;
			untracked++;
		}
		ts->open = ts->nnow;
		ts->preexisting = pre;
		ts->untracked = untracked;
		ts->limit = read_limit(tg->pid);
		free(ts->now);
		free(ts->tracked);
		ts->now = NULL;
		ts->tracked = NULL;
		ts->nnow = 0;
		net_tab__free(&ts->net);
	}
}

static int id_cmp(const void *pa, const void *pb)
{
	const struct lt_site_id *a = &((const struct fd_detail *)pa)->id, *b = &((const struct fd_detail *)pb)->id;

	if (a->tgid != b->tgid)
		return a->tgid < b->tgid ? -1 : 1;
	if (a->stack != b->stack)
		return a->stack < b->stack ? -1 : 1;
	if (a->err != b->err)
		return a->err < b->err ? -1 : 1;
	if (a->anc != b->anc)
		return a->anc < b->anc ? -1 : 1;
	return a->caller < b->caller ? -1 : a->caller > b->caller;
}

static int collect(struct tracer *t, struct site_set *ss, bool report)
{
	struct fds_state *st = state(t);
	int err;

	if (report && st) {
		st->n = 0;
		st->nstale = 0;
		begin_report(t);
	}
	err = collect__map(t, bpf_map__fd(t->skel->maps.fds), sizeof(struct lt_fd_key), sizeof(struct lt_fd),
			   add_fd, ss, report);
	if (report && st) {
		for (int i = 0; i < st->nstale; i++)
			forget(t, &st->stale[i]);
		end_report(t);
		if (st->n)
			qsort(st->d, st->n, sizeof(*st->d), id_cmp);
	}
	return err;
}

struct before_ctx {
	uint32_t tgid;
	uint64_t ns;
	struct lt_fd_key *keys;
	int n, cap;
};

static void made_before(const void *key, const void *val, void *arg)
{
	const struct lt_fd_key *k = key;
	const struct lt_fd *r = val;
	struct before_ctx *b = arg;

	if (k->tgid != b->tgid || r->created_ns >= b->ns)
		return;
	if (b->n == b->cap) {
		int nc = b->cap ? b->cap * 2 : 64;
		struct lt_fd_key *n = realloc(b->keys, nc * sizeof(*n));

		if (!n)
			return;
		b->keys = n;
		b->cap = nc;
	}
	b->keys[b->n++] = *k;
}

/*
 * An exec: the fds of the old image that survived it are no longer
 * attributed (their stacks were the old image's); they count among the
 * process's fds not seen made.
 */
static void exec(struct tracer *t, struct target *tg, uint64_t ns)
{
	struct before_ctx b = { .tgid = tg->pid, .ns = ns };

	map__for_each(bpf_map__fd(t->skel->maps.fds), sizeof(struct lt_fd_key), sizeof(struct lt_fd),
		      made_before, &b);
	for (int i = 0; i < b.n; i++)
		forget(t, &b.keys[i]);
	free(b.keys);
}

static void gc(struct tracer *t, const struct u64_vec *dead)
{
	map__delete_tgids(bpf_map__fd(t->skel->maps.fds), sizeof(struct lt_fd_key), dead);
	/* the index is keyed by table: its entries say their tgid */
	map__delete_by_value_u32(bpf_map__fd(t->skel->maps.ffiles), sizeof(struct lt_ffile_key),
				 sizeof(struct lt_ffile), offsetof(struct lt_ffile, tgid), dead);
}

static void stack_refs(struct tracer *t, struct u64_vec *refs)
{
	map__collect_u64(bpf_map__fd(t->skel->maps.fds), sizeof(struct lt_fd_key), sizeof(struct lt_fd),
			 false, offsetof(struct lt_fd, site.stack), refs);
}

static void add_tgid(const void *key, const void *val, void *ctx)
{
	const struct lt_fd_key *k = key;

	(void)val;
	if (!u64_vec__has(ctx, k->tgid))
		u64_vec__push(ctx, k->tgid);
}

static void discover(struct tracer *t, struct u64_vec *tgids)
{
	map__for_each(bpf_map__fd(t->skel->maps.fds), sizeof(struct lt_fd_key), sizeof(struct lt_fd),
		      add_tgid, tgids);
}

static const char *const kind_keys[LT_FDK__MAX - 1] = {
	"file", "tcp", "udp", "unix", "pipe", "eventfd", "epoll", "other",
};

static bool has_site(const struct lt_section *sec, int pid)
{
	for (int i = 0; i < sec->nsites; i++)
		if (sec->sites[i].pid == pid)
			return true;
	return false;
}

static void finish(struct tracer *t, struct lt_section *sec, struct lt_report *r)
{
	struct fds_state *st = state(t);
	double worst = -1;
	int nproc = 0;

	sec->note = tracer__hooks(t);
	r->hooks = sec->note;
	sec->procs = calloc(t->ntg ? t->ntg : 1, sizeof(*sec->procs));
	for (int i = 0; i < t->ntg; i++) {
		struct target *tg = t->tg[i];
		struct fd_target *ts = tstate(t, tg);
		struct lt_proc *p;

		if (!ts)
			continue;
		r->drops[LT_DROP_FD_MISMATCH] += ts->mismatch;
		if (!ts->watched || !ts->limit)
			continue;
		sec->extra[1] += ts->preexisting;
		sec->extra[2] += ts->open;
		sec->extra[3] += ts->untracked;
		/* the limit of the process nearest its own */
		if (ts->limit > 0 && (double)ts->open / ts->limit > worst) {
			worst = (double)ts->open / ts->limit;
			sec->extra[0] = ts->limit;
		}
		if (!sec->procs || (t->o->all && !has_site(sec, tg->pid)))
			continue;
		p = &sec->procs[nproc++];
		p->pid = tg->pid;
		memcpy(p->comm, tg->comm, sizeof(p->comm));
		p->v[0] = ts->open;
		p->v[1] = ts->limit;
		p->v[2] = ts->preexisting;
		p->v[3] = ts->untracked;
	}
	sec->nprocs = sec->nprocs_total = nproc;
	for (int i = 0; st && i < sec->nsites; i++) {
		struct lt_site *s = &sec->sites[i];
		struct fd_detail key = { .id = s->id }, *d;

		d = st->n ? bsearch(&key, st->d, st->n, sizeof(*st->d), id_cmp) : NULL;
		if (!d)
			continue;
		s->counts = calloc(LT_FDK__MAX - 1, sizeof(*s->counts));
		if (!s->counts)
			continue;
		s->ncounts = LT_FDK__MAX - 1;
		for (int k = 0; k < s->ncounts; k++) {
			s->counts[k].name = strdup(kind_keys[k]);
			s->counts[k].n = d->kinds[k + 1];
		}
		/* what BPF could not tell and /proc did not either */
		s->counts[LT_FDK_OTHER - 1].n += d->kinds[LT_FDK_UNKNOWN];
		s->label = strdup(d->example);
	}
}

static void tk_free(struct tracer *t)
{
	struct fds_state *st = state(t);

	for (int i = 0; i < t->ntg; i++) {
		struct fd_target *ts = tstate(t, t->tg[i]);

		if (ts) {
			free(ts->pre);
			free(ts->now);
			free(ts->tracked);
			net_tab__free(&ts->net);
		}
	}
	if (st) {
		free(st->d);
		free(st->stale);
	}
}

const struct tracker lt_tracker_fds = {
	.name = "fds",
	.track = LT_TRACK_FDS,
	.view = &lt_view_fds,
	.plan_tracker = LT_TRACKER_FDS,
	.keep_dead = true,
	.needs_no_probes = true,
	.configure = configure,
	.prog = prog,
	.attach = attach,
	.watch = watch,
	.exec = exec,
	.gc = gc,
	.stack_refs = stack_refs,
	.discover = discover,
	.collect = collect,
	.finish = finish,
	.free = tk_free,
};
