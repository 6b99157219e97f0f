/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --serve [ADDR:]PORT: the latest report over HTTP, for tools that pull
 * (Prometheus, go tool pprof, Grafana Alloy's pyroscope.scrape, Parca).
 *
 * Built on libmicrohttpd: one internal thread polls with epoll and answers
 * every client, so the tracer's loop never waits for one. What is served
 * is an immutable snapshot, a set of documents; serve__publish() swaps in
 * a new one in O(1) under a mutex that no one holds while sending. A
 * response in flight holds a reference to its snapshot, so a slow client
 * keeps downloading the report it asked for while newer ones are
 * published, and nothing is copied per request.
 *
 * HTTP:
 *   GET and HEAD only; any other method gets 405 with "Allow: GET, HEAD".
 *   A path of the current snapshot gets 200 and its bytes, with its
 *   Content-Type (and Content-Encoding if it has one), and
 *   "Cache-Control: no-store". The query string is ignored (pprof clients
 *   send ?seconds=N).
 *   Before the first publish, the paths of SERVE_DOC_PATHS get 503 and
 *   "no report yet".
 *   /healthz gets 200 "ok\n" at all times; / lists the paths served.
 *   Anything else gets 404.
 *   A client outside --serve-allow gets 403 on every path (the connection
 *   is accepted, answered and closed, so that the refusal says why).
 *
 * Limits: SERVE_MAX_CONNS connections at once (the next ones wait in the
 * kernel's accept queue; the tracer never sees them), SERVE_TIMEOUT_S
 * seconds of inactivity before a connection is closed, and a request (line
 * and headers) of at most SERVE_REQUEST_MAX bytes (larger: 431, closed).
 * Request bodies are never read. No TLS and no authentication.
 *
 * serve never prints; libmicrohttpd's own messages go to util__log() at
 * level 2 (-vv). Its thread blocks every signal, so signals reach the
 * tracer's thread as before. Every file descriptor it opens is close-on-exec.
 */
#ifndef LT_SERVE_H
#define LT_SERVE_H

#include <stdbool.h>
#include <stddef.h>

#define SERVE_DEFAULT_ADDR	"127.0.0.1"
#define SERVE_MAX_CONNS		64
#define SERVE_TIMEOUT_S		10
#define SERVE_REQUEST_MAX	16384

/* The documents leaktrace publishes (503 until the first publish). */
#define SERVE_PATH_METRICS	"/metrics"
#define SERVE_PATH_HEAP		"/debug/pprof/heap"
#define SERVE_PATH_GOROUTINE	"/debug/pprof/goroutine"
#define SERVE_PATH_THREADS	"/debug/pprof/threads"
#define SERVE_PATH_REPORT_JSON	"/report.json"
#define SERVE_DOC_PATHS { SERVE_PATH_METRICS, SERVE_PATH_HEAP, SERVE_PATH_GOROUTINE, \
			  SERVE_PATH_THREADS, SERVE_PATH_REPORT_JSON }

/* Content types for those documents. */
#define SERVE_TYPE_METRICS	"text/plain; version=0.0.4; charset=utf-8"
#define SERVE_TYPE_PPROF	"application/octet-stream"	/* the .pb.gz bytes as they are */
#define SERVE_TYPE_JSON		"application/json"

struct serve;
struct serve_snapshot;

/* Limits of a server; serve__new() uses the SERVE_* defaults. */
struct serve_limits {
	unsigned int max_conns;		/* 0: SERVE_MAX_CONNS */
	unsigned int timeout_s;		/* 0: SERVE_TIMEOUT_S */
	size_t request_max;		/* 0: SERVE_REQUEST_MAX */
};

/*
 * Listen on LISTEN, "[ADDR:]PORT": ADDR is a numeric IPv4 address, an
 * IPv6 address in brackets ("[::1]:9464") or "localhost"; without it,
 * SERVE_DEFAULT_ADDR. PORT 0 picks a free port (serve__port() tells which).
 * ALLOW is NULL (anyone who can connect) or "CIDR[,CIDR...]", IPv4 and IPv6
 * ("10.0.0.0/8,::1", a bare address is /32 or /128); an IPv4 client of an
 * IPv6 socket (::ffff:a.b.c.d) is matched as IPv4.
 *
 * The socket is bound and listening, and the thread running, on return.
 * NULL with errno set and one line in ERR (no "leaktrace: " prefix, no
 * newline) on failure, e.g.
 *   "--serve 127.0.0.1:9464: address already in use"
 *   "--serve 1.2.3:80: bad address (expected [ADDR:]PORT, ADDR IPv4, [IPv6] or localhost;
 *    every interface is 0.0.0.0:PORT or [::]:PORT)"
 *   "--serve-allow 10.0.0.0/33: bad CIDR '10.0.0.0/33' (expected ADDR[/BITS], IPv4 or IPv6)"
 * ERR may be NULL.
 */
struct serve *serve__new(const char *listen, const char *allow, char *err, size_t errlen);
/* The same with limits of the caller's (LIM NULL: the defaults); for tests. */
struct serve *serve__new_limits(const char *listen, const char *allow,
				const struct serve_limits *lim, char *err, size_t errlen);

/*
 * Stop the thread (connections in flight are closed), close the socket,
 * drop the current snapshot. NULL is a no-op.
 */
void serve__free(struct serve *s);

/* The port bound (useful after port 0). */
int serve__port(const struct serve *s);
/*
 * Is the bound address a loopback one (127.0.0.0/8, ::1, ::ffff:127.x)?
 * 0.0.0.0, :: and every other address are not: the caller warns that
 * there is no authentication.
 */
bool serve__is_loopback(const struct serve *s);
/* "127.0.0.1:9464" or "[::1]:9464" as bound, for messages. */
const char *serve__addr(const struct serve *s);

/* A new empty snapshot, owned by the caller until published. NULL + errno. */
struct serve_snapshot *serve_snapshot__new(void);

/*
 * Add a document: PATH ("/metrics"; must start with '/'), CONTENT_TYPE,
 * CONTENT_ENCODING (NULL, or e.g. "gzip" for a body that the client
 * should decompress; pprof's .pb.gz is NOT served so, go tool pprof
 * wants the gzip bytes as the body), and BYTES, LEN bytes from malloc()
 * (an open_memstream() buffer will do; NULL with LEN 0 is an empty body).
 * The strings are copied; BYTES is taken over in every case, freed on
 * error too. A path added twice replaces the first. 0, -EINVAL or -ENOMEM.
 */
int serve_snapshot__add(struct serve_snapshot *snap, const char *path, const char *content_type,
			const char *content_encoding, void *bytes, size_t len);

/* Free a snapshot never published. NULL is a no-op. */
void serve_snapshot__free(struct serve_snapshot *snap);

/*
 * Serve SNAP from now on, in place of the previous snapshot (freed when
 * the last response that uses it is done). SNAP is taken over in every
 * case: do not touch it after the call. Takes a mutex for a pointer swap
 * (the holder never sends or allocates under it); never waits for a
 * client. 0, or -EINVAL (S or SNAP NULL; SNAP is then freed).
 */
int serve__publish(struct serve *s, struct serve_snapshot *snap);

#endif /* LT_SERVE_H */
