/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * -c: the command leaktrace starts and traces from its first allocation.
 *
 * The command line is split like a shell would (wordexp, without running
 * one). Its program is found through PATH; a script's #! interpreter is
 * followed (also "#!/usr/bin/env NAME", as wrappers and pyenv shims are
 * written) to the ELF file the kernel will run, which is planned before
 * the command is forked. The child is held before its exec until the
 * probes are in, and ptrace-seized (PTRACE_SEIZE stops nothing) so that
 * every exec stops it: a wrapper's later exec to the real program gets
 * that program's probes before it runs (tracer__exec_stop). If leaktrace
 * dies, the kernel detaches it.
 */
#ifndef LT_COMMAND_H
#define LT_COMMAND_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include <wordexp.h>

struct tracer;

struct command {
	pid_t pid;		/* -1 before the fork */
	int go_fd;		/* write end: one byte releases the exec */
	int status;
	bool reaped;
	bool traced;		/* ptrace-seized: stops at exec and exit */
	bool execed;
	bool verified;
	double exec_at;		/* when it last exec'ed (seconds since tracing started) */
	char path[PATH_MAX];	/* what is exec'ed: the program or the script */
	char elf[PATH_MAX];	/* the ELF file the kernel runs first (a script's interpreter) */
	wordexp_t we;
	bool have_we;
};

/*
 * Split CMDLINE and find the program and the ELF file it runs. 0, or the
 * exit status to use with one line printed (2: the command is empty or
 * cannot be parsed; 1: it cannot be run).
 */
int command__prepare(struct command *c, const char *cmdline);
/*
 * Find NAME (through PATH when it has no '/') and follow #! lines to the
 * ELF file the kernel runs: PATH gets the file to exec, ELF the one to
 * plan. 0, or -errno with a short reason in WHY (-ENOEXEC: neither an ELF
 * file nor a script; -ELOOP: interpreters nested too deep).
 */
int command__resolve(const char *name, char *path, size_t plen, char *elf, size_t elen,
		     char *why, size_t wlen);
/* Fork the command, held before its exec. 0 or -errno. */
int command__spawn(struct command *c);
/* Let it exec. 0 or -errno, printed. */
int command__release(struct command *c);
/*
 * Reap it, or handle its stops: each exec gets its new program's probes
 * and symbols; the exit stop records its mappings; leaktrace's own SIGSTOP
 * (the unwinder's) is swallowed, other signals pass. ELAPSED: seconds
 * since tracing started (the plan is checked against the real maps 0.5 s
 * after the exec).
 */
void command__poll(struct command *c, struct tracer *t, double elapsed);
bool command__running(const struct command *c);
/* Kill it if it was never released (it must not run untraced); free what prepare made. */
void command__cleanup(struct command *c);

#endif /* LT_COMMAND_H */
