// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cxxleaker: C++ leaks through operator new / new[].
 *
 * After SIGUSR1, make_widget() is called N_WIDGETS (3) times. Each call
 * leaks, with requested sizes:
 *   make_widget():     new Widget    -> operator new(120)      (sizeof(Widget))
 *                      new int[100]  -> operator new[](400)
 *   Widget::Widget():  new char[777] -> operator new[](777)
 * so: "make_widget()" 6 allocs, 3 * (120 + 400) = 1560 bytes;
 *     "Widget::Widget()" 3 allocs, 3 * 777 = 2331 bytes.
 * freed_widget() news and deletes as many blocks, which must not be reported.
 * A std::bad_alloc from new char[1 << 60] is caught; "CAUGHT" is printed
 * before "DONE" if it was (a uretprobe on operator new would break this).
 *
 * With --many N (at most 200,000), leak_many() also leaks N x new char[1000]
 * and frees N x new char[1000] beside them (the sampled mode's C++ case).
 *
 * Protocol: "READY <pid>", wait for SIGUSR1, [CAUGHT], "DONE", block
 * forever (or return with --exit).
 *
 * Build:  g++ -O2 -g -fno-omit-frame-pointer -fno-builtin \
 *            -fno-optimize-sibling-calls cxxleaker.cc -o cxxleaker
 * Keep the numbers in sync with tests/integration/test_cxx.py.
 */
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#if defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noinline, noipa))
#endif

#define N_WIDGETS	3
#define WIDGET_BUF	777
#define INTS		100

struct Widget {
	char *buf;
	char name[112];

	Widget();
	~Widget();
};
static_assert(sizeof(Widget) == 120, "the tests expect sizeof(Widget) == 120");

NOINLINE Widget::Widget()
{
	buf = new char[WIDGET_BUF]; /* LEAK:Widget::Widget */
	memset(name, 0, sizeof(name));
}

NOINLINE Widget::~Widget()
{
	delete[] buf;
}

/* Not static: stores to write-only statics, and then the new-expressions
 * themselves, may be optimized away (-fallocation-dce). */
Widget *keep_widget[N_WIDGETS];
int *keep_ints[N_WIDGETS];
static void *volatile sink;
static volatile size_t huge_size = (size_t)1 << 60;
static int caught;

static int nmade;

NOINLINE void make_widget()
{
	int i = nmade++;

	keep_widget[i] = new Widget; /* LEAK:make_widget_obj */
	keep_ints[i] = new int[INTS]; /* LEAK:make_widget_arr */
}

NOINLINE void freed_widget(void)
{
	for (int i = 0; i < N_WIDGETS; i++) {
		Widget *w = new Widget;
		int *v = new int[INTS + 1];

		sink = w;
		sink = v;
		delete w;
		delete[] v;
	}
}

#define MANY_MAX	200000
#define MANY_SIZE	1000
char *many[MANY_MAX];	/* not static: see keep_widget */

NOINLINE void leak_many(int n)
{
	for (int i = 0; i < n && i < MANY_MAX; i++) {
		char *gone = new char[MANY_SIZE];

		many[i] = new char[MANY_SIZE]; /* LEAK:leak_many */
		many[i][0] = 1;
		sink = gone;
		delete[] gone;
	}
}

NOINLINE void try_huge(void)
{
	try {
		char *p = new char[huge_size];

		sink = p;	/* not reached */
	} catch (const std::bad_alloc &) {
		caught = 1;
	}
}

int main(int argc, char **argv)
{
	bool exit_after = false, no_throw = false;
	int nmany = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--many") == 0 && i + 1 < argc)
			nmany = atoi(argv[++i]);
		exit_after |= strcmp(argv[i], "--exit") == 0;
		/* under jemalloc, leaktrace needs a return probe on operator new (README, Limits) */
		no_throw |= strcmp(argv[i], "--no-throw") == 0;
	}
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);

	printf("READY %d\n", (int)getpid());
	fflush(stdout);
	if (sigwait(&set, &sig))
		return 1;

	freed_widget();
	for (int i = 0; i < N_WIDGETS; i++)
		make_widget();
	if (!no_throw)
		try_huge();
	leak_many(nmany);

	if (caught)
		printf("CAUGHT\n");
	printf("DONE\n");
	fflush(stdout);
	if (exit_after)
		return 0;
	for (;;)
		pause();
}
