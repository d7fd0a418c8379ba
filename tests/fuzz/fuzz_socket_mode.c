/*
 * libFuzzer target: Slack Socket Mode's wire formats.  The whole input
 * is a websocket message (text, then binary); an envelope's ack is
 * encoded and read back, with and without the input as its answer.
 * The input read as an HTTP answer (first line the status, 0 meaning a
 * transport error, the rest the body) goes to the apps.connections.open
 * parser.  A broken invariant aborts.
 */
#include <jansson.h>
#include <stdlib.h>

#include "fuzz.h"
#include "socket_mode_msg.h"

static void
fuzz_check(int ok)
{
	if (!ok)
		abort();
}

static void
fuzz_printable(const char *s, size_t size)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++)
		fuzz_check(s[i] >= 0x20 && s[i] < 0x7f);
	fuzz_check(i < size);
}

/* The ack of id carries id, and the answer exactly when it is used. */
static void
fuzz_ack(const char *id, const char *answer)
{
	json_t		*j, *want = NULL, *payload;
	json_error_t	 err;
	char		*text;
	bool		 answered = true;

	text = socket_mode_msg_ack(id, answer, &answered);
	fuzz_check(text != NULL);
	j = json_loads(text, 0, &err);
	fuzz_check(json_is_object(j));
	fuzz_check(json_is_string(json_object_get(j, "envelope_id")));
	fuzz_check(strcmp(json_string_value(json_object_get(j,
	    "envelope_id")), id) == 0);
	payload = json_object_get(j, "payload");
	if (answer != NULL)
		want = json_loads(answer, 0, &err);
	fuzz_check(answered == json_is_object(want));
	fuzz_check(json_object_size(j) == (answered ? 2u : 1u));
	if (answered)
		fuzz_check(json_equal(payload, want));
	json_decref(want);
	json_decref(j);
	free(text);
}

static void
fuzz_message(const char *buf, size_t len, const char *answer)
{
	struct socket_mode_msg	m;
	const struct slash_request *r = &m.req;
	int			rc;

	rc = socket_mode_msg_parse(buf, len, false, &m);
	fuzz_check((rc == 0) == (m.type != SOCKET_MODE_MSG_BAD));
	switch (m.type) {
	case SOCKET_MODE_MSG_BAD:
		fuzz_check(rc == -1 && m.why != NULL);
		break;
	case SOCKET_MODE_MSG_DISCONNECT:
		fuzz_printable(m.reason, sizeof(m.reason));
		break;
	case SOCKET_MODE_MSG_HELLO:
		break;
	case SOCKET_MODE_MSG_ENVELOPE:
		fuzz_check(m.envelope_id != NULL && m.envelope_id[0] != '\0' &&
		    strlen(m.envelope_id) <= SOCKET_MODE_MSG_MAX_ID);
		fuzz_check(m.slash_command == (m.envelope_type != NULL &&
		    strcmp(m.envelope_type, "slash_commands") == 0));
		if (m.slash_command && m.command_why == NULL)
			fuzz_check(r->command != NULL && *r->command != '\0' &&
			    *r->user_id != '\0' && *r->channel_id != '\0' &&
			    r->team_id != NULL && r->user_name != NULL &&
			    r->text != NULL && r->response_url != NULL &&
			    r->trigger_id != NULL);
		else
			fuzz_check(r->command == NULL && r->user_id == NULL);
		fuzz_ack(m.envelope_id, NULL);
		fuzz_ack(m.envelope_id, answer);
		break;
	default:
		abort();
	}
	socket_mode_msg_clear(&m);

	rc = socket_mode_msg_parse(buf, len, true, &m);
	fuzz_check(rc == -1 && m.type == SOCKET_MODE_MSG_BAD);
	socket_mode_msg_clear(&m);
}

static void
fuzz_open(const char *s, size_t len)
{
	const char	*nl = memchr(s, '\n', len);
	const char	*body = nl != NULL ? nl + 1 : s + len;
	char		*url, *cause = NULL;
	long		 status;

	status = strtol(s, NULL, 10) % 1000;
	if (status < 0)
		status = -status;
	url = socket_mode_msg_open_url(status == 0 ? "Connection refused" :
	    NULL, status, body, (size_t)(s + len - body), &cause);
	if (url != NULL) {
		fuzz_check(cause == NULL && status == 200);
		fuzz_check(strncmp(url, "wss://", 6) == 0 ||
		    strncmp(url, "ws://", 5) == 0);
	} else
		fuzz_check(cause != NULL);
	free(url);
	free(cause);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s;

	fuzz_quiet();
	s = fuzz_str(data, size);
	fuzz_message(s, size, s);
	fuzz_open(s, size);
	free(s);
	return 0;
}
