// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * vmcheck: the checks of tests/vm/vmtests.sh, for a VM without python.
 * Built static by tests/vm/run.sh. Exit status 0 = check passed; on failure
 * the reason is printed on stdout (one line, then details).
 *
 *   vmcheck site  REPORT EXE FUNC ALLOCS BYTES
 *       Sum allocs/bytes over the memory sites of the final report (last JSON
 *       line of the file REPORT) whose first frame in module EXE is FUNC.
 *   vmcheck top   REPORT EXE FUNC FILE LINE
 *       In every such site, stack[0] is that frame, at FILE (basename):LINE,
 *       not inlined.
 *   vmcheck sites REPORT               print the sites (diagnostics)
 *   vmcheck threads REPORT EXE SRC LIVE EXITED [FUNC:LIVE:EXITED:ROUTINE:LINE]...
 *       threads.live and threads.exited_unjoined of the final report; per
 *       creating function (first frame in module EXE): the sums over its
 *       sites, the start routine of each, and stack[0] at SRC (basename):LINE
 *       (LINE 0: not checked). No other thread site; no thread drops.
 *   vmcheck timers REPORT EXE SRC OPEN HOOKS [FUNC:OPEN:KIND:PERIODIC:INTERVAL:LINE]...
 *       timers.open; "hooks" starts with HOOKS ("-": any); per creating
 *       function: sums of open and periodic, and each site's kind,
 *       interval_ns and stack[0] at SRC:LINE. No other timer site; no
 *       timer drops.
 *   vmcheck fds REPORT EXE SRC OPEN HOOKS [FUNC:OPEN:KIND=N[+KIND=N...]:LINE]...
 *       fds.open; "hooks" starts with HOOKS ("-": any); per creating
 *       function: the sum of open, the sums of the kinds named (the others
 *       0), and each site's stack[0] at SRC:LINE. No other fd site; no fd
 *       drops.
 *   vmcheck mmap REPORT EXE SRC BYTES REGIONS [FUNC:BYTES:REGIONS:LINE]...
 *       mmap.bytes and mmap.regions; per creating function the sums, and
 *       each site's stack[0] at SRC:LINE. No other mmap site.
 *   vmcheck stack REPORT KIND EXE FUNC[,FUNC...][/FUNC,...]
 *       KIND is memory, threads, timers, fds or mmap. Every site of KIND whose first
 *       frame in EXE is the first FUNC has exactly these functions as its
 *       first frames (stack[0], stack[1], ...), and at least one site does.
 *       Frames after a '/' may be missing only from a site flagged
 *       truncated whose stack ends before them.
 *   vmcheck whole REPORT KIND EXE FUNC[,FUNC...]
 *       KIND is memory, threads, timers, fds or mmap. Every site of KIND whose first
 *       frame in EXE is the first FUNC is not flagged truncated and has the
 *       other FUNCs among its later frames, in this order (other frames may
 *       come between them), and at least one site does.
 *   vmcheck absent REPORT KIND EXE FUNC
 *       No site of KIND has FUNC as its first frame in EXE.
 *   vmcheck frames REPORT MAPS
 *       Every frame of every site of every tracker: not in the [uprobes]
 *       mapping of MAPS (a copy of /proc/PID/maps) nor named after it, and
 *       no frame repeats the one before it (same address, not inlined).
 *   vmcheck sample RATE EXE FUNC:N:SIZE[,...] REPORT...
 *       Sampled mode (--sample RATE): a block of SIZE is sampled with
 *       probability p = 1 - e^(-SIZE/RATE) and weighs w = SIZE / p, so the
 *       bytes of FUNC's sites (first frame in EXE) are K w, K ~ Binomial(N,
 *       p). In every REPORT: K within the binomial's central interval of
 *       probability 1 - 2e-5, and no memory site whose first frame in EXE is
 *       another function (or that has no frame in EXE). Over the REPORTs:
 *       each mean within 3 standard errors of N SIZE.
 *   vmcheck snap  PID DIR              save every executable mapping of PID
 *   vmcheck probes PID DIR LOG cc|orig
 *       For every "leaktrace: probe <sym> <path> +0x<off> ... addr=0x<hex>"
 *       line of LOG (leaktrace -v stderr): the byte at addr in /proc/PID/mem
 *       is 0xcc (cc), or the byte saved by snap (orig).
 */
#include <ctype.h>
#include <math.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------ tiny JSON */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jval {
	enum jtype type;
	bool b;
	double num;
	long long inum;
	char *str;
	int n;			/* children of arrays and objects */
	struct jval **kids;
	char **keys;		/* objects only */
};

struct jp {
	const char *s;
	const char *err;
};

static void ws(struct jp *p)
{
	while (*p->s && isspace((unsigned char)*p->s))
		p->s++;
}

static void *xcalloc(size_t n, size_t sz)
{
	void *v = calloc(n ? n : 1, sz);

	if (!v) {
		perror("calloc");
		exit(2);
	}
	return v;
}

static char *jstring(struct jp *p)
{
	size_t cap = 16, len = 0;
	char *out = xcalloc(cap, 1);

	p->s++;			/* opening quote */
	while (*p->s && *p->s != '"') {
		char c = *p->s++;

		if (c == '\\') {
			c = *p->s++;
			switch (c) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'u':	/* keep ASCII, replace the rest */
				if (strlen(p->s) < 4) {
					p->err = "bad \\u escape";
					return out;
				}
				c = (char)strtol((char[]){ p->s[0], p->s[1], p->s[2], p->s[3], 0 }, NULL, 16);
				if ((unsigned char)c > 0x7f || !c)
					c = '?';
				p->s += 4;
				break;
			case 0:
				p->err = "unterminated string";
				return out;
			default:
				break;	/* \" \\ \/ */
			}
		}
		if (len + 2 > cap)
			out = realloc(out, cap *= 2);
		out[len++] = c;
	}
	if (*p->s != '"')
		p->err = "unterminated string";
	else
		p->s++;
	out[len] = 0;
	return out;
}

static struct jval *jparse(struct jp *p, int depth)
{
	struct jval *v = xcalloc(1, sizeof(*v));

	ws(p);
	if (depth > 64) {
		p->err = "too deep";
		return v;
	}
	switch (*p->s) {
	case '{':
	case '[': {
		bool obj = *p->s == '{';
		char close = obj ? '}' : ']';
		int cap = 0;

		v->type = obj ? J_OBJ : J_ARR;
		p->s++;
		ws(p);
		if (*p->s == close) {
			p->s++;
			return v;
		}
		for (;;) {
			char *key = NULL;

			ws(p);
			if (obj) {
				if (*p->s != '"') {
					p->err = "expected a key";
					return v;
				}
				key = jstring(p);
				ws(p);
				if (*p->s != ':') {
					p->err = "expected ':'";
					return v;
				}
				p->s++;
			}
			if (v->n == cap) {
				cap = cap ? cap * 2 : 8;
				v->kids = realloc(v->kids, cap * sizeof(*v->kids));
				v->keys = realloc(v->keys, cap * sizeof(*v->keys));
			}
			v->keys[v->n] = key;
			v->kids[v->n++] = jparse(p, depth + 1);
			if (p->err)
				return v;
			ws(p);
			if (*p->s == ',') {
				p->s++;
				continue;
			}
			if (*p->s == close) {
				p->s++;
				return v;
			}
			p->err = obj ? "expected ',' or '}'" : "expected ',' or ']'";
			return v;
		}
	}
	case '"':
		v->type = J_STR;
		v->str = jstring(p);
		return v;
	case 't':
	case 'f':
	case 'n':
		if (!strncmp(p->s, "true", 4)) {
			v->type = J_BOOL, v->b = true, p->s += 4;
		} else if (!strncmp(p->s, "false", 5)) {
			v->type = J_BOOL, p->s += 5;
		} else if (!strncmp(p->s, "null", 4)) {
			p->s += 4;
		} else {
			p->err = "bad literal";
		}
		return v;
	default: {
		char *end;

		v->type = J_NUM;
		v->num = strtod(p->s, &end);
		if (end == p->s) {
			p->err = "unexpected character";
			return v;
		}
		v->inum = strtoll(p->s, NULL, 10);
		p->s = end;
		return v;
	}
	}
}

static struct jval *jget(const struct jval *o, const char *key)
{
	if (!o || o->type != J_OBJ)
		return NULL;
	for (int i = 0; i < o->n; i++)
		if (!strcmp(o->keys[i], key))
			return o->kids[i];
	return NULL;
}

static const char *jstr(const struct jval *o, const char *key)
{
	struct jval *v = jget(o, key);

	return v && v->type == J_STR ? v->str : "";
}

static long long jint(const struct jval *o, const char *key)
{
	struct jval *v = jget(o, key);

	return v && v->type == J_NUM ? v->inum : -1;
}

/* ------------------------------------------------------------ reports */

static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	return 1;
}

static char *slurp(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "r");
	size_t cap = 1 << 16, len = 0, k;
	char *buf;

	if (!f)
		return NULL;
	buf = xcalloc(cap, 1);
	while ((k = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += k;
		if (len + 1 >= cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	buf[len] = 0;
	if (lenp)
		*lenp = len;
	return buf;
}

/* The last non-empty line of REPORT, parsed; must have "final": true. */
static struct jval *final_report(const char *path)
{
	char *buf = slurp(path, NULL), *line = NULL, *s;
	struct jval *v, *fin;
	struct jp p;

	if (!buf) {
		fail("cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	for (s = strtok(buf, "\n"); s; s = strtok(NULL, "\n")) {
		const char *t = s;

		while (isspace((unsigned char)*t))
			t++;
		if (*t)
			line = s;
	}
	if (!line) {
		fail("%s: no JSON report (empty output)", path);
		return NULL;
	}
	p.s = line;
	p.err = NULL;
	v = jparse(&p, 0);
	if (p.err || v->type != J_OBJ) {
		fail("%s: last line is not a JSON object (%s near offset %ld)", path,
		     p.err ? p.err : "not an object", (long)(p.s - line));
		return NULL;
	}
	fin = jget(v, "final");
	if (!fin || fin->type != J_BOOL || !fin->b) {
		fail("%s: last JSON line has no \"final\": true", path);
		return NULL;
	}
	return v;
}

static struct jval *sites_of(struct jval *rep)
{
	struct jval *s = jget(jget(rep, "memory"), "sites");

	return s && s->type == J_ARR ? s : NULL;
}

static const char *base(const char *p)
{
	const char *b = strrchr(p, '/');

	return b ? b + 1 : p;
}

/* First frame of the site whose module is exe (basename), or NULL. */
static struct jval *first_exe_frame(struct jval *site, const char *exe, int *idx)
{
	struct jval *st = jget(site, "stack");

	if (!st || st->type != J_ARR)
		return NULL;
	for (int i = 0; i < st->n; i++)
		if (!strcmp(base(jstr(st->kids[i], "module")), exe)) {
			if (idx)
				*idx = i;
			return st->kids[i];
		}
	return NULL;
}

static void print_frame(const char *pre, struct jval *fr)
{
	const char *func = jstr(fr, "func"), *file = base(jstr(fr, "file"));
	char where[300] = "";

	if (*file)
		snprintf(where, sizeof(where), " (%s:%lld)", file, jint(fr, "line"));
	printf("%s%s %s+%lld%s [%s]%s\n", pre, jstr(fr, "addr"), *func ? func : "??",
	       jint(fr, "offset"), where, base(jstr(fr, "module")),
	       jget(fr, "inlined") && jget(fr, "inlined")->b ? " inlined" : "");
}

static void print_sites(struct jval *rep, int frames)
{
	struct jval *ss = sites_of(rep);

	if (!ss) {
		printf("  (no memory.sites)\n");
		return;
	}
	printf("  %d memory sites:\n", ss->n);
	for (int i = 0; i < ss->n; i++) {
		struct jval *st = jget(ss->kids[i], "stack");

		printf("  %lld B in %lld allocs, pid %lld\n", jint(ss->kids[i], "bytes"),
		       jint(ss->kids[i], "allocs"), jint(ss->kids[i], "pid"));
		for (int j = 0; st && st->type == J_ARR && j < st->n && j < frames; j++)
			print_frame("      ", st->kids[j]);
	}
}

static int cmd_site(char **av)
{
	struct jval *rep = final_report(av[0]), *ss;
	long long want_a = atoll(av[3]), want_b = atoll(av[4]), a = 0, b = 0;
	int nsites = 0;

	if (!rep)
		return 1;
	if (!(ss = sites_of(rep)))
		return fail("report has no memory.sites list");
	for (int i = 0; i < ss->n; i++) {
		struct jval *fr = first_exe_frame(ss->kids[i], av[1], NULL);

		if (fr && !strcmp(jstr(fr, "func"), av[2])) {
			a += jint(ss->kids[i], "allocs");
			b += jint(ss->kids[i], "bytes");
			nsites++;
		}
	}
	if (!nsites) {
		fail("%s: no site whose first frame in %s is %s (expected %lld allocs, %lld B)",
		     av[2], av[1], av[2], want_a, want_b);
		print_sites(rep, 4);
		return 1;
	}
	if (a != want_a || b != want_b) {
		fail("%s: expected %lld allocs / %lld B, got %lld allocs / %lld B in %d site(s)",
		     av[2], want_a, want_b, a, b, nsites);
		print_sites(rep, 4);
		return 1;
	}
	printf("%s: %lld allocs / %lld B in %d site(s)\n", av[2], a, b, nsites);
	return 0;
}

static int cmd_top(char **av)
{
	struct jval *rep = final_report(av[0]), *ss;
	long long want_line = atoll(av[4]);
	int nsites = 0;

	if (!rep)
		return 1;
	if (!(ss = sites_of(rep)))
		return fail("report has no memory.sites list");
	for (int i = 0; i < ss->n; i++) {
		struct jval *st = jget(ss->kids[i], "stack"), *fr;
		int idx = -1;

		fr = first_exe_frame(ss->kids[i], av[1], &idx);
		if (!fr || strcmp(jstr(fr, "func"), av[2]))
			continue;
		nsites++;
		printf("site %d (%lld B): stack\n", nsites, jint(ss->kids[i], "bytes"));
		for (int j = 0; j < st->n && j < 4; j++)
			print_frame("    ", st->kids[j]);
		if (idx != 0)
			return fail("%s: stack[0] should be %s in %s, is %s in %s", av[2], av[2], av[1],
				    jstr(st->kids[0], "func"), base(jstr(st->kids[0], "module")));
		if (strcmp(base(jstr(fr, "file")), base(av[3])))
			return fail("%s: file of stack[0] is %s, expected %s", av[2],
				    jstr(fr, "file"), base(av[3]));
		if (jint(fr, "line") != want_line)
			return fail("%s: line of stack[0] is %lld, expected %lld", av[2],
				    jint(fr, "line"), want_line);
		if (jget(fr, "inlined") && jget(fr, "inlined")->b)
			return fail("%s: stack[0] is marked inlined", av[2]);
	}
	if (!nsites) {
		fail("%s: no site whose first frame in %s is %s", av[2], av[1], av[2]);
		print_sites(rep, 4);
		return 1;
	}
	return 0;
}

static int cmd_sites(char **av)
{
	struct jval *rep = final_report(av[0]);

	if (!rep)
		return 1;
	print_sites(rep, 6);
	return 0;
}

/* ------------------------------------------------------------ trackers */

static struct jval *tracker_sites(struct jval *rep, const char *kind)
{
	struct jval *s = jget(jget(rep, kind), "sites");

	return s && s->type == J_ARR ? s : NULL;
}

static int split(char *spec, char **f, int max)
{
	int n = 0;

	for (char *t = spec; n < max; n++) {
		f[n] = t;
		t = strchr(t, ':');
		if (!t)
			return n + 1;
		*t++ = 0;
	}
	return -1;
}

static const char *creator(struct jval *site, const char *exe)
{
	struct jval *fr = first_exe_frame(site, exe, NULL);

	return fr ? jstr(fr, "func") : "(no frame in the executable)";
}

static void print_tsites(struct jval *rep, const char *kind, const char *exe)
{
	struct jval *ss = tracker_sites(rep, kind);

	if (!ss) {
		printf("  (no %s.sites)\n", kind);
		return;
	}
	printf("  %d %s sites:\n", ss->n, kind);
	for (int i = 0; i < ss->n; i++) {
		struct jval *s = ss->kids[i], *st = jget(s, "stack");

		if (!strcmp(kind, "fds"))
			printf("  open %lld (file %lld tcp %lld pipe %lld eventfd %lld other %lld) e.g. %s, created by %s%s\n",
			       jint(s, "open"), jint(jget(s, "kinds"), "file"), jint(jget(s, "kinds"), "tcp"),
			       jint(jget(s, "kinds"), "pipe"), jint(jget(s, "kinds"), "eventfd"),
			       jint(jget(s, "kinds"), "other"), jstr(s, "example"), creator(s, exe),
			       jget(s, "truncated") && jget(s, "truncated")->b ? " (truncated)" : "");
		else if (!strcmp(kind, "mmap"))
			printf("  bytes %lld regions %lld, created by %s%s\n", jint(s, "bytes"), jint(s, "regions"),
			       creator(s, exe), jget(s, "truncated") && jget(s, "truncated")->b ? " (truncated)" : "");
		else if (!strcmp(kind, "threads"))
			printf("  live %lld exited_unjoined %lld start %s, created by %s%s\n",
			       jint(s, "live"), jint(s, "exited_unjoined"), jstr(s, "start_routine"),
			       creator(s, exe), jget(s, "truncated") && jget(s, "truncated")->b ?
			       " (truncated)" : "");
		else
			printf("  open %lld kind %s periodic %lld interval_ns %lld, created by %s%s\n",
			       jint(s, "open"), jstr(s, "kind"), jint(s, "periodic"),
			       jint(s, "interval_ns"), creator(s, exe),
			       jget(s, "truncated") && jget(s, "truncated")->b ? " (truncated)" : "");
		for (int j = 0; st && st->type == J_ARR && j < st->n && j < 6; j++)
			print_frame("      ", st->kids[j]);
	}
}

/* stack[0] of SITE is the first frame in EXE, at file SRC line LINE (0: any line). */
static int check_top(struct jval *site, const char *exe, const char *func, const char *src,
		     long long line)
{
	struct jval *st = jget(site, "stack"), *fr;
	int idx = -1;

	fr = first_exe_frame(site, exe, &idx);
	if (!fr)
		return fail("%s: no frame in %s", func, exe);
	if (idx != 0)
		return fail("%s: stack[0] should be %s in %s, is %s in %s", func, func, exe,
			    jstr(st->kids[0], "func"), base(jstr(st->kids[0], "module")));
	if (strcmp(base(jstr(fr, "file")), base(src)))
		return fail("%s: file of stack[0] is %s, expected %s", func, jstr(fr, "file"),
			    base(src));
	if (line && jint(fr, "line") != line)
		return fail("%s: line of stack[0] is %lld, expected %lld", func, jint(fr, "line"),
			    line);
	return 0;
}

static int check_drops(struct jval *rep, const char *const *names)
{
	struct jval *d = jget(rep, "drops");

	for (int i = 0; names[i]; i++)
		if (jint(d, names[i]) != 0)
			return fail("drops.%s is %lld, expected 0", names[i], jint(d, names[i]));
	return 0;
}

/* Every site's creator is one of the FUNC fields of specs (field 0 of each). */
static int check_only(struct jval *ss, const char *kind, const char *exe, char **specs, int n)
{
	for (int i = 0; i < ss->n; i++) {
		const char *c = creator(ss->kids[i], exe);
		bool known = false;

		for (int k = 0; k < n && !known; k++) {
			size_t len = strcspn(specs[k], ":");

			known = strlen(c) == len && !strncmp(specs[k], c, len);
		}
		if (!known)
			return fail("unexpected %s site created by %s", kind, c);
	}
	return 0;
}

static int cmd_threads(char **av, int ac)
{
	static const char *const drops[] = { "threads_untracked", "missed_returns", NULL };
	struct jval *rep = final_report(av[0]), *th, *ss;
	const char *exe = av[1], *src = av[2];
	long long live = atoll(av[3]), exited = atoll(av[4]);
	int bad = 0;

	if (!rep)
		return 1;
	th = jget(rep, "threads");
	if (!th || th->type != J_OBJ || !(ss = tracker_sites(rep, "threads")))
		return fail("report has no \"threads\" object with sites");
	if (jint(th, "live") != live || jint(th, "exited_unjoined") != exited) {
		fail("threads.live %lld, exited_unjoined %lld; expected %lld and %lld",
		     jint(th, "live"), jint(th, "exited_unjoined"), live, exited);
		bad++;
	}
	for (int a = 5; a < ac && !bad; a++) {
		char spec[512], *f[5];
		long long l = 0, e = 0;
		int nsites = 0;

		snprintf(spec, sizeof(spec), "%s", av[a]);
		if (split(spec, f, 5) != 5)
			return fail("bad spec %s (FUNC:LIVE:EXITED:ROUTINE:LINE)", av[a]);
		for (int i = 0; i < ss->n && !bad; i++) {
			struct jval *s = ss->kids[i];

			if (strcmp(creator(s, exe), f[0]))
				continue;
			nsites++;
			l += jint(s, "live");
			e += jint(s, "exited_unjoined");
			if (strcmp(jstr(s, "start_routine"), f[3])) {
				fail("%s: start routine %s, expected %s", f[0], jstr(s, "start_routine"),
				     f[3]);
				bad++;
			} else if (check_top(s, exe, f[0], src, atoll(f[4]))) {
				bad++;
			}
		}
		if (bad)
			break;
		if (!nsites) {
			fail("%s: no thread site created by it", f[0]);
			bad++;
		} else if (l != atoll(f[1]) || e != atoll(f[2])) {
			fail("%s: live %lld, exited_unjoined %lld in %d site(s); expected %s and %s",
			     f[0], l, e, nsites, f[1], f[2]);
			bad++;
		} else {
			printf("%s: live %lld, exited_unjoined %lld in %d site(s), start %s\n", f[0], l,
			       e, nsites, f[3]);
		}
	}
	if (!bad && (check_only(ss, "thread", exe, av + 5, ac - 5) || check_drops(rep, drops)))
		bad++;
	if (bad) {
		print_tsites(rep, "threads", exe);
		return 1;
	}
	printf("threads.live %lld, exited_unjoined %lld\n", live, exited);
	return 0;
}

static int cmd_timers(char **av, int ac)
{
	static const char *const drops[] = { "timers_untracked", "timer_mismatch", NULL };
	struct jval *rep = final_report(av[0]), *tm, *ss;
	const char *exe = av[1], *src = av[2], *hooks = av[4];
	long long open = atoll(av[3]);
	int bad = 0;

	if (!rep)
		return 1;
	tm = jget(rep, "timers");
	if (!tm || tm->type != J_OBJ || !(ss = tracker_sites(rep, "timers")))
		return fail("report has no \"timers\" object with sites");
	if (strcmp(hooks, "-") && strncmp(jstr(rep, "hooks"), hooks, strlen(hooks)))
		return fail("hooks is \"%s\", expected \"%s...\"", jstr(rep, "hooks"), hooks);
	if (jint(tm, "open") != open) {
		fail("timers.open %lld, expected %lld", jint(tm, "open"), open);
		bad++;
	}
	for (int a = 5; a < ac && !bad; a++) {
		char spec[512], *f[6];
		long long n = 0, per = 0;
		int nsites = 0;

		snprintf(spec, sizeof(spec), "%s", av[a]);
		if (split(spec, f, 6) != 6)
			return fail("bad spec %s (FUNC:OPEN:KIND:PERIODIC:INTERVAL:LINE)", av[a]);
		for (int i = 0; i < ss->n && !bad; i++) {
			struct jval *s = ss->kids[i];

			if (strcmp(creator(s, exe), f[0]))
				continue;
			nsites++;
			n += jint(s, "open");
			per += jint(s, "periodic");
			if (strcmp(jstr(s, "kind"), f[2])) {
				fail("%s: kind %s, expected %s", f[0], jstr(s, "kind"), f[2]);
				bad++;
			} else if (jint(s, "interval_ns") != atoll(f[4])) {
				fail("%s: interval_ns %lld, expected %s", f[0], jint(s, "interval_ns"), f[4]);
				bad++;
			} else if (check_top(s, exe, f[0], src, atoll(f[5]))) {
				bad++;
			}
		}
		if (bad)
			break;
		if (!nsites) {
			fail("%s: no timer site created by it", f[0]);
			bad++;
		} else if (n != atoll(f[1]) || per != atoll(f[3])) {
			fail("%s: open %lld, periodic %lld in %d site(s); expected %s and %s", f[0], n,
			     per, nsites, f[1], f[3]);
			bad++;
		} else {
			printf("%s: open %lld (%s), periodic %lld, in %d site(s)\n", f[0], n, f[2], per,
			       nsites);
		}
	}
	if (!bad && (check_only(ss, "timer", exe, av + 5, ac - 5) || check_drops(rep, drops)))
		bad++;
	if (bad) {
		print_tsites(rep, "timers", exe);
		return 1;
	}
	printf("timers.open %lld; hooks: %s\n", open, jstr(rep, "hooks"));
	return 0;
}

static int cmd_fds(char **av, int ac)
{
	static const char *const drops[] = { "fds_untracked", "fd_mismatch", NULL };
	struct jval *rep = final_report(av[0]), *fds, *ss;
	const char *exe = av[1], *src = av[2], *hooks = av[4];
	long long open = atoll(av[3]);
	int bad = 0;

	if (!rep)
		return 1;
	fds = jget(rep, "fds");
	if (!fds || fds->type != J_OBJ || !(ss = tracker_sites(rep, "fds")))
		return fail("report has no \"fds\" object with sites");
	if (strcmp(hooks, "-") && strncmp(jstr(rep, "hooks"), hooks, strlen(hooks)))
		return fail("hooks is \"%s\", expected \"%s...\"", jstr(rep, "hooks"), hooks);
	if (jint(fds, "open") != open) {
		fail("fds.open %lld, expected %lld", jint(fds, "open"), open);
		bad++;
	}
	for (int a = 5; a < ac && !bad; a++) {
		char spec[512], *f[4], *kinds[8];
		long long n = 0, want[8] = {}, got[8] = {};
		int nsites = 0, nk = 0;

		snprintf(spec, sizeof(spec), "%s", av[a]);
		if (split(spec, f, 4) != 4)
			return fail("bad spec %s (FUNC:OPEN:KIND=N[+KIND=N...]:LINE)", av[a]);
		for (char *k = strtok(f[2], "+"); k && nk < 8; k = strtok(NULL, "+")) {
			char *eq = strchr(k, '=');

			if (!eq)
				return fail("bad kind %s in %s", k, av[a]);
			*eq = 0;
			want[nk] = atoll(eq + 1);
			kinds[nk++] = k;
		}
		for (int i = 0; i < ss->n && !bad; i++) {
			struct jval *s = ss->kids[i];

			if (strcmp(creator(s, exe), f[0]))
				continue;
			nsites++;
			n += jint(s, "open");
			for (int k = 0; k < nk; k++)
				got[k] += jint(jget(s, "kinds"), kinds[k]);
			if (check_top(s, exe, f[0], src, atoll(f[3])))
				bad++;
		}
		if (bad)
			break;
		if (!nsites) {
			fail("%s: no fd site created by it", f[0]);
			bad++;
			break;
		}
		if (n != atoll(f[1])) {
			fail("%s: open %lld in %d site(s), expected %s", f[0], n, nsites, f[1]);
			bad++;
		}
		for (int k = 0; k < nk && !bad; k++) {
			if (got[k] != want[k]) {
				fail("%s: %s %lld, expected %lld", f[0], kinds[k], got[k], want[k]);
				bad++;
			}
		}
		if (!bad)
			printf("%s: open %lld in %d site(s)\n", f[0], n, nsites);
	}
	if (!bad && (check_only(ss, "fd", exe, av + 5, ac - 5) || check_drops(rep, drops)))
		bad++;
	if (bad) {
		print_tsites(rep, "fds", exe);
		return 1;
	}
	printf("fds.open %lld; hooks: %s\n", open, jstr(rep, "hooks"));
	return 0;
}

static int cmd_mmap(char **av, int ac)
{
	struct jval *rep = final_report(av[0]), *mm, *ss;
	const char *exe = av[1], *src = av[2];
	long long bytes = atoll(av[3]), regions = atoll(av[4]);
	int bad = 0;

	if (!rep)
		return 1;
	mm = jget(rep, "mmap");
	if (!mm || mm->type != J_OBJ || !(ss = tracker_sites(rep, "mmap")))
		return fail("report has no \"mmap\" object with sites");
	if (jint(mm, "bytes") != bytes || jint(mm, "regions") != regions) {
		fail("mmap.bytes %lld, regions %lld; expected %lld and %lld", jint(mm, "bytes"),
		     jint(mm, "regions"), bytes, regions);
		bad++;
	}
	for (int a = 5; a < ac && !bad; a++) {
		char spec[512], *f[4];
		long long b = 0, r = 0;
		int nsites = 0;

		snprintf(spec, sizeof(spec), "%s", av[a]);
		if (split(spec, f, 4) != 4)
			return fail("bad spec %s (FUNC:BYTES:REGIONS:LINE)", av[a]);
		for (int i = 0; i < ss->n && !bad; i++) {
			struct jval *s = ss->kids[i];

			if (strcmp(creator(s, exe), f[0]))
				continue;
			nsites++;
			b += jint(s, "bytes");
			r += jint(s, "regions");
			if (check_top(s, exe, f[0], src, atoll(f[3])))
				bad++;
		}
		if (bad)
			break;
		if (!nsites || b != atoll(f[1]) || r != atoll(f[2])) {
			fail("%s: bytes %lld, regions %lld in %d site(s); expected %s and %s", f[0], b, r,
			     nsites, f[1], f[2]);
			bad++;
		} else {
			printf("%s: %lld bytes in %lld regions\n", f[0], b, r);
		}
	}
	if (!bad && check_only(ss, "mmap", exe, av + 5, ac - 5))
		bad++;
	if (bad) {
		print_tsites(rep, "mmap", exe);
		return 1;
	}
	printf("mmap.bytes %lld, regions %lld\n", bytes, regions);
	return 0;
}

/* No site of KIND starts at FUNC in EXE: say so, with what there is. Returns 1. */
static int no_site(struct jval *rep, const char *kind, const char *exe, const char *func)
{
	fail("no %s site whose first frame in %s is %s", kind, exe, func);
	if (!strcmp(kind, "memory"))
		print_sites(rep, 6);
	else
		print_tsites(rep, kind, exe);
	return 1;
}
static int cmd_stack(char **av)
{
	struct jval *rep = final_report(av[0]), *ss;
	const char *kind = av[1], *exe = av[2];
	char list[1024], *want[64], *t;
	int nwant = 0, nreq = -1, nsites = 0;

	if (!rep)
		return 1;
	if (!(ss = tracker_sites(rep, kind)))
		return fail("report has no %s.sites list", kind);
	snprintf(list, sizeof(list), "%s", av[3]);
	for (t = list; t && *t && nwant < 64;) {
		char *sep = t + strcspn(t, ",/");
		char c = *sep;

		*sep = 0;
		want[nwant++] = t;
		if (c == '/')
			nreq = nwant;
		t = c ? sep + 1 : NULL;
	}
	if (nreq < 0)
		nreq = nwant;
	for (int i = 0; i < ss->n; i++) {
		struct jval *s = ss->kids[i], *st = jget(s, "stack");
		bool trunc = jget(s, "truncated") && jget(s, "truncated")->b;

		if (strcmp(creator(s, exe), want[0]))
			continue;
		nsites++;
		printf("%s site %d%s:\n", kind, nsites, trunc ? " (truncated)" : "");
		for (int j = 0; j < st->n && j < nwant + 2; j++)
			print_frame("    ", st->kids[j]);
		/*
		 * Frames after the required ones may be missing from a site flagged
		 * truncated: the stack stopped early, or a frame was lost to a
		 * pending uretprobe's trampoline, which is skipped.
		 */
		for (int j = 0, k = 0; j < nwant; j++) {
			if (k >= st->n) {
				if (j >= nreq && trunc)
					break;
				return fail("%s site of %s: stack has %d frames, expected %s at stack[%d]%s",
					    kind, want[0], st->n, want[j], k,
					    j >= nreq ? " (or the site flagged truncated)" : "");
			}
			if (strcmp(jstr(st->kids[k], "func"), want[j])) {
				if (j >= nreq && trunc)
					continue;	/* this frame is missing: match the next one here */
				return fail("%s site of %s: stack[%d] is %s, expected %s", kind, want[0], k,
					    *jstr(st->kids[k], "func") ? jstr(st->kids[k], "func") : "??",
					    want[j]);
			}
			k++;
		}
	}
	if (!nsites)
		return no_site(rep, kind, exe, want[0]);
	return 0;
}

static int cmd_whole(char **av)
{
	struct jval *rep = final_report(av[0]), *ss;
	const char *kind = av[1], *exe = av[2];
	char list[1024], *want[64], *t;
	int nwant = 0, nsites = 0;

	if (!rep)
		return 1;
	if (!(ss = tracker_sites(rep, kind)))
		return fail("report has no %s.sites list", kind);
	snprintf(list, sizeof(list), "%s", av[3]);
	for (t = strtok(list, ","); t && nwant < 64; t = strtok(NULL, ","))
		want[nwant++] = t;
	if (!nwant)
		return fail("vmcheck whole: no FUNC");
	for (int i = 0; i < ss->n; i++) {
		struct jval *s = ss->kids[i], *st = jget(s, "stack");
		bool trunc = jget(s, "truncated") && jget(s, "truncated")->b;
		int idx = -1, j, k;

		if (!first_exe_frame(s, exe, &idx) || strcmp(creator(s, exe), want[0]))
			continue;
		nsites++;
		printf("%s site %d%s:\n", kind, nsites, trunc ? " (truncated)" : "");
		for (j = 0; j < st->n && j < 12; j++)
			print_frame("    ", st->kids[j]);
		if (trunc)
			return fail("%s site of %s: flagged truncated (%d frames)", kind, want[0], st->n);
		for (j = idx + 1, k = 1; j < st->n && k < nwant; j++)
			if (!strcmp(jstr(st->kids[j], "func"), want[k]))
				k++;
		if (k < nwant)
			return fail("%s site of %s: no %s after stack[%d] (%d frames)", kind, want[0],
				    want[k], idx, st->n);
	}
	if (!nsites)
		return no_site(rep, kind, exe, want[0]);
	printf("%s: %d %s site(s), none truncated, each through %s\n", want[0], nsites, kind, av[3]);
	return 0;
}

static int cmd_absent(char **av)
{
	struct jval *rep = final_report(av[0]), *ss;

	if (!rep)
		return 1;
	if (!(ss = tracker_sites(rep, av[1])))
		return fail("report has no %s.sites list", av[1]);
	for (int i = 0; i < ss->n; i++)
		if (!strcmp(creator(ss->kids[i], av[2]), av[3])) {
			struct jval *st = jget(ss->kids[i], "stack");

			fail("%s: a %s site (released, should be absent)", av[3], av[1]);
			for (int j = 0; j < st->n && j < 4; j++)
				print_frame("    ", st->kids[j]);
			return 1;
		}
	return 0;
}

static int cmd_frames(char **av)
{
	static const char *const kinds[] = { "memory", "threads", "timers" };
	struct jval *rep = final_report(av[0]);
	uint64_t lo = 0, hi = 0;
	char line[512];
	FILE *f = fopen(av[1], "r");
	int nframes = 0, nsites = 0, bad = 0;

	if (!rep)
		return 1;
	if (!f)
		return fail("cannot read %s: %s", av[1], strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[uprobes]"))
			sscanf(line, "%" SCNx64 "-%" SCNx64, &lo, &hi);
	fclose(f);
	if (!hi)
		return fail("no [uprobes] mapping in %s: no return probe was pending?", av[1]);
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		struct jval *ss = tracker_sites(rep, kinds[k]);

		for (int i = 0; ss && i < ss->n; i++) {
			struct jval *st = jget(ss->kids[i], "stack");

			nsites++;
			for (int j = 0; st && st->type == J_ARR && j < st->n; j++) {
				struct jval *fr = st->kids[j];
				uint64_t a = strtoull(jstr(fr, "addr"), NULL, 16);
				const char *why = NULL;

				nframes++;
				if (strstr(jstr(fr, "module"), "uprobes"))
					why = "module [uprobes]";
				else if (a >= lo && a < hi)
					why = "the [uprobes] trampoline's address";
				else if (j > 0 && !strcmp(jstr(fr, "addr"), jstr(st->kids[j - 1], "addr")) &&
					 !(jget(st->kids[j - 1], "inlined") &&
					   jget(st->kids[j - 1], "inlined")->b))
					why = "the frame before it again";
				if (why) {
					printf("%s site %d, stack[%d]: %s\n", kinds[k], i + 1, j, why);
					for (int m = 0; m < st->n && m < 8; m++)
						print_frame(m == j ? "  > " : "    ", st->kids[m]);
					bad++;
				}
			}
		}
	}
	if (bad)
		return fail("%d bad frame(s) in %d sites ([uprobes] at %" PRIx64 "-%" PRIx64 ")", bad,
			    nsites, lo, hi);
	printf("%d frames of %d sites: none in [uprobes] (%" PRIx64 "-%" PRIx64 "), none repeated\n",
	       nframes, nsites, lo, hi);
	return 0;
}

/* ------------------------------------------------------------ code bytes */

struct mapping {
	uint64_t lo, hi;
};

/* Executable mappings of pid (not [vsyscall]). */
static int exec_maps(int pid, struct mapping *m, int max)
{
	char path[64], line[512];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (n < max && fgets(line, sizeof(line), f)) {
		char perms[8] = "";

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s", &m[n].lo, &m[n].hi, perms) != 3)
			continue;
		if (!strchr(perms, 'x') || strstr(line, "[vsyscall]"))
			continue;
		n++;
	}
	fclose(f);
	return n;
}

static int cmd_snap(char **av)
{
	int pid = atoi(av[0]), fd, n;
	struct mapping m[256];
	char path[512];

	mkdir(av[1], 0755);
	if ((n = exec_maps(pid, m, 256)) < 0)
		return fail("cannot read /proc/%d/maps: %s", pid, strerror(errno));
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	if ((fd = open(path, O_RDONLY)) < 0)
		return fail("cannot open %s: %s", path, strerror(errno));
	for (int i = 0; i < n; i++) {
		size_t len = m[i].hi - m[i].lo;
		char *buf = malloc(len);
		FILE *out;

		if (!buf || pread(fd, buf, len, m[i].lo) != (ssize_t)len) {
			free(buf);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%" PRIx64 "-%" PRIx64, av[1], m[i].lo, m[i].hi);
		if (!(out = fopen(path, "w")) || fwrite(buf, 1, len, out) != len)
			return fail("cannot write %s", path);
		fclose(out);
		free(buf);
	}
	close(fd);
	printf("saved %d executable mappings of pid %d\n", n, pid);
	return 0;
}

/* The saved original byte at addr, or -1. Files in dir are named lo-hi (hex). */
static int saved_byte(const char *dir, uint64_t addr)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int ret = -1;

	while (d && (e = readdir(d))) {
		uint64_t lo, hi;
		char file[600];
		unsigned char c;
		int fd;

		if (sscanf(e->d_name, "%" SCNx64 "-%" SCNx64, &lo, &hi) != 2 || addr < lo || addr >= hi)
			continue;
		snprintf(file, sizeof(file), "%s/%s", dir, e->d_name);
		if ((fd = open(file, O_RDONLY)) >= 0) {
			if (pread(fd, &c, 1, addr - lo) == 1)
				ret = c;
			close(fd);
		}
		break;
	}
	if (d)
		closedir(d);
	return ret;
}

static int cmd_probes(char **av)
{
	int pid = atoi(av[0]), fd, nprobes = 0, bad = 0;
	bool want_cc = !strcmp(av[3], "cc");
	char path[64], line[1024];
	FILE *log = fopen(av[2], "r");

	if (!log)
		return fail("cannot read %s: %s", av[2], strerror(errno));
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	if ((fd = open(path, O_RDONLY)) < 0)
		return fail("cannot open %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), log)) {
		char sym[256], mod[512], *a;
		unsigned long long off, addr;
		unsigned char cur;
		int orig;

		if (sscanf(line, "leaktrace: probe %255s %511s +0x%llx", sym, mod, &off) != 3)
			continue;
		if (!(a = strstr(line, " addr=0x")) || sscanf(a, " addr=0x%llx", &addr) != 1)
			continue;
		nprobes++;
		orig = saved_byte(av[1], addr);
		if (pread(fd, &cur, 1, addr) != 1) {
			printf("%s %s+0x%llx addr=0x%llx: cannot read: %s\n", sym, base(mod), off, addr,
			       strerror(errno));
			bad++;
			continue;
		}
		if (orig < 0) {
			printf("%s addr=0x%llx is not in an executable mapping saved before\n", sym, addr);
			bad++;
		} else if (want_cc ? cur != 0xcc : cur != orig) {
			printf("%s %s+0x%llx addr=0x%llx: byte 0x%02x, original 0x%02x, expected %s\n",
			       sym, base(mod), off, addr, cur, orig, want_cc ? "0xcc" : "the original");
			bad++;
		}
	}
	fclose(log);
	close(fd);
	if (!nprobes)
		return fail("no 'leaktrace: probe <sym> <path> +0x<off> ... addr=0x<hex>' lines in %s",
			    av[2]);
	if (bad)
		return fail("%d of %d probes wrong (%s)", bad, nprobes, want_cc ? "traced" : "after exit");
	printf("%d probes %s\n", nprobes, want_cc ? "are int3 while traced" : "restored");
	return 0;
}

/* ------------------------------------------------------------ sampled mode */

/* The binomial(N, P) interval [*LO, *HI] with at most TAIL below and above it. */
static void binom_interval(long n, double p, double tail, long *lo, long *hi)
{
	double lp = log(p), lq = log1p(-p), acc = 0;

#define PMF(k) exp(lgamma(n + 1.0) - lgamma((k) + 1.0) - lgamma(n - (k) + 1.0) + (k) * lp + (n - (k)) * lq)
	for (*lo = 0; *lo < n && acc + PMF(*lo) <= tail; (*lo)++)
		acc += PMF(*lo);
	acc = 0;
	for (*hi = n; *hi > 0 && acc + PMF(*hi) <= tail; (*hi)--)
		acc += PMF(*hi);
#undef PMF
}

#define SAMPLE_SITES 8

static int cmd_sample(char **av, int ac)
{
	double rate = atof(av[0]), sum[SAMPLE_SITES] = { 0 };
	char *specs = strdup(av[2]), *fn[SAMPLE_SITES], *save = NULL, *log = NULL;
	long n[SAMPLE_SITES], size[SAMPLE_SITES];
	int nf = 0, bad = 0, nrep = ac - 3;
	size_t loglen = 0;
	FILE *out = open_memstream(&log, &loglen);	/* the details, after the one-line verdict */

	for (char *t = strtok_r(specs, ",", &save); t && nf < SAMPLE_SITES; t = strtok_r(NULL, ",", &save)) {
		char *c1 = strchr(t, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2)
			return fail("vmcheck sample: bad spec %s (FUNC:N:SIZE)", t);
		*c1 = *c2 = 0;
		fn[nf] = t;
		n[nf] = atol(c1 + 1);
		size[nf++] = atol(c2 + 1);
	}
	for (int r = 0; r < nrep; r++) {
		struct jval *rep = final_report(av[3 + r]), *ss;
		double got[SAMPLE_SITES] = { 0 };

		if (!rep || !(ss = sites_of(rep)))
			return fail("%s: no report with memory.sites", av[3 + r]);
		for (int i = 0; i < ss->n; i++) {
			struct jval *fr = first_exe_frame(ss->kids[i], av[1], NULL);
			int k;

			for (k = 0; fr && k < nf && strcmp(jstr(fr, "func"), fn[k]); k++)
				;
			if (!fr || k == nf) {
				bad++;
				fprintf(out, "  run %d: a site that does not leak: %lld B at %s\n", r,
					jint(ss->kids[i], "bytes"), fr ? jstr(fr, "func") : "(no frame in the executable)");
				continue;
			}
			got[k] += jint(ss->kids[i], "bytes");
		}
		for (int k = 0; k < nf; k++) {
			double p = -expm1(-size[k] / rate), w = size[k] / p;
			long lo, hi, K = lround(got[k] / w);

			binom_interval(n[k], p, 1e-5, &lo, &hi);
			sum[k] += got[k];
			if (K < lo || K > hi) {
				bad++;
				fprintf(out, "  run %d: %s %.0f B = %ld samples of %.1f B, outside Binomial(%ld, %.6f)'s [%ld, %ld]\n",
					r, fn[k], got[k], K, w, n[k], p, lo, hi);
			}
		}
	}
	for (int k = 0; k < nf && nrep > 0; k++) {
		double p = -expm1(-size[k] / rate), w = size[k] / p, truth = (double)n[k] * size[k];
		double mean = sum[k] / nrep, se = w * sqrt(n[k] * p * (1 - p) / nrep);
		bool ok = fabs(mean - truth) <= 3 * se + 1;

		bad += !ok;
		fprintf(out, "  %s: true %.0f B, mean of %d runs %.0f B (%+.2f %%), 3 SE = %.0f B%s\n", fn[k], truth,
			nrep, mean, (mean / truth - 1) * 100, 3 * se, ok ? "" : ": outside");
	}
	fclose(out);
	if (bad)
		fail("%d sampled-mode check(s) failed", bad);
	fputs(log, stdout);
	free(log);
	free(specs);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int nargs;	/* the least; more only with fnv */
		int (*fn)(char **);
		int (*fnv)(char **, int);
	} cmds[] = {
		{ "site", 5, cmd_site, NULL },
		{ "top", 5, cmd_top, NULL },
		{ "sites", 1, cmd_sites, NULL },
		{ "threads", 5, NULL, cmd_threads },
		{ "timers", 5, NULL, cmd_timers },
		{ "fds", 5, NULL, cmd_fds },
		{ "mmap", 5, NULL, cmd_mmap },
		{ "stack", 4, cmd_stack, NULL },
		{ "whole", 4, cmd_whole, NULL },
		{ "absent", 4, cmd_absent, NULL },
		{ "frames", 2, cmd_frames, NULL },
		{ "sample", 4, NULL, cmd_sample },
		{ "snap", 2, cmd_snap, NULL },
		{ "probes", 4, cmd_probes, NULL },
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; argc > 1 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name)) {
			if (argc - 2 < cmds[i].nargs || (!cmds[i].fnv && argc - 2 != cmds[i].nargs))
				return fail("vmcheck %s: expected %s%d arguments", cmds[i].name,
					    cmds[i].fnv ? "at least " : "", cmds[i].nargs);
			return cmds[i].fnv ? cmds[i].fnv(argv + 2, argc - 2) : cmds[i].fn(argv + 2);
		}
	fprintf(stderr, "usage: vmcheck site|top|sites|threads|timers|fds|mmap|stack|whole|absent|frames|sample|snap|probes"
		" ARGS (see the source)\n");
	return 2;
}
