/*
 * Health and metrics: the labelled counters and gauges, their
 * Prometheus text rendering, what a scrape reads from the daemon, and
 * the readiness check.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "hmap.h"
#include "log.h"
#include "metrics.h"
#include "storm.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION	"unknown"
#endif

struct metrics_family_def {
	const char	*name;
	const char	*type;		/* "counter" or "gauge" */
	const char	*help;
	const char	*labels[2];	/* NULL where unused */
};

static const struct metrics_family_def metrics_defs[METRICS_NFAMILIES] = {
	[METRICS_BUILD_INFO] = { "switchboard_build_info", "gauge",
	    "Always 1; the version of the running daemon.",
	    { "version", NULL } },
	[METRICS_EVENTS] = { "switchboard_events_received_total", "counter",
	    "Frames received from a source, usable or not.",
	    { "source", NULL } },
	[METRICS_PARSE_ERRORS] = { "switchboard_parse_errors_total", "counter",
	    "Frames from a source that could not be parsed (skipped).",
	    { "source", NULL } },
	[METRICS_OVERSIZE] = { "switchboard_oversize_frames_total", "counter",
	    "Frames over the source's max_frame_size (skipped).",
	    { "source", NULL } },
	[METRICS_SOURCE_CONNECTED] = { "switchboard_source_connected", "gauge",
	    "1 if the source is receiving (a file source always is).",
	    { "source", NULL } },
	[METRICS_SOURCE_LAG] = { "switchboard_source_lag_seconds", "gauge",
	    "Now minus the time of the newest post the source handed on.",
	    { "source", NULL } },
	[METRICS_RECONNECTS] = { "switchboard_source_reconnects_total",
	    "counter", "Connections of the source that dropped.",
	    { "source", NULL } },
	[METRICS_POSTS] = { "switchboard_posts_total", "counter",
	    "Posts parsed from every source.", { NULL, NULL } },
	[METRICS_ROUTED] = { "switchboard_posts_routed_total", "counter",
	    "Posts recorded for a team, by the rule that decided.",
	    { "team", "rule" } },
	[METRICS_DROPPED] = { "switchboard_posts_dropped_total", "counter",
	    "Posts that matched a drop rule.", { NULL, NULL } },
	[METRICS_IGNORED] = { "switchboard_posts_ignored_total", "counter",
	    "Posts no team wanted.", { NULL, NULL } },
	[METRICS_DUPLICATES] = { "switchboard_posts_duplicate_total",
	    "counter", "Posts already recorded (seen again).",
	    { NULL, NULL } },
	[METRICS_DELIVERIES] = { "switchboard_deliveries_total", "counter",
	    "Delivery attempts by outcome: ok (posts accepted), retried, "
	    "failed (given up).", { "destination", "result" } },
	[METRICS_RATE_LIMITED] = { "switchboard_rate_limited_total",
	    "counter", "HTTP 429 answers from the destination's platform.",
	    { "destination", NULL } },
	[METRICS_DIGESTS] = { "switchboard_digests_total", "counter",
	    "Digest messages accepted.", { "destination", NULL } },
	[METRICS_OUTBOX_DEPTH] = { "switchboard_outbox_depth", "gauge",
	    "Deliveries queued for the destination.",
	    { "destination", NULL } },
	[METRICS_OUTBOX_OLDEST] = { "switchboard_outbox_oldest_age_seconds",
	    "gauge", "Age of the oldest queued delivery (0 if none).",
	    { "destination", NULL } },
	[METRICS_DEST_DOWN] = { "switchboard_destination_down", "gauge",
	    "1 while the destination is reported down (chat.down_after).",
	    { "destination", NULL } },
	[METRICS_COMMANDS] = { "switchboard_commands_total", "counter",
	    "Chat commands by name and result (ok, error).",
	    { "command", "result" } },
	[METRICS_RELOADS] = { "switchboard_reloads_total", "counter",
	    "Configuration reloads by result (ok, failed).",
	    { "result", NULL } },
	[METRICS_CONFIG_ERRORS] = { "switchboard_config_errors", "gauge",
	    "Errors in the config of the last failed reload (0 after a "
	    "good one).", { NULL, NULL } },
	[METRICS_STORMS_STARTED] = { "switchboard_storms_started_total",
	    "counter", "Storms announced.", { NULL, NULL } },
	[METRICS_STORMS_ACTIVE] = { "switchboard_storms_active", "gauge",
	    "1 while the team (or one of its rules) is in a storm.",
	    { "team", NULL } },
	[METRICS_REPLIES] = { "switchboard_replies_total", "counter",
	    "Replies from chat by outcome: published, retried, failed.",
	    { "account", "result" } },
	[METRICS_STORE_ERRORS] = { "switchboard_store_errors_total",
	    "counter", "Store writes that failed (the burst was undone).",
	    { NULL, NULL } },
	[METRICS_STORE_OK] = { "switchboard_store_writable", "gauge",
	    "1 if the last commit succeeded.", { NULL, NULL } },
};

struct metrics_series {
	char	*labels;	/* rendered: name="value",... (map key) */
	double	 value;
};

struct metrics {
	struct hmap	families[METRICS_NFAMILIES];
};

void
metrics_escape(struct buf *b, const char *v)
{
	for (; v != NULL && *v != '\0'; v++) {
		if (*v == '\\')
			buf_adds(b, "\\\\");
		else if (*v == '"')
			buf_adds(b, "\\\"");
		else if (*v == '\n')
			buf_adds(b, "\\n");
		else
			buf_addc(b, *v);
	}
}

/* The labels as rendered (and as the series' key) into b. */
static void
metrics_labels(struct buf *b, enum metrics_id id, const char *a,
    const char *bv)
{
	const struct metrics_family_def	*d = &metrics_defs[id];
	const char			*v[2] = { a, bv };
	size_t				 i;

	buf_reset(b);
	buf_adds(b, "");
	for (i = 0; i < 2 && d->labels[i] != NULL; i++) {
		if (i > 0)
			buf_addc(b, ',');
		buf_printf(b, "%s=\"", d->labels[i]);
		metrics_escape(b, v[i] != NULL ? v[i] : "");
		buf_addc(b, '"');
	}
}

/* The series for the label values, made if new: full families count
 * new values under "other". */
static struct metrics_series *
metrics_series(struct metrics *m, enum metrics_id id, const char *a,
    const char *b)
{
	struct hmap		 *map = &m->families[id];
	struct metrics_series	 *s;
	struct buf		  key;
	void			**slot;

	buf_init(&key);
	metrics_labels(&key, id, a, b);
	s = hmap_get(map, key.data);
	if (s == NULL && map->n >= METRICS_SERIES_MAX) {
		metrics_labels(&key, id, METRICS_OTHER, METRICS_OTHER);
		s = hmap_get(map, key.data);
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->labels = xstrdup(key.data);
		slot = hmap_put(map, key.data);
		*slot = s;
	}
	buf_free(&key);
	return s;
}

struct metrics *
metrics_new(void)
{
	struct metrics	*m = xcalloc(1, sizeof(*m));
	size_t		 i;

	for (i = 0; i < METRICS_NFAMILIES; i++)
		hmap_init(&m->families[i]);
	metrics_set(m, METRICS_BUILD_INFO, PACKAGE_VERSION, NULL, 1);
	return m;
}

void
metrics_clear(struct metrics *m, enum metrics_id id)
{
	struct metrics_series	*s;
	size_t			 iter = 0;
	void			*v;

	if (m == NULL)
		return;
	while (hmap_next(&m->families[id], &iter, NULL, &v)) {
		s = v;
		free(s->labels);
		free(s);
	}
	hmap_free(&m->families[id]);
}

void
metrics_free(struct metrics *m)
{
	size_t	i;

	if (m == NULL)
		return;
	for (i = 0; i < METRICS_NFAMILIES; i++)
		metrics_clear(m, (enum metrics_id)i);
	free(m);
}

void
metrics_count(struct metrics *m, enum metrics_id id, const char *a,
    const char *b, uint64_t n)
{
	if (m != NULL)
		metrics_series(m, id, a, b)->value += (double)n;
}

void
metrics_set(struct metrics *m, enum metrics_id id, const char *a,
    const char *b, double v)
{
	if (m != NULL)
		metrics_series(m, id, a, b)->value = v;
}

double
metrics_get(const struct metrics *m, enum metrics_id id, const char *a,
    const char *b)
{
	struct metrics_series	*s;
	struct buf		 key;

	if (m == NULL)
		return 0;
	buf_init(&key);
	metrics_labels(&key, id, a, b);
	s = hmap_get(&m->families[id], key.data);
	buf_free(&key);
	return s != NULL ? s->value : 0;
}

static void
metrics_value(struct buf *b, double v)
{
	if (isnan(v))
		buf_adds(b, "NaN");
	else if (isinf(v))
		buf_adds(b, v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e15)
		buf_printf(b, "%.0f", v);
	else
		buf_printf(b, "%.3f", v);
}

static int
metrics_series_cmp(const void *a, const void *b)
{
	const struct metrics_series *const	*x = a, *const *y = b;

	return strcmp((*x)->labels, (*y)->labels);
}

static void
metrics_render_family(struct buf *b, const struct metrics *m,
    enum metrics_id id)
{
	const struct metrics_family_def	 *d = &metrics_defs[id];
	const struct hmap		 *map = &m->families[id];
	struct metrics_series		**v;
	size_t				  n = 0, i, iter = 0;
	void				 *p;
	const char			 *h;

	buf_printf(b, "# HELP %s ", d->name);
	for (h = d->help; *h != '\0'; h++) {
		if (*h == '\\')
			buf_adds(b, "\\\\");
		else if (*h == '\n')
			buf_adds(b, "\\n");
		else
			buf_addc(b, *h);
	}
	buf_printf(b, "\n# TYPE %s %s\n", d->name, d->type);
	if (d->labels[0] == NULL && map->n == 0) {
		buf_printf(b, "%s 0\n", d->name);
		return;
	}
	v = xcalloc(map->n + 1, sizeof(*v));
	while (hmap_next(map, &iter, NULL, &p))
		v[n++] = p;
	qsort(v, n, sizeof(*v), metrics_series_cmp);
	for (i = 0; i < n; i++) {
		buf_adds(b, d->name);
		if (v[i]->labels[0] != '\0')
			buf_printf(b, "{%s}", v[i]->labels);
		buf_addc(b, ' ');
		metrics_value(b, v[i]->value);
		buf_addc(b, '\n');
	}
	free(v);
}

char *
metrics_render(const struct metrics *m)
{
	struct buf	b;
	size_t		i;

	buf_init(&b);
	buf_adds(&b, "");
	for (i = 0; m != NULL && i < METRICS_NFAMILIES; i++)
		metrics_render_family(&b, m, (enum metrics_id)i);
	return buf_steal(&b);
}

/* Queues: every configured team's, and any other still holding some. */
static void
metrics_scrape_outbox(struct app *app)
{
	struct metrics	*m = app->metrics;
	struct strv	 names, queued;
	int64_t		 n, oldest, now = now_wall_ms();
	size_t		 i;

	metrics_clear(m, METRICS_OUTBOX_DEPTH);
	metrics_clear(m, METRICS_OUTBOX_OLDEST);
	strv_init(&names);
	for (i = 0; i < app->config->nteams; i++)
		strv_add(&names, app->config->teams[i].name);
	if (store_outbox_destinations(app->store, &queued) != 0)
		log_warn("metrics: the outbox could not be read");
	for (i = 0; i < queued.n; i++)
		if (!strv_contains(&names, queued.v[i]))
			strv_add(&names, queued.v[i]);
	strv_free(&queued);
	for (i = 0; i < names.n; i++) {
		if (store_outbox_depth(app->store, names.v[i], &n,
		    &oldest) != 0)
			continue;
		metrics_set(m, METRICS_OUTBOX_DEPTH, names.v[i], NULL,
		    (double)n);
		metrics_set(m, METRICS_OUTBOX_OLDEST, names.v[i], NULL,
		    n > 0 && oldest > 0 && oldest < now ?
		    (double)(now - oldest) / 1000.0 : 0);
		/* Known to be up unless the outbox said otherwise. */
		metrics_set(m, METRICS_DEST_DOWN, names.v[i], NULL,
		    metrics_get(m, METRICS_DEST_DOWN, names.v[i], NULL));
	}
	strv_free(&names);
}

static void
metrics_scrape_sources(struct app *app)
{
	struct metrics	*m = app->metrics;
	struct source	*src;
	int64_t		 now = now_wall_us();
	size_t		 i;

	metrics_clear(m, METRICS_SOURCE_CONNECTED);
	metrics_clear(m, METRICS_SOURCE_LAG);
	for (i = 0; i < app->nsources; i++) {
		src = app->sources[i];
		metrics_set(m, METRICS_SOURCE_CONNECTED, src->name, NULL,
		    src->ops->connected == NULL ||
		    src->ops->connected(src) ? 1 : 0);
		/* Every source is listed where its counters are. */
		metrics_count(m, METRICS_EVENTS, src->name, NULL, 0);
		metrics_count(m, METRICS_PARSE_ERRORS, src->name, NULL, 0);
		metrics_count(m, METRICS_OVERSIZE, src->name, NULL, 0);
		metrics_count(m, METRICS_RECONNECTS, src->name, NULL, 0);
		if (src->newest_us > 0)
			metrics_set(m, METRICS_SOURCE_LAG, src->name, NULL,
			    now > src->newest_us ?
			    (double)(now - src->newest_us) / 1e6 : 0);
	}
}

char *
metrics_scrape(struct app *app)
{
	struct metrics		*m = app->metrics;
	const struct app_stats	*st = &app->stats;
	const char		*team;
	size_t			 i;

	if (m == NULL)
		return NULL;
	metrics_scrape_sources(app);
	metrics_scrape_outbox(app);
	metrics_set(m, METRICS_POSTS, NULL, NULL, (double)st->posts);
	metrics_set(m, METRICS_DROPPED, NULL, NULL, (double)st->dropped);
	metrics_set(m, METRICS_IGNORED, NULL, NULL, (double)st->ignored);
	metrics_set(m, METRICS_DUPLICATES, NULL, NULL,
	    (double)st->duplicates);
	metrics_set(m, METRICS_RELOADS, "ok", NULL, (double)st->reloads);
	metrics_set(m, METRICS_RELOADS, "failed", NULL,
	    (double)st->reload_failures);
	metrics_set(m, METRICS_CONFIG_ERRORS, NULL, NULL,
	    (double)st->config_errors);
	metrics_set(m, METRICS_STORE_ERRORS, NULL, NULL,
	    (double)st->store_errors);
	metrics_set(m, METRICS_STORE_OK, NULL, NULL,
	    app->store_failed_ms == 0 ? 1 : 0);
	metrics_set(m, METRICS_STORMS_STARTED, NULL, NULL,
	    app->storms != NULL ? (double)storms_started(app->storms) : 0);
	metrics_clear(m, METRICS_STORMS_ACTIVE);
	for (i = 0; i < app->config->nteams; i++) {
		team = app->config->teams[i].name;
		metrics_set(m, METRICS_STORMS_ACTIVE, team, NULL,
		    app->storms != NULL && storms_active(app->storms, team) ?
		    1 : 0);
	}
	return metrics_render(m);
}

bool
metrics_ready(struct app *app, char **text)
{
	struct source	*src;
	struct buf	 b;
	size_t		 i;

	buf_init(&b);
	if (app->stopping)
		buf_adds(&b, "stopping\n");
	for (i = 0; i < app->nsources; i++) {
		src = app->sources[i];
		if (src->ops->connected != NULL && !src->ops->connected(src))
			buf_printf(&b, "source %s: not connected\n",
			    src->name);
	}
	if (app->store_failed_ms != 0)
		buf_printf(&b, "store: the last write failed %lld s ago\n",
		    (long long)((now_mono_ms() - app->store_failed_ms) /
		    1000));
	if (b.len == 0) {
		buf_free(&b);
		*text = xstrdup("ready\n");
		return true;
	}
	*text = buf_steal(&b);
	return false;
}
