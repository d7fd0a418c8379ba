/*
 * Unit tests for slash.c: Slack signatures against the published vector
 * (tests/data/slack-signing-vectors.json), the five-minute window, the
 * replay cache, Mattermost tokens and form decoding.  Signatures for
 * other timestamps are computed here with OpenSSL directly.
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <time.h>

#include "harness.h"

#include "slash.h"

#define VEC_SECRET	"8f742231b10e8888abcd99yyyzzz85a5"
#define VEC_TS		1531420618

static char	*vec_body;	/* the vector's body and signature */
static char	*vec_sig;

/* "v0=" + hex HMAC-SHA256 of the base string, into out (68 bytes). */
static void
sign(const char *secret, const char *ts, const char *body, char *out)
{
	unsigned char	 mac[32];
	unsigned int	 n = 0;
	char		*base = xasprintf("v0:%s:%s", ts, body);

	assert_non_null(HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (unsigned char *)base, strlen(base), mac, &n));
	assert_int_equal(n, 32);
	memcpy(out, "v0=", 3);
	hex_encode(mac, 32, out + 3);
	free(base);
}

/* Verify; returns the cause (caller frees) or NULL when accepted. */
static char *
slack(const char *secret, const char *ts, const char *sig, const char *body,
    time_t now, struct slash_replay *r)
{
	char	*cause = NULL;
	int	 rc;

	rc = slash_slack_verify(secret, ts, sig, body, strlen(body), now, r,
	    &cause);
	if (rc == 0) {
		assert_null(cause);
		return NULL;
	}
	assert_int_equal(rc, -1);
	assert_non_null(cause);
	return cause;
}

#define ACCEPTED(expr) do {						\
	char *c_ = (expr);						\
	if (c_ != NULL)							\
		fail_msg("refused: %s", c_);				\
} while (0)

#define REFUSED(expr, want) do {					\
	char *c_ = (expr);						\
	if (c_ == NULL)							\
		fail_msg("accepted: %s", #expr);			\
	if (strstr(c_, (want)) == NULL)					\
		fail_msg("cause \"%s\", wanted \"%s\"", c_, (want));	\
	free(c_);							\
} while (0)

static int
setup(void **state)
{
	char		*data;
	json_t		*root, *v0;

	(void)state;
	data = test_slurp("tests/data/slack-signing-vectors.json", NULL);
	root = json_loads(data, 0, NULL);
	free(data);
	if (root == NULL)
		return -1;
	v0 = json_array_get(json_object_get(root, "vectors"), 0);
	vec_body = xstrdup(json_string_value(json_object_get(v0, "body")));
	vec_sig = xstrdup(json_string_value(json_object_get(v0,
	    "x_slack_signature")));
	json_decref(root);
	return vec_body != NULL && vec_sig != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	free(vec_body);
	free(vec_sig);
	return 0;
}

/* Every vector in the file: its "valid" is what we must say. */
static void
test_slack_vectors(void **state)
{
	char		*data, *cause;
	json_t		*root, *vecs, *v, *now_j;
	size_t		 i;
	time_t		 now;

	(void)state;
	data = test_slurp("tests/data/slack-signing-vectors.json", NULL);
	root = json_loads(data, 0, NULL);
	assert_non_null(root);
	vecs = json_object_get(root, "vectors");
	assert_int_equal(json_array_size(vecs), 3);
	json_array_foreach(vecs, i, v) {
		now_j = json_object_get(v, "clock_now");
		/* null: "the real clock", years after the timestamp. */
		now = json_is_integer(now_j) ?
		    (time_t)json_integer_value(now_j) : time(NULL);
		cause = slack(json_string_value(json_object_get(v,
		    "signing_secret")), json_string_value(json_object_get(v,
		    "x_slack_request_timestamp")), json_string_value(
		    json_object_get(v, "x_slack_signature")),
		    json_string_value(json_object_get(v, "body")), now, NULL);
		if (json_is_true(json_object_get(v, "valid")) !=
		    (cause == NULL))
			fail_msg("vector %s: %s", json_string_value(
			    json_object_get(v, "name")), cause ? cause :
			    "accepted");
		free(cause);
	}
	json_decref(root);
	free(data);
}

static void
test_slack_tampering(void **state)
{
	char	*body;

	(void)state;
	ACCEPTED(slack(VEC_SECRET, "1531420618", vec_sig, vec_body, VEC_TS,
	    NULL));
	/* One byte of body, the timestamp, the secret, the signature. */
	body = xstrdup(vec_body);
	body[strlen(body) - 1] ^= 1;
	REFUSED(slack(VEC_SECRET, "1531420618", vec_sig, body, VEC_TS, NULL),
	    "bad signature");
	free(body);
	REFUSED(slack(VEC_SECRET, "1531420619", vec_sig, vec_body, VEC_TS,
	    NULL), "bad signature");
	REFUSED(slack("8f742231b10e8888abcd99yyyzzz85a6", "1531420618",
	    vec_sig, vec_body, VEC_TS, NULL), "bad signature");
	body = xstrdup(vec_sig);
	body[10] = body[10] == 'a' ? 'b' : 'a';
	REFUSED(slack(VEC_SECRET, "1531420618", body, vec_body, VEC_TS, NULL),
	    "bad signature");
	free(body);
	/* The signed body, not another one. */
	REFUSED(slack(VEC_SECRET, "1531420618", vec_sig, "", VEC_TS, NULL),
	    "bad signature");
}

static void
test_slack_window(void **state)
{
	(void)state;
	ACCEPTED(slack(VEC_SECRET, "1531420618", vec_sig, vec_body,
	    VEC_TS + 300, NULL));
	ACCEPTED(slack(VEC_SECRET, "1531420618", vec_sig, vec_body,
	    VEC_TS - 300, NULL));
	REFUSED(slack(VEC_SECRET, "1531420618", vec_sig, vec_body,
	    VEC_TS + 301, NULL), "301 s old");
	REFUSED(slack(VEC_SECRET, "1531420618", vec_sig, vec_body,
	    VEC_TS - 301, NULL), "301 s in the future");
}

static void
test_slack_malformed(void **state)
{
	char	*sig;

	(void)state;
	REFUSED(slack(VEC_SECRET, NULL, vec_sig, vec_body, VEC_TS, NULL),
	    "missing");
	REFUSED(slack(VEC_SECRET, "1531420618", NULL, vec_body, VEC_TS, NULL),
	    "missing");
	REFUSED(slack(VEC_SECRET, "", vec_sig, vec_body, VEC_TS, NULL),
	    "malformed X-Slack-Request-Timestamp");
	REFUSED(slack(VEC_SECRET, "1531420618x", vec_sig, vec_body, VEC_TS,
	    NULL), "malformed X-Slack-Request-Timestamp");
	REFUSED(slack(VEC_SECRET, "-1531420618", vec_sig, vec_body, VEC_TS,
	    NULL), "malformed X-Slack-Request-Timestamp");
	REFUSED(slack(VEC_SECRET, "1531420618000000", vec_sig, vec_body,
	    VEC_TS, NULL), "malformed X-Slack-Request-Timestamp");
	REFUSED(slack(VEC_SECRET, "1531420618", "", vec_body, VEC_TS, NULL),
	    "malformed X-Slack-Signature");
	REFUSED(slack(VEC_SECRET, "1531420618", vec_sig + 3, vec_body, VEC_TS,
	    NULL), "malformed X-Slack-Signature");
	sig = xstrdup(vec_sig);
	sig[1] = '1';		/* "v1=" */
	REFUSED(slack(VEC_SECRET, "1531420618", sig, vec_body, VEC_TS, NULL),
	    "malformed X-Slack-Signature");
	free(sig);
	sig = xstrndup(vec_sig, strlen(vec_sig) - 1);
	REFUSED(slack(VEC_SECRET, "1531420618", sig, vec_body, VEC_TS, NULL),
	    "malformed X-Slack-Signature");
	free(sig);
	sig = xasprintf("%sa", vec_sig);
	REFUSED(slack(VEC_SECRET, "1531420618", sig, vec_body, VEC_TS, NULL),
	    "malformed X-Slack-Signature");
	free(sig);
	sig = xstrdup(vec_sig);
	sig[3] = 'A';		/* the hex is lower-case */
	REFUSED(slack(VEC_SECRET, "1531420618", sig, vec_body, VEC_TS, NULL),
	    "malformed X-Slack-Signature");
	free(sig);
}

static void
test_slack_replay(void **state)
{
	struct slash_replay	*r = slash_replay_new();
	char			 sig[68], ts[32];

	(void)state;
	ACCEPTED(slack(VEC_SECRET, "1531420618", vec_sig, vec_body, VEC_TS,
	    r));
	assert_int_equal(slash_replay_count(r), 1);
	REFUSED(slack(VEC_SECRET, "1531420618", vec_sig, vec_body,
	    VEC_TS + 10, r), "replayed");
	/* A forgery is refused before the cache and takes no room in it. */
	REFUSED(slack(VEC_SECRET, "1531420618", vec_sig, "x=1", VEC_TS, r),
	    "bad signature");
	assert_int_equal(slash_replay_count(r), 1);
	/* The same body at another second is another request. */
	snprintf(ts, sizeof(ts), "%d", VEC_TS + 1);
	sign(VEC_SECRET, ts, vec_body, sig);
	ACCEPTED(slack(VEC_SECRET, ts, sig, vec_body, VEC_TS + 1, r));
	assert_int_equal(slash_replay_count(r), 2);
	REFUSED(slack(VEC_SECRET, ts, sig, vec_body, VEC_TS + 2, r),
	    "replayed");
	/* Once the window has passed both are forgotten (and would be
	 * stale anyway): memory is bounded by one window. */
	snprintf(ts, sizeof(ts), "%d", VEC_TS + 302);
	sign(VEC_SECRET, ts, vec_body, sig);
	ACCEPTED(slack(VEC_SECRET, ts, sig, vec_body, VEC_TS + 302, r));
	assert_int_equal(slash_replay_count(r), 1);
	slash_replay_free(r);
	slash_replay_free(NULL);
}

/* A full cache refuses rather than forgetting a fresh entry. */
static void
test_slack_replay_full(void **state)
{
	struct slash_replay	*r = slash_replay_new();
	char			 sig[68], ts[32], *body;
	int			 i;

	(void)state;
	snprintf(ts, sizeof(ts), "%d", VEC_TS);
	for (i = 0; i < SLASH_REPLAY_MAX; i++) {
		body = xasprintf("n=%d", i);
		sign(VEC_SECRET, ts, body, sig);
		ACCEPTED(slack(VEC_SECRET, ts, sig, body, VEC_TS, r));
		free(body);
	}
	assert_int_equal(slash_replay_count(r), SLASH_REPLAY_MAX);
	sign(VEC_SECRET, ts, "n=last", sig);
	REFUSED(slack(VEC_SECRET, ts, sig, "n=last", VEC_TS, r),
	    "too many");
	slash_replay_free(r);
}

static char *
mm(const char *token, const char *auth)
{
	char	*cause = NULL;

	if (slash_mattermost_verify(token, auth, &cause) == 0) {
		assert_null(cause);
		return NULL;
	}
	assert_non_null(cause);
	return cause;
}

static void
test_mattermost_token(void **state)
{
	(void)state;
	ACCEPTED(mm("xbxkd7mo5jfwbrfw7hr5hgupro",
	    "Token xbxkd7mo5jfwbrfw7hr5hgupro"));
	ACCEPTED(mm("tok", "token tok"));
	REFUSED(mm("tok", NULL), "missing");
	REFUSED(mm("tok", "Bearer tok"), "not \"Token");
	REFUSED(mm("tok", "tok"), "not \"Token");
	REFUSED(mm("tok", "Token tok2"), "wrong token");
	REFUSED(mm("tok", "Token to"), "wrong token");
	REFUSED(mm("tok", "Token "), "wrong token");
	REFUSED(mm("tok", "Token TOK"), "wrong token");
}

static char *
form(const char *body, struct slash_request *req)
{
	char	*cause = NULL;

	if (slash_form_parse(body, strlen(body), SLASH_MATTERMOST, req,
	    &cause) == 0) {
		assert_null(cause);
		return NULL;
	}
	assert_non_null(cause);
	/* A refused body leaves nothing behind. */
	assert_null(req->command);
	assert_null(req->text);
	return cause;
}

#define MIN_FORM	"command=%2Fsb&user_id=U1&channel_id=C1"

static void
test_form_vector(void **state)
{
	struct slash_request	req;
	char			*cause = NULL;

	(void)state;
	assert_int_equal(slash_form_parse(vec_body, strlen(vec_body),
	    SLASH_SLACK, &req, &cause), 0);
	assert_int_equal(req.platform, SLASH_SLACK);
	assert_string_equal(req.command, "/webhook-collect");
	assert_string_equal(req.team_id, "T1DC2JH3J");
	assert_string_equal(req.channel_id, "G8PSS9T3V");
	assert_string_equal(req.user_id, "U2CERLKJA");
	assert_string_equal(req.user_name, "roadrunner");
	assert_string_equal(req.text, "");
	assert_string_equal(req.response_url, "https://hooks.slack.com/"
	    "commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN");
	assert_string_equal(req.trigger_id,
	    "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c");
	slash_request_clear(&req);
	slash_request_clear(&req);
}

static void
test_form_decoding(void **state)
{
	struct slash_request	req;

	(void)state;
	ACCEPTED(form(MIN_FORM "&text=a+b%2Bc%20d%25", &req));
	assert_string_equal(req.text, "a b+c d%");
	assert_string_equal(req.team_id, "");	/* absent: "" */
	assert_string_equal(req.response_url, "");
	slash_request_clear(&req);
	/* UTF-8, upper and lower-case hex, empty pairs, unknown keys, a
	 * key without '=', keys escaped too. */
	ACCEPTED(form("&&" MIN_FORM "&text=caf%C3%a9%20%E2%9C%93&x=1&flag&"
	    "user%5Fname=bob&", &req));
	assert_string_equal(req.text, "caf\xc3\xa9 \xe2\x9c\x93");
	assert_string_equal(req.user_name, "bob");
	slash_request_clear(&req);
	ACCEPTED(form(MIN_FORM "&text=a=b", &req));
	assert_string_equal(req.text, "a=b");
	slash_request_clear(&req);
}

static void
test_form_refused(void **state)
{
	struct slash_request	 req;
	char			*big;

	(void)state;
	REFUSED(form(MIN_FORM "&text=%G1", &req), "malformed form value");
	REFUSED(form(MIN_FORM "&text=%4", &req), "malformed form value");
	REFUSED(form(MIN_FORM "&text=%", &req), "malformed form value");
	REFUSED(form(MIN_FORM "&text=a%", &req), "malformed form value");
	REFUSED(form(MIN_FORM "&text=%00", &req), "malformed form value");
	REFUSED(form(MIN_FORM "&text=%C3", &req), "malformed form value");
	REFUSED(form(MIN_FORM "&text=%C0%AF", &req), "malformed form value");
	REFUSED(form(MIN_FORM "&text=%ED%A0%80", &req),
	    "malformed form value");
	REFUSED(form(MIN_FORM "&text=\xff", &req), "malformed form value");
	REFUSED(form(MIN_FORM "&%ZZ=1", &req), "malformed form key");
	REFUSED(form(MIN_FORM "&=1", &req), "malformed form key");
	/* Two values for one key: which did the sender mean?  Refused,
	 * also when a later one hides behind an escape. */
	REFUSED(form(MIN_FORM "&text=a&text=b", &req), "given twice");
	REFUSED(form(MIN_FORM "&command=%2Fother", &req), "given twice");
	REFUSED(form(MIN_FORM "&comm%61nd=%2Fother", &req), "given twice");
	REFUSED(form("user_id=U1&channel_id=C1", &req),
	    "\"command\" missing");
	REFUSED(form("command=&user_id=U1&channel_id=C1", &req),
	    "\"command\" missing");
	REFUSED(form("command=%2Fsb&channel_id=C1", &req),
	    "\"user_id\" missing");
	REFUSED(form("", &req), "missing");
	big = xmalloc(4100 + sizeof(MIN_FORM "&text="));
	strcpy(big, MIN_FORM "&text=");
	memset(big + strlen(big), 'a', 4097);
	big[sizeof(MIN_FORM "&text=") - 1 + 4097] = '\0';
	REFUSED(form(big, &req), "\"text\" too long");
	big[sizeof(MIN_FORM "&text=") - 1 + 4096] = '\0';
	ACCEPTED(form(big, &req));
	assert_int_equal(strlen(req.text), 4096);
	slash_request_clear(&req);
	free(big);
}

static void
test_form_unescape(void **state)
{
	size_t	 n = 0;
	char	*s;

	(void)state;
	s = slash_form_unescape("a%2fb+c", 7, &n);
	assert_string_equal(s, "a/b c");
	assert_int_equal(n, 5);
	free(s);
	/* Only len bytes are read: the escape is cut off. */
	assert_null(slash_form_unescape("ab%41", 4, &n));
	s = slash_form_unescape("", 0, &n);
	assert_string_equal(s, "");
	assert_int_equal(n, 0);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_slack_vectors),
		cmocka_unit_test(test_slack_tampering),
		cmocka_unit_test(test_slack_window),
		cmocka_unit_test(test_slack_malformed),
		cmocka_unit_test(test_slack_replay),
		cmocka_unit_test(test_slack_replay_full),
		cmocka_unit_test(test_mattermost_token),
		cmocka_unit_test(test_form_vector),
		cmocka_unit_test(test_form_decoding),
		cmocka_unit_test(test_form_refused),
		cmocka_unit_test(test_form_unescape),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
