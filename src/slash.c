/*
 * Slash-command requests: Slack signatures and replay cache, Mattermost
 * tokens, and the form body, all without I/O.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "slash.h"
#include "text.h"
#include "util.h"

#define SLASH_SIG_PREFIX	"v0="
#define SLASH_SIG_LEN		(3 + 64)	/* "v0=" + hex SHA-256 */
#define SLASH_TS_DIGITS		12
#define SLASH_KEY_MAX		64
#define SLASH_VALUE_MAX		8192	/* unknown keys too */
#define SLASH_FIELDS_MAX	64

struct slash_replay_entry {
	long long	ts;
	char		sig[SLASH_SIG_LEN + 1];
};

struct slash_replay {
	struct slash_replay_entry	*v;
	size_t				 n;
};

/* The fields we keep, with their size limits in bytes (decoded). */
static const struct {
	const char	*key;
	size_t		 off;
	size_t		 max;
	int		 required;
} slash_fields[] = {
	{ "team_id", offsetof(struct slash_request, team_id), 256, 0 },
	{ "channel_id", offsetof(struct slash_request, channel_id), 256, 1 },
	{ "user_id", offsetof(struct slash_request, user_id), 256, 1 },
	{ "user_name", offsetof(struct slash_request, user_name), 256, 0 },
	{ "command", offsetof(struct slash_request, command), 256, 1 },
	{ "text", offsetof(struct slash_request, text), 4096, 0 },
	{ "response_url", offsetof(struct slash_request, response_url),
	    2048, 0 },
	{ "trigger_id", offsetof(struct slash_request, trigger_id), 256, 0 },
};

static char **
slash_field(struct slash_request *req, size_t i)
{
	return (char **)((char *)req + slash_fields[i].off);
}

struct slash_replay *
slash_replay_new(void)
{
	struct slash_replay	*r = xcalloc(1, sizeof(*r));

	r->v = xcalloc(SLASH_REPLAY_MAX, sizeof(*r->v));
	return r;
}

void
slash_replay_free(struct slash_replay *r)
{
	if (r == NULL)
		return;
	free(r->v);
	free(r);
}

size_t
slash_replay_count(const struct slash_replay *r)
{
	return r->n;
}

/*
 * Refuse a pair seen before, else remember it.  An entry can be replayed
 * only while its timestamp is fresh, so it is forgotten once ts +
 * SLASH_MAX_SKEW has passed: memory is bounded by the valid requests of
 * one window.
 */
static int
slash_replay_check(struct slash_replay *r, long long ts, const char *sig,
    time_t now, char **cause)
{
	size_t	i, kept = 0;

	for (i = 0; i < r->n; i++) {
		if (r->v[i].ts + SLASH_MAX_SKEW < (long long)now)
			continue;
		r->v[kept++] = r->v[i];
	}
	r->n = kept;
	for (i = 0; i < r->n; i++) {
		if (r->v[i].ts == ts && strcmp(r->v[i].sig, sig) == 0) {
			*cause = xstrdup("request replayed");
			return -1;
		}
	}
	if (r->n == SLASH_REPLAY_MAX) {
		*cause = xstrdup("too many requests in five minutes");
		return -1;
	}
	r->v[r->n].ts = ts;
	memcpy(r->v[r->n].sig, sig, sizeof(r->v[r->n].sig));
	r->n++;
	return 0;
}

static int
slash_timestamp(const char *s, long long *out)
{
	size_t	i;

	*out = 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= SLASH_TS_DIGITS)
			return -1;
		*out = *out * 10 + (s[i] - '0');
	}
	return i == 0 ? -1 : 0;
}

static int
slash_sig_shape_ok(const char *sig)
{
	size_t	i;

	if (strlen(sig) != SLASH_SIG_LEN ||
	    strncmp(sig, SLASH_SIG_PREFIX, 3) != 0)
		return 0;
	for (i = 3; i < SLASH_SIG_LEN; i++)
		if (!((sig[i] >= '0' && sig[i] <= '9') ||
		    (sig[i] >= 'a' && sig[i] <= 'f')))
			return 0;
	return 1;
}

int
slash_slack_verify(const char *secret, const char *timestamp,
    const char *signature, const char *body, size_t len, time_t now,
    struct slash_replay *replay, char **cause)
{
	unsigned char	 mac[EVP_MAX_MD_SIZE];
	unsigned int	 maclen = 0;
	char		 want[SLASH_SIG_LEN + 1];
	struct buf	 base;
	long long	 ts;
	int		 ok;

	if (timestamp == NULL || signature == NULL) {
		*cause = xstrdup("missing X-Slack-Signature or "
		    "X-Slack-Request-Timestamp");
		return -1;
	}
	if (slash_timestamp(timestamp, &ts) != 0) {
		*cause = xstrdup("malformed X-Slack-Request-Timestamp");
		return -1;
	}
	if (!slash_sig_shape_ok(signature)) {
		*cause = xstrdup("malformed X-Slack-Signature");
		return -1;
	}
	if (ts < (long long)now - SLASH_MAX_SKEW) {
		*cause = xasprintf("timestamp %lld s old",
		    (long long)now - ts);
		return -1;
	}
	if (ts > (long long)now + SLASH_MAX_SKEW) {
		*cause = xasprintf("timestamp %lld s in the future",
		    ts - (long long)now);
		return -1;
	}
	buf_init(&base);
	buf_printf(&base, "v0:%s:", timestamp);
	buf_add(&base, body, len);
	ok = HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (const unsigned char *)base.data, base.len, mac, &maclen) != NULL &&
	    maclen == 32;
	buf_free(&base);
	if (!ok) {
		*cause = xstrdup("HMAC failed");
		return -1;
	}
	memcpy(want, SLASH_SIG_PREFIX, 3);
	hex_encode(mac, maclen, want + 3);
	if (CRYPTO_memcmp(want, signature, SLASH_SIG_LEN) != 0) {
		*cause = xstrdup("bad signature");
		return -1;
	}
	/* Only signed requests reach the cache: forgeries cannot fill it. */
	if (replay != NULL && slash_replay_check(replay, ts, signature, now,
	    cause) != 0)
		return -1;
	return 0;
}

/* SHA-256 of s: equal-length digests compare in constant time. */
static int
slash_digest(const char *s, size_t len, unsigned char out[32])
{
	unsigned int	n = 0;

	return EVP_Digest(s, len, out, &n, EVP_sha256(), NULL) == 1 &&
	    n == 32 ? 0 : -1;
}

int
slash_mattermost_verify(const char *token, const char *authorization,
    char **cause)
{
	unsigned char	 a[32], b[32];
	const char	*got;

	if (authorization == NULL) {
		*cause = xstrdup("missing Authorization");
		return -1;
	}
	if (strncasecmp(authorization, "Token ", 6) != 0) {
		*cause = xstrdup("Authorization is not \"Token ...\"");
		return -1;
	}
	got = authorization + 6;
	while (*got == ' ')
		got++;
	/* Digests first, so neither the length nor a prefix leaks. */
	if (slash_digest(token, strlen(token), a) != 0 ||
	    slash_digest(got, strlen(got), b) != 0) {
		*cause = xstrdup("digest failed");
		return -1;
	}
	if (CRYPTO_memcmp(a, b, sizeof(a)) != 0) {
		*cause = xstrdup("wrong token");
		return -1;
	}
	return 0;
}

static int
slash_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
slash_form_unescape(const char *s, size_t len, size_t *outlen)
{
	char		*out = xmalloc(len + 1);
	size_t		 i, n = 0, step;
	uint32_t	 cp;
	int		 hi, lo;

	for (i = 0; i < len; i++) {
		if (s[i] == '+') {
			out[n++] = ' ';
			continue;
		}
		if (s[i] != '%') {
			out[n++] = s[i];
			continue;
		}
		if (i + 2 >= len)
			goto bad;
		hi = slash_hexval(s[i + 1]);
		lo = slash_hexval(s[i + 2]);
		if (hi < 0 || lo < 0)
			goto bad;
		out[n++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out[n] = '\0';
	/* NUL would silently cut the C string; bad UTF-8 is not text. */
	for (i = 0; i < n; i += step) {
		step = utf8_decode(out + i, n - i, &cp);
		if (step == 0 || cp == 0)
			goto bad;
	}
	if (outlen != NULL)
		*outlen = n;
	return out;
bad:
	free(out);
	return NULL;
}

void
slash_request_clear(struct slash_request *req)
{
	size_t	i;

	for (i = 0; i < nitems(slash_fields); i++) {
		free(*slash_field(req, i));
		*slash_field(req, i) = NULL;
	}
}

/* One "key=value" pair; 0, or -1 with *cause. */
static int
slash_form_pair(const char *p, size_t len, struct slash_request *req,
    struct strv *seen, char **cause)
{
	const char	*eq = memchr(p, '=', len);
	size_t		 klen = eq ? (size_t)(eq - p) : len, vlen, i;
	char		*key, *value;

	key = slash_form_unescape(p, klen, NULL);
	if (key == NULL || *key == '\0' || strlen(key) > SLASH_KEY_MAX) {
		free(key);
		*cause = xstrdup("malformed form key");
		return -1;
	}
	value = eq ? slash_form_unescape(eq + 1, len - klen - 1, &vlen) :
	    xstrdup("");
	if (value == NULL) {
		*cause = xasprintf("malformed form value for \"%s\"", key);
		free(key);
		return -1;
	}
	if (eq == NULL)
		vlen = 0;
	/* Which of two values would the other side have meant? */
	if (strv_contains(seen, key) || seen->n >= SLASH_FIELDS_MAX) {
		*cause = seen->n >= SLASH_FIELDS_MAX ?
		    xstrdup("too many form fields") :
		    xasprintf("form field \"%s\" given twice", key);
		free(key);
		free(value);
		return -1;
	}
	strv_add(seen, key);
	for (i = 0; i < nitems(slash_fields); i++)
		if (strcmp(slash_fields[i].key, key) == 0)
			break;
	if (vlen > (i < nitems(slash_fields) ? slash_fields[i].max :
	    SLASH_VALUE_MAX)) {
		*cause = xasprintf("form field \"%s\" too long", key);
		free(key);
		free(value);
		return -1;
	}
	free(key);
	if (i == nitems(slash_fields)) {
		free(value);
		return 0;
	}
	*slash_field(req, i) = value;
	return 0;
}

int
slash_form_parse(const char *body, size_t len, enum slash_platform platform,
    struct slash_request *req, char **cause)
{
	struct strv	 seen;
	const char	*p = body, *end = body + len, *amp;
	size_t		 i;
	int		 rc = 0;

	memset(req, 0, sizeof(*req));
	req->platform = platform;
	strv_init(&seen);
	while (p < end && rc == 0) {
		amp = memchr(p, '&', (size_t)(end - p));
		if (amp == NULL)
			amp = end;
		if (amp > p)
			rc = slash_form_pair(p, (size_t)(amp - p), req, &seen,
			    cause);
		p = amp + 1;
	}
	strv_free(&seen);
	for (i = 0; i < nitems(slash_fields) && rc == 0; i++) {
		if (*slash_field(req, i) != NULL &&
		    **slash_field(req, i) != '\0')
			continue;
		if (slash_fields[i].required) {
			*cause = xasprintf("form field \"%s\" missing",
			    slash_fields[i].key);
			rc = -1;
		} else if (*slash_field(req, i) == NULL)
			*slash_field(req, i) = xstrdup("");
	}
	if (rc != 0)
		slash_request_clear(req);
	return rc;
}
