/*
 * Health and metrics (README "Health and metrics"): counters kept as
 * things happen, gauges read from the daemon when scraped, rendered in
 * the Prometheus text exposition format 0.0.4 for GET /metrics; and
 * the readiness check behind GET /readyz.
 *
 * Every family has at most two labels.  Label values come from the
 * config and from the networks (a team, a rule, a command name), so
 * each family keeps at most METRICS_SERIES_MAX series: once full, new
 * label values are counted under "other".
 */
#ifndef SB_METRICS_H
#define SB_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#define METRICS_SERIES_MAX	1000
#define METRICS_OTHER		"other"
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

/* The families, in the order they are rendered (labels in brackets). */
enum metrics_id {
	METRICS_BUILD_INFO,		/* gauge [version] */
	METRICS_EVENTS,			/* counter [source] */
	METRICS_PARSE_ERRORS,		/* counter [source] */
	METRICS_OVERSIZE,		/* counter [source] */
	METRICS_SOURCE_CONNECTED,	/* gauge [source], scraped */
	METRICS_SOURCE_LAG,		/* gauge [source], scraped */
	METRICS_RECONNECTS,		/* counter [source] */
	METRICS_POSTS,			/* counter */
	METRICS_ROUTED,			/* counter [team, rule] */
	METRICS_DROPPED,		/* counter */
	METRICS_IGNORED,		/* counter */
	METRICS_DUPLICATES,		/* counter */
	METRICS_DELIVERIES,		/* counter [destination, result] */
	METRICS_RATE_LIMITED,		/* counter [destination] */
	METRICS_DIGESTS,		/* counter [destination] */
	METRICS_OUTBOX_DEPTH,		/* gauge [destination], scraped */
	METRICS_OUTBOX_OLDEST,		/* gauge [destination], scraped */
	METRICS_DEST_DOWN,		/* gauge [destination] */
	METRICS_COMMANDS,		/* counter [command, result] */
	METRICS_RELOADS,		/* counter [result], scraped */
	METRICS_CONFIG_ERRORS,		/* gauge, scraped */
	METRICS_STORMS_STARTED,		/* counter, scraped */
	METRICS_STORMS_ACTIVE,		/* gauge [team], scraped */
	METRICS_REPLIES,		/* counter [account, result] */
	METRICS_STORE_ERRORS,		/* counter, scraped */
	METRICS_STORE_OK,		/* gauge, scraped */
	METRICS_NFAMILIES
};

struct metrics;
struct app;

struct metrics	*metrics_new(void);
void		 metrics_free(struct metrics *);	/* NULL: nothing */

/*
 * Add n to counter id for its label values a and b (NULL where the
 * family has fewer labels).  A NULL metrics does nothing, so code run
 * without a daemon (tests, the CLI) need not care.
 */
void	metrics_count(struct metrics *, enum metrics_id, const char *a,
	    const char *b, uint64_t n);
/* Set a gauge (or a counter kept elsewhere) to v. */
void	metrics_set(struct metrics *, enum metrics_id, const char *a,
	    const char *b, double v);
/* The series' value: 0 if there is none. */
double	metrics_get(const struct metrics *, enum metrics_id,
	    const char *a, const char *b);
/* Forget every series of id (a gauge refilled on each scrape). */
void	metrics_clear(struct metrics *, enum metrics_id);

/*
 * The text format: for each family "# HELP", "# TYPE", then its series
 * sorted by their labels, one "name{label="value",...} value" line
 * each; a family without labels always has its one sample.  Caller
 * frees.
 */
char	*metrics_render(const struct metrics *);
/* Append v as a label value: backslash, '"' and newline escaped. */
void	 metrics_escape(struct buf *, const char *v);

/*
 * Read the daemon's gauges (source connections and lag, queues, storms,
 * reloads, the store) into app->metrics, then render.  Caller frees.
 */
char	*metrics_scrape(struct app *);

/*
 * Whether the daemon is ready: every source connected (a source
 * without connections, such as replay, always is) and the store
 * writable (its last commit succeeded).  *text (caller frees) is
 * "ready", or one line per thing that is not.
 */
bool	 metrics_ready(struct app *, char **text);

#endif
