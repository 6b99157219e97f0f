// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * threads: thread leaks with exactly known counts, each from its own
 * named creating function and start routine.
 *
 *   7 threads that block forever          spawn_forever   -> run_forever
 *   5 that exit and are never joined      spawn_unjoined  -> run_unjoined
 *   6 that are joined                     spawn_joined    -> run_joined
 *   4 pthread_detach'ed that exit         spawn_detached  -> run_detached
 *   3 created detached (attr) that exit   spawn_attr_detached -> run_attr_detached
 *   2 reaped by pthread_tryjoin_np after it first returned EBUSY
 *                                          spawn_tryjoined -> run_tryjoined
 * Before READY it starts 3 threads (pre_attach -> run_pre) that block
 * forever: they existed before the attach and must never be reported.
 *
 *   threads            the set above, after SIGUSR1
 *   threads --churn N  create and join N short-lived threads, 8 at a time
 *   threads --sigev-thread  one POSIX timer with SIGEV_THREAD (from
 *                      sigev_timer()): libc starts its helper thread itself
 *
 * Protocol: "READY <pid>", wait for SIGUSR1, "DONE", block.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NI __attribute__((noinline))

static pthread_barrier_t gate;	/* holds tryjoin threads until the first tryjoin saw EBUSY */

static NI void *run_forever(void *a) { (void)a; for (;;) pause(); return NULL; }
static NI void *run_pre(void *a) { (void)a; for (;;) pause(); return NULL; }
static NI void *run_unjoined(void *a) { (void)a; return NULL; }
static NI void *run_joined(void *a) { (void)a; return NULL; }
static NI void *run_detached(void *a) { (void)a; return NULL; }
static NI void *run_attr_detached(void *a) { (void)a; return NULL; }
static NI void *run_tryjoined(void *a) { (void)a; pthread_barrier_wait(&gate); return NULL; }
static NI void *run_churn(void *a) { (void)a; return NULL; }

static void die(const char *what, int err)
{
	fprintf(stderr, "threads: %s: %s\n", what, strerror(err));
	exit(1);
}

NI pthread_t spawn_forever(void)
{
	pthread_t t;
	int err = pthread_create(&t, NULL, run_forever, NULL); /* LEAK:spawn_forever */

	if (err)
		die("pthread_create", err);
	return t;
}

NI pthread_t spawn_unjoined(void)
{
	pthread_t t;
	int err = pthread_create(&t, NULL, run_unjoined, NULL); /* LEAK:spawn_unjoined */

	if (err)
		die("pthread_create", err);
	return t;
}

NI void spawn_joined(void)
{
	pthread_t t;
	int err = pthread_create(&t, NULL, run_joined, NULL); /* LEAK:spawn_joined */

	if (err)
		die("pthread_create", err);
	err = pthread_join(t, NULL);
	if (err)
		die("pthread_join", err);
}

NI void spawn_detached(void)
{
	pthread_t t;
	int err = pthread_create(&t, NULL, run_detached, NULL); /* LEAK:spawn_detached */

	if (err)
		die("pthread_create", err);
	err = pthread_detach(t);
	if (err)
		die("pthread_detach", err);
}

NI void spawn_attr_detached(void)
{
	pthread_attr_t attr;
	pthread_t t;
	int err;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&t, &attr, run_attr_detached, NULL); /* LEAK:spawn_attr_detached */
	if (err)
		die("pthread_create", err);
	pthread_attr_destroy(&attr);
}

NI pthread_t spawn_tryjoined(void)
{
	pthread_t t;
	int err = pthread_create(&t, NULL, run_tryjoined, NULL); /* LEAK:spawn_tryjoined */

	if (err)
		die("pthread_create", err);
	return t;
}

NI void pre_attach(void)
{
	pthread_t t;
	int err = pthread_create(&t, NULL, run_pre, NULL);

	if (err)
		die("pthread_create", err);
}

static void run_set(void)
{
	pthread_t unj[5], tj[2];

	for (int i = 0; i < 7; i++)
		spawn_forever();
	for (int i = 0; i < 5; i++)
		unj[i] = spawn_unjoined();
	for (int i = 0; i < 6; i++)
		spawn_joined();
	for (int i = 0; i < 4; i++)
		spawn_detached();
	for (int i = 0; i < 3; i++)
		spawn_attr_detached();

	pthread_barrier_init(&gate, NULL, 3);
	for (int i = 0; i < 2; i++)
		tj[i] = spawn_tryjoined();
	for (int i = 0; i < 2; i++) {
		int err = pthread_tryjoin_np(tj[i], NULL);

		if (err != EBUSY)
			die("first pthread_tryjoin_np should be EBUSY", err ? err : EINVAL);
	}
	pthread_barrier_wait(&gate);
	for (int i = 0; i < 2; i++) {
		int err;

		while ((err = pthread_tryjoin_np(tj[i], NULL)) == EBUSY)
			usleep(1000);
		if (err)
			die("pthread_tryjoin_np", err);
	}
	(void)unj;
	usleep(200 * 1000);	/* let the unjoined and detached ones finish */
}

static void on_tick(union sigval v)
{
	(void)v;
}

NI void sigev_timer(void)
{
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD, .sigev_notify_function = on_tick };
	struct itimerspec its = { .it_value = { 3600, 0 } };
	timer_t id;

	if (timer_create(CLOCK_MONOTONIC, &sev, &id) || timer_settime(id, 0, &its, NULL))
		die("timer_create", errno);
}

static void run_churn_set(long n)
{
	for (long done = 0; done < n; done += 8) {
		pthread_t t[8];
		int k = n - done < 8 ? (int)(n - done) : 8;

		for (int i = 0; i < k; i++) {
			int err = pthread_create(&t[i], NULL, run_churn, NULL);

			if (err)
				die("pthread_create", err);
		}
		for (int i = 0; i < k; i++)
			pthread_join(t[i], NULL);
	}
}

int main(int argc, char **argv)
{
	long churn = 0;
	sigset_t set;
	int sig;

	if (argc > 2 && strcmp(argv[1], "--churn") == 0)
		churn = atol(argv[2]);
	bool sigev = argc > 1 && strcmp(argv[1], "--sigev-thread") == 0;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (int i = 0; i < 3; i++)
		pre_attach();

	printf("READY %d\n", (int)getpid());
	fflush(stdout);
	if (sigwait(&set, &sig))
		return 1;
	if (churn)
		run_churn_set(churn);
	else if (sigev)
		sigev_timer();
	else
		run_set();
	printf("DONE\n");
	fflush(stdout);
	for (;;)
		pause();
}
