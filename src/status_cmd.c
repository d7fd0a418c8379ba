/*
 * The status summary for people: the store read directly, the running
 * daemon's live state read from its /metrics.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "config.h"
#include "status_cmd.h"
#include "store.h"

#define STATUS_BODY_MAX		(16 * 1024 * 1024)
#define STATUS_TIMEOUT_MS	3000L
#define STATUS_NAME_MAX		32	/* column width cap */

/* One sample of the daemon's metrics with its first label's value. */
struct status_sample {
	char	*name;
	char	*label;		/* the first label's value, or "" */
	double	 value;
};

struct status_metrics {
	struct status_sample	*v;
	size_t			 n;
	bool			 reachable;
	char			*why;	/* not reachable: why */
};

static size_t
status_write(char *p, size_t size, size_t n, void *arg)
{
	struct buf	*b = arg;

	if (b->len + size * n > STATUS_BODY_MAX)
		return 0;
	buf_add(b, p, size * n);
	return size * n;
}

/* GET url into body: 0, or -1 with *cause (caller frees). */
static int
status_get(const char *url, struct buf *body, char **cause)
{
	CURL		*c;
	CURLcode	 rc;
	long		 code = 0;

	c = curl_easy_init();
	if (c == NULL) {
		*cause = xstrdup("cannot start curl");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, STATUS_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, status_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		*cause = xstrdup(curl_easy_strerror(rc));
		return -1;
	}
	if (code != 200) {
		*cause = xasprintf("HTTP %ld", code);
		return -1;
	}
	return 0;
}

/* A label value at *pp (after the opening quote), unescaped; *pp moves
 * past the closing quote.  NULL if it does not end. */
static char *
status_label_value(const char **pp)
{
	const char	*p = *pp;
	struct buf	 b;

	buf_init(&b);
	buf_adds(&b, "");
	for (; *p != '"'; p++) {
		if (*p == '\0' || *p == '\n') {
			buf_free(&b);
			return NULL;
		}
		if (*p == '\\' && p[1] != '\0') {
			p++;
			buf_addc(&b, *p == 'n' ? '\n' : *p);
		} else
			buf_addc(&b, *p);
	}
	*pp = p + 1;
	return buf_steal(&b);
}

/* One sample line into s: 0, or -1 if it is not one. */
static int
status_parse_line(const char *line, struct status_sample *s)
{
	const char	*p = line, *start;
	char		*v, *end;

	memset(s, 0, sizeof(*s));
	start = p;
	while (*p != '\0' && *p != '{' && *p != ' ')
		p++;
	if (p == start)
		return -1;
	s->name = xstrndup(start, (size_t)(p - start));
	if (*p == '{') {
		p++;
		while (*p != '}') {
			p += strcspn(p, "=}\n");
			if (p[0] != '=' || p[1] != '"')
				goto fail;
			p += 2;
			if ((v = status_label_value(&p)) == NULL)
				goto fail;
			if (s->label == NULL)
				s->label = v;
			else
				free(v);
			if (*p == ',')
				p++;
		}
		p++;
	}
	if (*p != ' ')
		goto fail;
	s->value = strtod(p + 1, &end);
	if (end == p + 1)
		goto fail;
	if (s->label == NULL)
		s->label = xstrdup("");
	return 0;
fail:
	free(s->name);
	free(s->label);
	return -1;
}

static void
status_metrics_parse(struct status_metrics *m, const char *text)
{
	struct status_sample	 s;
	const char		*p = text, *nl;
	char			*line;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		line = xstrndup(p, nl != NULL ? (size_t)(nl - p) : strlen(p));
		if (line[0] != '#' && line[0] != '\0' &&
		    status_parse_line(line, &s) == 0) {
			m->v = xrealloc(m->v, (m->n + 1) * sizeof(*m->v));
			m->v[m->n++] = s;
		}
		free(line);
		p = nl != NULL ? nl + 1 : p + strlen(p);
	}
}

static void
status_metrics_fetch(struct status_metrics *m, const char *base)
{
	struct buf	 body;
	char		*url, *cause = NULL;

	memset(m, 0, sizeof(*m));
	if (base == NULL) {
		m->why = xstrdup("no listener in the configuration; give "
		    "--url");
		return;
	}
	buf_init(&body);
	url = xasprintf("%s/metrics", base);
	if (status_get(url, &body, &cause) != 0)
		m->why = xasprintf("%s: %s", url, cause);
	else {
		status_metrics_parse(m, body.data != NULL ? body.data : "");
		m->reachable = true;
	}
	free(cause);
	free(url);
	buf_free(&body);
}

static void
status_metrics_free(struct status_metrics *m)
{
	size_t	i;

	for (i = 0; i < m->n; i++) {
		free(m->v[i].name);
		free(m->v[i].label);
	}
	free(m->v);
	free(m->why);
}

/* The value of name for label, or NULL. */
static const double *
status_value(const struct status_metrics *m, const char *name,
    const char *label)
{
	size_t	i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->v[i].name, name) == 0 &&
		    strcmp(m->v[i].label, label) == 0)
			return &m->v[i].value;
	return NULL;
}

/* A duration for people: "4.2s", "12s", "3m05s", "2h03m", "3d04h". */
static void
status_duration(char *out, size_t size, double s)
{
	long long	n;

	if (s < 0)
		s = 0;
	n = (long long)s;
	if (s < 10)
		snprintf(out, size, "%.1fs", s);
	else if (n < 60)
		snprintf(out, size, "%llds", n);
	else if (n < 3600)
		snprintf(out, size, "%lldm%02llds", n / 60, n % 60);
	else if (n < 86400)
		snprintf(out, size, "%lldh%02lldm", n / 3600, n % 3600 / 60);
	else
		snprintf(out, size, "%lldd%02lldh", n / 86400,
		    n % 86400 / 3600);
}

/* The daemon's base URL: --url, else the configured listener. */
static char *
status_base_url(const struct config *cfg, const char *url)
{
	const char	*addr;
	size_t		 len;

	if (url != NULL) {
		len = strlen(url);
		while (len > 0 && url[len - 1] == '/')
			len--;
		return xstrndup(url, len);
	}
	if (!cfg->listener.enabled)
		return NULL;
	addr = cfg->listener.address;
	/* A wildcard address listens on loopback too. */
	if (strcmp(addr, "0.0.0.0") == 0)
		addr = "127.0.0.1";
	else if (strcmp(addr, "::") == 0)
		addr = "::1";
	if (strchr(addr, ':') != NULL)
		return xasprintf("http://[%s]:%d", addr, cfg->listener.port);
	return xasprintf("http://%s:%d", addr, cfg->listener.port);
}

static int
status_width(const char *title, size_t n, const char *(*name)(const void *,
    size_t), const void *arg)
{
	size_t	w = strlen(title), i, l;

	for (i = 0; i < n; i++) {
		l = strlen(name(arg, i));
		if (l > w)
			w = l;
	}
	return (int)(w > STATUS_NAME_MAX ? STATUS_NAME_MAX : w);
}

static const char *
status_source_name(const void *arg, size_t i)
{
	return ((const struct config *)arg)->sources[i].name;
}

static void
status_sources(FILE *out, const struct config *cfg,
    const struct status_metrics *m)
{
	const double	*conn, *lag, *ev, *rec;
	const char	*name;
	char		 lags[32], evs[32], recs[32];
	size_t		 i;
	int		 w;

	w = status_width("SOURCE", cfg->nsources, status_source_name, cfg);
	fprintf(out, "%-*s  %-9s  %-13s  %8s  %10s  %10s\n", w, "SOURCE",
	    "TYPE", "STATE", "LAG", "EVENTS", "RECONNECTS");
	for (i = 0; i < cfg->nsources; i++) {
		name = cfg->sources[i].name;
		conn = status_value(m, "switchboard_source_connected", name);
		lag = status_value(m, "switchboard_source_lag_seconds", name);
		ev = status_value(m, "switchboard_events_received_total",
		    name);
		rec = status_value(m, "switchboard_source_reconnects_total",
		    name);
		if (lag != NULL)
			status_duration(lags, sizeof(lags), *lag);
		else
			strcpy(lags, m->reachable ? "-" : "?");
		snprintf(evs, sizeof(evs), "%.0f", ev != NULL ? *ev : 0);
		snprintf(recs, sizeof(recs), "%.0f", rec != NULL ? *rec : 0);
		fprintf(out, "%-*s  %-9s  %-13s  %8s  %10s  %10s\n", w, name,
		    cfg->sources[i].type, conn == NULL ? "?" : *conn != 0 ?
		    "connected" : "disconnected", lags, ev != NULL ? evs : "?",
		    rec != NULL ? recs : "?");
	}
}

static const char *
status_strv_name(const void *arg, size_t i)
{
	return ((const struct strv *)arg)->v[i];
}

/* A name from the store fit for one line: controls shown as '?'. */
static char *
status_clean(const char *s)
{
	char	*c = xstrdup(s), *p;

	for (p = c; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return c;
}

/* Queues: every team's destination, and any other that holds some. */
static int
status_queues(FILE *out, const struct config *cfg, struct store *st,
    const struct status_metrics *m)
{
	struct strv	 names, queued;
	const double	*down;
	int64_t		 n, oldest, now = now_wall_ms();
	char		 age[32], *name;
	size_t		 i;
	int		 w, rc = 0;

	strv_init(&names);
	for (i = 0; i < cfg->nteams; i++)
		strv_add(&names, cfg->teams[i].name);
	if (store_outbox_destinations(st, &queued) != 0)
		rc = -1;
	for (i = 0; i < queued.n; i++)
		if (!strv_contains(&names, queued.v[i]))
			strv_add(&names, queued.v[i]);
	strv_free(&queued);
	w = status_width("DESTINATION", names.n, status_strv_name, &names);
	fprintf(out, "\n%-*s  %8s  %8s  %s\n", w, "DESTINATION", "QUEUED",
	    "OLDEST", "STATE");
	for (i = 0; i < names.n && rc == 0; i++) {
		if (store_outbox_depth(st, names.v[i], &n, &oldest) != 0) {
			rc = -1;
			break;
		}
		if (n > 0 && oldest > 0)
			status_duration(age, sizeof(age),
			    (double)(now - oldest) / 1000.0);
		else
			strcpy(age, "-");
		down = status_value(m, "switchboard_destination_down",
		    names.v[i]);
		name = status_clean(names.v[i]);
		fprintf(out, "%-*s  %8lld  %8s  %s\n", w, name, (long long)n,
		    age, config_team(cfg, names.v[i]) == NULL ?
		    "not in the configuration" : down == NULL ? "?" :
		    *down != 0 ? "down" : "up");
		free(name);
	}
	strv_free(&names);
	return rc;
}

static const char *
status_team_name(const void *arg, size_t i)
{
	return ((const struct config *)arg)->teams[i].name;
}

static int
status_conversations(FILE *out, const struct config *cfg, struct store *st)
{
	struct conversation	*v;
	int64_t			 now = now_wall_ms();
	char			 age[32];
	size_t			 i, n;
	int			 w;

	w = status_width("TEAM", cfg->nteams, status_team_name, cfg);
	fprintf(out, "\n%-*s  %8s  %8s\n", w, "TEAM", "OPEN", "OLDEST");
	for (i = 0; i < cfg->nteams; i++) {
		if (store_conversations_open(st, cfg->teams[i].name, &v,
		    &n) != 0)
			return -1;
		if (n > 0)
			status_duration(age, sizeof(age),
			    (double)(now - v[0].created_ms) / 1000.0);
		else
			strcpy(age, "-");
		fprintf(out, "%-*s  %8zu  %8s\n", w, cfg->teams[i].name, n,
		    age);
		conversations_free(v, n);
	}
	return 0;
}

/* Where s is in sv: its index, or sv->n. */
static size_t
status_index(const struct strv *sv, const char *s)
{
	size_t	i;

	for (i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			break;
	return i;
}

/* Pending replies per account, counted through the teams that asked. */
static int
status_replies(FILE *out, const struct config *cfg, struct store *st)
{
	struct strv	 names;
	struct reply	*v;
	int64_t		*count, total = 0, sum = 0;
	size_t		 i, j, k, n;
	char		*name;
	int		 w, rc = 0;

	if (store_reply_accounts(st, &names) != 0 ||
	    store_reply_count(st, REPLY_PENDING, &total) != 0)
		return -1;
	for (i = 0; i < cfg->naccounts; i++)
		if (!strv_contains(&names, cfg->accounts[i].name))
			strv_add(&names, cfg->accounts[i].name);
	count = xcalloc(names.n + 1, sizeof(*count));
	for (i = 0; i < cfg->nteams && rc == 0; i++) {
		if (store_replies(st, 0, cfg->teams[i].name, REPLY_PENDING,
		    &v, &n) != 0) {
			rc = -1;
			break;
		}
		for (j = 0; j < n; j++) {
			k = status_index(&names, v[j].account);
			if (k == names.n) {
				strv_add(&names, v[j].account);
				count = xrealloc(count, (names.n + 1) *
				    sizeof(*count));
				count[k] = 0;
			}
			count[k]++;
			sum++;
		}
		replies_free(v, n);
	}
	if (rc == 0 && names.n > 0) {
		w = status_width("ACCOUNT", names.n, status_strv_name, &names);
		fprintf(out, "\n%-*s  %8s\n", w, "ACCOUNT", "PENDING");
		for (i = 0; i < names.n; i++) {
			name = status_clean(names.v[i]);
			fprintf(out, "%-*s  %8lld\n", w, name,
			    (long long)count[i]);
			free(name);
		}
		if (total > sum)
			fprintf(out, "%-*s  %8lld\n", w, "(other teams)",
			    (long long)(total - sum));
	}
	free(count);
	strv_free(&names);
	return rc;
}

/* The line about the daemon itself. */
static void
status_daemon(FILE *out, const char *base, const struct status_metrics *m)
{
	const double	*wr;
	size_t		 i;

	if (!m->reachable) {
		fprintf(out, "daemon: not reachable (%s); connection state "
		    "and lag unknown\n", m->why);
		return;
	}
	fprintf(out, "daemon: running at %s", base);
	for (i = 0; i < m->n; i++)
		if (strcmp(m->v[i].name, "switchboard_build_info") == 0)
			fprintf(out, ", version %s", m->v[i].label);
	wr = status_value(m, "switchboard_store_writable", "");
	if (wr != NULL && *wr == 0)
		fputs(", store FAILING", out);
	fputc('\n', out);
}

/* The loaded config, its errors printed; NULL on failure. */
static struct config *
status_config(const char *path)
{
	struct cfg_errors	 errs;
	struct config		*cfg;
	size_t			 i;

	cfg_errors_init(&errs);
	cfg = config_load(path, &errs);
	for (i = 0; i < errs.msgs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs.v[i]);
	cfg_errors_free(&errs);
	return cfg;
}

int
status_cmd(const char *config_path, const char *state_dir, const char *url,
    FILE *out)
{
	struct status_metrics	 m;
	struct config		*cfg;
	struct store		*st = NULL;
	struct stat		 sb;
	const char		*dir;
	char			*base = NULL, *path = NULL, *cause = NULL;
	int			 rc = 1;

	if (url != NULL && strncmp(url, "http://", 7) != 0 &&
	    strncmp(url, "https://", 8) != 0) {
		fprintf(stderr, "switchboard: --url %s: not an http:// or "
		    "https:// URL\n", url);
		return 2;
	}
	if ((cfg = status_config(config_path)) == NULL)
		return 1;
	dir = state_dir != NULL ? state_dir : cfg->state_directory;
	/* Reading must not create an empty store somewhere else. */
	path = xasprintf("%s/switchboard.db", dir);
	if (stat(path, &sb) != 0) {
		fprintf(stderr, "switchboard: %s: %s\n", path, errno == ENOENT ?
		    "no store there (has the daemon run with this state "
		    "directory?)" : strerror(errno));
		goto out;
	}
	if ((st = store_open(dir, &cause)) == NULL) {
		fprintf(stderr, "switchboard: %s\n", cause != NULL ? cause :
		    dir);
		goto out;
	}
	base = status_base_url(cfg, url);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	status_metrics_fetch(&m, base);
	curl_global_cleanup();
	status_daemon(out, base, &m);
	fprintf(out, "state: %s\n\n", path);
	status_sources(out, cfg, &m);
	if (status_queues(out, cfg, st, &m) != 0 ||
	    status_conversations(out, cfg, st) != 0 ||
	    status_replies(out, cfg, st) != 0)
		fprintf(stderr, "switchboard: %s: the store could not be "
		    "read\n", path);
	else
		rc = fflush(out) == 0 ? 0 : 1;
	status_metrics_free(&m);
out:
	store_close(st);
	free(base);
	free(cause);
	free(path);
	config_free(cfg);
	return rc;
}
