/*
 * The daemon's core: the loop, the pipeline from a source's frame to
 * queued deliveries, signals, reload and an orderly stop.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cmd.h"
#include "http.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "outbox.h"
#include "pipeline.h"
#include "publish.h"
#include "socket_mode.h"
#include "storm.h"
#include "ws.h"

#define APP_RESTART_MS	1000	/* sources restart after a store error */

static void	app_finish(struct app *);
static void	app_store_failed(struct app *);

/* Commit the burst: what the sources handed us becomes durable together
 * with their cursors, and only then may the outbox send it. */
int
app_commit(struct app *app)
{
	struct source	*src;
	size_t		 i;
	int		 rc = 0;

	if (!store_in_transaction(app->store))
		return 0;
	/* A cursor is written once per burst, not once per frame. */
	for (i = 0; i < app->nsources; i++) {
		src = app->sources[i];
		if (src->pending_cursor != NULL && rc == 0)
			rc = store_cursor_set(app->store, src->name,
			    src->pending_cursor);
		free(src->pending_cursor);
		src->pending_cursor = NULL;
	}
	if (rc != 0 || store_commit(app->store) != 0) {
		app_store_failed(app);
		return -1;
	}
	app->dirty = false;
	app->store_failed_ms = 0;
	outbox_kick(app->outbox);
	return 0;
}

static void
app_commit_check(uv_check_t *c)
{
	struct app	*app = c->data;

	if (app->dirty)
		app_commit(app);
}

static void
app_sources_stop(struct app *app)
{
	size_t	i;

	for (i = 0; i < app->nsources; i++)
		app->sources[i]->ops->stop(app->sources[i]);
}

static int
app_source_start(struct source *src)
{
	char	*cause = NULL;

	if (src->ops->start(src, &cause) != 0) {
		log_err("source %s: %s", src->name, cause ? cause : "failed");
		free(cause);
		return -1;
	}
	return 0;
}

static void
app_restart_cb(uv_timer_t *t)
{
	struct app	*app = t->data;
	size_t		 i;

	if (app->stopping)
		return;
	log_notice("restarting sources from their saved cursors");
	/* A reload since the failure may have started new ones already:
	 * a second start would orphan the first, still running. */
	for (i = 0; i < app->nsources; i++)
		if (app->sources[i]->data == NULL)
			app_source_start(app->sources[i]);
}

/*
 * A write failed: undo the whole burst (posts and cursors together),
 * stop the sources and restart them from the committed cursors, so no
 * post is skipped.
 */
static void
app_store_failed(struct app *app)
{
	size_t	i;

	app->stats.store_errors++;
	/* The first failure of a streak: the watchdog measures from it. */
	if (app->store_failed_ms == 0)
		app->store_failed_ms = now_mono_ms();
	log_err("store: write failed; undoing this burst and re-reading it");
	store_rollback(app->store);
	app->dirty = false;
	for (i = 0; i < app->nsources; i++) {
		free(app->sources[i]->pending_cursor);
		app->sources[i]->pending_cursor = NULL;
	}
	app_sources_stop(app);
	uv_timer_start(&app->restart_timer, app_restart_cb, APP_RESTART_MS,
	    0);
}

/* Count a post a team got towards storms (README "Storms"). */
static int
app_count_storm(struct app *app, const struct post *p,
    const struct decision *d)
{
	int64_t	conv = 0;
	int	rc;

	/* Off, the lookup is spared; storms_count forgets any storm. */
	if (app->config->storms.alert_team != NULL) {
		rc = store_conversation_origin(app->store, p->platform,
		    post_root(p), &conv, NULL);
		if (rc != 1)
			return rc;
	}
	return storms_count(app->storms, &app->config->storms, app->store, p,
	    d->team, d->rule, conv);
}

static int
app_route_post(struct app *app, struct post *p)
{
	struct decision	d;
	int		rc;

	app->stats.posts++;
	rc = pipeline_post(app->store, app->router, p, &d);
	if (rc <= 0) {
		if (rc == 0)
			app->stats.duplicates++;
		return rc;
	}
	switch (d.action) {
	case ROUTE_IGNORE:
		app->stats.ignored++;
		break;
	case ROUTE_DROP:
		app->stats.dropped++;
		log_info("post %s dropped by %s", p->id, d.rule);
		break;
	case ROUTE_TEAM:
		app->stats.routed++;
		metrics_count(app->metrics, METRICS_ROUTED, d.team, d.rule, 1);
		log_info("post %s -> team %s (%s)", p->url ? p->url : p->id,
		    d.team, d.rule);
		return app_count_storm(app, p, &d);
	}
	return 0;
}

/* An author edited or deleted a post: tell the team that owns it. */
static int
app_note_change(struct app *app, const char *platform, const char *id,
    enum delivery_kind kind, struct post *edited)
{
	int	rc;

	rc = store_record_change(app->store, platform, id, kind, edited);
	if (rc == 1)
		log_info("post %s %s by its author; its team is told", id,
		    kind == DELIVERY_EDIT ? "edited" : "deleted");
	/* An edit of a post never recorded is routed as a new one. */
	if (rc == 0 && edited != NULL)
		return app_route_post(app, edited);
	return rc < 0 ? -1 : 0;
}

void
app_ingest(struct app *app, struct source *src, struct ingest *in)
{
	int	rc = 0;

	app->stats.frames++;
	metrics_count(app->metrics, METRICS_EVENTS, src->name, NULL, 1);
	/* A post dated ahead (a wrong clock) must not hide a real lag. */
	if (in->post != NULL && in->post->time_us > src->newest_us)
		src->newest_us = in->post->time_us < now_wall_us() ?
		    in->post->time_us : now_wall_us();
	if (app->stopping || store_begin(app->store) != 0) {
		post_free(in->post);
		if (!app->stopping)
			app_store_failed(app);
		return;
	}
	if (in->author != NULL && in->handle != NULL)
		rc = store_handle_set(app->store, in->author, in->handle);
	if (rc == 0 && in->deleted != NULL)
		rc = app_note_change(app, in->platform, in->deleted,
		    DELIVERY_DELETE, NULL);
	if (rc == 0 && in->post != NULL)
		rc = in->edited ? app_note_change(app, in->post->platform,
		    in->post->id, DELIVERY_EDIT, in->post) :
		    app_route_post(app, in->post);
	post_free(in->post);
	in->post = NULL;
	if (rc == 0 && in->cursor != NULL) {
		free(src->pending_cursor);
		src->pending_cursor = xstrdup(in->cursor);
	}
	if (rc != 0) {
		app_store_failed(app);
		return;
	}
	app->dirty = true;
}

void
app_bad_frame(struct app *app, struct source *src, const char *why)
{
	app->stats.frames++;
	app->stats.bad_frames++;
	metrics_count(app->metrics, METRICS_EVENTS, src->name, NULL, 1);
	metrics_count(app->metrics, METRICS_PARSE_ERRORS, src->name, NULL, 1);
	log_debug("source %s: skipped a bad frame: %s", src->name, why);
}

void
app_oversize_frame(struct app *app, struct source *src, size_t len)
{
	app->stats.frames++;
	app->stats.oversize++;
	metrics_count(app->metrics, METRICS_EVENTS, src->name, NULL, 1);
	metrics_count(app->metrics, METRICS_OVERSIZE, src->name, NULL, 1);
	log_debug("source %s: skipped a %zu-byte frame (max_frame_size)",
	    src->name, len);
}

void
app_source_closed(struct app *app, struct source *src)
{
	metrics_count(app->metrics, METRICS_RECONNECTS, src->name, NULL, 1);
}

void
app_source_finished(struct app *app, struct source *src)
{
	(void)src;
	app_commit(app);
	app_check_done(app);
}

void
app_check_done(struct app *app)
{
	int64_t	pending = 0;
	size_t	i;

	if (app->stopping) {
		/* A publish attempt under way is let finish, like a delivery:
		 * cut off, it would only be sent again after the restart. */
		if (outbox_in_flight(app->outbox) == 0 &&
		    publisher_in_flight(app->publisher) == 0)
			app_finish(app);
		return;
	}
	if (app->nsources == 0 || app->dirty)
		return;
	for (i = 0; i < app->nsources; i++)
		if (!app->sources[i]->finished ||
		    !app->sources[i]->exit_when_finished)
			return;
	if (store_outbox_count(app->store, "pending", &pending) != 0 ||
	    pending > 0 || outbox_in_flight(app->outbox) > 0)
		return;
	log_notice("every source is done and every delivery settled");
	app_stop(app, 0);
}

static struct source *
app_source_new(struct app *app, const struct source_conf *sc)
{
	struct source	*src = xcalloc(1, sizeof(*src));

	src->ops = sc->ops;
	src->conf = sc;
	src->app = app;
	src->name = xstrdup(sc->name);
	return src;
}

static void
app_source_free(struct source *src)
{
	src->ops->stop(src);
	free(src->pending_cursor);
	free(src->name);
	free(src);
}

/* The listener asks for the live settings: reload swaps the config. */
static const struct listener_conf *
app_listener_conf(void *arg)
{
	struct app	*app = arg;

	return &app->config->listener;
}

/* The command's name for metrics: a known one ("help" when empty) or
 * "unknown": what users type must not make new label values. */
static const char *
app_command_name(const char *text)
{
	const struct cmd_entry	*e;
	size_t			 len;
	char			*name;

	if (text == NULL)
		return "help";
	text += strspn(text, " \t\r\n\v\f");
	len = strcspn(text, " \t\r\n\v\f");
	if (len == 0)
		return "help";
	name = xstrndup(text, len);
	e = cmd_find(name);
	free(name);
	return e != NULL ? e->name : "unknown";
}

/*
 * A verified command runs against the live config and the store.  A
 * change it makes joins the open burst, if any, and is committed before
 * the answer goes back, so what the answer says is durable.
 */
char *
app_run_command(struct app *app, const struct slash_request *req)
{
	struct cmd_ctx	 ctx;
	enum cmd_retval	 rc;
	char		*json;

	cmd_ctx_init(&ctx, app->store, app->config);
	ctx.platform = req->platform;
	ctx.command = req->command;
	ctx.channel_id = req->channel_id;
	ctx.user_id = req->user_id;
	ctx.user_name = req->user_name;
	ctx.now_ms = now_wall_ms();
	/* The text stays out of the log: it is the user's, newlines and
	 * all. */
	rc = cmd_run(&ctx, req->text);
	log_info("command from %s in %s: %s", req->user_id, req->channel_id,
	    rc == CMD_OK ? "done" : "refused");
	metrics_count(app->metrics, METRICS_COMMANDS,
	    app_command_name(req->text), rc == CMD_OK ? "ok" : "error", 1);
	if (app_commit(app) != 0) {
		buf_free(&ctx.out);
		buf_init(&ctx.out);
		cmd_print(&ctx, "switchboard: the store failed; try again");
		ctx.in_channel = false;
	}
	if (ctx.queued)
		publisher_kick(app->publisher);
	json = cmd_answer_json(ctx.out.data, ctx.in_channel);
	cmd_ctx_clear(&ctx);
	return json;
}

static int
app_command(void *arg, const struct slash_request *req, char **json)
{
	*json = app_run_command(arg, req);
	return *json != NULL ? 200 : 500;
}

static bool
app_ready(void *arg, char **text)
{
	return metrics_ready(arg, text);
}

static char *
app_metrics(void *arg)
{
	return metrics_scrape(arg);
}

static const struct listener_handlers app_listener_handlers = {
	.conf = app_listener_conf,
	.slack = app_command,
	.mattermost = app_command,
	.ready = app_ready,
	.metrics = app_metrics
};

/*
 * Slack Socket Mode: the same commands as the listener, over a socket
 * the daemon opens.  The token and URL are read live, so a reload that
 * changes them applies at the next connection.
 */
static const char *
app_socket_mode_token(void *arg)
{
	struct app	*app = arg;

	return app->config->socket_mode.app_token;
}

static const char *
app_socket_mode_api_url(void *arg)
{
	struct app	*app = arg;

	return app->config->socket_mode.api_url;
}

static char *
app_socket_mode_command(void *arg, const struct slash_request *req)
{
	return app_run_command(arg, req);
}

static const struct socket_mode_handlers app_socket_mode_handlers = {
	app_socket_mode_token,
	app_socket_mode_api_url,
	app_socket_mode_command
};

static void
app_log_errors(const struct cfg_errors *errs)
{
	size_t	i;

	for (i = 0; i < errs->msgs.n; i++)
		log_err("%s", errs->msgs.v[i]);
}

static void
app_apply_log_level(struct app *app)
{
	log_set_level(app->opts.log_level >= 0 ? app->opts.log_level :
	    app->config->log_level);
}

/* What a reload did to the sources, for its log line. */
struct app_swap {
	size_t	kept, restarted, added, removed;
};

/*
 * Swap in a new config's sources.  An unchanged one (same name, same
 * fingerprint) keeps its connection and only moves to the new config's
 * copy of its settings; a changed one is closed and started again, so
 * it resumes from its cursor; a removed one is closed, its cursor left
 * in the store for the day it comes back; an added one starts.  The
 * caller committed the burst, so every cursor read here is current.
 */
static void
app_swap_sources(struct app *app, struct config *cfg, struct app_swap *sw)
{
	struct source	**next, *old;
	size_t		  i, j;
	bool		 *kept = xcalloc(app->nsources + 1, sizeof(*kept));

	memset(sw, 0, sizeof(*sw));
	next = xcalloc(cfg->nsources + 1, sizeof(*next));
	for (i = 0; i < cfg->nsources; i++) {
		const struct source_conf	*sc = &cfg->sources[i];

		for (j = 0; j < app->nsources; j++) {
			old = app->sources[j];
			if (!kept[j] && strcmp(old->name, sc->name) == 0 &&
			    strcmp(old->conf->fingerprint,
			    sc->fingerprint) == 0) {
				old->conf = sc;
				next[i] = old;
				kept[j] = true;
				sw->kept++;
				break;
			}
		}
	}
	/* Closed before any start: a changed source's new connection must
	 * not overlap its old one. */
	for (j = 0; j < app->nsources; j++) {
		if (kept[j])
			continue;
		old = app->sources[j];
		if (config_source(cfg, old->name) != NULL) {
			log_notice("source %s: settings changed; reconnecting "
			    "from its cursor", old->name);
			sw->restarted++;
		} else {
			log_notice("source %s: removed; closing (its cursor "
			    "is kept, should it come back)", old->name);
			sw->removed++;
		}
		app_source_free(old);
	}
	sw->added = cfg->nsources - sw->kept - sw->restarted;
	free(app->sources);
	free(kept);
	app->sources = next;
	app->nsources = cfg->nsources;
	for (i = 0; i < cfg->nsources; i++) {
		if (next[i] != NULL)
			continue;
		next[i] = app_source_new(app, &cfg->sources[i]);
		log_info("source %s: starting", next[i]->name);
		app_source_start(next[i]);
	}
}

/*
 * Deliveries queued for a team the new config lacks stay in the store
 * until it is back: never dropped, never silent.  A team this reload
 * removed is reported by the outbox, with its count, as soon as it
 * looks at the queue (the kick at the end of the reload); one that was
 * missing already is reported here again, at every reload, so the
 * operator who reloads sees every stranded queue.
 */
static void
app_report_stranded(struct app *app, const struct config *old,
    const struct config *cfg)
{
	struct strv	names;
	int64_t		n, oldest;
	size_t		i;

	if (store_outbox_destinations(app->store, &names) != 0)
		return;
	for (i = 0; i < names.n; i++) {
		if (config_team(cfg, names.v[i]) != NULL ||
		    config_team(old, names.v[i]) != NULL)
			continue;
		if (store_outbox_depth(app->store, names.v[i], &n,
		    &oldest) != 0)
			n = -1;
		log_warn("chat %s: still no such team in the configuration; "
		    "its %lld queued deliveries stay queued until it is back",
		    names.v[i], (long long)n);
	}
	strv_free(&names);
}

/*
 * Re-read the config and apply all of it, or none of it.  What reads
 * the live config (the router, the outbox, the listener, Socket Mode,
 * the publisher, storms, commands) sees the new one from the next
 * post, delivery, request or attempt on; the sources are swapped one
 * by one (app_swap_sources).  systemd hears RELOADING=1, then READY=1
 * either way: after a failure the daemon still runs, on the old config.
 */
int
app_reload(struct app *app)
{
	struct cfg_errors	 errs;
	struct config		*cfg, *old;
	struct router		*router;
	struct app_swap		 sw;
	char			*cause = NULL;
	size_t			 nerrs;

	notify_reloading();
	cfg_errors_init(&errs);
	cfg = config_load(app->opts.config_path, &errs);
	app_log_errors(&errs);
	nerrs = errs.msgs.n;
	cfg_errors_free(&errs);
	if (cfg != NULL && (router = router_new(cfg, &cause)) == NULL) {
		log_err("%s: %s", app->opts.config_path, cause);
		free(cause);
		config_free(cfg);
		cfg = NULL;
		nerrs++;
	}
	if (cfg == NULL) {
		app->stats.reload_failures++;
		app->stats.config_errors = nerrs;
		log_err("reload failed (%llu failed reloads so far), keeping "
		    "the running configuration",
		    (unsigned long long)app->stats.reload_failures);
		notify_send("READY=1\nSTATUS=reload failed; running the "
		    "previous configuration");
		return -1;
	}
	app->stats.config_errors = 0;
	old = app->config;
	if (app->opts.state_dir == NULL && strcmp(cfg->state_directory,
	    old->state_directory) != 0)
		log_warn("general.state_directory changed: restart to apply");
	if (cfg->listener.enabled != old->listener.enabled ||
	    (cfg->listener.enabled && (cfg->listener.port !=
	    old->listener.port || strcmp(cfg->listener.address,
	    old->listener.address) != 0)))
		log_warn("listener enabled, address or port changed: restart "
		    "to apply");
	if ((cfg->socket_mode.app_token != NULL) !=
	    (old->socket_mode.app_token != NULL))
		log_warn("socket_mode turned %s: restart to apply",
		    cfg->socket_mode.app_token != NULL ? "on" : "off");
	/* Cursors and posts read so far are durable before any source
	 * closes: a restarted one resumes from them. */
	app_commit(app);
	app_swap_sources(app, cfg, &sw);
	router_free(app->router);
	app->router = router;
	app->config = cfg;
	app_apply_log_level(app);
	app_report_stranded(app, old, cfg);
	config_free(old);
	app->stats.reloads++;
	log_notice("configuration reloaded from %s (sources: %zu kept, %zu "
	    "reconnected, %zu added, %zu removed)", app->opts.config_path,
	    sw.kept, sw.restarted, sw.added, sw.removed);
	outbox_kick(app->outbox);
	publisher_kick(app->publisher);
	notify_ready();
	return 0;
}

static void
app_signal_cb(uv_signal_t *s, int signum)
{
	struct app	*app = s->data;

	if (signum == SIGHUP) {
		if (!app->stopping)
			app_reload(app);
		return;
	}
	log_notice("%s received, stopping", strsignal(signum));
	app_stop(app, 0);
}

static void
app_stop_timeout(uv_timer_t *t)
{
	struct app	*app = t->data;

	log_warn("shutdown timeout: %zu deliveries still in flight stay "
	    "queued", outbox_in_flight(app->outbox));
	app_finish(app);
}

void
app_stop(struct app *app, int exit_code)
{
	if (app->stopping)
		return;
	app->stopping = true;
	app->exit_code = exit_code;
	notify_stopping();
	app_sources_stop(app);
	socket_mode_stop(app->socket_mode);
	app_commit(app);
	outbox_pause(app->outbox);
	uv_timer_start(&app->stop_timer, app_stop_timeout,
	    (uint64_t)app->config->shutdown_timeout_ms, 0);
	app_check_done(app);
}

/* Called once: leave the loop; app_free closes what is left. */
static void
app_finish(struct app *app)
{
	uv_timer_stop(&app->stop_timer);
	uv_stop(&app->loop);
}

struct app *
app_new(const struct app_options *opts)
{
	struct app		*app = xcalloc(1, sizeof(*app));
	struct cfg_errors	 errs;
	char			*cause = NULL;
	const char		*dir;
	size_t			 i;

	app->opts = *opts;
	app->metrics = metrics_new();
	cfg_errors_init(&errs);
	app->config = config_load(opts->config_path, &errs);
	if (app->config == NULL) {
		for (i = 0; i < errs.msgs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs.v[i]);
		cfg_errors_free(&errs);
		metrics_free(app->metrics);
		free(app);
		return NULL;
	}
	cfg_errors_free(&errs);
	app_apply_log_level(app);
	app->router = router_new(app->config, &cause);
	if (app->router == NULL)
		goto fail;
	app->storms = storms_new();
	dir = opts->state_dir ? opts->state_dir : app->config->state_directory;
	app->store = store_open(dir, &cause);
	if (app->store == NULL)
		goto fail;
	uv_loop_init(&app->loop);
	app->lws = ws_context_new(&app->loop);
	if (app->lws == NULL) {
		cause = xstrdup("cannot create the websocket context");
		uv_loop_close(&app->loop);
		goto fail;
	}
	if (app->config->listener.enabled) {
		app->listener = listener_new(app->lws, &app->config->listener,
		    &app_listener_handlers, app, &cause);
		if (app->listener == NULL) {
			ws_context_free(app->lws, &app->loop);
			uv_loop_close(&app->loop);
			goto fail;
		}
	}
	app->http = http_new(&app->loop);
	app->outbox = outbox_new(app);
	app->publisher = publisher_new(app);
	if (app->config->socket_mode.app_token != NULL) {
		app->socket_mode = socket_mode_new(&app->loop, app->lws,
		    app->http, &app_socket_mode_handlers, app);
		socket_mode_start(app->socket_mode);
	}
	uv_check_init(&app->loop, &app->commit_check);
	uv_timer_init(&app->loop, &app->stop_timer);
	uv_timer_init(&app->loop, &app->restart_timer);
	uv_timer_init(&app->loop, &app->watchdog_timer);
	uv_signal_init(&app->loop, &app->sig_term);
	uv_signal_init(&app->loop, &app->sig_int);
	uv_signal_init(&app->loop, &app->sig_hup);
	app->commit_check.data = app->stop_timer.data = app;
	app->restart_timer.data = app->watchdog_timer.data = app;
	app->sig_term.data = app->sig_int.data = app->sig_hup.data = app;
	return app;
fail:
	log_err("%s", cause ? cause : "startup failed");
	free(cause);
	router_free(app->router);
	storms_free(app->storms);
	store_close(app->store);
	config_free(app->config);
	metrics_free(app->metrics);
	free(app);
	return NULL;
}

/*
 * systemd's watchdog: the timer firing shows the loop turns; a store
 * that stays failed longer than the watchdog interval (every burst
 * undone, nothing durable) stops the pings, so systemd restarts us.
 */
static void
app_watchdog_cb(uv_timer_t *t)
{
	struct app	*app = t->data;
	int64_t		 failed = app->store_failed_ms;

	if (failed != 0 && now_mono_ms() - failed > app->watchdog_ms) {
		if (!app->watchdog_held)
			log_err("store: failing for %lld s; no more watchdog "
			    "pings", (long long)(now_mono_ms() - failed) /
			    1000);
		app->watchdog_held = true;
		return;
	}
	if (app->watchdog_held)
		log_notice("store: working again; watchdog pings resume");
	app->watchdog_held = false;
	notify_watchdog();
}

static void
app_watchdog_start(struct app *app)
{
	long long	usec = notify_watchdog_usec();
	uint64_t	every;

	if (usec <= 0)
		return;
	app->watchdog_ms = usec / 1000 > 0 ? usec / 1000 : 1;
	every = (uint64_t)(usec / 2000 > 0 ? usec / 2000 : 1);
	log_info("watchdog: pinging systemd every %llu ms",
	    (unsigned long long)every);
	uv_timer_start(&app->watchdog_timer, app_watchdog_cb, 0, every);
}

int
app_run(struct app *app)
{
	size_t	i;

	uv_check_start(&app->commit_check, app_commit_check);
	uv_signal_start(&app->sig_term, app_signal_cb, SIGTERM);
	uv_signal_start(&app->sig_int, app_signal_cb, SIGINT);
	uv_signal_start(&app->sig_hup, app_signal_cb, SIGHUP);
	app->sources = xcalloc(app->config->nsources + 1,
	    sizeof(*app->sources));
	app->nsources = app->config->nsources;
	/* Every slot filled before any start: a failed start stops them
	 * all, and the stop walks the whole array. */
	for (i = 0; i < app->nsources; i++)
		app->sources[i] = app_source_new(app, &app->config->sources[i]);
	for (i = 0; i < app->nsources; i++) {
		if (app_source_start(app->sources[i]) != 0) {
			app_stop(app, 1);
			break;
		}
	}
	log_notice("switchboard %s started: %zu sources, %zu teams, state "
	    "in %s", PACKAGE_VERSION, app->config->nsources,
	    app->config->nteams, app->opts.state_dir ? app->opts.state_dir :
	    app->config->state_directory);
	notify_ready();
	app_watchdog_start(app);
	outbox_kick(app->outbox);
	publisher_kick(app->publisher);	/* replies a crash left pending */
	if (!app->stopping)
		uv_run(&app->loop, UV_RUN_DEFAULT);
	else
		uv_run(&app->loop, UV_RUN_NOWAIT);
	return app->exit_code;
}

static void
app_log_stats(const struct app *app)
{
	const struct app_stats	*s = &app->stats;

	log_notice("stats: frames %llu (bad %llu, oversize %llu), posts %llu "
	    "(duplicates %llu, routed %llu, dropped %llu, ignored %llu), "
	    "deliveries ok %llu, retried %llu, failed %llu (digests %llu, "
	    "destinations down %llu, up %llu), storms %llu",
	    (unsigned long long)s->frames, (unsigned long long)s->bad_frames,
	    (unsigned long long)s->oversize, (unsigned long long)s->posts,
	    (unsigned long long)s->duplicates, (unsigned long long)s->routed,
	    (unsigned long long)s->dropped, (unsigned long long)s->ignored,
	    (unsigned long long)s->delivered, (unsigned long long)s->retried,
	    (unsigned long long)s->failed, (unsigned long long)s->digests,
	    (unsigned long long)s->dest_down, (unsigned long long)s->dest_up,
	    (unsigned long long)storms_started(app->storms));
}

void
app_free(struct app *app)
{
	size_t	i;

	if (app == NULL)
		return;
	app_log_stats(app);
	app_commit(app);
	for (i = 0; i < app->nsources; i++)
		app_source_free(app->sources[i]);
	free(app->sources);
	app->nsources = 0;
	outbox_pause(app->outbox);
	/* Before http and the lws context: they use both. */
	publisher_free(app->publisher);
	app->publisher = NULL;
	socket_mode_free(app->socket_mode);
	app->socket_mode = NULL;
	http_free(app->http);
	outbox_free(app->outbox);
	uv_close((uv_handle_t *)&app->commit_check, NULL);
	uv_close((uv_handle_t *)&app->stop_timer, NULL);
	uv_close((uv_handle_t *)&app->restart_timer, NULL);
	uv_close((uv_handle_t *)&app->watchdog_timer, NULL);
	uv_close((uv_handle_t *)&app->sig_term, NULL);
	uv_close((uv_handle_t *)&app->sig_int, NULL);
	uv_close((uv_handle_t *)&app->sig_hup, NULL);
	ws_context_free(app->lws, &app->loop);
	/* After the context: closing connections still reach it. */
	listener_free(app->listener);
	app->listener = NULL;
	if (uv_loop_close(&app->loop) != 0)
		log_warn("event loop closed with handles still open");
	store_close(app->store);
	router_free(app->router);
	storms_free(app->storms);
	config_free(app->config);
	metrics_free(app->metrics);
	free(app);
	notify_stopping();
}
