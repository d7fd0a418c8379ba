/*
 * Publishing a reply as a Nostr note: the event is signed the same way
 * on every attempt, and offered once to each of the account's relays.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "log.h"
#include "nostr.h"
#include "publish.h"
#include "ws.h"

/* When the account gives no timeout (config.c sets one normally). */
#define PUBLISH_NOSTR_TIMEOUT_MS	10000
/* Relays answer EVENT with a short OK; anything larger is not for us. */
#define PUBLISH_NOSTR_MAX_MESSAGE	65536
/* Longest relay message quoted in a cause or a log line. */
#define PUBLISH_NOSTR_QUOTE_MAX		200

/* What one relay made of the event. */
enum publish_nostr_verdict {
	PUBLISH_NOSTR_WAITING,
	PUBLISH_NOSTR_ACCEPTED,		/* OK true, or a duplicate */
	PUBLISH_NOSTR_REFUSED,		/* OK false: it never will */
	PUBLISH_NOSTR_LATER		/* no answer, rate limit, lost */
};

struct publish_nostr_attempt;

struct publish_nostr_relay {
	struct publish_nostr_attempt	*at;
	char				*url;
	struct ws			*ws;
	unsigned			 connects;	/* url() calls */
	enum publish_nostr_verdict	 verdict;
	/* What the relay said, or why it gave no answer. */
	char				*said;
};

/* The account's state: the attempts running, for cancel to find. */
struct publish_nostr_state {
	struct publish_nostr_attempt	*attempts;
};

struct publish_nostr_attempt {
	struct publish_job		*job;	/* NULL once ended */
	struct publish_nostr_state	*st;	/* NULL once unlinked */
	char				*name;	/* account */
	char				 id[65];	/* hex */
	char				*text;	/* ["EVENT", event] */
	struct publish_nostr_relay	*relays;
	size_t				 nrelays;
	int				 timeout_ms;
	uv_timer_t			 timer;
	struct publish_nostr_attempt	*next;
};

static void	publish_nostr_finish(struct publish_nostr_attempt *);

/* A relay's text made safe for one log line or cause. */
static char *
publish_nostr_quote(const char *s)
{
	struct buf	b;
	size_t		i;

	buf_init(&b);
	buf_adds(&b, "");
	for (i = 0; s != NULL && s[i] != '\0' && i < PUBLISH_NOSTR_QUOTE_MAX;
	    i++)
		buf_addc(&b, (unsigned char)s[i] < 0x20 || s[i] == 0x7f ?
		    '?' : s[i]);
	if (s != NULL && s[i] != '\0')
		buf_adds(&b, "...");
	return buf_steal(&b);
}

static bool
publish_nostr_prefix(const char *msg, const char *prefix)
{
	return msg != NULL && strncmp(msg, prefix, strlen(prefix)) == 0;
}

/* 64 hex digits (either case) as 32 bytes; -1 if not exactly that. */
static int
publish_nostr_unhex(const char *hex, unsigned char out[32])
{
	size_t	i;
	int	v, hi = 0;

	if (hex == NULL || strlen(hex) != 64)
		return -1;
	for (i = 0; i < 64; i++) {
		if (hex[i] >= '0' && hex[i] <= '9')
			v = hex[i] - '0';
		else if ((hex[i] | 0x20) >= 'a' && (hex[i] | 0x20) <= 'f')
			v = (hex[i] | 0x20) - 'a' + 10;
		else
			return -1;
		if (i % 2 == 0)
			hi = v;
		else
			out[i / 2] = (unsigned char)(hi << 4 | v);
	}
	return 0;
}

/*
 * The signed reply, the same on every attempt and after a restart:
 * created_at is when the reply was written, and the signature's
 * auxiliary randomness the SHA-256 of its idempotency key.  The id
 * alone (which does not depend on the randomness) is what relays
 * dedupe by; the fixed randomness makes a resend byte for byte the
 * same event, so no relay ever holds two signatures of one note.
 * The text of ["EVENT", event], or NULL with *cause.
 */
static char *
publish_nostr_event(const struct publish_job *job, char id[65], char **cause)
{
	const struct reply	*r = &job->reply;
	const char		*key = r->key != NULL ? r->key : "";
	unsigned char		 sk[32], aux[32];
	unsigned int		 mdlen = 0;
	char			 pub[65], *text = NULL;
	json_t			*ev = NULL, *msg;

	if (publish_nostr_unhex(job->account->secret_key, sk) != 0) {
		*cause = xstrdup("the account's secret_key is not 64 hex "
		    "digits");
		return NULL;
	}
	if (nostr_pubkey_hex(sk, pub) != 0) {
		*cause = xstrdup("the account's secret_key is not a valid "
		    "secp256k1 secret key");
		goto out;
	}
	ev = nostr_reply_event(r->parent, r->text, r->created_ms / 1000);
	if (ev == NULL) {
		*cause = xstrdup("the post replied to is not a Nostr note, or "
		    "the text is missing or not UTF-8");
		goto out;
	}
	/* A reply in a thread we took part in would tag ourselves. */
	nostr_drop_p(ev, pub);
	if (EVP_Digest(key, strlen(key), aux, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen != 32) {
		*cause = xstrdup("SHA-256 failed");
		goto out;
	}
	if (nostr_sign(ev, sk, aux, cause) != 0)
		goto out;
	memcpy(id, json_string_value(json_object_get(ev, "id")), 65);
	msg = json_pack("[sO]", "EVENT", ev);
	text = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (text == NULL)
		*cause = xstrdup("the event cannot be written as JSON");
out:
	OPENSSL_cleanse(sk, sizeof(sk));
	json_decref(ev);
	return text;
}

static void
publish_nostr_attempt_free(struct publish_nostr_attempt *at)
{
	size_t	i;

	for (i = 0; i < at->nrelays; i++) {
		free(at->relays[i].url);
		free(at->relays[i].said);
	}
	free(at->relays);
	free(at->text);
	free(at->name);
	free(at);
}

static void
publish_nostr_timer_closed(uv_handle_t *h)
{
	publish_nostr_attempt_free(h->data);
}

/*
 * Stop everything the attempt holds, without a word to the pump: the
 * sockets close (ws_free calls nothing of ours any more) and the
 * memory goes once the timer is closed, later in the loop, so this is
 * safe from inside one of the attempt's own callbacks.
 */
static void
publish_nostr_end(struct publish_nostr_attempt *at)
{
	struct publish_nostr_attempt	**pp;
	size_t				  i;

	at->job = NULL;
	if (at->st != NULL) {
		for (pp = &at->st->attempts; *pp != NULL; pp = &(*pp)->next)
			if (*pp == at) {
				*pp = at->next;
				break;
			}
		at->st = NULL;
	}
	for (i = 0; i < at->nrelays; i++) {
		ws_free(at->relays[i].ws);
		at->relays[i].ws = NULL;
	}
	uv_timer_stop(&at->timer);
	uv_close((uv_handle_t *)&at->timer, publish_nostr_timer_closed);
}

/* Whether every relay has answered or failed. */
static bool
publish_nostr_settled(const struct publish_nostr_attempt *at)
{
	size_t	i;

	for (i = 0; i < at->nrelays; i++)
		if (at->relays[i].verdict == PUBLISH_NOSTR_WAITING)
			return false;
	return true;
}

/*
 * Relay r's verdict, once: its connection is closed (this is the one
 * attempt on it), and the attempt ends when no relay is left waiting.
 */
static void
publish_nostr_settle(struct publish_nostr_relay *r,
    enum publish_nostr_verdict v, const char *said)
{
	struct publish_nostr_attempt	*at = r->at;
	static const char *const	 names[] = { "waiting", "accepted",
					    "refused", "to retry" };

	if (at->job == NULL || r->verdict != PUBLISH_NOSTR_WAITING)
		return;
	r->verdict = v;
	r->said = publish_nostr_quote(said);
	log_info("publish %s: %s: event %s %s%s%s", at->name, r->url, at->id,
	    names[v], *r->said != '\0' ? ": " : "", r->said);
	if (r->ws != NULL)
		ws_stop(r->ws);
	if (publish_nostr_settled(at))
		publish_nostr_finish(at);
}

/* "url: what it said; url: ..." for the relays with verdict v (or
 * every relay not accepted, for PUBLISH_NOSTR_WAITING). */
static char *
publish_nostr_causes(const struct publish_nostr_attempt *at,
    enum publish_nostr_verdict v)
{
	const struct publish_nostr_relay	*r;
	struct buf				 b;
	size_t					 i;

	buf_init(&b);
	buf_adds(&b, "");
	for (i = 0; i < at->nrelays; i++) {
		r = &at->relays[i];
		if (r->verdict == PUBLISH_NOSTR_ACCEPTED ||
		    (v != PUBLISH_NOSTR_WAITING && r->verdict != v))
			continue;
		if (b.len > 0)
			buf_adds(&b, "; ");
		if (r->verdict == PUBLISH_NOSTR_WAITING)
			buf_printf(&b, "%s: no answer within %d ms", r->url,
			    at->timeout_ms);
		else
			buf_printf(&b, "%s: %s", r->url, *r->said != '\0' ?
			    r->said : "refused without a reason");
	}
	return buf_steal(&b);
}

/*
 * The outcome: published if any relay took the event (the others may
 * get it on a later reply's attempt, or from clients that spread it);
 * refused only if every relay refused it; else try again later, with
 * the same event.
 */
static void
publish_nostr_finish(struct publish_nostr_attempt *at)
{
	struct publish_job	*job = at->job;
	unsigned char		 raw[32];
	char			*note, *url = NULL, *cause = NULL;
	size_t			 i, accepted = 0, refused = 0;
	enum publish_result	 result;

	if (job == NULL)
		return;
	for (i = 0; i < at->nrelays; i++) {
		if (at->relays[i].verdict == PUBLISH_NOSTR_ACCEPTED)
			accepted++;
		else if (at->relays[i].verdict == PUBLISH_NOSTR_REFUSED)
			refused++;
	}
	if (accepted > 0) {
		result = PUBLISH_OK;
		(void)publish_nostr_unhex(at->id, raw);
		note = nip19_encode("note", raw);
		url = xasprintf("nostr:%s", note);
		free(note);
		log_debug("publish %s: reply %lld published as %s, accepted "
		    "by %zu of %zu relays", at->name, (long long)job->reply.id,
		    at->id, accepted, at->nrelays);
	} else if (refused == at->nrelays) {
		result = PUBLISH_FAIL;
		cause = publish_nostr_causes(at, PUBLISH_NOSTR_REFUSED);
	} else {
		result = PUBLISH_RETRY;
		cause = publish_nostr_causes(at, PUBLISH_NOSTR_WAITING);
	}
	publish_nostr_end(at);
	publish_job_done(job, result, url, result == PUBLISH_OK ? at->id :
	    NULL, -1, cause);
	free(url);
	free(cause);
}

static void
publish_nostr_timeout(uv_timer_t *t)
{
	struct publish_nostr_attempt	*at = t->data;

	log_info("publish %s: event %s: %d ms are up", at->name, at->id,
	    at->timeout_ms);
	publish_nostr_finish(at);
}

/*
 * Each connection is tried once per attempt: a second call means the
 * first could not connect (ws.c retries at once, as the account's
 * reconnect delay is set to nothing), and the pump's retry is the
 * next chance.
 */
static char *
publish_nostr_url(void *arg)
{
	struct publish_nostr_relay	*r = arg;

	if (r->connects++ == 0)
		return xstrdup(r->url);
	ws_stop(r->ws);
	publish_nostr_settle(r, PUBLISH_NOSTR_LATER, "could not connect");
	return NULL;
}

static void
publish_nostr_opened(void *arg)
{
	struct publish_nostr_relay	*r = arg;
	struct publish_nostr_attempt	*at = r->at;

	log_debug("publish %s: sending event %s to %s", at->name, at->id,
	    r->url);
	ws_send(r->ws, at->text, strlen(at->text));
}

/* An OK for our event: what it means for this relay. */
static void
publish_nostr_ok(struct publish_nostr_relay *r, const struct nostr_msg *m)
{
	/*
	 * NIP-01 answers a resend with true and "duplicate:", but some
	 * relays say false: either way the relay has the event.  NIP-42
	 * (auth-required:) is not implemented, so such a relay refuses
	 * us for good, like any other refusal except a rate limit.
	 */
	if (m->accepted || publish_nostr_prefix(m->message, "duplicate:"))
		publish_nostr_settle(r, PUBLISH_NOSTR_ACCEPTED, m->message);
	else if (publish_nostr_prefix(m->message, "rate-limited:"))
		publish_nostr_settle(r, PUBLISH_NOSTR_LATER, m->message);
	else
		publish_nostr_settle(r, PUBLISH_NOSTR_REFUSED, m->message);
}

static void
publish_nostr_message(void *arg, const char *buf, size_t len, bool binary)
{
	struct publish_nostr_relay	*r = arg;
	struct publish_nostr_attempt	*at = r->at;
	struct nostr_msg		 m;
	char				*cause = NULL, *q;

	if (binary || nostr_parse_message(buf, len, &m, &cause) != 0) {
		q = publish_nostr_quote(cause);
		log_debug("publish %s: %s: unusable message ignored%s%s",
		    at->name, r->url, cause != NULL ? ": " : "", q);
		free(q);
		free(cause);
		return;
	}
	q = publish_nostr_quote(m.message);
	switch (m.kind) {
	case NOSTR_OK:
		if (strcasecmp(m.event_id, at->id) == 0)
			publish_nostr_ok(r, &m);
		break;
	case NOSTR_NOTICE:
		log_info("publish %s: notice from %s: %s", at->name, r->url, q);
		break;
	case NOSTR_AUTH:
		/* Some relays ask but take events anyway: wait for OK. */
		log_info("publish %s: %s asks for NIP-42 authentication, "
		    "which is not implemented", at->name, r->url);
		break;
	default:
		break;
	}
	free(q);
	nostr_msg_clear(&m);
}

static void
publish_nostr_closed(void *arg, const char *reason)
{
	struct publish_nostr_relay	*r = arg;
	char				*why;

	why = xasprintf("connection closed before an answer (%s)",
	    reason != NULL ? reason : "no reason");
	if (r->ws != NULL)
		ws_stop(r->ws);
	publish_nostr_settle(r, PUBLISH_NOSTR_LATER, why);
	free(why);
}

static const struct ws_callbacks publish_nostr_ws_callbacks = {
	.url = publish_nostr_url,
	.opened = publish_nostr_opened,
	.message = publish_nostr_message,
	.closed = publish_nostr_closed,
};

static void
publish_nostr_start(struct publish_job *job)
{
	const struct account_conf	*acc = job->account;
	struct publish_nostr_state	*st = job->state;
	struct publish_nostr_attempt	*at;
	struct publish_nostr_relay	*r;
	struct ws_params		 p;
	char				 id[65], *text, *cause = NULL;
	size_t				 i;

	if (acc->relays.n == 0) {
		publish_job_done(job, PUBLISH_FAIL, NULL, NULL, -1,
		    "the account has no relays");
		return;
	}
	if ((text = publish_nostr_event(job, id, &cause)) == NULL) {
		publish_job_done(job, PUBLISH_FAIL, NULL, NULL, -1, cause);
		free(cause);
		return;
	}
	if (st == NULL)
		job->state = st = xcalloc(1, sizeof(*st));
	at = xcalloc(1, sizeof(*at));
	at->job = job;
	at->st = st;
	at->next = st->attempts;
	st->attempts = at;
	at->name = xstrdup(acc->name);
	memcpy(at->id, id, sizeof(at->id));
	at->text = text;
	at->timeout_ms = acc->timeout_ms > 0 ? acc->timeout_ms :
	    PUBLISH_NOSTR_TIMEOUT_MS;
	log_info("publish %s: reply %lld (attempt %d) as event %s to %zu "
	    "relays", at->name, (long long)job->reply.id,
	    job->reply.attempts + 1, at->id, acc->relays.n);
	uv_timer_init(job->loop, &at->timer);
	at->timer.data = at;
	uv_timer_start(&at->timer, publish_nostr_timeout,
	    (uint64_t)at->timeout_ms, 0);
	memset(&p, 0, sizeof(p));
	/* The watchdog never fires first: the attempt's timer rules. */
	p.idle_timeout_ms = at->timeout_ms * 2 + 1000;
	p.reconnect_min_ms = 1;
	p.reconnect_max_ms = 1;
	p.max_message = PUBLISH_NOSTR_MAX_MESSAGE;
	at->nrelays = acc->relays.n;
	at->relays = xcalloc(at->nrelays, sizeof(*at->relays));
	for (i = 0; i < at->nrelays; i++) {
		r = &at->relays[i];
		r->at = at;
		r->url = xstrdup(acc->relays.v[i]);
		text = xasprintf("%s (%s)", at->name, r->url);
		p.role = "publish";
		p.name = text;
		r->ws = ws_new(job->lws, job->loop, &p,
		    &publish_nostr_ws_callbacks, r);
		free(text);
	}
	for (i = 0; i < at->nrelays; i++)
		ws_start(at->relays[i].ws);
}

static void
publish_nostr_cancel(struct publish_job *job)
{
	struct publish_nostr_state	*st = job->state;
	struct publish_nostr_attempt	*at;

	if (st == NULL)
		return;
	for (at = st->attempts; at != NULL; at = at->next)
		if (at->job == job) {
			log_info("publish %s: event %s abandoned (stopping)",
			    at->name, at->id);
			publish_nostr_end(at);
			return;
		}
}

static void
publish_nostr_state_free(void *state)
{
	struct publish_nostr_state	*st = state;

	if (st == NULL)
		return;
	while (st->attempts != NULL)
		publish_nostr_end(st->attempts);
	free(st);
}

const struct publish_ops publish_nostr_ops = {
	.type = "nostr",
	.start = publish_nostr_start,
	.cancel = publish_nostr_cancel,
	.state_free = publish_nostr_state_free,
};
