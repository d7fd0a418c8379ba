/*
 * The Mastodon source: one streaming websocket with a subscription per
 * watched stream, and, because the streaming API has no cursor, a REST
 * backfill of every stream from its last recorded id at start and after
 * each reconnect, before the stream may move that id on.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "app.h"
#include "http.h"
#include "log.h"
#include "mastodon.h"
#include "source.h"
#include "ws.h"

#define SOURCE_MASTODON_HTTP_TIMEOUT_MS	30000
/* Requests left in the rate-limit window at which the backfill waits
 * for its reset, keeping the last one for the account's other uses. */
#define SOURCE_MASTODON_RATE_RESERVE	1
/* Longest wait for a rate-limit reset (Mastodon's window is 5 min). */
#define SOURCE_MASTODON_RATE_MAX_MS	(6 * 60 * 1000)
#define SOURCE_MASTODON_429_DEFAULT_MS	60000
/* Mastodon caps a timeline page at 40 (notifications at 80): asking for
 * more would make every full page look like the last one. */
#define SOURCE_MASTODON_TIMELINE_MAX	40
/* Edits and deletions remembered to drop their repeats. */
#define SOURCE_MASTODON_RECENT		32

enum source_mastodon_kind {
	SOURCE_MASTODON_NOTIFICATIONS,
	SOURCE_MASTODON_HASHTAG,
	SOURCE_MASTODON_LIST,
	SOURCE_MASTODON_PUBLIC
};

/* One watched stream, as configured. */
struct source_mastodon_stream {
	enum source_mastodon_kind kind;
	char		*key;		/* in the cursor: "hashtag:acme" */
	char		*name;		/* streaming API: "hashtag" */
	char		*arg;		/* tag or list id, or NULL */
	char		*subscribe;	/* the subscribe message */
	char		*path;		/* REST timeline, with its query */
};

struct source_mastodon_settings {
	char				*url;		/* no trailing '/' */
	char				*host;		/* for post ids */
	char				*streaming_url;
	char				*token;
	long long			 page_size;
	struct source_mastodon_stream	*streams;
	size_t				 nstreams;
	struct source_ws_settings	 ws;
};

/* A stream's progress. */
struct source_mastodon_state {
	char	*last;		/* newest id handed to the core, or NULL */
	bool	 caught_up;	/* backfilled since the latest connection */
	bool	 failed;	/* its backfill failed: wait for a reconnect */
	char	*narrow_until;	/* read one by one up to this id */
};

struct source_mastodon_req;

struct source_mastodon {
	struct source			*src;
	struct ws			*ws;
	struct source_mastodon_state	*st;
	size_t				 nst;
	size_t				 backfill;	/* stream being read */
	bool				 backfilling;
	size_t				 backfilled;	/* posts, this pass */
	struct source_mastodon_req	*req;		/* in flight */
	uv_timer_t			 timer;		/* waits, retries */
	int64_t				 not_before_ms;	/* rate limit */
	unsigned			 failures;	/* in a row */
	bool				 stopped;
	char				*recent[SOURCE_MASTODON_RECENT];
	size_t				 recent_next;
};

/* The HTTP request in flight (one at most): outlives a stopped source. */
struct source_mastodon_req {
	struct source_mastodon	*m;	/* NULL once the source stopped */
	size_t			 stream;
	bool			 fresh;	/* no position yet: note the newest */
	bool			 stale;	/* sent before a new connection */
	long long		 limit;
};

static const char *const source_mastodon_keys[] = {
	"url", "streaming_url", "access_token", "notifications", "hashtags",
	"lists", "timelines", "page_size", SOURCE_WS_KEYS, NULL
};

static const char *const source_mastodon_timelines[] = {
	"public", "public:local", "public:remote", NULL
};

static void	source_mastodon_backfill_next(struct source_mastodon *);

static void
source_mastodon_settings_free(void *p)
{
	struct source_mastodon_settings	*ms = p;
	size_t				 i;

	if (ms == NULL)
		return;
	for (i = 0; i < ms->nstreams; i++) {
		free(ms->streams[i].key);
		free(ms->streams[i].name);
		free(ms->streams[i].arg);
		free(ms->streams[i].subscribe);
		free(ms->streams[i].path);
	}
	free(ms->streams);
	free(ms->url);
	free(ms->host);
	free(ms->streaming_url);
	free(ms->token);
	free(ms);
}

/* Percent-encode everything but RFC 3986 unreserved characters. */
static void
source_mastodon_pct(struct buf *b, const char *s)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' ||
		    *p == '~')
			buf_addc(b, (char)*p);
		else
			buf_printf(b, "%%%02X", *p);
	}
}

static void
source_mastodon_add_stream(struct source_mastodon_settings *ms,
    enum source_mastodon_kind kind, const char *name, const char *arg)
{
	struct source_mastodon_stream	*s;
	struct buf			 path;
	json_t				*msg;

	ms->streams = xrealloc(ms->streams,
	    (ms->nstreams + 1) * sizeof(*ms->streams));
	s = &ms->streams[ms->nstreams++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->name = xstrdup(name);
	s->arg = xstrdup(arg);
	msg = json_pack("{s:s, s:s}", "type", "subscribe", "stream", name);
	buf_init(&path);
	switch (kind) {
	case SOURCE_MASTODON_NOTIFICATIONS:
		s->key = xstrdup("notifications");
		/* Mentions only: the other types carry no post for us. */
		buf_adds(&path, "/api/v1/notifications?types%5B%5D=mention");
		break;
	case SOURCE_MASTODON_HASHTAG:
		s->key = xasprintf("hashtag:%s", arg);
		json_object_set_new(msg, "tag", json_string(arg));
		buf_adds(&path, "/api/v1/timelines/tag/");
		source_mastodon_pct(&path, arg);
		break;
	case SOURCE_MASTODON_LIST:
		s->key = xasprintf("list:%s", arg);
		json_object_set_new(msg, "list", json_string(arg));
		buf_adds(&path, "/api/v1/timelines/list/");
		source_mastodon_pct(&path, arg);
		break;
	case SOURCE_MASTODON_PUBLIC:
		s->key = xstrdup(name);
		buf_adds(&path, "/api/v1/timelines/public");
		if (strcmp(name, "public:local") == 0)
			buf_adds(&path, "?local=true");
		else if (strcmp(name, "public:remote") == 0)
			buf_adds(&path, "?remote=true");
		break;
	}
	s->subscribe = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	s->path = buf_steal(&path);
}

/* "https://HOST[:PORT]/..." -> "host[:port]", lower-case. */
static char *
source_mastodon_host(const char *url)
{
	const char	*p = strstr(url, "://"), *at;
	size_t		 n;
	char		*host, *c;

	if (p == NULL)
		return NULL;
	p += 3;
	n = strcspn(p, "/?#");
	at = memchr(p, '@', n);
	if (at != NULL) {
		n -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	if (n == 0)
		return NULL;
	host = xstrndup(p, n);
	for (c = host; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	return host;
}

static void
source_mastodon_configure_url(struct source_mastodon_settings *ms,
    const config_setting_t *g, struct cfg_errors *errs)
{
	const config_setting_t	*s = config_setting_get_member(g, "url");
	size_t			 n;

	if (cfg_string(g, "url", CFG_REQUIRED, NULL, &ms->url, errs) != 1)
		return;
	n = strlen(ms->url);
	while (n > 0 && ms->url[n - 1] == '/')
		ms->url[--n] = '\0';
	if (!url_scheme_ok(ms->url, "https", "http"))
		cfg_error(errs, s, "must be https://, or http:// to a loopback "
		    "address");
	else if (strpbrk(ms->url, "?#") != NULL)
		cfg_error(errs, s, "must be the instance's base URL, without "
		    "a query");
	else if ((ms->host = source_mastodon_host(ms->url)) == NULL)
		cfg_error(errs, s, "has no host");
	if (cfg_string(g, "streaming_url", 0, NULL, &ms->streaming_url,
	    errs) == 1) {
		if (!url_scheme_ok(ms->streaming_url, "wss", "ws"))
			cfg_error(errs, config_setting_get_member(g,
			    "streaming_url"), "must be wss://, or ws:// to a "
			    "loopback address");
	} else if (ms->streaming_url == NULL && ms->host != NULL)
		ms->streaming_url = xasprintf("%s%s/api/v1/streaming",
		    strncmp(ms->url, "https:", 6) == 0 ? "wss" : "ws",
		    strchr(ms->url, ':'));
}

/*
 * An item of hashtags, lists or timelines in its canonical form, or
 * NULL if it is not one.  Hashtags: "#" optional, case-insensitive, a
 * URL path segment.  Caller frees.
 */
static char *
source_mastodon_item(enum source_mastodon_kind kind, const char *v)
{
	char	*out, *c;
	size_t	 i;

	switch (kind) {
	case SOURCE_MASTODON_HASHTAG:
		v += *v == '#';
		if (*v == '\0' || strpbrk(v, " \t\r\n#/?&%\"\\") != NULL)
			return NULL;
		out = xstrdup(v);
		for (c = out; *c != '\0'; c++)
			*c = (char)tolower((unsigned char)*c);
		return out;
	case SOURCE_MASTODON_LIST:
		if (*v == '\0' || v[strspn(v, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")] != '\0')
			return NULL;
		return xstrdup(v);
	default:
		for (i = 0; source_mastodon_timelines[i] != NULL; i++)
			if (strcmp(v, source_mastodon_timelines[i]) == 0)
				return xstrdup(v);
		return NULL;
	}
}

/* The streams listed in key: hashtags, lists or timelines. */
static void
source_mastodon_configure_streams(struct source_mastodon_settings *ms,
    const config_setting_t *g, const char *key,
    enum source_mastodon_kind kind, struct cfg_errors *errs)
{
	static const char *const bad[] = {
		[SOURCE_MASTODON_HASHTAG] = "is not a hashtag",
		[SOURCE_MASTODON_LIST] = "is not a list id",
		[SOURCE_MASTODON_PUBLIC] = "is not \"public\", "
		    "\"public:local\" or \"public:remote\"",
	};
	const config_setting_t	*s = config_setting_get_member(g, key);
	struct strv		 raw, seen;
	size_t			 i;
	char			*v;

	strv_init(&raw);
	strv_init(&seen);
	cfg_strv(g, key, 0, &raw, errs);
	for (i = 0; i < raw.n; i++) {
		v = source_mastodon_item(kind, raw.v[i]);
		if (v == NULL)
			cfg_error(errs, s, "\"%s\" %s", raw.v[i], bad[kind]);
		else if (strv_contains(&seen, v))
			cfg_error(errs, s, "\"%s\" is listed twice", raw.v[i]);
		else {
			strv_add(&seen, v);
			source_mastodon_add_stream(ms, kind, kind ==
			    SOURCE_MASTODON_HASHTAG ? "hashtag" : kind ==
			    SOURCE_MASTODON_LIST ? "list" : v,
			    kind == SOURCE_MASTODON_PUBLIC ? NULL : v);
		}
		free(v);
	}
	strv_free(&seen);
	strv_free(&raw);
}

static int
source_mastodon_configure(struct source_conf *sc, const config_setting_t *g,
    struct cfg_errors *errs)
{
	struct source_mastodon_settings	*ms = xcalloc(1, sizeof(*ms));
	size_t				 before = errs->msgs.n;
	bool				 notifications;

	sc->settings = ms;
	source_mastodon_configure_url(ms, g, errs);
	/* Mastodon 4.2 and later refuse every stream without a token. */
	cfg_string(g, "access_token", CFG_REQUIRED | CFG_SECRET, NULL,
	    &ms->token, errs);
	if (ms->token != NULL && strpbrk(ms->token, "\r\n") != NULL)
		cfg_error(errs, g, "access_token: must be one line");
	cfg_bool(g, "notifications", 0, true, &notifications, errs);
	if (notifications)
		source_mastodon_add_stream(ms, SOURCE_MASTODON_NOTIFICATIONS,
		    "user:notification", NULL);
	source_mastodon_configure_streams(ms, g, "hashtags",
	    SOURCE_MASTODON_HASHTAG, errs);
	source_mastodon_configure_streams(ms, g, "lists",
	    SOURCE_MASTODON_LIST, errs);
	source_mastodon_configure_streams(ms, g, "timelines",
	    SOURCE_MASTODON_PUBLIC, errs);
	if (ms->nstreams == 0 && errs->msgs.n == before)
		cfg_error(errs, g, "nothing to watch: set notifications, "
		    "hashtags, lists or timelines");
	cfg_int(g, "page_size", 0, 1, 80, 40, &ms->page_size, errs);
	source_ws_configure(g, &ms->ws, errs);
	return errs->msgs.n == before ? 0 : -1;
}

/* The live settings: a reload with unchanged settings swaps in an equal
 * copy and frees ours, so never keep a pointer to them. */
static const struct source_mastodon_settings *
source_mastodon_settings(const struct source_mastodon *m)
{
	return m->src->conf->settings;
}

/*
 * The cursor: {"STREAMKEY": "last id", ...} for every stream that has
 * one.  Caller frees.
 */
static char *
source_mastodon_cursor(const struct source_mastodon *m)
{
	const struct source_mastodon_settings	*ms;
	json_t					*o = json_object();
	char					*out;
	size_t					 i;

	ms = source_mastodon_settings(m);
	for (i = 0; i < m->nst; i++)
		if (m->st[i].last != NULL)
			json_object_set_new(o, ms->streams[i].key,
			    json_string(m->st[i].last));
	out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return out;
}

/* Ids go into query strings: letters and digits only (Mastodon's are
 * decimal; other servers of its API use base 62 or ULIDs). */
static bool
source_mastodon_id_ok(const char *id)
{
	size_t	n = strspn(id, "0123456789abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ");

	return n > 0 && n <= 64 && id[n] == '\0';
}

static void
source_mastodon_cursor_load(struct source_mastodon *m)
{
	const struct source_mastodon_settings	*ms;
	char					*saved;
	json_t					*o, *v;
	json_error_t				 jerr;
	size_t					 i;

	ms = source_mastodon_settings(m);
	saved = store_cursor_get(m->src->app->store, m->src->name);
	if (saved == NULL)
		return;
	o = json_loads(saved, 0, &jerr);
	if (!json_is_object(o))
		log_warn("source %s: saved cursor is not a JSON object; every "
		    "stream starts from now", m->src->name);
	for (i = 0; o != NULL && i < m->nst; i++) {
		v = json_object_get(o, ms->streams[i].key);
		if (json_is_string(v) && source_mastodon_id_ok(
		    json_string_value(v)))
			m->st[i].last = xstrdup(json_string_value(v));
		else if (v != NULL)
			log_warn("source %s: %s: bad saved id; starting from "
			    "now", m->src->name, ms->streams[i].key);
	}
	json_decref(o);
	free(saved);
}

/* Move stream i's id forward (never back).  True if it moved. */
static bool
source_mastodon_advance(struct source_mastodon *m, size_t i, const char *id)
{
	if (id == NULL || !source_mastodon_id_ok(id))
		return false;
	if (m->st[i].last != NULL && mastodon_id_cmp(id, m->st[i].last) <= 0)
		return false;
	free(m->st[i].last);
	m->st[i].last = xstrdup(id);
	return true;
}

/*
 * Hand ev (may be NULL: the cursor alone) to the core, with the cursor
 * when with_cursor.  False if the core stopped this source meanwhile (a
 * store failure restarts the sources): m is then dead but not freed.
 */
static bool
source_mastodon_ingest(struct source_mastodon *m, struct mastodon_event *ev,
    bool with_cursor)
{
	struct ingest	 in;
	char		*cursor = NULL;

	memset(&in, 0, sizeof(in));
	if (with_cursor) {
		cursor = source_mastodon_cursor(m);
		in.cursor = cursor;
	}
	if (ev != NULL) {
		switch (ev->kind) {
		case MASTODON_STATUS:
		case MASTODON_EDIT:
			in.post = ev->post;
			in.edited = ev->kind == MASTODON_EDIT;
			ev->post = NULL;	/* the core takes it */
			break;
		case MASTODON_DELETE:
			in.platform = "mastodon";
			in.deleted = ev->id;
			break;
		case MASTODON_OTHER:
			break;
		}
	}
	app_ingest(m->src->app, m->src, &in);
	free(cursor);
	return !m->stopped;
}

static void
source_mastodon_timer_cb(uv_timer_t *t)
{
	source_mastodon_backfill_next(t->data);
}

/* Try again after a failure: the websocket's backoff, doubled per
 * failure in a row, with jitter. */
static void
source_mastodon_backoff(struct source_mastodon *m)
{
	const struct source_mastodon_settings	*ms;
	uint64_t				 delay;
	unsigned				 shift;

	ms = source_mastodon_settings(m);
	shift = m->failures < 20 ? m->failures : 20;
	delay = (uint64_t)ms->ws.reconnect_min_ms << shift;
	if (delay > (uint64_t)ms->ws.reconnect_max_ms)
		delay = (uint64_t)ms->ws.reconnect_max_ms;
	delay = delay / 2 + (uint64_t)(random_unit() * (double)(delay / 2));
	m->failures++;
	if (m->not_before_ms < now_mono_ms() + (int64_t)delay)
		m->not_before_ms = now_mono_ms() + (int64_t)delay;
}

/* Seconds from now until a rate-limit reset: an ISO 8601 time (what
 * Mastodon sends) or a number of seconds; -1 if unreadable. */
static double
source_mastodon_reset_in(const char *v)
{
	struct tm	tm;
	char		*end;
	double		 s;
	int		 n = 0;

	if (v == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(v, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) == 6 &&
	    n > 0) {
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		/* Fractions and the zone suffix are ignored: Mastodon
		 * sends UTC, and a second more is harmless. */
		return difftime(timegm(&tm), time(NULL)) + 1;
	}
	s = strtod(v, &end);
	if (end == v || !isfinite(s))	/* "nan", "inf": no answer */
		return -1;
	/* A Unix time (Discord and others) rather than a delay. */
	if (s > 1e9)
		s -= (double)time(NULL);
	return s;
}

/* Respect X-RateLimit-Remaining / -Reset and a 429's Retry-After. */
static void
source_mastodon_rate(struct source_mastodon *m,
    const struct http_response *resp)
{
	const char	*rem;
	double		 wait = -1;
	char		*end;
	long		 left;

	rem = http_response_header(resp, "x-ratelimit-remaining");
	if (resp->status == 429) {
		wait = resp->retry_after;
		if (wait < 0)
			wait = source_mastodon_reset_in(http_response_header(
			    resp, "x-ratelimit-reset"));
		if (wait < 0)
			wait = SOURCE_MASTODON_429_DEFAULT_MS / 1000.0;
	} else if (rem != NULL) {
		left = strtol(rem, &end, 10);
		if (end != rem && left <= SOURCE_MASTODON_RATE_RESERVE)
			wait = source_mastodon_reset_in(http_response_header(
			    resp, "x-ratelimit-reset"));
	}
	if (wait <= 0)
		return;
	if (wait * 1000 > SOURCE_MASTODON_RATE_MAX_MS)
		wait = SOURCE_MASTODON_RATE_MAX_MS / 1000.0;
	log_info("source %s: rate limit: next request in %.1f s",
	    m->src->name, wait);
	if (m->not_before_ms < now_mono_ms() + (int64_t)(wait * 1000))
		m->not_before_ms = now_mono_ms() + (int64_t)(wait * 1000);
}

/*
 * What a page holds before any item is interpreted: its length (to
 * know whether it was the last one) and its newest id (where the next
 * page starts, even when the newest items are of no interest).
 */
static int
source_mastodon_page_scan(const struct http_response *resp, size_t *n,
    char **newest, char **cause)
{
	json_t		*a, *v;
	json_error_t	 jerr;
	size_t		 i;
	const char	*id;

	*newest = NULL;
	a = json_loadb(resp->body, resp->body_len, 0, &jerr);
	if (!json_is_array(a)) {
		*cause = a == NULL ? xasprintf("page: %s (line %d)", jerr.text,
		    jerr.line) : xstrdup("page: not a JSON array");
		json_decref(a);
		return -1;
	}
	*n = json_array_size(a);
	json_array_foreach(a, i, v) {
		id = json_string_value(json_object_get(v, "id"));
		if (id != NULL && source_mastodon_id_ok(id) &&
		    (*newest == NULL || mastodon_id_cmp(id, *newest) > 0)) {
			free(*newest);
			*newest = xstrdup(id);
		}
	}
	json_decref(a);
	return 0;
}

/* Stream i has nothing older left to read on this connection. */
static void
source_mastodon_caught_up(struct source_mastodon *m, size_t i)
{
	const struct source_mastodon_settings	*ms;

	ms = source_mastodon_settings(m);
	m->st[i].caught_up = true;
	log_info("source %s: %s: caught up at %s", m->src->name,
	    ms->streams[i].key, m->st[i].last ? m->st[i].last : "the start");
	m->backfill++;
}

/*
 * A first page of a stream with no recorded id (limit=1): its newest id
 * becomes the starting point, so a new install or a newly watched
 * stream begins at "now" instead of flooding chat with history.  An
 * empty timeline starts at "0": everything that comes is new.
 */
static void
source_mastodon_fresh(struct source_mastodon *m, size_t i, char *newest)
{
	const struct source_mastodon_settings	*ms;

	ms = source_mastodon_settings(m);
	source_mastodon_advance(m, i, newest ? newest : "0");
	log_info("source %s: %s: no saved position; starting from now (%s)",
	    m->src->name, ms->streams[i].key, m->st[i].last);
	if (!source_mastodon_ingest(m, NULL, true))
		return;
	source_mastodon_caught_up(m, i);
}

/*
 * A page the parser refused although it is valid JSON: one bad element
 * fails it whole, and asking again gives the same page.  Read that range
 * again one element at a time, then step over just the bad one.  True
 * if the page was handled here and nothing else is to be done with it.
 */
static bool
source_mastodon_unreadable(struct source_mastodon *m,
    const struct source_mastodon_req *req, const char *newest,
    const char *cause)
{
	const struct source_mastodon_settings	*ms;
	struct source_mastodon_state		*st = &m->st[req->stream];

	ms = source_mastodon_settings(m);
	app_bad_frame(m->src->app, m->src, cause);
	if (newest == NULL) {
		/* No id to page past: this stream cannot go on. */
		log_err("source %s: %s: unreadable page without ids: %s",
		    m->src->name, ms->streams[req->stream].key, cause);
		st->failed = true;
		m->backfill++;
		return true;
	}
	if (req->limit > 1) {
		log_warn("source %s: %s: unreadable page (%s); reading it one "
		    "item at a time", m->src->name,
		    ms->streams[req->stream].key, cause);
		free(st->narrow_until);
		st->narrow_until = xstrdup(newest);
		return true;
	}
	log_warn("source %s: %s: skipped an unreadable item %s: %s",
	    m->src->name, ms->streams[req->stream].key, newest, cause);
	return false;
}

/* A page of stream i, oldest first. */
static void
source_mastodon_page(struct source_mastodon *m,
    const struct source_mastodon_req *req, const struct http_response *resp,
    size_t n, const char *newest)
{
	const struct source_mastodon_settings	*ms;
	size_t					 i = req->stream, k;
	struct mastodon_event			*evs = NULL;
	const char				*id;
	char					*cause = NULL, *before;
	int					 nev;
	bool					 notif, handled, alive = true;

	ms = source_mastodon_settings(m);
	notif = ms->streams[i].kind == SOURCE_MASTODON_NOTIFICATIONS;
	nev = mastodon_parse_page(resp->body, resp->body_len, ms->host, notif,
	    &evs, &cause);
	if (nev < 0) {
		handled = source_mastodon_unreadable(m, req, newest, cause);
		free(cause);
		if (handled)
			return;
		nev = 0;
	}
	before = xstrdup(m->st[i].last);
	for (k = 0; k < (size_t)nev; k++) {
		if (alive) {
			id = notif ? evs[k].notification_id : evs[k].status_id;
			source_mastodon_advance(m, i, id);
			if (evs[k].post != NULL)
				m->backfilled++;
			alive = source_mastodon_ingest(m, &evs[k], true);
		}
		mastodon_event_clear(&evs[k]);
	}
	free(evs);
	/* Elements the parser left out still move the position on. */
	if (alive && source_mastodon_advance(m, i, newest))
		alive = source_mastodon_ingest(m, NULL, true);
	if (alive && (long long)n >= req->limit && before != NULL &&
	    strcmp(before, m->st[i].last) == 0) {
		/* A full page that does not move on: the server ignores
		 * min_id.  Stop here rather than loop. */
		log_warn("source %s: %s: the server repeats a page; stopping "
		    "this backfill", m->src->name, ms->streams[i].key);
		n = 0;
	}
	free(before);
	if (alive && (long long)n < req->limit)
		source_mastodon_caught_up(m, i);
}

/* A failed request: retry it later, or give up on its stream until the
 * next connection when retrying cannot help. */
static void
source_mastodon_failed(struct source_mastodon *m,
    const struct source_mastodon_req *req, const struct http_response *resp)
{
	const struct source_mastodon_settings	*ms;
	const char				*key;

	ms = source_mastodon_settings(m);
	key = ms->streams[req->stream].key;
	if (resp->status == 0 || resp->status == 408 || resp->status == 429 ||
	    resp->status >= 500) {
		if (resp->status != 429)
			source_mastodon_backoff(m);
		if (resp->error != NULL)
			log_warn("source %s: %s: backfill: %s; retrying",
			    m->src->name, key, resp->error);
		else
			log_warn("source %s: %s: backfill: HTTP %ld; retrying",
			    m->src->name, key, resp->status);
		return;
	}
	/* 401, 403, 404...: the token or the stream is wrong.  Its
	 * position stays where it is (the stream may not move it either),
	 * so nothing is skipped once the cause is fixed. */
	log_err("source %s: %s: backfill: HTTP %ld: %.200s", m->src->name,
	    key, resp->status, resp->body);
	m->st[req->stream].failed = true;
	m->backfill++;
}

/* What a request of the current pass brought. */
static void
source_mastodon_answer(struct source_mastodon *m,
    const struct source_mastodon_req *req, const struct http_response *resp)
{
	char	*newest = NULL, *cause = NULL;
	size_t	 n = 0;

	if (resp->status != 200) {
		source_mastodon_failed(m, req, resp);
		return;
	}
	if (source_mastodon_page_scan(resp, &n, &newest, &cause) != 0) {
		log_warn("source %s: %s", m->src->name, cause);
		free(cause);
		source_mastodon_backoff(m);
		return;
	}
	m->failures = 0;
	if (req->fresh)
		source_mastodon_fresh(m, req->stream, newest);
	else
		source_mastodon_page(m, req, resp, n, newest);
	free(newest);
}

static void
source_mastodon_done(void *arg, const struct http_response *resp)
{
	struct source_mastodon_req	*req = arg;
	struct source_mastodon		*m = req->m;

	if (m == NULL || resp->aborted) {
		/* Stopped: m may be gone; never touch it. */
		if (m != NULL)
			m->req = NULL;
		free(req);
		return;
	}
	m->req = NULL;
	source_mastodon_rate(m, resp);
	/* A stale answer (a new pass began meanwhile) only counts for its
	 * rate-limit headers. */
	if (!req->stale)
		source_mastodon_answer(m, req, resp);
	free(req);
	if (!m->stopped)
		source_mastodon_backfill_next(m);
}

static void
source_mastodon_request(struct source_mastodon *m, size_t i)
{
	const struct source_mastodon_settings	*ms;
	const struct source_mastodon_stream	*s;
	struct source_mastodon_req		*req = xcalloc(1, sizeof(*req));
	struct http_request			 r;
	struct buf				 url;

	ms = source_mastodon_settings(m);
	s = &ms->streams[i];
	req->m = m;
	req->stream = i;
	req->fresh = m->st[i].last == NULL;
	req->limit = ms->page_size;
	if (s->kind != SOURCE_MASTODON_NOTIFICATIONS &&
	    req->limit > SOURCE_MASTODON_TIMELINE_MAX)
		req->limit = SOURCE_MASTODON_TIMELINE_MAX;
	if (m->st[i].narrow_until != NULL && !req->fresh &&
	    mastodon_id_cmp(m->st[i].last, m->st[i].narrow_until) >= 0) {
		free(m->st[i].narrow_until);
		m->st[i].narrow_until = NULL;
	}
	if (req->fresh || m->st[i].narrow_until != NULL)
		req->limit = 1;
	buf_init(&url);
	buf_printf(&url, "%s%s%c", ms->url, s->path,
	    strchr(s->path, '?') ? '&' : '?');
	/* min_id pages forward from the id, oldest first; since_id would
	 * silently skip all but the newest page of a long gap. */
	if (!req->fresh)
		buf_printf(&url, "min_id=%s&", m->st[i].last);
	buf_printf(&url, "limit=%lld", req->limit);
	http_request_init(&r);
	r.method = "GET";
	r.url = buf_steal(&url);
	strv_take(&r.headers, xasprintf("Authorization: Bearer %s",
	    ms->token));
	strv_add(&r.headers, "Accept: application/json");
	log_debug("source %s: GET %s", m->src->name, r.url);
	if (http_start(m->src->app->http, &r,
	    SOURCE_MASTODON_HTTP_TIMEOUT_MS, source_mastodon_done, req) != 0) {
		log_warn("source %s: cannot start a request", m->src->name);
		free(req);
		source_mastodon_backoff(m);
	} else
		m->req = req;
	http_request_clear(&r);
}

/* The next request of the backfill pass, when the rate limit allows. */
static void
source_mastodon_backfill_next(struct source_mastodon *m)
{
	int64_t	wait;

	if (m->stopped || !m->backfilling || m->req != NULL)
		return;
	if (m->backfill >= m->nst) {
		m->backfilling = false;
		log_info("source %s: backfill done: %zu posts", m->src->name,
		    m->backfilled);
		return;
	}
	wait = m->not_before_ms - now_mono_ms();
	if (wait <= 0) {
		source_mastodon_request(m, m->backfill);
		if (m->req != NULL)
			return;
		wait = m->not_before_ms - now_mono_ms();	/* backoff */
	}
	uv_timer_start(&m->timer, source_mastodon_timer_cb,
	    (uint64_t)(wait > 0 ? wait : 1), 0);
}

/*
 * Read every stream from its last id, again: at start and whenever a
 * connection opens, since the stream has no cursor and misses what
 * happened while it was down.  Until a stream's pass ends, only its
 * backfill moves its position.
 */
static void
source_mastodon_backfill_begin(struct source_mastodon *m)
{
	size_t	i;

	/* A request in flight was sent before this connection: its answer
	 * is ignored but awaited, so that requests never overlap and its
	 * rate-limit headers still count. */
	if (m->req != NULL)
		m->req->stale = true;
	uv_timer_stop(&m->timer);
	for (i = 0; i < m->nst; i++)
		m->st[i].caught_up = m->st[i].failed = false;
	m->backfill = 0;
	m->backfilled = 0;
	m->backfilling = true;
	m->failures = 0;
	if (m->src->app->http == NULL) {
		log_err("source %s: no HTTP client: no backfill",
		    m->src->name);
		m->backfilling = false;
		return;
	}
	source_mastodon_backfill_next(m);
}

/* stream[1] of an envelope (the tag or list id), or NULL.  Caller
 * frees.  Only needed when several tags or lists share a stream name. */
static char *
source_mastodon_stream_arg(const char *buf, size_t len)
{
	json_t	*o;
	char	*out;

	o = json_loadb(buf, len, 0, NULL);
	out = xstrdup(json_string_value(json_array_get(json_object_get(o,
	    "stream"), 1)));
	json_decref(o);
	return out;
}

/* Which configured stream a streamed event came from, or -1. */
static ssize_t
source_mastodon_stream_of(const struct source_mastodon *m,
    const struct mastodon_event *ev, const char *buf, size_t len)
{
	const struct source_mastodon_settings	*ms;
	const struct source_mastodon_stream	*s;
	enum source_mastodon_kind		 kind;
	size_t					 i, same = 0;
	ssize_t					 found = -1;
	char					*arg = NULL;

	ms = source_mastodon_settings(m);
	if (ev->stream == NULL)
		return -1;
	if (strcmp(ev->stream, "user:notification") == 0 ||
	    strcmp(ev->stream, "user") == 0)
		kind = SOURCE_MASTODON_NOTIFICATIONS;
	else if (strcmp(ev->stream, "hashtag") == 0)
		kind = SOURCE_MASTODON_HASHTAG;
	else if (strcmp(ev->stream, "list") == 0)
		kind = SOURCE_MASTODON_LIST;
	else
		kind = SOURCE_MASTODON_PUBLIC;
	for (i = 0; i < ms->nstreams; i++) {
		s = &ms->streams[i];
		if (s->kind == kind && (kind != SOURCE_MASTODON_PUBLIC ||
		    strcmp(s->name, ev->stream) == 0)) {
			same++;
			found = (ssize_t)i;
		}
	}
	if (same <= 1 || (kind != SOURCE_MASTODON_HASHTAG &&
	    kind != SOURCE_MASTODON_LIST))
		return found;
	arg = source_mastodon_stream_arg(buf, len);
	found = -1;
	for (i = 0; arg != NULL && i < ms->nstreams; i++)
		if (ms->streams[i].kind == kind &&
		    strcasecmp(ms->streams[i].arg, arg) == 0)
			found = (ssize_t)i;
	free(arg);
	return found;
}

/*
 * Mastodon sends an event once per subscription that carries it, so an
 * edit or a deletion of a status on two watched streams comes twice in
 * a row.  The core drops repeated posts, but would note a change twice:
 * remember the last few changes.  True if ev repeats one of them.
 */
static bool
source_mastodon_repeat(struct source_mastodon *m,
    const struct mastodon_event *ev)
{
	const unsigned char	*p;
	uint32_t		 h = 2166136261u;	/* FNV-1a */
	char			*key;
	size_t			 i;

	if (ev->kind == MASTODON_DELETE)
		key = xasprintf("d %s", ev->id);
	else if (ev->kind == MASTODON_EDIT) {
		for (p = (const unsigned char *)ev->post->text; *p; p++)
			h = (h ^ *p) * 16777619u;
		key = xasprintf("e %s %08x", ev->post->id, (unsigned)h);
	} else
		return false;
	for (i = 0; i < SOURCE_MASTODON_RECENT; i++) {
		if (m->recent[i] != NULL && strcmp(m->recent[i], key) == 0) {
			free(key);
			return true;
		}
	}
	free(m->recent[m->recent_next]);
	m->recent[m->recent_next] = key;
	m->recent_next = (m->recent_next + 1) % SOURCE_MASTODON_RECENT;
	return false;
}

static void
source_mastodon_message(void *arg, const char *buf, size_t len, bool binary)
{
	struct source_mastodon			*m = arg;
	const struct source_mastodon_settings	*ms;
	struct mastodon_event			 ev;
	ssize_t					 i = -1;
	char					*cause = NULL;
	bool					 moved = false;
	const char				*id;

	ms = source_mastodon_settings(m);
	if (binary) {
		app_bad_frame(m->src->app, m->src, "binary frame");
		return;
	}
	memset(&ev, 0, sizeof(ev));
	if (mastodon_parse_message(buf, len, ms->host, &ev, &cause) != 0) {
		/* A refused subscription (a list that is not the account's)
		 * comes this way, and someone must fix the configuration. */
		if (strncmp(cause, "stream error", 12) == 0)
			log_warn("source %s: %s", m->src->name, cause);
		app_bad_frame(m->src->app, m->src, cause);
		free(cause);
		return;
	}
	/* Only a new post moves a position (edits and deletions name old
	 * ids), and only once the stream's backfill has caught up:
	 * before that, an id from the stream could jump a gap. */
	if (ev.kind == MASTODON_STATUS)
		i = source_mastodon_stream_of(m, &ev, buf, len);
	if (i >= 0 && m->st[i].caught_up) {
		id = ms->streams[i].kind == SOURCE_MASTODON_NOTIFICATIONS ?
		    ev.notification_id : ev.status_id;
		moved = source_mastodon_advance(m, (size_t)i, id);
	}
	source_mastodon_ingest(m, source_mastodon_repeat(m, &ev) ? NULL : &ev,
	    moved);
	mastodon_event_clear(&ev);
}

static void
source_mastodon_oversize(void *arg, size_t len)
{
	struct source_mastodon	*m = arg;

	app_oversize_frame(m->src->app, m->src, len);
}

static char *
source_mastodon_url(void *arg)
{
	struct source_mastodon	*m = arg;

	return xstrdup(source_mastodon_settings(m)->streaming_url);
}

/* The token goes in a header: in the URL it would end up in logs. */
static void
source_mastodon_headers(void *arg, struct strv *out)
{
	struct source_mastodon	*m = arg;

	strv_take(out, xasprintf("Authorization: Bearer %s",
	    source_mastodon_settings(m)->token));
}

/* Subscribe to every stream, then read what the stream missed. */
static void
source_mastodon_opened(void *arg)
{
	struct source_mastodon			*m = arg;
	const struct source_mastodon_settings	*ms;
	size_t					 i;

	ms = source_mastodon_settings(m);
	for (i = 0; i < ms->nstreams; i++)
		ws_send(m->ws, ms->streams[i].subscribe,
		    strlen(ms->streams[i].subscribe));
	source_mastodon_backfill_begin(m);
}

static void
source_mastodon_closed(void *arg, const char *reason)
{
	struct source_mastodon	*m = arg;

	(void)reason;
	app_source_closed(m->src->app, m->src);
}

static const struct ws_callbacks source_mastodon_ws_callbacks = {
	.url = source_mastodon_url,
	.headers = source_mastodon_headers,
	.opened = source_mastodon_opened,
	.message = source_mastodon_message,
	.oversize = source_mastodon_oversize,
	.closed = source_mastodon_closed,
};

static int
source_mastodon_start(struct source *src, char **cause)
{
	const struct source_mastodon_settings	*ms = src->conf->settings;
	struct source_mastodon			*m = xcalloc(1, sizeof(*m));
	struct ws_params			 p;

	(void)cause;
	m->src = src;
	m->nst = ms->nstreams;
	m->st = xcalloc(m->nst + 1, sizeof(*m->st));
	source_mastodon_cursor_load(m);
	uv_timer_init(&src->app->loop, &m->timer);
	m->timer.data = m;
	source_ws_params(src, &ms->ws, &p);
	m->ws = ws_new(src->app->lws, &src->app->loop, &p,
	    &source_mastodon_ws_callbacks, m);
	src->data = m;
	log_info("source %s: watching %zu streams on %s", src->name,
	    ms->nstreams, ms->host);
	ws_start(m->ws);
	source_mastodon_backfill_begin(m);
	return 0;
}

static void
source_mastodon_timer_closed(uv_handle_t *h)
{
	struct source_mastodon	*m = h->data;
	size_t			 i;

	for (i = 0; i < m->nst; i++) {
		free(m->st[i].last);
		free(m->st[i].narrow_until);
	}
	for (i = 0; i < SOURCE_MASTODON_RECENT; i++)
		free(m->recent[i]);
	free(m->st);
	free(m);
}

/* m itself lives until its timer is closed, so code that called into
 * the core may still look at m->stopped. */
static void
source_mastodon_stop(struct source *src)
{
	struct source_mastodon	*m = src->data;

	if (m == NULL)
		return;
	m->stopped = true;
	if (m->req != NULL) {
		m->req->m = NULL;	/* a late answer does nothing */
		m->req = NULL;
	}
	ws_free(m->ws);
	m->ws = NULL;
	uv_timer_stop(&m->timer);
	uv_close((uv_handle_t *)&m->timer, source_mastodon_timer_closed);
	src->data = NULL;
}

static bool
source_mastodon_connected(struct source *src)
{
	struct source_mastodon	*m = src->data;

	return m != NULL && ws_connected(m->ws);
}

const struct source_ops source_mastodon_ops = {
	.type = "mastodon",
	.keys = source_mastodon_keys,
	.configure = source_mastodon_configure,
	.settings_free = source_mastodon_settings_free,
	.start = source_mastodon_start,
	.stop = source_mastodon_stop,
	.connected = source_mastodon_connected,
};
