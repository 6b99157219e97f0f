// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* --serve: the latest report over HTTP, on libmicrohttpd (serve.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "serve.h"
#include "log.h"
#include "util.h"

struct serve_doc {
	char *path;
	char *content_type;
	char *content_encoding;		/* NULL: none */
	void *bytes;
	size_t len;
};

struct serve_snapshot {
	atomic_int refs;		/* the server's pointer, plus one per response */
	struct serve_doc *docs;
	int ndocs, cap;
};

struct cidr {
	int family;			/* AF_INET or AF_INET6 */
	uint8_t addr[16];		/* network byte order, host bits cleared */
	int bits;
};

struct serve {
	struct MHD_Daemon *mhd;
	int port;
	bool loopback;
	char addr[INET6_ADDRSTRLEN + 8];
	struct cidr *allow;		/* NULL: anyone */
	int nallow;
	pthread_mutex_t lock;		/* guards cur, held for a pointer copy only */
	struct serve_snapshot *cur;	/* NULL until the first publish */
};

static const char *const doc_paths[] = SERVE_DOC_PATHS;

/* ---- snapshots ---- */

struct serve_snapshot *serve_snapshot__new(void)
{
	struct serve_snapshot *snap = calloc(1, sizeof(*snap));

	if (!snap)
		return NULL;
	atomic_init(&snap->refs, 1);
	return snap;
}

static void snapshot_destroy(struct serve_snapshot *snap)
{
	for (int i = 0; i < snap->ndocs; i++) {
		free(snap->docs[i].path);
		free(snap->docs[i].content_type);
		free(snap->docs[i].content_encoding);
		free(snap->docs[i].bytes);
	}
	free(snap->docs);
	free(snap);
}

static void snapshot_put(struct serve_snapshot *snap)
{
	if (snap && atomic_fetch_sub_explicit(&snap->refs, 1, memory_order_acq_rel) == 1)
		snapshot_destroy(snap);
}

void serve_snapshot__free(struct serve_snapshot *snap)
{
	snapshot_put(snap);
}

static struct serve_doc *snapshot_find(struct serve_snapshot *snap, const char *path)
{
	for (int i = 0; i < snap->ndocs; i++)
		if (!strcmp(snap->docs[i].path, path))
			return &snap->docs[i];
	return NULL;
}

/* A header value must not end a header early: no CR, LF or other controls. */
static bool header_safe(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

int serve_snapshot__add(struct serve_snapshot *snap, const char *path, const char *content_type,
			const char *content_encoding, void *bytes, size_t len)
{
	struct serve_doc d = {}, *old;

	if (!snap || !path || path[0] != '/' || !header_safe(path) || !content_type ||
	    !header_safe(content_type) || (content_encoding && !header_safe(content_encoding)) ||
	    (!bytes && len)) {
		free(bytes);
		return -EINVAL;
	}
	d.path = strdup(path);
	d.content_type = strdup(content_type);
	d.content_encoding = content_encoding ? strdup(content_encoding) : NULL;
	d.bytes = bytes;
	d.len = len;
	if (!d.path || !d.content_type || (content_encoding && !d.content_encoding))
		goto out_nomem;

	old = snapshot_find(snap, path);
	if (old) {
		free(old->path);
		free(old->content_type);
		free(old->content_encoding);
		free(old->bytes);
		*old = d;
		return 0;
	}
	if (snap->ndocs == snap->cap) {
		int cap = snap->cap ? snap->cap * 2 : 8;
		struct serve_doc *docs = realloc(snap->docs, cap * sizeof(*docs));

		if (!docs)
			goto out_nomem;
		snap->docs = docs;
		snap->cap = cap;
	}
	snap->docs[snap->ndocs++] = d;
	return 0;

out_nomem:
	free(d.path);
	free(d.content_type);
	free(d.content_encoding);
	free(bytes);
	return -ENOMEM;
}

int serve__publish(struct serve *s, struct serve_snapshot *snap)
{
	struct serve_snapshot *old;

	if (!s || !snap) {
		snapshot_put(snap);
		return -EINVAL;
	}
	pthread_mutex_lock(&s->lock);
	old = s->cur;
	s->cur = snap;
	pthread_mutex_unlock(&s->lock);
	snapshot_put(old);	/* freed here, or by the last response still sending it */
	return 0;
}

/* The current snapshot with a reference for the caller, or NULL before the first publish. */
static struct serve_snapshot *snapshot_get(struct serve *s)
{
	struct serve_snapshot *snap;

	pthread_mutex_lock(&s->lock);
	snap = s->cur;
	if (snap)
		atomic_fetch_add_explicit(&snap->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&s->lock);
	return snap;
}

/* ---- addresses ---- */

static bool parse_port(const char *p, int *port)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)*p))
		return false;
	errno = 0;
	v = strtol(p, &end, 10);
	if (errno || *end || v < 0 || v > 65535)
		return false;
	*port = (int)v;
	return true;
}

/* "[ADDR:]PORT" into SA. 0 or -EINVAL. */
static int parse_listen(const char *listen, struct sockaddr_storage *sa, socklen_t *salen)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *port_s;
	int port;

	memset(sa, 0, sizeof(*sa));
	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');

		if (!close || close[1] != ':' || (size_t)(close - listen - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, listen + 1, close - listen - 1);
		host[close - listen - 1] = 0;
		port_s = close + 2;
	} else if ((colon = strrchr(listen, ':'))) {
		if (colon == listen || (size_t)(colon - listen) >= sizeof(host) ||
		    memchr(listen, ':', colon - listen))	/* IPv6 needs brackets */
			return -EINVAL;
		memcpy(host, listen, colon - listen);
		host[colon - listen] = 0;
		port_s = colon + 1;
	} else {
		strcpy(host, SERVE_DEFAULT_ADDR);
		port_s = listen;
	}
	if (!parse_port(port_s, &port))
		return -EINVAL;

	if (listen[0] == '[') {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;

		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			return -EINVAL;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*salen = sizeof(*in6);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)sa;

		if (!strcmp(host, "localhost"))
			strcpy(host, "127.0.0.1");
		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			return -EINVAL;
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		*salen = sizeof(*in);
	}
	return 0;
}

static void mask_bits(uint8_t *a, int n, int bits)
{
	for (int i = 0; i < n; i++) {
		int keep = bits - 8 * i;

		if (keep <= 0)
			a[i] = 0;
		else if (keep < 8)
			a[i] &= (uint8_t)(0xff << (8 - keep));
	}
}

/* "ADDR[/BITS]" into C. 0 or -EINVAL. */
static int parse_cidr(const char *s, struct cidr *c)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	int max;

	if (!hl || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = 0;
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, host, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	c->bits = max;
	if (slash) {
		char *end;
		long v;

		if (!isdigit((unsigned char)slash[1]))
			return -EINVAL;
		errno = 0;
		v = strtol(slash + 1, &end, 10);
		if (errno || *end || v < 0 || v > max)
			return -EINVAL;
		c->bits = (int)v;
	}
	mask_bits(c->addr, max / 8, c->bits);
	return 0;
}

/* Split ALLOW at commas into S->allow. 0, or -EINVAL with the bad item in BAD. */
static int parse_allow(struct serve *s, const char *allow, char *bad, size_t badlen)
{
	const char *p = allow;
	int n = 1;

	for (const char *q = allow; *q; q++)
		n += *q == ',';
	s->allow = calloc(n, sizeof(*s->allow));
	if (!s->allow)
		return -ENOMEM;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char item[INET6_ADDRSTRLEN + 8];

		snprintf(bad, badlen, "%.*s", (int)len, p);
		if (len >= sizeof(item))
			return -EINVAL;
		memcpy(item, p, len);
		item[len] = 0;
		if (parse_cidr(item, &s->allow[s->nallow]))
			return -EINVAL;
		s->nallow++;
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

/* IPv4 (as 4 bytes) or IPv6 of SA; an IPv4-mapped IPv6 address counts as IPv4. */
static int sa_addr(const struct sockaddr *sa, uint8_t addr[16])
{
	if (sa->sa_family == AF_INET) {
		memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			memcpy(addr, &a6->s6_addr[12], 4);
			return AF_INET;
		}
		memcpy(addr, a6, 16);
		return AF_INET6;
	}
	return AF_UNSPEC;
}

static bool allowed(const struct serve *s, const struct sockaddr *sa)
{
	uint8_t addr[16];
	int family;

	if (!s->allow)
		return true;
	if (!sa)
		return false;
	family = sa_addr(sa, addr);
	for (int i = 0; i < s->nallow; i++) {
		const struct cidr *c = &s->allow[i];
		uint8_t a[16];

		if (c->family != family)
			continue;
		memcpy(a, addr, 16);
		mask_bits(a, family == AF_INET ? 4 : 16, c->bits);
		if (!memcmp(a, c->addr, family == AF_INET ? 4 : 16))
			return true;
	}
	return false;
}

static bool sa_loopback(const struct sockaddr *sa)
{
	uint8_t addr[16];
	int family = sa_addr(sa, addr);

	if (family == AF_INET)
		return addr[0] == 127;
	return family == AF_INET6 && IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)addr);
}

/* ---- HTTP ---- */

/* A short text/plain answer (BODY is a static string); HEAD gets the headers only. */
static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned int status, const char *body,
				  const char *allow_hdr)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (allow_hdr)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow_hdr);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static bool is_doc_path(const char *url)
{
	for (size_t i = 0; i < sizeof(doc_paths) / sizeof(doc_paths[0]); i++)
		if (!strcmp(url, doc_paths[i]))
			return true;
	return false;
}

/* "/": the paths served now, one a line. */
static enum MHD_Result reply_index(struct MHD_Connection *c, struct serve_snapshot *snap)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t len = 0, off = 0;
	char *text;

	for (int i = 0; snap && i < snap->ndocs; i++)
		len += strlen(snap->docs[i].path) + 1;
	len += sizeof("/healthz\n");
	text = malloc(len);
	if (!text)
		return MHD_NO;
	for (int i = 0; snap && i < snap->ndocs; i++)
		off += sprintf(text + off, "%s\n", snap->docs[i].path);
	off += sprintf(text + off, "/healthz\n");
	r = MHD_create_response_from_buffer(off, text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static void response_done(void *cls)
{
	snapshot_put(cls);
}

/* 200 with DOC's bytes; the response holds SNAP's reference (given by the caller). */
static enum MHD_Result reply_doc(struct MHD_Connection *c, struct serve_snapshot *snap,
				 const struct serve_doc *doc)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer_with_free_callback_cls(doc->len, doc->bytes,
								  response_done, snap);
	if (!r) {
		snapshot_put(snap);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, doc->content_type);
	if (doc->content_encoding)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, doc->content_encoding);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);	/* the snapshot goes when the connection is done with r */
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	static int headers_seen;
	struct serve *s = cls;
	const union MHD_ConnectionInfo *ci;
	struct serve_snapshot *snap;
	struct serve_doc *doc;

	(void)version;
	(void)upload_data;

	/*
	 * libmicrohttpd calls once the headers are in, then again for each
	 * piece of body, then once more at the end. A refusal is queued at
	 * the first call: the body is never read and the connection closes.
	 * An answer is queued at the last call, so the connection can be
	 * kept alive.
	 */
	if (!*req_cls) {
		*req_cls = &headers_seen;
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (!allowed(s, ci ? ci->client_addr : NULL))
			return reply_text(c, MHD_HTTP_FORBIDDEN,
					  "forbidden: address not in --serve-allow\n", NULL);
		if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
			return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
					  "GET, HEAD");
		return MHD_YES;
	}
	if (*upload_data_size)
		return MHD_NO;	/* a GET with a body: not read, the connection is closed */

	if (!strcmp(url, "/healthz"))
		return reply_text(c, MHD_HTTP_OK, "ok\n", NULL);
	snap = snapshot_get(s);
	if (!strcmp(url, "/")) {
		enum MHD_Result ret = reply_index(c, snap);

		snapshot_put(snap);
		return ret;
	}
	if (!snap)
		return is_doc_path(url)
		       ? reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no report yet\n", NULL)
		       : reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n", NULL);
	doc = snapshot_find(snap, url);
	if (!doc) {
		snapshot_put(snap);
		return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n", NULL);
	}
	return reply_doc(c, snap, doc);
}

/* libmicrohttpd's messages: debug output (-vv). */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	if (lt_verbose < 2)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	lt_info(2, "serve: %s%s", msg, n && msg[n - 1] == '\n' ? "" : "\n");
}

/* ---- the server ---- */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* strerror text with a lower-case first letter: "address already in use". */
static const char *errtext(int e, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(e));
	if (buf[0] && isupper((unsigned char)buf[0]) && !isupper((unsigned char)buf[1]))
		buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

/* A bound, listening, non-blocking, close-on-exec socket for SA. fd or -errno. */
static int open_listener(const struct sockaddr_storage *sa, socklen_t salen)
{
	int fd, one = 1, e;

	fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* a restart may rebind while old connections sit in TIME_WAIT; a port
	 * that another socket listens on is still refused (EADDRINUSE) */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)sa, salen) || listen(fd, SOMAXCONN)) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static void format_addr(struct serve *s, const struct sockaddr_storage *sa)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(s->addr, sizeof(s->addr), "[%s]:%d", host, s->port);
	} else {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(s->addr, sizeof(s->addr), "%s:%d", host, s->port);
	}
}

struct serve *serve__new(const char *listen, const char *allow, char *err, size_t errlen)
{
	return serve__new_limits(listen, allow, NULL, err, errlen);
}

struct serve *serve__new_limits(const char *listen, const char *allow,
				const struct serve_limits *lim, char *err, size_t errlen)
{
	struct serve_limits l = lim ? *lim : (struct serve_limits){};
	struct sockaddr_storage sa;
	socklen_t salen = sizeof(sa);
	sigset_t all, orig;
	struct stat st = {};
	struct serve *s;
	char ebuf[128];
	int fd, e;

	if (!listen) {
		set_err(err, errlen, "--serve: no address");
		errno = EINVAL;
		return NULL;
	}
	if (!l.max_conns)
		l.max_conns = SERVE_MAX_CONNS;
	if (!l.timeout_s)
		l.timeout_s = SERVE_TIMEOUT_S;
	if (!l.request_max)
		l.request_max = SERVE_REQUEST_MAX;

	s = calloc(1, sizeof(*s));
	if (!s) {
		set_err(err, errlen, "--serve %s: out of memory", listen);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);

	if (parse_listen(listen, &sa, &salen)) {
		set_err(err, errlen, "--serve %s: bad address (expected [ADDR:]PORT, ADDR IPv4, "
			"[IPv6] or localhost; every interface is 0.0.0.0:PORT or [::]:PORT)", listen);
		e = EINVAL;
		goto out_free;
	}
	if (allow) {
		char bad[64];

		e = -parse_allow(s, allow, bad, sizeof(bad));
		if (e == EINVAL)
			set_err(err, errlen, "--serve-allow %s: bad CIDR '%s' (expected ADDR[/BITS], "
				"IPv4 or IPv6)", allow, bad);
		else if (e)
			set_err(err, errlen, "--serve-allow %s: out of memory", allow);
		if (e)
			goto out_free;
	}

	fd = open_listener(&sa, salen);
	if (fd < 0) {
		e = -fd;
		set_err(err, errlen, "--serve %s: %s", listen, errtext(e, ebuf, sizeof(ebuf)));
		goto out_free;
	}
	salen = sizeof(sa);
	getsockname(fd, (struct sockaddr *)&sa, &salen);
	s->port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
						 : ((struct sockaddr_in *)&sa)->sin_port);
	s->loopback = sa_loopback((struct sockaddr *)&sa);
	format_addr(s, &sa);
	fstat(fd, &st);

	/* the thread inherits this mask: every signal stays with the tracer's thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &orig);
	s->mhd = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
				  (sa.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
				  0, NULL, NULL, on_request, s,
				  MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
				  MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_CONNECTION_LIMIT, l.max_conns,
				  MHD_OPTION_CONNECTION_TIMEOUT, l.timeout_s,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, l.request_max,
				  MHD_OPTION_END);
	e = errno;
	pthread_sigmask(SIG_SETMASK, &orig, NULL);
	if (!s->mhd) {
		struct stat now;

		/*
		 * libmicrohttpd 0.9.75 closes the caller's listen socket on some
		 * of its failure paths and not on others: close it if it is
		 * still the same socket.
		 */
		if (!fstat(fd, &now) && now.st_ino == st.st_ino && now.st_dev == st.st_dev)
			close(fd);
		if (!e)
			e = EIO;
		set_err(err, errlen, "--serve %s: cannot start the HTTP server (libmicrohttpd): %s",
			listen, errtext(e, ebuf, sizeof(ebuf)));
		goto out_free;
	}
	return s;

out_free:
	free(s->allow);
	pthread_mutex_destroy(&s->lock);
	free(s);
	errno = e;
	return NULL;
}

void serve__free(struct serve *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->mhd);	/* joins the thread, closes connections and the socket */
	snapshot_put(s->cur);
	free(s->allow);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int serve__port(const struct serve *s)
{
	return s ? s->port : -1;
}

bool serve__is_loopback(const struct serve *s)
{
	return s && s->loopback;
}

const char *serve__addr(const struct serve *s)
{
	return s ? s->addr : "";
}
