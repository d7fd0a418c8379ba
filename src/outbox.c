/*
 * The outbox pump: pending deliveries from the store to the chat
 * platforms, in order per destination, within rate limits, retrying
 * what can succeed later and giving up only on what never will.
 */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "http.h"
#include "log.h"
#include "outbox.h"
#include "sink.h"

#define OUTBOX_BATCH		64	/* local writes per destination per pump */
#define OUTBOX_BACKOFF_BASE_MS	1000
#define OUTBOX_BACKOFF_MAX_MS	(5 * 60 * 1000)
#define OUTBOX_STORE_RETRY_MS	1000	/* look again after a read error */
/* A longer Retry-After is a broken or hostile answer; beyond what an
 * int64_t of milliseconds holds it would not even convert. */
#define OUTBOX_RETRY_AFTER_MAX_S	(24.0 * 60 * 60)

/* Per-destination pacing state; the queue itself lives in the store. */
struct outbox_dest {
	char	*name;
	double	 tokens;		/* token bucket: rate, burst */
	int64_t	 refilled_ms;		/* monotonic */
	bool	 in_flight;		/* one request at a time keeps order */
	bool	 warned_missing;
};

/* An answer that came while a burst was open, recorded after it. */
struct outbox_answer {
	char			*dest;
	int64_t			 id;
	int			 attempts;
	enum sink_result	 result;
	double			 retry_after_s;
	char			*cause;
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
};

/* What an HTTP completion needs to find its delivery again. */
struct outbox_send {
	struct outbox	*ob;
	char		*dest;
	int64_t		 id;
	int		 attempts;
};

static void	outbox_pump(struct outbox *);

static void
outbox_timer_cb(uv_timer_t *t)
{
	outbox_pump(t->data);
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
outbox_settle(struct outbox *ob, struct outbox_dest *d, int64_t id,
    int attempts, enum sink_result result, double retry_after_s,
    const char *cause)
{
	struct app	*app = ob->app;
	int64_t		 delay;

	switch (result) {
	case SINK_OK:
		if (store_outbox_done(app->store, id) == 0)
			app->stats.delivered++;
		log_debug("chat %s: delivery %lld done", d->name,
		    (long long)id);
		break;
	case SINK_RETRY:
		if (retry_after_s >= 0) {
			if (retry_after_s > OUTBOX_RETRY_AFTER_MAX_S)
				retry_after_s = OUTBOX_RETRY_AFTER_MAX_S;
			delay = (int64_t)(retry_after_s * 1000.0);
			d->tokens = 0;	/* the platform said slow down */
		} else
			delay = outbox_backoff_ms(attempts + 1);
		store_outbox_retry(app->store, id, now_wall_ms() + delay,
		    cause ? cause : "retry");
		app->stats.retried++;
		log_warn("chat %s: delivery %lld: %s; retry in %lld ms",
		    d->name, (long long)id, cause ? cause : "retry",
		    (long long)delay);
		break;
	case SINK_FAIL:
		store_outbox_fail(app->store, id, cause ? cause : "failed");
		app->stats.failed++;
		log_err("chat %s: delivery %lld failed for good: %s", d->name,
		    (long long)id, cause ? cause : "failed");
		break;
	}
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
		    NULL), a->id, a->attempts, a->result, a->retry_after_s,
		    a->cause);
		free(a->cause);
		free(a->dest);
		free(a);
	}
	ob->answers_tail = &ob->answers;
}

static void
outbox_done(void *arg, const struct http_response *resp)
{
	struct outbox_send	*s = arg;
	struct outbox		*ob = s->ob;
	const struct team_conf	*team;
	struct outbox_dest	*d;
	enum sink_result	 result;
	double			 retry_after = -1;
	char			*cause = NULL;

	if (resp->aborted) {
		/* Shutting down: the delivery stays pending in the store. */
		ob->in_flight--;
		free(s->dest);
		free(s);
		return;
	}
	team = config_team(ob->app->config, s->dest);
	d = outbox_dest(ob, s->dest, team ? &team->chat : NULL);
	d->in_flight = false;
	ob->in_flight--;
	if (team != NULL && team->chat.ops->response != NULL)
		result = team->chat.ops->response(&team->chat, resp,
		    &retry_after, &cause);
	else
		result = sink_classify(resp, &retry_after, &cause);
	if (store_in_transaction(ob->app->store)) {
		struct outbox_answer	*a = xcalloc(1, sizeof(*a));

		a->dest = s->dest;
		a->id = s->id;
		a->attempts = s->attempts;
		a->result = result;
		a->retry_after_s = retry_after;
		a->cause = cause;
		*ob->answers_tail = a;
		ob->answers_tail = &a->next;
		free(s);
		outbox_kick(ob);
		return;
	}
	outbox_settle(ob, d, s->id, s->attempts, result, retry_after, cause);
	free(cause);
	free(s->dest);
	free(s);
	outbox_kick(ob);
	app_check_done(ob->app);	/* a stop may be waiting for this */
}

static void
outbox_send(struct outbox *ob, struct outbox_dest *d,
    const struct team_conf *team, const struct delivery *dl)
{
	struct http_request	 req;
	struct outbox_send	*s;
	char			*cause = NULL;

	http_request_init(&req);
	if (team->chat.ops->format(&team->chat, dl, &req, &cause) != 0) {
		outbox_settle(ob, d, dl->id, dl->attempts, SINK_FAIL, -1,
		    cause);
		free(cause);
		http_request_clear(&req);
		return;
	}
	s = xcalloc(1, sizeof(*s));
	s->ob = ob;
	s->dest = xstrdup(d->name);
	s->id = dl->id;
	s->attempts = dl->attempts;
	if (http_start(ob->app->http, &req, team->chat.timeout_ms,
	    outbox_done, s) != 0) {
		outbox_settle(ob, d, dl->id, dl->attempts, SINK_RETRY, -1,
		    "cannot start HTTP request");
		free(s->dest);
		free(s);
	} else {
		d->in_flight = true;
		ob->in_flight++;
	}
	http_request_clear(&req);
}

/* Work through one destination's queue; returns when to look again
 * (wall ms) or INT64_MAX. */
static int64_t
outbox_pump_dest(struct outbox *ob, const char *name)
{
	const struct team_conf	*team = config_team(ob->app->config, name);
	struct outbox_dest	*d;
	struct delivery		 dl;
	enum sink_result	 result;
	char			*cause;
	int64_t			 now = now_wall_ms(), wake = INT64_MAX;
	int			 i, rc;

	d = outbox_dest(ob, name, team ? &team->chat : NULL);
	if (team == NULL) {
		if (!d->warned_missing)
			log_warn("chat %s: no such team in the configuration; "
			    "its deliveries stay queued", name);
		d->warned_missing = true;
		return wake;
	}
	d->warned_missing = false;
	for (i = 0; i < OUTBOX_BATCH && !d->in_flight && !ob->paused; i++) {
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
		if (team->chat.ops->write != NULL) {
			cause = NULL;
			result = team->chat.ops->write(&team->chat, &dl,
			    &cause);
			outbox_settle(ob, d, dl.id, dl.attempts, result, -1,
			    cause);
			free(cause);
		} else
			outbox_send(ob, d, team, &dl);
		delivery_free(&dl);
	}
	if (i == OUTBOX_BATCH && wake == INT64_MAX)
		wake = now;		/* more to do: come back soon */
	return wake;
}

static void
outbox_pump(struct outbox *ob)
{
	struct strv	names;
	size_t		i;
	int64_t		wake = INT64_MAX, w, now;

	outbox_settle_answers(ob);
	if (ob->paused)
		return;
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
	if (wake != INT64_MAX) {
		now = now_wall_ms();
		uv_timer_start(&ob->timer, outbox_timer_cb,
		    (uint64_t)(wake > now ? wake - now : 0), 0);
	}
	app_check_done(ob->app);
}

void
outbox_kick(struct outbox *ob)
{
	if (ob != NULL && !ob->paused)
		uv_timer_start(&ob->timer, outbox_timer_cb, 0, 0);
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
		free(a->cause);
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
