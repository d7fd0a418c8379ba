/* The audit log printed for people, from the store of a state directory. */
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit_cmd.h"
#include "config.h"
#include "store.h"

#define AUDIT_CMD_COUNT_MAX	1000000000L

/* s as one tab-separated field: '-' if absent, controls escaped. */
static void
audit_cmd_field(FILE *out, const char *s, bool last)
{
	if (s == NULL || s[0] == '\0')
		fputc('-', out);
	for (; s != NULL && *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '\t')
			fputs("\\t", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else if (*s == '\r')
			fputs("\\r", out);
		else
			fputc(*s, out);
	}
	fputc(last ? '\n' : '\t', out);
}

static void
audit_cmd_print(FILE *out, const struct audit_entry *e)
{
	struct tm	 tm;
	time_t		 t = (time_t)(e->time_ms / 1000);
	char		 when[32], *user;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		strcpy(when, "?");
	if (e->user_name != NULL && e->user_id != NULL)
		user = xasprintf("%s (%s)", e->user_name, e->user_id);
	else
		user = xstrdup(e->user_name != NULL ? e->user_name :
		    e->user_id);
	audit_cmd_field(out, when, false);
	audit_cmd_field(out, user, false);
	audit_cmd_field(out, e->team, false);
	audit_cmd_field(out, e->code, false);
	audit_cmd_field(out, e->action, false);
	audit_cmd_field(out, e->result, false);
	audit_cmd_field(out, e->text, true);
	free(user);
}

/* "YYYY-MM-DD" as milliseconds at 00:00 UTC, or -1. */
static int64_t
audit_cmd_date(const char *s)
{
	struct tm	tm, want;
	time_t		t;
	size_t		i;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = atoi(s) - 1900;
	tm.tm_mon = atoi(s + 5) - 1;
	tm.tm_mday = atoi(s + 8);
	want = tm;
	/* timegm normalises 2024-02-30 to March 1st: refuse it. */
	t = timegm(&tm);
	if (t == (time_t)-1 || tm.tm_year != want.tm_year ||
	    tm.tm_mon != want.tm_mon || tm.tm_mday != want.tm_mday)
		return -1;
	return (int64_t)t * 1000;
}

/* A count from 1 to AUDIT_CMD_COUNT_MAX, or -1. */
static long
audit_cmd_count(const char *s)
{
	char	*end;
	long	 n;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	n = strtol(s, &end, 10);
	if (*end != '\0' || n < 1 || n > AUDIT_CMD_COUNT_MAX)
		return -1;
	return n;
}

/* The state directory the config names.  Caller frees; NULL on error. */
static char *
audit_cmd_state_dir(const char *config_path)
{
	struct cfg_errors	 errs;
	struct config		*cfg;
	char			*dir;
	size_t			 i;

	cfg_errors_init(&errs);
	cfg = config_load(config_path, &errs);
	for (i = 0; i < errs.msgs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs.v[i]);
	cfg_errors_free(&errs);
	if (cfg == NULL)
		return NULL;
	dir = xstrdup(cfg->state_directory);
	config_free(cfg);
	return dir;
}

int
audit_cmd(const char *config_path, const char *state_dir, const char *count,
    const char *since, FILE *out)
{
	struct audit_entry	*v = NULL;
	struct store		*store;
	struct stat		 sb;
	char			*dir, *path, *cause = NULL;
	int64_t			 since_ms = 0;
	long			 max = -1;
	size_t			 i, n = 0;
	int			 rc = 1;

	if (count != NULL && (max = audit_cmd_count(count)) < 0) {
		fprintf(stderr, "switchboard: -n %s: not a count from 1 to "
		    "%ld\n", count, AUDIT_CMD_COUNT_MAX);
		return 2;
	}
	if (since != NULL && (since_ms = audit_cmd_date(since)) < 0) {
		fprintf(stderr, "switchboard: --since %s: not a date "
		    "(YYYY-MM-DD)\n", since);
		return 2;
	}
	dir = state_dir != NULL ? xstrdup(state_dir) :
	    audit_cmd_state_dir(config_path);
	if (dir == NULL)
		return 1;
	/* Reading must not create an empty store somewhere else. */
	path = xasprintf("%s/switchboard.db", dir);
	if (stat(path, &sb) != 0) {
		if (errno == ENOENT)
			fprintf(stderr, "switchboard: %s: no store there (has "
			    "the daemon run with this state directory?)\n",
			    path);
		else
			fprintf(stderr, "switchboard: %s: %s\n", path,
			    strerror(errno));
		goto out;
	}
	/* Never migrate from a reading tool: that is the daemon's job. */
	store = store_open_current(dir, &cause);
	if (store == NULL) {
		fprintf(stderr, "switchboard: %s\n", cause != NULL ? cause :
		    dir);
		goto out;
	}
	if (store_audit_list(store, since_ms, max > 0 ? (size_t)max :
	    SIZE_MAX, &v, &n) != 0)
		fprintf(stderr, "switchboard: %s: the audit log could not be "
		    "read\n", path);
	else {
		for (i = 0; i < n; i++)
			audit_cmd_print(out, &v[i]);
		rc = fflush(out) == 0 ? 0 : 1;
	}
	audit_entries_free(v, n);
	store_close(store);
out:
	free(cause);
	free(path);
	free(dir);
	return rc;
}
