// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include "log.h"

int lt_verbose;

static void vlog(const char *prefix, const char *fmt, va_list ap)
{
	fputs("leaktrace: ", stderr);
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
}

void lt_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void lt_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("warning: ", fmt, ap);
	va_end(ap);
}

void lt_info(int level, const char *fmt, ...)
{
	va_list ap;

	if (lt_verbose < level)
		return;
	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}
