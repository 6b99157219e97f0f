// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * -a: every allocator file in use is probed once for every process (pid
 * -1), new files as they appear; the processes with records become
 * targets; the records of processes that are gone, and the stacks nothing
 * refers to any more, are deleted.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "inject_tracer.h"
#include "kfeatures.h"
#include "log.h"
#include "tracer_priv.h"
#include "util.h"

static bool comm_excluded(const struct lt_opts *o, const char *comm)
{
	const char *p = o->exclude_comm;
	size_t n = strlen(comm);

	while (p && *p) {
		size_t l = strcspn(p, ",");

		if (l == n && strncmp(p, comm, l) == 0)
			return true;
		p += l + (p[l] == ',');
	}
	return false;
}

/* Keep the excluded map in step with the processes that run now. */
static void update_excluded(struct tracer *t)
{
	int fd = bpf_map__fd(t->skel->maps.excluded);
	DIR *proc;
	struct dirent *d;

	if (!t->o->exclude_comm || !(proc = opendir("/proc")))
		return;
	while ((d = readdir(proc))) {
		__u32 pid = strtoul(d->d_name, NULL, 10);
		char comm[16];
		__u8 one = 1;

		if (!pid)
			continue;
		util__comm(pid, comm, sizeof(comm));
		if (comm_excluded(t->o, comm))
			bpf_map_update_elem(fd, &pid, &one, BPF_ANY);
	}
	closedir(proc);
}

int tracer__attach_system(struct tracer *t, bool first)
{
	int added, n, err;

	if (first) {
		char rel[65];

		if (kfeatures__seccomp_uretprobe_bug(rel, sizeof(rel)) && !t->o->force) {
			lt_err("kernel %s may kill seccomp-filtered services at a uretprobe return (systemd#34615); -a refuses it without --force\n",
			       rel);
			return -EPERM;
		}
	}
	update_excluded(t);
	added = plan__system(&t->sysplan, t->o->track, getpid());
	if (added < 0) {
		lt_err("cannot scan /proc: %s\n", strerror(-added));
		return added;
	}
	if (!added)
		return 0;
	if (first)
		inject__clear_stale_all(t);	/* a uprobe on a detoured entry would break the process */
	n = attach__plan(t->att, -1, &t->sysplan, true);
	if (n < 0)
		return n;
	err = tracer__attach_trackers(t, &t->sysplan);
	if (err)
		return err;
	t->nprobes += n;
	if (!first)
		lt_info(1, "%d new file%s with allocator functions probed\n", added, added == 1 ? "" : "s");
	return n;
}

/* Every tgid some tracked record belongs to becomes a target. */
void system__discover(struct tracer *t)
{
	struct u64_vec tgids = {};

	for (int k = 0; k < t->ntk; k++)
		if (t->tk[k].tk->discover)
			t->tk[k].tk->discover(t, &tgids);
	for (int i = 0; i < tgids.n; i++)
		if (!tracer__find(t, (int)tgids.v[i]) && util__pid_alive((int)tgids.v[i]))
			tracer__watch(t, (int)tgids.v[i]);
	u64_vec__free(&tgids);
}

/*
 * Exited processes lose their records, and stack ids nothing refers to
 * are deleted -- only ids that were unreferenced at the previous pass too,
 * so an id taken by a record still in flight is never deleted.
 */
void system__gc(struct tracer *t)
{
	struct u64_vec tgids = {}, dead = {}, refs = {}, cand = {};
	int fd = bpf_map__fd(t->skel->maps.stacks);
	__u64 sid, next;
	void *prev = NULL;

	/* every process with a record that is gone, whether it became a target or not */
	for (int k = 0; k < t->ntk; k++)
		if (t->tk[k].tk->discover)
			t->tk[k].tk->discover(t, &tgids);
	for (int i = 0; i < tgids.n; i++)
		if (!util__pid_alive((int)tgids.v[i]) && !u64_vec__has(&dead, tgids.v[i]))
			u64_vec__push(&dead, tgids.v[i]);
	for (int i = 0; i < t->ntg; i++)
		if (t->tg[i]->exited)
			t->tg[i]->gc_done = true;
	for (int k = 0; dead.n && k < t->ntk; k++)
		if (t->tk[k].tk->gc)
			t->tk[k].tk->gc(t, &dead);

	for (int k = 0; k < t->ntk; k++)
		if (t->tk[k].tk->stack_refs)
			t->tk[k].tk->stack_refs(t, &refs);
	u64_vec__sort(&refs);
	u64_vec__sort(&t->gc_stacks);
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		bool referenced = u64_vec__sorted_has(&refs, next);

		if (!referenced && u64_vec__sorted_has(&t->gc_stacks, next)) {
			bpf_map_delete_elem(fd, &next);
			continue;	/* prev still valid: the next key after it */
		}
		sid = next;
		prev = &sid;
		if (!referenced)
			u64_vec__push(&cand, next);
	}
	u64_vec__free(&t->gc_stacks);
	t->gc_stacks = cand;
	u64_vec__free(&tgids);
	u64_vec__free(&dead);
	u64_vec__free(&refs);
}
