/* What a word is, how text is lower-cased, how UTF-8 is cut and counted. */
#include <stdlib.h>
#include <string.h>

#include "text.h"

/*
 * How a code point takes part in a word.  Han ideographs and kana are
 * words of their own because CJK text has no spaces: a keyword in those
 * scripts then matches as a phrase of consecutive one-character words.
 */
enum text_class {
	TEXT_SEP,
	TEXT_WORD,
	TEXT_SINGLE
};

struct text_range {
	uint32_t	lo, hi;
	enum text_class	cls;
};

/*
 * Non-ASCII word characters, sorted, by block: letters, digits and
 * combining marks.  Whatever is missing (punctuation, symbols, emoji,
 * spaces, format characters) separates words.
 */
static const struct text_range text_ranges[] = {
	{ 0x00C0, 0x00D6, TEXT_WORD },	/* Latin-1 letters but not × */
	{ 0x00D8, 0x00F6, TEXT_WORD },	/* ... nor ÷ */
	{ 0x00F8, 0x02AF, TEXT_WORD },	/* Latin Extended-A/B, IPA */
	{ 0x0300, 0x036F, TEXT_WORD },	/* combining diacritics */
	{ 0x0370, 0x037D, TEXT_WORD },	/* Greek, but not ; (U+037E) */
	{ 0x037F, 0x0386, TEXT_WORD },	/* ... nor · (U+0387) */
	{ 0x0388, 0x03FF, TEXT_WORD },
	{ 0x0400, 0x052F, TEXT_WORD },	/* Cyrillic and Supplement */
	{ 0x0531, 0x0556, TEXT_WORD },	/* Armenian */
	{ 0x0559, 0x0559, TEXT_WORD },
	{ 0x0560, 0x0588, TEXT_WORD },
	{ 0x0591, 0x05BD, TEXT_WORD },	/* Hebrew points */
	{ 0x05BF, 0x05BF, TEXT_WORD },
	{ 0x05C1, 0x05C2, TEXT_WORD },
	{ 0x05C4, 0x05C5, TEXT_WORD },
	{ 0x05C7, 0x05C7, TEXT_WORD },
	{ 0x05D0, 0x05EA, TEXT_WORD },	/* Hebrew letters */
	{ 0x05EF, 0x05F2, TEXT_WORD },
	{ 0x0610, 0x061A, TEXT_WORD },	/* Arabic marks */
	{ 0x0620, 0x0669, TEXT_WORD },	/* letters, harakat, digits */
	{ 0x066E, 0x06D3, TEXT_WORD },
	{ 0x06D5, 0x06DC, TEXT_WORD },
	{ 0x06DF, 0x06E8, TEXT_WORD },
	{ 0x06EA, 0x06FC, TEXT_WORD },
	{ 0x06FF, 0x06FF, TEXT_WORD },
	{ 0x0750, 0x077F, TEXT_WORD },	/* Arabic Supplement */
	{ 0x08A0, 0x08FF, TEXT_WORD },	/* Arabic Extended-A */
	{ 0x0900, 0x0963, TEXT_WORD },	/* Devanagari, but not the dandas */
	{ 0x0966, 0x096F, TEXT_WORD },
	{ 0x0971, 0x0D7F, TEXT_WORD },	/* ... through Malayalam */
	{ 0x0D81, 0x0DF3, TEXT_WORD },	/* Sinhala */
	{ 0x0E01, 0x0E3A, TEXT_WORD },	/* Thai, but not ฿ */
	{ 0x0E40, 0x0E4E, TEXT_WORD },
	{ 0x0E50, 0x0E59, TEXT_WORD },
	{ 0x0E81, 0x0EDF, TEXT_WORD },	/* Lao */
	{ 0x1000, 0x1049, TEXT_WORD },	/* Myanmar */
	{ 0x1050, 0x109F, TEXT_WORD },
	{ 0x10A0, 0x10FA, TEXT_WORD },	/* Georgian */
	{ 0x10FC, 0x10FF, TEXT_WORD },
	{ 0x1100, 0x11FF, TEXT_WORD },	/* Hangul Jamo */
	{ 0x1200, 0x135F, TEXT_WORD },	/* Ethiopic */
	{ 0x1369, 0x137C, TEXT_WORD },
	{ 0x1380, 0x139F, TEXT_WORD },
	{ 0x1780, 0x17D3, TEXT_WORD },	/* Khmer */
	{ 0x17DC, 0x17DD, TEXT_WORD },
	{ 0x17E0, 0x17E9, TEXT_WORD },
	{ 0x1AB0, 0x1AFF, TEXT_WORD },	/* combining marks, extended */
	{ 0x1DC0, 0x1DFF, TEXT_WORD },	/* ... and supplement */
	{ 0x1E00, 0x1FFF, TEXT_WORD },	/* Vietnamese, Greek Extended */
	{ 0x2C60, 0x2C7F, TEXT_WORD },	/* Latin Extended-C */
	{ 0x2DE0, 0x2DFF, TEXT_WORD },	/* Cyrillic Extended-A */
	{ 0x3005, 0x3007, TEXT_SINGLE },	/* 々 〆 〇 */
	{ 0x3041, 0x3096, TEXT_SINGLE },	/* Hiragana */
	{ 0x3099, 0x309F, TEXT_SINGLE },
	{ 0x30A1, 0x30FA, TEXT_SINGLE },	/* Katakana, but not ・ */
	{ 0x30FC, 0x30FF, TEXT_SINGLE },
	{ 0x3131, 0x318E, TEXT_WORD },	/* Hangul Compatibility Jamo */
	{ 0x31F0, 0x31FF, TEXT_SINGLE },	/* Katakana extensions */
	{ 0x3400, 0x4DBF, TEXT_SINGLE },	/* CJK Extension A */
	{ 0x4E00, 0x9FFF, TEXT_SINGLE },	/* CJK Unified Ideographs */
	{ 0xA640, 0xA69F, TEXT_WORD },	/* Cyrillic Extended-B */
	{ 0xA720, 0xA7FF, TEXT_WORD },	/* Latin Extended-D */
	{ 0xA960, 0xA97F, TEXT_WORD },	/* Hangul Jamo Extended-A */
	{ 0xAC00, 0xD7A3, TEXT_WORD },	/* Hangul syllables */
	{ 0xD7B0, 0xD7FF, TEXT_WORD },	/* Hangul Jamo Extended-B */
	{ 0xF900, 0xFAFF, TEXT_SINGLE },	/* CJK Compatibility */
	{ 0xFB00, 0xFB06, TEXT_WORD },	/* Latin ligatures */
	{ 0xFB1D, 0xFB4F, TEXT_WORD },	/* Hebrew presentation forms */
	{ 0xFB50, 0xFD3D, TEXT_WORD },	/* Arabic presentation forms */
	{ 0xFD50, 0xFDFB, TEXT_WORD },
	{ 0xFE70, 0xFEFC, TEXT_WORD },
	{ 0xFF10, 0xFF19, TEXT_WORD },	/* fullwidth digits */
	{ 0xFF21, 0xFF3A, TEXT_WORD },	/* fullwidth Latin */
	{ 0xFF41, 0xFF5A, TEXT_WORD },
	{ 0xFF66, 0xFF9F, TEXT_SINGLE },	/* halfwidth Katakana */
	{ 0xFFA0, 0xFFDC, TEXT_WORD },	/* halfwidth Hangul */
	{ 0x20000, 0x2FA1F, TEXT_SINGLE },	/* CJK Extensions B-F */
	{ 0x30000, 0x323AF, TEXT_SINGLE }	/* CJK Extensions G-H */
};

static int
text_ascii_word(unsigned char c)
{
	return (unsigned char)((c | 0x20) - 'a') < 26 ||
	    (unsigned char)(c - '0') < 10;
}

static enum text_class
text_class(uint32_t cp)
{
	size_t	lo = 0, hi = nitems(text_ranges), mid;

	if (cp < 0x80)
		return text_ascii_word((unsigned char)cp) ? TEXT_WORD :
		    TEXT_SEP;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (cp < text_ranges[mid].lo)
			hi = mid;
		else if (cp > text_ranges[mid].hi)
			lo = mid + 1;
		else
			return text_ranges[mid].cls;
	}
	return TEXT_SEP;
}

/* Case pairs where upper and lower case alternate, even code point first. */
static uint32_t
text_lower_pair(uint32_t cp)
{
	return cp | 1;
}

/* ... and where the odd code point comes first. */
static uint32_t
text_lower_pair_odd(uint32_t cp)
{
	return (cp & 1) ? cp + 1 : cp;
}

static uint32_t
text_lower_latin(uint32_t cp)
{
	if (cp < 0x100)
		return cp >= 0xC0 && cp <= 0xDE && cp != 0xD7 ? cp + 0x20 : cp;
	/* İ is the capital of plain i: pairing it with ı breaks Turkish. */
	if (cp == 0x130)
		return 'i';
	if (cp <= 0x137 || (cp >= 0x14A && cp <= 0x177))
		return text_lower_pair(cp);
	if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E))
		return text_lower_pair_odd(cp);
	if (cp == 0x178)
		return 0xFF;
	return cp;
}

static uint32_t
text_lower_greek(uint32_t cp)
{
	if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2)
		return cp + 0x20;
	if (cp == 0x386)
		return 0x3AC;
	if (cp >= 0x388 && cp <= 0x38A)
		return cp + 0x25;
	if (cp == 0x38C)
		return 0x3CC;
	if (cp == 0x38E || cp == 0x38F)
		return cp + 0x3F;
	/* Final sigma is only a spelling of σ; words must compare equal. */
	if (cp == 0x3C2)
		return 0x3C3;
	return cp;
}

static uint32_t
text_lower_cyrillic(uint32_t cp)
{
	if (cp <= 0x40F)
		return cp + 0x50;
	if (cp <= 0x42F)
		return cp + 0x20;
	if ((cp >= 0x460 && cp <= 0x481) || (cp >= 0x48A && cp <= 0x4BF) ||
	    (cp >= 0x4D0 && cp <= 0x52F))
		return text_lower_pair(cp);
	if (cp == 0x4C0)
		return 0x4CF;
	if (cp >= 0x4C1 && cp <= 0x4CE)
		return text_lower_pair_odd(cp);
	return cp;
}

/*
 * Every mapping here keeps or shrinks the UTF-8 length, so lower-casing
 * can be done into a buffer the size of its input.
 */
uint32_t
text_lower(uint32_t cp)
{
	if (cp < 0x80)
		return cp >= 'A' && cp <= 'Z' ? cp + 0x20 : cp;
	if (cp < 0x180)
		return text_lower_latin(cp);
	if (cp >= 0x370 && cp <= 0x3FF)
		return text_lower_greek(cp);
	if (cp >= 0x400 && cp <= 0x52F)
		return text_lower_cyrillic(cp);
	if ((cp >= 0x1E00 && cp <= 0x1E95) || (cp >= 0x1EA0 && cp <= 0x1EFF))
		return text_lower_pair(cp);
	if (cp == 0x1E9E)
		return 0xDF;
	if (cp >= 0xFF21 && cp <= 0xFF3A)
		return cp + 0x20;
	return cp;
}

/*
 * Reads byte by byte and stops at the first bad one, so a caller that
 * does not know the length of a NUL-terminated string may pass n = 4.
 */
size_t
utf8_decode(const char *s, size_t n, uint32_t *cp)
{
	const unsigned char	*u = (const unsigned char *)s;
	uint32_t		 v, min;
	size_t			 len, i;

	if (n == 0)
		return 0;
	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	}
	if (u[0] < 0xC2 || u[0] > 0xF4)
		return 0;
	if (u[0] < 0xE0) {
		len = 2;
		v = u[0] & 0x1F;
		min = 0x80;
	} else if (u[0] < 0xF0) {
		len = 3;
		v = u[0] & 0x0F;
		min = 0x800;
	} else {
		len = 4;
		v = u[0] & 0x07;
		min = 0x10000;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((u[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (u[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return len;
}

/* A code point that cannot be encoded becomes U+FFFD. */
size_t
utf8_encode(uint32_t cp, char *out)
{
	unsigned char	*u = (unsigned char *)out;

	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = (unsigned char)(0xC0 | (cp >> 6));
		u[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = (unsigned char)(0xE0 | (cp >> 12));
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	u[0] = (unsigned char)(0xF0 | (cp >> 18));
	u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	u[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Lower-case n bytes of src into dst (n bytes suffice); returns the
 * length written.  Invalid bytes are copied as they are. */
static size_t
text_lower_copy(const char *src, size_t n, char *dst)
{
	size_t		 i = 0, o = 0, len;
	uint32_t	 cp, lc;
	unsigned char	 c;

	while (i < n) {
		c = (unsigned char)src[i];
		if (c < 0x80) {
			dst[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 0x20 : c);
			i++;
			continue;
		}
		len = utf8_decode(src + i, n - i, &cp);
		if (len == 0) {
			dst[o++] = src[i++];
			continue;
		}
		lc = text_lower(cp);
		if (lc == cp) {
			memcpy(dst + o, src + i, len);
			o += len;
		} else
			o += utf8_encode(lc, dst + o);
		i += len;
	}
	return o;
}

char *
text_lower_str(const char *s)
{
	size_t	 n;
	char	*out;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	out = xmalloc(n + 1);
	out[text_lower_copy(s, n, out)] = '\0';
	return out;
}

static void
text_emit(const char *start, const char *end, struct strv *out)
{
	size_t	 n = (size_t)(end - start);
	char	*w = xmalloc(n + 1);

	w[text_lower_copy(start, n, w)] = '\0';
	strv_take(out, w);
}

/*
 * Every word is a contiguous byte range of the input, so the scan only
 * remembers where the current word started.  ASCII never reaches the
 * decoder or the range table.
 */
void
text_words(const char *text, struct strv *out)
{
	const char	*p = text, *start = NULL;
	unsigned char	 c;
	uint32_t	 cp;
	size_t		 len;
	enum text_class	 cls;

	if (text == NULL)
		return;
	for (;;) {
		c = (unsigned char)*p;
		if (c < 0x80) {
			if (c != 0 && text_ascii_word(c)) {
				if (start == NULL)
					start = p;
				p++;
				continue;
			}
			if (start != NULL) {
				text_emit(start, p, out);
				start = NULL;
			}
			if (c == 0)
				break;
			p++;
			continue;
		}
		len = utf8_decode(p, 4, &cp);
		cls = len == 0 ? TEXT_SEP : text_class(cp);
		if (len == 0)
			len = 1;
		if (cls == TEXT_WORD) {
			if (start == NULL)
				start = p;
		} else {
			if (start != NULL)
				text_emit(start, p, out);
			start = NULL;
			if (cls == TEXT_SINGLE)
				text_emit(p, p + len, out);
		}
		p += len;
	}
}

/*
 * The byte at max is the first one left out; if it continues a sequence
 * that began before max, cut where that sequence began instead.
 */
size_t
utf8_prefix(const char *s, size_t max)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 n = strnlen(s, max + 1), i, need;

	if (n <= max)
		return n;
	if ((u[max] & 0xC0) != 0x80)
		return max;
	for (i = 1; i <= 3 && i <= max; i++) {
		if ((u[max - i] & 0xC0) == 0x80)
			continue;
		if (u[max - i] >= 0xF0)
			need = 4;
		else if (u[max - i] >= 0xE0)
			need = 3;
		else if (u[max - i] >= 0xC0)
			need = 2;
		else
			need = 1;
		return need > i ? max - i : max;
	}
	return max;
}

/* Length of the code point at s, counting an invalid byte as one. */
static size_t
text_char_len(const char *s)
{
	uint32_t	cp;
	size_t		len = utf8_decode(s, 4, &cp);

	return len == 0 ? 1 : len;
}

char *
text_truncate(const char *s, size_t max_chars)
{
	static const char	 ellipsis[] = "\xe2\x80\xa6";
	size_t			 chars = 0, keep = 0, off = 0;
	char			*out;

	if (s == NULL)
		return NULL;
	while (s[off] != '\0') {
		if (chars == max_chars)
			break;
		/* Where to cut if it turns out we must: room for "…". */
		if (chars + 1 == max_chars)
			keep = off;
		off += text_char_len(s + off);
		chars++;
	}
	if (s[off] == '\0')
		return xstrdup(s);
	if (max_chars == 0)
		return xstrdup("");
	out = xmalloc(keep + sizeof(ellipsis));
	memcpy(out, s, keep);
	memcpy(out + keep, ellipsis, sizeof(ellipsis));
	return out;
}

size_t
text_chars(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	}
	return n;
}

/* C1 controls too: some UTF-8 terminals obey them as escapes. */
int
text_control(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0);
}
