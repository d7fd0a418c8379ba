/*
 * Slack Socket Mode: for a daemon with no public address, Slack sends
 * slash commands over a websocket the daemon opens.  Ask
 * apps.connections.open (app-level token) for a URL, connect on the
 * shared lws context, answer every envelope by its envelope_id at once
 * with the command's response as payload, and start over with a fresh
 * URL on a "disconnect" message or a dropped socket.
 */
#ifndef SB_SOCKET_MODE_H
#define SB_SOCKET_MODE_H

#include <stdbool.h>
#include <uv.h>

#include "slash.h"

struct http;
struct lws_context;
struct socket_mode;

struct socket_mode_handlers {
	/* The live app token and API URL: a reload may change them. */
	const char	*(*app_token)(void *arg);
	const char	*(*api_url)(void *arg);
	/* Run a command; the response body (JSON, caller frees) or NULL. */
	char		*(*command)(void *arg, const struct slash_request *);
};

struct socket_mode	*socket_mode_new(uv_loop_t *, struct lws_context *,
			    struct http *, const struct socket_mode_handlers *,
			    void *arg);
void			 socket_mode_start(struct socket_mode *);
/* Close the socket; free after the loop ran once more. */
void			 socket_mode_stop(struct socket_mode *);
void			 socket_mode_free(struct socket_mode *);
/* Whether a socket is open and Slack said hello on it. */
bool			 socket_mode_connected(const struct socket_mode *);

#endif
