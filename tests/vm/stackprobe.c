// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * stackprobe PID SECONDS FILE:FUNC...
 * Attaches a uprobe at the entry of each FUNC in FILE for PID, waits until
 * every probe has fired once (or SECONDS), and prints per probe:
 *   stack FUNC: ret=0x... ips=0x... 0x... ...  caller: in stack|missing
 * "in stack" means ips[1] is the return address at [rsp], i.e. the kernel
 * put the immediate caller into the stack; "missing" means it skipped it.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
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

int main(int argc, char **argv)
{
	struct stackprobe_bpf *skel;
	int pid, secs, n = argc - 3, fd;

	if (argc < 4 || n > 16) {
		fprintf(stderr, "usage: stackprobe PID SECONDS FILE:FUNC...\n");
		return 2;
	}
	pid = atoi(argv[1]);
	secs = atoi(argv[2]);
	libbpf_set_print(quiet);
	if (!(skel = stackprobe_bpf__open_and_load())) {
		fprintf(stderr, "stackprobe: cannot load the BPF program\n");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, o, .bpf_cookie = i);
		char *file = strdup(argv[3 + i]), *func = strrchr(file, ':');

		if (!func)
			return 2;
		*func++ = 0;
		o.func_name = func;
		if (!bpf_program__attach_uprobe_opts(skel->progs.stackprobe, pid, file, 0, &o)) {
			fprintf(stderr, "stackprobe: cannot attach to %s in %s\n", func, file);
			return 1;
		}
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
	for (int i = 0; i < n; i++) {
		struct hit h = {};
		unsigned int k = i;
		const char *func = strrchr(argv[3 + i], ':') + 1;

		bpf_map_lookup_elem(fd, &k, &h);
		if (!h.ip) {
			printf("stack %s: no hit\n", func);
			continue;
		}
		printf("stack %s: ret=0x%llx ips=", func, h.ret);
		for (int j = 0; j < SP_DEPTH && j * 8 < h.n && h.ips[j]; j++)
			printf("%s0x%llx", j ? "," : "", h.ips[j]);
		printf("  caller: %s\n", h.n >= 16 && h.ips[1] == h.ret ? "in stack" : "missing");
	}
	stackprobe_bpf__destroy(skel);
	return 0;
}
