// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Probes and hooks in, and out again: see attach.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "log.h"
#include "umulti.h"

#define MULTI_MAX 64	/* probes of one file and tracker in one link */

/* Shared mode: what is attached already, once per file. */
struct shared_probe {
	uint64_t dev, inode, off;
	int tracker;
};

struct attach {
	bool multi, shared;
	attach_prog_fn prog;
	void *ctx;
	struct bpf_link **links;	/* perf-event uprobes, tracepoints and hooks */
	int nlinks, caplinks;
	int *fds;			/* uprobe_multi links */
	int nfds, capfds;
	struct shared_probe *sp;
	int nsp;
	struct bpf_program *session[LT_TRACKER__MAX];	/* a tracker's uprobe session program */
};

struct attach *attach__new(bool multi, bool shared, attach_prog_fn prog, void *ctx)
{
	struct attach *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->multi = multi;
	a->shared = shared;
	a->prog = prog;
	a->ctx = ctx;
	return a;
}

static int hold_link(struct attach *a, struct bpf_link *l)
{
	if (a->nlinks == a->caplinks) {
		int nc = a->caplinks ? a->caplinks * 2 : 64;
		struct bpf_link **n = realloc(a->links, nc * sizeof(*n));

		if (!n) {
			bpf_link__destroy(l);
			return -ENOMEM;
		}
		a->links = n;
		a->caplinks = nc;
	}
	a->links[a->nlinks++] = l;
	return 0;
}

static int hold_fd(struct attach *a, int fd)
{
	if (a->nfds == a->capfds) {
		int nc = a->capfds ? a->capfds * 2 : 16;
		int *n = realloc(a->fds, nc * sizeof(*n));

		if (!n) {
			close(fd);
			return -ENOMEM;
		}
		a->fds = n;
		a->capfds = nc;
	}
	a->fds[a->nfds++] = fd;
	return 0;
}

static uint64_t probe_off(const struct lt_probe *pr)
{
	return pr->file_off + pr->choice.off[pr->cur];
}

static uint64_t probe_cookie(const struct lt_probe *pr)
{
	return pr->func | (pr->ret ? LT_COOKIE_HAS_RET : 0);
}

void attach__set_session(struct attach *a, enum lt_tracker tracker, struct bpf_program *prog)
{
	a->session[tracker] = prog;
}

static void log_probe(const struct attach *a, const struct lt_plan *plan, const struct lt_probe *pr)
{
	bool ret = pr->ret && a->prog(a->ctx, pr->tracker, true);

	lt_info(1, "probe %s %s +0x%x addr=0x%lx (%s)%s\n", pr->sym, plan->mods[pr->mod].path,
		pr->choice.off[pr->cur], (unsigned long)pr->addr, pr->choice.why[pr->cur],
		a->multi && a->session[pr->tracker] ? ", uprobe session" :
		ret ? ", with return probe" : ", entry only");
}

/* Older kernels: one perf-event uprobe (and uretprobe) per probe. */
static int attach_perf(struct attach *a, int pid, struct lt_plan *plan, struct lt_probe *pr)
{
	struct bpf_program *ep = a->prog(a->ctx, pr->tracker, false);
	struct bpf_program *rp = pr->ret ? a->prog(a->ctx, pr->tracker, true) : NULL;
	const char *path = plan->mods[pr->mod].open_path;
	LIBBPF_OPTS(bpf_uprobe_opts, eo, .bpf_cookie = probe_cookie(pr));
	LIBBPF_OPTS(bpf_uprobe_opts, ro, .bpf_cookie = probe_cookie(pr) | LT_COOKIE_RET, .retprobe = true);
	struct bpf_link *le, *lr = NULL;

	if (!ep)
		return -ENOENT;
	le = bpf_program__attach_uprobe_opts(ep, pid, path, probe_off(pr), &eo);
	if (!le)
		return -errno;
	if (rp) {
		lr = bpf_program__attach_uprobe_opts(rp, pid, path, probe_off(pr), &ro);
		if (!lr) {
			int err = -errno;

			bpf_link__destroy(le);
			return err;
		}
	}
	if (hold_link(a, le) || (lr && hold_link(a, lr)))
		return -ENOMEM;
	return 0;
}

/*
 * uprobe_multi: one entry link and one return link for the probes
 * IDX[0..N) of one file and tracker; or, when the tracker has a session
 * program, one session link whose program runs at both ends.
 */
static int attach_multi(struct attach *a, int pid, struct lt_plan *plan, const int *idx, int n)
{
	uint64_t offs[MULTI_MAX], cookies[MULTI_MAX], roffs[MULTI_MAX], rcookies[MULTI_MAX];
	const struct lt_probe *first = &plan->probes[idx[0]];
	const char *path = plan->mods[first->mod].open_path;
	struct bpf_program *ep = a->prog(a->ctx, first->tracker, false);
	struct bpf_program *rp = a->prog(a->ctx, first->tracker, true);
	int ne = 0, nr = 0, efd, rfd = -1;

	if (a->session[first->tracker]) {
		ep = a->session[first->tracker];
		rp = NULL;
	}
	if (!ep)
		return -ENOENT;
	for (int i = 0; i < n && i < MULTI_MAX; i++) {
		const struct lt_probe *pr = &plan->probes[idx[i]];

		offs[ne] = probe_off(pr);
		cookies[ne++] = probe_cookie(pr);
		if (pr->ret && rp) {
			roffs[nr] = probe_off(pr);
			rcookies[nr++] = probe_cookie(pr) | LT_COOKIE_RET;
		}
	}
	efd = umulti__attach(bpf_program__fd(ep), path, offs, cookies, ne, pid,
			     a->session[first->tracker] ? UMULTI_SESSION : UMULTI_ENTRY);
	if (efd < 0)
		return efd;
	if (nr) {
		rfd = umulti__attach(bpf_program__fd(rp), path, roffs, rcookies, nr, pid, UMULTI_RETURN);
		if (rfd < 0) {
			close(efd);
			return rfd;
		}
	}
	if (hold_fd(a, efd) || (rfd >= 0 && hold_fd(a, rfd)))
		return -ENOMEM;
	return 0;
}

int attach__probe(struct attach *a, int pid, struct lt_plan *plan, int i)
{
	struct lt_probe *pr = &plan->probes[i];
	int err;

	if (a->shared)
		pid = a->multi ? 0 : -1;
	for (;;) {
		err = a->multi ? attach_multi(a, pid, plan, &i, 1) : attach_perf(a, pid, plan, pr);
		if (err != -EINVAL || pr->cur + 1 >= pr->choice.n)
			break;
		lt_err("the kernel refused a probe on %s+0x%x in %s (EINVAL: another tracer, such as bcc, may have left a stale probe there); trying +0x%x\n",
		       pr->sym, pr->choice.off[pr->cur], plan->mods[pr->mod].path, pr->choice.off[pr->cur + 1]);
		pr->cur++;
	}
	if (err) {
		lt_err("failed to attach uprobe to %s in %s: %s\n", pr->sym, plan->mods[pr->mod].path,
		       strerror(-err));
		return err;
	}
	pr->attached = true;
	log_probe(a, plan, pr);
	return 0;
}

static struct shared_probe shared_key(const struct lt_plan *plan, const struct lt_probe *pr)
{
	const struct lt_module *m = &plan->mods[pr->mod];
	struct shared_probe k = { m->dev, m->inode, probe_off(pr), pr->tracker };

	return k;
}

/* Shared mode: probes another plan already attached (same file and offset) are in. */
static int mark_shared(struct attach *a, struct lt_plan *plan)
{
	int n = 0;

	for (int i = 0; i < plan->nprobes; i++) {
		struct shared_probe k = shared_key(plan, &plan->probes[i]);

		for (int j = 0; j < a->nsp && !plan->probes[i].attached; j++) {
			const struct shared_probe *o = &a->sp[j];

			/* field by field: the struct has padding */
			if (o->dev == k.dev && o->inode == k.inode && o->off == k.off && o->tracker == k.tracker) {
				plan->probes[i].attached = plan->probes[i].shared = true;
				n++;
			}
		}
	}
	return n;
}

static void remember_shared(struct attach *a, const struct lt_plan *plan)
{
	for (int i = 0; i < plan->nprobes; i++) {
		struct shared_probe *n;

		if (!plan->probes[i].attached || plan->probes[i].shared)
			continue;
		n = realloc(a->sp, (a->nsp + 1) * sizeof(*n));
		if (!n)
			return;
		a->sp = n;
		a->sp[a->nsp++] = shared_key(plan, &plan->probes[i]);
	}
}

int attach__plan(struct attach *a, int pid, struct lt_plan *plan, bool keep_going)
{
	int n = a->shared ? mark_shared(a, plan) : 0, err;

	for (int g = 0; g < plan->nmods * LT_TRACKER__MAX; g++) {
		int idx[MULTI_MAX], k = 0, m = g / LT_TRACKER__MAX;
		enum lt_tracker tk = g % LT_TRACKER__MAX;

		for (int i = 0; i < plan->nprobes && k < MULTI_MAX; i++)
			if (plan->probes[i].mod == m && plan->probes[i].tracker == tk && !plan->probes[i].attached)
				idx[k++] = i;
		if (!k)
			continue;
		if (a->multi && k > 1 &&
		    attach_multi(a, a->shared ? 0 : pid, plan, idx, k) == 0) {
			for (int i = 0; i < k; i++) {
				struct lt_probe *pr = &plan->probes[idx[i]];

				pr->attached = true;
				log_probe(a, plan, pr);
			}
			n += k;
			continue;
		}
		/* one by one: finds the probe the kernel refuses, and its fallback offset */
		for (int i = 0; i < k; i++) {
			const struct lt_probe *pr = &plan->probes[idx[i]];

			err = attach__probe(a, pid, plan, idx[i]);
			if (err && !keep_going && (pr->func == LT_FN_MALLOC || pr->func == LT_FN_FREE))
				return err;
			n += !err;
		}
	}
	if (a->shared)
		remember_shared(a, plan);
	return n;
}

int attach__uprobe(struct attach *a, struct bpf_program *prog, const char *path, uint64_t off, int pid,
		   uint64_t cookie, const char *what)
{
	int err;

	if (a->shared)
		pid = a->multi ? 0 : -1;
	if (a->multi) {
		int fd = umulti__attach(bpf_program__fd(prog), path, &off, &cookie, 1, pid, UMULTI_ENTRY);

		err = fd < 0 ? fd : hold_fd(a, fd);
	} else {
		LIBBPF_OPTS(bpf_uprobe_opts, o, .bpf_cookie = cookie);
		struct bpf_link *l = bpf_program__attach_uprobe_opts(prog, pid, path, off, &o);

		err = l ? hold_link(a, l) : -errno;
	}
	if (err)
		lt_err("failed to attach uprobe to %s in %s: %s\n", what, path, strerror(-err));
	else
		lt_info(1, "probe %s %s +0x%lx, entry only\n", what, path, (unsigned long)off);
	return err;
}

int attach__prog(struct attach *a, struct bpf_program *prog)
{
	struct bpf_link *l = bpf_program__attach(prog);

	if (!l) {
		int err = -errno;

		lt_err("failed to attach %s: %s\n", bpf_program__section_name(prog), strerror(-err));
		return err;
	}
	lt_info(1, "attached %s\n", bpf_program__section_name(prog));
	return hold_link(a, l);
}

int attach__nlinks(const struct attach *a)
{
	return a ? a->nlinks + a->nfds : 0;
}

static void *destroy_link(void *arg)
{
	bpf_link__destroy(arg);
	return NULL;
}

/*
 * Each uprobe detach waits for an RCU grace period (about 0.1 s here), one
 * after another. Detaching from parallel threads lets the waits overlap.
 */
static void destroy_links(struct bpf_link **links, int n)
{
	pthread_t *th = calloc(n ? n : 1, sizeof(*th));
	bool *started = calloc(n ? n : 1, sizeof(*started));

	for (int i = 0; i < n; i++) {
		if (th && started && pthread_create(&th[i], NULL, destroy_link, links[i]) == 0)
			started[i] = true;
		else
			bpf_link__destroy(links[i]);
	}
	for (int i = 0; i < n; i++)
		if (started && started[i])
			pthread_join(th[i], NULL);
	free(th);
	free(started);
}

void attach__free(struct attach *a)
{
	if (!a)
		return;
	destroy_links(a->links, a->nlinks);
	for (int i = 0; i < a->nfds; i++)
		close(a->fds[i]);
	free(a->links);
	free(a->fds);
	free(a->sp);
	free(a);
}
