/*
 * The Nostr source: one websocket per relay, each subscribed with a
 * NIP-01 REQ for the brand's keys, hashtags and authors; every event is
 * checked (id and BIP-340 signature) before the core sees it, and the
 * newest created_at handed to the core is the resume cursor.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "log.h"
#include "nostr.h"
#include "source.h"
#include "text.h"
#include "ws.h"

#define NOSTR_DEFAULT_WEB	"https://njump.me/"
#define NOSTR_MAX_RELAYS	50
/* Keys, hashtags or authors per filter. */
#define NOSTR_MAX_LIST		1000
#define NOSTR_MAX_KINDS		100
/* An event dated further ahead than this has a wrong (or forged) clock:
 * it is routed but never becomes the cursor, or a restart would ask
 * relays only for events after it and skip every real one before. */
#define NOSTR_FUTURE_S		900
/* Longest relay message shown in a log line. */
#define NOSTR_LOG_MAX		200

struct nostr_settings {
	struct strv			 relays;
	/* Keys as 64 lower-case hex; hashtags lower-case, no '#'. */
	struct strv			 mentions;
	struct strv			 hashtags;
	struct strv			 authors;
	long long			*kinds;
	size_t				 nkinds;
	long long			 since_margin_s;
	long long			 initial_lookback_s;
	bool				 verify;
	char				*web_url;
	struct source_ws_settings	 ws;
};

struct nostr_source;

/* One relay connection and its subscription. */
struct nostr_relay {
	struct nostr_source	*ns;
	char			*url;
	struct ws		*ws;
	bool			 subscribed;	/* REQ out, no CLOSED */
	bool			 caught_up;	/* sent all it stored */
	bool			 paging;	/* asking for older ones */
	unsigned		 refusals;	/* CLOSED in a row: backoff */
	/* The since of the next REQ on this relay, before the cursor
	 * is taken into account: where this relay was last known to have
	 * sent us everything it had. */
	int64_t			 since;
	/* The stored events of this connection: asked since req_since
	 * (and until, once paging); the current answer brought stored
	 * events, the oldest dated oldest. */
	int64_t			 req_since;
	int64_t			 until;
	size_t			 stored;
	int64_t			 oldest;
	uv_timer_t		 resubscribe;
};

struct nostr_source {
	struct source			*src;
	char				*name;		/* copy */
	char				*sub_id;	/* live */
	char				*page_id;	/* older */
	struct nostr_relay		*relays;
	size_t				 nrelays;
	int64_t				 cursor;	/* 0: none yet */
	int64_t				 newest;	/* handed on */
	bool				 stopped;
	int				 open_handles;
};

static const char *const nostr_keys[] = {
	"relays", "mentions", "hashtags", "authors", "kinds", "since_margin",
	"initial_lookback", "verify", "web_url", SOURCE_WS_KEYS, NULL
};

/* The settings now: a reload that keeps this source swaps its config
 * (src->conf) under it, so they are never cached. */
static const struct nostr_settings *
nostr_conf(const struct nostr_source *ns)
{
	return ns->src->conf->settings;
}

static void
nostr_settings_free(void *p)
{
	struct nostr_settings	*s = p;

	if (s == NULL)
		return;
	strv_free(&s->relays);
	strv_free(&s->mentions);
	strv_free(&s->hashtags);
	strv_free(&s->authors);
	free(s->kinds);
	free(s->web_url);
	free(s);
}

/* Item i of list s, or s itself when it is a single value. */
static const config_setting_t *
nostr_item(const config_setting_t *s, size_t i)
{
	if (config_setting_is_array(s) || config_setting_is_list(s))
		return config_setting_get_elem(s, (unsigned int)i);
	return s;
}

static size_t
nostr_items(const config_setting_t *s)
{
	if (config_setting_is_array(s) || config_setting_is_list(s))
		return (size_t)config_setting_length(s);
	return 1;
}

/* Relay URLs: wss:// (ws:// to loopback), no duplicates, 1..50. */
static void
nostr_configure_relays(const config_setting_t *g, struct nostr_settings *s,
    struct cfg_errors *errs)
{
	const config_setting_t	*list;
	struct strv		 raw;
	size_t			 i;

	list = config_setting_get_member(g, "relays");
	strv_init(&raw);
	if (cfg_strv(g, "relays", CFG_REQUIRED, &raw, errs) != 1) {
		strv_free(&raw);
		return;
	}
	if (raw.n == 0 || raw.n > NOSTR_MAX_RELAYS)
		cfg_error(errs, list, "needs 1 to %d relay URLs",
		    NOSTR_MAX_RELAYS);
	for (i = 0; i < raw.n; i++) {
		if (!url_scheme_ok(raw.v[i], "wss", "ws"))
			cfg_error(errs, nostr_item(list, i), "\"%s\": must be "
			    "wss://, or ws:// to a loopback address",
			    raw.v[i]);
		else if (strv_contains(&s->relays, raw.v[i]))
			cfg_error(errs, nostr_item(list, i),
			    "\"%s\" is listed twice", raw.v[i]);
		else
			strv_add(&s->relays, raw.v[i]);
	}
	strv_free(&raw);
}

/* Public keys as 64 lower-case hex, from hex or npub. */
static void
nostr_configure_keys(const config_setting_t *g, const char *key,
    struct strv *out, struct cfg_errors *errs)
{
	const config_setting_t	*list = config_setting_get_member(g, key);
	struct strv		 raw;
	char			 hex[65];
	size_t			 i;

	strv_init(&raw);
	if (cfg_strv(g, key, 0, &raw, errs) == 1 && raw.n > NOSTR_MAX_LIST)
		cfg_error(errs, list, "at most %d keys", NOSTR_MAX_LIST);
	for (i = 0; i < raw.n; i++) {
		if (strncmp(raw.v[i], "nsec1", 5) == 0)
			/* Not echoed: it is somebody's private key. */
			cfg_error(errs, nostr_item(list, i), "a secret key "
			    "(nsec1...): give the public key (npub1...), and "
			    "keep the secret one out of config files");
		else if (nostr_key_hex(raw.v[i], hex) != 0)
			cfg_error(errs, nostr_item(list, i), "\"%s\" is not "
			    "a public key (64 hex digits or npub1...)",
			    raw.v[i]);
		else if (!strv_contains(out, hex))
			strv_add(out, hex);
	}
	strv_free(&raw);
}

static void
nostr_configure_hashtags(const config_setting_t *g, struct nostr_settings *s,
    struct cfg_errors *errs)
{
	const config_setting_t	*list = config_setting_get_member(g,
				    "hashtags");
	struct strv		 raw;
	char			*tag;
	size_t			 i;

	strv_init(&raw);
	if (cfg_strv(g, "hashtags", 0, &raw, errs) == 1 &&
	    raw.n > NOSTR_MAX_LIST)
		cfg_error(errs, list, "at most %d hashtags", NOSTR_MAX_LIST);
	for (i = 0; i < raw.n; i++) {
		/* Clients put t tags in lower case, without the '#'. */
		tag = text_lower_str(raw.v[i][0] == '#' ? raw.v[i] + 1 :
		    raw.v[i]);
		if (*tag == '\0' || strpbrk(tag, " \t\r\n#") != NULL)
			cfg_error(errs, nostr_item(list, i), "must be one tag, "
			    "like \"acme\" or \"#acme\"");
		else if (!strv_contains(&s->hashtags, tag))
			strv_add(&s->hashtags, tag);
		free(tag);
	}
	strv_free(&raw);
}

/* kinds: an integer or a list of integers in 0..65535, default [1]. */
static void
nostr_configure_kinds(const config_setting_t *g, struct nostr_settings *s,
    struct cfg_errors *errs)
{
	const config_setting_t	*list;
	const config_setting_t	*e;
	long long		 k;
	size_t			 i, j, n;

	list = config_setting_get_member(g, "kinds");
	if (list == NULL) {
		s->kinds = xcalloc(1, sizeof(*s->kinds));
		s->kinds[0] = 1;
		s->nkinds = 1;
		return;
	}
	n = nostr_items(list);
	if (n == 0 || n > NOSTR_MAX_KINDS) {
		cfg_error(errs, list, "needs 1 to %d kinds", NOSTR_MAX_KINDS);
		return;
	}
	s->kinds = xcalloc(n, sizeof(*s->kinds));
	for (i = 0; i < n; i++) {
		e = nostr_item(list, i);
		if (config_setting_type(e) != CONFIG_TYPE_INT &&
		    config_setting_type(e) != CONFIG_TYPE_INT64) {
			cfg_error(errs, e, "kinds must be integers "
			    "(0..65535)");
			continue;
		}
		k = config_setting_get_int64(e);
		if (k < 0 || k > 65535) {
			cfg_error(errs, e, "kind %lld out of range 0..65535",
			    k);
			continue;
		}
		for (j = 0; j < s->nkinds && s->kinds[j] != k; j++)
			;
		if (j == s->nkinds)
			s->kinds[s->nkinds++] = k;
	}
}

static int
nostr_configure(struct source_conf *sc, const config_setting_t *g,
    struct cfg_errors *errs)
{
	struct nostr_settings	*s = xcalloc(1, sizeof(*s));
	size_t			 before = errs->msgs.n, watch, n;
	const char		*w;

	strv_init(&s->relays);
	strv_init(&s->mentions);
	strv_init(&s->hashtags);
	strv_init(&s->authors);
	sc->settings = s;
	nostr_configure_relays(g, s, errs);
	watch = errs->msgs.n;
	nostr_configure_keys(g, "mentions", &s->mentions, errs);
	nostr_configure_hashtags(g, s, errs);
	nostr_configure_keys(g, "authors", &s->authors, errs);
	if (errs->msgs.n == watch && s->mentions.n == 0 &&
	    s->hashtags.n == 0 && s->authors.n == 0)
		cfg_error(errs, g, "needs mentions, hashtags or authors: "
		    "watching every note on a relay is not brand monitoring");
	nostr_configure_kinds(g, s, errs);
	cfg_int(g, "since_margin", 0, 0, 86400, 600, &s->since_margin_s,
	    errs);
	cfg_int(g, "initial_lookback", 0, 0, 86400, 0,
	    &s->initial_lookback_s, errs);
	cfg_bool(g, "verify", 0, true, &s->verify, errs);
	if (cfg_string(g, "web_url", 0, NOSTR_DEFAULT_WEB, &s->web_url,
	    errs) == 1) {
		w = s->web_url;
		n = strlen(w);
		if ((strncmp(w, "https://", 8) != 0 &&
		    strncmp(w, "http://", 7) != 0) || n == 0 ||
		    strchr("/=?#", w[n - 1]) == NULL)
			cfg_error(errs, config_setting_get_member(g, "web_url"),
			    "must be an http(s):// URL ending in \"/\", \"=\", "
			    "\"?\" or \"#\" (the note id is appended)");
	}
	source_ws_configure(g, &s->ws, errs);
	return errs->msgs.n == before ? 0 : -1;
}

/* A relay's text made safe for one log line. */
static char *
nostr_clean(const char *s)
{
	struct buf	b;
	size_t		i;

	buf_init(&b);
	buf_adds(&b, "");
	for (i = 0; s != NULL && s[i] != '\0' && i < NOSTR_LOG_MAX; i++)
		buf_addc(&b, (unsigned char)s[i] < 0x20 || s[i] == 0x7f ?
		    '?' : s[i]);
	if (s != NULL && s[i] != '\0')
		buf_adds(&b, "...");
	return buf_steal(&b);
}

static json_t *
nostr_json_strv(const struct strv *sv)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < sv->n; i++)
		json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

static void
nostr_add_filter(json_t *req, const struct nostr_settings *s,
    const char *key, const struct strv *values, int64_t since,
    int64_t until)
{
	json_t	*f, *kinds;
	size_t	 i;

	if (values->n == 0)
		return;
	kinds = json_array();
	for (i = 0; i < s->nkinds; i++)
		json_array_append_new(kinds, json_integer(s->kinds[i]));
	f = json_object();
	json_object_set_new(f, "kinds", kinds);
	json_object_set_new(f, key, nostr_json_strv(values));
	json_object_set_new(f, "since", json_integer(since));
	if (until > 0)
		json_object_set_new(f, "until", json_integer(until));
	json_array_append_new(req, f);
}

/* ["REQ", sub, filter...]: one filter per watched list. */
static void
nostr_req(struct nostr_relay *r, const char *sub, int64_t since,
    int64_t until)
{
	const struct nostr_settings	*s = nostr_conf(r->ns);
	json_t				*req = json_array();
	char				*text;

	json_array_append_new(req, json_string("REQ"));
	json_array_append_new(req, json_string(sub));
	nostr_add_filter(req, s, "#p", &s->mentions, since, until);
	nostr_add_filter(req, s, "#t", &s->hashtags, since, until);
	nostr_add_filter(req, s, "authors", &s->authors, since, until);
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	ws_send(r->ws, text, strlen(text));
	free(text);
}

/*
 * The since of a REQ on r: from where this relay last had sent us
 * everything, and never after the cursor (less the margin), so an event
 * only this relay has is not skipped because another relay moved the
 * cursor while this one was away.
 */
static int64_t
nostr_since(const struct nostr_relay *r)
{
	const struct nostr_source	*ns = r->ns;
	int64_t				 since = r->since, c;

	if (ns->cursor > 0) {
		c = ns->cursor - nostr_conf(ns)->since_margin_s;
		if (c < since)
			since = c;
	}
	return since > 0 ? since : 0;
}

static void
nostr_subscribe(struct nostr_relay *r)
{
	int64_t	since = nostr_since(r);

	log_info("source %s: subscribing on %s since %lld", r->ns->name,
	    r->url, (long long)since);
	nostr_req(r, r->ns->sub_id, since, 0);
	r->subscribed = true;
	r->caught_up = false;
	r->paging = false;
	r->req_since = since;
	r->until = INT64_MAX;
	r->stored = 0;
	r->oldest = INT64_MAX;
}

/* Whether a connected relay is still sending what it had stored. */
static bool
nostr_catching_up(const struct nostr_source *ns)
{
	size_t	i;

	for (i = 0; i < ns->nrelays; i++)
		if (ns->relays[i].subscribed && !ns->relays[i].caught_up)
			return true;
	return false;
}

/*
 * Whether the saved cursor may become the newest created_at handed on
 * (and become it).  Not while a relay is still sending stored events:
 * they come newest first, so a crash in between would resume after
 * the older ones it had not sent yet.
 */
static bool
nostr_advance(struct nostr_source *ns, char buf[32])
{
	if (ns->newest <= ns->cursor || nostr_catching_up(ns))
		return false;
	ns->cursor = ns->newest;
	snprintf(buf, 32, "%lld", (long long)ns->cursor);
	return true;
}

/*
 * A REQ's stored events are all in (EOSE).  Relays cap what one REQ
 * returns, newest first: while an answer brought events older than the
 * last, ask for those older still, else this relay has caught up.
 */
static void
nostr_stored_done(struct nostr_relay *r)
{
	struct nostr_source	*ns = r->ns;
	struct ingest		 in;
	char			 cursor[32], close[128];

	if (r->stored > 0 && r->oldest > r->req_since &&
	    r->oldest < r->until) {
		log_debug("source %s: asking %s for events older than %lld",
		    ns->name, r->url, (long long)r->oldest);
		r->until = r->oldest;
		r->stored = 0;
		r->oldest = INT64_MAX;
		r->paging = true;
		nostr_req(r, ns->page_id, r->req_since, r->until);
		return;
	}
	if (r->paging) {
		snprintf(close, sizeof(close), "[\"CLOSE\",\"%s\"]",
		    ns->page_id);
		ws_send(r->ws, close, strlen(close));
	}
	r->paging = false;
	r->caught_up = true;
	log_debug("source %s: %s sent all it had stored", ns->name, r->url);
	if (nostr_advance(ns, cursor)) {
		memset(&in, 0, sizeof(in));
		in.cursor = cursor;
		app_ingest(ns->src->app, ns->src, &in);
	}
}

static void
nostr_resubscribe_cb(uv_timer_t *t)
{
	struct nostr_relay	*r = t->data;

	if (!r->ns->stopped && ws_connected(r->ws) && !r->subscribed)
		nostr_subscribe(r);
}

static char *
nostr_url(void *arg)
{
	struct nostr_relay	*r = arg;

	return xstrdup(r->url);
}

static void
nostr_opened(void *arg)
{
	struct nostr_relay	*r = arg;

	r->refusals = 0;
	nostr_subscribe(r);
}

/* The subscription on r ended (CLOSED, or the connection). */
static void
nostr_lost(struct nostr_relay *r)
{
	/* A relay that had caught up had given us all it stored, and
	 * every later event live: ask it again only for what came in from
	 * now on, less the margin for clocks. */
	if (r->caught_up)
		r->since = now_wall_ms() / 1000 -
		    nostr_conf(r->ns)->since_margin_s;
	r->subscribed = false;
	r->caught_up = false;
	r->paging = false;
}

static void
nostr_closed(void *arg, const char *reason)
{
	struct nostr_relay	*r = arg;

	(void)reason;
	uv_timer_stop(&r->resubscribe);
	nostr_lost(r);
	app_source_closed(r->ns->src->app, r->ns->src);
}

/* Whether ev is what this source asked for: a relay may ignore filters
 * (many do not index #t), and the rules downstream should only see
 * what the subscription describes. */
static bool
nostr_wanted(const struct nostr_settings *s, const json_t *ev)
{
	const json_t	*tags, *tag;
	const char	*name, *value;
	char		*lower;
	bool		 hit = false;
	long long	 kind;
	size_t		 i;

	kind = json_integer_value(json_object_get(ev, "kind"));
	for (i = 0; i < s->nkinds && s->kinds[i] != kind; i++)
		;
	if (i == s->nkinds)
		return false;
	value = json_string_value(json_object_get(ev, "pubkey"));
	if (value != NULL && strv_contains(&s->authors, value))
		return true;
	tags = json_object_get(ev, "tags");
	json_array_foreach(tags, i, tag) {
		name = json_string_value(json_array_get(tag, 0));
		value = json_string_value(json_array_get(tag, 1));
		if (name == NULL || value == NULL || name[0] == '\0' ||
		    name[1] != '\0')
			continue;
		if (name[0] == 'p' && strv_contains(&s->mentions, value))
			return true;
		if (name[0] == 't' && s->hashtags.n > 0) {
			lower = text_lower_str(value);
			hit = strv_contains(&s->hashtags, lower);
			free(lower);
			if (hit)
				return true;
		}
	}
	return false;
}

/* A genuine (or trusted) event: hand it to the core. */
static void
nostr_ingest(struct nostr_relay *r, const json_t *ev)
{
	struct nostr_source	*ns = r->ns;
	struct ingest		 in;
	struct post		*p;
	json_int_t		 created, now;
	char			*cause = NULL, cursor[32];

	p = nostr_event_post(ev, nostr_conf(ns)->web_url, &cause);
	if (p == NULL) {
		app_bad_frame(ns->src->app, ns->src, cause ? cause :
		    "unusable event");
		free(cause);
		return;
	}
	memset(&in, 0, sizeof(in));
	in.post = p;
	created = json_integer_value(json_object_get(ev, "created_at"));
	now = now_wall_ms() / 1000;
	if (created > now + NOSTR_FUTURE_S)
		log_info("source %s: event %s from %s is dated %lld, in the "
		    "future: routed, but not taken as the cursor", ns->name,
		    p->id, r->url, (long long)created);
	else {
		/* A clock a little ahead moves the cursor only to now:
		 * relays apply since to live events too, so a cursor in
		 * the future would hide what is posted until then. */
		if (created > now)
			created = now;
		if (created > ns->newest)
			ns->newest = created;
		if (nostr_advance(ns, cursor))
			in.cursor = cursor;
	}
	app_ingest(ns->src->app, ns->src, &in);
}

static void
nostr_event(struct nostr_relay *r, struct nostr_msg *m)
{
	struct nostr_source		*ns = r->ns;
	const struct nostr_settings	*s = nostr_conf(ns);
	char				*cause = NULL, *why;
	json_t				*created;
	bool				 live, page;

	live = m->sub_id != NULL && strcmp(m->sub_id, ns->sub_id) == 0;
	page = m->sub_id != NULL && strcmp(m->sub_id, ns->page_id) == 0;
	if (!live && !page) {
		why = nostr_clean(m->sub_id);
		cause = xasprintf("event for unknown subscription \"%s\"",
		    why);
		app_bad_frame(ns->src->app, ns->src, cause);
		free(why);
		free(cause);
		return;
	}
	created = json_object_get(m->event, "created_at");
	if (!json_is_integer(created) ||
	    !json_is_integer(json_object_get(m->event, "kind"))) {
		app_bad_frame(ns->src->app, ns->src,
		    "event without an integer created_at and kind");
		return;
	}
	/* What counts against the relay's cap on one answer: anything it
	 * sends before EOSE, wanted or not. */
	if ((live && !r->caught_up && !r->paging) || (page && r->paging)) {
		r->stored++;
		if (json_integer_value(created) < r->oldest)
			r->oldest = json_integer_value(created);
	}
	if (!nostr_wanted(s, m->event)) {
		app_bad_frame(ns->src->app, ns->src,
		    "event outside the subscription's filters");
		return;
	}
	if (s->verify && nostr_verify(m->event, &cause) != 0) {
		why = xasprintf("forged or malformed event from %s: %s",
		    r->url, cause ? cause : "invalid");
		app_bad_frame(ns->src->app, ns->src, why);
		free(why);
		free(cause);
		return;
	}
	nostr_ingest(r, m->event);
}

static bool
nostr_prefix(const char *msg, const char *prefix)
{
	return msg != NULL && strncmp(msg, prefix, strlen(prefix)) == 0;
}

static void
nostr_refused(struct nostr_relay *r, const char *msg)
{
	const struct nostr_settings	*s = nostr_conf(r->ns);
	char				*clean = nostr_clean(msg);
	uint64_t			 delay, cap;
	unsigned			 shift;

	nostr_lost(r);
	if (nostr_prefix(msg, "auth-required:") ||
	    nostr_prefix(msg, "restricted:")) {
		/* NIP-42 authentication is not implemented: asking again
		 * would be refused again.  The next connection retries. */
		log_warn("source %s: %s refused the subscription: \"%s\"; "
		    "not retrying on this connection", r->ns->name, r->url,
		    clean);
		free(clean);
		return;
	}
	shift = r->refusals < 20 ? r->refusals : 20;
	cap = (uint64_t)s->ws.reconnect_max_ms;
	delay = (uint64_t)s->ws.reconnect_min_ms << shift;
	if (delay > cap)
		delay = cap;
	delay = delay / 2 + (uint64_t)(random_unit() * (double)(delay / 2));
	r->refusals++;
	log_warn("source %s: %s closed the subscription: \"%s\"; "
	    "subscribing again in %llu ms", r->ns->name, r->url, clean,
	    (unsigned long long)delay);
	free(clean);
	uv_timer_start(&r->resubscribe, nostr_resubscribe_cb, delay, 0);
}

static void
nostr_message(void *arg, const char *buf, size_t len, bool binary)
{
	struct nostr_relay	*r = arg;
	struct nostr_source	*ns = r->ns;
	struct nostr_msg	 m;
	char			*cause = NULL, *clean;

	if (binary) {
		app_bad_frame(ns->src->app, ns->src, "binary frame");
		return;
	}
	if (nostr_parse_message(buf, len, &m, &cause) != 0) {
		app_bad_frame(ns->src->app, ns->src, cause ? cause :
		    "malformed relay message");
		free(cause);
		return;
	}
	switch (m.kind) {
	case NOSTR_EVENT:
		nostr_event(r, &m);
		break;
	case NOSTR_EOSE:
		if (m.sub_id == NULL)
			break;
		if ((strcmp(m.sub_id, ns->sub_id) == 0 && r->subscribed &&
		    !r->caught_up && !r->paging) ||
		    (strcmp(m.sub_id, ns->page_id) == 0 && r->paging))
			nostr_stored_done(r);
		break;
	case NOSTR_CLOSED:
		if (m.sub_id != NULL && strcmp(m.sub_id, ns->sub_id) == 0)
			nostr_refused(r, m.message);
		else if (m.sub_id != NULL && r->paging &&
		    strcmp(m.sub_id, ns->page_id) == 0) {
			/* No older events then: take what came. */
			clean = nostr_clean(m.message);
			log_warn("source %s: %s refused older events: %s",
			    ns->name, r->url, clean);
			free(clean);
			r->stored = 0;
			nostr_stored_done(r);
		}
		break;
	case NOSTR_NOTICE:
		clean = nostr_clean(m.message);
		log_info("source %s: notice from %s: %s", ns->name, r->url,
		    clean);
		free(clean);
		break;
	case NOSTR_OK:
	case NOSTR_AUTH:
		clean = nostr_clean(m.message);
		log_info("source %s: %s from %s ignored (no NIP-42 "
		    "authentication): %s", ns->name, m.kind == NOSTR_OK ?
		    "OK" : "AUTH", r->url, clean);
		free(clean);
		break;
	case NOSTR_OTHER:
		app_bad_frame(ns->src->app, ns->src, "unknown relay message");
		break;
	}
	nostr_msg_clear(&m);
}

static void
nostr_oversize(void *arg, size_t len)
{
	struct nostr_relay	*r = arg;

	app_oversize_frame(r->ns->src->app, r->ns->src, len);
}

static const struct ws_callbacks nostr_ws_callbacks = {
	.url = nostr_url,
	.opened = nostr_opened,
	.message = nostr_message,
	.oversize = nostr_oversize,
	.closed = nostr_closed,
};

static int
nostr_start(struct source *src, char **cause)
{
	const struct nostr_settings	*s = src->conf->settings;
	struct nostr_source		*ns = xcalloc(1, sizeof(*ns));
	struct nostr_relay		*r;
	struct ws_params		 p;
	char				*saved, *end, *name;
	long long			 v;
	int64_t				 since;
	size_t				 i;

	(void)cause;
	ns->src = src;
	ns->name = xstrdup(src->name);
	ns->sub_id = xasprintf("sb-%s", src->name);
	ns->page_id = xasprintf("sb-%s/older", src->name);
	saved = store_cursor_get(src->app->store, src->name);
	if (saved != NULL) {
		v = strtoll(saved, &end, 10);
		if (*saved != '\0' && *end == '\0' && v > 0)
			ns->cursor = v;
		else
			log_warn("source %s: ignoring unusable cursor \"%s\"",
			    src->name, saved);
	}
	free(saved);
	ns->newest = ns->cursor;
	if (ns->cursor > 0)
		since = ns->cursor - s->since_margin_s;
	else
		since = now_wall_ms() / 1000 - s->initial_lookback_s;
	log_info("source %s: %zu relays, cursor %lld, asking from %lld",
	    src->name, s->relays.n, (long long)ns->cursor, (long long)since);
	ns->nrelays = s->relays.n;
	ns->relays = xcalloc(ns->nrelays, sizeof(*ns->relays));
	source_ws_params(src, &s->ws, &p);
	for (i = 0; i < ns->nrelays; i++) {
		r = &ns->relays[i];
		r->ns = ns;
		r->url = xstrdup(s->relays.v[i]);
		r->since = since;
		uv_timer_init(&src->app->loop, &r->resubscribe);
		r->resubscribe.data = r;
		ns->open_handles++;
		name = xasprintf("%s (%s)", src->name, r->url);
		p.name = name;
		r->ws = ws_new(src->app->lws, &src->app->loop, &p,
		    &nostr_ws_callbacks, r);
		free(name);
	}
	src->data = ns;
	for (i = 0; i < ns->nrelays; i++)
		ws_start(ns->relays[i].ws);
	return 0;
}

static void
nostr_free(struct nostr_source *ns)
{
	size_t	i;

	for (i = 0; i < ns->nrelays; i++)
		free(ns->relays[i].url);
	free(ns->relays);
	free(ns->sub_id);
	free(ns->page_id);
	free(ns->name);
	free(ns);
}

static void
nostr_timer_closed(uv_handle_t *h)
{
	struct nostr_relay	*r = h->data;
	struct nostr_source	*ns = r->ns;

	if (--ns->open_handles == 0)
		nostr_free(ns);
}

/* May run inside one of our own callbacks (a store failure stops every
 * source): memory goes once the timers are closed, later in the loop. */
static void
nostr_stop(struct source *src)
{
	struct nostr_source	*ns = src->data;
	size_t			 i;

	if (ns == NULL)
		return;
	src->data = NULL;
	ns->stopped = true;
	for (i = 0; i < ns->nrelays; i++) {
		ws_free(ns->relays[i].ws);
		ns->relays[i].ws = NULL;
		uv_timer_stop(&ns->relays[i].resubscribe);
		uv_close((uv_handle_t *)&ns->relays[i].resubscribe,
		    nostr_timer_closed);
	}
}

/* One relay is enough to receive: the others are for redundancy. */
static bool
nostr_connected(struct source *src)
{
	struct nostr_source	*ns = src->data;
	size_t			 i;

	for (i = 0; ns != NULL && i < ns->nrelays; i++)
		if (ws_connected(ns->relays[i].ws))
			return true;
	return false;
}

const struct source_ops source_nostr_ops = {
	.type = "nostr",
	.keys = nostr_keys,
	.configure = nostr_configure,
	.settings_free = nostr_settings_free,
	.start = nostr_start,
	.stop = nostr_stop,
	.connected = nostr_connected,
};
