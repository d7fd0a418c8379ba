/*
 * Unicode-aware text helpers: the tokenizer that defines what a "word"
 * is for keyword rules, lower-casing for Latin, Greek and Cyrillic
 * scripts, and cutting text without breaking a UTF-8 sequence.
 */
#ifndef SB_TEXT_H
#define SB_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/*
 * Split text into lower-cased words: maximal runs of letters and digits
 * (any script); everything else separates.  Words are appended to out.
 * Invalid UTF-8 bytes act as separators.
 */
void	text_words(const char *text, struct strv *out);

/* Lower-case one code point (Latin, Greek, Cyrillic; others unchanged). */
uint32_t text_lower(uint32_t cp);

/* A lower-cased copy of s (same rules as text_lower).  Caller frees. */
char	*text_lower_str(const char *s);

/*
 * Decode one UTF-8 code point at s (n bytes available).  Returns its
 * length in bytes, or 0 if the sequence is invalid or truncated.
 */
size_t	utf8_decode(const char *s, size_t n, uint32_t *cp);
size_t	utf8_encode(uint32_t cp, char *out);	/* out: 4 bytes */

/*
 * The longest prefix of s that is at most max bytes and ends on a code
 * point boundary.  Returns its length.
 */
size_t	utf8_prefix(const char *s, size_t max);

/*
 * A copy of s cut to at most max_chars code points; when cut, ends with
 * "…" (counted within max_chars).  Caller frees.
 */
char	*text_truncate(const char *s, size_t max_chars);

/*
 * Code points in s, as chat platforms count length limits: every byte
 * that does not continue a UTF-8 sequence counts one.
 */
size_t	text_chars(const char *s);

/* Whether cp is a C0 control, DEL or a C1 control. */
int	text_control(uint32_t cp);

#endif
