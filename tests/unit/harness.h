/*
 * Shared test helpers: cmocka plus paths to the test data, which live
 * in the source tree ($SB_SRCDIR, set by make check; "." otherwise).
 */
#ifndef SB_TEST_HARNESS_H
#define SB_TEST_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util.h"

/* $SB_SRCDIR/rel; caller frees. */
static inline char *
test_path(const char *rel)
{
	const char	*top = getenv("SB_SRCDIR");

	return xasprintf("%s/%s", top ? top : ".", rel);
}

/* The whole file at $SB_SRCDIR/rel, NUL-terminated; fails the test if
 * it cannot be read.  Caller frees. */
static inline char *
test_slurp(const char *rel, size_t *lenp)
{
	char	*path = test_path(rel), *data;
	FILE	*f = fopen(path, "rb");
	long	 n;

	if (f == NULL)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = xmalloc((size_t)n + 1);
	if (fread(data, 1, (size_t)n, f) != (size_t)n)
		fail_msg("cannot read %s", path);
	data[n] = '\0';
	fclose(f);
	free(path);
	if (lenp != NULL)
		*lenp = (size_t)n;
	return data;
}

/* Line lineno (1-based) of the file at $SB_SRCDIR/rel; fails the test if
 * there is no such line.  Caller frees. */
static inline char *
test_line(const char *rel, int lineno)
{
	char	*all = test_slurp(rel, NULL), *p = all, *end, *line;
	int	 i;

	for (i = 1; i < lineno && p != NULL; i++) {
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	if (p == NULL || *p == '\0')
		fail_msg("%s has no line %d", rel, lineno);
	end = strchr(p, '\n');
	line = xstrndup(p, end != NULL ? (size_t)(end - p) : strlen(p));
	free(all);
	return line;
}

#endif
