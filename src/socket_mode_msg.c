/*
 * Slack Socket Mode's wire formats: reading apps.connections.open
 * answers and socket messages, writing acks; no I/O and no logging, so
 * that units and the fuzz target reach every branch.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "socket_mode_msg.h"
#include "util.h"

void
socket_mode_msg_printable(const char *s, char *out, size_t size)
{
	size_t	i;

	if (size == 0)
		return;
	for (i = 0; s != NULL && s[i] != '\0' && i + 1 < size; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[i] = '\0';
}

char *
socket_mode_msg_open_url(const char *error, long status, const char *body,
    size_t len, char **cause)
{
	json_t		*j;
	json_error_t	 err;
	const char	*code, *url;
	char		 safe[SOCKET_MODE_MSG_PRINTABLE], *out = NULL;

	if (error != NULL) {
		*cause = xstrdup(error);
		return NULL;
	}
	j = json_loadb(body != NULL ? body : "", body != NULL ? len : 0, 0,
	    &err);
	if (!json_is_object(j)) {
		*cause = status != 200 ? xasprintf("HTTP %ld", status) :
		    xasprintf("bad JSON: %s", j == NULL ? err.text :
		    "not an object");
		json_decref(j);
		return NULL;
	}
	url = json_string_value(json_object_get(j, "url"));
	if (!json_is_true(json_object_get(j, "ok"))) {
		code = json_string_value(json_object_get(j, "error"));
		socket_mode_msg_printable(code != NULL ? code : "no error code",
		    safe, sizeof(safe));
		*cause = xasprintf("HTTP %ld: %s", status, safe);
	} else if (status != 200)
		*cause = xasprintf("HTTP %ld", status);
	else if (url == NULL)
		*cause = xstrdup("no url in the answer");
	else if (!url_scheme_ok(url, "wss", "ws"))
		*cause = xstrdup("the url is not wss://");
	else
		out = xstrdup(url);
	json_decref(j);
	return out;
}

static char *
socket_mode_msg_field(const json_t *payload, const char *key)
{
	const char	*s = json_string_value(json_object_get(payload, key));

	return xstrdup(s != NULL ? s : "");
}

/* A slash_commands payload into m->req, or m->command_why. */
static void
socket_mode_msg_command(struct socket_mode_msg *m, const json_t *payload)
{
	struct slash_request	*req = &m->req;

	if (!json_is_object(payload)) {
		m->command_why = xstrdup("slash_commands without a payload");
		return;
	}
	req->platform = SLASH_SLACK;
	req->team_id = socket_mode_msg_field(payload, "team_id");
	req->channel_id = socket_mode_msg_field(payload, "channel_id");
	req->user_id = socket_mode_msg_field(payload, "user_id");
	req->user_name = socket_mode_msg_field(payload, "user_name");
	req->command = socket_mode_msg_field(payload, "command");
	req->text = socket_mode_msg_field(payload, "text");
	req->response_url = socket_mode_msg_field(payload, "response_url");
	req->trigger_id = socket_mode_msg_field(payload, "trigger_id");
	/* The same fields the HTTP listener insists on. */
	if (*req->command == '\0' || *req->user_id == '\0' ||
	    *req->channel_id == '\0') {
		m->command_why = xstrdup("slash command without command, "
		    "user_id or channel_id");
		slash_request_clear(req);
	}
}

static int
socket_mode_msg_bad(struct socket_mode_msg *m, const char *why)
{
	m->type = SOCKET_MODE_MSG_BAD;
	m->why = xstrdup(why);
	return -1;
}

int
socket_mode_msg_parse(const char *buf, size_t len, bool binary,
    struct socket_mode_msg *m)
{
	json_t		*msg;
	json_error_t	 err;
	const char	*type, *id;
	int		 rc = 0;

	memset(m, 0, sizeof(*m));
	if (binary)
		return socket_mode_msg_bad(m, "binary frame");
	msg = json_loadb(buf, len, 0, &err);
	if (!json_is_object(msg)) {
		rc = socket_mode_msg_bad(m, msg == NULL ? err.text :
		    "not an object");
		json_decref(msg);
		return rc;
	}
	type = json_string_value(json_object_get(msg, "type"));
	id = json_string_value(json_object_get(msg, "envelope_id"));
	/* hello and disconnect are recognised by type before any id. */
	if (type != NULL && strcmp(type, "hello") == 0)
		m->type = SOCKET_MODE_MSG_HELLO;
	else if (type != NULL && strcmp(type, "disconnect") == 0) {
		m->type = SOCKET_MODE_MSG_DISCONNECT;
		socket_mode_msg_printable(json_string_value(json_object_get(msg,
		    "reason")), m->reason, sizeof(m->reason));
	} else if (id == NULL || *id == '\0' ||
	    strlen(id) > SOCKET_MODE_MSG_MAX_ID)
		rc = socket_mode_msg_bad(m, "no usable envelope_id");
	else {
		m->type = SOCKET_MODE_MSG_ENVELOPE;
		m->envelope_id = xstrdup(id);
		m->envelope_type = type != NULL ? xstrdup(type) : NULL;
		m->accepts_response_payload = !json_is_false(json_object_get(msg,
		    "accepts_response_payload"));
		if (type != NULL && strcmp(type, "slash_commands") == 0) {
			m->slash_command = true;
			socket_mode_msg_command(m, json_object_get(msg,
			    "payload"));
		}
	}
	json_decref(msg);
	return rc;
}

void
socket_mode_msg_clear(struct socket_mode_msg *m)
{
	free(m->why);
	free(m->envelope_id);
	free(m->envelope_type);
	free(m->command_why);
	slash_request_clear(&m->req);
	memset(m, 0, sizeof(*m));
}

char *
socket_mode_msg_ack(const char *envelope_id, const char *answer,
    bool *answered)
{
	json_t		*ack, *payload = NULL;
	json_error_t	 err;
	char		*text;

	if (answer != NULL)
		payload = json_loads(answer, 0, &err);
	if (!json_is_object(payload)) {
		json_decref(payload);
		payload = NULL;
	}
	if (answered != NULL)
		*answered = payload != NULL;
	ack = json_pack("{s:s}", "envelope_id", envelope_id);
	if (ack == NULL) {
		json_decref(payload);
		return NULL;
	}
	if (payload != NULL)
		json_object_set_new(ack, "payload", payload);
	text = json_dumps(ack, JSON_COMPACT);
	json_decref(ack);
	return text;
}
