// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The --serve HTTP server (serve.h), on ephemeral loopback ports, read
 * with plain sockets: exact status lines, headers and bodies; methods,
 * paths, the allow list, limits; and serve__publish() timed while 200
 * clients download and one never reads. Real clients (promtool,
 * Prometheus, go tool pprof) are in tests/integration/test_serve.py.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "serve.h"
#include "util.h"
#include "test.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- a client on plain sockets ---- */

struct resp {
	int status;
	char head[4096];	/* status line and headers */
	char *body;
	size_t body_len;
};

static void resp_free(struct resp *r)
{
	free(r->body);
	r->body = NULL;
}

/* A connected socket to HOST:PORT (numeric IPv4 or IPv6), or -1. */
static int dial(const char *host, int port, double timeout_s)
{
	struct sockaddr_storage ss = {};
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	struct timeval tv = { .tv_sec = (time_t)timeout_s,
			      .tv_usec = (suseconds_t)((timeout_s - (time_t)timeout_s) * 1e6) };
	socklen_t len;
	int fd;

	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		len = sizeof(*in);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		len = sizeof(*in6);
	} else {
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n <= 0)
			return false;
		buf += n;
		len -= n;
	}
	return true;
}

/* Read to EOF and split status, headers and body. 0, or -1 (timeout, reset, garbage). */
static int read_resp(int fd, struct resp *r)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap), *end;

	memset(r, 0, sizeof(*r));
	if (!buf)
		return -1;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				goto fail;
			buf = nb;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0)
			goto fail;
		if (!n)
			break;
		len += n;
	}
	end = memmem(buf, len, "\r\n\r\n", 4);
	if (!end || (size_t)(end - buf) >= sizeof(r->head) || sscanf(buf, "HTTP/1.1 %d ", &r->status) != 1)
		goto fail;
	memcpy(r->head, buf, end - buf);
	r->head[end - buf] = 0;
	r->body_len = len - (end + 4 - buf);
	r->body = malloc(r->body_len + 1);
	if (!r->body)
		goto fail;
	memcpy(r->body, end + 4, r->body_len);
	r->body[r->body_len] = 0;
	free(buf);
	return 0;
fail:
	free(buf);
	return -1;
}

/* Send RAW (a whole request) to HOST:PORT and read the answer. */
static int raw_request(const char *host, int port, const char *raw, struct resp *r)
{
	int fd = dial(host, port, 5), err;

	memset(r, 0, sizeof(*r));
	if (fd < 0)
		return -1;
	err = send_all(fd, raw, strlen(raw)) ? read_resp(fd, r) : -1;
	close(fd);
	return err;
}

static int request(int port, const char *method, const char *target, struct resp *r)
{
	char raw[512];

	snprintf(raw, sizeof(raw), "%s %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
		 method, target);
	return raw_request("127.0.0.1", port, raw, r);
}

/* The value of header NAME (case-insensitive) in R, or NULL. */
static const char *header(const struct resp *r, const char *name)
{
	static __thread char val[512];
	size_t nl = strlen(name);

	for (const char *l = strstr(r->head, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
		const char *h = l + 2, *e = strstr(h, "\r\n");

		if (!strncasecmp(h, name, nl) && h[nl] == ':') {
			size_t vl;

			h += nl + 1;
			while (*h == ' ')
				h++;
			vl = e ? (size_t)(e - h) : strlen(h);
			snprintf(val, sizeof(val), "%.*s", (int)vl, h);
			return val;
		}
	}
	return NULL;
}

/* ---- snapshots ---- */

static void *dupmem(const void *p, size_t n)
{
	void *d = malloc(n ? n : 1);

	if (d)
		memcpy(d, p, n);
	return d;
}

#define METRICS_BODY "# TYPE leaktrace_reports_total counter\nleaktrace_reports_total 1\n"
/* a pprof body is binary: zero bytes and a gzip magic, passed as they are */
static const unsigned char PPROF_BODY[] = { 0x1f, 0x8b, 0x08, 0x00, 0x00, 0xff, 0x0a, 0x0d, 0x00, 0x01 };
#define JSON_BODY "{\"version\":1,\"report\":1}\n"

static struct serve_snapshot *small_snapshot(void)
{
	struct serve_snapshot *snap = serve_snapshot__new();

	if (!ASSERT_OK_PTR(snap, "serve_snapshot__new"))
		return NULL;
	ASSERT_EQ(serve_snapshot__add(snap, SERVE_PATH_METRICS, SERVE_TYPE_METRICS, NULL,
				      dupmem(METRICS_BODY, strlen(METRICS_BODY)), strlen(METRICS_BODY)),
		  0, "add /metrics");
	ASSERT_EQ(serve_snapshot__add(snap, SERVE_PATH_HEAP, SERVE_TYPE_PPROF, NULL,
				      dupmem(PPROF_BODY, sizeof(PPROF_BODY)), sizeof(PPROF_BODY)),
		  0, "add heap");
	ASSERT_EQ(serve_snapshot__add(snap, SERVE_PATH_REPORT_JSON, SERVE_TYPE_JSON, NULL,
				      dupmem(JSON_BODY, strlen(JSON_BODY)), strlen(JSON_BODY)),
		  0, "add report.json");
	ASSERT_EQ(serve_snapshot__add(snap, "/gz", "text/plain", "gzip", dupmem("xyz", 3), 3), 0,
		  "add /gz");
	ASSERT_EQ(serve_snapshot__add(snap, "/empty", "text/plain", NULL, NULL, 0), 0, "add /empty");
	return snap;
}

/* One LEN-byte document at /big, every byte FILL. */
static struct serve_snapshot *big_snapshot(size_t len, char fill)
{
	struct serve_snapshot *snap = serve_snapshot__new();
	char *body = malloc(len);

	if (!snap || !body) {
		free(body);
		serve_snapshot__free(snap);
		return NULL;
	}
	memset(body, fill, len);
	if (serve_snapshot__add(snap, "/big", "application/octet-stream", NULL, body, len)) {
		serve_snapshot__free(snap);
		return NULL;
	}
	return snap;
}

static struct serve *new_server(const char *listen, const char *allow)
{
	char err[256] = "";
	struct serve *s = serve__new(listen, allow, err, sizeof(err));

	if (!s)
		TEST_FAIL_("serve__new(%s, %s): %s", listen, allow ? allow : "NULL", err);
	return s;
}

static bool have_ipv6_loopback(void)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a));

	if (fd >= 0)
		close(fd);
	return ok;
}

/* ---- tests ---- */

static void test_serve_before_first_publish(void)
{
	static const char *const docs[] = SERVE_DOC_PATHS;
	struct serve *s = new_server("127.0.0.1:0", NULL);
	struct resp r;
	int port;

	if (!s)
		return;
	port = serve__port(s);
	ASSERT_TRUE(port > 0, "an ephemeral port");
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		if (!ASSERT_EQ(request(port, "GET", docs[i], &r), 0, docs[i]))
			continue;
		ASSERT_EQ(r.status, 503, docs[i]);
		ASSERT_STREQ(r.body, "no report yet\n", docs[i]);
		ASSERT_STREQ(header(&r, "Content-Type"), "text/plain; charset=utf-8", "503 type");
		resp_free(&r);
	}
	if (ASSERT_EQ(request(port, "GET", "/debug/pprof/heap?seconds=30", &r), 0, "heap?seconds"))
		ASSERT_EQ(r.status, 503, "503 with a query string too");
	resp_free(&r);
	if (ASSERT_EQ(request(port, "GET", "/healthz", &r), 0, "healthz")) {
		ASSERT_EQ(r.status, 200, "/healthz before a report");
		ASSERT_STREQ(r.body, "ok\n", "/healthz body");
	}
	resp_free(&r);
	if (ASSERT_EQ(request(port, "GET", "/nope", &r), 0, "/nope"))
		ASSERT_EQ(r.status, 404, "an unknown path is 404, not 503");
	resp_free(&r);
	serve__free(s);
}

static void test_serve_documents(void)
{
	struct serve *s = new_server("127.0.0.1:0", NULL);
	struct resp r;
	char want[32];
	int port;

	if (!s)
		return;
	port = serve__port(s);
	ASSERT_EQ(serve__publish(s, small_snapshot()), 0, "publish");

	if (ASSERT_EQ(request(port, "GET", "/metrics", &r), 0, "GET /metrics")) {
		ASSERT_EQ(r.status, 200, "/metrics status");
		ASSERT_TRUE(!strncmp(r.head, "HTTP/1.1 200 OK\r\n", 17), "status line");
		ASSERT_STREQ(r.body, METRICS_BODY, "/metrics body");
		ASSERT_STREQ(header(&r, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8",
			     "/metrics type");
		snprintf(want, sizeof(want), "%zu", strlen(METRICS_BODY));
		ASSERT_STREQ(header(&r, "Content-Length"), want, "/metrics length");
		ASSERT_STREQ(header(&r, "Cache-Control"), "no-store", "no caching");
		ASSERT_TRUE(!header(&r, "Content-Encoding"), "/metrics not encoded");
	}
	resp_free(&r);

	/* pprof: the .pb.gz bytes as the body, no Content-Encoding; the query is ignored */
	if (ASSERT_EQ(request(port, "GET", "/debug/pprof/heap?seconds=30", &r), 0, "GET heap")) {
		ASSERT_EQ(r.status, 200, "heap?seconds=30 status");
		ASSERT_EQ(r.body_len, sizeof(PPROF_BODY), "heap length");
		ASSERT_TRUE(r.body_len == sizeof(PPROF_BODY) &&
			    !memcmp(r.body, PPROF_BODY, sizeof(PPROF_BODY)), "heap bytes exact");
		ASSERT_STREQ(header(&r, "Content-Type"), "application/octet-stream", "heap type");
		ASSERT_TRUE(!header(&r, "Content-Encoding"), "pprof is not Content-Encoding: gzip");
	}
	resp_free(&r);

	if (ASSERT_EQ(request(port, "GET", "/report.json", &r), 0, "GET report.json")) {
		ASSERT_EQ(r.status, 200, "report.json status");
		ASSERT_STREQ(r.body, JSON_BODY, "report.json body");
		ASSERT_STREQ(header(&r, "Content-Type"), "application/json", "report.json type");
	}
	resp_free(&r);

	if (ASSERT_EQ(request(port, "GET", "/gz", &r), 0, "GET /gz")) {
		ASSERT_STREQ(r.body, "xyz", "/gz body as given");
		ASSERT_STREQ(header(&r, "Content-Encoding"), "gzip", "Content-Encoding when asked");
	}
	resp_free(&r);
	if (ASSERT_EQ(request(port, "GET", "/empty", &r), 0, "GET /empty")) {
		ASSERT_EQ(r.status, 200, "/empty status");
		ASSERT_EQ(r.body_len, 0, "/empty body");
		ASSERT_STREQ(header(&r, "Content-Length"), "0", "/empty length");
	}
	resp_free(&r);

	/* HEAD: the same headers, no body */
	if (ASSERT_EQ(request(port, "HEAD", "/metrics", &r), 0, "HEAD /metrics")) {
		ASSERT_EQ(r.status, 200, "HEAD status");
		ASSERT_EQ(r.body_len, 0, "HEAD has no body");
		snprintf(want, sizeof(want), "%zu", strlen(METRICS_BODY));
		ASSERT_STREQ(header(&r, "Content-Length"), want, "HEAD length");
		ASSERT_STREQ(header(&r, "Content-Type"), SERVE_TYPE_METRICS, "HEAD type");
	}
	resp_free(&r);

	/* a known path this report lacks, and unknown ones */
	static const char *const missing[] = { SERVE_PATH_GOROUTINE, "/nope", "/metrics/",
					       "/debug/pprof/heapx", "/METRICS" };
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		if (ASSERT_EQ(request(port, "GET", missing[i], &r), 0, missing[i])) {
			ASSERT_EQ(r.status, 404, missing[i]);
			ASSERT_STREQ(r.body, "not found\n", missing[i]);
		}
		resp_free(&r);
	}

	if (ASSERT_EQ(request(port, "GET", "/", &r), 0, "GET /")) {
		ASSERT_EQ(r.status, 200, "/ status");
		ASSERT_STREQ(r.body, "/metrics\n/debug/pprof/heap\n/report.json\n/gz\n/empty\n/healthz\n",
			     "/ lists the paths");
	}
	resp_free(&r);

	/* a new snapshot replaces the old one whole */
	struct serve_snapshot *snap = serve_snapshot__new();

	serve_snapshot__add(snap, SERVE_PATH_METRICS, SERVE_TYPE_METRICS, NULL, dupmem("v2\n", 3), 3);
	serve_snapshot__add(snap, SERVE_PATH_METRICS, SERVE_TYPE_METRICS, NULL, dupmem("v3\n", 3), 3);
	ASSERT_EQ(serve__publish(s, snap), 0, "publish again");
	if (ASSERT_EQ(request(port, "GET", "/metrics", &r), 0, "GET /metrics again"))
		ASSERT_STREQ(r.body, "v3\n", "the path added last wins, in the newest snapshot");
	resp_free(&r);
	if (ASSERT_EQ(request(port, "GET", "/report.json", &r), 0, "GET report.json again"))
		ASSERT_EQ(r.status, 404, "gone with the old snapshot");
	resp_free(&r);
	serve__free(s);
}

/* Keep-alive: two requests on one connection. */
static void test_serve_keep_alive(void)
{
	struct serve *s = new_server("127.0.0.1:0", NULL);
	const char *req = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
			  "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	struct resp r;
	int fd;

	if (!s)
		return;
	fd = dial("127.0.0.1", serve__port(s), 5);
	if (ASSERT_TRUE(fd >= 0, "connect") && ASSERT_TRUE(send_all(fd, req, strlen(req)), "send") &&
	    ASSERT_EQ(read_resp(fd, &r), 0, "read")) {
		/* the first answer's body, then the second answer */
		ASSERT_EQ(r.status, 200, "first answer");
		ASSERT_TRUE(strstr(r.body, "ok\nHTTP/1.1 200 OK\r\n"), "second answer on the same connection");
		resp_free(&r);
	}
	if (fd >= 0)
		close(fd);
	serve__free(s);
}

static void test_serve_methods(void)
{
	static const char *const methods[] = { "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "BREW" };
	struct serve *s = new_server("127.0.0.1:0", NULL);
	struct resp r;
	int port;

	if (!s)
		return;
	port = serve__port(s);
	serve__publish(s, small_snapshot());
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (!ASSERT_EQ(request(port, methods[i], "/metrics", &r), 0, methods[i]))
			continue;
		ASSERT_EQ(r.status, 405, methods[i]);
		ASSERT_STREQ(header(&r, "Allow"), "GET, HEAD", methods[i]);
		ASSERT_STREQ(r.body, "method not allowed\n", methods[i]);
		resp_free(&r);
	}
	/* a POST with a body: refused without reading it */
	if (ASSERT_EQ(raw_request("127.0.0.1", port,
				  "POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello", &r),
		      0, "POST with a body")) {
		ASSERT_EQ(r.status, 405, "POST with a body");
		ASSERT_STREQ(header(&r, "Allow"), "GET, HEAD", "POST with a body: Allow");
	}
	resp_free(&r);
	if (ASSERT_EQ(request(port, "GET", "/healthz", &r), 0, "still serving"))
		ASSERT_EQ(r.status, 200, "still serving");
	resp_free(&r);
	serve__free(s);
}

/* Request line and headers over SERVE_REQUEST_MAX: 431, and the server goes on. */
static void test_serve_request_too_large(void)
{
	struct serve *s = new_server("127.0.0.1:0", NULL);
	size_t n = 4 * SERVE_REQUEST_MAX;
	char *req = malloc(n + 128);
	struct resp r;
	int len;

	if (!s || !req)
		goto out;
	len = sprintf(req, "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: ");
	memset(req + len, 'a', n);
	strcpy(req + len + n, "\r\nConnection: close\r\n\r\n");
	if (ASSERT_EQ(raw_request("127.0.0.1", serve__port(s), req, &r), 0, "big request"))
		ASSERT_EQ(r.status, 431, "headers too large");
	resp_free(&r);
	if (ASSERT_EQ(request(serve__port(s), "GET", "/healthz", &r), 0, "after"))
		ASSERT_EQ(r.status, 200, "still serving");
	resp_free(&r);
out:
	free(req);
	serve__free(s);
}

static void test_serve_port_in_use(void)
{
	struct serve *s = new_server("127.0.0.1:0", NULL), *s2;
	char listen[64], err[256] = "", want[128];

	if (!s)
		return;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", serve__port(s));
	errno = 0;
	s2 = serve__new(listen, NULL, err, sizeof(err));
	ASSERT_TRUE(s2 == NULL, "a second server on the same port");
	ASSERT_EQ(errno, EADDRINUSE, "errno");
	snprintf(want, sizeof(want), "--serve %s: address already in use", listen);
	ASSERT_STREQ(err, want, "one line naming the address");
	ASSERT_FALSE(strchr(err, '\n'), "no newline");
	serve__free(s2);
	serve__free(s);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_serve_bad_arguments(void)
{
	static const char *const bad_listen[] = {
		"", "nonsense", "1.2.3:80", "127.0.0.1:", "127.0.0.1:70000", "127.0.0.1:-1",
		"127.0.0.1:80x", ":9464", "::1:9464", "[::1]9464", "[::1]:", "[127.0.0.1]:80",
		"256.0.0.1:80", "example.com:80", "127.0.0.1: 80", "+80",
	};
	static const char *const bad_allow[] = {
		"", "10.0.0.0/33", "10.0.0.0/8,", ",10.0.0.0/8", "foo", "::1/129", "10.0.0.0/",
		"10.0.0.0/-1", "10.0.0.0/8x", "127.0.0.0/8,,::1",
	};
	char err[256], want[256];
	int fds = count_fds();

	for (size_t i = 0; i < sizeof(bad_listen) / sizeof(bad_listen[0]); i++) {
		errno = 0;
		err[0] = 0;
		ASSERT_TRUE(!serve__new(bad_listen[i], NULL, err, sizeof(err)), bad_listen[i]);
		ASSERT_EQ(errno, EINVAL, bad_listen[i]);
		snprintf(want, sizeof(want), "--serve %s: bad address (", bad_listen[i]);
		if (!ASSERT_TRUE(!strncmp(err, want, strlen(want)), bad_listen[i]))
			fprintf(stderr, "    err: %s\n", err);
	}
	for (size_t i = 0; i < sizeof(bad_allow) / sizeof(bad_allow[0]); i++) {
		errno = 0;
		err[0] = 0;
		ASSERT_TRUE(!serve__new("127.0.0.1:0", bad_allow[i], err, sizeof(err)), bad_allow[i]);
		ASSERT_EQ(errno, EINVAL, bad_allow[i]);
		snprintf(want, sizeof(want), "--serve-allow %s: bad CIDR '", bad_allow[i]);
		if (!ASSERT_TRUE(!strncmp(err, want, strlen(want)), bad_allow[i]))
			fprintf(stderr, "    err: %s\n", err);
	}
	ASSERT_TRUE(!serve__new("127.0.0.1:0", "10.0.0.0/8,10.1.0.0/33", err, sizeof(err)), "second bad");
	ASSERT_STREQ(err, "--serve-allow 10.0.0.0/8,10.1.0.0/33: bad CIDR '10.1.0.0/33' "
		     "(expected ADDR[/BITS], IPv4 or IPv6)", "names the bad item");
	ASSERT_TRUE(!serve__new("203.0.113.7:0", NULL, err, sizeof(err)), "an address not ours");
	ASSERT_STREQ(err, "--serve 203.0.113.7:0: cannot assign requested address", "not ours: err");
	ASSERT_TRUE(!serve__new(NULL, NULL, NULL, 0), "NULL listen, NULL err");
	ASSERT_EQ(count_fds(), fds, "no descriptor left behind");
}

static void test_serve_allow_list(void)
{
	static const struct {
		const char *listen, *client, *allow;
		int status;
		bool v6;
	} cases[] = {
		{ "127.0.0.1:0", "127.0.0.1", NULL, 200, false },
		{ "127.0.0.1:0", "127.0.0.1", "10.0.0.0/8", 403, false },
		{ "127.0.0.1:0", "127.0.0.1", "10.0.0.0/8,127.0.0.0/8", 200, false },
		{ "127.0.0.1:0", "127.0.0.1", "127.0.0.1", 200, false },
		{ "127.0.0.1:0", "127.0.0.1", "127.0.0.2/32", 403, false },
		{ "127.0.0.1:0", "127.0.0.1", "127.0.0.3/31", 403, false },
		{ "127.0.0.1:0", "127.0.0.1", "127.0.0.1/31", 200, false },	/* host bits ignored */
		{ "127.0.0.1:0", "127.0.0.1", "0.0.0.0/0", 200, false },
		{ "127.0.0.1:0", "127.0.0.1", "::/0", 403, false },	/* IPv6 rules do not match IPv4 */
		{ "[::1]:0", "::1", "127.0.0.0/8", 403, true },
		{ "[::1]:0", "::1", "::1", 200, true },
		{ "[::1]:0", "::1", "10.0.0.0/8,::1/128", 200, true },
		{ "[::1]:0", "::1", "fd00::/8", 403, true },
		{ "[::1]:0", "::1", "::/1", 200, true },
		/* dual stack: an IPv4 client of [::] is ::ffff:127.0.0.1, matched as IPv4 */
		{ "[::]:0", "127.0.0.1", "127.0.0.0/8", 200, true },
		{ "[::]:0", "127.0.0.1", "::1", 403, true },
	};
	bool v6 = have_ipv6_loopback();
	int skipped = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct serve *s;
		char name[128], raw[128];
		struct resp r;

		if (cases[i].v6 && !v6) {
			skipped++;
			continue;
		}
		snprintf(name, sizeof(name), "%s from %s, allow %s", cases[i].listen, cases[i].client,
			 cases[i].allow ? cases[i].allow : "(all)");
		s = new_server(cases[i].listen, cases[i].allow);
		if (!s)
			continue;
		snprintf(raw, sizeof(raw), "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
		if (ASSERT_EQ(raw_request(cases[i].client, serve__port(s), raw, &r), 0, name)) {
			ASSERT_EQ(r.status, cases[i].status, name);
			if (cases[i].status == 403)
				ASSERT_STREQ(r.body, "forbidden: address not in --serve-allow\n", name);
		}
		resp_free(&r);
		serve__free(s);
	}
	if (skipped)
		test__skip("no IPv6 loopback here: the IPv6 cases did not run");
}

static void test_serve_loopback_detection(void)
{
	static const struct {
		const char *listen;
		bool loopback, v6;
		const char *addr;	/* printf format with the port */
	} cases[] = {
		{ "0", true, false, "127.0.0.1:%d" },
		{ "127.0.0.1:0", true, false, "127.0.0.1:%d" },
		{ "localhost:0", true, false, "127.0.0.1:%d" },
		{ "127.3.2.1:0", true, false, "127.3.2.1:%d" },
		{ "0.0.0.0:0", false, false, "0.0.0.0:%d" },
		{ "[::1]:0", true, true, "[::1]:%d" },
		{ "[::]:0", false, true, "[::]:%d" },
	};
	bool v6 = have_ipv6_loopback();
	int skipped = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct serve *s;
		char want[64];

		if (cases[i].v6 && !v6) {
			skipped++;
			continue;
		}
		s = new_server(cases[i].listen, NULL);
		if (!s)
			continue;
		ASSERT_EQ(serve__is_loopback(s), cases[i].loopback, cases[i].listen);
		snprintf(want, sizeof(want), cases[i].addr, serve__port(s));
		ASSERT_STREQ(serve__addr(s), want, cases[i].listen);
		serve__free(s);
	}
	ASSERT_FALSE(serve__is_loopback(NULL), "NULL");
	if (skipped)
		test__skip("no IPv6 loopback here: the IPv6 cases did not run");
}

/* An idle connection is closed after the timeout; more than max_conns wait their turn. */
static void test_serve_limits(void)
{
	struct serve_limits lim = { .max_conns = 2, .timeout_s = 1 };
	char err[256];
	struct serve *s = serve__new_limits("127.0.0.1:0", NULL, &lim, err, sizeof(err));
	const char *req = "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	int idle1, idle2, third;
	struct pollfd pfd;
	struct resp r;
	char byte;
	double t0;

	if (!ASSERT_OK_PTR(s, err))
		return;
	/* two connections that send half a request hold both slots */
	idle1 = dial("127.0.0.1", serve__port(s), 5);
	idle2 = dial("127.0.0.1", serve__port(s), 5);
	send_all(idle1, "GET /healthz HTTP/1.1\r\n", 23);
	send_all(idle2, "GET /healthz HTTP/1.1\r\n", 23);
	t0 = now_s();
	usleep(200 * 1000);
	third = dial("127.0.0.1", serve__port(s), 5);
	if (!ASSERT_TRUE(idle1 >= 0 && idle2 >= 0 && third >= 0, "connect"))
		goto out;
	send_all(third, req, strlen(req));
	pfd = (struct pollfd){ .fd = third, .events = POLLIN };
	ASSERT_EQ(poll(&pfd, 1, 300), 0, "the third client waits while both slots are taken");

	/* the idle ones time out (1 s of inactivity), then the third is answered */
	ASSERT_EQ(recv(idle1, &byte, 1, 0), 0, "an idle connection is closed");
	ASSERT_TRUE(now_s() - t0 >= 0.9 && now_s() - t0 < 4, "after about the timeout");
	printf("    idle connection closed after %.2f s (timeout 1 s)\n", now_s() - t0);
	if (ASSERT_EQ(read_resp(third, &r), 0, "the third is answered"))
		ASSERT_EQ(r.status, 200, "the third is answered");
	resp_free(&r);
out:
	if (idle1 >= 0)
		close(idle1);
	if (idle2 >= 0)
		close(idle2);
	if (third >= 0)
		close(third);
	serve__free(s);
}

/* ---- publish under load ---- */

#define LOAD_CLIENTS	200
#define LOAD_BODY	(1 << 20)
#define LOAD_CHUNK	(16 << 10)
#define LOAD_MIN_PUBLISHES 20	/* made while the first clients are half-way through */

struct load {
	int port;
	atomic_int started;	/* clients that have their first body bytes */
	atomic_int done;
	atomic_int publishes;
	atomic_int dialing;	/* clients that began */
};

struct client {
	struct load *load;
	pthread_t tid;
	int status;
	size_t body_len;
	char fill;		/* the first body byte */
	bool uniform;		/* every body byte equal to fill */
	bool ok;
};

/* Download /big slowly (16 KiB, then 1 ms), checking that the body is one snapshot's. */
static void *client_main(void *arg)
{
	struct client *c = arg;
	char *buf = malloc(LOAD_CHUNK), *hdr_end;
	size_t have = 0, hdr_len = 0;
	bool in_body = false;
	char head[2048];
	int fd;

	c->uniform = true;
	/* the second half asks once a newer snapshot is out: both kinds are served, whatever the timing */
	if (atomic_fetch_add(&c->load->dialing, 1) >= LOAD_CLIENTS / 2)
		for (int i = 0; i < 10000 && atomic_load(&c->load->publishes) < 1; i++)
			usleep(1000);
	fd = dial("127.0.0.1", c->load->port, 60);
	if (fd < 0 || !buf)
		goto out;
	if (!send_all(fd, "GET /big HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 50))
		goto out;
	for (;;) {
		ssize_t n = recv(fd, buf, LOAD_CHUNK, 0);
		char *p = buf;

		if (n <= 0) {
			c->ok = n == 0;
			break;
		}
		if (!in_body) {
			size_t take = (size_t)n < sizeof(head) - 1 - hdr_len ? (size_t)n : sizeof(head) - 1 - hdr_len;

			memcpy(head + hdr_len, buf, take);
			head[hdr_len + take] = 0;
			hdr_end = strstr(head, "\r\n\r\n");
			if (!hdr_end) {
				hdr_len += take;
				if (hdr_len >= sizeof(head) - 1)
					break;
				continue;
			}
			sscanf(head, "HTTP/1.1 %d", &c->status);
			p = buf + (hdr_end + 4 - head - hdr_len);
			n -= p - buf;
			in_body = true;
			atomic_fetch_add(&c->load->started, 1);
			/* hold the download open until LOAD_MIN_PUBLISHES have been made */
			for (int i = 0; i < 10000 && atomic_load(&c->load->publishes) < LOAD_MIN_PUBLISHES; i++)
				usleep(1000);
		}
		if (!have && n > 0)
			c->fill = *p;
		for (ssize_t i = 0; i < n; i++)
			if (p[i] != c->fill)
				c->uniform = false;
		have += n;
		usleep(1000);
	}
	c->body_len = have;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	atomic_fetch_add(&c->load->done, 1);
	return NULL;
}

static void test_serve_publish_under_load(void)
{
	struct serve *s = new_server("127.0.0.1:0", NULL);
	struct client *clients = calloc(LOAD_CLIENTS, sizeof(*clients));
	struct load load = {};
	pthread_attr_t attr;
	double worst = 0, sum = 0, t_start;
	int stuck_reader = -1, stuck_silent = -1, publishes = 0, during = 0, nstarted = 0;
	int ok = 0, nseen = 0;
	bool seen[256] = {};
	struct resp r;

	if (!s || !clients)
		goto out;
	load.port = serve__port(s);
	serve__publish(s, big_snapshot(LOAD_BODY, 'a'));

	/* one client asks for 1 MiB and never reads; one connects and never sends */
	stuck_reader = dial("127.0.0.1", load.port, 5);
	stuck_silent = dial("127.0.0.1", load.port, 5);
	ASSERT_TRUE(stuck_reader >= 0 && stuck_silent >= 0, "stuck clients connect");
	send_all(stuck_reader, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n", 30);
	usleep(100 * 1000);

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	for (int i = 0; i < LOAD_CLIENTS; i++) {
		clients[i].load = &load;
		if (pthread_create(&clients[i].tid, &attr, client_main, &clients[i]))
			clients[i].tid = 0;
	}
	pthread_attr_destroy(&attr);

	/* publish every 2 ms from the first body byte until every client is done */
	t_start = now_s();
	while (!atomic_load(&load.started) && now_s() - t_start < 10)
		usleep(500);
	while (atomic_load(&load.done) < LOAD_CLIENTS && now_s() - t_start < 60) {
		struct serve_snapshot *snap = big_snapshot(LOAD_BODY, (char)('a' + (publishes + 1) % 26));
		int downloading = atomic_load(&load.started) - atomic_load(&load.done);
		double t0, dt;

		if (!snap)
			break;
		t0 = now_s();
		serve__publish(s, snap);
		dt = now_s() - t0;
		publishes++;
		atomic_store(&load.publishes, publishes);
		if (downloading > 0)
			during++;
		sum += dt;
		if (dt > worst)
			worst = dt;
		usleep(2000);
	}
	for (int i = 0; i < LOAD_CLIENTS; i++)
		if (clients[i].tid)
			pthread_join(clients[i].tid, NULL);
	nstarted = atomic_load(&load.started);

	for (int i = 0; i < LOAD_CLIENTS; i++) {
		struct client *c = &clients[i];

		if (c->ok && c->status == 200 && c->body_len == LOAD_BODY && c->uniform)
			ok++;
		else if (ok + 3 > i)	/* the first few failures */
			fprintf(stderr, "    client %d: ok %d status %d len %zu uniform %d\n", i, c->ok,
				c->status, c->body_len, c->uniform);
	}
	for (int i = 0; i < LOAD_CLIENTS; i++)
		seen[(unsigned char)clients[i].fill] = true;
	for (int i = 0; i < 256; i++)
		nseen += seen[i];
	printf("    %d clients x 1 MiB, one never reading, one never sending: %d publishes "
	       "(%d while clients were downloading) in %.2f s; serve__publish worst %.3f ms, mean %.3f ms; "
	       "%d snapshots served\n", LOAD_CLIENTS, publishes, during, now_s() - t_start, worst * 1e3,
	       publishes ? sum / publishes * 1e3 : 0, nseen);
	ASSERT_GE(nseen, 2, "clients got older and newer snapshots");
	ASSERT_EQ(ok, LOAD_CLIENTS, "every client got one whole snapshot");
	ASSERT_EQ(nstarted, LOAD_CLIENTS, "every client started");
	ASSERT_GE(during, LOAD_MIN_PUBLISHES, "publishes while clients were downloading");
	ASSERT_TRUE(worst < 0.100, "every serve__publish within 100 ms");

	/* and the server still answers at once */
	t_start = now_s();
	if (ASSERT_EQ(request(load.port, "GET", "/healthz", &r), 0, "healthz after the load"))
		ASSERT_EQ(r.status, 200, "healthz after the load");
	resp_free(&r);
	ASSERT_TRUE(now_s() - t_start < 1, "answered within 1 s");
out:
	if (stuck_reader >= 0)
		close(stuck_reader);
	if (stuck_silent >= 0)
		close(stuck_silent);
	free(clients);
	serve__free(s);
}

/* serve__free() with a client in the middle of a download that does not read. */
static void test_serve_free_with_stuck_client(void)
{
	struct serve *s = new_server("127.0.0.1:0", NULL);
	double t0;
	int fd;

	if (!s)
		return;
	serve__publish(s, big_snapshot(8 << 20, 'z'));
	fd = dial("127.0.0.1", serve__port(s), 5);
	send_all(fd, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n", 30);
	usleep(100 * 1000);
	t0 = now_s();
	serve__free(s);
	printf("    serve__free with a stuck download: %.1f ms\n", (now_s() - t0) * 1e3);
	ASSERT_TRUE(now_s() - t0 < 1, "serve__free does not wait for the client");
	if (fd >= 0)
		close(fd);
}

/* Every descriptor serve opens is close-on-exec (leaktrace -c forks and execs a command). */
static void test_serve_cloexec(void)
{
	bool before[4096] = {};
	struct serve *s;
	struct dirent *e;
	DIR *d;
	int fd, n = 0;

	d = opendir("/proc/self/fd");
	if (!ASSERT_OK_PTR(d, "/proc/self/fd"))
		return;
	while ((e = readdir(d)))
		if (atoi(e->d_name) > 0 && atoi(e->d_name) < 4096 && atoi(e->d_name) != dirfd(d))
			before[atoi(e->d_name)] = true;
	closedir(d);

	s = new_server("127.0.0.1:0", NULL);
	if (!s)
		return;
	serve__publish(s, big_snapshot(8 << 20, 'c'));
	fd = dial("127.0.0.1", serve__port(s), 5);	/* the server's accepted socket, too */
	send_all(fd, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n", 30);
	usleep(100 * 1000);

	d = opendir("/proc/self/fd");
	while (d && (e = readdir(d))) {
		int i = atoi(e->d_name);
		char name[64];

		if (i <= 0 || i >= 4096 || before[i] || i == dirfd(d))
			continue;
		n++;
		snprintf(name, sizeof(name), "fd %d is close-on-exec", i);
		ASSERT_TRUE(fcntl(i, F_GETFD) & FD_CLOEXEC, name);
	}
	if (d)
		closedir(d);
	ASSERT_GE(n, 4, "new descriptors seen (listener, epoll, client, accepted)");
	close(fd);
	serve__free(s);
}

/* The server's thread blocks the tracer's signals (they must reach its main loop). */
static void test_serve_thread_blocks_signals(void)
{
	struct serve *s = new_server("127.0.0.1:0", NULL);
	int found = 0;
	struct resp r;
	struct dirent *e;
	DIR *d;

	if (!s)
		return;
	/*
	 * pthread_create() starts a thread with every signal blocked until
	 * it has set the creator's mask: once a request is answered, the
	 * thread runs with its own.
	 */
	if (ASSERT_EQ(request(serve__port(s), "GET", "/healthz", &r), 0, "a request first"))
		ASSERT_EQ(r.status, 200, "a request first");
	resp_free(&r);
	d = opendir("/proc/self/task");
	while (d && (e = readdir(d))) {
		char path[300], *status, *blk;
		unsigned long long mask;
		size_t len;

		if (atoi(e->d_name) <= 0 || atoi(e->d_name) == gettid())
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
		status = util__read_file(path, &len);
		blk = status ? strstr(status, "\nSigBlk:") : NULL;
		if (blk && sscanf(blk + 8, "%llx", &mask) == 1) {
			found++;
			ASSERT_TRUE(mask & (1ULL << (SIGINT - 1)), "SIGINT blocked in the server thread");
			ASSERT_TRUE(mask & (1ULL << (SIGTERM - 1)), "SIGTERM blocked");
			ASSERT_TRUE(mask & (1ULL << (SIGHUP - 1)), "SIGHUP blocked");
			ASSERT_TRUE(mask & (1ULL << (SIGCHLD - 1)), "SIGCHLD blocked");
			ASSERT_TRUE(mask & (1ULL << (SIGUSR1 - 1)), "SIGUSR1 blocked");
		}
		free(status);
	}
	if (d)
		closedir(d);
	ASSERT_EQ(found, 1, "one server thread");
	serve__free(s);
}

static void test_serve_api_edges(void)
{
	struct serve_snapshot *snap;

	serve__free(NULL);
	serve_snapshot__free(NULL);
	ASSERT_EQ(serve__publish(NULL, serve_snapshot__new()), -EINVAL, "publish to NULL (frees snap)");
	ASSERT_EQ(serve__port(NULL), -1, "port of NULL");
	snap = serve_snapshot__new();
	if (!ASSERT_OK_PTR(snap, "new"))
		return;
	ASSERT_EQ(serve_snapshot__add(snap, "metrics", "t", NULL, dupmem("x", 1), 1), -EINVAL,
		  "path without /");
	ASSERT_EQ(serve_snapshot__add(snap, "/m", "text/plain\r\nX-Evil: 1", NULL, dupmem("x", 1), 1),
		  -EINVAL, "CR LF in a header value");
	ASSERT_EQ(serve_snapshot__add(snap, "/m", NULL, NULL, dupmem("x", 1), 1), -EINVAL, "no type");
	ASSERT_EQ(serve_snapshot__add(snap, "/m", "t", "gz\n", dupmem("x", 1), 1), -EINVAL, "bad encoding");
	ASSERT_EQ(serve_snapshot__add(snap, "/m", "t", NULL, NULL, 5), -EINVAL, "NULL bytes, len 5");
	ASSERT_EQ(serve_snapshot__add(NULL, "/m", "t", NULL, dupmem("x", 1), 1), -EINVAL, "NULL snap");
	serve_snapshot__free(snap);
	struct serve *s = new_server("127.0.0.1:0", NULL);

	ASSERT_EQ(serve__publish(s, NULL), -EINVAL, "publish NULL");
	serve__free(s);
}

static const struct test_case tests[] = {
	TEST_CASE(test_serve_before_first_publish),
	TEST_CASE(test_serve_documents),
	TEST_CASE(test_serve_keep_alive),
	TEST_CASE(test_serve_methods),
	TEST_CASE(test_serve_request_too_large),
	TEST_CASE(test_serve_port_in_use),
	TEST_CASE(test_serve_bad_arguments),
	TEST_CASE(test_serve_allow_list),
	TEST_CASE(test_serve_loopback_detection),
	TEST_CASE(test_serve_limits),
	TEST_CASE(test_serve_publish_under_load),
	TEST_CASE(test_serve_free_with_stuck_client),
	TEST_CASE(test_serve_cloexec),
	TEST_CASE(test_serve_thread_blocks_signals),
	TEST_CASE(test_serve_api_edges),
};

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	return test__main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
