/*
 * Unit tests for socket_mode_msg.c: Slack Socket Mode messages in the
 * shapes Slack sends (hello, disconnect, slash_commands and other
 * envelopes), the ones to skip, the ack written back, and the
 * apps.connections.open answers.
 */
#include <jansson.h>

#include "harness.h"

#include "socket_mode_msg.h"

/* A slash_commands payload as Slack sends it over the socket. */
#define SLASH_PAYLOAD(user, channel, command)				\
	"{\"token\":\"deprecated\",\"team_id\":\"T0TEST\","		\
	"\"team_domain\":\"acme\",\"channel_id\":" channel ","		\
	"\"channel_name\":\"care\",\"user_id\":" user ","		\
	"\"user_name\":\"alice\",\"command\":" command ","		\
	"\"text\":\"show K7QX\",\"api_app_id\":\"A0FAKESOCKET\","	\
	"\"is_enterprise_install\":\"false\","				\
	"\"response_url\":\"https://hooks.slack.com/commands/T0/1/x\","	\
	"\"trigger_id\":\"1.2.3\"}"
#define EID	"1d2c3b4a-0000-4000-8000-000000000001"

/* Parse s as a text frame; the return code is checked against type. */
static void
parse(const char *s, struct socket_mode_msg *m)
{
	int	rc = socket_mode_msg_parse(s, strlen(s), false, m);

	assert_int_equal(rc, m->type == SOCKET_MODE_MSG_BAD ? -1 : 0);
}

/* s is skipped with exactly why. */
static void
bad(const char *s, bool binary, const char *why)
{
	struct socket_mode_msg	m;

	assert_int_equal(socket_mode_msg_parse(s, strlen(s), binary, &m), -1);
	assert_int_equal(m.type, SOCKET_MODE_MSG_BAD);
	assert_string_equal(m.why, why);
	assert_null(m.envelope_id);
	socket_mode_msg_clear(&m);
}

static void
test_hello(void **state)
{
	struct socket_mode_msg	m;

	(void)state;
	parse("{\"type\":\"hello\",\"num_connections\":1,\"debug_info\":"
	    "{\"host\":\"applink-7\",\"build_number\":1,"
	    "\"approximate_connection_time\":18060},\"connection_info\":"
	    "{\"app_id\":\"A0FAKESOCKET\"}}", &m);
	assert_int_equal(m.type, SOCKET_MODE_MSG_HELLO);
	assert_null(m.why);
	assert_null(m.envelope_id);
	socket_mode_msg_clear(&m);
}

static void
test_disconnect(void **state)
{
	struct socket_mode_msg	m;
	char			long_reason[200], *s;

	(void)state;
	parse("{\"type\":\"disconnect\",\"reason\":\"refresh_requested\","
	    "\"debug_info\":{\"host\":\"applink-7\"}}", &m);
	assert_int_equal(m.type, SOCKET_MODE_MSG_DISCONNECT);
	assert_string_equal(m.reason, "refresh_requested");
	socket_mode_msg_clear(&m);

	parse("{\"type\":\"disconnect\"}", &m);
	assert_int_equal(m.type, SOCKET_MODE_MSG_DISCONNECT);
	assert_string_equal(m.reason, "");
	socket_mode_msg_clear(&m);

	/* A reason that is not a string is no reason. */
	parse("{\"type\":\"disconnect\",\"reason\":7}", &m);
	assert_int_equal(m.type, SOCKET_MODE_MSG_DISCONNECT);
	assert_string_equal(m.reason, "");
	socket_mode_msg_clear(&m);

	/* Control characters and non-ASCII become '?'; long ones are cut. */
	parse("{\"type\":\"disconnect\",\"reason\":\"a\\nb\\u00e9c\"}", &m);
	assert_string_equal(m.reason, "a?b??c");
	socket_mode_msg_clear(&m);
	memset(long_reason, 'w', sizeof(long_reason) - 1);
	long_reason[sizeof(long_reason) - 1] = '\0';
	s = xasprintf("{\"type\":\"disconnect\",\"reason\":\"%s\"}",
	    long_reason);
	parse(s, &m);
	assert_int_equal(strlen(m.reason), SOCKET_MODE_MSG_PRINTABLE - 1);
	assert_int_equal(strspn(m.reason, "w"), SOCKET_MODE_MSG_PRINTABLE - 1);
	socket_mode_msg_clear(&m);
	free(s);
}

static void
test_slash_envelope(void **state)
{
	struct socket_mode_msg	m;

	(void)state;
	parse("{\"envelope_id\":\"" EID "\",\"type\":\"slash_commands\","
	    "\"payload\":" SLASH_PAYLOAD("\"U0TEST\"", "\"C0CARE\"", "\"/sb\"")
	    ",\"accepts_response_payload\":true,\"retry_attempt\":0,"
	    "\"retry_reason\":\"\"}", &m);
	assert_int_equal(m.type, SOCKET_MODE_MSG_ENVELOPE);
	assert_string_equal(m.envelope_id, EID);
	assert_string_equal(m.envelope_type, "slash_commands");
	assert_true(m.accepts_response_payload);
	assert_true(m.slash_command);
	assert_null(m.command_why);
	assert_int_equal(m.req.platform, SLASH_SLACK);
	assert_string_equal(m.req.team_id, "T0TEST");
	assert_string_equal(m.req.channel_id, "C0CARE");
	assert_string_equal(m.req.user_id, "U0TEST");
	assert_string_equal(m.req.user_name, "alice");
	assert_string_equal(m.req.command, "/sb");
	assert_string_equal(m.req.text, "show K7QX");
	assert_string_equal(m.req.response_url,
	    "https://hooks.slack.com/commands/T0/1/x");
	assert_string_equal(m.req.trigger_id, "1.2.3");
	socket_mode_msg_clear(&m);
	assert_null(m.envelope_id);
	assert_null(m.req.command);

	/* Absent optional fields are "", never NULL. */
	parse("{\"envelope_id\":\"e2\",\"type\":\"slash_commands\",\"payload\":"
	    "{\"command\":\"/sb\",\"user_id\":\"U1\",\"channel_id\":\"C1\"}}",
	    &m);
	assert_null(m.command_why);
	assert_true(m.accepts_response_payload);
	assert_string_equal(m.req.text, "");
	assert_string_equal(m.req.team_id, "");
	assert_string_equal(m.req.trigger_id, "");
	socket_mode_msg_clear(&m);
}

static void
test_no_response_payload(void **state)
{
	struct socket_mode_msg	m;

	(void)state;
	parse("{\"envelope_id\":\"e3\",\"type\":\"slash_commands\",\"payload\":"
	    SLASH_PAYLOAD("\"U0TEST\"", "\"C0CARE\"", "\"/sb\"") ","
	    "\"accepts_response_payload\":false}", &m);
	assert_int_equal(m.type, SOCKET_MODE_MSG_ENVELOPE);
	assert_false(m.accepts_response_payload);
	assert_null(m.command_why);
	assert_string_equal(m.req.command, "/sb");
	socket_mode_msg_clear(&m);

	/* Only false says no: null or a string does not. */
	parse("{\"envelope_id\":\"e4\",\"type\":\"events_api\","
	    "\"accepts_response_payload\":null}", &m);
	assert_true(m.accepts_response_payload);
	assert_false(m.slash_command);
	assert_string_equal(m.envelope_type, "events_api");
	assert_null(m.req.command);
	socket_mode_msg_clear(&m);
}

static void
test_other_envelopes(void **state)
{
	struct socket_mode_msg	m;

	(void)state;
	parse("{\"envelope_id\":\"e5\",\"type\":\"interactive\",\"payload\":"
	    "{\"type\":\"block_actions\"},\"accepts_response_payload\":false}",
	    &m);
	assert_int_equal(m.type, SOCKET_MODE_MSG_ENVELOPE);
	assert_string_equal(m.envelope_type, "interactive");
	assert_false(m.slash_command);
	assert_null(m.command_why);
	socket_mode_msg_clear(&m);

	parse("{\"envelope_id\":\"e6\"}", &m);
	assert_int_equal(m.type, SOCKET_MODE_MSG_ENVELOPE);
	assert_string_equal(m.envelope_id, "e6");
	assert_null(m.envelope_type);
	assert_false(m.slash_command);
	socket_mode_msg_clear(&m);
}

static void
test_envelope_id(void **state)
{
	struct socket_mode_msg	m;
	char			id[SOCKET_MODE_MSG_MAX_ID + 2], *s;

	(void)state;
	bad("{\"type\":\"slash_commands\",\"payload\":" SLASH_PAYLOAD(
	    "\"U0TEST\"", "\"C0CARE\"", "\"/sb\"") "}", false,
	    "no usable envelope_id");
	bad("{\"envelope_id\":\"\",\"type\":\"events_api\"}", false,
	    "no usable envelope_id");
	bad("{\"envelope_id\":42,\"type\":\"events_api\"}", false,
	    "no usable envelope_id");

	/* SOCKET_MODE_MSG_MAX_ID bytes are taken, one more is not. */
	memset(id, 'x', sizeof(id));
	id[SOCKET_MODE_MSG_MAX_ID] = '\0';
	s = xasprintf("{\"envelope_id\":\"%s\",\"type\":\"events_api\"}", id);
	parse(s, &m);
	assert_int_equal(m.type, SOCKET_MODE_MSG_ENVELOPE);
	assert_int_equal(strlen(m.envelope_id), SOCKET_MODE_MSG_MAX_ID);
	socket_mode_msg_clear(&m);
	free(s);
	id[SOCKET_MODE_MSG_MAX_ID] = 'x';
	id[SOCKET_MODE_MSG_MAX_ID + 1] = '\0';
	s = xasprintf("{\"envelope_id\":\"%s\",\"type\":\"events_api\"}", id);
	bad(s, false, "no usable envelope_id");
	free(s);

	/* hello and disconnect need none, and ignore one. */
	parse("{\"type\":\"hello\",\"envelope_id\":\"e7\"}", &m);
	assert_int_equal(m.type, SOCKET_MODE_MSG_HELLO);
	assert_null(m.envelope_id);
	socket_mode_msg_clear(&m);
}

static void
test_unusable_command(void **state)
{
	static const char *const payloads[] = {
		SLASH_PAYLOAD("\"U0TEST\"", "\"C0CARE\"", "\"\""),
		SLASH_PAYLOAD("\"\"", "\"C0CARE\"", "\"/sb\""),
		SLASH_PAYLOAD("\"U0TEST\"", "null", "\"/sb\""),
		SLASH_PAYLOAD("\"U0TEST\"", "\"C0CARE\"", "[\"/sb\"]"),
		"{\"command\":\"/sb\",\"user_id\":\"U1\"}",
	};
	struct socket_mode_msg	m;
	char			*s;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		s = xasprintf("{\"envelope_id\":\"e8\",\"type\":"
		    "\"slash_commands\",\"payload\":%s}", payloads[i]);
		parse(s, &m);
		assert_int_equal(m.type, SOCKET_MODE_MSG_ENVELOPE);
		assert_string_equal(m.envelope_id, "e8");
		assert_true(m.slash_command);
		assert_string_equal(m.command_why, "slash command without "
		    "command, user_id or channel_id");
		assert_null(m.req.command);
		assert_null(m.req.user_id);
		assert_null(m.req.team_id);
		socket_mode_msg_clear(&m);
		free(s);
	}
	parse("{\"envelope_id\":\"e9\",\"type\":\"slash_commands\"}", &m);
	assert_string_equal(m.command_why, "slash_commands without a payload");
	assert_null(m.req.command);
	socket_mode_msg_clear(&m);
	parse("{\"envelope_id\":\"e9\",\"type\":\"slash_commands\","
	    "\"payload\":\"command=/sb\"}", &m);
	assert_string_equal(m.command_why, "slash_commands without a payload");
	socket_mode_msg_clear(&m);
}

static void
test_bad_frames(void **state)
{
	struct socket_mode_msg	m;
	json_error_t		err;

	(void)state;
	bad("{\"envelope_id\":\"bin-1\",\"type\":\"events_api\"}", true,
	    "binary frame");
	bad("[1, 2, 3]", false, "not an object");
	bad("[]", false, "not an object");
	/* jansson takes only an object or array at the top. */
	assert_null(json_loads("\"hello\"", 0, &err));
	bad("\"hello\"", false, err.text);

	/* Invalid JSON: jansson's own reason. */
	assert_null(json_loads("not JSON at all", 0, &err));
	bad("not JSON at all", false, err.text);
	assert_null(json_loads("{\"envelope_id\": \"half a mess", 0, &err));
	bad("{\"envelope_id\": \"half a mess", false, err.text);
	assert_int_equal(socket_mode_msg_parse("", 0, false, &m), -1);
	assert_int_equal(m.type, SOCKET_MODE_MSG_BAD);
	assert_non_null(m.why);
	socket_mode_msg_clear(&m);

	/* Only len bytes count: a valid prefix is not the message. */
	assert_int_equal(socket_mode_msg_parse("{\"type\":\"hello\"}", 8,
	    false, &m), -1);
	socket_mode_msg_clear(&m);
}

/* The ack text as an object; fails unless it is one. */
static json_t *
ack_json(const char *text)
{
	json_t	*j;

	assert_non_null(text);
	j = json_loads(text, 0, NULL);
	assert_true(json_is_object(j));
	return j;
}

static void
test_ack(void **state)
{
	json_t	*j;
	char	*text;
	bool	 answered = true;

	(void)state;
	text = socket_mode_msg_ack(EID, NULL, &answered);
	assert_string_equal(text, "{\"envelope_id\":\"" EID "\"}");
	assert_false(answered);
	free(text);

	text = socket_mode_msg_ack(EID, "{\"response_type\":\"ephemeral\","
	    "\"text\":\"usage: /sb show CODE\"}", &answered);
	assert_true(answered);
	j = ack_json(text);
	assert_int_equal(json_object_size(j), 2);
	assert_string_equal(json_string_value(json_object_get(j,
	    "envelope_id")), EID);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "payload"), "text")), "usage: /sb show CODE");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "payload"), "response_type")), "ephemeral");
	json_decref(j);
	free(text);

	/* An answer that is not a JSON object is left out. */
	text = socket_mode_msg_ack("e1", "[1]", &answered);
	assert_false(answered);
	assert_string_equal(text, "{\"envelope_id\":\"e1\"}");
	free(text);
	text = socket_mode_msg_ack("e1", "{oops", NULL);
	assert_string_equal(text, "{\"envelope_id\":\"e1\"}");
	free(text);

	/* Quotes and control characters in the id are escaped. */
	text = socket_mode_msg_ack("a\"b\n\xc3\xa9", NULL, NULL);
	j = ack_json(text);
	assert_string_equal(json_string_value(json_object_get(j,
	    "envelope_id")), "a\"b\n\xc3\xa9");
	json_decref(j);
	free(text);

	/* An id that is not UTF-8 cannot be encoded. */
	assert_null(socket_mode_msg_ack("\xff\xfe", "{}", &answered));
}

/* The open answer's URL, or "cause: ..." (caller frees). */
static char *
open_answer(const char *error, long status, const char *body)
{
	char	*url, *cause = NULL, *s;

	url = socket_mode_msg_open_url(error, status, body,
	    body != NULL ? strlen(body) : 0, &cause);
	if (url != NULL) {
		assert_null(cause);
		return url;
	}
	assert_non_null(cause);
	s = xasprintf("cause: %s", cause);
	free(cause);
	return s;
}

#define OPEN(want, error, status, body) do {				\
	char *got_ = open_answer((error), (status), (body));		\
	assert_string_equal(got_, (want));				\
	free(got_);							\
} while (0)

static void
test_open(void **state)
{
	(void)state;
	OPEN("wss://wss-primary.slack.com/link/?ticket=1d2c&app_id=A0",
	    NULL, 200, "{\"ok\":true,\"url\":\"wss://wss-primary.slack.com/"
	    "link/?ticket=1d2c&app_id=A0\"}");
	OPEN("cause: HTTP 200: invalid_auth", NULL, 200,
	    "{\"ok\":false,\"error\":\"invalid_auth\"}");
	OPEN("cause: HTTP 429: ratelimited", NULL, 429,
	    "{\"ok\":false,\"error\":\"ratelimited\"}");
	OPEN("cause: HTTP 200: no error code", NULL, 200, "{\"ok\":false}");
	OPEN("cause: HTTP 200: bad?code", NULL, 200,
	    "{\"ok\":\"yes\",\"error\":\"bad\\u0001code\"}");
	/* ok:true is not enough with another status. */
	OPEN("cause: HTTP 503", NULL, 503,
	    "{\"ok\":true,\"url\":\"wss://wss-primary.slack.com/link/\"}");
	OPEN("cause: HTTP 503", NULL, 503, "<html>Service Unavailable</html>");
	OPEN("cause: HTTP 502", NULL, 502, NULL);
	OPEN("cause: no url in the answer", NULL, 200, "{\"ok\":true}");
	OPEN("cause: no url in the answer", NULL, 200,
	    "{\"ok\":true,\"url\":7}");
	/* ws:// only to loopback, never http:// or https://. */
	OPEN("ws://127.0.0.1:9/link/1d2c", NULL, 200,
	    "{\"ok\":true,\"url\":\"ws://127.0.0.1:9/link/1d2c\"}");
	OPEN("cause: the url is not wss://", NULL, 200,
	    "{\"ok\":true,\"url\":\"ws://slack.example/link/\"}");
	OPEN("cause: the url is not wss://", NULL, 200,
	    "{\"ok\":true,\"url\":\"http://127.0.0.1:9/link/\"}");
	OPEN("cause: the url is not wss://", NULL, 200,
	    "{\"ok\":true,\"url\":\"https://wss-primary.slack.com/link/\"}");
	OPEN("cause: bad JSON: not an object", NULL, 200, "[]");
	OPEN("cause: Connection refused", "Connection refused", 0, NULL);
	OPEN("cause: Timeout was reached", "Timeout was reached", 200,
	    "{\"ok\":true,\"url\":\"wss://wss-primary.slack.com/link/\"}");
}

static void
test_open_bad_json(void **state)
{
	json_error_t	 err;
	char		*want;

	(void)state;
	assert_null(json_loads("{\"ok\":tru", 0, &err));
	want = xasprintf("cause: bad JSON: %s", err.text);
	OPEN(want, NULL, 200, "{\"ok\":tru");
	free(want);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_disconnect),
		cmocka_unit_test(test_slash_envelope),
		cmocka_unit_test(test_no_response_payload),
		cmocka_unit_test(test_other_envelopes),
		cmocka_unit_test(test_envelope_id),
		cmocka_unit_test(test_unusable_command),
		cmocka_unit_test(test_bad_frames),
		cmocka_unit_test(test_ack),
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_open_bad_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
