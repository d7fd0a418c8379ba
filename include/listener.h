/*
 * The HTTP listener on the daemon's libwebsockets context: GET /healthz
 * (alive), GET /readyz (ready), GET /metrics (Prometheus), and slash
 * commands from Slack (POST /slack/commands) and Mattermost
 * (POST /mattermost/commands), verified before their body is decoded
 * and then handed to a handler whose answer goes back as JSON.
 * HTTP/1.1 only.
 */
#ifndef SB_LISTENER_H
#define SB_LISTENER_H

#include <stdbool.h>

#include "config.h"
#include "slash.h"

struct lws_context;

struct listener_handlers {
	/*
	 * The live settings, asked on every request: a reload may replace
	 * the config (and free the old one), so the listener never keeps
	 * a pointer into it.  Address and port are read once, at start.
	 */
	const struct listener_conf *(*conf)(void *arg);
	/*
	 * A verified command.  Returns the HTTP status and sets *json to
	 * the response body (caller frees; NULL for an empty body).
	 */
	int	(*slack)(void *arg, const struct slash_request *, char **json);
	int	(*mattermost)(void *arg, const struct slash_request *,
		    char **json);
	/*
	 * Optional (NULL: 404): readiness.  true if ready; *text (caller
	 * frees) is the plain-text body either way.
	 */
	bool	(*ready)(void *arg, char **text);
	/* Optional (NULL: 404): the metrics text (caller frees), or NULL
	 * for a 500. */
	char	*(*metrics)(void *arg);
};

struct listener;

/*
 * Listen on conf's address and port, on a new vhost of ctx.  handlers
 * is borrowed for the listener's life.  NULL with *cause on error.
 */
struct listener	*listener_new(struct lws_context *ctx,
		    const struct listener_conf *conf,
		    const struct listener_handlers *handlers, void *arg,
		    char **cause);
/*
 * Free after ctx is destroyed (ws_context_free): open connections are
 * closed by it and still find the listener.  NULL does nothing.
 */
void		 listener_free(struct listener *);
/* The port actually listened on. */
int		 listener_port(const struct listener *);

#endif
