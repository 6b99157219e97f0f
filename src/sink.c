// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Report destinations: stdout, appended streams, files replaced per report. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pprof.h"
#include "sink.h"
#include "log.h"

report_writer sink__writer(enum lt_format fmt)
{
	switch (fmt) {
	case LT_FMT_JSON: return output__json;
	case LT_FMT_FOLDED: return output__folded;
	case LT_FMT_PPROF: return pprof__write;
	default: return output__text;
	}
}

const char *sink__format_name(enum lt_format fmt)
{
	switch (fmt) {
	case LT_FMT_JSON: return "json";
	case LT_FMT_FOLDED: return "folded";
	case LT_FMT_PPROF: return "pprof";
	default: return "text";
	}
}

bool sink__has_n(const char *tmpl)
{
	return tmpl && strstr(tmpl, "%n") != NULL;
}

int sink__expand(const char *tmpl, int n, char *out, size_t len)
{
	size_t o = 0;

	for (const char *p = tmpl; *p; p++) {
		char num[16];
		size_t k;

		if (p[0] == '%' && p[1] == 'n') {
			k = (size_t)snprintf(num, sizeof(num), "%d", n);
			if (o + k >= len)
				return -ENAMETOOLONG;
			memcpy(out + o, num, k);
			o += k;
			p++;
			continue;
		}
		if (o + 1 >= len)
			return -ENAMETOOLONG;
		out[o++] = *p;
	}
	if (o >= len)
		return -ENAMETOOLONG;
	out[o] = 0;
	return 0;
}

static bool ours(const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_uid == geteuid();
}

static void refuse(const char *path)
{
	lt_err("refusing to write %s: not a regular file owned by you\n", path);
}

FILE *sink__open(const char *path)
{
	struct stat st;
	FILE *f;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		if (errno == ELOOP)
			refuse(path);
		else
			lt_err("cannot open %s for writing: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !ours(&st)) {
		refuse(path);
		close(fd);
		return NULL;
	}
	if (ftruncate(fd, 0)) {
		lt_err("cannot truncate %s: %s\n", path, strerror(errno));
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "w");
	if (!f) {
		lt_err("cannot open %s for writing: %s\n", path, strerror(errno));
		close(fd);
		return NULL;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	return f;
}

/* The directory part of PATH ("." when none), in BUF. */
static const char *dir_of(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!slash)
		return ".";
	n = (size_t)(slash - path);
	if (n == 0)
		return "/";
	if (n >= len)
		n = len - 1;
	memcpy(buf, path, n);
	buf[n] = 0;
	return buf;
}

int sink__check(const char *tmpl)
{
	char path[PATH_MAX], dbuf[PATH_MAX];
	const char *dir;
	struct stat st;
	int err;

	err = sink__expand(tmpl, 1, path, sizeof(path));
	if (err) {
		lt_err("file name too long: %s\n", tmpl);
		return err;
	}
	dir = dir_of(path, dbuf, sizeof(dbuf));
	if (stat(dir, &st))
		err = -errno;
	else if (!S_ISDIR(st.st_mode))
		err = -ENOTDIR;
	else if (access(dir, W_OK | X_OK))
		err = -errno;
	if (err) {
		lt_err("cannot write files in %s: %s\n", dir, strerror(-err));
		return err;
	}
	if (lstat(path, &st) == 0 && !ours(&st)) {
		refuse(path);
		return -EPERM;
	}
	return 0;
}

int sink__replace_with(const char *path, sink_fn write, const void *arg)
{
	size_t n = strlen(path);
	char *tmp = malloc(n + 16);
	struct stat st;
	FILE *f = NULL;
	int fd, err;

	if (!tmp)
		return -ENOMEM;
	if (lstat(path, &st) == 0 && !ours(&st)) {
		refuse(path);
		free(tmp);
		return -EPERM;
	}
	snprintf(tmp, n + 16, "%s.tmp.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		lt_err("cannot write %s: %s\n", path, strerror(-err));
		free(tmp);
		return err;
	}
	if (fchmod(fd, 0644) || !(f = fdopen(fd, "w"))) {
		err = -errno;
		close(fd);
		goto fail;
	}
	err = write(f, arg);
	if (!err && fflush(f))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (err)
		goto fail;
	if (rename(tmp, path)) {
		err = -errno;
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	lt_err("cannot write %s: %s\n", path, strerror(-err));
	unlink(tmp);
	free(tmp);
	return err;
}

struct report_arg {
	report_writer write;
	const struct lt_report *r;
};

static int write_report(FILE *f, const void *arg)
{
	const struct report_arg *a = arg;

	return a->write(f, a->r);
}

int sink__replace(const char *path, report_writer write, const struct lt_report *r)
{
	struct report_arg a = { write, r };

	return sink__replace_with(path, write_report, &a);
}

int sink__sibling(const char *path, const char *kind, const char *ext, char *out, size_t len)
{
	size_t n = strlen(path), e = strlen(ext);
	int k;

	if (n >= e && strcmp(path + n - e, ext) == 0)
		n -= e;
	k = snprintf(out, len, "%.*s.%s%s", (int)n, path, kind, ext);
	return k < 0 || (size_t)k >= len ? -ENAMETOOLONG : 0;
}

struct section_arg {
	const struct lt_report *r;
	const struct lt_section *sec;
	enum lt_format fmt;
};

static int write_section(FILE *f, const void *arg)
{
	const struct section_arg *a = arg;

	if (a->fmt == LT_FMT_PPROF)
		return pprof__write_section(f, a->r, a->sec, NULL);
	return output__folded_section(f, a->r, a->sec);
}

/* Does SEC have a file of its own in FMT (pprof, folded), and what is its sibling kind (NULL: the main file)? */
static bool section_file(const struct lt_view *v, enum lt_format fmt, const char **kind)
{
	if (fmt == LT_FMT_PPROF) {
		*kind = v->pprof ? v->pprof->sibling : NULL;
		return v->pprof != NULL;
	}
	*kind = v->key;
	return v->folded_value >= 0;
}

static const char *section_ext(enum lt_format fmt)
{
	return fmt == LT_FMT_PPROF ? ".pb.gz" : ".folded";
}

/*
 * Folded and pprof files: the first section of FMT to PATH (pprof: the
 * memory section), every other to its sibling. A section that is off has no
 * file: none is created, an old one is left alone. One file that fails does
 * not stop the others. 0 or the first -errno, each failure printed.
 */
int sink__write_sections(const char *path, enum lt_format fmt, const struct lt_report *r)
{
	bool main_done = false;
	int err = 0;

	for (int i = 0; i < r->nsecs; i++) {
		struct section_arg a = { r, &r->secs[i], fmt };
		char sib[PATH_MAX];
		const char *kind;
		int e;

		if (!section_file(r->secs[i].view, fmt, &kind))
			continue;
		if (fmt == LT_FMT_FOLDED && !main_done)
			kind = NULL;
		if (!kind) {
			main_done = true;
			e = sink__replace_with(path, write_section, &a);
		} else if (sink__sibling(path, kind, section_ext(fmt), sib, sizeof(sib))) {
			lt_err("file name too long: the %s profile beside %s\n", kind, path);
			e = -ENAMETOOLONG;
		} else {
			e = sink__replace_with(sib, write_section, &a);
		}
		if (e && !err)
			err = e;
	}
	return err;
}

struct sink {
	enum lt_format format;
	const char *path;	/* NULL: stdout */
	FILE *f;		/* stdout or an appended stream; NULL: replaced per report */
};

struct sinks {
	struct sink s[LT_MAX_FORMATS];
	int n;
};

/* The sibling files beside TMPL (pprof, folded) of the sections of VIEWS. */
static int check_siblings(const char *tmpl, enum lt_format fmt, const struct lt_view *const *views, int nviews)
{
	bool main_seen = false;
	char path[PATH_MAX];
	const char *kind;
	int err;

	for (int i = 0; i < nviews; i++) {
		if (!section_file(views[i], fmt, &kind))
			continue;
		if (fmt == LT_FMT_FOLDED && !main_seen)
			kind = NULL;
		if (!kind) {
			main_seen = true;
			continue;
		}
		if (sink__sibling(tmpl, kind, section_ext(fmt), path, sizeof(path))) {
			lt_err("file name too long: the %s profile beside %s\n", kind, tmpl);
			return -ENAMETOOLONG;
		}
		err = sink__check(path);
		if (err)
			return err;
	}
	return 0;
}

struct sinks *sinks__open(const struct lt_opts *o, const struct lt_view *const *views, int nviews)
{
	struct sinks *ss = calloc(1, sizeof(*ss));

	if (!ss) {
		lt_err("out of memory\n");
		return NULL;
	}
	for (int i = 0; i < o->nouts; i++) {
		struct sink *s = &ss->s[ss->n++];

		s->format = o->outs[i].format;
		s->path = o->outs[i].path;
		if (!s->path) {
			s->f = stdout;
		} else if ((s->format == LT_FMT_TEXT || s->format == LT_FMT_JSON) &&
			   !sink__has_n(s->path)) {
			s->f = sink__open(s->path);
			if (!s->f)
				goto fail;
		} else if (sink__check(s->path) ||
			   ((s->format == LT_FMT_PPROF || s->format == LT_FMT_FOLDED) &&
			    check_siblings(s->path, s->format, views, nviews))) {
			goto fail;
		}
	}
	return ss;
fail:
	sinks__close(ss);
	return NULL;
}

int sinks__emit(struct sinks *ss, const struct lt_report *r)
{
	int ret = 0;

	for (int i = 0; i < ss->n; i++) {
		struct sink *s = &ss->s[i];
		char path[PATH_MAX];
		int err;

		if (s->f) {
			err = sink__writer(s->format)(s->f, r);
			if (err)
				lt_err("cannot write the %s report to %s: %s\n",
					sink__format_name(s->format), s->path ? s->path : "stdout",
					strerror(-err));
		} else {
			err = sink__expand(s->path, r->number, path, sizeof(path));
			if (err)
				lt_err("file name too long: %s\n", s->path);
			else if (s->format == LT_FMT_PPROF || s->format == LT_FMT_FOLDED)
				err = sink__write_sections(path, s->format, r);
			else
				err = sink__replace(path, sink__writer(s->format), r);
		}
		if (err && !ret)
			ret = err;
	}
	return ret;
}

void sinks__close(struct sinks *ss)
{
	if (!ss)
		return;
	for (int i = 0; i < ss->n; i++)
		if (ss->s[i].f && ss->s[i].f != stdout)
			fclose(ss->s[i].f);
	free(ss);
}
