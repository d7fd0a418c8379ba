/*
 * Slack Socket Mode's wire formats, pure (no I/O, no logging): the
 * apps.connections.open answer, the messages Slack sends on the socket
 * (hello, disconnect, envelopes, a slash_commands payload as a struct
 * slash_request) and the ack that answers an envelope.  socket_mode.c
 * runs the connection around them; the fuzz target reaches them here.
 */
#ifndef SB_SOCKET_MODE_MSG_H
#define SB_SOCKET_MODE_MSG_H

#include <stdbool.h>
#include <stddef.h>

#include "slash.h"

/* Longest envelope_id taken; longer ones are refused (bytes). */
#define SOCKET_MODE_MSG_MAX_ID		256
/* Size of a printable copy for one log line, NUL included. */
#define SOCKET_MODE_MSG_PRINTABLE	80

enum socket_mode_msg_type {
	SOCKET_MODE_MSG_BAD,		/* unusable: see why */
	SOCKET_MODE_MSG_HELLO,
	SOCKET_MODE_MSG_DISCONNECT,	/* reconnect with a fresh URL */
	SOCKET_MODE_MSG_ENVELOPE	/* to be acked by envelope_id */
};

/* One message from Slack; every pointer is owned by it. */
struct socket_mode_msg {
	enum socket_mode_msg_type	 type;
	char				*why;		/* BAD: the reason */
	/* DISCONNECT: Slack's reason, printable, "" if none. */
	char				 reason[SOCKET_MODE_MSG_PRINTABLE];

	/* ENVELOPE: envelope_id is 1 to SOCKET_MODE_MSG_MAX_ID bytes;
	 * envelope_type NULL when absent.  accepts_response_payload is
	 * false only when the envelope says so. */
	char				*envelope_id;
	char				*envelope_type;
	bool				 accepts_response_payload;
	/* envelope_type is "slash_commands": then either command_why says
	 * why it cannot run (and req is all NULL), or req is filled (absent
	 * fields "", command, user_id and channel_id never empty). */
	bool				 slash_command;
	char				*command_why;
	struct slash_request		 req;
};

/*
 * Read one websocket message (binary: it came in a binary frame) into
 * m, which the caller clears in any case.  0, or -1 with m->type BAD
 * and m->why.
 */
int	socket_mode_msg_parse(const char *buf, size_t len, bool binary,
	    struct socket_mode_msg *m);
void	socket_mode_msg_clear(struct socket_mode_msg *);

/*
 * The ack of an envelope, {"envelope_id":ID}, with answer as its
 * "payload" when answer (may be NULL) is the text of a JSON object;
 * *answered (may be NULL) tells whether it was.  Caller frees; NULL if
 * envelope_id cannot be encoded (not UTF-8).
 */
char	*socket_mode_msg_ack(const char *envelope_id, const char *answer,
	    bool *answered);

/*
 * The websocket URL in an apps.connections.open answer (caller frees):
 * error is the transport error (NULL: an answer came), status the HTTP
 * status, body (may be NULL) the answer's len bytes.  NULL with *cause
 * when there is none: Slack answers ok:false with an error code, most
 * often with HTTP 200; a URL must be wss:// (ws:// to loopback only).
 */
char	*socket_mode_msg_open_url(const char *error, long status,
	    const char *body, size_t len, char **cause);

/* A copy of s (may be NULL) fit for one log line into out: printable
 * ASCII, others as '?', cut at size - 1 bytes. */
void	socket_mode_msg_printable(const char *s, char *out, size_t size);

#endif
