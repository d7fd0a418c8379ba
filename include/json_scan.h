/*
 * A strict JSON (RFC 8259) tokenizer in the style of jsmn: one pass over
 * a buffer into a flat array of tokens that point back into it, with no
 * allocation per token and no DOM.  It accepts what jansson 2.14's
 * json_loadb(JSON_REJECT_DUPLICATES) accepts, so it can replace jansson
 * on hot paths without changing which inputs are valid:
 *
 *   - RFC 8259 grammar; no trailing commas, comments, NaN, Infinity or
 *     byte order mark; nothing but whitespace after the value;
 *   - strings: no raw control characters, only the RFC's escapes, no
 *     lone or misordered surrogates in \u escapes, no \u0000 (jansson's
 *     default, JSON_ALLOW_NUL unset), valid and shortest-form UTF-8;
 *   - numbers: integers (no fraction, no exponent) must fit int64_t and
 *     reals must not overflow a double, as jansson requires;
 *   - objects: no two members whose keys are equal once unescaped;
 *   - limits: a value's depth (1 at the top, one more inside each
 *     container: 2048 nested arrays pass, but not with a scalar in the
 *     innermost) and the number of tokens.
 *
 * The one difference: jansson loses a NUL byte that directly follows a
 * number or literal (its look-ahead unget drops it, so "[1\0]" passes);
 * json_scan rejects every raw NUL, as RFC 8259 does.
 *
 * Token layout: a container is followed by its children in document
 * order; an object's children alternate key (a string token) and value.
 * Every token records where its subtree ends, so a whole value is
 * skipped in one step.  Token indexes are ints; -1 means "none".
 */
#ifndef SB_JSON_SCAN_H
#define SB_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum json_scan_type {
	JSON_SCAN_OBJECT = 1,
	JSON_SCAN_ARRAY,
	JSON_SCAN_STRING,
	JSON_SCAN_NUMBER,
	JSON_SCAN_TRUE,
	JSON_SCAN_FALSE,
	JSON_SCAN_NULL
};

/* json_scan_token.flags */
#define JSON_SCAN_ESCAPED	0x01	/* string: has a backslash escape */
#define JSON_SCAN_REAL		0x02	/* number: has a fraction or exponent */

/* json_scan_parse flags: JSON_SCAN_ANY allows any value at the top, not
 * only an object or array (jansson's JSON_DECODE_ANY). */
#define JSON_SCAN_ANY		0x01

/* Defaults set by json_scan_init: jansson's depth limit, and no token
 * limit beyond what a buffer can hold. */
#define JSON_SCAN_DEPTH_MAX	2048
#define JSON_SCAN_TOKENS_MAX	INT32_MAX

struct json_scan_token {
	uint8_t		type;	/* enum json_scan_type */
	uint8_t		flags;	/* JSON_SCAN_ESCAPED, JSON_SCAN_REAL */
	uint32_t	start;	/* offset of '{', '[', a number's or
				   literal's first byte, or of the first
				   byte inside a string's quotes */
	uint32_t	end;	/* one past '}', ']' or a number's or
				   literal's last byte; a string's closing
				   quote (so end - start is its raw length) */
	int32_t		size;	/* object: members; array: elements; else 0 */
	int32_t		next;	/* index of the first token after this
				   value's subtree (its next sibling, if any) */
};

/*
 * One parser and its token array, reused across parses.  The buffer is
 * borrowed: tokens and helpers read it, so it must outlive their use.
 * max_depth and max_tokens may be changed between parses.
 */
struct json_scan {
	struct json_scan_token	*tok;
	int			 ntok;
	int			 cap;
	struct json_scan_token	*storage;	/* the caller's, never freed */
	int			 nstorage;
	int			 max_tokens;
	int			 max_depth;
	const char		*buf;		/* of the last parse */
	size_t			 len;
	/* After a failed parse: what, and where (byte offset from 0; line
	 * and byte column from 1). */
	char			 error[96];
	size_t			 error_pos;
	int			 error_line;
	int			 error_column;
};

/*
 * Prepare js.  The first n tokens go into storage (may be NULL with n
 * 0), typically an array on the caller's stack; more are allocated, so
 * that small documents cost no allocation at all.
 */
void	json_scan_init(struct json_scan *js, struct json_scan_token *storage,
	    int n);
/* Free what js allocated (not storage, not js itself); NULL is allowed. */
void	json_scan_free(struct json_scan *js);

/*
 * Tokenize and validate len bytes of buf (not NUL-terminated).  Returns
 * 0 with the root at token 0, or -1 with js->error set.  flags:
 * JSON_SCAN_ANY or 0.
 */
int	json_scan_parse(struct json_scan *js, const char *buf, size_t len,
	    int flags);

/* The type of token i, or 0 if i is -1. */
int	json_scan_type(const struct json_scan *js, int i);

/* The value of member key (a C string) of object obj, or -1 if obj is
 * not an object or has no such member.  Keys compare unescaped. */
int	json_scan_member(const struct json_scan *js, int obj, const char *key);

/* Whether token i is a string equal to s once unescaped. */
bool	json_scan_streq(const struct json_scan *js, int i, const char *s);

/*
 * Token i's string, unescaped (surrogate pairs joined into UTF-8), in a
 * new NUL-terminated string the caller frees; NULL if i is not a string
 * (-1 included).  Never contains a NUL, since \u0000 is rejected.
 */
char	*json_scan_strdup(const struct json_scan *js, int i);

/* Token i as an int64_t: 0, or -1 if it is not an integer (a real such
 * as 1.0 or 1e2 is not). */
int	json_scan_int(const struct json_scan *js, int i, int64_t *out);

/*
 * Walk an array's elements or an object's members.  idx is an int
 * counter; el is each element's token; key is each member's key token,
 * whose value is key + 1.  The container must be of the right type.
 */
#define JSON_SCAN_FOREACH_ELEMENT(js, arr, idx, el)			\
	for ((idx) = 0, (el) = (arr) + 1; (idx) < (js)->tok[arr].size;	\
	    (idx)++, (el) = (js)->tok[el].next)
#define JSON_SCAN_FOREACH_MEMBER(js, obj, idx, key)			\
	for ((idx) = 0, (key) = (obj) + 1; (idx) < (js)->tok[obj].size;	\
	    (idx)++, (key) = (js)->tok[(key) + 1].next)

#endif
