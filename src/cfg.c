/*
 * Typed, range-checked reads of libconfig settings that record every
 * problem as "FILE:LINE: PATH: message" and carry on.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cfg.h"
#include "config.h"

/* A secret file is a token or a URL; anything larger is a mistake. */
#define CFG_SECRET_MAX	65536

/*
 * Keys that may also be given as KEY_file or KEY_env.  cfg_check_keys
 * cannot see the CFG_SECRET flag a reader will later use, so the
 * secret names live here; a new secret key is one more line.
 */
static const char *const cfg_secret_names[] = {
	"webhook_url",
	"access_token",
	"slack_signing_secret",
	"mattermost_token",
	"app_password",
	"secret_key",
	"app_token",
	"token",
	"secret",
	NULL
};

static const char *const cfg_secret_suffixes[] = { "", "_file", "_env" };

void
cfg_errors_init(struct cfg_errors *errs)
{
	strv_init(&errs->msgs);
	errs->basedir = NULL;
}

void
cfg_errors_free(struct cfg_errors *errs)
{
	strv_free(&errs->msgs);
	errs->basedir = NULL;
}

static const config_setting_t *
cfg_root(const config_setting_t *s)
{
	while (config_setting_parent(s) != NULL)
		s = config_setting_parent(s);
	return s;
}

/*
 * The file a setting came from.  libconfig names @include'd files as
 * written, relative to the include directory (the main file's), so
 * they are shown relative to where the main file was named from.
 */
static char *
cfg_file_name(const config_setting_t *s)
{
	const char	*file = config_setting_source_file(s);
	const char	*top = config_setting_source_file(cfg_root(s));
	const char	*slash;

	if (file == NULL)
		file = top;
	if (file == NULL)
		return xstrdup("(config)");
	if (top == NULL || file == top || strcmp(file, top) == 0 ||
	    file[0] == '/')
		return xstrdup(file);
	slash = strrchr(top, '/');
	if (slash == NULL)
		return xstrdup(file);
	return xasprintf("%.*s/%s", (int)(slash - top), top, file);
}

char *
cfg_path(const config_setting_t *s)
{
	const config_setting_t	*parent;
	const char		*name;
	char			*up, *out;

	parent = s == NULL ? NULL : config_setting_parent(s);
	if (parent == NULL)
		return xstrdup("");
	up = cfg_path(parent);
	name = config_setting_name(s);
	if (!config_setting_is_group(parent) || name == NULL)
		out = xasprintf("%s[%d]", up, config_setting_index(s));
	else if (*up == '\0')
		out = xstrdup(name);
	else
		out = xasprintf("%s.%s", up, name);
	free(up);
	return out;
}

static void
cfg_verror(struct cfg_errors *errs, const config_setting_t *s,
    const char *fmt, va_list ap)
{
	char		*msg, *path, *file;
	unsigned int	 line;

	msg = xvasprintf(fmt, ap);
	if (s == NULL) {
		strv_take(&errs->msgs, msg);
		return;
	}
	file = cfg_file_name(s);
	path = cfg_path(s);
	/* The root group has line 0; point at the top of the file. */
	line = config_setting_source_line(s);
	if (line == 0)
		line = 1;
	if (*path == '\0')
		strv_take(&errs->msgs, xasprintf("%s:%u: %s", file, line, msg));
	else
		strv_take(&errs->msgs, xasprintf("%s:%u: %s: %s", file, line,
		    path, msg));
	free(file);
	free(path);
	free(msg);
}

void
cfg_error(struct cfg_errors *errs, const config_setting_t *s,
    const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	cfg_verror(errs, s, fmt, ap);
	va_end(ap);
}

const config_setting_t *
cfg_secret_setting(const config_setting_t *group, const char *key)
{
	const config_setting_t	*s;
	char			*name;
	size_t			 i;

	for (i = 0; i < nitems(cfg_secret_suffixes); i++) {
		name = xasprintf("%s%s", key, cfg_secret_suffixes[i]);
		s = config_setting_get_member(group, name);
		free(name);
		if (s != NULL)
			return s;
	}
	return group;
}

static int
cfg_is_secret(const char *key)
{
	size_t	i;

	for (i = 0; cfg_secret_names[i] != NULL; i++)
		if (strcmp(cfg_secret_names[i], key) == 0)
			return 1;
	return 0;
}

/* Is name one of keys, or a secret key's _file/_env form? */
static int
cfg_key_listed(const char *name, const char *const *keys)
{
	size_t	i, j, len;

	if (keys == NULL)
		return 0;
	for (i = 0; keys[i] != NULL; i++) {
		if (strcmp(name, keys[i]) == 0)
			return 1;
		if (!cfg_is_secret(keys[i]))
			continue;
		len = strlen(keys[i]);
		if (strncmp(name, keys[i], len) != 0)
			continue;
		/* Index 0 is the bare key, matched above. */
		for (j = 1; j < nitems(cfg_secret_suffixes); j++)
			if (strcmp(name + len, cfg_secret_suffixes[j]) == 0)
				return 1;
	}
	return 0;
}

void
cfg_check_keys(const config_setting_t *group, const char *const *keys,
    const char *const *extra, struct cfg_errors *errs)
{
	const config_setting_t	*m;
	const char		*name;
	int			 i, n;

	if (group == NULL || !config_setting_is_group(group))
		return;
	n = config_setting_length(group);
	for (i = 0; i < n; i++) {
		m = config_setting_get_elem(group, (unsigned int)i);
		name = config_setting_name(m);
		if (name == NULL || cfg_key_listed(name, keys) ||
		    cfg_key_listed(name, extra))
			continue;
		cfg_error(errs, m, "unknown key");
	}
}

/* The member key of group, or NULL if group is absent or not a group. */
static const config_setting_t *
cfg_member(const config_setting_t *group, const char *key)
{
	if (group == NULL || !config_setting_is_group(group))
		return NULL;
	return config_setting_get_member(group, key);
}

static void
cfg_missing(const config_setting_t *group, const char *key, int flags,
    struct cfg_errors *errs)
{
	if (group == NULL)
		return;
	if (flags & CFG_SECRET)
		cfg_error(errs, group, "missing required key \"%s\" (or "
		    "\"%s_file\" or \"%s_env\")", key, key, key);
	else
		cfg_error(errs, group, "missing required key \"%s\"", key);
}

/* Drop trailing whitespace: files end with a newline, editors add more. */
static void
cfg_rstrip(char *s)
{
	size_t	n = strlen(s);

	while (n > 0 && strchr(" \t\r\n\v\f", s[n - 1]) != NULL)
		s[--n] = '\0';
}

static char *
cfg_resolve(const char *path, const char *basedir)
{
	if (path[0] == '/' || basedir == NULL || *basedir == '\0')
		return xstrdup(path);
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	if (*path == '\0' || strcmp(path, ".") == 0)
		return xstrdup(basedir);
	return xasprintf("%s/%s", basedir, path);
}

/*
 * The contents of a secret file.  Messages name the file as written in
 * the config and never quote what it holds.  A FIFO named by mistake is
 * refused as not a regular file, without hanging the daemon.
 */
static char *
cfg_read_secret_file(const config_setting_t *s, const char *name,
    struct cfg_errors *errs)
{
	char	*path, *data;
	size_t	 len = 0;

	path = cfg_resolve(name, errs->basedir);
	data = read_regular_file(path, CFG_SECRET_MAX, &len);
	free(path);
	if (data == NULL) {
		if (errno == EINVAL)
			cfg_error(errs, s, "cannot read \"%s\": not a regular "
			    "file", name);
		else if (errno == EFBIG)
			cfg_error(errs, s, "\"%s\" is larger than %d bytes",
			    name, CFG_SECRET_MAX);
		else
			cfg_error(errs, s, "cannot read \"%s\": %s", name,
			    strerror(errno));
		return NULL;
	}
	if (memchr(data, '\0', len) != NULL) {
		cfg_error(errs, s, "\"%s\" is not a text file", name);
		free(data);
		return NULL;
	}
	cfg_rstrip(data);
	if (*data == '\0') {
		cfg_error(errs, s, "\"%s\" is empty", name);
		free(data);
		return NULL;
	}
	return data;
}

/* A setting's text if it is a non-empty string; else NULL, with the error. */
static const char *
cfg_nonempty(const config_setting_t *s, struct cfg_errors *errs)
{
	const char	*v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		cfg_error(errs, s, "must be a string");
		return NULL;
	}
	v = config_setting_get_string(s);
	if (*v == '\0') {
		cfg_error(errs, s, "must not be empty");
		return NULL;
	}
	return v;
}

/* A secret: exactly one of KEY, KEY_file and KEY_env. */
static int
cfg_secret(const config_setting_t *group, const char *key, int flags,
    char **out, struct cfg_errors *errs)
{
	const config_setting_t	*s, *found = NULL;
	const char		*v, *env;
	char			*name;
	size_t			 i;
	int			 which = 0;

	for (i = 0; i < nitems(cfg_secret_suffixes); i++) {
		name = xasprintf("%s%s", key, cfg_secret_suffixes[i]);
		s = cfg_member(group, name);
		free(name);
		if (s == NULL)
			continue;
		if (found != NULL) {
			cfg_error(errs, s, "only one of \"%s\", \"%s_file\" "
			    "and \"%s_env\" may be set", key, key, key);
			return -1;
		}
		found = s;
		which = (int)i;
	}
	if (found == NULL) {
		if (flags & CFG_REQUIRED) {
			cfg_missing(group, key, flags, errs);
			return -1;
		}
		return 0;
	}
	v = cfg_nonempty(found, errs);
	if (v == NULL)
		return -1;
	switch (which) {
	case 0:
		*out = xstrdup(v);
		return 1;
	case 1:
		*out = cfg_read_secret_file(found, v, errs);
		return *out == NULL ? -1 : 1;
	default:
		env = getenv(v);
		if (env == NULL || *env == '\0') {
			cfg_error(errs, found, "environment variable \"%s\" is "
			    "not set", v);
			return -1;
		}
		*out = xstrdup(env);
		return 1;
	}
}

/* Present, or absent with the missing-key error when required. */
static const config_setting_t *
cfg_find(const config_setting_t *group, const char *key, int flags,
    int *rc, struct cfg_errors *errs)
{
	const config_setting_t	*s = cfg_member(group, key);

	*rc = 0;
	if (s == NULL && (flags & CFG_REQUIRED)) {
		cfg_missing(group, key, flags, errs);
		*rc = -1;
	}
	return s;
}

int
cfg_string(const config_setting_t *group, const char *key, int flags,
    const char *def, char **out, struct cfg_errors *errs)
{
	const config_setting_t	*s;
	int			 rc;

	*out = NULL;
	if (flags & CFG_SECRET) {
		rc = cfg_secret(group, key, flags, out, errs);
		if (rc != 1)
			*out = xstrdup(def);
		return rc;
	}
	s = cfg_find(group, key, flags, &rc, errs);
	if (s == NULL) {
		*out = xstrdup(def);
		return rc;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		cfg_error(errs, s, "must be a string");
		*out = xstrdup(def);
		return -1;
	}
	*out = xstrdup(config_setting_get_string(s));
	return 1;
}

int
cfg_int(const config_setting_t *group, const char *key, int flags,
    long long min, long long max, long long def, long long *out,
    struct cfg_errors *errs)
{
	const config_setting_t	*s;
	long long		 v;
	int			 rc;

	*out = def;
	s = cfg_find(group, key, flags, &rc, errs);
	if (s == NULL)
		return rc;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
		v = config_setting_get_int(s);
		break;
	case CONFIG_TYPE_INT64:
		v = config_setting_get_int64(s);
		break;
	default:
		cfg_error(errs, s, "must be an integer");
		return -1;
	}
	if (v < min || v > max) {
		cfg_error(errs, s, "must be between %lld and %lld", min, max);
		return -1;
	}
	*out = v;
	return 1;
}

int
cfg_double(const config_setting_t *group, const char *key, int flags,
    double min, double max, double def, double *out, struct cfg_errors *errs)
{
	const config_setting_t	*s;
	double			 v;
	int			 rc;

	*out = def;
	s = cfg_find(group, key, flags, &rc, errs);
	if (s == NULL)
		return rc;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
		v = config_setting_get_int(s);
		break;
	case CONFIG_TYPE_INT64:
		v = (double)config_setting_get_int64(s);
		break;
	case CONFIG_TYPE_FLOAT:
		v = config_setting_get_float(s);
		break;
	default:
		cfg_error(errs, s, "must be a number");
		return -1;
	}
	/* Written so that NaN fails too. */
	if (!(v >= min && v <= max)) {
		cfg_error(errs, s, "must be between %g and %g", min, max);
		return -1;
	}
	*out = v;
	return 1;
}

int
cfg_bool(const config_setting_t *group, const char *key, int flags,
    bool def, bool *out, struct cfg_errors *errs)
{
	const config_setting_t	*s;
	int			 rc;

	*out = def;
	s = cfg_find(group, key, flags, &rc, errs);
	if (s == NULL)
		return rc;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		cfg_error(errs, s, "must be true or false");
		return -1;
	}
	*out = config_setting_get_bool(s) != 0;
	return 1;
}

/* One list item: a non-empty string, added to items. */
static int
cfg_strv_item(const config_setting_t *e, struct strv *items,
    struct cfg_errors *errs)
{
	const char	*v = cfg_nonempty(e, errs);

	if (v == NULL)
		return -1;
	strv_add(items, v);
	return 0;
}

int
cfg_strv(const config_setting_t *group, const char *key, int flags,
    struct strv *out, struct cfg_errors *errs)
{
	const config_setting_t	*s;
	struct strv		 items;
	size_t			 i;
	int			 n, rc, bad = 0;

	s = cfg_find(group, key, flags, &rc, errs);
	if (s == NULL)
		return rc;
	strv_init(&items);
	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		bad = cfg_strv_item(s, &items, errs);
	else if (config_setting_is_array(s) || config_setting_is_list(s)) {
		n = config_setting_length(s);
		for (i = 0; i < (size_t)n; i++)
			if (cfg_strv_item(config_setting_get_elem(s,
			    (unsigned int)i), &items, errs) == -1)
				bad = -1;
	} else {
		cfg_error(errs, s, "must be a string or a list of strings");
		return -1;
	}
	if (bad) {
		strv_free(&items);
		return -1;
	}
	/* Only whole, valid lists reach out. */
	for (i = 0; i < items.n; i++)
		strv_take(out, items.v[i]);
	free(items.v);
	return 1;
}

int
cfg_path_value(const config_setting_t *group, const char *key, int flags,
    const char *def, char **out, struct cfg_errors *errs)
{
	char	*raw;
	int	 rc;

	rc = cfg_string(group, key, flags & ~CFG_SECRET, def, &raw, errs);
	if (rc == 1 && *raw == '\0') {
		cfg_error(errs, config_setting_get_member(group, key),
		    "must not be empty");
		free(raw);
		raw = xstrdup(def);
		rc = -1;
	}
	*out = raw == NULL ? NULL : cfg_resolve(raw, errs->basedir);
	free(raw);
	return rc;
}

void
cfg_file_digest(const config_setting_t *group, const char *basedir,
    struct buf *out)
{
	const config_setting_t	*s;
	const char		*name;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	char			 hex[2 * EVP_MAX_MD_SIZE + 1], *path, *data;
	unsigned int		 mdlen;
	size_t			 len, nlen;
	int			 i;

	for (i = 0; i < config_setting_length(group); i++) {
		s = config_setting_get_elem(group, (unsigned int)i);
		name = config_setting_name(s);
		nlen = name != NULL ? strlen(name) : 0;
		if (nlen < 5 || strcmp(name + nlen - 5, "_file") != 0 ||
		    config_setting_type(s) != CONFIG_TYPE_STRING)
			continue;
		path = cfg_resolve(config_setting_get_string(s), basedir);
		len = 0;
		data = read_regular_file(path, CFG_SECRET_MAX, &len);
		free(path);
		if (EVP_Digest(data != NULL ? data : "", len, md, &mdlen,
		    EVP_sha256(), NULL) == 1) {
			hex_encode(md, mdlen, hex);
			buf_printf(out, "%s#%s;", name, hex);
		}
		free(data);
	}
}
