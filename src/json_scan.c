/* The strict one-pass JSON tokenizer of json_scan.h and its lookups. */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_scan.h"
#include "util.h"

/*
 * Objects up to this many members are checked for duplicate keys pair
 * by pair, which for the handful of members real documents have is
 * cheaper than anything that allocates; bigger ones are sorted, so that
 * a hostile object with a million keys costs n log n, not n squared.
 */
#define JSON_SCAN_PAIRWISE	16

/* Escaped strings up to this long are unescaped on the stack to compare. */
#define JSON_SCAN_SMALL		256

#define JSON_SCAN_ONES		0x0101010101010101ULL
#define JSON_SCAN_HIGHS		0x8080808080808080ULL

/* What the parser expects next; each step returns the next one, or -1. */
enum json_scan_state {
	JSON_SCAN_S_VALUE,
	JSON_SCAN_S_KEY,
	JSON_SCAN_S_AFTER,
	JSON_SCAN_S_DONE
};

/* One parse in progress. */
struct json_scan_ctx {
	struct json_scan	*js;
	const unsigned char	*s;
	size_t			 len;
	size_t			 p;	/* the next byte to read */
	int			 cur;	/* innermost open container, or -1 */
	int			 depth;	/* containers open */
};

/* A key of a big object, unescaped, for the sorted duplicate check. */
struct json_scan_key {
	const char	*s;
	size_t		 n;
	int		 tok;
};

static int	json_scan_fail(struct json_scan *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

void
json_scan_init(struct json_scan *js, struct json_scan_token *storage, int n)
{
	memset(js, 0, sizeof(*js));
	js->storage = js->tok = storage;
	js->nstorage = js->cap = storage != NULL && n > 0 ? n : 0;
	js->max_tokens = JSON_SCAN_TOKENS_MAX;
	js->max_depth = JSON_SCAN_DEPTH_MAX;
}

void
json_scan_free(struct json_scan *js)
{
	if (js == NULL)
		return;
	if (js->tok != js->storage)
		free(js->tok);
	js->tok = js->storage;
	js->cap = js->nstorage;
	js->ntok = 0;
}

/* Sets the error with its position, counting lines only now it is needed. */
static int
json_scan_fail(struct json_scan *js, size_t pos, const char *fmt, ...)
{
	va_list	ap;
	size_t	i, bol = 0;
	int	line = 1;

	va_start(ap, fmt);
	vsnprintf(js->error, sizeof(js->error), fmt, ap);
	va_end(ap);
	for (i = 0; i < pos && i < js->len; i++) {
		if (js->buf[i] == '\n') {
			line++;
			bol = i + 1;
		}
	}
	js->error_pos = pos;
	js->error_line = line;
	js->error_column = (int)(pos - bol + 1);
	return -1;
}

/* The byte at p for an error message: 'x', byte 0x80, or end of input. */
static const char *
json_scan_what(const struct json_scan_ctx *c, char *out, size_t size)
{
	unsigned char	ch;

	if (c->p >= c->len)
		return "end of input";
	ch = c->s[c->p];
	if (ch > ' ' && ch < 0x7f)
		snprintf(out, size, "'%c'", ch);
	else
		snprintf(out, size, "byte 0x%02x", ch);
	return out;
}

static int
json_scan_unexpected(struct json_scan_ctx *c, const char *expected)
{
	char	what[16];

	return json_scan_fail(c->js, c->p, "unexpected %s, expected %s",
	    json_scan_what(c, what, sizeof(what)), expected);
}

static void
json_scan_ws(struct json_scan_ctx *c)
{
	size_t			 p = c->p;
	const unsigned char	*s = c->s;

	while (p < c->len && s[p] <= ' ' &&
	    (s[p] == ' ' || s[p] == '\n' || s[p] == '\r' || s[p] == '\t'))
		p++;
	c->p = p;
}

/* A new token at the end of the array, growing it if need be. */
static int
json_scan_push(struct json_scan_ctx *c)
{
	struct json_scan	*js = c->js;
	struct json_scan_token	*t;
	int			 ncap;

	if (js->ntok >= js->max_tokens)
		return json_scan_fail(js, c->p, "more than %d tokens",
		    js->max_tokens);
	if (js->ntok == js->cap) {
		ncap = js->cap < 64 ? 64 : js->cap > INT32_MAX / 2 ?
		    INT32_MAX : js->cap * 2;
		if (ncap > js->max_tokens)
			ncap = js->max_tokens;
		if (js->tok == js->storage) {
			t = xmalloc((size_t)ncap * sizeof(*t));
			if (js->ntok > 0)
				memcpy(t, js->tok, (size_t)js->ntok *
				    sizeof(*t));
		} else
			t = xrealloc(js->tok, (size_t)ncap * sizeof(*t));
		js->tok = t;
		js->cap = ncap;
	}
	return js->ntok++;
}

/*
 * Skip bytes that need no attention inside a string: everything but
 * '"', '\\', controls and non-ASCII.  Eight at a time, as string bodies
 * are most of a frame: a byte below 0x20 borrows into its top bit when
 * 0x20 is subtracted, '"' and '\\' become zero bytes under XOR, and a
 * zero byte borrows likewise.  Borrows only ever add false alarms after
 * a real one, which the byte loop below sorts out.
 */
static size_t
json_scan_plain(const unsigned char *s, size_t p, size_t len)
{
	uint64_t	v, hit;

	while (len - p >= 8) {
		memcpy(&v, s + p, sizeof(v));
		hit = ((v - JSON_SCAN_ONES * 0x20) |
		    ((v ^ (JSON_SCAN_ONES * '"')) - JSON_SCAN_ONES) |
		    ((v ^ (JSON_SCAN_ONES * '\\')) - JSON_SCAN_ONES) | v) &
		    JSON_SCAN_HIGHS;
		if (hit != 0)
			break;
		p += 8;
	}
	while (p < len && s[p] >= 0x20 && s[p] < 0x80 && s[p] != '"' &&
	    s[p] != '\\')
		p++;
	return p;
}

/* The length of the UTF-8 sequence at s (n bytes left), or 0 if invalid:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t
json_scan_utf8(const unsigned char *s, size_t n)
{
	unsigned char	lo = 0x80, hi = 0xBF;

	if (s[0] < 0xC2 || s[0] > 0xF4)
		return 0;
	if (s[0] < 0xE0)
		return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (s[0] == 0xE0)
		lo = 0xA0;
	else if (s[0] == 0xED)
		hi = 0x9F;
	else if (s[0] == 0xF0)
		lo = 0x90;
	else if (s[0] == 0xF4)
		hi = 0x8F;
	if (n < 3 || s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80)
		return 0;
	if (s[0] < 0xF0)
		return 3;
	return n >= 4 && (s[3] & 0xC0) == 0x80 ? 4 : 0;
}

/* Four hex digits at s (n bytes left) as a number, or -1. */
static long
json_scan_hex4(const unsigned char *s, size_t n)
{
	long	v = 0;
	int	i, d;

	if (n < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0';
		else if ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f')
			d = (s[i] | 0x20) - 'a' + 10;
		else
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* The escape at c->p (a backslash); moves past it. */
static int
json_scan_escape(struct json_scan_ctx *c)
{
	const unsigned char	*s = c->s + c->p;
	size_t			 n = c->len - c->p;
	long			 cp, lo;

	if (n < 2)
		return json_scan_fail(c->js, c->len, "unterminated string");
	if (s[1] != '\0' && strchr("\"\\/bfnrt", s[1]) != NULL) {
		c->p += 2;
		return 0;
	}
	if (s[1] != 'u') {
		c->p++;
		return json_scan_unexpected(c, "an escape (\\\" \\\\ \\/ \\b "
		    "\\f \\n \\r \\t \\u)");
	}
	if ((cp = json_scan_hex4(s + 2, n - 2)) == -1)
		return json_scan_fail(c->js, c->p, "\\u without four hex "
		    "digits");
	if (cp == 0)
		return json_scan_fail(c->js, c->p, "\\u0000 is not allowed");
	if (cp >= 0xDC00 && cp <= 0xDFFF)
		return json_scan_fail(c->js, c->p, "lone low surrogate "
		    "\\u%04lX", cp);
	if (cp < 0xD800 || cp > 0xDBFF) {
		c->p += 6;
		return 0;
	}
	if (n < 12 || s[6] != '\\' || s[7] != 'u' ||
	    (lo = json_scan_hex4(s + 8, n - 8)) < 0xDC00 || lo > 0xDFFF)
		return json_scan_fail(c->js, c->p, "high surrogate \\u%04lX "
		    "without a low one after it", cp);
	c->p += 12;
	return 0;
}

/* The string starting at c->p (its opening quote) into token t. */
static int
json_scan_string(struct json_scan_ctx *c, struct json_scan_token *t)
{
	const unsigned char	*s = c->s;
	size_t			 start = c->p, n;
	unsigned char		 ch;

	t->type = JSON_SCAN_STRING;
	t->start = (uint32_t)++c->p;
	for (;;) {
		c->p = json_scan_plain(s, c->p, c->len);
		if (c->p >= c->len)
			return json_scan_fail(c->js, start,
			    "unterminated string");
		ch = s[c->p];
		if (ch == '"')
			break;
		if (ch == '\\') {
			t->flags |= JSON_SCAN_ESCAPED;
			if (json_scan_escape(c) != 0)
				return -1;
		} else if (ch < 0x20)
			return json_scan_fail(c->js, c->p, "control character "
			    "0x%02x in a string", ch);
		else if ((n = json_scan_utf8(s + c->p, c->len - c->p)) == 0)
			return json_scan_fail(c->js, c->p, "invalid UTF-8 in a "
			    "string");
		else
			c->p += n;
	}
	t->end = (uint32_t)c->p++;
	return 0;
}

/* Whether the integer of n digits at d does not fit int64_t. */
static bool
json_scan_int_overflows(const unsigned char *d, size_t n, bool neg)
{
	if (n != 19)
		return n > 19;
	return memcmp(d, neg ? "9223372036854775808" : "9223372036854775807",
	    19) > 0;
}

/*
 * Whether the real of n bytes at s overflows a double, by jansson's own
 * test (strtod gives HUGE_VAL with ERANGE; underflow to zero is fine).
 * strtod reads the locale's decimal point, so '.' is swapped for it.
 */
static bool
json_scan_real_overflows(const unsigned char *s, size_t n)
{
	char		 small[64], *copy, *dot;
	const char	*point = localeconv()->decimal_point;
	double		 v;
	bool		 over;

	copy = n < sizeof(small) ? small : xmalloc(n + 1);
	memcpy(copy, s, n);
	copy[n] = '\0';
	if (point[0] != '.' && point[0] != '\0' &&
	    (dot = strchr(copy, '.')) != NULL)
		*dot = point[0];
	errno = 0;
	v = strtod(copy, NULL);
	over = (v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE;
	if (copy != small)
		free(copy);
	return over;
}

static bool
json_scan_digit(const struct json_scan_ctx *c, size_t p)
{
	return p < c->len && c->s[p] >= '0' && c->s[p] <= '9';
}

/* The number at c->p into token t: RFC 8259's grammar, jansson's range. */
static int
json_scan_number(struct json_scan_ctx *c, struct json_scan_token *t)
{
	size_t	p = c->p, first, ndigits;
	bool	neg = c->s[p] == '-', exp = false;

	p += neg;
	first = p;
	if (!json_scan_digit(c, p)) {
		c->p = p;
		return json_scan_unexpected(c, "a digit");
	}
	if (c->s[p] == '0') {
		if (json_scan_digit(c, ++p))
			return json_scan_fail(c->js, first, "leading zero in "
			    "a number");
	} else {
		while (json_scan_digit(c, p))
			p++;
	}
	ndigits = p - first;
	if (p < c->len && c->s[p] == '.') {
		t->flags |= JSON_SCAN_REAL;
		if (!json_scan_digit(c, ++p)) {
			c->p = p;
			return json_scan_unexpected(c, "a digit after '.'");
		}
		while (json_scan_digit(c, p))
			p++;
	}
	if (p < c->len && (c->s[p] == 'e' || c->s[p] == 'E')) {
		t->flags |= JSON_SCAN_REAL;
		exp = true;
		p++;
		if (p < c->len && (c->s[p] == '+' || c->s[p] == '-'))
			p++;
		if (!json_scan_digit(c, p)) {
			c->p = p;
			return json_scan_unexpected(c,
			    "a digit in the exponent");
		}
		while (json_scan_digit(c, p))
			p++;
	}
	/* Without an exponent, under 309 digits stay below DBL_MAX. */
	if (t->flags & JSON_SCAN_REAL) {
		if ((exp || ndigits > 308) &&
		    json_scan_real_overflows(c->s + c->p, p - c->p))
			return json_scan_fail(c->js, c->p, "number overflows "
			    "a double");
	} else if (json_scan_int_overflows(c->s + first, ndigits, neg))
		return json_scan_fail(c->js, c->p, "integer out of the range "
		    "of int64");
	t->type = JSON_SCAN_NUMBER;
	t->end = (uint32_t)p;
	c->p = p;
	return 0;
}

static int
json_scan_literal(struct json_scan_ctx *c, struct json_scan_token *t)
{
	static const char *const	 names[] = { "true", "false", "null" };
	static const int		 types[] = { JSON_SCAN_TRUE,
	    JSON_SCAN_FALSE, JSON_SCAN_NULL };
	int				 i = c->s[c->p] == 't' ? 0 :
	    c->s[c->p] == 'f' ? 1 : 2;
	size_t				 n = strlen(names[i]);

	if (c->len - c->p < n || memcmp(c->s + c->p, names[i], n) != 0)
		return json_scan_fail(c->js, c->p, "invalid literal, expected "
		    "%s", names[i]);
	t->type = (uint8_t)types[i];
	c->p += n;
	t->end = (uint32_t)c->p;
	return 0;
}

/*
 * The unescaped form of a validated string's n raw bytes into out, which
 * has room for n bytes (no escape is shorter than what it stands for);
 * returns the length.
 */
static size_t
json_scan_unescape(const char *raw, size_t n, char *out)
{
	static const char	 from[] = "\"\\/bfnrt";
	static const char	 to[] = "\"\\/\b\f\n\r\t";
	const char		*bs;
	size_t			 i = 0, o = 0, run;
	unsigned long		 cp;

	while (i < n) {
		bs = memchr(raw + i, '\\', n - i);
		run = bs != NULL ? (size_t)(bs - (raw + i)) : n - i;
		memcpy(out + o, raw + i, run);
		o += run;
		i += run;
		if (i >= n)
			break;
		if (raw[i + 1] != 'u') {
			out[o++] = to[strchr(from, raw[i + 1]) - from];
			i += 2;
			continue;
		}
		cp = (unsigned long)json_scan_hex4((const unsigned char *)raw +
		    i + 2, 4);
		i += 6;
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			cp = 0x10000 + ((cp - 0xD800) << 10) +
			    ((unsigned long)json_scan_hex4((const unsigned
			    char *)raw + i + 2, 4) - 0xDC00);
			i += 6;
		}
		if (cp < 0x80)
			out[o++] = (char)cp;
		else if (cp < 0x800) {
			out[o++] = (char)(0xC0 | cp >> 6);
			out[o++] = (char)(0x80 | (cp & 0x3F));
		} else if (cp < 0x10000) {
			out[o++] = (char)(0xE0 | cp >> 12);
			out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
			out[o++] = (char)(0x80 | (cp & 0x3F));
		} else {
			out[o++] = (char)(0xF0 | cp >> 18);
			out[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
			out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
			out[o++] = (char)(0x80 | (cp & 0x3F));
		}
	}
	return o;
}

/* Whether string tokens a and b are equal once unescaped. */
static bool
json_scan_key_eq(const struct json_scan *js, int a, int b)
{
	const struct json_scan_token	*ta = &js->tok[a], *tb = &js->tok[b];
	size_t				 na = ta->end - ta->start;
	size_t				 nb = tb->end - tb->start, ua, ub;
	char				 small[2 * JSON_SCAN_SMALL], *buf;
	bool				 eq;

	if (((ta->flags | tb->flags) & JSON_SCAN_ESCAPED) == 0)
		return na == nb &&
		    memcmp(js->buf + ta->start, js->buf + tb->start, na) == 0;
	buf = na + nb <= sizeof(small) ? small : xmalloc(na + nb);
	ua = json_scan_unescape(js->buf + ta->start, na, buf);
	ub = json_scan_unescape(js->buf + tb->start, nb, buf + na);
	eq = ua == ub && memcmp(buf, buf + na, ua) == 0;
	if (buf != small)
		free(buf);
	return eq;
}

static int
json_scan_key_cmp(const void *va, const void *vb)
{
	const struct json_scan_key	*a = va, *b = vb;
	int				 r;

	r = memcmp(a->s, b->s, a->n < b->n ? a->n : b->n);
	if (r != 0)
		return r;
	if (a->n != b->n)
		return a->n < b->n ? -1 : 1;
	return a->tok < b->tok ? -1 : a->tok > b->tok;
}

/* Names the key as written, cut short on a UTF-8 boundary if long. */
static int
json_scan_dup_fail(struct json_scan *js, int key)
{
	const struct json_scan_token	*t = &js->tok[key];
	size_t				 n = t->end - t->start;

	if (n > 40) {
		n = 40;
		while ((js->buf[t->start + n] & 0xC0) == 0x80)
			n--;
	}
	return json_scan_fail(js, t->start - 1, "duplicate key \"%.*s\"",
	    (int)n, js->buf + t->start);
}

/* The duplicate check for big objects: sort the unescaped keys. */
static int
json_scan_dups_sorted(struct json_scan *js, int obj)
{
	struct json_scan_key	*keys;
	char			*scratch, *o;
	size_t			 need = 0;
	int			 i, k, dup = -1;

	JSON_SCAN_FOREACH_MEMBER(js, obj, i, k) {
		if (js->tok[k].flags & JSON_SCAN_ESCAPED)
			need += js->tok[k].end - js->tok[k].start;
	}
	keys = xmalloc((size_t)js->tok[obj].size * sizeof(*keys));
	o = scratch = need > 0 ? xmalloc(need) : NULL;
	JSON_SCAN_FOREACH_MEMBER(js, obj, i, k) {
		keys[i].tok = k;
		keys[i].s = js->buf + js->tok[k].start;
		keys[i].n = js->tok[k].end - js->tok[k].start;
		if (js->tok[k].flags & JSON_SCAN_ESCAPED) {
			keys[i].n = json_scan_unescape(keys[i].s, keys[i].n, o);
			keys[i].s = o;
			o += keys[i].n;
		}
	}
	qsort(keys, (size_t)js->tok[obj].size, sizeof(*keys),
	    json_scan_key_cmp);
	for (i = 1; i < js->tok[obj].size; i++) {
		if (keys[i].n == keys[i - 1].n &&
		    memcmp(keys[i].s, keys[i - 1].s, keys[i].n) == 0 &&
		    (dup == -1 || keys[i].tok < dup))
			dup = keys[i].tok;
	}
	free(scratch);
	free(keys);
	return dup == -1 ? 0 : json_scan_dup_fail(js, dup);
}

/* jansson's JSON_REJECT_DUPLICATES: keys compare unescaped. */
static int
json_scan_dups(struct json_scan *js, int obj)
{
	int	keys[JSON_SCAN_PAIRWISE], i, j, k;

	if (js->tok[obj].size > JSON_SCAN_PAIRWISE)
		return json_scan_dups_sorted(js, obj);
	JSON_SCAN_FOREACH_MEMBER(js, obj, i, k) {
		for (j = 0; j < i; j++) {
			if (json_scan_key_eq(js, keys[j], k))
				return json_scan_dup_fail(js, k);
		}
		keys[i] = k;
	}
	return 0;
}

/* Close the innermost container at c->p (its '}' or ']'). */
static int
json_scan_close(struct json_scan_ctx *c)
{
	struct json_scan	*js = c->js;
	struct json_scan_token	*t = &js->tok[c->cur];
	int			 obj = c->cur;

	/* While open, next held the parent; now it can hold the truth. */
	c->cur = t->next;
	t->next = js->ntok;
	t->end = (uint32_t)++c->p;
	c->depth--;
	if (t->type == JSON_SCAN_OBJECT && t->size > 1)
		return json_scan_dups(js, obj);
	return 0;
}

/* A value at c->p; scalars are whole tokens, containers are opened. */
static int
json_scan_value(struct json_scan_ctx *c)
{
	struct json_scan	*js = c->js;
	struct json_scan_token	*t;
	int			 i;

	json_scan_ws(c);
	if (c->p >= c->len)
		return json_scan_unexpected(c, "a value");
	if (c->depth >= js->max_depth)
		return json_scan_fail(js, c->p, "nesting deeper than %d",
		    js->max_depth);
	if ((i = json_scan_push(c)) == -1)
		return -1;
	if (c->cur != -1 && js->tok[c->cur].type == JSON_SCAN_ARRAY)
		js->tok[c->cur].size++;
	t = &js->tok[i];
	t->flags = 0;
	t->size = 0;
	t->start = (uint32_t)c->p;
	t->next = i + 1;
	switch (c->s[c->p]) {
	case '{':
	case '[':
		t->type = c->s[c->p] == '{' ? JSON_SCAN_OBJECT :
		    JSON_SCAN_ARRAY;
		t->next = c->cur;
		c->cur = i;
		c->depth++;
		c->p++;
		json_scan_ws(c);
		if (c->p < c->len && c->s[c->p] == (t->type ==
		    JSON_SCAN_OBJECT ? '}' : ']'))
			return json_scan_close(c) != 0 ? -1 :
			    JSON_SCAN_S_AFTER;
		return t->type == JSON_SCAN_OBJECT ? JSON_SCAN_S_KEY :
		    JSON_SCAN_S_VALUE;
	case '"':
		return json_scan_string(c, t) != 0 ? -1 : JSON_SCAN_S_AFTER;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return json_scan_number(c, t) != 0 ? -1 : JSON_SCAN_S_AFTER;
	case 't':
	case 'f':
	case 'n':
		return json_scan_literal(c, t) != 0 ? -1 : JSON_SCAN_S_AFTER;
	}
	return json_scan_unexpected(c, "a value");
}

/* A member's key and its colon. */
static int
json_scan_key(struct json_scan_ctx *c)
{
	struct json_scan_token	*t;
	int			 i;

	json_scan_ws(c);
	if (c->p >= c->len || c->s[c->p] != '"')
		return json_scan_unexpected(c, "a string key");
	if ((i = json_scan_push(c)) == -1)
		return -1;
	c->js->tok[c->cur].size++;
	t = &c->js->tok[i];
	t->flags = 0;
	t->size = 0;
	t->next = i + 1;
	if (json_scan_string(c, t) != 0)
		return -1;
	json_scan_ws(c);
	if (c->p >= c->len || c->s[c->p] != ':')
		return json_scan_unexpected(c, "':'");
	c->p++;
	return JSON_SCAN_S_VALUE;
}

/* After a value: a comma, the end of its container, or of the input. */
static int
json_scan_after(struct json_scan_ctx *c)
{
	bool	obj;

	json_scan_ws(c);
	if (c->cur == -1) {
		if (c->p != c->len)
			return json_scan_unexpected(c, "nothing after the "
			    "value");
		return JSON_SCAN_S_DONE;
	}
	obj = c->js->tok[c->cur].type == JSON_SCAN_OBJECT;
	if (c->p < c->len && c->s[c->p] == ',') {
		c->p++;
		return obj ? JSON_SCAN_S_KEY : JSON_SCAN_S_VALUE;
	}
	if (c->p < c->len && c->s[c->p] == (obj ? '}' : ']'))
		return json_scan_close(c) != 0 ? -1 : JSON_SCAN_S_AFTER;
	return json_scan_unexpected(c, obj ? "',' or '}'" : "',' or ']'");
}

int
json_scan_parse(struct json_scan *js, const char *buf, size_t len,
    int flags)
{
	struct json_scan_ctx	c;
	int			state = JSON_SCAN_S_VALUE;

	js->buf = buf;
	js->len = len;
	js->ntok = 0;
	js->error[0] = '\0';
	js->error_pos = 0;
	js->error_line = js->error_column = 0;
	/* Token offsets are 32 bits. */
	if (len >= UINT32_MAX)
		return json_scan_fail(js, 0, "input of 4 GiB or more");
	c.js = js;
	c.s = (const unsigned char *)buf;
	c.len = len;
	c.p = 0;
	c.cur = -1;
	c.depth = 0;
	json_scan_ws(&c);
	if ((flags & JSON_SCAN_ANY) == 0 && c.p < len && buf[c.p] != '{' &&
	    buf[c.p] != '[')
		return json_scan_unexpected(&c, "'{' or '['");
	while (state != JSON_SCAN_S_DONE) {
		switch (state) {
		case JSON_SCAN_S_VALUE:
			state = json_scan_value(&c);
			break;
		case JSON_SCAN_S_KEY:
			state = json_scan_key(&c);
			break;
		case JSON_SCAN_S_AFTER:
			state = json_scan_after(&c);
			break;
		default:
			js->ntok = 0;
			return -1;
		}
	}
	return 0;
}

int
json_scan_type(const struct json_scan *js, int i)
{
	if (i < 0 || i >= js->ntok)
		return 0;
	return js->tok[i].type;
}

bool
json_scan_streq(const struct json_scan *js, int i, const char *s)
{
	const struct json_scan_token	*t;
	size_t				 n, sn = strlen(s), un;
	char				 small[JSON_SCAN_SMALL], *buf;
	bool				 eq;

	if (json_scan_type(js, i) != JSON_SCAN_STRING)
		return false;
	t = &js->tok[i];
	n = t->end - t->start;
	if ((t->flags & JSON_SCAN_ESCAPED) == 0)
		return n == sn && memcmp(js->buf + t->start, s, n) == 0;
	/* Unescaping only ever shortens. */
	if (sn > n)
		return false;
	buf = n <= sizeof(small) ? small : xmalloc(n);
	un = json_scan_unescape(js->buf + t->start, n, buf);
	eq = un == sn && memcmp(buf, s, sn) == 0;
	if (buf != small)
		free(buf);
	return eq;
}

int
json_scan_member(const struct json_scan *js, int obj, const char *key)
{
	const struct json_scan_token	*t;
	size_t				 n = strlen(key);
	int				 i, k;

	if (json_scan_type(js, obj) != JSON_SCAN_OBJECT)
		return -1;
	JSON_SCAN_FOREACH_MEMBER(js, obj, i, k) {
		t = &js->tok[k];
		if ((t->flags & JSON_SCAN_ESCAPED) == 0) {
			if (t->end - t->start == n &&
			    memcmp(js->buf + t->start, key, n) == 0)
				return k + 1;
		} else if (json_scan_streq(js, k, key))
			return k + 1;
	}
	return -1;
}

char *
json_scan_strdup(const struct json_scan *js, int i)
{
	const struct json_scan_token	*t;
	size_t				 n;
	char				*out;

	if (json_scan_type(js, i) != JSON_SCAN_STRING)
		return NULL;
	t = &js->tok[i];
	n = t->end - t->start;
	out = xmalloc(n + 1);
	if ((t->flags & JSON_SCAN_ESCAPED) == 0) {
		memcpy(out, js->buf + t->start, n);
		out[n] = '\0';
	} else
		out[json_scan_unescape(js->buf + t->start, n, out)] = '\0';
	return out;
}

int
json_scan_int(const struct json_scan *js, int i, int64_t *out)
{
	const struct json_scan_token	*t;
	const char			*s, *end;
	uint64_t			 u = 0;
	bool				 neg;

	if (json_scan_type(js, i) != JSON_SCAN_NUMBER ||
	    (js->tok[i].flags & JSON_SCAN_REAL))
		return -1;
	t = &js->tok[i];
	s = js->buf + t->start;
	end = js->buf + t->end;
	neg = *s == '-';
	for (s += neg; s < end; s++)
		u = u * 10 + (uint64_t)(*s - '0');
	/* The parse checked the range; -u would overflow for INT64_MIN. */
	*out = neg ? -(int64_t)(u - 1) - 1 : (int64_t)u;
	return 0;
}
