/*
 * The @include lines of a config file, checked before libconfig reads
 * it: libconfig 1.5's scanner calls exit() when reading an included
 * file fails, and a path that names a directory (@include "" or
 * "conf.d/") opens but cannot be read, so one bad line would end a
 * running daemon on reload instead of being refused.  A FIFO would
 * block the reload for ever.  Found by fuzz_config.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config_parse.h"
#include "util.h"

/* libconfig's own limit: deeper includes are its error to report. */
#define CONFIG_INCLUDE_DEPTH	10
/* Larger files are not looked into (libconfig reads them all). */
#define CONFIG_INCLUDE_MAX	(16 << 20)

/* What one check walks: the main file, the include directory. */
struct config_include {
	const char		*main;
	const char		*basedir;
	struct cfg_errors	*errs;
};

static int	config_include_scan(const struct config_include *,
		    const char *, const char *, int);

/*
 * The path of the @include string at s (just after its opening quote)
 * as libconfig 1.5's scanner reads it: \\ and \" escaped, any other
 * backslash dropped, each run of plain bytes cut at a NUL; *end is
 * after the closing quote, or NULL if the string never ends.
 */
static char *
config_include_path(const char *s, const char *limit, const char **end)
{
	struct buf	 b;
	const char	*run;

	buf_init(&b);
	*end = NULL;
	while (s < limit) {
		if (*s == '"') {
			*end = s + 1;
			break;
		}
		if (*s == '\\') {
			if (s + 1 < limit && (s[1] == '\\' || s[1] == '"')) {
				buf_add(&b, s + 1, 1);
				s += 2;
			} else
				s++;
			continue;
		}
		for (run = s; s < limit && *s != '"' && *s != '\\'; s++)
			;
		buf_add(&b, run, strnlen(run, (size_t)(s - run)));
	}
	buf_add(&b, "", 1);
	return b.data;
}

/*
 * One @include at line of file (shown as shown): refuse what libconfig
 * cannot survive, and look into a regular file for its own includes.
 * libconfig 1.5 opens it under the include directory, a leading '/'
 * notwithstanding.
 */
static int
config_include_one(const struct config_include *ci, const char *shown,
    int line, const char *path, int depth)
{
	struct stat	 st;
	const char	*rel = path[0] == '/' ? path + 1 : path;
	const char	*slash = strrchr(ci->main, '/');
	char		*full, *name;
	int		 rc = 0;

	full = xasprintf("%s/%s", ci->basedir, rel);
	/* Named as libconfig's errors are: beside the main file. */
	name = slash == NULL ? xstrdup(rel) : xasprintf("%.*s/%s",
	    (int)(slash - ci->main), ci->main, rel);
	/* A missing or unreadable file is libconfig's to report. */
	if (stat(full, &st) == 0) {
		if (!S_ISREG(st.st_mode)) {
			strv_take(&ci->errs->msgs, xasprintf("%s:%d: cannot "
			    "include \"%s\": not a regular file", shown, line,
			    path));
			rc = -1;
		} else if (depth + 1 < CONFIG_INCLUDE_DEPTH)
			rc = config_include_scan(ci, full, name, depth + 1);
	}
	free(name);
	free(full);
	return rc;
}

/* Skip "[ \t]*@include[ \t]+\"" at the start of a line: the position
 * after the quote, or NULL if the line is something else. */
static const char *
config_include_open(const char *s, const char *limit)
{
	static const char	 word[] = "@include";
	const char		*p = s;

	while (p < limit && (*p == ' ' || *p == '\t'))
		p++;
	if ((size_t)(limit - p) < sizeof(word) - 1 ||
	    memcmp(p, word, sizeof(word) - 1) != 0)
		return NULL;
	p += sizeof(word) - 1;
	if (p >= limit || (*p != ' ' && *p != '\t'))
		return NULL;
	while (p < limit && (*p == ' ' || *p == '\t'))
		p++;
	return p < limit && *p == '"' ? p + 1 : NULL;
}

/*
 * Walk file (named shown in errors) as libconfig's scanner does (comments, strings, and
 * @include only at the start of a line outside both) and check every
 * include.
 */
static int
config_include_scan(const struct config_include *ci, const char *file,
    const char *shown, int depth)
{
	enum { PLAIN, COMMENT, STRING }	 state = PLAIN;
	const char			*s, *limit, *after, *end;
	char				*text, *path;
	size_t				 len = 0;
	int				 line = 1, rc = 0;
	bool				 bol = true;

	/* A file that cannot be read is libconfig's to report. */
	if ((text = read_regular_file(file, CONFIG_INCLUDE_MAX, &len)) == NULL)
		return 0;
	s = text;
	limit = text + len;
	while (s < limit) {
		if (state == PLAIN && bol &&
		    (after = config_include_open(s, limit)) != NULL) {
			path = config_include_path(after, limit, &end);
			if (config_include_one(ci, shown, line, path,
			    depth) != 0)
				rc = -1;
			free(path);
			if (end == NULL)
				break;
			for (; s < end; s++)
				line += *s == '\n';
			bol = false;
			continue;
		}
		bol = *s == '\n';
		line += *s == '\n';
		switch (state) {
		case PLAIN:
			if (*s == '"')
				state = STRING;
			else if (*s == '/' && s + 1 < limit && s[1] == '*') {
				state = COMMENT;
				s++;
			} else if (*s == '#' || (*s == '/' && s + 1 < limit &&
			    s[1] == '/')) {
				while (s + 1 < limit && s[1] != '\n')
					s++;
			}
			break;
		case COMMENT:
			if (*s == '*' && s + 1 < limit && s[1] == '/') {
				state = PLAIN;
				s++;
			}
			break;
		case STRING:
			if (*s == '\\' && s + 1 < limit) {
				s++;
				line += *s == '\n';
			} else if (*s == '"')
				state = PLAIN;
			break;
		}
		s++;
	}
	free(text);
	return rc;
}

int
config_check_includes(const char *path, const char *basedir,
    struct cfg_errors *errs)
{
	struct config_include	ci = { path, basedir, errs };

	return config_include_scan(&ci, path, path, 0);
}
