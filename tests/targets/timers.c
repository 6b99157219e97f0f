// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * timers: timer leaks with exactly known counts, each from its own named
 * creating function.
 *
 *   25 periodic timerfds (1 s) never closed      leak_timerfd_periodic
 *   10 timerfds closed by close()                 closed_timerfd
 *    5 timerfds closed by close_range()           range_closed_timerfd
 *    5 timerfds replaced by dup2 onto their fd    dup2_replaced_timerfd
 *    4 one-shot timerfds never closed             leak_timerfd_oneshot
 *    7 periodic POSIX timers never deleted        leak_posix_periodic
 *    3 POSIX timers deleted                       deleted_posix
 * POSIX timers use SIGEV_SIGNAL with a blocked signal.
 *
 *   timers           the set above, after SIGUSR1
 *   timers --exec    3 CLOEXEC periodic timerfds (leak_cloexec_timerfd),
 *                    then exec itself; the new image prints DONE
 *
 * Protocol: "READY <pid>", wait for SIGUSR1, "DONE", block.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define NI __attribute__((noinline))

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void arm_fd(int fd, long interval_s, long value_s)
{
	struct itimerspec its = { .it_interval = { interval_s, 0 }, .it_value = { value_s, 0 } };

	if (timerfd_settime(fd, 0, &its, NULL))
		die("timerfd_settime");
}

NI int leak_timerfd_periodic(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0); /* LEAK:leak_timerfd_periodic */

	if (fd < 0)
		die("timerfd_create");
	arm_fd(fd, 1, 1);
	return fd;
}

NI int leak_timerfd_oneshot(void)
{
	int fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK); /* LEAK:leak_timerfd_oneshot */

	if (fd < 0)
		die("timerfd_create");
	arm_fd(fd, 0, 100);
	return fd;
}

NI int leak_cloexec_timerfd(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC); /* LEAK:leak_cloexec_timerfd */

	if (fd < 0)
		die("timerfd_create");
	arm_fd(fd, 1, 1);
	return fd;
}

NI void closed_timerfd(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);

	if (fd < 0)
		die("timerfd_create");
	arm_fd(fd, 1, 1);
	close(fd);
}

NI int range_closed_timerfd(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);

	if (fd < 0)
		die("timerfd_create");
	arm_fd(fd, 1, 1);
	return fd;
}

NI void dup2_replaced_timerfd(int other)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);

	if (fd < 0)
		die("timerfd_create");
	arm_fd(fd, 1, 1);
	if (dup2(other, fd) != fd)
		die("dup2");
}

static void arm_posix(timer_t id)
{
	struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };

	if (timer_settime(id, 0, &its, NULL))
		die("timer_settime");
}

NI timer_t leak_posix_periodic(void)
{
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN };
	timer_t id;

	if (timer_create(CLOCK_MONOTONIC, &sev, &id)) /* LEAK:leak_posix_periodic */
		die("timer_create");
	arm_posix(id);
	return id;
}

NI void deleted_posix(void)
{
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN };
	timer_t id;

	if (timer_create(CLOCK_MONOTONIC, &sev, &id))
		die("timer_create");
	arm_posix(id);
	if (timer_delete(id))
		die("timer_delete");
}

static void run_set(void)
{
	int first = -1, last = -1, other = open("/dev/null", O_RDONLY);

	if (other < 0)
		die("/dev/null");
	for (int i = 0; i < 25; i++)
		leak_timerfd_periodic();
	for (int i = 0; i < 10; i++)
		closed_timerfd();
	for (int i = 0; i < 5; i++) {
		int fd = range_closed_timerfd();

		if (first < 0)
			first = fd;
		last = fd;
	}
	if (last - first != 4)
		die("range_closed_timerfd: fds not consecutive");
	if (close_range(first, last, 0))
		die("close_range");
	for (int i = 0; i < 5; i++)
		dup2_replaced_timerfd(other);
	for (int i = 0; i < 4; i++)
		leak_timerfd_oneshot();
	for (int i = 0; i < 7; i++)
		leak_posix_periodic();
	for (int i = 0; i < 3; i++)
		deleted_posix();
}

int main(int argc, char **argv)
{
	sigset_t set;
	int sig;

	/* the POSIX timers' signal stays pending, never delivered */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &set, NULL);

	if (argc > 1 && strcmp(argv[1], "--after-exec") == 0) {
		printf("DONE\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	printf("READY %d\n", (int)getpid());
	fflush(stdout);
	sigdelset(&set, SIGRTMIN);
	if (sigwait(&set, &sig))
		return 1;
	if (argc > 1 && strcmp(argv[1], "--exec") == 0) {
		for (int i = 0; i < 3; i++)
			leak_cloexec_timerfd();
		execl("/proc/self/exe", argv[0], "--after-exec", (char *)NULL);
		die("exec");
	}
	run_set();
	printf("DONE\n");
	fflush(stdout);
	for (;;)
		pause();
}
