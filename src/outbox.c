/*
 * The outbox pump: pending deliveries from the store to the chat
 * platforms, in order per destination, within rate limits, retrying
 * what can succeed later and giving up only on what never will; a
 * destination that keeps failing is reported down and its queue kept,
 * and a queue longer than its channel can take goes out as digests.
 */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "sink.h"
#include "storm.h"

#define OUTBOX_BATCH		64	/* local writes per destination per pump */
#define OUTBOX_BACKOFF_BASE_MS	1000
#define OUTBOX_BACKOFF_MAX_MS	(5 * 60 * 1000)
#define OUTBOX_STORE_RETRY_MS	1000	/* look again after a read error */
/* How soon an operator's change from another process ("switchboard
 * outbox retry") is noticed: the store's data version is polled. */
#define OUTBOX_POLL_MS		2000
/* A longer Retry-After is a broken or hostile answer; beyond what an
 * int64_t of milliseconds holds it would not even convert. */
#define OUTBOX_RETRY_AFTER_MAX_S	(24.0 * 60 * 60)

/* Per-destination pacing and health; the queue itself lives in the store. */
struct outbox_dest {
	char	*name;
	double	 tokens;		/* token bucket: rate, burst */
	int64_t	 refilled_ms;		/* monotonic */
	int64_t	 hold_until_ms;		/* monotonic: send nothing before */
	int	 failures;		/* failed attempts in a row */
	bool	 down;			/* failures reached chat.down_after */
	bool	 no_digests;		/* the platform refused a digest */
	bool	 in_flight;		/* one request at a time keeps order */
	bool	 warned_missing;
};

/* One attempt's deliveries: one, or the posts of a digest. */
struct outbox_ids {
	int64_t	*v;
	size_t	 n;
	int	 attempts;		/* the first's failed attempts so far */
	bool	 digest;
};

/* An answer that came while a burst was open, recorded after it. */
struct outbox_answer {
	char			*dest;
	struct outbox_ids	 ids;
	enum sink_result	 result;
	struct sink_answer	 a;
	struct outbox_answer	*next;
};

struct outbox {
	struct app		*app;
	uv_timer_t		 timer;
	struct outbox_dest	*dests;
	size_t			 ndests;
	size_t			 in_flight;
	bool			 paused;
	struct outbox_answer	*answers, **answers_tail;
	int64_t			 wake_ms;	/* wall: the pump's next work,
						 * INT64_MAX if none */
	int64_t			 data_version;	/* the store's, last seen */
};

/* What an HTTP completion needs to find its deliveries again. */
struct outbox_send {
	struct outbox		*ob;
	char			*dest;
	struct outbox_ids	 ids;
};

static void	outbox_pump(struct outbox *);
static void	outbox_timer_cb(uv_timer_t *);

/* Whether another process committed to the store since the last look. */
static bool
outbox_store_changed(struct outbox *ob)
{
	int64_t	v;

	if (store_data_version(ob->app->store, &v) != 0 ||
	    v == ob->data_version)
		return false;
	ob->data_version = v;
	return true;
}

/* The timer for the pump's next work, or sooner to poll the store. */
static void
outbox_arm(struct outbox *ob)
{
	int64_t	now = now_wall_ms(), delay;

	delay = ob->wake_ms > now ? ob->wake_ms - now : 0;
	if (delay > OUTBOX_POLL_MS)
		delay = OUTBOX_POLL_MS;
	uv_timer_start(&ob->timer, outbox_timer_cb, (uint64_t)delay, 0);
}

/*
 * Before its work is due the pump only looks whether someone else (an
 * operator's retry, drop or requeue) changed the store; its own writes
 * do not move the data version.
 */
static void
outbox_timer_cb(uv_timer_t *t)
{
	struct outbox	*ob = t->data;

	if (ob->wake_ms > now_wall_ms() && !outbox_store_changed(ob)) {
		outbox_arm(ob);
		return;
	}
	outbox_pump(ob);
}

static struct outbox_dest *
outbox_dest(struct outbox *ob, const char *name, const struct chat_conf *chat)
{
	struct outbox_dest	*d;
	size_t			 i;

	for (i = 0; i < ob->ndests; i++)
		if (strcmp(ob->dests[i].name, name) == 0)
			return &ob->dests[i];
	ob->dests = xrealloc(ob->dests, (ob->ndests + 1) * sizeof(*d));
	d = &ob->dests[ob->ndests++];
	memset(d, 0, sizeof(*d));
	d->name = xstrdup(name);
	d->tokens = chat ? chat->burst : 1;
	d->refilled_ms = now_mono_ms();
	return d;
}

static void
outbox_refill(struct outbox_dest *d, const struct chat_conf *chat)
{
	int64_t	now = now_mono_ms();

	d->tokens += (double)(now - d->refilled_ms) * chat->rate / 1000.0;
	if (d->tokens > chat->burst)
		d->tokens = chat->burst;
	d->refilled_ms = now;
}

int64_t
outbox_backoff_ms(int attempts)
{
	int64_t	delay = OUTBOX_BACKOFF_BASE_MS;
	int	i;

	for (i = 1; i < attempts && delay < OUTBOX_BACKOFF_MAX_MS; i++)
		delay *= 2;
	if (delay > OUTBOX_BACKOFF_MAX_MS)
		delay = OUTBOX_BACKOFF_MAX_MS;
	return delay / 2 + (int64_t)(random_unit() * (double)(delay / 2));
}

static void
outbox_ids_free(struct outbox_ids *ids)
{
	free(ids->v);
	memset(ids, 0, sizeof(*ids));
}

/* Milliseconds from a platform's "not before" signal. */
static int64_t
outbox_wait_ms(double retry_after_s)
{
	if (retry_after_s > OUTBOX_RETRY_AFTER_MAX_S)
		retry_after_s = OUTBOX_RETRY_AFTER_MAX_S;
	return (int64_t)(retry_after_s * 1000.0);
}

/* A success after failures: the destination works again. */
static void
outbox_dest_ok(struct outbox *ob, struct outbox_dest *d)
{
	int64_t	n, oldest;

	d->failures = 0;
	if (!d->down)
		return;
	d->down = false;
	ob->app->stats.dest_up++;
	metrics_set(ob->app->metrics, METRICS_DEST_DOWN, d->name, NULL, 0);
	if (store_outbox_depth(ob->app->store, d->name, &n, &oldest) != 0)
		n = -1;
	log_notice("chat %s: up again; %lld deliveries queued", d->name,
	    (long long)n);
}

/*
 * One more failed attempt in a row.  At chat.down_after the destination
 * is reported down, once: its queue stays, and retries space out to
 * the backoff ceiling as the failures go on.
 */
static void
outbox_dest_failed(struct outbox *ob, struct outbox_dest *d,
    const struct chat_conf *chat, const char *cause)
{
	int64_t	n, oldest;

	d->failures++;
	if (d->down || chat == NULL || d->failures < chat->down_after)
		return;
	d->down = true;
	ob->app->stats.dest_down++;
	metrics_set(ob->app->metrics, METRICS_DEST_DOWN, d->name, NULL, 1);
	if (store_outbox_depth(ob->app->store, d->name, &n, &oldest) != 0)
		n = -1;
	log_err("chat %s: down after %d failed attempts in a row (%s); its "
	    "%lld queued deliveries are kept and retried with backoff up to "
	    "%d s", d->name, d->failures, cause ? cause : "failed",
	    (long long)n, OUTBOX_BACKOFF_MAX_MS / 1000);
}

static void
outbox_settle_ok(struct outbox *ob, struct outbox_dest *d,
    const struct outbox_ids *ids, const struct sink_answer *a)
{
	struct app	*app = ob->app;
	struct store	*st = app->store;
	bool		 own;
	size_t		 i;
	int		 rc = 0;

	if (!ids->digest) {
		if (store_outbox_done(st, ids->v[0], a->message_id) == 0) {
			app->stats.delivered++;
			metrics_count(app->metrics, METRICS_DELIVERIES, d->name,
			    "ok", 1);
		}
		log_debug("chat %s: delivery %lld done%s%s", d->name,
		    (long long)ids->v[0], a->message_id ? " as " : "",
		    a->message_id ? a->message_id : "");
	} else {
		/* All or none: a digest is one message.  No thread starts
		 * from it: it belongs to no conversation. */
		own = !store_in_transaction(st);
		if (own && store_begin(st) != 0)
			rc = -1;
		for (i = 0; i < ids->n && rc == 0; i++)
			rc = store_outbox_done(st, ids->v[i], NULL);
		if (own && rc == 0)
			rc = store_commit(st);
		if (own && rc != 0)
			store_rollback(st);
		if (rc == 0) {
			app->stats.delivered += ids->n;
			app->stats.digests++;
			metrics_count(app->metrics, METRICS_DELIVERIES, d->name,
			    "ok", ids->n);
			metrics_count(app->metrics, METRICS_DIGESTS, d->name,
			    NULL, 1);
		} else
			log_err("chat %s: a digest of %zu posts went out but "
			    "could not be recorded; they may be sent again",
			    d->name, ids->n);
		log_info("chat %s: digest of %zu posts done", d->name,
		    ids->n);
	}
	if (a->retry_after_s >= 0) {
		/* The success spent the platform's allowance for now. */
		d->hold_until_ms = now_mono_ms() +
		    outbox_wait_ms(a->retry_after_s);
		d->tokens = 0;
	}
	outbox_dest_ok(ob, d);
}

static void
outbox_settle_retry(struct outbox *ob, struct outbox_dest *d,
    const struct chat_conf *chat, const struct outbox_ids *ids,
    const struct sink_answer *a)
{
	struct app	*app = ob->app;
	const char	*cause = a->cause ? a->cause : "retry";
	int64_t		 delay;
	size_t		 i;

	if (a->retry_after_s >= 0) {
		/* The platform answered and said when: not a failure of
		 * the destination, only of our pace. */
		delay = outbox_wait_ms(a->retry_after_s);
		d->tokens = 0;
	} else {
		outbox_dest_failed(ob, d, chat, cause);
		delay = outbox_backoff_ms(ids->attempts + 1 > d->failures ?
		    ids->attempts + 1 : d->failures);
	}
	for (i = 0; i < ids->n; i++)
		store_outbox_retry(app->store, ids->v[i], now_wall_ms() + delay,
		    cause);
	app->stats.retried++;
	metrics_count(app->metrics, METRICS_DELIVERIES, d->name, "retried", 1);
	if (ids->digest)
		log_warn("chat %s: digest of %zu posts: %s; retry in %lld ms",
		    d->name, ids->n, cause, (long long)delay);
	else
		log_warn("chat %s: delivery %lld: %s; retry in %lld ms",
		    d->name, (long long)ids->v[0], cause, (long long)delay);
}

/*
 * platform: the platform refused it (it counts against the
 * destination), rather than the adapter being unable to render it.
 */
static void
outbox_settle_fail(struct outbox *ob, struct outbox_dest *d,
    const struct chat_conf *chat, const struct outbox_ids *ids,
    const struct sink_answer *a, bool platform)
{
	struct app	*app = ob->app;
	const char	*cause = a->cause ? a->cause : "failed";
	int64_t		 delay;

	if (platform) {
		outbox_dest_failed(ob, d, chat, cause);
		if (d->down) {
			/* A refusal while down is likely the destination's
			 * (a revoked token): pace them, keep the queue. */
			delay = outbox_backoff_ms(d->failures);
			d->hold_until_ms = now_mono_ms() + delay;
		}
	}
	if (ids->digest) {
		/* The posts may well go one by one: a refused digest
		 * loses none of them. */
		if (!d->no_digests)
			log_err("chat %s: the platform refused a digest (%s); "
			    "sending posts one by one", d->name, cause);
		d->no_digests = true;
		return;
	}
	store_outbox_fail(app->store, ids->v[0], cause);
	app->stats.failed++;
	metrics_count(app->metrics, METRICS_DELIVERIES, d->name, "failed", 1);
	log_err("chat %s: delivery %lld failed for good: %s", d->name,
	    (long long)ids->v[0], cause);
}

static void
outbox_settle(struct outbox *ob, struct outbox_dest *d,
    const struct outbox_ids *ids, enum sink_result result,
    const struct sink_answer *a, bool platform)
{
	const struct team_conf	*team = config_team(ob->app->config, d->name);
	const struct chat_conf	*chat = team ? &team->chat : NULL;

	switch (result) {
	case SINK_OK:
		outbox_settle_ok(ob, d, ids, a);
		break;
	case SINK_RETRY:
		outbox_settle_retry(ob, d, chat, ids, a);
		break;
	case SINK_FAIL:
		outbox_settle_fail(ob, d, chat, ids, a, platform);
		break;
	}
}

/* Settle a result with only a cause (no platform answer). */
static void
outbox_settle_cause(struct outbox *ob, struct outbox_dest *d,
    const struct outbox_ids *ids, enum sink_result result, char *cause,
    bool platform)
{
	struct sink_answer	a;

	sink_answer_init(&a);
	a.cause = cause;
	outbox_settle(ob, d, ids, result, &a, platform);
	sink_answer_clear(&a);
}

/*
 * Record the answers that waited for the burst to end: written inside
 * it, a failed commit would roll them back and a message the platform
 * accepted would be sent again.
 */
static void
outbox_settle_answers(struct outbox *ob)
{
	struct outbox_answer	*a;
	const struct team_conf	*team;

	while ((a = ob->answers) != NULL) {
		ob->answers = a->next;
		team = config_team(ob->app->config, a->dest);
		outbox_settle(ob, outbox_dest(ob, a->dest, team ? &team->chat :
		    NULL), &a->ids, a->result, &a->a, true);
		sink_answer_clear(&a->a);
		outbox_ids_free(&a->ids);
		free(a->dest);
		free(a);
	}
	ob->answers_tail = &ob->answers;
}

static void
outbox_send_free(struct outbox_send *s)
{
	outbox_ids_free(&s->ids);
	free(s->dest);
	free(s);
}

static void
outbox_done(void *arg, const struct http_response *resp)
{
	struct outbox_send	*s = arg;
	struct outbox		*ob = s->ob;
	const struct team_conf	*team;
	struct outbox_dest	*d;
	struct outbox_answer	*q;
	enum sink_result	 result;
	struct sink_answer	 a;

	if (resp->aborted) {
		/* Shutting down: the deliveries stay pending in the store. */
		ob->in_flight--;
		outbox_send_free(s);
		return;
	}
	team = config_team(ob->app->config, s->dest);
	d = outbox_dest(ob, s->dest, team ? &team->chat : NULL);
	d->in_flight = false;
	ob->in_flight--;
	if (resp->status == 429)
		metrics_count(ob->app->metrics, METRICS_RATE_LIMITED, d->name,
		    NULL, 1);
	sink_answer_init(&a);
	if (team != NULL && team->chat.ops->response != NULL)
		result = team->chat.ops->response(&team->chat, resp, &a);
	else
		result = sink_classify(resp, &a);
	if (store_in_transaction(ob->app->store)) {
		q = xcalloc(1, sizeof(*q));
		q->dest = s->dest;
		q->ids = s->ids;
		q->result = result;
		q->a = a;
		*ob->answers_tail = q;
		ob->answers_tail = &q->next;
		free(s);
		outbox_kick(ob);
		return;
	}
	outbox_settle(ob, d, &s->ids, result, &a, true);
	sink_answer_clear(&a);
	outbox_send_free(s);
	outbox_kick(ob);
	app_check_done(ob->app);	/* a stop may be waiting for this */
}

/* Start req for ids (taken); on failure settle them at once. */
static void
outbox_start(struct outbox *ob, struct outbox_dest *d,
    const struct team_conf *team, const struct http_request *req,
    struct outbox_ids *ids)
{
	struct outbox_send	*s;

	s = xcalloc(1, sizeof(*s));
	s->ob = ob;
	s->dest = xstrdup(d->name);
	s->ids = *ids;
	memset(ids, 0, sizeof(*ids));
	if (http_start(ob->app->http, req, team->chat.timeout_ms,
	    outbox_done, s) != 0) {
		outbox_settle_cause(ob, d, &s->ids, SINK_RETRY,
		    xstrdup("cannot start HTTP request"), true);
		outbox_send_free(s);
		return;
	}
	d->in_flight = true;
	ob->in_flight++;
}

static void
outbox_send(struct outbox *ob, struct outbox_dest *d,
    const struct team_conf *team, const struct delivery *dl)
{
	struct http_request	 req;
	struct outbox_ids	 ids;
	char			*cause = NULL;

	memset(&ids, 0, sizeof(ids));
	ids.v = xmalloc(sizeof(*ids.v));
	ids.v[0] = dl->id;
	ids.n = 1;
	ids.attempts = dl->attempts;
	if (team->chat.ops->write != NULL) {
		enum sink_result	result;

		result = team->chat.ops->write(&team->chat, dl, &cause);
		outbox_settle_cause(ob, d, &ids, result, cause, true);
		outbox_ids_free(&ids);
		return;
	}
	http_request_init(&req);
	if (team->chat.ops->format(&team->chat, dl, &req, &cause) != 0)
		outbox_settle_cause(ob, d, &ids, SINK_FAIL, cause, false);
	else
		outbox_start(ob, d, team, &req, &ids);
	outbox_ids_free(&ids);
	http_request_clear(&req);
}

/*
 * Whether the destination's queue should go out as digests now: it
 * holds more than its channel takes in a minute (chat.digest_after),
 * or its team is in a storm.
 */
static bool
outbox_digest_wanted(struct outbox *ob, struct outbox_dest *d,
    const struct team_conf *team)
{
	const struct chat_conf	*chat = &team->chat;
	int64_t			 n, oldest;

	if (d->no_digests || chat->digest_max < 2 ||
	    (chat->ops->format_digest == NULL &&
	    chat->ops->write_digest == NULL))
		return false;
	if (ob->app->storms != NULL &&
	    storms_active(ob->app->storms, team->name))
		return true;
	return store_outbox_depth(ob->app->store, d->name, &n, &oldest) == 0 &&
	    n > chat->digest_after;
}

/*
 * Send the due posts at the head as one digest: 1 if one went out (or
 * was settled), 0 if there were fewer than two to list.
 */
static int
outbox_send_digest(struct outbox *ob, struct outbox_dest *d,
    const struct team_conf *team)
{
	const struct chat_conf	*chat = &team->chat;
	struct delivery		*v;
	const struct delivery	**pv;
	struct http_request	 req;
	struct outbox_ids	 ids;
	enum sink_result	 result;
	size_t			 n, i;
	char			*cause = NULL;

	if (store_outbox_batch(ob->app->store, d->name,
	    (size_t)chat->digest_max, now_wall_ms(), &v, &n) != 0 || n < 2) {
		deliveries_free(v, n);
		return 0;
	}
	pv = xcalloc(n, sizeof(*pv));
	memset(&ids, 0, sizeof(ids));
	ids.v = xcalloc(n, sizeof(*ids.v));
	ids.n = n;
	ids.attempts = v[0].attempts;
	ids.digest = true;
	for (i = 0; i < n; i++) {
		pv[i] = &v[i];
		ids.v[i] = v[i].id;
	}
	log_info("chat %s: %zu posts queued as one digest", d->name, n);
	if (chat->ops->write_digest != NULL) {
		result = chat->ops->write_digest(chat, pv, n, &cause);
		outbox_settle_cause(ob, d, &ids, result, cause, true);
	} else {
		http_request_init(&req);
		if (chat->ops->format_digest(chat, pv, n, &req, &cause) != 0)
			outbox_settle_cause(ob, d, &ids, SINK_FAIL, cause,
			    false);
		else
			outbox_start(ob, d, team, &req, &ids);
		http_request_clear(&req);
	}
	outbox_ids_free(&ids);
	free(pv);
	deliveries_free(v, n);
	return 1;
}

/* Work through one destination's queue; returns when to look again
 * (wall ms) or INT64_MAX. */
static int64_t
outbox_pump_dest(struct outbox *ob, const char *name)
{
	const struct team_conf	*team = config_team(ob->app->config, name);
	struct outbox_dest	*d;
	struct delivery		 dl;
	int64_t			 now = now_wall_ms(), wake = INT64_MAX, mono;
	int			 i, rc;

	d = outbox_dest(ob, name, team ? &team->chat : NULL);
	if (team == NULL) {
		/* Once; a reload that leaves it missing says it again. */
		if (!d->warned_missing) {
			int64_t	n, oldest;

			if (store_outbox_depth(ob->app->store, name, &n,
			    &oldest) != 0)
				n = -1;
			log_warn("chat %s: no such team in the configuration; "
			    "its %lld queued deliveries stay queued until it "
			    "is back", name, (long long)n);
		}
		d->warned_missing = true;
		return wake;
	}
	d->warned_missing = false;
	mono = now_mono_ms();
	if (d->hold_until_ms > mono)
		return now + (d->hold_until_ms - mono);
	for (i = 0; i < OUTBOX_BATCH && !d->in_flight && !ob->paused &&
	    d->hold_until_ms <= now_mono_ms(); i++) {
		rc = store_outbox_head(ob->app->store, name, &dl);
		if (rc < 0)
			wake = now + OUTBOX_STORE_RETRY_MS;
		if (rc != 1)
			break;
		if (dl.next_try_ms > now) {
			wake = dl.next_try_ms;
			delivery_free(&dl);
			break;
		}
		outbox_refill(d, &team->chat);
		if (d->tokens < 1.0) {
			wake = now + 1 + (int64_t)((1.0 - d->tokens) * 1000.0 /
			    team->chat.rate);
			delivery_free(&dl);
			break;
		}
		d->tokens -= 1.0;
		if (dl.kind != DELIVERY_POST || !outbox_digest_wanted(ob, d,
		    team) || outbox_send_digest(ob, d, team) == 0)
			outbox_send(ob, d, team, &dl);
		delivery_free(&dl);
	}
	if (d->hold_until_ms > now_mono_ms() && !d->in_flight) {
		mono = d->hold_until_ms - now_mono_ms();
		if (now + mono < wake)
			wake = now + mono;
	} else if (i == OUTBOX_BATCH && wake == INT64_MAX)
		wake = now;		/* more to do: come back soon */
	return wake;
}

static void
outbox_pump(struct outbox *ob)
{
	struct strv	names;
	size_t		i;
	int64_t		wake = INT64_MAX, w;

	outbox_settle_answers(ob);
	if (ob->paused)
		return;
	ob->wake_ms = INT64_MAX;	/* a kick meanwhile sets it to 0 */
	strv_init(&names);
	if (store_outbox_destinations(ob->app->store, &names) != 0)
		wake = now_wall_ms() + OUTBOX_STORE_RETRY_MS;
	else {
		for (i = 0; i < names.n; i++) {
			w = outbox_pump_dest(ob, names.v[i]);
			if (w < wake)
				wake = w;
		}
	}
	strv_free(&names);
	if (wake < ob->wake_ms)
		ob->wake_ms = wake;
	outbox_arm(ob);
	app_check_done(ob->app);
}

void
outbox_kick(struct outbox *ob)
{
	if (ob != NULL && !ob->paused) {
		ob->wake_ms = 0;
		uv_timer_start(&ob->timer, outbox_timer_cb, 0, 0);
	}
}

void
outbox_pause(struct outbox *ob)
{
	ob->paused = true;
	uv_timer_stop(&ob->timer);
	/* The caller committed the burst: record what was answered. */
	outbox_settle_answers(ob);
}

size_t
outbox_in_flight(const struct outbox *ob)
{
	return ob->in_flight;
}

struct outbox *
outbox_new(struct app *app)
{
	struct outbox	*ob = xcalloc(1, sizeof(*ob));

	ob->app = app;
	ob->answers_tail = &ob->answers;
	uv_timer_init(&app->loop, &ob->timer);
	ob->timer.data = ob;
	return ob;
}

static void
outbox_closed(uv_handle_t *h)
{
	struct outbox		*ob = h->data;
	struct outbox_answer	*a;
	size_t			 i;

	/* Unrecorded answers leave their deliveries pending: sent again. */
	while ((a = ob->answers) != NULL) {
		ob->answers = a->next;
		sink_answer_clear(&a->a);
		outbox_ids_free(&a->ids);
		free(a->dest);
		free(a);
	}
	for (i = 0; i < ob->ndests; i++)
		free(ob->dests[i].name);
	free(ob->dests);
	free(ob);
}

/* In-flight sends are aborted by http_free; they stay pending in the
 * store and go out again after a restart. */
void
outbox_free(struct outbox *ob)
{
	if (ob == NULL)
		return;
	uv_close((uv_handle_t *)&ob->timer, outbox_closed);
}
