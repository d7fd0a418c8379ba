/*
 * The HTTP listener: one lws vhost on the daemon's context, routing
 * /healthz, /readyz, /metrics and the slash-command endpoints, holding
 * each request's body until it is verified, and writing the answer.
 */
#include <libwebsockets.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "slash.h"
#include "util.h"

#define LISTENER_BODY_TIMEOUT	10	/* seconds for a whole body */
#define LISTENER_FORM		"application/x-www-form-urlencoded"

enum listener_route {
	LISTENER_NONE,
	LISTENER_HEALTHZ,
	LISTENER_READYZ,
	LISTENER_METRICS,
	LISTENER_SLACK,
	LISTENER_MATTERMOST
};

enum listener_phase {
	LISTENER_IDLE,		/* no answer yet */
	LISTENER_HEADERS,	/* answer ready, headers to write */
	LISTENER_BODY		/* headers written, body to write */
};

struct listener {
	struct lws_vhost		*vhost;
	const struct listener_handlers	*h;
	void				*arg;
	int				 port;
	struct slash_replay		*replay;
	char				*address;	/* lws keeps a pointer to
							 * it; a reload frees the
							 * config's */
};

/* Per connection, zeroed by lws; reset for each request it carries. */
struct listener_session {
	enum listener_route	 route;
	enum listener_phase	 phase;
	struct buf		 body;
	size_t			 expect;	/* Content-Length */
	int64_t			 deadline;	/* for the whole body, ms */
	int			 status;
	const char		*ctype;
	const char		*allow;		/* for 405 */
	char			*reply;
	size_t			 reply_len;
	bool			 close;		/* body left unread */
};

static void
listener_session_clear(struct listener_session *s)
{
	buf_free(&s->body);
	free(s->reply);
	memset(s, 0, sizeof(*s));
}

/* A known header's value, or NULL when absent.  Caller frees. */
static char *
listener_header(struct lws *wsi, enum lws_token_indexes tok)
{
	int	 len = lws_hdr_total_length(wsi, tok);
	char	*v;

	if (len <= 0)
		return NULL;
	v = xmalloc((size_t)len + 1);
	if (lws_hdr_copy(wsi, v, len + 1, tok) < 0) {
		free(v);
		return NULL;
	}
	return v;
}

/* A custom header by its lower-case "name:"; -1 (absent) on h2. */
static char *
listener_custom(struct lws *wsi, const char *name)
{
	int	 nlen = (int)strlen(name), len;
	char	*v;

	len = lws_hdr_custom_length(wsi, name, nlen);
	if (len < 0)
		return NULL;
	v = xmalloc((size_t)len + 1);
	if (lws_hdr_custom_copy(wsi, v, len + 1, name, nlen) < 0) {
		free(v);
		return NULL;
	}
	return v;
}

/* Queue the answer; the next WRITEABLE sends it. */
static void
listener_answer(struct lws *wsi, struct listener_session *s, int status,
    const char *ctype, char *body)
{
	free(s->reply);
	s->status = status;
	s->ctype = ctype;
	s->reply = body != NULL ? body : xstrdup("");
	s->reply_len = strlen(s->reply);
	s->phase = LISTENER_HEADERS;
	lws_callback_on_writable(wsi);
}

static void
listener_text(struct lws *wsi, struct listener_session *s, int status,
    const char *text)
{
	listener_answer(wsi, s, status, "text/plain; charset=utf-8",
	    xasprintf("%s\n", text));
}

static const char *
listener_platform(enum listener_route r)
{
	return r == LISTENER_SLACK ? "slack" : "mattermost";
}

static int
listener_write_headers(struct lws *wsi, struct listener_session *s)
{
	unsigned char	 buf[LWS_PRE + 512], *start = buf + LWS_PRE;
	unsigned char	*p = start, *end = buf + sizeof(buf) - 1;

	if (lws_add_http_common_headers(wsi, (unsigned)s->status, s->ctype,
	    s->reply_len, &p, end) != 0)
		return -1;
	if (s->allow != NULL && lws_add_http_header_by_name(wsi,
	    (const unsigned char *)"allow:", (const unsigned char *)s->allow,
	    (int)strlen(s->allow), &p, end) != 0)
		return -1;
	if (s->close && lws_add_http_header_by_token(wsi,
	    WSI_TOKEN_CONNECTION, (const unsigned char *)"close", 5, &p,
	    end) != 0)
		return -1;
	if (lws_finalize_write_http_header(wsi, start, &p, end) != 0)
		return -1;
	return 0;
}

/* Returns what the lws callback returns: -1 closes the connection. */
static int
listener_writeable(struct lws *wsi, struct listener_session *s)
{
	unsigned char	*out;
	int		 rc;

	switch (s->phase) {
	case LISTENER_IDLE:
		return 0;
	case LISTENER_HEADERS:
		if (listener_write_headers(wsi, s) != 0)
			return -1;
		s->phase = LISTENER_BODY;
		if (s->reply_len > 0) {
			lws_callback_on_writable(wsi);
			return 0;
		}
		break;
	case LISTENER_BODY:
		out = xmalloc(LWS_PRE + s->reply_len);
		memcpy(out + LWS_PRE, s->reply, s->reply_len);
		rc = lws_write(wsi, out + LWS_PRE, s->reply_len,
		    LWS_WRITE_HTTP_FINAL);
		free(out);
		if (rc < (int)s->reply_len)
			return -1;
		break;
	}
	/* An unread body would be taken for the next request. */
	if (s->close)
		return -1;
	listener_session_clear(s);
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* Content-Type is the form type, parameters (charset) allowed. */
static bool
listener_form_type(struct lws *wsi)
{
	char	*ct = listener_header(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE);
	size_t	 n = strlen(LISTENER_FORM);
	bool	 ok;

	ok = ct != NULL && strncasecmp(ct, LISTENER_FORM, n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
	free(ct);
	return ok;
}

/* Content-Length as a number; -1 if absent or malformed. */
static long long
listener_content_length(struct lws *wsi)
{
	char		*v;
	long long	 n = 0;
	size_t		 i;

	v = listener_header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
	if (v == NULL)
		return -1;
	for (i = 0; v[i] != '\0'; i++) {
		if (v[i] < '0' || v[i] > '9' || i >= 15) {
			free(v);
			return -1;
		}
		n = n * 10 + (v[i] - '0');
	}
	free(v);
	return i == 0 ? -1 : n;
}

static const char *
listener_method(struct lws *wsi)
{
	static const struct {
		enum lws_token_indexes	 tok;
		const char		*name;
	} methods[] = {
		{ WSI_TOKEN_GET_URI, "GET" },
		{ WSI_TOKEN_POST_URI, "POST" },
		{ WSI_TOKEN_HEAD_URI, "HEAD" },
		{ WSI_TOKEN_PUT_URI, "PUT" },
		{ WSI_TOKEN_PATCH_URI, "PATCH" },
		{ WSI_TOKEN_DELETE_URI, "DELETE" },
		{ WSI_TOKEN_OPTIONS_URI, "OPTIONS" },
	};
	size_t	i;

	for (i = 0; i < nitems(methods); i++)
		if (lws_hdr_total_length(wsi, methods[i].tok) > 0)
			return methods[i].name;
	return "?";
}

/* Whether the platform behind route has its secret in the live config. */
static bool
listener_configured(const struct listener *l, enum listener_route route)
{
	const struct listener_conf	*c = l->h->conf(l->arg);

	return route == LISTENER_SLACK ? c->slack_signing_secret != NULL :
	    c->mattermost_token != NULL;
}

static void	listener_command(struct listener *, struct lws *,
		    struct listener_session *);

/* The GET endpoints; false if path is none of them. */
static bool
listener_get(struct listener *l, struct lws *wsi,
    struct listener_session *s, const char *path, const char *method)
{
	char	*text;
	bool	 ready;

	if (strcmp(path, "/healthz") == 0)
		s->route = LISTENER_HEALTHZ;
	else if (strcmp(path, "/readyz") == 0 && l->h->ready != NULL)
		s->route = LISTENER_READYZ;
	else if (strcmp(path, "/metrics") == 0 && l->h->metrics != NULL)
		s->route = LISTENER_METRICS;
	else
		return false;
	if (strcmp(method, "GET") != 0) {
		s->allow = "GET";
		listener_text(wsi, s, HTTP_STATUS_METHOD_NOT_ALLOWED,
		    "method not allowed");
		return true;
	}
	switch (s->route) {
	case LISTENER_READYZ:
		ready = l->h->ready(l->arg, &text);
		listener_answer(wsi, s, ready ? HTTP_STATUS_OK :
		    HTTP_STATUS_SERVICE_UNAVAILABLE,
		    "text/plain; charset=utf-8", text);
		break;
	case LISTENER_METRICS:
		text = l->h->metrics(l->arg);
		if (text == NULL)
			listener_text(wsi, s,
			    HTTP_STATUS_INTERNAL_SERVER_ERROR,
			    "internal error");
		else
			listener_answer(wsi, s, HTTP_STATUS_OK,
			    METRICS_CONTENT_TYPE, text);
		break;
	default:
		listener_text(wsi, s, HTTP_STATUS_OK, "ok");
		break;
	}
	return true;
}

/*
 * A new request: route it and answer at once unless a body must be
 * read.  Every answer before the body closes the connection after it.
 */
static int
listener_request(struct listener *l, struct lws *wsi,
    struct listener_session *s, const char *path)
{
	const char	*method = listener_method(wsi);
	bool		 post = strcmp(method, "POST") == 0;
	long long	 clen;

	listener_session_clear(s);
	s->close = post;
	if (listener_get(l, wsi, s, path, method))
		return 0;
	if (strcmp(path, "/slack/commands") == 0)
		s->route = LISTENER_SLACK;
	else if (strcmp(path, "/mattermost/commands") == 0)
		s->route = LISTENER_MATTERMOST;
	else {
		listener_text(wsi, s, HTTP_STATUS_NOT_FOUND, "not found");
		return 0;
	}
	if (!post)
		s->allow = "POST";
	if (s->allow != NULL) {
		listener_text(wsi, s, HTTP_STATUS_METHOD_NOT_ALLOWED,
		    "method not allowed");
		return 0;
	}
	if (!listener_configured(l, s->route)) {
		listener_text(wsi, s, HTTP_STATUS_NOT_FOUND, "not found");
		return 0;
	}
	if (!listener_form_type(wsi)) {
		listener_text(wsi, s, HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE,
		    "expected " LISTENER_FORM);
		return 0;
	}
	clen = listener_content_length(wsi);
	if (clen < 0) {
		listener_text(wsi, s, HTTP_STATUS_LENGTH_REQUIRED,
		    "Content-Length required");
		return 0;
	}
	if ((unsigned long long)clen > l->h->conf(l->arg)->max_body) {
		log_info("listener: %s command refused: %lld-byte body",
		    listener_platform(s->route), clen);
		listener_text(wsi, s, HTTP_STATUS_REQ_ENTITY_TOO_LARGE,
		    "body too large");
		return 0;
	}
	s->expect = (size_t)clen;
	s->deadline = now_mono_ms() + LISTENER_BODY_TIMEOUT * 1000;
	s->close = false;
	buf_init(&s->body);
	if (clen == 0) {
		listener_command(l, wsi, s);
		return 0;
	}
	/* A client that stops mid-body loses its connection (lws' own
	 * timeout may come first); other connections never wait on it. */
	lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT,
	    LISTENER_BODY_TIMEOUT);
	return 0;
}

/* Verify the raw body, then decode it, then ask the handler. */
static void
listener_command(struct listener *l, struct lws *wsi,
    struct listener_session *s)
{
	const struct listener_conf	*c = l->h->conf(l->arg);
	struct slash_request		 req;
	char				*a, *b, *cause = NULL, *json = NULL;
	const char			*body;
	int				 rc, status;

	body = s->body.data != NULL ? s->body.data : "";
	if (s->route == LISTENER_SLACK) {
		a = listener_custom(wsi, "x-slack-request-timestamp:");
		b = listener_custom(wsi, "x-slack-signature:");
		rc = c->slack_signing_secret == NULL ? -1 :
		    slash_slack_verify(c->slack_signing_secret, a, b, body,
		    s->body.len, time(NULL), l->replay, &cause);
		free(b);
	} else {
		a = listener_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
		rc = c->mattermost_token == NULL ? -1 :
		    slash_mattermost_verify(c->mattermost_token, a, &cause);
	}
	free(a);
	if (rc != 0) {
		log_info("listener: %s command refused: %s",
		    listener_platform(s->route), cause ? cause :
		    "not configured");
		free(cause);
		listener_text(wsi, s, HTTP_STATUS_UNAUTHORIZED, "unauthorized");
		return;
	}
	if (slash_form_parse(body, s->body.len, s->route == LISTENER_SLACK ?
	    SLASH_SLACK : SLASH_MATTERMOST, &req, &cause) != 0) {
		log_info("listener: %s command refused: %s",
		    listener_platform(s->route), cause);
		free(cause);
		listener_text(wsi, s, HTTP_STATUS_BAD_REQUEST, "bad request");
		return;
	}
	log_info("listener: %s command %s from %s in %s",
	    listener_platform(s->route), req.command, req.user_id,
	    req.channel_id);
	status = s->route == LISTENER_SLACK ?
	    l->h->slack(l->arg, &req, &json) :
	    l->h->mattermost(l->arg, &req, &json);
	slash_request_clear(&req);
	if (status < 200 || status > 599) {
		free(json);
		listener_text(wsi, s, HTTP_STATUS_INTERNAL_SERVER_ERROR,
		    "internal error");
		return;
	}
	listener_answer(wsi, s, status, "application/json", json);
}

static int
listener_body(struct listener *l, struct lws *wsi,
    struct listener_session *s, const void *in, size_t len)
{
	int64_t	left;

	if (s->phase != LISTENER_IDLE || (s->route != LISTENER_SLACK &&
	    s->route != LISTENER_MATTERMOST))
		return 0;
	/* Content-Length was checked; a longer body is a lie. */
	if (s->body.len + len > s->expect ||
	    s->body.len + len > l->h->conf(l->arg)->max_body) {
		s->close = true;
		listener_text(wsi, s, HTTP_STATUS_REQ_ENTITY_TOO_LARGE,
		    "body too large");
		return 0;
	}
	buf_add(&s->body, in, len);
	/* lws re-arms its timeout on every chunk, so a byte a second
	 * would hold the connection for ever: the deadline is ours. */
	left = s->deadline - now_mono_ms();
	if (left <= 0) {
		log_info("listener: %s command refused: body not complete "
		    "within %d s", listener_platform(s->route),
		    LISTENER_BODY_TIMEOUT);
		return -1;
	}
	lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT,
	    (int)((left + 999) / 1000));
	return 0;
}

static int
listener_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	struct listener_session	*s = user;
	struct listener		*l;

	l = wsi ? lws_vhost_user(lws_get_vhost(wsi)) : NULL;
	if (l == NULL)
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return listener_request(l, wsi, s, in ? in : "");
	case LWS_CALLBACK_HTTP_BODY:
		return listener_body(l, wsi, s, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
		if (s->phase == LISTENER_IDLE && (s->route == LISTENER_SLACK ||
		    s->route == LISTENER_MATTERMOST))
			listener_command(l, wsi, s);
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return listener_writeable(wsi, s);
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		if (s != NULL)
			listener_session_clear(s);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols listener_protocols[] = {
	{ "sb-http", listener_callback, sizeof(struct listener_session), 4096,
	    0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

struct listener *
listener_new(struct lws_context *ctx, const struct listener_conf *conf,
    const struct listener_handlers *h, void *arg, char **cause)
{
	struct lws_context_creation_info	 info;
	struct listener				*l = xcalloc(1, sizeof(*l));

	l->h = h;
	l->arg = arg;
	l->replay = slash_replay_new();
	l->address = xstrdup(conf->address);
	memset(&info, 0, sizeof(info));
	info.vhost_name = "listener";
	info.port = conf->port;
	info.iface = l->address;
	info.protocols = listener_protocols;
	info.user = l;
	/* A plain IPv4 socket for an IPv4 address, not a mapped one. */
	if (strchr(conf->address, ':') == NULL)
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	l->vhost = lws_create_vhost(ctx, &info);
	if (l->vhost == NULL) {
		*cause = xasprintf("listener: cannot listen on %s port %d",
		    conf->address, conf->port);
		slash_replay_free(l->replay);
		free(l->address);
		free(l);
		return NULL;
	}
	l->port = lws_get_vhost_listen_port(l->vhost);
	log_notice("listener: on %s port %d (slack %s, mattermost %s)",
	    conf->address, l->port, conf->slack_signing_secret ? "on" : "off",
	    conf->mattermost_token ? "on" : "off");
	return l;
}

void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	slash_replay_free(l->replay);
	free(l->address);
	free(l);
}

int
listener_port(const struct listener *l)
{
	return l->port;
}
