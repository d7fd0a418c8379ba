/*
 * The shared websocket client: connection lifecycle, message assembly,
 * idle watchdog and reconnect backoff, for every streaming source.
 */
#include <arpa/inet.h>
#include <libwebsockets.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "ws.h"

struct ws_out {
	char		*data;		/* LWS_PRE bytes of headroom first */
	size_t		 len;
	struct ws_out	*next;
};

struct ws {
	struct lws_context		*ctx;
	uv_loop_t			*loop;
	struct ws_params		 params;
	char				*name;
	const struct ws_callbacks	*cb;
	void				*arg;

	struct lws			*wsi;
	bool				 connected;
	bool				 running;	/* reconnects wanted */
	bool				 freed;		/* ws_free called */
	unsigned			 attempt;	/* since last message */
	unsigned			 reconnects;
	int64_t				 last_rx_ms;
	bool				 ping_due;
	bool				 ping_sent;
	bool				 closing;	/* close at next write */

	struct buf			 rx;
	size_t				 rx_total;
	bool				 rx_oversize;
	bool				 rx_binary;

	struct ws_out			*out_head, *out_tail;

	uv_timer_t			 retry_timer;
	uv_timer_t			 idle_timer;
	int				 open_handles;

	/* The name lookup before a connection, off the loop's thread. */
	uv_getaddrinfo_t		 resolve;
	bool				 resolving;
	char				*resolve_url;	/* the attempt's URL */
};

static void	ws_try_free(struct ws *);
static void	ws_connect(struct ws *);

static void
ws_retry_cb(uv_timer_t *t)
{
	ws_connect(t->data);
}

static void
ws_out_clear(struct ws *ws)
{
	struct ws_out	*o, *next;

	for (o = ws->out_head; o != NULL; o = next) {
		next = o->next;
		free(o->data);
		free(o);
	}
	ws->out_head = ws->out_tail = NULL;
}

static void
ws_schedule_retry(struct ws *ws)
{
	uint64_t	delay, cap = (uint64_t)ws->params.reconnect_max_ms;
	unsigned	shift = ws->attempt < 20 ? ws->attempt : 20;

	if (!ws->running)
		return;
	delay = (uint64_t)ws->params.reconnect_min_ms << shift;
	if (delay > cap)
		delay = cap;
	/* "Equal jitter": half fixed, half random, so a fleet of daemons
	 * does not reconnect in lockstep after a relay restarts. */
	delay = delay / 2 + (uint64_t)(random_unit() * (double)(delay / 2));
	ws->attempt++;
	log_info("%s: reconnecting in %llu ms", ws->name,
	    (unsigned long long)delay);
	uv_timer_start(&ws->retry_timer, ws_retry_cb, delay, 0);
}

/*
 * Start the connection to url, at the numeric address ip when given
 * (then the URL's host still goes in Host, SNI and the certificate
 * check).
 */
static void
ws_open(struct ws *ws, const char *url, const char *ip)
{
	struct lws_client_connect_info	 ci;
	char				*copy, *path;
	const char			*proto, *address, *upath;
	int				 port;

	copy = xstrdup(url);
	if (lws_parse_uri(copy, &proto, &address, &port, &upath) != 0) {
		log_err("%s: bad URL", ws->name);
		free(copy);
		ws_schedule_retry(ws);
		return;
	}
	path = xasprintf("%s%s", *upath == '/' ? "" : "/", upath);
	memset(&ci, 0, sizeof(ci));
	ci.context = ws->ctx;
	ci.address = ip != NULL ? ip : address;
	ci.port = port;
	ci.path = path;
	ci.host = address;
	ci.origin = address;
	if (strcmp(proto, "wss") == 0 || strcmp(proto, "https") == 0)
		ci.ssl_connection = LCCSCF_USE_SSL;
	ci.local_protocol_name = "sb-ws-client";
	ci.pwsi = &ws->wsi;
	ci.opaque_user_data = ws;
	/* Not the query: it may hold a one-time ticket (Socket Mode). */
	log_debug("%s: connecting to %s://%s:%d%.*s%s%s%s", ws->name, proto,
	    address, port, (int)strcspn(path, "?"), path, ip != NULL ? " (" :
	    "", ip != NULL ? ip : "", ip != NULL ? ")" : "");
	if (lws_client_connect_via_info(&ci) == NULL) {
		log_warn("%s: cannot start connection", ws->name);
		ws->wsi = NULL;
		ws_schedule_retry(ws);
	}
	free(path);
	free(copy);
}

/*
 * A name looked up: connect to one of its addresses, a different one
 * on each failed attempt in a row, so a host whose IPv6 address is
 * unreachable is still reached over IPv4.
 */
static void
ws_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct ws	*ws = req->data;
	struct addrinfo	*ai;
	char		 ip[INET6_ADDRSTRLEN], *url = ws->resolve_url;
	const void	*addr;
	unsigned	 n = 0, pick;

	ws->resolving = false;
	ws->resolve_url = NULL;
	for (ai = res; ai != NULL; ai = ai->ai_next)
		if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
			n++;
	if (!ws->running || ws->freed) {
		/* Stopped meanwhile: nothing to connect. */
	} else if (status < 0 || n == 0) {
		log_warn("%s: cannot resolve the host of its URL: %s",
		    ws->name, status < 0 ? uv_strerror(status) :
		    "no IPv4 or IPv6 address");
		ws_schedule_retry(ws);
	} else {
		pick = ws->attempt % n;
		for (ai = res; ai != NULL; ai = ai->ai_next) {
			if (ai->ai_family != AF_INET &&
			    ai->ai_family != AF_INET6)
				continue;
			if (pick-- == 0)
				break;
		}
		addr = ai->ai_family == AF_INET ?
		    (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr :
		    (const void *)&((struct sockaddr_in6 *)
		    ai->ai_addr)->sin6_addr;
		if (inet_ntop(ai->ai_family, addr, ip, sizeof(ip)) == NULL) {
			log_warn("%s: cannot format a resolved address",
			    ws->name);
			ws_schedule_retry(ws);
		} else
			ws_open(ws, url, ip);
	}
	uv_freeaddrinfo(res);
	free(url);
	ws_try_free(ws);
}

/*
 * Connect to the URL the owner gives.  A host name is looked up with
 * uv_getaddrinfo first: lws' own lookup blocks the loop, which would
 * stall every source, delivery and the 3 s slash-command answers for
 * as long as a slow resolver takes.
 */
static void
ws_connect(struct ws *ws)
{
	struct addrinfo	 hints;
	struct in6_addr	 a6;
	char		*url, *copy;
	const char	*proto, *address, *upath;
	int		 port, rc;

	if (!ws->running || ws->wsi != NULL || ws->resolving)
		return;
	url = ws->cb->url(ws->arg);
	if (url == NULL) {
		ws_schedule_retry(ws);
		return;
	}
	copy = xstrdup(url);
	if (lws_parse_uri(copy, &proto, &address, &port, &upath) != 0) {
		log_err("%s: bad URL", ws->name);
		free(copy);
		free(url);
		ws_schedule_retry(ws);
		return;
	}
	if (inet_pton(AF_INET, address, &a6) == 1 ||
	    inet_pton(AF_INET6, address, &a6) == 1) {
		ws_open(ws, url, NULL);
		free(copy);
		free(url);
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	ws->resolve.data = ws;
	ws->resolve_url = url;
	ws->resolving = true;
	rc = uv_getaddrinfo(ws->loop, &ws->resolve, ws_resolved, address,
	    NULL, &hints);
	free(copy);
	if (rc < 0) {
		ws->resolving = false;
		ws->resolve_url = NULL;
		free(url);
		log_warn("%s: cannot look up its host: %s", ws->name,
		    uv_strerror(rc));
		ws_schedule_retry(ws);
	}
}

/*
 * Close the connection from anywhere, even inside an lws callback: the
 * next WRITEABLE returns -1.  A socket that never becomes writable is
 * still killed by lws' own timeout, later.
 */
static void
ws_kill(struct ws *ws)
{
	if (ws->wsi == NULL || ws->closing)
		return;
	ws->closing = true;
	lws_callback_on_writable(ws->wsi);
	lws_set_timeout(ws->wsi, PENDING_TIMEOUT_USER_OK, 5);
}

static void
ws_idle_cb(uv_timer_t *t)
{
	struct ws	*ws = t->data;
	int64_t		 quiet;

	if (!ws->connected || ws->wsi == NULL || ws->closing)
		return;
	quiet = now_mono_ms() - ws->last_rx_ms;
	if (quiet >= ws->params.idle_timeout_ms) {
		log_warn("%s: no data or pong for %lld ms, reconnecting",
		    ws->name, (long long)quiet);
		ws_kill(ws);
	} else if (quiet >= ws->params.idle_timeout_ms / 2 && !ws->ping_sent) {
		ws->ping_due = true;
		lws_callback_on_writable(ws->wsi);
	}
}

static void
ws_rx(struct ws *ws, struct lws *wsi, const void *in, size_t len)
{
	if (lws_is_first_fragment(wsi)) {
		buf_reset(&ws->rx);
		ws->rx_total = 0;
		ws->rx_oversize = false;
		ws->rx_binary = lws_frame_is_binary(wsi);
	}
	ws->rx_total += len;
	if (ws->rx_total > ws->params.max_message) {
		if (!ws->rx_oversize)
			buf_free(&ws->rx);
		ws->rx_oversize = true;
	} else
		buf_add(&ws->rx, in, len);
	if (!lws_is_final_fragment(wsi))
		return;
	ws->attempt = 0;
	if (ws->rx_oversize) {
		if (ws->cb->oversize != NULL)
			ws->cb->oversize(ws->arg, ws->rx_total);
	} else
		ws->cb->message(ws->arg, ws->rx.data ? ws->rx.data : "",
		    ws->rx.len, ws->rx_binary);
	buf_reset(&ws->rx);
	ws->rx_total = 0;
}

static int
ws_writeable(struct ws *ws, struct lws *wsi)
{
	unsigned char	 ping[LWS_PRE + 4];
	struct ws_out	*o;

	if (ws->ping_due) {
		ws->ping_due = false;
		ws->ping_sent = true;
		if (lws_write(wsi, ping + LWS_PRE, 0, LWS_WRITE_PING) < 0)
			return -1;
	} else if ((o = ws->out_head) != NULL) {
		ws->out_head = o->next;
		if (ws->out_head == NULL)
			ws->out_tail = NULL;
		if (lws_write(wsi, (unsigned char *)o->data + LWS_PRE, o->len,
		    LWS_WRITE_TEXT) < (int)o->len) {
			free(o->data);
			free(o);
			return -1;
		}
		free(o->data);
		free(o);
	}
	if (ws->ping_due || ws->out_head != NULL)
		lws_callback_on_writable(wsi);
	return 0;
}

static void
ws_gone(struct ws *ws, struct lws *wsi, const char *reason)
{
	bool	was = ws->connected;

	/* Later callbacks for this wsi (WSI_DESTROY) must not find us. */
	lws_set_opaque_user_data(wsi, NULL);
	ws->wsi = NULL;
	ws->connected = false;
	ws->closing = false;
	ws->ping_sent = ws->ping_due = false;
	buf_reset(&ws->rx);
	if (was) {
		ws->reconnects++;
		if (ws->cb->closed != NULL && !ws->freed)
			ws->cb->closed(ws->arg, reason);
	}
	if (ws->freed) {
		ws_try_free(ws);
		return;
	}
	ws_schedule_retry(ws);
}

/* Add the source's handshake headers (lws wants "name:" lower-case). */
static int
ws_append_headers(struct ws *ws, struct lws *wsi, void *in, size_t len)
{
	unsigned char	**p = in, *end = *p + len;
	struct strv	  hs;
	size_t		  i, n;
	char		 *name, *value;
	int		  rc = 0;

	if (ws->cb->headers == NULL)
		return 0;
	strv_init(&hs);
	ws->cb->headers(ws->arg, &hs);
	for (i = 0; i < hs.n && rc == 0; i++) {
		n = strcspn(hs.v[i], ":");
		if (hs.v[i][n] != ':')
			continue;
		name = xasprintf("%.*s:", (int)n, hs.v[i]);
		for (value = name; *value != '\0'; value++)
			if (*value >= 'A' && *value <= 'Z')
				*value = (char)(*value - 'A' + 'a');
		value = hs.v[i] + n + 1;
		while (*value == ' ')
			value++;
		if (lws_add_http_header_by_name(wsi, (unsigned char *)name,
		    (unsigned char *)value, (int)strlen(value), p, end) != 0)
			rc = -1;
		free(name);
	}
	strv_free(&hs);
	return rc;
}

static int
ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct ws	*ws = wsi ? lws_get_opaque_user_data(wsi) : NULL;

	(void)user;
	if (ws == NULL)
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		log_warn("%s: connection failed: %s", ws->name,
		    in ? (const char *)in : "unknown error");
		ws_gone(ws, wsi, in ? in : "connection error");
		return 0;
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		return ws_append_headers(ws, wsi, in, len);
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		log_info("%s: connected", ws->name);
		ws->connected = true;
		ws->last_rx_ms = now_mono_ms();
		if (ws->cb->opened != NULL && !ws->freed)
			ws->cb->opened(ws->arg);
		if (ws->out_head != NULL)
			lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		ws->last_rx_ms = now_mono_ms();
		ws->ping_sent = false;
		if (!ws->freed && ws->running)
			ws_rx(ws, wsi, in, len);
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
		ws->last_rx_ms = now_mono_ms();
		ws->ping_sent = false;
		return 0;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (!ws->running || ws->closing)
			return -1;
		return ws_writeable(ws, wsi);
	case LWS_CALLBACK_CLIENT_CLOSED:
		log_info("%s: connection closed", ws->name);
		ws_gone(ws, wsi, "closed");
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		ws_gone(ws, wsi, "destroyed");
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols ws_protocols[] = {
	{ "sb-ws-client", ws_callback, 0, 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void
ws_lws_log(int level, const char *line)
{
	size_t	n = strlen(line);

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	log_at(level == LLL_ERR ? LOG_ERR : LOG_DEBUG, "lws: %.*s", (int)n,
	    line);
}

struct lws_context *
ws_context_new(uv_loop_t *loop)
{
	struct lws_context_creation_info	 info;
	void					*foreign[1] = { loop };

	lws_set_log_level(LLL_ERR | LLL_WARN, ws_lws_log);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = ws_protocols;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
	    LWS_SERVER_OPTION_LIBUV;
	info.foreign_loops = foreign;
	return lws_create_context(&info);
}

void
ws_context_free(struct lws_context *ctx, uv_loop_t *loop)
{
	if (ctx == NULL)
		return;
	/* On a foreign libuv loop lws closes its handles asynchronously:
	 * the first call starts, the loop runs them closed, the second
	 * call frees the rest (lws issue #1969). */
	lws_context_destroy(ctx);
	uv_run(loop, UV_RUN_DEFAULT);
	lws_context_destroy(ctx);
}

static void
ws_handle_closed(uv_handle_t *h)
{
	struct ws	*ws = h->data;

	ws->open_handles--;
	ws_try_free(ws);
}

struct ws *
ws_new(struct lws_context *ctx, uv_loop_t *loop, const struct ws_params *p,
    const struct ws_callbacks *cb, void *arg)
{
	struct ws	*ws = xcalloc(1, sizeof(*ws));

	ws->ctx = ctx;
	ws->loop = loop;
	ws->params = *p;
	ws->name = xasprintf("%s %s", p->role != NULL ? p->role : "source",
	    p->name);
	ws->params.name = ws->name;
	ws->cb = cb;
	ws->arg = arg;
	buf_init(&ws->rx);
	uv_timer_init(loop, &ws->retry_timer);
	uv_timer_init(loop, &ws->idle_timer);
	ws->retry_timer.data = ws->idle_timer.data = ws;
	ws->open_handles = 2;
	return ws;
}

void
ws_start(struct ws *ws)
{
	uint64_t	tick = (uint64_t)ws->params.idle_timeout_ms / 8;

	ws->running = true;
	uv_timer_start(&ws->idle_timer, ws_idle_cb, tick ? tick : 1,
	    tick ? tick : 1);
	uv_timer_start(&ws->retry_timer, ws_retry_cb, 0, 0);
}

void
ws_stop(struct ws *ws)
{
	ws->running = false;
	uv_timer_stop(&ws->retry_timer);
	uv_timer_stop(&ws->idle_timer);
	ws_out_clear(ws);
	ws_kill(ws);
	/* A lookup not yet running ends now, with UV_ECANCELED. */
	if (ws->resolving)
		uv_cancel((uv_req_t *)&ws->resolve);
}

static void
ws_try_free(struct ws *ws)
{
	if (!ws->freed || ws->wsi != NULL || ws->open_handles > 0 ||
	    ws->resolving)
		return;
	buf_free(&ws->rx);
	ws_out_clear(ws);
	free(ws->name);
	free(ws);
}

void
ws_free(struct ws *ws)
{
	if (ws == NULL)
		return;
	ws_stop(ws);
	ws->freed = true;
	uv_close((uv_handle_t *)&ws->retry_timer, ws_handle_closed);
	uv_close((uv_handle_t *)&ws->idle_timer, ws_handle_closed);
}

bool
ws_connected(const struct ws *ws)
{
	return ws->connected;
}

void
ws_send(struct ws *ws, const char *text, size_t len)
{
	struct ws_out	*o = xcalloc(1, sizeof(*o));

	o->data = xmalloc(LWS_PRE + len);
	memcpy(o->data + LWS_PRE, text, len);
	o->len = len;
	if (ws->out_tail != NULL)
		ws->out_tail->next = o;
	else
		ws->out_head = o;
	ws->out_tail = o;
	if (ws->connected && ws->wsi != NULL)
		lws_callback_on_writable(ws->wsi);
}

void
ws_reconnect(struct ws *ws, const char *why)
{
	log_info("%s: reconnecting: %s", ws->name, why);
	ws_kill(ws);
}

unsigned
ws_reconnects(const struct ws *ws)
{
	return ws->reconnects;
}
