/*
 * Nostr (NIP-01): relay messages, event verification (NIP-01 id and
 * BIP-340 signature), events as normalised posts (NIP-10 threads), and
 * NIP-19 bech32 keys and note ids.  Pure: no I/O.
 */
#ifndef SB_NOSTR_H
#define SB_NOSTR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "post.h"

enum nostr_msg_kind {
	NOSTR_EVENT,	/* ["EVENT", sub_id, event] */
	NOSTR_EOSE,	/* ["EOSE", sub_id] */
	NOSTR_CLOSED,	/* ["CLOSED", sub_id, message] */
	NOSTR_NOTICE,	/* ["NOTICE", message] */
	NOSTR_OK,	/* ["OK", event_id, bool, message] */
	NOSTR_AUTH,	/* ["AUTH", challenge] */
	NOSTR_OTHER
};

struct nostr_msg {
	enum nostr_msg_kind	 kind;
	char			*sub_id;	/* EVENT, EOSE, CLOSED */
	json_t			*event;		/* EVENT (owned) */
	char			*message;	/* CLOSED, NOTICE, OK, AUTH */
	char			*event_id;	/* OK */
	bool			 accepted;	/* OK: true or false */
};

/* Parse one relay message; -1 with *cause if malformed. */
int	nostr_parse_message(const char *buf, size_t len, struct nostr_msg *,
	    char **cause);
void	nostr_msg_clear(struct nostr_msg *);

/*
 * The NIP-01 serialisation [0,pubkey,created_at,kind,tags,content]
 * with NIP-01's escaping (hand-written: jansson escapes differently),
 * and its SHA-256.  -1 with *cause if the event lacks a field.
 */
char	*nostr_serialize(const json_t *event, char **cause);
int	 nostr_event_hash(const json_t *event, unsigned char id[32],
	    char **cause);

/*
 * Whether event is genuine: well-formed, id = hash of its
 * serialisation, sig a valid BIP-340 signature of id by pubkey.  0 if
 * genuine, -1 with *cause (forged or malformed).
 */
int	nostr_verify(const json_t *event, char **cause);

/* BIP-340 verification of sig64 over msg (msglen bytes) by pub32. */
bool	nostr_schnorr_verify(const unsigned char sig64[64],
	    const unsigned char *msg, size_t msglen,
	    const unsigned char pub32[32]);

/*
 * Sign: the x-only public key of seckey (32 bytes), as 64 hex + NUL.
 * 0, or -1 if seckey is not a valid secret key.
 */
int	nostr_pubkey_hex(const unsigned char seckey[32], char out[65]);
/*
 * BIP-340 signature of the 32-byte msg32 by seckey with auxiliary
 * randomness aux32 (the same inputs give the same signature), and the
 * x-only public key in pub32.  0, or -1 if seckey is not a valid
 * secret key.
 */
int	nostr_schnorr_sign(unsigned char sig64[64],
	    const unsigned char msg32[32], const unsigned char seckey[32],
	    const unsigned char aux32[32], unsigned char pub32[32]);
/*
 * Fill event's "pubkey", "id" and "sig" from seckey, over its
 * created_at, kind, tags and content.  The signature's auxiliary
 * randomness is aux32, so signing the same event with the same aux32
 * gives the same signature.  0, or -1 with *cause.
 */
int	nostr_sign(json_t *event, const unsigned char seckey[32],
	    const unsigned char aux32[32], char **cause);
/*
 * The kind-1 reply to parent (a Nostr post as nostr_event_post made
 * it) with text, at created_at: NIP-10 marked e tags (["e", root, "",
 * "root"], then ["e", parent, "", "reply"] when the parent is not the
 * root) and p tags for the parent's author and everyone it mentions,
 * in that order, each once.  The p tags may name the signer itself (a
 * reply to our own note): remove it with nostr_drop_p before signing.
 * Unsigned; caller decrefs.  NULL if parent's id is not an event id or
 * text is not UTF-8.
 */
json_t	*nostr_reply_event(const struct post *parent, const char *text,
	    int64_t created_at);
/* Remove event's p tags naming pubkey_hex (64 hex digits). */
void	 nostr_drop_p(json_t *event, const char *pubkey_hex);

/*
 * event as a post: platform "nostr", id = event id (hex), author =
 * pubkey (hex), text = content, mentions = p tags, hashtags = t tags
 * (lower-case), reply root/parent from NIP-10 e tags (marked, or the
 * deprecated positional form), url = web_base + NIP-19 note id.
 */
struct post *nostr_event_post(const json_t *event, const char *web_base,
	    char **cause);

/* NIP-19: hrp ("npub", "note", "nsec") + 32 bytes <-> bech32. */
char	*nip19_encode(const char *hrp, const unsigned char data[32]);
int	 nip19_decode(const char *bech, const char *hrp,
	    unsigned char data[32]);
/* A key given as 64 hex chars or npub: 0 and 64 lower-case hex + NUL
 * in out, or -1. */
int	 nostr_key_hex(const char *in, char out[65]);

#endif
