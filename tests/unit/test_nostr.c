/*
 * Unit tests for nostr.c and nip19.c: relay messages, NIP-01 ids and
 * BIP-340 signatures on real relay events (tests/data/nostr-events.jsonl)
 * and the official BIP-340 vectors, NIP-10 threads, NIP-19 keys.
 */
#include "harness.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include "nostr.h"

#define EVENTS_FILE	"tests/data/nostr-events.jsonl"
#define VECTORS_FILE	"tests/data/bip340-vectors.csv"
#define WEB_BASE	"https://njump.me/"

/* The NIP-19 key pair of protocols.md (checked there with reference.py). */
#define NPUB	"npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg"
#define NPUB_HEX "7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e"
#define NSEC	"nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5"
#define NSEC_HEX "67dea2ed018072d675f5415ecfaed7d2597555e202d85b3d65ea4e58d2d92ffa"

/*
 * nostr-tools fakejson.test.ts (Unlicense), verbatim relay messages:
 * the plain vector and the one with \" in its content, both genuine;
 * and a kind 12720 whose content is a whole escaped JSON object, whose
 * id is NOT its hash (that test only matches strings).
 */
static const char *const tools_msgs[] = {
	"[\"EVENT\",\"nostril-query\",{\"tags\":[],\"content\":\"so did we cut "
	"all corners and p2p stuff in order to make a decentralized social "
	"network that was fast and worked, but in the end what we got was a "
	"lot of very slow clients that can't handle the traffic of one jack "
	"dorsey tweet?\",\"sig\":\"ca62629d189edebb8f0811cfa0ac53015013df5f305"
	"dcba3f411ba15cfc4074d8c2d517ee7d9e81c9eb72a7328bfbe31c9122156397565ac"
	"55e740404e2b1fe7\",\"id\":\"fef2a50f7d9d3d5a5f38ee761bc087ec16198d3f0"
	"140df6d1e8193abf7c2b146\",\"kind\":1,\"pubkey\":\"3bf0c63fcb93463407af"
	"97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d\",\"created_at\":"
	"1671150419}]",
	"[\"EVENT\",\"nostril-query\",{\"content\":\"a bunch of mfs interacted "
	"with my post using what I assume were \\\"likes\\\": https://nostr.buil"
	"d/i/964.png\",\"created_at\":1672506879,\"id\":\"f40bdd0905137ad604825"
	"37e260890ab50b0863bf16e67cf9383f203bd26c96f\",\"kind\":1,\"pubkey\":\""
	"3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d\",\""
	"sig\":\"8b825d2d4096f0643b18ca39da59ec07a682cd8a3e717f119c845037573d98"
	"099f5bea94ec7ddedd5600c8020144a255ed52882a911f7f7ada6d6abb3c0a1eb4\","
	"\"tags\":[]}]",
	"[\"EVENT\",\"nostril-query\",{\"content\":\"{\\\"name\\\":\\\"fiatjaf\\"
	"\",\\\"about\\\":\\\"buy my merch at fiatjaf store\\\",\\\"picture\\\":"
	"\\\"https://fiatjaf.com/static/favicon.jpg\\\",\\\"nip05\\\":\\\"_@fiat"
	"jaf.com\\\"}\",\"created_at\":1671217411,\"id\":\"b52f93f6dfecf9d81f59"
	"062827cd941412a0e8398dda60baf960b17499b88900\",\"kind\":12720,\"pubkey"
	"\":\"3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d"
	"\",\"sig\":\"fc1ea5d45fa5ed0526faed06e8fc7a558e60d1b213e9714f440828584"
	"ee999b93407092f9b04deea7e504fa034fc0428f31f7f0f95417b3280ebe6004b80b4"
	"70\",\"tags\":[]}]"
};

/* A data file's non-empty lines. */
static void
read_lines(const char *rel, struct strv *lines)
{
	char	*all = test_slurp(rel, NULL), *p, *nl;
	size_t	 n;

	strv_init(lines);
	for (p = all; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (n > 0 && p[n - 1] == '\r')	/* the CSV has CRLF */
			n--;
		if (n > 0)
			strv_take(lines, xstrndup(p, n));
		if (nl == NULL)
			break;
	}
	free(all);
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	fail_msg("not hex: %c", c);
	return -1;
}

/* Hex (either case) to bytes; returns the byte count. */
static size_t
unhex(const char *s, unsigned char *out, size_t max)
{
	size_t	n = strlen(s) / 2, i;

	assert_int_equal(strlen(s) % 2, 0);
	assert_true(n <= max);
	for (i = 0; i < n; i++)
		out[i] = (unsigned char)(hex_value(s[2 * i]) << 4 |
		    hex_value(s[2 * i + 1]));
	return n;
}

/* An EVENT message that must parse; its event, owned by the caller. */
static json_t *
parse_event(const char *line, const char *sub_id)
{
	struct nostr_msg	 msg;
	char			*cause = NULL;
	json_t			*ev;

	if (nostr_parse_message(line, strlen(line), &msg, &cause) != 0)
		fail_msg("%s: %.60s", cause, line);
	assert_int_equal(msg.kind, NOSTR_EVENT);
	if (sub_id == NULL)
		assert_null(msg.sub_id);
	else
		assert_string_equal(msg.sub_id, sub_id);
	assert_non_null(msg.event);
	ev = json_incref(msg.event);
	nostr_msg_clear(&msg);
	return ev;
}

/* nostr_verify's verdict; the cause is returned (or NULL if genuine). */
static char *
verify_cause(const json_t *ev)
{
	char	*cause = NULL;

	if (nostr_verify(ev, &cause) == 0) {
		assert_null(cause);
		return NULL;
	}
	assert_non_null(cause);
	return cause;
}

static void
assert_verify_fails(const json_t *ev, const char *want)
{
	char	*cause = verify_cause(ev);

	if (cause == NULL)
		fail_msg("a forged event verified (want \"%s\")", want);
	if (strstr(cause, want) == NULL)
		fail_msg("cause \"%s\", want \"%s\"", cause, want);
	free(cause);
}

/* secp256k1 signing, for vectors and synthetic events: sig of msg. */
static void
sign(const unsigned char sk[32], const unsigned char *msg, size_t msglen,
    const unsigned char aux[32], unsigned char sig[64], unsigned char pub[32])
{
	secp256k1_context		*ctx;
	secp256k1_keypair		 kp;
	secp256k1_xonly_pubkey		 xpk;
	secp256k1_schnorrsig_extraparams ep = SECP256K1_SCHNORRSIG_EXTRAPARAMS_INIT;

	ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	assert_int_equal(secp256k1_keypair_create(ctx, &kp, sk), 1);
	assert_int_equal(secp256k1_keypair_xonly_pub(ctx, &xpk, NULL, &kp), 1);
	assert_int_equal(secp256k1_xonly_pubkey_serialize(ctx, pub, &xpk), 1);
	ep.ndata = (unsigned char *)(uintptr_t)aux;
	assert_int_equal(secp256k1_schnorrsig_sign_custom(ctx, sig, msg, msglen,
	    &kp, &ep), 1);
	secp256k1_context_destroy(ctx);
}

/* Split a CSV line with empty fields kept (the vectors quote nothing). */
static size_t
csv_split(char *line, char **f, size_t max)
{
	size_t	n = 0;
	char	*p;

	while (n < max) {
		f[n++] = line;
		if ((p = strchr(line, ',')) == NULL)
			break;
		*p = '\0';
		line = p + 1;
	}
	return n;
}

/*
 * All 19 BIP-340 vectors: the verdict matches the CSV, and where a
 * secret key is given, signing with its aux_rand gives the CSV's
 * public key and signature, which then verifies.
 */
static void
test_bip340_vectors(void **state)
{
	struct strv	 lines;
	char		*f[8], *line;
	unsigned char	 sk[32], pub[32], aux[32], msg[128], sig[64];
	unsigned char	 mysig[64], mypub[32];
	size_t		 i, msglen, ntrue = 0, nfalse = 0, nsigned = 0;
	bool		 want, got;

	(void)state;
	read_lines(VECTORS_FILE, &lines);
	assert_int_equal(lines.n, 20);
	assert_string_equal(lines.v[0], "index,secret key,public key,aux_rand,"
	    "message,signature,verification result,comment");
	for (i = 1; i < lines.n; i++) {
		line = lines.v[i];
		assert_int_equal(csv_split(line, f, 8), 8);
		assert_int_equal(atoi(f[0]), (int)i - 1);
		assert_int_equal(unhex(f[2], pub, sizeof(pub)), 32);
		msglen = unhex(f[4], msg, sizeof(msg));
		assert_int_equal(unhex(f[5], sig, sizeof(sig)), 64);
		assert_true(strcmp(f[6], "TRUE") == 0 ||
		    strcmp(f[6], "FALSE") == 0);
		want = strcmp(f[6], "TRUE") == 0;
		got = nostr_schnorr_verify(sig, msglen > 0 ? msg : NULL, msglen,
		    pub);
		if (got != want)
			fail_msg("vector %s: verify %d, want %d (%s)", f[0], got,
			    want, f[7]);
		if (want)
			ntrue++;
		else
			nfalse++;
		if (*f[1] == '\0')
			continue;
		assert_int_equal(unhex(f[1], sk, sizeof(sk)), 32);
		assert_int_equal(unhex(f[3], aux, sizeof(aux)), 32);
		sign(sk, msg, msglen, aux, mysig, mypub);
		assert_memory_equal(mypub, pub, 32);
		assert_memory_equal(mysig, sig, 64);
		assert_true(nostr_schnorr_verify(mysig, msg, msglen, mypub));
		nsigned++;
	}
	/* Vectors 0-4 and 15-18 are valid; 0-3 and 15-18 have keys. */
	assert_int_equal(ntrue, 9);
	assert_int_equal(nfalse, 10);
	assert_int_equal(nsigned, 8);
	strv_free(&lines);
}

/* Every recorded relay event is genuine, and becomes a post. */
static void
test_real_events(void **state)
{
	struct strv	 lines;
	json_t		*ev;
	struct post	*p;
	char		*cause = NULL, *ser;
	unsigned char	 id[32], want[32], note_id[32];
	size_t		 i;
	int		 kinds[8] = { 0 }, kind;

	(void)state;
	read_lines(EVENTS_FILE, &lines);
	assert_int_equal(lines.n, 40);
	for (i = 0; i < lines.n; i++) {
		ev = parse_event(lines.v[i], NULL);
		if (nostr_verify(ev, &cause) != 0)
			fail_msg("line %zu: %s", i + 1, cause);
		assert_int_equal(nostr_event_hash(ev, id, &cause), 0);
		unhex(json_string_value(json_object_get(ev, "id")), want, 32);
		assert_memory_equal(id, want, 32);
		ser = nostr_serialize(ev, &cause);
		assert_non_null(ser);
		assert_true(strncmp(ser, "[0,\"", 4) == 0);
		free(ser);

		kind = (int)json_integer_value(json_object_get(ev, "kind"));
		assert_true(kind >= 0 && kind < 8);
		kinds[kind]++;
		p = nostr_event_post(ev, WEB_BASE, &cause);
		if (p == NULL)
			fail_msg("line %zu: %s", i + 1, cause);
		assert_string_equal(p->platform, "nostr");
		assert_string_equal(p->id,
		    json_string_value(json_object_get(ev, "id")));
		assert_string_equal(p->author,
		    json_string_value(json_object_get(ev, "pubkey")));
		assert_string_equal(p->text,
		    json_string_value(json_object_get(ev, "content")));
		assert_int_equal(p->time_us, json_integer_value(
		    json_object_get(ev, "created_at")) * 1000000);
		assert_true(strncmp(p->url, WEB_BASE "note1", 22) == 0);
		assert_int_equal(nip19_decode(p->url + 17, "note", note_id), 0);
		assert_memory_equal(note_id, want, 32);
		if (kind != 1) {
			assert_null(p->reply_root);
			assert_null(p->reply_parent);
		}
		post_free(p);
		json_decref(ev);
	}
	assert_int_equal(kinds[1], 30);
	assert_int_equal(kinds[6], 2);
	assert_int_equal(kinds[7], 8);
	strv_free(&lines);
}

/* Posts of chosen real events, checked against their tags. */
static void
test_real_posts(void **state)
{
	struct strv	 lines;
	json_t		*ev;
	struct post	*p;
	char		*cause = NULL;
	static const char	*brand =
	    "04c915daefee38317fa734444acee390a8269fe5810b2241e5e6dd343dfbecc9";
	static const char	*root =
	    "d44ad96cb8924092a76bc2afddeb12eb85233c0d03a7d9adc42c2a85a79a4305";

	(void)state;
	read_lines(EVENTS_FILE, &lines);

	/* Line 1: a top-level note with one p tag. */
	ev = parse_event(lines.v[0], NULL);
	p = nostr_event_post(ev, WEB_BASE, &cause);
	assert_non_null(p);
	assert_string_equal(p->created_at, "2025-10-27T17:28:04Z");
	assert_null(p->reply_root);
	assert_null(p->reply_parent);
	assert_int_equal(p->mentions.n, 1);
	assert_string_equal(p->mentions.v[0], brand);
	assert_int_equal(p->hashtags.n, 0);
	assert_int_equal(p->langs.n, 0);
	post_free(p);
	json_decref(ev);

	/* Line 3: marked root + reply. */
	ev = parse_event(lines.v[2], NULL);
	p = nostr_event_post(ev, NULL, &cause);
	assert_non_null(p);
	assert_null(p->url);
	assert_string_equal(p->reply_root, root);
	assert_string_equal(p->reply_parent, "bc367630aae0af9ae390bcbf08c511ce"
	    "105c186268da21374a2df44031f1da73");
	post_free(p);
	json_decref(ev);

	/* Line 4: a single root marker is a direct reply to the root. */
	ev = parse_event(lines.v[3], NULL);
	p = nostr_event_post(ev, WEB_BASE, &cause);
	assert_non_null(p);
	assert_string_equal(p->reply_root, root);
	assert_string_equal(p->reply_parent, root);
	post_free(p);
	json_decref(ev);

	/* Line 5: reply tag before root tag; p tags repeat one key. */
	ev = parse_event(lines.v[4], NULL);
	p = nostr_event_post(ev, WEB_BASE, &cause);
	assert_non_null(p);
	assert_string_equal(p->reply_root, root);
	assert_string_equal(p->reply_parent, "a7fc3fac995e3a12b19b38371cf5614b"
	    "1899dd665b265be036b750236f3dc8a0");
	assert_int_equal(p->mentions.n, 4);
	assert_string_equal(p->mentions.v[0], brand);
	assert_string_equal(p->mentions.v[1], "00000009ce836fd52689667f542e4f5"
	    "0d137160427195b808e41f93e61182e62");
	assert_string_equal(p->mentions.v[3], "aab93e8e3fa6a8974e1c1f3199e5f3d"
	    "9afb7aaa70b8236e93a5b2fafeafcbd3a");
	post_free(p);
	json_decref(ev);

	/* Line 19: an e "mention" is a quote, not a reply; t BIP444. */
	ev = parse_event(lines.v[18], NULL);
	p = nostr_event_post(ev, WEB_BASE, &cause);
	assert_non_null(p);
	assert_null(p->reply_root);
	assert_null(p->reply_parent);
	assert_int_equal(p->hashtags.n, 1);
	assert_string_equal(p->hashtags.v[0], "bip444");
	assert_int_equal(p->mentions.n, 2);
	post_free(p);
	json_decref(ev);

	/* Line 27: root, an unmarked e (a mention then), reply. */
	ev = parse_event(lines.v[26], NULL);
	p = nostr_event_post(ev, WEB_BASE, &cause);
	assert_non_null(p);
	assert_string_equal(p->reply_root, root);
	assert_string_equal(p->reply_parent, "dc733cf4fb77ebd1ea8a8800ec62c1a0"
	    "9b04eb03bd49d01aa273a8dce73737c7");
	post_free(p);
	json_decref(ev);
	assert_null(cause);
	strv_free(&lines);
}

/* Flip the lowest bit of hex digit i of member key. */
static void
flip_hex(json_t *ev, const char *key, size_t i)
{
	static const char	 digits[] = "0123456789abcdef";
	char			*s = xstrdup(json_string_value(
				    json_object_get(ev, key)));

	s[i] = digits[hex_value(s[i]) ^ 1];
	json_object_set_new(ev, key, json_string(s));
	free(s);
}

/* Each kind of tampering of each real event is caught. */
static void
test_tampered(void **state)
{
	struct strv	 lines;
	json_t		*orig, *ev, *tags, *other;
	char		*cause = NULL, hex[65];
	unsigned char	 id[32];
	size_t		 i, last;

	(void)state;
	read_lines(EVENTS_FILE, &lines);
	for (i = 0; i < lines.n; i++) {
		orig = parse_event(lines.v[i], NULL);
		other = parse_event(lines.v[(i + 1) % lines.n], NULL);

		ev = json_deep_copy(orig);
		json_object_set_new(ev, "content", json_sprintf("%s!",
		    json_string_value(json_object_get(ev, "content"))));
		assert_verify_fails(ev, "id is not the hash");
		/* Even with the id recomputed, the signature is the author's
		 * over the old id. */
		assert_int_equal(nostr_event_hash(ev, id, &cause), 0);
		hex_encode(id, 32, hex);
		json_object_set_new(ev, "id", json_string(hex));
		assert_verify_fails(ev, "bad signature");
		json_decref(ev);

		ev = json_deep_copy(orig);
		tags = json_object_get(ev, "tags");
		if (json_array_size(json_array_get(tags, 0)) == 0)
			json_array_append_new(tags, json_pack("[ss]", "t",
			    "added"));
		else {
			last = json_array_size(json_array_get(tags, 0)) - 1;
			json_array_set_new(json_array_get(tags, 0), last,
			    json_string("changed"));
		}
		assert_verify_fails(ev, "id is not the hash");
		json_decref(ev);

		ev = json_deep_copy(orig);
		json_object_set_new(ev, "created_at", json_integer(
		    json_integer_value(json_object_get(ev, "created_at")) + 1));
		assert_verify_fails(ev, "id is not the hash");
		json_decref(ev);

		ev = json_deep_copy(orig);
		flip_hex(ev, "sig", 2 * (i % 64) + 1);
		assert_verify_fails(ev, "bad signature");
		json_decref(ev);

		ev = json_deep_copy(orig);
		flip_hex(ev, "id", (i * 7) % 64);
		assert_verify_fails(ev, "id is not the hash");
		json_decref(ev);

		ev = json_deep_copy(orig);
		if (strcmp(json_string_value(json_object_get(orig, "pubkey")),
		    json_string_value(json_object_get(other, "pubkey"))) != 0) {
			json_object_set(ev, "pubkey",
			    json_object_get(other, "pubkey"));
			assert_verify_fails(ev, "id is not the hash");
			/* With a matching id, only the signature is wrong. */
			assert_int_equal(nostr_event_hash(ev, id, &cause), 0);
			hex_encode(id, 32, hex);
			json_object_set_new(ev, "id", json_string(hex));
			assert_verify_fails(ev, "bad signature");
		}
		json_decref(ev);

		/* A genuine signature moved onto another event. */
		ev = json_deep_copy(other);
		json_object_set(ev, "sig", json_object_get(orig, "sig"));
		assert_verify_fails(ev, "bad signature");
		json_decref(ev);

		json_decref(other);
		json_decref(orig);
	}
	assert_null(cause);
	strv_free(&lines);
}

/*
 * The genuine nostr-tools vectors verify, the first serialises as
 * protocols.md shows; the third's real hash is what Node computes
 * (sha256 of JSON.stringify([0,...])), so it is refused.
 */
static void
test_nostr_tools_vectors(void **state)
{
	json_t		*ev;
	char		*cause = NULL, *ser, hex[65];
	unsigned char	 id[32];
	size_t		 i;

	(void)state;
	for (i = 0; i < nitems(tools_msgs); i++) {
		ev = parse_event(tools_msgs[i], "nostril-query");
		if (i == 2) {
			assert_int_equal(nostr_event_hash(ev, id, &cause), 0);
			hex_encode(id, 32, hex);
			assert_string_equal(hex, "89692fcc85c881a60fdacdf314c01382"
			    "450dc3617c88dce1770913ea59ce4454");
			assert_verify_fails(ev, "id is not the hash");
			json_decref(ev);
			continue;
		}
		if (nostr_verify(ev, &cause) != 0)
			fail_msg("vector %zu: %s", i, cause);
		if (i == 0) {
			ser = nostr_serialize(ev, &cause);
			assert_string_equal(ser, "[0,\"3bf0c63fcb93463407af97a5e5ee"
			    "64fa883d107ef9e558472c4eb9aaaefa459d\",1671150419,1,"
			    "[],\"so did we cut all corners and p2p stuff in order "
			    "to make a decentralized social network that was fast "
			    "and worked, but in the end what we got was a lot of "
			    "very slow clients that can't handle the traffic of "
			    "one jack dorsey tweet?\"]");
			free(ser);
		}
		if (i == 1) {
			ser = nostr_serialize(ev, &cause);
			assert_non_null(strstr(ser, "were \\\"likes\\\": https:"
			    "//nostr.build/i/964.png\"]"));
			free(ser);
		}
		json_decref(ev);
	}
}

/*
 * Escaping of every C0 control, DEL, '/', U+2028 and non-ASCII text.
 * The expected bytes and SHA-256 are what nostr-tools computes:
 * JSON.stringify([0,pubkey,created_at,kind,tags,content]) in Node 20,
 * hashed with node:crypto.  A synthetic event, then signed here with
 * the NSEC key so that nostr_verify accepts it whole.
 */
static void
test_serialize_escaping(void **state)
{
	static const char	 msg[] =
	    "[\"EVENT\",\"s\",{\"pubkey\":\"" NPUB_HEX "\",\"created_at\":"
	    "1700000000,\"kind\":1,\"tags\":[[\"t\",\"Nostr\"],[\"e\","
	    "\"\\\"q\\\" \\\\ a\\/b\\n\"],[]],\"content\":\"\\u0000\\u0001"
	    "\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000B\\f\\r"
	    "\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016"
	    "\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f"
	    "\\u007f/\\u2028\xc3\xa9\\ud83d\\ude00\\\"\\\\end\"}]";
	static const char	 want[] =
	    "[0,\"" NPUB_HEX "\",1700000000,1,[[\"t\",\"Nostr\"],[\"e\","
	    "\"\\\"q\\\" \\\\ a/b\\n\"],[]],\"\\u0000\\u0001\\u0002\\u0003"
	    "\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f"
	    "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018"
	    "\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\x7f/"
	    "\xe2\x80\xa8\xc3\xa9\xf0\x9f\x98\x80\\\"\\\\end\"]";
	static const char	 want_id[] =
	    "81175c40e68764b6dc314cb9e572a9ba59efea5fa4576b78e0c7c4fa24b77ecf";
	json_t			*ev;
	char			*cause = NULL, *ser, hex[129];
	unsigned char		 id[32], sk[32], aux[32] = { 0 }, sig[64];
	unsigned char		 pub[32];
	struct post		*p;

	(void)state;
	ev = parse_event(msg, "s");
	ser = nostr_serialize(ev, &cause);
	assert_non_null(ser);
	assert_string_equal(ser, want);
	free(ser);
	assert_int_equal(nostr_event_hash(ev, id, &cause), 0);
	hex_encode(id, 32, hex);
	assert_string_equal(hex, want_id);

	/* Missing id and sig: serialisable, but not genuine. */
	assert_verify_fails(ev, "missing id");
	json_object_set_new(ev, "id", json_string(hex));
	assert_verify_fails(ev, "missing sig");

	unhex(NSEC_HEX, sk, sizeof(sk));
	sign(sk, id, 32, aux, sig, pub);
	hex_encode(pub, 32, hex);
	assert_string_equal(hex, NPUB_HEX);
	hex_encode(sig, 64, hex);
	json_object_set_new(ev, "sig", json_string(hex));
	assert_null(verify_cause(ev));

	/* The text stops at the NUL; hashtags are lower-cased. */
	p = nostr_event_post(ev, WEB_BASE, &cause);
	assert_non_null(p);
	assert_string_equal(p->text, "");
	assert_int_equal(p->hashtags.n, 1);
	assert_string_equal(p->hashtags.v[0], "nostr");
	assert_null(p->reply_root);
	post_free(p);
	json_decref(ev);
	assert_null(cause);
}

#define ID_A	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ID_C	"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define ID_D	"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define ID_1	"1111111111111111111111111111111111111111111111111111111111111111"
#define ID_2	"2222222222222222222222222222222222222222222222222222222222222222"

/* A synthetic event for NIP-10 and tag tests (never verified). */
static json_t *
synthetic(int kind, json_t *tags)
{
	return json_pack("{s:s,s:s,s:s,s:i,s:i,s:o,s:s}", "id", ID_1,
	    "pubkey", NPUB_HEX, "sig", ID_2 ID_2, "created_at", 1700000000,
	    "kind", kind, "tags", tags, "content", "synthetic");
}

/* The reply fields of a synthetic event (root, parent; NULL = none). */
static void
assert_thread(int kind, const char *tags_json, const char *root,
    const char *parent)
{
	json_error_t	 err;
	json_t		*tags = json_loads(tags_json, 0, &err), *ev;
	struct post	*p;
	char		*cause = NULL;

	if (tags == NULL)
		fail_msg("bad test JSON %s: %s", tags_json, err.text);
	ev = synthetic(kind, tags);
	p = nostr_event_post(ev, WEB_BASE, &cause);
	if (p == NULL)
		fail_msg("%s: %s", tags_json, cause);
	if (root == NULL)
		assert_null(p->reply_root);
	else
		assert_string_equal(p->reply_root, root);
	if (parent == NULL)
		assert_null(p->reply_parent);
	else
		assert_string_equal(p->reply_parent, parent);
	post_free(p);
	json_decref(ev);
}

/* NIP-10 on synthetic events: marked and deprecated positional forms. */
static void
test_nip10_synthetic(void **state)
{
	(void)state;
	/* Marked. */
	assert_thread(1, "[[\"e\",\"" ID_A "\",\"\",\"root\"],"
	    "[\"e\",\"" ID_B "\",\"wss://r\",\"reply\"]]", ID_A, ID_B);
	assert_thread(1, "[[\"e\",\"" ID_B "\",\"\",\"reply\",\"" NPUB_HEX "\"],"
	    "[\"e\",\"" ID_A "\",\"\",\"root\"]]", ID_A, ID_B);
	assert_thread(1, "[[\"e\",\"" ID_A "\",\"\",\"root\"]]", ID_A, ID_A);
	/* A reply marker alone: the root is the parent's, found later. */
	assert_thread(1, "[[\"e\",\"" ID_B "\",\"\",\"reply\"]]", NULL, ID_B);
	/* Mentions and unmarked e tags do not count once markers exist. */
	assert_thread(1, "[[\"e\",\"" ID_C "\",\"\",\"mention\"],"
	    "[\"e\",\"" ID_A "\",\"\",\"root\"],[\"e\",\"" ID_D "\",\"\",\"\"],"
	    "[\"e\",\"" ID_B "\",\"\",\"reply\"]]", ID_A, ID_B);
	assert_thread(1, "[[\"e\",\"" ID_C "\",\"\",\"mention\"]]", NULL, NULL);
	/* Deprecated positional: one = the replied-to note and the root. */
	assert_thread(1, "[[\"e\",\"" ID_A "\"]]", ID_A, ID_A);
	assert_thread(1, "[[\"e\",\"" ID_A "\",\"wss://r\"]]", ID_A, ID_A);
	/* First = root, last = parent, the middle ones are mentions. */
	assert_thread(1, "[[\"e\",\"" ID_A "\"],[\"e\",\"" ID_C "\"],"
	    "[\"e\",\"" ID_B "\"]]", ID_A, ID_B);
	assert_thread(1, "[[\"e\",\"" ID_A "\"],[\"p\",\"" NPUB_HEX "\"],"
	    "[\"e\",\"" ID_B "\",\"\"]]", ID_A, ID_B);
	/* A pubkey where the marker goes (seen in real events): unmarked. */
	assert_thread(1, "[[\"e\",\"" ID_A "\",\"\",\"" NPUB_HEX "\"]]", ID_A,
	    ID_A);
	/* Ids are checked and case-folded; bad ones are skipped. */
	assert_thread(1, "[[\"e\",\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAA\",\"\",\"root\"]]", ID_A, ID_A);
	assert_thread(1, "[[\"e\",\"not-an-id\",\"\",\"root\"],"
	    "[\"e\",\"" ID_A "\"]]", ID_A, ID_A);
	assert_thread(1, "[[\"e\"],[\"E\",\"" ID_A "\"],[]]", NULL, NULL);
	assert_thread(1, "[]", NULL, NULL);
	/* NIP-10 is about text notes: a reaction's e tags are not a reply. */
	assert_thread(7, "[[\"e\",\"" ID_A "\"]]", NULL, NULL);
	assert_thread(6, "[[\"e\",\"" ID_A "\",\"\",\"root\"]]", NULL, NULL);
}

/* p tags become mentions, t tags hashtags, the id a note link. */
static void
test_tags_synthetic(void **state)
{
	json_error_t	 err;
	json_t		*ev;
	struct post	*p;
	char		*cause = NULL;

	(void)state;
	ev = synthetic(1, json_loads("[[\"p\",\"" ID_A "\"],[\"p\",\"" ID_B
	    "\",\"wss://r\",\"mention\"],[\"p\",\"BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
	    "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\"],[\"p\",\"npub-not-hex\"],"
	    "[\"p\"],[\"t\",\"Nostr\"],[\"t\",\"#nostr\"],[\"t\",\"ÉTÉ\"],"
	    "[\"t\",\"\"],[\"t\",\"#\"],[\"t\",\"été\"],[\"T\",\"upper\"]]", 0,
	    &err));
	assert_non_null(ev);
	p = nostr_event_post(ev, "https://viewer.example/e/", &cause);
	assert_non_null(p);
	assert_int_equal(p->mentions.n, 2);
	assert_string_equal(p->mentions.v[0], ID_A);
	assert_string_equal(p->mentions.v[1], ID_B);
	assert_int_equal(p->hashtags.n, 2);
	assert_string_equal(p->hashtags.v[0], "nostr");
	assert_string_equal(p->hashtags.v[1], "été");
	assert_string_equal(p->author, NPUB_HEX);
	assert_string_equal(p->text, "synthetic");
	assert_string_equal(p->created_at, "2023-11-14T22:13:20Z");
	/* note1 of 0x11...11, encoded independently (BIP-173 reference). */
	assert_string_equal(p->url, "https://viewer.example/e/note1zyg3zyg3zy"
	    "g3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygsglnzgl");
	post_free(p);
	json_decref(ev);
	assert_null(cause);
}

/* Malformed events: rejected by verify and event_post, never a crash. */
static void
test_malformed_events(void **state)
{
	static const struct {
		const char	*key;
		const char	*json;	/* NULL: remove the member */
		const char	*cause;
	} cases[] = {
		{ "id", NULL, "missing id" },
		{ "id", "\"" ID_A "a\"", "id is not 64" },
		{ "id", "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		    "AAAAAAAA\"", "id is not 64" },
		{ "id", "42", "id is not 64" },
		{ "pubkey", NULL, "missing pubkey" },
		{ "pubkey", "\"" NPUB "\"", "pubkey is not 64" },
		{ "pubkey", "\"7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794"
		    "234d86addf4g\"", "pubkey is not 64" },
		{ "sig", NULL, "missing sig" },
		{ "sig", "\"" ID_A ID_B "00\"", "sig is not 128" },
		{ "sig", "null", "sig is not 128" },
		{ "kind", NULL, "missing kind" },
		{ "kind", "-1", "kind is not an integer" },
		{ "kind", "65536", "kind is not an integer" },
		{ "kind", "1.0", "kind is not an integer" },
		{ "kind", "\"1\"", "kind is not an integer" },
		{ "created_at", NULL, "missing created_at" },
		{ "created_at", "-5", "created_at is not" },
		{ "created_at", "1.7e9", "created_at is not" },
		{ "created_at", "\"1700000000\"", "created_at is not" },
		{ "created_at", "253402300800", "created_at is not" },
		{ "tags", NULL, "missing tags" },
		{ "tags", "{}", "tags is not an array" },
		{ "tags", "[\"e\"]", "tags[0] is not an array" },
		{ "tags", "[[\"e\",\"x\"],[\"p\",1]]", "tags[1][1] is not a string" },
		{ "tags", "[[null]]", "tags[0][0] is not a string" },
		{ "content", NULL, "missing content" },
		{ "content", "[]", "content is not a string" },
	};
	json_error_t	 err;
	json_t		*ev, *v;
	struct post	*p;
	char		*cause, *ser;
	size_t		 i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		ev = synthetic(1, json_array());
		if (cases[i].json == NULL)
			json_object_del(ev, cases[i].key);
		else {
			v = json_loads(cases[i].json, JSON_DECODE_ANY, &err);
			assert_non_null(v);
			json_object_set_new(ev, cases[i].key, v);
		}
		assert_verify_fails(ev, cases[i].cause);
		cause = NULL;
		p = nostr_event_post(ev, WEB_BASE, &cause);
		assert_null(p);
		assert_non_null(cause);
		assert_non_null(strstr(cause, cases[i].cause));
		free(cause);
		json_decref(ev);
	}

	/* The serialisation needs neither id nor sig, and no hex. */
	ev = synthetic(70000, json_array());
	json_object_del(ev, "id");
	json_object_del(ev, "sig");
	cause = NULL;
	ser = nostr_serialize(ev, &cause);
	assert_non_null(ser);
	assert_string_equal(ser, "[0,\"" NPUB_HEX "\",1700000000,70000,[],"
	    "\"synthetic\"]");
	free(ser);
	json_object_del(ev, "content");
	assert_null(nostr_serialize(ev, &cause));
	assert_string_equal(cause, "missing content");
	free(cause);
	json_decref(ev);

	ev = json_array();
	cause = NULL;
	assert_null(nostr_serialize(ev, &cause));
	free(cause);
	assert_verify_fails(ev, "not an object");
	json_decref(ev);
}

struct msg_case {
	const char		*text;
	enum nostr_msg_kind	 kind;
	const char		*sub_id;
	const char		*message;
};

/* Relay messages, well-formed and not. */
static void
test_relay_messages(void **state)
{
	static const struct msg_case	good[] = {
		{ "[\"EVENT\",\"sub1\",{\"id\":\"x\"}]", NOSTR_EVENT, "sub1", NULL },
		{ "[\"EVENT\",{\"id\":\"x\"}]", NOSTR_EVENT, NULL, NULL },
		{ "  [ \n\n \"EVENT\"  , \n\n \"y4d5 Ç[1]\" , {}]", NOSTR_EVENT,
		    "y4d5 Ç[1]", NULL },
		{ "[\"EOSE\",\"sub1\"]", NOSTR_EOSE, "sub1", NULL },
		{ "[\"CLOSED\",\"sub1\",\"auth-required: log in\"]", NOSTR_CLOSED,
		    "sub1", "auth-required: log in" },
		{ "[\"CLOSED\",\"sub1\"]", NOSTR_CLOSED, "sub1", "" },
		{ "[\"NOTICE\",\"slow down\"]", NOSTR_NOTICE, NULL, "slow down" },
		{ "[\"OK\",\"" ID_A "\",true,\"\"]", NOSTR_OK, NULL, "" },
		{ "[\"OK\",\"" ID_A "\",false,\"invalid: bad sig\"]", NOSTR_OK, NULL,
		    "invalid: bad sig" },
		{ "[\"OK\",\"" ID_A "\",true]", NOSTR_OK, NULL, "" },
		{ "[\"AUTH\",\"challenge-123\"]", NOSTR_AUTH, NULL, "challenge-123" },
		{ "[\"COUNT\",\"s\",{\"count\":5}]", NOSTR_OTHER, NULL, NULL },
		{ "[\"event\",\"s\",{}]", NOSTR_OTHER, NULL, NULL },
	};
	static const char *const	bad[] = {
		"", " ", "null", "{}", "[]", "[1]", "[null,\"s\"]", "not json",
		"[\"EVENT\"]", "[\"EVENT\",\"s\"]", "[\"EVENT\",\"s\",[]]",
		"[\"EVENT\",\"s\",{},1]", "[\"EVENT\",\"s\",\"t\",{}]",
		"[\"EVENT\",1,{}]", "[\"EVENT\",null]",
		"[\"EOSE\"]", "[\"EOSE\",1]", "[\"EOSE\",\"a\",\"b\"]",
		"[\"CLOSED\"]", "[\"CLOSED\",\"s\",5]", "[\"CLOSED\",null,\"m\"]",
		"[\"NOTICE\"]", "[\"NOTICE\",{}]", "[\"NOTICE\",\"a\",\"b\"]",
		"[\"OK\",\"id\",\"true\",\"m\"]", "[\"OK\",\"id\"]",
		"[\"OK\",1,true,\"m\"]", "[\"OK\",\"id\",true,7]",
		"[\"OK\",\"id\",true,\"m\",\"x\"]", "[\"AUTH\",null]", "[\"AUTH\"]",
		"[\"EVENT\",\"s\",{\"id\":", "[\"EOSE\",\"s\"] x",
		"[\"EOSE\",\"s\"][\"EOSE\",\"t\"]",
		"[\"EVENT\",\"s\",{\"content\":\"a\",\"content\":\"b\"}]",
		"[\"NOTICE\",\"\xff\xfe\"]", "[\"NOTICE\",\"\\ud800\"]",
	};
	static const char		ok_dup[] = "[\"OK\",\"" ID_A "\",true,"
	    "\"duplicate: have it\"]";
	struct nostr_msg	 msg;
	char			*cause;
	size_t			 i;

	(void)state;
	for (i = 0; i < nitems(good); i++) {
		cause = NULL;
		if (nostr_parse_message(good[i].text, strlen(good[i].text), &msg,
		    &cause) != 0)
			fail_msg("%s: %s", good[i].text, cause);
		assert_null(cause);
		assert_int_equal(msg.kind, good[i].kind);
		if (good[i].sub_id == NULL)
			assert_null(msg.sub_id);
		else
			assert_string_equal(msg.sub_id, good[i].sub_id);
		if (good[i].message == NULL)
			assert_null(msg.message);
		else
			assert_string_equal(msg.message, good[i].message);
		if (good[i].kind == NOSTR_EVENT)
			assert_true(json_is_object(msg.event));
		else
			assert_null(msg.event);
		nostr_msg_clear(&msg);
		nostr_msg_clear(&msg);
	}
	for (i = 0; i < nitems(bad); i++) {
		cause = NULL;
		if (nostr_parse_message(bad[i], strlen(bad[i]), &msg,
		    &cause) == 0)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(cause);
		assert_null(msg.event);
		assert_null(msg.sub_id);
		assert_null(msg.message);
		assert_null(msg.event_id);
		free(cause);
		nostr_msg_clear(&msg);
	}
	/* OK names the event it answers, and says true or false. */
	cause = NULL;
	assert_int_equal(nostr_parse_message(ok_dup, strlen(ok_dup), &msg,
	    &cause), 0);
	assert_string_equal(msg.event_id, ID_A);
	assert_true(msg.accepted);
	assert_string_equal(msg.message, "duplicate: have it");
	nostr_msg_clear(&msg);
	assert_null(msg.event_id);
	assert_int_equal(nostr_parse_message("[\"OK\",\"x\",false]", 16,
	    &msg, &cause), 0);
	assert_string_equal(msg.event_id, "x");
	assert_false(msg.accepted);
	nostr_msg_clear(&msg);
	/* The length bounds the message: no NUL needed, none read past. */
	cause = NULL;
	assert_int_equal(nostr_parse_message("[\"EOSE\",\"a\"]garbage", 12,
	    &msg, &cause), 0);
	assert_string_equal(msg.sub_id, "a");
	nostr_msg_clear(&msg);
}

/*
 * Every truncation of a real message fails cleanly, and random byte
 * changes never crash; a changed message that still verifies must
 * serialise to the same bytes as the original (only insignificant
 * bytes such as whitespace changed).
 */
static void
test_corruption(void **state)
{
	struct strv		 lines;
	struct nostr_msg	 msg;
	struct post		*p;
	char			*cause = NULL, *copy, *ser0, *ser;
	json_t			*ev0;
	size_t			 i, len, n, genuine = 0;
	unsigned		 seed = 1;

	(void)state;
	read_lines(EVENTS_FILE, &lines);
	len = strlen(lines.v[1]);
	for (n = 0; n < len; n++) {
		cause = NULL;
		assert_int_not_equal(nostr_parse_message(lines.v[1], n, &msg,
		    &cause), 0);
		free(cause);
	}
	for (i = 0; i < 4000; i++) {
		const char *line = lines.v[i % lines.n];

		ev0 = parse_event(line, NULL);
		ser0 = nostr_serialize(ev0, &cause);
		len = strlen(line);
		copy = xstrdup(line);
		seed = seed * 1103515245 + 12345;
		copy[(seed >> 8) % len] = (char)(seed >> 20);
		cause = NULL;
		if (nostr_parse_message(copy, len, &msg, &cause) != 0) {
			free(cause);
			goto next;
		}
		if (msg.kind == NOSTR_EVENT &&
		    nostr_verify(msg.event, &cause) == 0) {
			ser = nostr_serialize(msg.event, &cause);
			assert_string_equal(ser, ser0);
			free(ser);
			genuine++;
		}
		free(cause);
		cause = NULL;
		if (msg.kind == NOSTR_EVENT) {
			p = nostr_event_post(msg.event, WEB_BASE, &cause);
			post_free(p);
			free(cause);
		}
		nostr_msg_clear(&msg);
next:
		free(copy);
		free(ser0);
		json_decref(ev0);
	}
	/* Most single-byte changes hit signed data. */
	assert_true(genuine < 400);
	strv_free(&lines);
}

/* NIP-19: the protocols.md pair, round trips, and invalid strings. */
static void
test_nip19(void **state)
{
	static const struct {
		const char	*bech;
		const char	*hrp;
	} bad[] = {
		/* Made with a BIP-173 reference encoder: same key as NPUB... */
		/* ...but a bech32m (BIP-350) checksum; */
		{ "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qhszdw2",
		    "npub" },
		/* 31 and 33 bytes, valid checksums; */
		{ "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dmup82t8f",
		    "npub" },
		{ "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qqlhqg6v",
		    "npub" },
		/* non-zero padding bits, valid checksum; */
		{ "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8pl6x5k6",
		    "npub" },
		/* hrp npuc, valid checksum. */
		{ "npuc10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qa8zykk",
		    "npub" },
		/* Wrong hrp asked for. */
		{ NPUB, "nsec" },
		{ NPUB, "npu" },
		{ NPUB, "" },
		{ NSEC, "npub" },
		/* One character changed: in the data, in the checksum. */
		{ "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjpth",
		    "npub" },
		{ "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dmq8qzvjptg",
		    "npub" },
		/* Two characters swapped. */
		{ "npub1e0lfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg",
		    "npub" },
		/* Mixed case, characters outside the set, no separator. */
		{ "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptG",
		    "npub" },
		{ "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjpbg",
		    "npub" },
		{ "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjp g",
		    "npub" },
		{ "npub0elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg",
		    "npub" },
		/* Truncated, extended, empty, too long. */
		{ "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjpt",
		    "npub" },
		{ "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptgq",
		    "npub" },
		{ "", "npub" },
		{ "npub1", "npub" },
		{ "npub1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
		    "qqqqqqqqqqqqqqqqqqqqqqqqq", "npub" },
	};
	unsigned char	 key[32], sk[32], pub[32], data[32], sig[64];
	unsigned char	 aux[32] = { 0 };
	char		*s, hex[65];
	size_t		 i, j;

	(void)state;
	assert_int_equal(nip19_decode(NPUB, "npub", key), 0);
	hex_encode(key, 32, hex);
	assert_string_equal(hex, NPUB_HEX);
	s = nip19_encode("npub", key);
	assert_string_equal(s, NPUB);
	free(s);
	assert_int_equal(nip19_decode(NSEC, "nsec", sk), 0);
	hex_encode(sk, 32, hex);
	assert_string_equal(hex, NSEC_HEX);
	s = nip19_encode("nsec", sk);
	assert_string_equal(s, NSEC);
	free(s);
	/* They are a key pair. */
	sign(sk, key, 32, aux, sig, pub);
	assert_memory_equal(pub, key, 32);
	/* BIP-173 allows an all upper-case string. */
	assert_int_equal(nip19_decode("NPUB10ELFCS4FR0L0R8AF98JLMGDH9C8TCXJVZ9QK"
	    "W038JS35MP4DMA8QZVJPTG", "npub", data), 0);
	assert_memory_equal(data, key, 32);
	/* The note id of the nostr-tools vector, from a reference encoder. */
	unhex("fef2a50f7d9d3d5a5f38ee761bc087ec16198d3f0140df6d1e8193abf7c2b146",
	    data, 32);
	s = nip19_encode("note", data);
	assert_string_equal(s, "note1lme22rman5745hecaemphsy8astpnrflq9qd7mg7s"
	    "xf6ha7zk9rq9kgfjx");
	free(s);

	for (i = 0; i < 256; i++) {
		for (j = 0; j < 32; j++)
			data[j] = (unsigned char)(i * 31 + j * j * 7 +
			    (i & 1 ? 0xff : 0));
		s = nip19_encode(i % 2 ? "note" : "npub", data);
		assert_non_null(s);
		assert_int_equal(strlen(s), 63);
		assert_int_equal(nip19_decode(s, i % 2 ? "note" : "npub", key), 0);
		assert_memory_equal(key, data, 32);
		assert_int_not_equal(nip19_decode(s, i % 2 ? "npub" : "note",
		    key), 0);
		/* Any one character changed is caught by the checksum. */
		s[5 + i % 58] = s[5 + i % 58] == 'q' ? 'p' : 'q';
		assert_int_not_equal(nip19_decode(s, i % 2 ? "note" : "npub",
		    key), 0);
		free(s);
	}
	for (i = 0; i < nitems(bad); i++)
		if (nip19_decode(bad[i].bech, bad[i].hrp, data) == 0)
			fail_msg("accepted %s as %s", bad[i].bech, bad[i].hrp);
	assert_null(nip19_encode("", data));
	assert_null(nip19_encode("NPUB", data));
	assert_null(nip19_encode("a-very-long-human-readable-part-x", data));
}

static void
test_key_hex(void **state)
{
	static const char *const	bad[] = {
		"", NSEC,
		"note1lme22rman5745hecaemphsy8astpnrflq9qd7mg7sxf6ha7zk9rq9kgfjx",
		"7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4",
		"7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e0",
		"7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4g",
		" 7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4",
		"npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjpth",
	};
	char	out[65];
	size_t	i;

	(void)state;
	assert_int_equal(nostr_key_hex(NPUB_HEX, out), 0);
	assert_string_equal(out, NPUB_HEX);
	assert_int_equal(nostr_key_hex("7E7E9C42A91BFEF19FA929E5FDA1B72E0EBC1A4C11"
	    "41673E2794234D86ADDF4E", out), 0);
	assert_string_equal(out, NPUB_HEX);
	memset(out, 'x', sizeof(out));
	assert_int_equal(nostr_key_hex(NPUB, out), 0);
	assert_string_equal(out, NPUB_HEX);
	for (i = 0; i < nitems(bad); i++)
		if (nostr_key_hex(bad[i], out) == 0)
			fail_msg("accepted %s", bad[i]);
}

/*
 * Signing with nostr_schnorr_sign on the BIP-340 vectors that give a
 * secret key: the public key always, and for the 32-byte messages
 * (libsecp256k1's sign32, what events need) the exact signature with
 * the vector's aux_rand.  Vectors 15-18 sign other lengths.
 */
static void
test_sign_vectors(void **state)
{
	struct strv	 lines;
	char		*f[8], hex[65], lower[65];
	unsigned char	 sk[32], pub[32], aux[32], msg[128], sig[64];
	unsigned char	 mysig[64], mypub[32];
	size_t		 i, j, msglen, nsigned = 0, nkeys = 0;

	(void)state;
	read_lines(VECTORS_FILE, &lines);
	for (i = 1; i < lines.n; i++) {
		assert_int_equal(csv_split(lines.v[i], f, 8), 8);
		if (*f[1] == '\0')
			continue;
		assert_int_equal(unhex(f[1], sk, sizeof(sk)), 32);
		assert_int_equal(unhex(f[2], pub, sizeof(pub)), 32);
		assert_int_equal(unhex(f[3], aux, sizeof(aux)), 32);
		msglen = unhex(f[4], msg, sizeof(msg));
		assert_int_equal(unhex(f[5], sig, sizeof(sig)), 64);
		assert_int_equal(nostr_pubkey_hex(sk, hex), 0);
		for (j = 0; j < 64; j++)
			lower[j] = (char)(f[2][j] >= 'A' && f[2][j] <= 'F' ?
			    f[2][j] - 'A' + 'a' : f[2][j]);
		lower[64] = '\0';
		assert_string_equal(hex, lower);
		nkeys++;
		if (msglen != 32)
			continue;
		memset(mysig, 0, sizeof(mysig));
		assert_int_equal(nostr_schnorr_sign(mysig, msg, sk, aux, mypub),
		    0);
		if (memcmp(mysig, sig, 64) != 0)
			fail_msg("vector %s: another signature", f[0]);
		assert_memory_equal(mypub, pub, 32);
		nsigned++;
	}
	assert_int_equal(nkeys, 8);
	assert_int_equal(nsigned, 4);
	strv_free(&lines);

	/* Zero and the group order are not secret keys. */
	memset(sk, 0, sizeof(sk));
	assert_int_equal(nostr_pubkey_hex(sk, hex), -1);
	assert_int_equal(nostr_schnorr_sign(mysig, msg, sk, aux, mypub), -1);
	unhex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFE"
	    "BAAEDCE6AF48A03BBFD25E8CD0364141", sk, sizeof(sk));
	assert_int_equal(nostr_pubkey_hex(sk, hex), -1);
	/* The NIP-19 pair of protocols.md. */
	unhex(NSEC_HEX, sk, sizeof(sk));
	assert_int_equal(nostr_pubkey_hex(sk, hex), 0);
	assert_string_equal(hex, NPUB_HEX);
}

/* A Nostr parent post with the given thread fields and mentions. */
static struct post *
parent_post(const char *id, const char *author, const char *root,
    const char *parent, const char *const *mentions)
{
	struct post	*p = post_new();

	p->platform = xstrdup("nostr");
	p->id = xstrdup(id);
	p->author = xstrdup(author);
	p->text = xstrdup("parent");
	p->reply_root = xstrdup(root);
	p->reply_parent = xstrdup(parent);
	for (; mentions != NULL && *mentions != NULL; mentions++)
		strv_add(&p->mentions, *mentions);
	return p;
}

/* json_dumps of v's "tags", compact, for comparing whole tag lists. */
static void
assert_tags(const json_t *ev, const char *want)
{
	char	*got;

	got = json_dumps(json_object_get(ev, "tags"), JSON_COMPACT);
	assert_non_null(got);
	if (strcmp(got, want) != 0)
		fail_msg("tags\n got %s\nwant %s", got, want);
	free(got);
}

/*
 * A reply to a root note, to a deep reply and to a note whose root is
 * unknown: NIP-10 marked e tags and p tags, author first, each once.
 */
static void
test_reply_tags(void **state)
{
	static const char *const mentions[] = { ID_C, ID_A, ID_D, ID_C,
	    "not-a-key", NULL };
	static const char *const upper[] = { "DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD"
	    "DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD", NULL };
	struct post	*p;
	json_t		*ev;

	(void)state;
	/* A root note: one e tag, marked root. */
	p = parent_post(ID_1, ID_A, NULL, NULL, mentions);
	ev = nostr_reply_event(p, "hi", 1700000000);
	assert_non_null(ev);
	assert_tags(ev, "[[\"e\",\"" ID_1 "\",\"\",\"root\"],"
	    "[\"p\",\"" ID_A "\"],[\"p\",\"" ID_C "\"],[\"p\",\"" ID_D "\"]]");
	assert_int_equal(json_integer_value(json_object_get(ev, "kind")), 1);
	assert_int_equal(json_integer_value(json_object_get(ev,
	    "created_at")), 1700000000);
	assert_string_equal(json_string_value(json_object_get(ev, "content")),
	    "hi");
	assert_null(json_object_get(ev, "id"));
	assert_null(json_object_get(ev, "sig"));
	/* Our own key (the author here) goes; the others stay in order. */
	nostr_drop_p(ev, ID_A);
	assert_tags(ev, "[[\"e\",\"" ID_1 "\",\"\",\"root\"],"
	    "[\"p\",\"" ID_C "\"],[\"p\",\"" ID_D "\"]]");
	nostr_drop_p(ev, ID_B);
	assert_int_equal(json_array_size(json_object_get(ev, "tags")), 3);
	json_decref(ev);
	post_free(p);

	/* A deep reply: root from the parent, the parent marked reply. */
	p = parent_post(ID_2, ID_B, ID_1, ID_C, upper);
	ev = nostr_reply_event(p, "deeper", 1700000001);
	assert_tags(ev, "[[\"e\",\"" ID_1 "\",\"\",\"root\"],"
	    "[\"e\",\"" ID_2 "\",\"\",\"reply\"],"
	    "[\"p\",\"" ID_B "\"],[\"p\",\"" ID_D "\"]]");
	json_decref(ev);
	post_free(p);

	/* A parent that replied to the root directly. */
	p = parent_post(ID_2, ID_B, ID_1, ID_1, NULL);
	ev = nostr_reply_event(p, "x", 1);
	assert_tags(ev, "[[\"e\",\"" ID_1 "\",\"\",\"root\"],"
	    "[\"e\",\"" ID_2 "\",\"\",\"reply\"],[\"p\",\"" ID_B "\"]]");
	json_decref(ev);
	post_free(p);

	/* Its root unknown: the closest known ancestor stands in. */
	p = parent_post(ID_2, ID_B, NULL, ID_C, NULL);
	ev = nostr_reply_event(p, "x", 1);
	assert_tags(ev, "[[\"e\",\"" ID_C "\",\"\",\"root\"],"
	    "[\"e\",\"" ID_2 "\",\"\",\"reply\"],[\"p\",\"" ID_B "\"]]");
	json_decref(ev);
	post_free(p);

	/* Not a Nostr note, or text that JSON cannot carry. */
	p = parent_post("at://did:plc:x/app.bsky.feed.post/3k", ID_B, NULL,
	    NULL, NULL);
	assert_null(nostr_reply_event(p, "x", 1));
	post_free(p);
	p = parent_post(ID_2, ID_B, NULL, NULL, NULL);
	assert_null(nostr_reply_event(p, "bad \xff utf-8", 1));
	assert_null(nostr_reply_event(p, NULL, 1));
	assert_null(nostr_reply_event(NULL, "x", 1));
	post_free(p);
}

/*
 * A reply signed here, compared with the id and signature that
 * tests/integration/sbnostr.py (BIP-340 reference.py in Python, an
 * independent serialiser) computes for the same event, key and aux:
 * quotes, a backslash, a newline, a tab and non-ASCII text.  Then the
 * round trip: it verifies, also after a trip through JSON text as a
 * relay would store it; the same aux gives the same signature, another
 * aux another signature; changed content fails.
 */
static void
test_sign_reply(void **state)
{
	static const char *const mentions[] = { ID_D, NULL };
	static const char	 text[] = "Thanks \"Ann\"!\nSee C:\\path\ttab "
	    "\xe2\x80\x94 \xc3\xbcn\xc3\xaf" "code \xe2\x9c\x93 "
	    "\xf0\x9f\x8e\x89";
	static const char	 want_id[] =
	    "1e8e2be30e59f916e12e6b14690a2964a9abef9ef072ff2c5b7fff4f9936502b";
	static const char	 want_sig[] =
	    "1fd06f233d608afcd67ac5a1d41d10a64c5e9f5144811916515c0d529f1ffcae"
	    "091b834fda562b81afc5c20a8521bda8a2c385706f292594cbf576169b0ac5d6";
	static const char	 key[] = "0123456789abcdef0123456789abcdef";
	struct post		*p;
	json_t			*ev, *again, *copy;
	json_error_t		 err;
	unsigned char		 sk[32], aux[32], id[32];
	unsigned int		 mdlen = 0;
	char			*cause = NULL, *dump, hex[65];

	(void)state;
	unhex(NSEC_HEX, sk, sizeof(sk));
	assert_int_equal(EVP_Digest(key, strlen(key), aux, &mdlen,
	    EVP_sha256(), NULL), 1);
	p = parent_post(ID_B, ID_C, ID_A, ID_A, mentions);
	ev = nostr_reply_event(p, text, 1750000000);
	if (nostr_sign(ev, sk, aux, &cause) != 0)
		fail_msg("sign: %s", cause);
	assert_string_equal(json_string_value(json_object_get(ev, "pubkey")),
	    NPUB_HEX);
	assert_string_equal(json_string_value(json_object_get(ev, "id")),
	    want_id);
	assert_string_equal(json_string_value(json_object_get(ev, "sig")),
	    want_sig);
	assert_null(verify_cause(ev));
	assert_int_equal(nostr_event_hash(ev, id, &cause), 0);
	hex_encode(id, 32, hex);
	assert_string_equal(hex, want_id);

	/* As a relay stores and returns it. */
	dump = json_dumps(ev, JSON_COMPACT);
	copy = json_loads(dump, 0, &err);
	free(dump);
	assert_non_null(copy);
	assert_null(verify_cause(copy));
	assert_string_equal(json_string_value(json_object_get(copy,
	    "content")), text);
	json_decref(copy);

	/* Deterministic in aux: a retry makes the very same event. */
	again = nostr_reply_event(p, text, 1750000000);
	assert_int_equal(nostr_sign(again, sk, aux, &cause), 0);
	assert_true(json_equal(again, ev));
	aux[0] ^= 1;
	assert_int_equal(nostr_sign(again, sk, aux, &cause), 0);
	assert_string_equal(json_string_value(json_object_get(again, "id")),
	    want_id);
	assert_string_not_equal(json_string_value(json_object_get(again,
	    "sig")), want_sig);
	assert_null(verify_cause(again));
	json_decref(again);

	/* Tampered: the text, then the text with a recomputed id. */
	json_object_set_new(ev, "content", json_string("Thanks Ann"));
	assert_verify_fails(ev, "id is not the hash");
	assert_int_equal(nostr_event_hash(ev, id, &cause), 0);
	hex_encode(id, 32, hex);
	json_object_set_new(ev, "id", json_string(hex));
	assert_verify_fails(ev, "bad signature");

	/* Refusals. */
	memset(sk, 0, sizeof(sk));
	assert_int_equal(nostr_sign(ev, sk, aux, &cause), -1);
	assert_string_equal(cause, "not a valid secret key");
	free(cause);
	cause = NULL;
	unhex(NSEC_HEX, sk, sizeof(sk));
	json_object_del(ev, "content");
	assert_int_equal(nostr_sign(ev, sk, aux, &cause), -1);
	assert_string_equal(cause, "missing content");
	free(cause);
	json_decref(ev);
	post_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bip340_vectors),
		cmocka_unit_test(test_real_events),
		cmocka_unit_test(test_real_posts),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_nostr_tools_vectors),
		cmocka_unit_test(test_serialize_escaping),
		cmocka_unit_test(test_nip10_synthetic),
		cmocka_unit_test(test_tags_synthetic),
		cmocka_unit_test(test_malformed_events),
		cmocka_unit_test(test_relay_messages),
		cmocka_unit_test(test_corruption),
		cmocka_unit_test(test_nip19),
		cmocka_unit_test(test_key_hex),
		cmocka_unit_test(test_sign_vectors),
		cmocka_unit_test(test_reply_tags),
		cmocka_unit_test(test_sign_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
