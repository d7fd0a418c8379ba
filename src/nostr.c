/* Nostr relay messages, NIP-01 ids, BIP-340 signatures, events as posts. */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include "nostr.h"
#include "text.h"
#include "util.h"

/*
 * Duplicate keys are refused so that no two readers of one event can
 * see different contents; NUL is allowed because "\u0000" is a valid
 * JSON string that other clients sign (the serialiser uses lengths).
 */
#define NOSTR_JSON_FLAGS	(JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)

/* 9999-12-31T23:59:59Z: created_at must fit a four-digit ISO 8601 year. */
#define NOSTR_TIME_MAX		253402300799LL

/* The members of an event, checked and borrowed from it. */
struct nostr_fields {
	const json_t	*id;		/* strict only */
	const json_t	*pubkey;
	const json_t	*sig;		/* strict only */
	const json_t	*tags;
	const json_t	*content;
	json_int_t	 created_at;
	json_int_t	 kind;
};

/* Message types, indexed by enum nostr_msg_kind. */
static const char *const nostr_msg_types[] = {
	"EVENT", "EOSE", "CLOSED", "NOTICE", "OK", "AUTH"
};

static const char *
nostr_msg_type(enum nostr_msg_kind kind)
{
	return (size_t)kind < nitems(nostr_msg_types) ?
	    nostr_msg_types[kind] : "?";
}

/*
 * Element i of message a as a string: 0, or -1 with a cause.  With
 * optional, a missing element is the empty string (old relays omit the
 * message of OK and CLOSED).
 */
static int
nostr_msg_string(const json_t *a, size_t i, bool optional,
    enum nostr_msg_kind kind, char **out, char **cause)
{
	const json_t	*v = json_array_get(a, i);

	if (v == NULL && optional) {
		*out = xstrdup("");
		return 0;
	}
	if (!json_is_string(v)) {
		*cause = xasprintf("%s: element %zu is not a string",
		    nostr_msg_type(kind), i);
		return -1;
	}
	*out = xstrdup(json_string_value(v));
	return 0;
}

/* ["EVENT", sub_id, event], or ["EVENT", event] as nostrdb records it. */
static int
nostr_msg_event(const json_t *a, struct nostr_msg *msg, char **cause)
{
	size_t	n = json_array_size(a);
	json_t	*ev = json_array_get(a, n - 1);

	if (n != 2 && n != 3) {
		*cause = xasprintf("EVENT: %zu elements, not 2 or 3", n);
		return -1;
	}
	if (n == 3 && nostr_msg_string(a, 1, false, NOSTR_EVENT,
	    &msg->sub_id, cause) != 0)
		return -1;
	if (!json_is_object(ev)) {
		*cause = xasprintf("EVENT: element %zu is not an object",
		    n - 1);
		return -1;
	}
	msg->event = json_incref(ev);
	return 0;
}

/* ["OK", event_id, accepted, message]. */
static int
nostr_msg_ok(const json_t *a, struct nostr_msg *msg, char **cause)
{
	if (!json_is_string(json_array_get(a, 1))) {
		*cause = xstrdup("OK: the event id is not a string");
		return -1;
	}
	if (!json_is_boolean(json_array_get(a, 2))) {
		*cause = xstrdup("OK: element 2 is not true or false");
		return -1;
	}
	msg->event_id = xstrdup(json_string_value(json_array_get(a, 1)));
	msg->accepted = json_is_true(json_array_get(a, 2));
	return nostr_msg_string(a, 3, true, NOSTR_OK, &msg->message, cause);
}

/* The message body once its type is known; the element count is checked. */
static int
nostr_msg_body(const json_t *a, struct nostr_msg *msg, char **cause)
{
	size_t	n = json_array_size(a);

	switch (msg->kind) {
	case NOSTR_EVENT:
		return nostr_msg_event(a, msg, cause);
	case NOSTR_EOSE:
		if (n != 2)
			break;
		return nostr_msg_string(a, 1, false, msg->kind, &msg->sub_id,
		    cause);
	case NOSTR_CLOSED:
		if (n != 2 && n != 3)
			break;
		if (nostr_msg_string(a, 1, false, msg->kind, &msg->sub_id,
		    cause) != 0)
			return -1;
		return nostr_msg_string(a, 2, true, msg->kind, &msg->message,
		    cause);
	case NOSTR_NOTICE:
	case NOSTR_AUTH:
		if (n != 2)
			break;
		return nostr_msg_string(a, 1, false, msg->kind, &msg->message,
		    cause);
	case NOSTR_OK:
		if (n != 3 && n != 4)
			break;
		return nostr_msg_ok(a, msg, cause);
	case NOSTR_OTHER:
		return 0;
	}
	*cause = xasprintf("%s: wrong number of elements (%zu)",
	    nostr_msg_type(msg->kind), n);
	return -1;
}

int
nostr_parse_message(const char *buf, size_t len, struct nostr_msg *msg,
    char **cause)
{
	json_error_t	 err;
	json_t		*a;
	const char	*type;
	size_t		 i;
	int		 rv = -1;

	memset(msg, 0, sizeof(*msg));
	msg->kind = NOSTR_OTHER;
	if ((a = json_loadb(buf, len, NOSTR_JSON_FLAGS, &err)) == NULL) {
		*cause = xasprintf("invalid JSON at column %d: %s", err.column,
		    err.text);
		return -1;
	}
	if (!json_is_array(a) || !json_is_string(json_array_get(a, 0))) {
		*cause = xstrdup("not an array starting with a message type");
		goto out;
	}
	type = json_string_value(json_array_get(a, 0));
	for (i = 0; i < nitems(nostr_msg_types); i++) {
		if (strcmp(type, nostr_msg_types[i]) == 0) {
			msg->kind = (enum nostr_msg_kind)i;
			break;
		}
	}
	rv = nostr_msg_body(a, msg, cause);
out:
	json_decref(a);
	if (rv != 0)
		nostr_msg_clear(msg);
	return rv;
}

void
nostr_msg_clear(struct nostr_msg *msg)
{
	free(msg->sub_id);
	free(msg->message);
	free(msg->event_id);
	json_decref(msg->event);
	memset(msg, 0, sizeof(*msg));
	msg->kind = NOSTR_OTHER;
}

/* Whether v is a string of exactly n lower-case hex digits. */
static bool
nostr_is_hex(const json_t *v, size_t n)
{
	const char	*s;
	size_t		 i;

	if (!json_is_string(v) || json_string_length(v) != n)
		return false;
	s = json_string_value(v);
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* 2n hex digits (already checked) to n bytes. */
static void
nostr_hex_decode(const char *s, unsigned char *out, size_t n)
{
	size_t	i;
	int	hi, lo;

	for (i = 0; i < n; i++) {
		hi = s[2 * i] <= '9' ? s[2 * i] - '0' : s[2 * i] - 'a' + 10;
		lo = s[2 * i + 1] <= '9' ? s[2 * i + 1] - '0' :
		    s[2 * i + 1] - 'a' + 10;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
}

/* An integer member (not a real: 1.0 is not a kind) within [min, max]. */
static int
nostr_int_member(const json_t *event, const char *key, json_int_t min,
    json_int_t max, json_int_t *out, char **cause)
{
	const json_t	*v = json_object_get(event, key);

	if (v == NULL) {
		*cause = xasprintf("missing %s", key);
		return -1;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max) {
		if (min == LLONG_MIN && max == LLONG_MAX)
			*cause = xasprintf("%s is not an integer", key);
		else
			*cause = xasprintf("%s is not an integer in "
			    "%lld..%lld", key, (long long)min, (long long)max);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

static int
nostr_hex_member(const json_t *event, const char *key, size_t n,
    const json_t **out, char **cause)
{
	*out = json_object_get(event, key);
	if (*out == NULL) {
		*cause = xasprintf("missing %s", key);
		return -1;
	}
	if (!nostr_is_hex(*out, n)) {
		*cause = xasprintf("%s is not %zu lower-case hex digits", key,
		    n);
		return -1;
	}
	return 0;
}

/* tags: an array of arrays of strings (an empty tag is allowed). */
static int
nostr_check_tags(const json_t *tags, char **cause)
{
	const json_t	*t, *v;
	size_t		 i, j;

	if (tags == NULL) {
		*cause = xstrdup("missing tags");
		return -1;
	}
	if (!json_is_array(tags)) {
		*cause = xstrdup("tags is not an array");
		return -1;
	}
	json_array_foreach(tags, i, t) {
		if (!json_is_array(t)) {
			*cause = xasprintf("tags[%zu] is not an array", i);
			return -1;
		}
		json_array_foreach(t, j, v) {
			if (!json_is_string(v)) {
				*cause = xasprintf("tags[%zu][%zu] is not a "
				    "string", i, j);
				return -1;
			}
		}
	}
	return 0;
}

/*
 * The members of event that the serialisation needs, type-checked;
 * strict adds id and sig, and the formats and ranges of NIP-01.
 */
static int
nostr_fields_get(const json_t *event, bool strict, struct nostr_fields *f,
    char **cause)
{
	memset(f, 0, sizeof(*f));
	if (!json_is_object(event)) {
		*cause = xstrdup("the event is not an object");
		return -1;
	}
	if (strict) {
		if (nostr_hex_member(event, "id", 64, &f->id, cause) != 0 ||
		    nostr_hex_member(event, "pubkey", 64, &f->pubkey,
		    cause) != 0 ||
		    nostr_hex_member(event, "sig", 128, &f->sig, cause) != 0)
			return -1;
	} else {
		f->pubkey = json_object_get(event, "pubkey");
		if (!json_is_string(f->pubkey)) {
			*cause = xstrdup(f->pubkey == NULL ? "missing pubkey" :
			    "pubkey is not a string");
			return -1;
		}
	}
	if (nostr_int_member(event, "created_at", strict ? 0 : LLONG_MIN,
	    strict ? NOSTR_TIME_MAX : LLONG_MAX, &f->created_at,
	    cause) != 0 ||
	    nostr_int_member(event, "kind", strict ? 0 : LLONG_MIN,
	    strict ? 65535 : LLONG_MAX, &f->kind, cause) != 0)
		return -1;
	f->tags = json_object_get(event, "tags");
	if (nostr_check_tags(f->tags, cause) != 0)
		return -1;
	f->content = json_object_get(event, "content");
	if (!json_is_string(f->content)) {
		*cause = xstrdup(f->content == NULL ? "missing content" :
		    "content is not a string");
		return -1;
	}
	return 0;
}

/*
 * A JSON string as NIP-01 wants it.  NIP-01 names seven escapes and
 * says every other character goes in verbatim, but a raw control
 * character would not be JSON, and nostr-tools, which hashes
 * JSON.stringify's output, writes the other C0 controls as \u00xx
 * with lower-case hex; doing the same keeps ids equal to the ones its
 * users sign.  DEL, '/' and all non-ASCII text stay verbatim, as there.
 */
static void
nostr_quote(struct buf *b, const json_t *v)
{
	static const char	 hex[] = "0123456789abcdef";
	const char		*s = json_string_value(v), *run = s;
	size_t			 n = json_string_length(v), i;
	unsigned char		 c;
	char			 esc[7] = "\\u00";

	buf_addc(b, '"');
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(b, run, (size_t)(s + i - run));
		run = s + i + 1;
		switch (c) {
		case '"':	buf_add(b, "\\\"", 2); break;
		case '\\':	buf_add(b, "\\\\", 2); break;
		case '\n':	buf_add(b, "\\n", 2); break;
		case '\r':	buf_add(b, "\\r", 2); break;
		case '\t':	buf_add(b, "\\t", 2); break;
		case '\b':	buf_add(b, "\\b", 2); break;
		case '\f':	buf_add(b, "\\f", 2); break;
		default:
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			buf_add(b, esc, 6);
			break;
		}
	}
	buf_add(b, run, (size_t)(s + n - run));
	buf_addc(b, '"');
}

/* [0,pubkey,created_at,kind,tags,content] into b. */
static void
nostr_serialize_fields(struct buf *b, const struct nostr_fields *f)
{
	const json_t	*t, *v;
	size_t		 i, j;

	buf_adds(b, "[0,");
	nostr_quote(b, f->pubkey);
	buf_printf(b, ",%lld,%lld,[", (long long)f->created_at,
	    (long long)f->kind);
	json_array_foreach(f->tags, i, t) {
		buf_adds(b, i > 0 ? ",[" : "[");
		json_array_foreach(t, j, v) {
			if (j > 0)
				buf_addc(b, ',');
			nostr_quote(b, v);
		}
		buf_addc(b, ']');
	}
	buf_adds(b, "],");
	nostr_quote(b, f->content);
	buf_addc(b, ']');
}

char *
nostr_serialize(const json_t *event, char **cause)
{
	struct nostr_fields	f;
	struct buf		b;

	if (nostr_fields_get(event, false, &f, cause) != 0)
		return NULL;
	buf_init(&b);
	nostr_serialize_fields(&b, &f);
	return buf_steal(&b);
}

static int
nostr_hash_fields(const struct nostr_fields *f, unsigned char id[32],
    char **cause)
{
	struct buf	b;
	unsigned int	mdlen = 0;
	int		ok;

	buf_init(&b);
	nostr_serialize_fields(&b, f);
	ok = EVP_Digest(b.data, b.len, id, &mdlen, EVP_sha256(), NULL);
	buf_free(&b);
	if (ok != 1 || mdlen != 32) {
		*cause = xstrdup("SHA-256 failed");
		return -1;
	}
	return 0;
}

int
nostr_event_hash(const json_t *event, unsigned char id[32], char **cause)
{
	struct nostr_fields	f;

	if (nostr_fields_get(event, false, &f, cause) != 0)
		return -1;
	return nostr_hash_fields(&f, id, cause);
}

/*
 * The library's read-only static context needs no set-up and can
 * verify (it only cannot sign), so there is no state to create or
 * free.  secp256k1_selftest() is not called per event: the BIP-340
 * vectors in the unit tests exercise the same code far more.
 */
bool
nostr_schnorr_verify(const unsigned char sig64[64], const unsigned char *msg,
    size_t msglen, const unsigned char pub32[32])
{
	secp256k1_xonly_pubkey	pk;

	if (!secp256k1_xonly_pubkey_parse(secp256k1_context_static, &pk,
	    pub32))
		return false;
	return secp256k1_schnorrsig_verify(secp256k1_context_static, sig64,
	    msg, msglen, &pk) == 1;
}

int
nostr_verify(const json_t *event, char **cause)
{
	struct nostr_fields	f;
	unsigned char		hash[32], id[32], pub[32], sig[64];

	if (nostr_fields_get(event, true, &f, cause) != 0 ||
	    nostr_hash_fields(&f, hash, cause) != 0)
		return -1;
	nostr_hex_decode(json_string_value(f.id), id, sizeof(id));
	if (memcmp(hash, id, sizeof(hash)) != 0) {
		*cause = xstrdup("id is not the hash of the event");
		return -1;
	}
	nostr_hex_decode(json_string_value(f.pubkey), pub, sizeof(pub));
	nostr_hex_decode(json_string_value(f.sig), sig, sizeof(sig));
	if (!nostr_schnorr_verify(sig, id, sizeof(id), pub)) {
		*cause = xstrdup("bad signature");
		return -1;
	}
	return 0;
}

/*
 * Tag value i of tag t as a lower-case 64-digit hex id, or NULL.
 * Tag values are free text, so event ids and keys there are checked
 * and case-folded before they become post ids or routing keys.
 */
static char *
nostr_tag_id(const json_t *t, size_t i)
{
	const json_t	*v = json_array_get(t, i);
	char		 out[65];

	if (!json_is_string(v) || json_string_length(v) != 64 ||
	    nostr_key_hex(json_string_value(v), out) != 0)
		return NULL;
	return xstrdup(out);
}

/* Whether tag t is named name (its first element). */
static bool
nostr_tag_is(const json_t *t, const char *name)
{
	const json_t	*v = json_array_get(t, 0);

	return json_array_size(t) >= 2 && json_string_length(v) ==
	    strlen(name) && strcmp(json_string_value(v), name) == 0;
}

/* A tag's marker (element 3), or "" if it has none. */
static const char *
nostr_tag_marker(const json_t *t)
{
	const char	*m = json_string_value(json_array_get(t, 3));

	return m != NULL ? m : "";
}

/*
 * NIP-10 reply fields of a kind 1 note.  Marked e tags win: "root"
 * alone is a direct reply to the root; "reply" alone leaves the root
 * for the pipeline to look up from the parent.  Without markers, the
 * deprecated positional form: one e tag is the replied-to note (and
 * the root), else the first is the root and the last the parent.
 * "mention" e tags are quotes, not thread links.  Unknown markers
 * (some clients put a pubkey there) count as unmarked.
 */
static void
nostr_post_thread(const json_t *tags, struct post *p)
{
	const json_t	*t;
	const char	*m;
	char		*root = NULL, *reply = NULL, *first = NULL;
	char		*last = NULL, *id;
	size_t		 i;

	json_array_foreach(tags, i, t) {
		if (!nostr_tag_is(t, "e") || (id = nostr_tag_id(t, 1)) == NULL)
			continue;
		m = nostr_tag_marker(t);
		if (strcmp(m, "root") == 0 && root == NULL)
			root = id;
		else if (strcmp(m, "reply") == 0 && reply == NULL)
			reply = id;
		else if (strcmp(m, "root") == 0 || strcmp(m, "reply") == 0 ||
		    strcmp(m, "mention") == 0)
			free(id);
		else if (first == NULL)
			first = id;
		else {
			free(last);
			last = id;
		}
	}
	if (root != NULL || reply != NULL) {
		p->reply_root = root;
		p->reply_parent = reply != NULL ? reply : xstrdup(root);
		free(first);
		free(last);
	} else if (first != NULL) {
		p->reply_root = first;
		p->reply_parent = last != NULL ? last : xstrdup(first);
	}
}

/* p tags as mentions (hex keys) and t tags as hashtags. */
static void
nostr_post_tags(const json_t *tags, struct post *p)
{
	const json_t	*t;
	const char	*tag;
	char		*s;
	size_t		 i;

	json_array_foreach(tags, i, t) {
		if (nostr_tag_is(t, "p")) {
			if ((s = nostr_tag_id(t, 1)) == NULL)
				continue;
			if (strv_contains(&p->mentions, s))
				free(s);
			else
				strv_take(&p->mentions, s);
		} else if (nostr_tag_is(t, "t")) {
			tag = json_string_value(json_array_get(t, 1));
			if (*tag == '#')
				tag++;
			if (*tag == '\0')
				continue;
			s = text_lower_str(tag);
			if (strv_contains(&p->hashtags, s))
				free(s);
			else
				strv_take(&p->hashtags, s);
		}
	}
}

struct post *
nostr_event_post(const json_t *event, const char *web_base, char **cause)
{
	struct nostr_fields	 f;
	struct post		*p;
	struct tm		 tm;
	time_t			 t;
	unsigned char		 id[32];
	char			 iso[32], *note;

	if (nostr_fields_get(event, true, &f, cause) != 0)
		return NULL;
	t = (time_t)f.created_at;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		*cause = xstrdup("created_at is out of range");
		return NULL;
	}
	p = post_new();
	p->platform = xstrdup("nostr");
	p->id = xstrdup(json_string_value(f.id));
	p->author = xstrdup(json_string_value(f.pubkey));
	/* A NUL inside the content ends the text: C strings stop there. */
	p->text = xstrdup(json_string_value(f.content));
	p->created_at = xstrdup(iso);
	/* No receive time in a pure parse: the author's claim, which the
	 * source may replace with when it saw the event. */
	p->time_us = (int64_t)f.created_at * 1000000;
	nostr_post_tags(f.tags, p);
	if (f.kind == 1)
		nostr_post_thread(f.tags, p);
	if (web_base != NULL) {
		nostr_hex_decode(p->id, id, sizeof(id));
		note = nip19_encode("note", id);
		p->url = xasprintf("%s%s", web_base, note);
		free(note);
	}
	return p;
}

/*
 * Signing needs a context that can multiply the generator, which the
 * read-only static context cannot (libsecp256k1 aborts).  A reply is
 * signed once per publishing attempt, so a context per signature costs
 * nothing that matters and keeps the module free of global state.  It
 * is blinded with fresh randomness against side channels when the
 * system has some; the signature itself does not depend on it.
 */
static secp256k1_context *
nostr_sign_context(void)
{
	secp256k1_context	*ctx;
	unsigned char		 seed[32];

	ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	if (ctx == NULL)
		return NULL;
	if (RAND_bytes(seed, sizeof(seed)) == 1 &&
	    secp256k1_context_randomize(ctx, seed) != 1) {
		secp256k1_context_destroy(ctx);
		ctx = NULL;
	}
	OPENSSL_cleanse(seed, sizeof(seed));
	return ctx;
}

int
nostr_pubkey_hex(const unsigned char seckey[32], char out[65])
{
	secp256k1_context	*ctx;
	secp256k1_keypair	 kp;
	secp256k1_xonly_pubkey	 xpk;
	unsigned char		 pub[32];
	int			 rv = -1;

	if ((ctx = nostr_sign_context()) == NULL)
		return -1;
	if (secp256k1_keypair_create(ctx, &kp, seckey) == 1 &&
	    secp256k1_keypair_xonly_pub(ctx, &xpk, NULL, &kp) == 1 &&
	    secp256k1_xonly_pubkey_serialize(ctx, pub, &xpk) == 1) {
		hex_encode(pub, sizeof(pub), out);
		rv = 0;
	}
	OPENSSL_cleanse(&kp, sizeof(kp));
	secp256k1_context_destroy(ctx);
	return rv;
}

int
nostr_schnorr_sign(unsigned char sig64[64], const unsigned char msg32[32],
    const unsigned char seckey[32], const unsigned char aux32[32],
    unsigned char pub32[32])
{
	secp256k1_context	*ctx;
	secp256k1_keypair	 kp;
	secp256k1_xonly_pubkey	 xpk;
	int			 rv = -1;

	if ((ctx = nostr_sign_context()) == NULL)
		return -1;
	if (secp256k1_keypair_create(ctx, &kp, seckey) == 1 &&
	    secp256k1_keypair_xonly_pub(ctx, &xpk, NULL, &kp) == 1 &&
	    secp256k1_xonly_pubkey_serialize(ctx, pub32, &xpk) == 1 &&
	    secp256k1_schnorrsig_sign32(ctx, sig64, msg32, &kp, aux32) == 1)
		rv = 0;
	OPENSSL_cleanse(&kp, sizeof(kp));
	secp256k1_context_destroy(ctx);
	/* Signing verifies internally since 0.2.0; checking again costs
	 * little and keeps a miscomputed signature off every relay. */
	if (rv == 0 && !nostr_schnorr_verify(sig64, msg32, 32, pub32))
		rv = -1;
	return rv;
}

int
nostr_sign(json_t *event, const unsigned char seckey[32],
    const unsigned char aux32[32], char **cause)
{
	unsigned char	id[32], sig[64], pub[32];
	char		hex[129];

	if (!json_is_object(event)) {
		*cause = xstrdup("the event is not an object");
		return -1;
	}
	/* The id covers the public key: set it first, from the secret. */
	if (nostr_pubkey_hex(seckey, hex) != 0) {
		*cause = xstrdup("not a valid secret key");
		return -1;
	}
	json_object_set_new(event, "pubkey", json_string(hex));
	if (nostr_event_hash(event, id, cause) != 0)
		return -1;
	if (nostr_schnorr_sign(sig, id, seckey, aux32, pub) != 0) {
		*cause = xstrdup("signing failed");
		return -1;
	}
	hex_encode(id, sizeof(id), hex);
	json_object_set_new(event, "id", json_string(hex));
	hex_encode(sig, sizeof(sig), hex);
	json_object_set_new(event, "sig", json_string(hex));
	return 0;
}

/* ["e", id, "", marker]: NIP-10's marked form, without a relay hint. */
static json_t *
nostr_e_tag(const char *id, const char *marker)
{
	return json_pack("[ssss]", "e", id, "", marker);
}

/* A p tag for key, if it is a key and not tagged yet. */
static void
nostr_add_p(json_t *tags, struct strv *seen, const char *key)
{
	char	hex[65];

	if (key == NULL || strlen(key) != 64 || nostr_key_hex(key, hex) != 0 ||
	    strv_contains(seen, hex))
		return;
	strv_add(seen, hex);
	json_array_append_new(tags, json_pack("[ss]", "p", hex));
}

/*
 * The root is the parent's root; a parent that named only its own
 * parent (and whose root the store did not know) is answered as a
 * reply to that one, the closest ancestor we know, rather than as if
 * the parent started the thread.
 */
json_t *
nostr_reply_event(const struct post *parent, const char *text,
    int64_t created_at)
{
	json_t		*ev, *tags, *content;
	struct strv	 seen;
	const char	*root;
	char		 id[65], root_id[65];
	size_t		 i;

	if (parent == NULL || text == NULL || parent->id == NULL ||
	    strlen(parent->id) != 64 || nostr_key_hex(parent->id, id) != 0)
		return NULL;
	if ((content = json_string(text)) == NULL)
		return NULL;
	root = parent->reply_root != NULL ? parent->reply_root :
	    parent->reply_parent;
	if (root == NULL || strlen(root) != 64 ||
	    nostr_key_hex(root, root_id) != 0)
		memcpy(root_id, id, sizeof(id));
	tags = json_array();
	json_array_append_new(tags, nostr_e_tag(root_id, "root"));
	if (strcmp(root_id, id) != 0)
		json_array_append_new(tags, nostr_e_tag(id, "reply"));
	strv_init(&seen);
	nostr_add_p(tags, &seen, parent->author);
	for (i = 0; i < parent->mentions.n; i++)
		nostr_add_p(tags, &seen, parent->mentions.v[i]);
	strv_free(&seen);
	ev = json_object();
	json_object_set_new(ev, "created_at", json_integer(created_at));
	json_object_set_new(ev, "kind", json_integer(1));
	json_object_set_new(ev, "tags", tags);
	json_object_set_new(ev, "content", content);
	return ev;
}

void
nostr_drop_p(json_t *event, const char *pubkey_hex)
{
	json_t	*tags = json_object_get(event, "tags"), *t;
	size_t	 i = 0;

	while (i < json_array_size(tags)) {
		t = json_array_get(tags, i);
		if (nostr_tag_is(t, "p") && json_is_string(json_array_get(t,
		    1)) && strcasecmp(json_string_value(json_array_get(t, 1)),
		    pubkey_hex) == 0)
			json_array_remove(tags, i);
		else
			i++;
	}
}
