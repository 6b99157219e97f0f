// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fdleak: file-descriptor and anonymous-mapping leaks with exactly known
 * counts, each from its own named creating function.
 *
 *   12 files opened, never closed                    leak_files
 *    7 TCP client sockets connected to ourselves     leak_tcp_clients
 *    7 TCP sockets accepted from them                leak_tcp_accepted
 *    5 pipes: 10 fds (both ends of each kept)        leak_pipes
 *    4 eventfds                                      leak_eventfds
 *    2 dup()s of a file whose first fd is closed     leak_dup
 *    6 x 1 MiB anonymous mappings                    leak_mmap_big
 *    3 x 4-page anonymous mappings, 2 pages of each
 *      unmapped (the middle, the head, the tail)     leak_mmap_partial
 * and, balanced (nothing may be reported there):
 *    100 files opened and closed                     freed_files
 *    50 sockets made and closed                      freed_sockets
 *    20 x 256 KiB mapped and unmapped                freed_mmaps
 *    5 files closed by close_range()                 freed_range
 *    3 files marked CLOEXEC by close_range(), closed freed_cloexec_range
 *    5 files replaced by dup2() onto them, closed    freed_dup2
 *    the listening socket                            make_listener
 *
 *   fdleak              the set above, after SIGUSR1
 *   fdleak --churn N    N files opened and closed (freed_files), nothing else
 *   fdleak --exec       3 CLOEXEC files (leak_cloexec_files) and 2 without
 *                       (leak_inherited_files), then exec itself; the new
 *                       image prints DONE
 *   fdleak --drip       DONE, then a file (drip_file) and 64 KiB mapped
 *                       (drip_mmap) every 20 ms, forever
 *
 * Protocol: "READY <pid>", wait for SIGUSR1, "DONE", block.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NI __attribute__((noinline))
#define PAGE 4096

static char dir[64];

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void path_of(char *buf, size_t len, const char *what, int i)
{
	snprintf(buf, len, "%s/%s.%d", dir, what, i);
}

NI int leak_files(int i)
{
	char p[128];
	int fd;

	path_of(p, sizeof(p), "leak", i);
	fd = open(p, O_RDWR | O_CREAT, 0600); /* LEAK:leak_files */
	if (fd < 0)
		die("open");
	return fd;
}

NI void freed_files(int i)
{
	char p[128];
	int fd;

	path_of(p, sizeof(p), "freed", i % 8);
	fd = open(p, O_RDWR | O_CREAT, 0600);
	if (fd < 0)
		die("open");
	close(fd);
}

NI int make_listener(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&a, &len))
		die("listener");
	*port = ntohs(a.sin_port);
	return fd;
}

NI int leak_tcp_clients(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0); /* LEAK:leak_tcp_clients */

	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	return fd;
}

NI int leak_tcp_accepted(int lfd)
{
	int fd = accept(lfd, NULL, NULL); /* LEAK:leak_tcp_accepted */

	if (fd < 0)
		die("accept");
	return fd;
}

NI void freed_sockets(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0)
		die("socket");
	close(fd);
}

NI void leak_pipes(void)
{
	int p[2];

	if (pipe(p)) /* LEAK:leak_pipes */
		die("pipe");
}

NI int leak_eventfds(void)
{
	int fd = eventfd(0, EFD_NONBLOCK); /* LEAK:leak_eventfds */

	if (fd < 0)
		die("eventfd");
	return fd;
}

/* dup() a file and close the original: the dup stays, at this site. */
NI int leak_dup(int i)
{
	char p[128];
	int fd, fd2;

	path_of(p, sizeof(p), "dup", i);
	fd = open(p, O_RDWR | O_CREAT, 0600);
	if (fd < 0)
		die("open");
	fd2 = dup(fd); /* LEAK:leak_dup */
	if (fd2 < 0)
		die("dup");
	close(fd);
	return fd2;
}

NI int open_one(const char *what, int i, int flags)
{
	char p[128];
	int fd;

	path_of(p, sizeof(p), what, i);
	fd = open(p, O_RDWR | O_CREAT | flags, 0600);
	if (fd < 0)
		die("open");
	return fd;
}

NI void freed_range(void)
{
	int first = -1, last = -1;

	for (int i = 0; i < 5; i++) {
		int fd = open_one("range", i, 0);

		if (first < 0)
			first = fd;
		last = fd;
	}
	if (last - first != 4)
		die("freed_range: fds not consecutive");
	if (close_range(first, last, 0))
		die("close_range");
}

/* CLOSE_RANGE_CLOEXEC closes nothing: the fds stay until closed. */
NI void freed_cloexec_range(void)
{
	int fds[3];

	for (int i = 0; i < 3; i++)
		fds[i] = open_one("cloexec", i, 0);
	if (fds[2] - fds[0] != 2)
		die("freed_cloexec_range: fds not consecutive");
	if (close_range(fds[0], fds[2], CLOSE_RANGE_CLOEXEC))
		die("close_range");
	for (int i = 0; i < 3; i++)
		if (fcntl(fds[i], F_GETFD) < 0 || close(fds[i]))
			die("freed_cloexec_range: fd closed early");
}

NI void freed_dup2(int other)
{
	int fd = open_one("dup2", 0, 0);

	if (dup2(other, fd) != fd)
		die("dup2");
	close(fd);
}

NI void *leak_mmap_big(void)
{
	void *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); /* LEAK:leak_mmap_big */

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

NI char *leak_mmap_partial(void)
{
	char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); /* LEAK:leak_mmap_partial */

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

NI void freed_mmaps(void)
{
	void *p = mmap(NULL, 256 << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	memset(p, 1, 4096);
	if (munmap(p, 256 << 10))
		die("munmap");
}

static void run_set(void)
{
	int lfd, port, other = open("/dev/null", O_RDONLY);
	char *part[3];

	if (other < 0)
		die("/dev/null");
	/* first: nothing closed yet, so the fds they open are consecutive */
	freed_range();
	freed_cloexec_range();
	for (int i = 0; i < 12; i++)
		leak_files(i);
	for (int i = 0; i < 100; i++)
		freed_files(i);
	lfd = make_listener(&port);
	for (int i = 0; i < 7; i++)
		leak_tcp_clients(port);
	for (int i = 0; i < 7; i++)
		leak_tcp_accepted(lfd);
	close(lfd);
	for (int i = 0; i < 50; i++)
		freed_sockets();
	for (int i = 0; i < 5; i++)
		leak_pipes();
	for (int i = 0; i < 4; i++)
		leak_eventfds();
	for (int i = 0; i < 2; i++)
		leak_dup(i);
	for (int i = 0; i < 5; i++)
		freed_dup2(other);
	close(other);
	for (int i = 0; i < 6; i++)
		leak_mmap_big();
	for (int i = 0; i < 3; i++)
		part[i] = leak_mmap_partial();
	if (munmap(part[0] + PAGE, 2 * PAGE) || munmap(part[1], 2 * PAGE) || munmap(part[2] + 2 * PAGE, 2 * PAGE))
		die("munmap");
	for (int i = 0; i < 20; i++)
		freed_mmaps();
}

NI int drip_file(int i)
{
	char p[128];
	int fd;

	path_of(p, sizeof(p), "drip", i % 16);
	fd = open(p, O_RDONLY | O_CREAT, 0600); /* LEAK:drip_file */
	if (fd < 0)
		die("open");
	return fd;
}

NI void *drip_mmap(void)
{
	void *p = mmap(NULL, 64 << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); /* LEAK:drip_mmap */

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

NI int leak_cloexec_files(int i)
{
	char p[128];
	int fd;

	path_of(p, sizeof(p), "exec", i);
	fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600); /* LEAK:leak_cloexec_files */
	if (fd < 0)
		die("open");
	return fd;
}

NI int leak_inherited_files(int i)
{
	char p[128];
	int fd;

	path_of(p, sizeof(p), "inherit", i);
	fd = open(p, O_RDWR | O_CREAT, 0600); /* LEAK:leak_inherited_files */
	if (fd < 0)
		die("open");
	return fd;
}

int main(int argc, char **argv)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	snprintf(dir, sizeof(dir), "/tmp/fdleak.%d", (int)getpid());
	if (argc > 1 && strcmp(argv[1], "--after-exec") == 0) {
		printf("DONE\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	if (mkdir(dir, 0700) && errno != EEXIST)
		die(dir);
	printf("READY %d\n", (int)getpid());
	fflush(stdout);
	if (sigwait(&set, &sig))
		return 1;
	if (argc > 2 && strcmp(argv[1], "--churn") == 0) {
		long n = atol(argv[2]);

		for (long i = 0; i < n; i++)
			freed_files((int)i);
	} else if (argc > 1 && strcmp(argv[1], "--drip") == 0) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		printf("DONE\n");
		fflush(stdout);
		for (int i = 0;; i++) {
			drip_file(i);
			drip_mmap();
			nanosleep(&ts, NULL);
		}
	} else if (argc > 1 && strcmp(argv[1], "--exec") == 0) {
		for (int i = 0; i < 3; i++)
			leak_cloexec_files(i);
		for (int i = 0; i < 2; i++)
			leak_inherited_files(i);
		execl("/proc/self/exe", argv[0], "--after-exec", (char *)NULL);
		die("exec");
	} else {
		run_set();
	}
	printf("DONE\n");
	fflush(stdout);
	for (;;)
		pause();
}
