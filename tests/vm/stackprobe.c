// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * stackprobe PID SECONDS [ret:]FILE:FUNC...
 * Attaches a uprobe at the entry of each FUNC in FILE for PID, waits until
 * every probe has fired once (or SECONDS), and prints per probe:
 *   stack FUNC: ret=0x... ips=0x... 0x... ...  caller: in stack|missing
 * "in stack" means ips[1] is the return address at [rsp], i.e. the kernel
 * put the immediate caller into the stack; "missing" means it skipped it.
 * A ret:FILE:FUNC argument attaches an empty return probe instead, so that
 * later stacks are taken with it pending; an ip in the target's [uprobes]
 * mapping is then printed as "0x...[uprobes]", and the line ends in
 * "trampoline: in stack" (or "trampoline: not in stack").
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stackprobe.skel.h"

#define SP_DEPTH 8
struct hit {
	unsigned long long ip, ret;
	long long n;
	unsigned long long ips[SP_DEPTH];
};

static int quiet(enum libbpf_print_level l, const char *fmt, va_list ap)
{
	return l == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

/* The [uprobes] mapping of pid, or lo = hi = 0. */
static void uprobes_vma(int pid, uint64_t *lo, uint64_t *hi)
{
	char path[64], line[512];
	FILE *f;

	*lo = *hi = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	if (!(f = fopen(path, "r")))
		return;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[uprobes]"))
			sscanf(line, "%" SCNx64 "-%" SCNx64, lo, hi);
	fclose(f);
}

int main(int argc, char **argv)
{
	struct stackprobe_bpf *skel;
	int pid, secs, n = 0, fd, nret = 0;
	const char *names[16];
	uint64_t lo, hi;

	if (argc < 4 || argc - 3 > 16) {
		fprintf(stderr, "usage: stackprobe PID SECONDS [ret:]FILE:FUNC...\n");
		return 2;
	}
	pid = atoi(argv[1]);
	secs = atoi(argv[2]);
	libbpf_set_print(quiet);
	if (!(skel = stackprobe_bpf__open_and_load())) {
		fprintf(stderr, "stackprobe: cannot load the BPF program\n");
		return 1;
	}
	for (int i = 3; i < argc; i++) {
		bool ret = !strncmp(argv[i], "ret:", 4);
		LIBBPF_OPTS(bpf_uprobe_opts, o, .bpf_cookie = n, .retprobe = ret);
		char *file = strdup(argv[i] + (ret ? 4 : 0)), *func = strrchr(file, ':');

		if (!func)
			return 2;
		*func++ = 0;
		o.func_name = func;
		if (!bpf_program__attach_uprobe_opts(ret ? skel->progs.stackret : skel->progs.stackprobe,
						     pid, file, 0, &o)) {
			fprintf(stderr, "stackprobe: cannot attach to %s in %s\n", func, file);
			return 1;
		}
		if (ret)
			nret++;
		else
			names[n++] = func;
	}
	printf("attached\n");
	fflush(stdout);
	fd = bpf_map__fd(skel->maps.hits);
	for (int t = 0; t < secs * 10; t++) {
		int done = 0;

		for (int i = 0; i < n; i++) {
			struct hit h;
			unsigned int k = i;

			if (!bpf_map_lookup_elem(fd, &k, &h) && h.ip)
				done++;
		}
		if (done == n)
			break;
		usleep(100000);
	}
	uprobes_vma(pid, &lo, &hi);
	for (int i = 0; i < n; i++) {
		struct hit h = {};
		unsigned int k = i;
		const char *func = names[i];
		bool tramp = false;

		bpf_map_lookup_elem(fd, &k, &h);
		if (!h.ip) {
			printf("stack %s: no hit\n", func);
			continue;
		}
		printf("stack %s: ret=0x%llx ips=", func, h.ret);
		for (int j = 0; j < SP_DEPTH && j * 8 < h.n && h.ips[j]; j++) {
			bool in = h.ips[j] >= lo && h.ips[j] < hi;

			printf("%s0x%llx%s", j ? "," : "", h.ips[j], in ? "[uprobes]" : "");
			tramp |= in;
		}
		printf("  caller: %s", h.n >= 16 && h.ips[1] == h.ret ? "in stack" : "missing");
		if (nret)
			printf("  trampoline: %s", tramp ? "in stack" : "not in stack");
		printf("\n");
	}
	stackprobe_bpf__destroy(skel);
	return 0;
}
