/*
 * The websocket client every streaming source shares: connect, read
 * whole messages (fragments reassembled, oversize ones skipped), send
 * text, detect a dead stream (no data and no pong within the idle
 * timeout), and reconnect with exponential backoff and jitter.  Runs on
 * the daemon's libwebsockets context, itself on the libuv loop.
 */
#ifndef SB_WS_H
#define SB_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "util.h"

struct lws_context;

struct ws_params {
	const char	*role;		/* for logs: "source" when NULL */
	const char	*name;		/* for logs: the source name */
	int		 idle_timeout_ms; /* ping at half, reconnect at full */
	int		 reconnect_min_ms;
	int		 reconnect_max_ms;
	size_t		 max_message;	/* bytes; larger messages skipped */
};

struct ws_callbacks {
	/* URL for the next connection attempt (cursor included); the
	 * caller frees it.  NULL gives up this attempt (retried later). */
	char	*(*url)(void *arg);
	/* Optional: extra handshake headers, "Name: value" each, appended
	 * to out (e.g. Authorization).  Called for every attempt. */
	void	 (*headers)(void *arg, struct strv *out);
	/* Optional: the handshake succeeded. */
	void	 (*opened)(void *arg);
	/* One whole message. binary: it came as a binary frame. */
	void	 (*message)(void *arg, const char *buf, size_t len,
		    bool binary);
	/* Optional: a message over max_message was skipped. */
	void	 (*oversize)(void *arg, size_t len);
	/* Optional: the connection ended (a reconnect is scheduled). */
	void	 (*closed)(void *arg, const char *reason);
};

struct ws;

/* The lws context for all websocket clients, on loop.  NULL on error. */
struct lws_context *ws_context_new(uv_loop_t *loop);
/* Destroy ctx, running the loop until lws' handles are closed: close
 * every other handle on the loop first. */
void	ws_context_free(struct lws_context *ctx, uv_loop_t *loop);

/* params and cb are copied / borrowed for the client's life. */
struct ws	*ws_new(struct lws_context *, uv_loop_t *,
		    const struct ws_params *, const struct ws_callbacks *,
		    void *arg);
void		 ws_start(struct ws *);		/* connect now */
/* Close the connection and stop reconnecting; ws_free after the loop
 * ran once more.  Idempotent. */
void		 ws_stop(struct ws *);
void		 ws_free(struct ws *);
bool		 ws_connected(const struct ws *);
/* Queue a text message for sending when connected. */
void		 ws_send(struct ws *, const char *text, size_t len);
/* Drop the current connection now (a reconnect follows). */
void		 ws_reconnect(struct ws *, const char *why);
unsigned	 ws_reconnects(const struct ws *);

#endif
