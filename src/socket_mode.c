/*
 * Slack Socket Mode: one websocket whose URL is fetched fresh from
 * apps.connections.open before every connection, and every envelope on
 * it acknowledged by its envelope_id as soon as its command ran.
 */
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "socket_mode.h"
#include "socket_mode_msg.h"
#include "util.h"
#include "ws.h"

#define SOCKET_MODE_OPEN_TIMEOUT_MS	10000
/* Failed opens: 1-2 s first, doubling, 2.5-5 min at most. */
#define SOCKET_MODE_BACKOFF_MIN_MS	1000
#define SOCKET_MODE_BACKOFF_MAX_MS	300000
#define SOCKET_MODE_IDLE_TIMEOUT_MS	30000
#define SOCKET_MODE_MAX_MESSAGE		(1024 * 1024)
/* Answers kept for envelopes Slack sends again (it retries when an ack
 * was lost with a connection): a command must not run twice. */
#define SOCKET_MODE_RECENT		32
#define SOCKET_MODE_LOG_MAX		SOCKET_MODE_MSG_PRINTABLE

/*
 * One apps.connections.open in flight.  A separate allocation, because
 * http.h cannot cancel a transfer: socket_mode_free only cuts the link,
 * and the done callback (always called, if need be by http_free) frees
 * it.
 */
struct socket_mode_call {
	struct socket_mode	*sm;	/* NULL once orphaned */
};

struct socket_mode_recent {
	char	*envelope_id;
	char	*ack;
};

struct socket_mode {
	uv_loop_t			*loop;
	struct http			*http;
	struct socket_mode_handlers	 h;
	void				*arg;
	struct ws			*ws;
	bool				 running;
	bool				 ws_started;
	bool				 hello;	/* on this socket */

	/* apps.connections.open: the request in flight, the URL it gave
	 * that no connection used yet, failures in a row and the timer
	 * of the next try after one. */
	struct socket_mode_call		*call;
	char				*fresh_url;
	unsigned			 failures;
	uv_timer_t			 timer;

	struct socket_mode_recent	 recent[SOCKET_MODE_RECENT];
	size_t				 recent_next;

	uint64_t			 opens, open_failures;
	uint64_t			 envelopes, commands, retried, bad;
};

static void	socket_mode_open(struct socket_mode *);

static void
socket_mode_bad(struct socket_mode *sm, const char *why)
{
	sm->bad++;
	log_debug("socket mode: skipped a bad message: %s", why);
}

static void
socket_mode_timer_cb(uv_timer_t *t)
{
	socket_mode_open(t->data);
}

/* Schedule the next open: exponential backoff with jitter, and no
 * sooner than a Retry-After. */
static void
socket_mode_open_failed(struct socket_mode *sm, const char *why,
    double retry_after)
{
	uint64_t	base, delay;
	unsigned	shift = sm->failures < 20 ? sm->failures : 20;

	sm->open_failures++;
	sm->failures++;
	base = (uint64_t)SOCKET_MODE_BACKOFF_MIN_MS << shift;
	if (base > SOCKET_MODE_BACKOFF_MAX_MS / 2)
		base = SOCKET_MODE_BACKOFF_MAX_MS / 2;
	/* Never below base: a daemon refused for a bad token must not
	 * hammer the API; random above it so a fleet spreads out. */
	delay = base + (uint64_t)(random_unit() * (double)base);
	if (retry_after > 0 && retry_after * 1000 > (double)delay)
		delay = retry_after * 1000 > SOCKET_MODE_BACKOFF_MAX_MS ?
		    SOCKET_MODE_BACKOFF_MAX_MS : (uint64_t)(retry_after * 1000);
	log_warn("socket mode: apps.connections.open failed: %s; retrying in "
	    "%.1f s", why, (double)delay / 1000);
	uv_timer_start(&sm->timer, socket_mode_timer_cb, delay, 0);
}

static void
socket_mode_open_done(void *arg, const struct http_response *resp)
{
	struct socket_mode_call	*call = arg;
	struct socket_mode	*sm = call->sm;
	char			*url, *cause = NULL;

	free(call);
	if (sm == NULL)
		return;
	sm->call = NULL;
	if (resp->aborted || !sm->running)
		return;
	url = socket_mode_msg_open_url(resp->error, resp->status, resp->body,
	    resp->body_len, &cause);
	if (url == NULL) {
		socket_mode_open_failed(sm, cause, resp->retry_after);
		free(cause);
		return;
	}
	sm->failures = 0;
	free(sm->fresh_url);
	sm->fresh_url = url;
	/* A socket still open is one Slack asked us to leave: drop it,
	 * and the reconnect takes the new URL. */
	if (sm->ws_started && ws_connected(sm->ws))
		ws_reconnect(sm->ws, "Slack asked for a new connection");
	else {
		sm->ws_started = true;
		ws_start(sm->ws);	/* connect now, not at its retry */
	}
}

/* POST apps.connections.open with the app-level token as a header
 * (Slack refuses it as a form parameter). */
static void
socket_mode_open(struct socket_mode *sm)
{
	struct http_request	 req;
	const char		*token, *api;
	size_t			 n;

	if (!sm->running || sm->call != NULL)
		return;
	token = sm->h.app_token(sm->arg);
	api = sm->h.api_url(sm->arg);
	if (token == NULL || *token == '\0' || api == NULL || *api == '\0') {
		socket_mode_open_failed(sm, "no app_token or api_url", -1);
		return;
	}
	n = strlen(api);
	http_request_init(&req);
	req.url = xasprintf("%s%sapps.connections.open", api,
	    api[n - 1] == '/' ? "" : "/");
	strv_take(&req.headers, xasprintf("Authorization: Bearer %s", token));
	strv_add(&req.headers,
	    "Content-Type: application/x-www-form-urlencoded");
	sm->call = xcalloc(1, sizeof(*sm->call));
	sm->call->sm = sm;
	sm->opens++;
	log_debug("socket mode: asking for a connection URL");
	if (http_start(sm->http, &req, SOCKET_MODE_OPEN_TIMEOUT_MS,
	    socket_mode_open_done, sm->call) != 0) {
		free(sm->call);
		sm->call = NULL;
		socket_mode_open_failed(sm, "cannot start the request", -1);
	}
	http_request_clear(&req);
}

/*
 * The websocket's next URL: each one is used once, so a socket that
 * dropped or was refused never returns to an old ticket.  Without one,
 * ask for one (unless a request or its backoff is under way); its
 * answer starts the connection.
 */
static char *
socket_mode_ws_url(void *arg)
{
	struct socket_mode	*sm = arg;
	char			*url = sm->fresh_url;

	sm->hello = false;
	if (url != NULL) {
		sm->fresh_url = NULL;
		return url;
	}
	if (sm->running && sm->call == NULL && !uv_is_active(
	    (uv_handle_t *)&sm->timer))
		socket_mode_open(sm);
	return NULL;
}

static void
socket_mode_ws_opened(void *arg)
{
	(void)arg;
	log_debug("socket mode: websocket open, waiting for hello");
}

static void
socket_mode_ws_closed(void *arg, const char *reason)
{
	struct socket_mode	*sm = arg;

	sm->hello = false;
	log_info("socket mode: connection ended (%s); a new URL follows",
	    reason);
}

static void
socket_mode_ws_oversize(void *arg, size_t len)
{
	struct socket_mode	*sm = arg;

	sm->bad++;
	log_debug("socket mode: skipped a %zu-byte message", len);
}

static const char *
socket_mode_recent_ack(struct socket_mode *sm, const char *id)
{
	size_t	i;

	for (i = 0; i < SOCKET_MODE_RECENT; i++)
		if (sm->recent[i].envelope_id != NULL &&
		    strcmp(sm->recent[i].envelope_id, id) == 0)
			return sm->recent[i].ack;
	return NULL;
}

static void
socket_mode_remember(struct socket_mode *sm, const char *id, char *ack)
{
	struct socket_mode_recent	*r = &sm->recent[sm->recent_next];

	free(r->envelope_id);
	free(r->ack);
	r->envelope_id = xstrdup(id);
	r->ack = ack;
	sm->recent_next = (sm->recent_next + 1) % SOCKET_MODE_RECENT;
}

/*
 * Run the slash command of envelope m; its answer (caller frees), or
 * NULL.  *ran tells whether the command ran at all.
 */
static char *
socket_mode_command(struct socket_mode *sm, const struct socket_mode_msg *m,
    bool *ran)
{
	char	user[SOCKET_MODE_LOG_MAX], channel[SOCKET_MODE_LOG_MAX];
	char	command[SOCKET_MODE_LOG_MAX];

	*ran = false;
	if (m->command_why != NULL) {
		socket_mode_bad(sm, m->command_why);
		return NULL;
	}
	socket_mode_msg_printable(m->req.command, command, sizeof(command));
	socket_mode_msg_printable(m->req.user_id, user, sizeof(user));
	socket_mode_msg_printable(m->req.channel_id, channel, sizeof(channel));
	log_info("socket mode: slack command %s from %s in %s", command, user,
	    channel);
	sm->commands++;
	*ran = true;
	return sm->h.command(sm->arg, &m->req);
}

/* Acknowledge an envelope, with the command's answer for a slash
 * command: Slack shows an error unless the ack comes within 3 s. */
static void
socket_mode_envelope(struct socket_mode *sm, const struct socket_mode_msg *m)
{
	const char	*prev, *id = m->envelope_id;
	char		*answer = NULL, *text, safe[SOCKET_MODE_LOG_MAX];
	bool		 ran = false, answered;

	sm->envelopes++;
	socket_mode_msg_printable(id, safe, sizeof(safe));
	prev = socket_mode_recent_ack(sm, id);
	if (prev != NULL) {
		sm->retried++;
		log_info("socket mode: envelope %s sent again; answering as "
		    "before without running it again", safe);
		ws_send(sm->ws, prev, strlen(prev));
		return;
	}
	if (m->slash_command)
		answer = socket_mode_command(sm, m, &ran);
	else
		log_debug("socket mode: %s envelope %s acknowledged",
		    m->envelope_type != NULL ? m->envelope_type : "untyped",
		    safe);
	text = socket_mode_msg_ack(id, answer, &answered);
	free(answer);
	if (ran && !answered)
		log_warn("socket mode: the command gave no answer to send");
	/* The command ran all the same; only its answer stays here. */
	if (text != NULL && answered && !m->accepts_response_payload) {
		free(text);
		text = socket_mode_msg_ack(id, NULL, NULL);
	}
	if (text == NULL) {
		log_err("socket mode: cannot encode the ack of %s", safe);
		return;
	}
	ws_send(sm->ws, text, strlen(text));
	socket_mode_remember(sm, id, text);
}

static void
socket_mode_disconnect(struct socket_mode *sm, const char *reason)
{
	log_info("socket mode: Slack asks to reconnect (%s); opening a new "
	    "connection", reason[0] != '\0' ? reason : "no reason");
	/* The old socket serves until the new URL is here. */
	if (sm->call == NULL && sm->fresh_url == NULL &&
	    !uv_is_active((uv_handle_t *)&sm->timer))
		socket_mode_open(sm);
}

static void
socket_mode_ws_message(void *arg, const char *buf, size_t len, bool binary)
{
	struct socket_mode	*sm = arg;
	struct socket_mode_msg	 m;

	if (socket_mode_msg_parse(buf, len, binary, &m) != 0)
		socket_mode_bad(sm, m.why);
	else if (m.type == SOCKET_MODE_MSG_HELLO) {
		sm->hello = true;
		log_info("socket mode: connected, Slack said hello");
	} else if (m.type == SOCKET_MODE_MSG_DISCONNECT)
		socket_mode_disconnect(sm, m.reason);
	else
		socket_mode_envelope(sm, &m);
	socket_mode_msg_clear(&m);
}

static const struct ws_callbacks socket_mode_ws_callbacks = {
	.url = socket_mode_ws_url,
	.opened = socket_mode_ws_opened,
	.message = socket_mode_ws_message,
	.oversize = socket_mode_ws_oversize,
	.closed = socket_mode_ws_closed,
};

struct socket_mode *
socket_mode_new(uv_loop_t *loop, struct lws_context *lws, struct http *http,
    const struct socket_mode_handlers *h, void *arg)
{
	struct socket_mode	*sm = xcalloc(1, sizeof(*sm));
	struct ws_params	 p;

	sm->loop = loop;
	sm->http = http;
	sm->h = *h;
	sm->arg = arg;
	memset(&p, 0, sizeof(p));
	p.role = "slack";
	p.name = "socket mode";
	p.idle_timeout_ms = SOCKET_MODE_IDLE_TIMEOUT_MS;
	p.reconnect_min_ms = SOCKET_MODE_BACKOFF_MIN_MS;
	p.reconnect_max_ms = SOCKET_MODE_BACKOFF_MAX_MS;
	p.max_message = SOCKET_MODE_MAX_MESSAGE;
	sm->ws = ws_new(lws, loop, &p, &socket_mode_ws_callbacks, sm);
	uv_timer_init(loop, &sm->timer);
	sm->timer.data = sm;
	return sm;
}

void
socket_mode_start(struct socket_mode *sm)
{
	if (sm->running)
		return;
	sm->running = true;
	log_info("socket mode: starting");
	socket_mode_open(sm);
}

void
socket_mode_stop(struct socket_mode *sm)
{
	if (sm == NULL)
		return;
	sm->running = false;
	sm->hello = false;
	uv_timer_stop(&sm->timer);
	ws_stop(sm->ws);
	free(sm->fresh_url);
	sm->fresh_url = NULL;
}

static void
socket_mode_closed(uv_handle_t *h)
{
	free(h->data);
}

void
socket_mode_free(struct socket_mode *sm)
{
	size_t	i;

	if (sm == NULL)
		return;
	socket_mode_stop(sm);
	if (sm->call != NULL)
		sm->call->sm = NULL;
	ws_free(sm->ws);
	for (i = 0; i < SOCKET_MODE_RECENT; i++) {
		free(sm->recent[i].envelope_id);
		free(sm->recent[i].ack);
	}
	log_info("socket mode: %llu URL requests (%llu failed), %llu "
	    "envelopes (%llu commands, %llu sent again), %llu bad messages",
	    (unsigned long long)sm->opens,
	    (unsigned long long)sm->open_failures,
	    (unsigned long long)sm->envelopes,
	    (unsigned long long)sm->commands,
	    (unsigned long long)sm->retried, (unsigned long long)sm->bad);
	uv_close((uv_handle_t *)&sm->timer, socket_mode_closed);
}

bool
socket_mode_connected(const struct socket_mode *sm)
{
	return sm != NULL && sm->hello && ws_connected(sm->ws);
}
