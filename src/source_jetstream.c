/*
 * The Bluesky Jetstream source: subscribes to app.bsky.feed.post over a
 * websocket and resumes from the saved time_us cursor, rewound a few
 * seconds (duplicates from the rewind are dropped by post id).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "jetstream.h"
#include "log.h"
#include "source.h"
#include "ws.h"

#define JETSTREAM_DEFAULT_URL	"wss://jetstream2.us-east.bsky.network/subscribe"
/* Longer wanted_dids go in an options_update message: lws keeps the
 * handshake's request line in a 4 KiB header buffer. */
#define JETSTREAM_URL_DIDS_MAX	2048

struct jetstream_settings {
	char				*url;
	struct strv			 wanted_dids;
	long long			 rewind_s;
	struct source_ws_settings	 ws;
};

struct jetstream_source {
	struct source	*src;
	struct ws	*ws;
	int64_t		 cursor_us;	/* newest time_us handed to the core */
};

static const char *const jetstream_keys[] = {
	"url", "wanted_dids", "rewind", SOURCE_WS_KEYS, NULL
};

static void
jetstream_settings_free(void *p)
{
	struct jetstream_settings	*js = p;

	if (js == NULL)
		return;
	free(js->url);
	strv_free(&js->wanted_dids);
	free(js);
}

static int
jetstream_configure(struct source_conf *sc, const config_setting_t *g,
    struct cfg_errors *errs)
{
	struct jetstream_settings	*js = xcalloc(1, sizeof(*js));
	size_t				 before = errs->msgs.n;

	strv_init(&js->wanted_dids);
	sc->settings = js;
	if (cfg_string(g, "url", 0, JETSTREAM_DEFAULT_URL, &js->url,
	    errs) == 1 && !url_scheme_ok(js->url, "wss", "ws"))
		cfg_error(errs, config_setting_get_member(g, "url"),
		    "must be wss://, or ws:// to a loopback address");
	cfg_strv(g, "wanted_dids", 0, &js->wanted_dids, errs);
	if (js->wanted_dids.n > 10000)
		cfg_error(errs, config_setting_get_member(g, "wanted_dids"),
		    "at most 10000 (Jetstream's limit)");
	cfg_int(g, "rewind", 0, 0, 3600, 5, &js->rewind_s, errs);
	source_ws_configure(g, &js->ws, errs);
	return errs->msgs.n == before ? 0 : -1;
}

/* Whether the wanted DIDs are too many for the URL. */
static bool
jetstream_dids_in_hello(const struct jetstream_settings *js)
{
	size_t	i, len = 0;

	for (i = 0; i < js->wanted_dids.n; i++)
		len += strlen("&wantedDids=") + strlen(js->wanted_dids.v[i]);
	return len > JETSTREAM_URL_DIDS_MAX;
}

static char *
jetstream_next_url(void *arg)
{
	struct jetstream_source		*j = arg;
	const struct jetstream_settings	*js = j->src->conf->settings;
	int64_t				 from = 0;
	char				*url, *hello;

	if (j->cursor_us > 0) {
		from = j->cursor_us - js->rewind_s * 1000000;
		if (from < 1)
			from = 1;
		log_info("source %s: resuming from cursor %lld (rewound %llds)",
		    j->src->name, (long long)from, js->rewind_s);
	}
	if (!jetstream_dids_in_hello(js))
		return jetstream_url(js->url, &js->wanted_dids, from);
	/* Nothing comes until the options_update names the DIDs. */
	url = jetstream_url(js->url, NULL, from);
	hello = xasprintf("%s&requireHello=true", url);
	free(url);
	return hello;
}

/* Send the filters that did not fit in the URL. */
static void
jetstream_opened(void *arg)
{
	struct jetstream_source		*j = arg;
	const struct jetstream_settings	*js = j->src->conf->settings;
	json_t				*dids, *o;
	char				*msg;
	size_t				 i;

	if (!jetstream_dids_in_hello(js))
		return;
	dids = json_array();
	for (i = 0; i < js->wanted_dids.n; i++)
		json_array_append_new(dids, json_string(js->wanted_dids.v[i]));
	o = json_pack("{s:s, s:{s:[s], s:o}}", "type", "options_update",
	    "payload", "wantedCollections", "app.bsky.feed.post",
	    "wantedDids", dids);
	msg = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (msg == NULL) {
		log_err("source %s: cannot encode the wanted DIDs",
		    j->src->name);
		return;
	}
	ws_send(j->ws, msg, strlen(msg));
	free(msg);
}

static void
jetstream_message(void *arg, const char *buf, size_t len, bool binary)
{
	struct jetstream_source	*j = arg;

	if (binary) {
		app_bad_frame(j->src->app, j->src, "binary frame");
		return;
	}
	source_jetstream_frame(j->src, buf, len, &j->cursor_us, NULL);
}

static void
jetstream_oversize(void *arg, size_t len)
{
	struct jetstream_source	*j = arg;

	app_oversize_frame(j->src->app, j->src, len);
}

static void
jetstream_closed(void *arg, const char *reason)
{
	struct jetstream_source	*j = arg;

	(void)reason;
	app_source_closed(j->src->app, j->src);
}

static const struct ws_callbacks jetstream_ws_callbacks = {
	.url = jetstream_next_url,
	.opened = jetstream_opened,
	.message = jetstream_message,
	.oversize = jetstream_oversize,
	.closed = jetstream_closed,
};

static int
jetstream_start(struct source *src, char **cause)
{
	const struct jetstream_settings	*js = src->conf->settings;
	struct jetstream_source		*j = xcalloc(1, sizeof(*j));
	struct ws_params		 p;
	char				*saved;

	(void)cause;
	j->src = src;
	saved = store_cursor_get(src->app->store, src->name);
	if (saved != NULL)
		j->cursor_us = strtoll(saved, NULL, 10);
	free(saved);
	source_ws_params(src, &js->ws, &p);
	j->ws = ws_new(src->app->lws, &src->app->loop, &p,
	    &jetstream_ws_callbacks, j);
	src->data = j;
	ws_start(j->ws);
	return 0;
}

static void
jetstream_stop(struct source *src)
{
	struct jetstream_source	*j = src->data;

	if (j == NULL)
		return;
	ws_free(j->ws);
	free(j);
	src->data = NULL;
}

static bool
jetstream_connected(struct source *src)
{
	struct jetstream_source	*j = src->data;

	return j != NULL && ws_connected(j->ws);
}

void
source_jetstream_frame(struct source *src, const char *buf, size_t len,
    int64_t *max_time_us, const char *cursor)
{
	struct jetstream_event	 ev;
	struct ingest		 in;
	char			*cause = NULL, tmp[32];

	if (jetstream_parse(buf, len, &ev, &cause) != 0) {
		app_bad_frame(src->app, src, cause);
		free(cause);
		return;
	}
	if (max_time_us != NULL && ev.time_us > *max_time_us)
		*max_time_us = ev.time_us;
	if (cursor == NULL && max_time_us != NULL) {
		snprintf(tmp, sizeof(tmp), "%lld", (long long)*max_time_us);
		cursor = tmp;
	}
	memset(&in, 0, sizeof(in));
	in.cursor = cursor;
	switch (ev.kind) {
	case JETSTREAM_POST:
		in.post = ev.post;
		in.edited = ev.updated;
		ev.post = NULL;		/* the core takes it */
		break;
	case JETSTREAM_DELETE:
		in.platform = "bluesky";
		in.deleted = ev.id;
		break;
	case JETSTREAM_IDENTITY:
		in.author = ev.did;
		in.handle = ev.handle;
		break;
	case JETSTREAM_OTHER:
		break;
	}
	app_ingest(src->app, src, &in);
	jetstream_event_clear(&ev);
}

const struct source_ops source_jetstream_ops = {
	.type = "jetstream",
	.keys = jetstream_keys,
	.configure = jetstream_configure,
	.settings_free = jetstream_settings_free,
	.start = jetstream_start,
	.stop = jetstream_stop,
	.connected = jetstream_connected,
};
