// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Command line parsing with argp: strict numbers, conflicts rejected here. */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "leaktrace.h"
#include "opts.h"
#include "trackers.h"
#include "version.h"
#include "log.h"

const char *argp_program_version = "leaktrace " LT_VERSION;
const char *argp_program_bug_address = NULL;

static const char doc[] =
"Find the code that holds memory, threads, timers and file descriptors that\n"
"were never released (and, with --mmap, anonymous mappings),\n"
"in a running process, without restarting it.\n"
"\n"
"Reports every INTERVAL seconds (default 10), COUNT times (default: until\n"
"Ctrl-C), then a final report. The final report is also printed on SIGTERM and\n"
"when the target exits."
"\v"
"EXAMPLES:\n"
"  leaktrace -p 1234                  report every 10 s until Ctrl-C\n"
"  leaktrace -p 1234 --once 30        trace 30 s, print one report, exit\n"
"  leaktrace -p 1234 5 6              six reports, 5 s apart\n"
"  leaktrace -c './server --port 80'  start a command and trace it from exec\n"
"  leaktrace -p 1234 --format json -o leaks.jsonl\n"
"  leaktrace -p 1234 --once 30 --format pprof -o heap.pb.gz\n"
"  leaktrace -p 1234 --format json,folded -o leaks.jsonl,leaks.folded\n"
"  leaktrace -p 1234 --format pprof -o heap.%n.pb.gz 60 10\n"
"  leaktrace -a --serve 127.0.0.1:9464   Prometheus /metrics, pprof over HTTP\n"
"\n"
"Exit status: 0 success, 1 error, 2 usage error, 3 --fail-on-leak found a\n"
"growing site.";

static const char args_doc[] = "[INTERVAL [COUNT]]";

enum {
	OPT_ONCE = 256,
	OPT_MIN_AGE,
	OPT_MIN_SIZE,
	OPT_MAX_SIZE,
	OPT_FORMAT,
	OPT_TRACK,
	OPT_ALLOCATOR,
	OPT_MAX_ALLOCS,
	OPT_MAX_STACKS,
	OPT_SORT,
	OPT_FAIL_ON_LEAK,
	OPT_HOOKS,
	OPT_TOP_PROCS,
	OPT_EXCLUDE_COMM,
	OPT_FORCE,
	OPT_STACKS,
	OPT_SERVE,
	OPT_SERVE_ALLOW,
	OPT_GO_ANCESTRY,
	OPT_GO_MEMPROFILE_RATE,
	OPT_MMAP,
	OPT_SAMPLE,
	OPT_SAMPLE_SEED,
	OPT_EXACT,
};

static const struct argp_option options[] = {
	{ NULL, 0, NULL, 0, "Target (exactly one):", 1 },
	{ "pid", 'p', "PID[,PID...]", 0, "Trace these running processes", 1 },
	{ "command", 'c', "'CMD ARGS'", 0, "Run CMD and trace it from its first allocation", 1 },
	{ "all", 'a', NULL, 0, "Trace every process on the host (costs every process a trap per call)", 1 },
	{ "top-procs", OPT_TOP_PROCS, "N", 0, "With -a: processes per report, by growth (default 5; 0 = all)", 1 },
	{ "exclude-comm", OPT_EXCLUDE_COMM, "LIST", 0, "With -a: leave out processes with these names (comma separated)", 1 },
	{ "force", OPT_FORCE, NULL, 0, "With -a: run even on kernels 6.11-6.13, where a uretprobe can kill seccomp-filtered services", 1 },
	{ "follow", 'f', NULL, 0, "Also trace the processes the targets fork from now on (their inherited blocks stay the parent's)", 1 },

	{ NULL, 0, NULL, 0, "What to track:", 2 },
	{ "track", OPT_TRACK, "LIST", 0, "Trackers to run, comma separated: mem, threads, timers, fds, mmap, goroutines, goheap (default: all but mmap)", 2 },
	{ "mmap", OPT_MMAP, NULL, 0, "Also track anonymous mmap, munmap and mremap made by the program itself (the mmap tracker)", 2 },
	{ "hooks", OPT_HOOKS, "HOW", 0, "How timerfd and fd closes are seen: auto (default: the best the kernel has), fentry, kprobe or tracepoint", 2 },
	{ "stacks", OPT_STACKS, "HOW", 0, "How stacks are walked: auto (default: .eh_frame tables for a program built without frame pointers), fp (frame pointers) or dwarf (.eh_frame tables for every process); -p and -c only", 2 },
	{ "go-ancestry", OPT_GO_ANCESTRY, NULL, 0, "Go: a goroutine's creation stack continues through the go statements that led to it (entry probes on runtime.newproc and runqput; costs each new goroutine two traps)", 2 },
	{ "go-memprofile-rate", OPT_GO_MEMPROFILE_RATE, "BYTES", 0, "Go: set the target's runtime.MemProfileRate to BYTES (opt-in: a write into the target; turns on the heap profile of a program built without it); -p and -c only", 2 },
	{ "sample", OPT_SAMPLE, "BYTES", 0, "Memory: sample allocations, one per BYTES allocated on average (byte-weighted, as Go's heap profile); bytes and counts become estimates. 1 records every allocation. Default with -a: 524288", 2 },
	{ "exact", OPT_EXACT, NULL, 0, "Memory: record every allocation (the default with -p and -c; with -a, instead of sampling)", 2 },
	{ "sample-seed", OPT_SAMPLE_SEED, "N", 0, "With sampling: draw from a generator seeded with N, so that a run can be repeated (each thread starts from the same state)", 2 },
	{ "allocator", OPT_ALLOCATOR, "PATH", 0, "Probe the allocator functions in this file instead of discovering them", 2 },
	{ "max-allocs", OPT_MAX_ALLOCS, "N", 0, "Outstanding allocations tracked at most (default 1000000); more are counted as untracked", 2 },
	{ "max-stacks", OPT_MAX_STACKS, "N", 0, "Distinct stacks kept at most (default 32768)", 2 },

	{ NULL, 0, NULL, 0, "Report:", 3 },
	{ "once", OPT_ONCE, "SECS", 0, "Trace SECS seconds, print one final report, exit", 3 },
	{ "top", 'T', "N", 0, "Sites per tracker (default 10, or 0 when every format is folded or pprof; 0 = all)", 3 },
	{ "sort", OPT_SORT, "KEY", 0, "Order sites by size (default), growth or age", 3 },
	{ "min-age", OPT_MIN_AGE, "SECS", 0, "Only count allocations older than SECS", 3 },
	{ "min-size", OPT_MIN_SIZE, "BYTES", 0, "Only count allocations of at least BYTES", 3 },
	{ "max-size", OPT_MAX_SIZE, "BYTES", 0, "Only count allocations of at most BYTES", 3 },
	{ "format", OPT_FORMAT, "LIST", 0, "text (default), json (JSON Lines), folded (flame graph stacks), pprof (gzip'ed profile.proto; needs -o); several with commas", 3 },
	{ "output", 'o', "FILE[,FILE...]", 0, "One file per --format item, in order ('-': stdout; items left out go to stdout, at most one). %n in a name is the report number", 3 },
	{ "fail-on-leak", OPT_FAIL_ON_LEAK, NULL, 0, "Exit 3 if the final report has a growing site (any, also beyond -T)", 3 },
	{ "serve", OPT_SERVE, "[ADDR:]PORT", 0, "Serve the latest report over HTTP: /metrics (Prometheus), /debug/pprof/heap and the other profiles, /report.json (default address 127.0.0.1; no authentication). Alone, reports are served and not printed", 3 },
	{ "serve-allow", OPT_SERVE_ALLOW, "CIDR[,CIDR...]", 0, "With --serve: only these client addresses (others get 403)", 3 },

	{ NULL, 0, NULL, 0, "Diagnostics:", 4 },
	{ "verbose", 'v', NULL, 0, "More output: -v probes and progress, -vv libbpf debug, -vvv verifier log", 4 },
	{ 0 },
};

/* Set once a message has been printed, so that a usage error is one line. */
static bool error_printed;

static int bad_value(const char *opt, const char *arg, const char *why)
{
	error_printed = true;
	lt_err("invalid value '%s' for %s: %s\n", arg, opt, why);
	return EINVAL;
}

/* Strict integer: the whole string, base 10, within [lo, hi]. */
static int parse_u64(const char *opt, const char *arg, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*arg || *arg == '-' || *arg == '+')
		return bad_value(opt, arg, "expected a non-negative whole number");
	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || *end)
		return bad_value(opt, arg, "expected a non-negative whole number");
	if (v < lo || v > hi) {
		char why[96];

		snprintf(why, sizeof(why), "out of range [%llu, %llu]",
			 (unsigned long long)lo, (unsigned long long)hi);
		return bad_value(opt, arg, why);
	}
	*out = v;
	return 0;
}

static int parse_secs(const char *opt, const char *arg, double lo, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (!*arg || errno || *end || !isfinite(v))
		return bad_value(opt, arg, "expected a number of seconds");
	if (v < lo || v > 31536000.0) {
		char why[64];

		snprintf(why, sizeof(why), "must be between %g and 31536000", lo);
		return bad_value(opt, arg, why);
	}
	*out = v;
	return 0;
}

static int parse_pids(const char *arg, struct lt_opts *o)
{
	char *copy = strdup(arg), *tok, *save = NULL;
	int err = 0;

	if (!copy)
		return ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t pid;

		err = parse_u64("-p", tok, 1, INT_MAX, &pid);
		if (err)
			break;
		if (o->npids >= LT_MAX_PIDS) {
			err = bad_value("-p", arg, "too many PIDs");
			break;
		}
		o->pids[o->npids++] = (int)pid;
	}
	if (!err && o->npids == 0)
		err = bad_value("-p", arg, "expected PID[,PID...]");
	free(copy);
	return err;
}

static int parse_list(const char *opt, const char *arg, const char *const *names,
		      const unsigned *bits, int n, unsigned *out)
{
	char *copy = strdup(arg), *tok, *save = NULL;
	unsigned v = 0;
	int err = 0;

	if (!copy)
		return ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int i;

		for (i = 0; i < n; i++)
			if (strcmp(tok, names[i]) == 0)
				break;
		if (i == n) {
			err = bad_value(opt, arg, "unknown name");
			break;
		}
		v |= bits[i];
	}
	if (!err && !v)
		err = bad_value(opt, arg, "empty list");
	free(copy);
	*out = v;
	return err;
}

/* --format LIST: the formats in their order (the order -o pairs with). */
static int parse_formats(const char *arg, struct lt_opts *o)
{
	static const char *const names[] = { "text", "json", "folded", "pprof" };
	static const enum lt_format fmts[] = { LT_FMT_TEXT, LT_FMT_JSON, LT_FMT_FOLDED, LT_FMT_PPROF };
	char *copy = strdup(arg), *tok, *save = NULL;
	int err = 0;

	if (!copy)
		return ENOMEM;
	o->nouts = 0;
	o->formats = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int i;

		for (i = 0; i < LT_MAX_FORMATS; i++)
			if (strcmp(tok, names[i]) == 0)
				break;
		if (i == LT_MAX_FORMATS) {
			err = bad_value("--format", arg, "expected text, json, folded or pprof");
			break;
		}
		if (o->formats & fmts[i]) {
			err = bad_value("--format", arg, "a format is given twice");
			break;
		}
		o->formats |= fmts[i];
		o->outs[o->nouts].format = fmts[i];
		o->outs[o->nouts].path = NULL;
		o->nouts++;
	}
	if (!err && !o->nouts)
		err = bad_value("--format", arg, "empty list");
	free(copy);
	return err;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct lt_opts *o = state->input;
	uint64_t u;
	int err = 0;

	switch (key) {
	case 'p':
		err = parse_pids(arg, o);
		break;
	case 'c':
		if (!arg[strspn(arg, " \t\n")])
			return bad_value("-c", arg, "the command is empty");
		free(o->command);
		o->command = strdup(arg);
		break;
	case 'a':
		o->all = true;
		break;
	case 'f':
		o->follow = true;
		break;
	case OPT_TOP_PROCS:
		err = parse_u64("--top-procs", arg, 0, INT_MAX, &u);
		o->top_procs = (int)u;
		break;
	case OPT_EXCLUDE_COMM:
		free(o->exclude_comm);
		o->exclude_comm = strdup(arg);
		break;
	case OPT_FORCE:
		o->force = true;
		break;
	case 'T':
		err = parse_u64("-T", arg, 0, INT_MAX, &u);
		o->top = (int)u;
		o->top_set = true;
		break;
	case 'o':
		if (!*arg)
			return bad_value("-o", arg, "empty file name");
		free(o->output);
		o->output = strdup(arg);
		break;
	case 'v':
		o->verbose++;
		break;
	case OPT_ONCE:
		err = parse_secs("--once", arg, 0.1, &o->once);
		break;
	case OPT_MIN_AGE:
		err = parse_secs("--min-age", arg, 0, &o->min_age);
		break;
	case OPT_MIN_SIZE:
		err = parse_u64("--min-size", arg, 0, UINT64_MAX, &o->min_size);
		break;
	case OPT_MAX_SIZE:
		err = parse_u64("--max-size", arg, 0, UINT64_MAX, &o->max_size);
		break;
	case OPT_MAX_ALLOCS:
		err = parse_u64("--max-allocs", arg, 1, 1ULL << 26, &o->max_allocs);
		break;
	case OPT_MAX_STACKS:
		err = parse_u64("--max-stacks", arg, 64, 1 << 20, &u);
		o->max_stacks = (uint32_t)u;
		break;
	case OPT_FORMAT:
		err = parse_formats(arg, o);
		o->format_set = true;
		break;
	case OPT_TRACK: {
		const char *names[LT_TRACKERS_MAX];
		unsigned bits[LT_TRACKERS_MAX];

		for (int i = 0; i < lt_ntrackers; i++) {
			names[i] = lt_trackers[i]->name;
			bits[i] = lt_trackers[i]->track;
		}
		err = parse_list("--track", arg, names, bits, lt_ntrackers, &o->track);
		break;
	}
	case OPT_GO_ANCESTRY:
		o->go_ancestry = true;
		break;
	case OPT_GO_MEMPROFILE_RATE:
		err = parse_u64("--go-memprofile-rate", arg, 1, 1ULL << 30, &u);
		o->go_memprofile_rate = (int64_t)u;
		break;
	case OPT_SERVE:
		if (!*arg)
			return bad_value("--serve", arg, "expected [ADDR:]PORT");
		free(o->serve);
		o->serve = strdup(arg);
		break;
	case OPT_SERVE_ALLOW:
		if (!*arg)
			return bad_value("--serve-allow", arg, "expected CIDR[,CIDR...]");
		free(o->serve_allow);
		o->serve_allow = strdup(arg);
		break;
	case OPT_SORT:
		if (strcmp(arg, "size") == 0)
			o->sort = LT_SORT_SIZE;
		else if (strcmp(arg, "growth") == 0)
			o->sort = LT_SORT_GROWTH;
		else if (strcmp(arg, "age") == 0)
			o->sort = LT_SORT_AGE;
		else
			err = bad_value("--sort", arg, "expected size, growth or age");
		break;
	case OPT_ALLOCATOR:
		free(o->allocator);
		o->allocator = strdup(arg);
		break;
	case OPT_HOOKS:
		if (strcmp(arg, "auto") == 0)
			o->hooks = LT_HOOKS_AUTO;
		else if (strcmp(arg, "fentry") == 0)
			o->hooks = LT_HOOKS_FENTRY;
		else if (strcmp(arg, "kprobe") == 0)
			o->hooks = LT_HOOKS_KPROBE;
		else if (strcmp(arg, "tracepoint") == 0)
			o->hooks = LT_HOOKS_TRACEPOINT;
		else
			err = bad_value("--hooks", arg, "expected auto, fentry, kprobe or tracepoint");
		break;
	case OPT_STACKS:
		if (strcmp(arg, "auto") == 0)
			o->stacks = LT_STACKS_AUTO;
		else if (strcmp(arg, "fp") == 0)
			o->stacks = LT_STACKS_FP;
		else if (strcmp(arg, "dwarf") == 0)
			o->stacks = LT_STACKS_DWARF;
		else
			err = bad_value("--stacks", arg, "expected auto, fp or dwarf");
		break;
	case OPT_FAIL_ON_LEAK:
		o->fail_on_leak = true;
		break;
	case OPT_MMAP:
		o->mmap = true;
		break;
	case OPT_SAMPLE:
		err = parse_u64("--sample", arg, 1, LT_SAMPLE_MAX, &o->sample);
		o->sample_set = true;
		break;
	case OPT_SAMPLE_SEED:
		err = parse_u64("--sample-seed", arg, 0, UINT64_MAX - 1, &o->sample_seed);
		o->sample_seed_set = true;
		break;
	case OPT_EXACT:
		o->exact = true;
		break;
	case ARGP_KEY_ARG:
		if (state->arg_num == 0)
			err = parse_secs("INTERVAL", arg, 0.1, &o->interval);
		else if (state->arg_num == 1)
			err = parse_u64("COUNT", arg, 1, INT_MAX, &u), o->count = (long)u;
		else {
			err = bad_value("arguments", arg, "expected at most INTERVAL and COUNT");
		}
		break;
	case ARGP_KEY_ERROR:
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return err;
}

static int usage_error(const char *msg)
{
	lt_err("%s (see --help)\n", msg);
	return 2;
}

/*
 * Pair the -o list with the --format list, in order: the i-th file gets the
 * i-th format; "-" is stdout; formats left without a file go to stdout. At
 * most one format may go to stdout, and never pprof (binary). More files
 * than formats, an empty name or a file named twice is a usage error.
 */
static int assign_outputs(struct lt_opts *o)
{
	char msg[160];
	int n = 0, nstdout = 0;

	/* --serve alone: served, not printed */
	if (o->serve && !o->format_set && !o->output) {
		o->formats = 0;
		if (!o->top_set)
			o->top = 0;	/* profiles are whole */
		return 0;
	}
	if (o->nouts == 0) {
		o->outs[0].format = LT_FMT_TEXT;
		o->outs[0].path = NULL;
		o->nouts = 1;
		o->formats = LT_FMT_TEXT;
	}
	if (o->output) {
		char *copy = strdup(o->output), *p = copy, *item;

		if (!copy)
			return usage_error("out of memory");
		while ((item = strsep(&p, ",")) != NULL) {
			if (!*item) {
				free(copy);
				return usage_error("-o: empty file name in the list");
			}
			if (n < o->nouts && strcmp(item, "-") != 0)
				o->outs[n].path = strdup(item);
			n++;
		}
		free(copy);
		if (n > o->nouts) {
			snprintf(msg, sizeof(msg), "-o names %d files for %d format%s: give one file per --format item",
				 n, o->nouts, o->nouts == 1 ? "" : "s");
			return usage_error(msg);
		}
	}
	for (int i = 0; i < o->nouts; i++) {
		for (int j = 0; j < i; j++) {
			if (o->outs[i].path && o->outs[j].path && !strcmp(o->outs[i].path, o->outs[j].path)) {
				snprintf(msg, sizeof(msg), "-o: '%.100s' is given for two formats", o->outs[i].path);
				return usage_error(msg);
			}
		}
		if (o->outs[i].path)
			continue;
		if (o->outs[i].format == LT_FMT_PPROF)
			return usage_error("--format pprof writes binary: give it a file with -o");
		nstdout++;
	}
	if (nstdout > 1) {
		snprintf(msg, sizeof(msg), "%d formats would share stdout: give -o one file per format ('-' for stdout)",
			 nstdout);
		return usage_error(msg);
	}
	/* a profile is whole unless -T says otherwise */
	if (!o->top_set && !(o->formats & (LT_FMT_TEXT | LT_FMT_JSON)))
		o->top = 0;
	return 0;
}

int cli__parse(int argc, char **argv, struct lt_opts *o)
{
	static const struct argp argp = { options, parse_opt, args_doc, doc };
	int targets, idx = 0, err;

	memset(o, 0, sizeof(*o));
	error_printed = false;
	o->interval = 10;
	o->top = 10;
	o->top_procs = 5;
	o->max_size = UINT64_MAX;
	o->formats = LT_FMT_TEXT;
	o->track = LT_TRACK_DEFAULT;
	o->max_allocs = 1000000;
	o->max_stacks = 32768;

	/* --help and --version exit 0 from inside argp; everything else comes back. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-?") == 0 ||
		    strcmp(argv[i], "--usage") == 0 || strcmp(argv[i], "--version") == 0 ||
		    strcmp(argv[i], "-V") == 0) {
			argp_parse(&argp, argc, argv, 0, NULL, o);
			return -1;
		}
	}
	opterr = 0;
	err = argp_parse(&argp, argc, argv, ARGP_NO_EXIT | ARGP_NO_ERRS | ARGP_NO_HELP, &idx, o);
	if (err) {
		if (error_printed)
			return 2;
		/* argp stays silent with ARGP_NO_ERRS; name the culprit ourselves. */
		if (idx > 1 && idx <= argc)
			lt_err("unrecognized option or missing value: '%s' (see --help)\n",
				argv[idx - 1]);
		else
			lt_err("invalid command line (see --help)\n");
		return 2;
	}

	if (o->mmap)
		o->track |= LT_TRACK_MMAP;
	targets = (o->npids > 0) + (o->command != NULL) + o->all;
	if (targets == 0)
		return usage_error("no target: give -p PID, -c 'CMD' or -a");
	if (targets > 1)
		return usage_error("-p, -c and -a exclude each other");
	if (o->all && o->stacks == LT_STACKS_DWARF)
		return usage_error("--stacks dwarf needs -p or -c: with -a stacks are walked with frame pointers");
	if ((o->exclude_comm || o->force) && !o->all)
		return usage_error("--exclude-comm and --force go with -a");
	if (o->all && o->follow)
		return usage_error("-a traces every process already; -f goes with -p or -c");
	if (o->min_size > o->max_size)
		return usage_error("--min-size is larger than --max-size");
	if (o->all && o->go_memprofile_rate)
		return usage_error("--go-memprofile-rate writes into its target: it goes with -p or -c, not -a");
	if (o->go_memprofile_rate && !(o->track & LT_TRACK_GOHEAP))
		return usage_error("--go-memprofile-rate is for the Go heap: --track goheap");
	if (o->serve_allow && !o->serve)
		return usage_error("--serve-allow goes with --serve");
	if (o->exact && o->sample_set)
		return usage_error("--exact and --sample exclude each other");
	if (o->all && !o->exact && !o->sample_set)
		o->sample = LT_SAMPLE_ALL_DEFAULT;
	if (o->sample_seed_set && !o->sample)
		return usage_error("--sample-seed goes with sampling: give --sample BYTES (or -a without --exact)");
	return assign_outputs(o);
}

void cli__free(struct lt_opts *o)
{
	free(o->command);
	free(o->output);
	free(o->allocator);
	free(o->exclude_comm);
	free(o->serve);
	free(o->serve_allow);
	o->exclude_comm = o->serve = o->serve_allow = NULL;
	o->command = o->output = o->allocator = NULL;
	for (int i = 0; i < o->nouts; i++) {
		free(o->outs[i].path);
		o->outs[i].path = NULL;
	}
	o->nouts = 0;
}
