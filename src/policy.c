/*
 * A team's rules for speaking in public: who may act, how each network
 * counts a reply's length, and the code of conduct a reply must pass.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy.h"
#include "text.h"

/* Mastodon counts every URL as this many characters, however long. */
#define POLICY_MASTODON_URL	23

struct policy_range {
	uint32_t	lo, hi;
};

/*
 * Code points that never start a grapheme cluster (UAX #29 Extend and
 * SpacingMark): the combining marks of the common scripts, ZWNJ,
 * variation selectors, emoji skin-tone modifiers and emoji tags.  Not
 * the whole Unicode table, but what real posts contain.
 */
static const struct policy_range policy_extend[] = {
	{ 0x0300, 0x036F },	/* combining diacritical marks */
	{ 0x0483, 0x0489 },	/* Cyrillic */
	{ 0x0591, 0x05BD }, { 0x05BF, 0x05BF }, { 0x05C1, 0x05C2 },
	{ 0x05C4, 0x05C5 }, { 0x05C7, 0x05C7 },	/* Hebrew */
	{ 0x0610, 0x061A }, { 0x064B, 0x065F }, { 0x0670, 0x0670 },
	{ 0x06D6, 0x06DC }, { 0x06DF, 0x06E4 }, { 0x06E7, 0x06E8 },
	{ 0x06EA, 0x06ED },	/* Arabic */
	{ 0x0711, 0x0711 }, { 0x0730, 0x074A },	/* Syriac */
	{ 0x07A6, 0x07B0 }, { 0x07EB, 0x07F3 },
	{ 0x0816, 0x082D }, { 0x0859, 0x085B }, { 0x0898, 0x089F },
	{ 0x08CA, 0x08E1 }, { 0x08E3, 0x0903 },	/* ... Devanagari */
	{ 0x093A, 0x093C }, { 0x093E, 0x094F }, { 0x0951, 0x0957 },
	{ 0x0962, 0x0963 },
	{ 0x0981, 0x0983 }, { 0x09BC, 0x09BC }, { 0x09BE, 0x09C4 },
	{ 0x09C7, 0x09C8 }, { 0x09CB, 0x09CD }, { 0x09D7, 0x09D7 },
	{ 0x09E2, 0x09E3 }, { 0x09FE, 0x09FE },	/* Bengali */
	{ 0x0A01, 0x0A03 }, { 0x0A3C, 0x0A3C }, { 0x0A3E, 0x0A42 },
	{ 0x0A47, 0x0A48 }, { 0x0A4B, 0x0A4D }, { 0x0A51, 0x0A51 },
	{ 0x0A70, 0x0A71 }, { 0x0A75, 0x0A75 },	/* Gurmukhi */
	{ 0x0A81, 0x0A83 }, { 0x0ABC, 0x0ABC }, { 0x0ABE, 0x0AC5 },
	{ 0x0AC7, 0x0AC9 }, { 0x0ACB, 0x0ACD }, { 0x0AE2, 0x0AE3 },
	{ 0x0AFA, 0x0AFF },	/* Gujarati */
	{ 0x0B01, 0x0B03 }, { 0x0B3C, 0x0B3C }, { 0x0B3E, 0x0B44 },
	{ 0x0B47, 0x0B48 }, { 0x0B4B, 0x0B4D }, { 0x0B55, 0x0B57 },
	{ 0x0B62, 0x0B63 },	/* Oriya */
	{ 0x0B82, 0x0B82 }, { 0x0BBE, 0x0BC2 }, { 0x0BC6, 0x0BC8 },
	{ 0x0BCA, 0x0BCD }, { 0x0BD7, 0x0BD7 },	/* Tamil */
	{ 0x0C00, 0x0C04 }, { 0x0C3C, 0x0C3C }, { 0x0C3E, 0x0C44 },
	{ 0x0C46, 0x0C48 }, { 0x0C4A, 0x0C4D }, { 0x0C55, 0x0C56 },
	{ 0x0C62, 0x0C63 },	/* Telugu */
	{ 0x0C81, 0x0C83 }, { 0x0CBC, 0x0CBC }, { 0x0CBE, 0x0CC4 },
	{ 0x0CC6, 0x0CC8 }, { 0x0CCA, 0x0CCD }, { 0x0CD5, 0x0CD6 },
	{ 0x0CE2, 0x0CE3 },	/* Kannada */
	{ 0x0D00, 0x0D03 }, { 0x0D3B, 0x0D3C }, { 0x0D3E, 0x0D44 },
	{ 0x0D46, 0x0D48 }, { 0x0D4A, 0x0D4D }, { 0x0D57, 0x0D57 },
	{ 0x0D62, 0x0D63 },	/* Malayalam */
	{ 0x0D81, 0x0D83 }, { 0x0DCA, 0x0DCA }, { 0x0DCF, 0x0DD4 },
	{ 0x0DD6, 0x0DD6 }, { 0x0DD8, 0x0DDF }, { 0x0DF2, 0x0DF3 },
	{ 0x0E31, 0x0E31 }, { 0x0E33, 0x0E3A },	/* Thai */
	{ 0x0E47, 0x0E4E },
	{ 0x0EB1, 0x0EB1 }, { 0x0EB3, 0x0EBC },	/* Lao */
	{ 0x0EC8, 0x0ECE },
	{ 0x0F18, 0x0F19 }, { 0x0F35, 0x0F35 }, { 0x0F37, 0x0F37 },
	{ 0x0F39, 0x0F39 }, { 0x0F3E, 0x0F3F }, { 0x0F71, 0x0F84 },
	{ 0x0F86, 0x0F87 }, { 0x0F8D, 0x0FBC }, { 0x0FC6, 0x0FC6 },
	{ 0x102B, 0x103E }, { 0x1056, 0x1059 }, { 0x105E, 0x1060 },
	{ 0x1062, 0x1064 }, { 0x1067, 0x106D }, { 0x1071, 0x1074 },
	{ 0x1082, 0x108D }, { 0x108F, 0x108F }, { 0x109A, 0x109D },
	{ 0x135D, 0x135F },	/* Ethiopic */
	{ 0x1712, 0x1715 }, { 0x1732, 0x1734 }, { 0x1752, 0x1753 },
	{ 0x1772, 0x1773 }, { 0x17B4, 0x17D3 }, { 0x17DD, 0x17DD },
	{ 0x180B, 0x180D }, { 0x180F, 0x180F }, { 0x1885, 0x1886 },
	{ 0x18A9, 0x18A9 }, { 0x1920, 0x193B }, { 0x1A17, 0x1A1B },
	{ 0x1A55, 0x1A7F }, { 0x1AB0, 0x1ACE }, { 0x1B00, 0x1B04 },
	{ 0x1B34, 0x1B44 }, { 0x1B6B, 0x1B73 }, { 0x1B80, 0x1B82 },
	{ 0x1BA1, 0x1BAD }, { 0x1BE6, 0x1BF3 }, { 0x1C24, 0x1C37 },
	{ 0x1CD0, 0x1CD2 }, { 0x1CD4, 0x1CE8 }, { 0x1CED, 0x1CED },
	{ 0x1CF4, 0x1CF4 }, { 0x1CF7, 0x1CF9 }, { 0x1DC0, 0x1DFF },
	{ 0x200C, 0x200C },	/* zero width non-joiner */
	{ 0x20D0, 0x20F0 },	/* marks for symbols, keycap U+20E3 */
	{ 0x2CEF, 0x2CF1 }, { 0x2D7F, 0x2D7F }, { 0x2DE0, 0x2DFF },
	{ 0x302A, 0x302F }, { 0x3099, 0x309A },	/* kana voicing */
	{ 0xA66F, 0xA672 }, { 0xA674, 0xA67D }, { 0xA69E, 0xA69F },
	{ 0xA6F0, 0xA6F1 }, { 0xA802, 0xA802 }, { 0xA806, 0xA806 },
	{ 0xA80B, 0xA80B }, { 0xA823, 0xA827 }, { 0xA82C, 0xA82C },
	{ 0xA880, 0xA881 }, { 0xA8B4, 0xA8C5 }, { 0xA8E0, 0xA8F1 },
	{ 0xA8FF, 0xA8FF }, { 0xA926, 0xA92D }, { 0xA947, 0xA953 },
	{ 0xA980, 0xA983 }, { 0xA9B3, 0xA9C0 }, { 0xA9E5, 0xA9E5 },
	{ 0xAA29, 0xAA36 }, { 0xAA43, 0xAA43 }, { 0xAA4C, 0xAA4D },
	{ 0xAA7B, 0xAA7D }, { 0xAAB0, 0xAAB0 }, { 0xAAB2, 0xAAB4 },
	{ 0xAAB7, 0xAAB8 }, { 0xAABE, 0xAABF }, { 0xAAC1, 0xAAC1 },
	{ 0xAAEB, 0xAAEF }, { 0xAAF5, 0xAAF6 }, { 0xABE3, 0xABEA },
	{ 0xABEC, 0xABED }, { 0xFB1E, 0xFB1E },
	{ 0xFE00, 0xFE0F },	/* variation selectors */
	{ 0xFE20, 0xFE2F }, { 0xFF9E, 0xFF9F },
	{ 0x1F3FB, 0x1F3FF },	/* emoji skin tones */
	{ 0xE0020, 0xE007F },	/* tags (subdivision flags) */
	{ 0xE0100, 0xE01EF },	/* variation selectors supplement */
};

/* Extended_Pictographic, the emoji that ZWJ sequences join. */
static const struct policy_range policy_pictographic[] = {
	{ 0x00A9, 0x00A9 }, { 0x00AE, 0x00AE }, { 0x203C, 0x203C },
	{ 0x2049, 0x2049 }, { 0x2122, 0x2122 }, { 0x2139, 0x2139 },
	{ 0x2194, 0x2199 }, { 0x21A9, 0x21AA }, { 0x231A, 0x231B },
	{ 0x2328, 0x2328 }, { 0x2388, 0x2388 }, { 0x23CF, 0x23CF },
	{ 0x23E9, 0x23F3 }, { 0x23F8, 0x23FA }, { 0x24C2, 0x24C2 },
	{ 0x25AA, 0x25AB }, { 0x25B6, 0x25B6 }, { 0x25C0, 0x25C0 },
	{ 0x25FB, 0x25FE }, { 0x2600, 0x2605 }, { 0x2607, 0x2612 },
	{ 0x2614, 0x2685 }, { 0x2690, 0x2705 }, { 0x2708, 0x2712 },
	{ 0x2714, 0x2714 }, { 0x2716, 0x2716 }, { 0x271D, 0x271D },
	{ 0x2721, 0x2721 }, { 0x2728, 0x2728 }, { 0x2733, 0x2734 },
	{ 0x2744, 0x2744 }, { 0x2747, 0x2747 }, { 0x274C, 0x274C },
	{ 0x274E, 0x274E }, { 0x2753, 0x2755 }, { 0x2757, 0x2757 },
	{ 0x2763, 0x2767 }, { 0x2795, 0x2797 }, { 0x27A1, 0x27A1 },
	{ 0x27B0, 0x27B0 }, { 0x27BF, 0x27BF }, { 0x2934, 0x2935 },
	{ 0x2B05, 0x2B07 }, { 0x2B1B, 0x2B1C }, { 0x2B50, 0x2B50 },
	{ 0x2B55, 0x2B55 }, { 0x3030, 0x3030 }, { 0x303D, 0x303D },
	{ 0x3297, 0x3297 }, { 0x3299, 0x3299 },
	{ 0x1F000, 0x1F0FF }, { 0x1F10D, 0x1F10F }, { 0x1F12F, 0x1F12F },
	{ 0x1F16C, 0x1F171 }, { 0x1F17E, 0x1F17F }, { 0x1F18E, 0x1F18E },
	{ 0x1F191, 0x1F19A }, { 0x1F1AD, 0x1F1E5 }, { 0x1F201, 0x1F20F },
	{ 0x1F21A, 0x1F21A }, { 0x1F22F, 0x1F22F }, { 0x1F232, 0x1F23A },
	{ 0x1F23C, 0x1F23F }, { 0x1F249, 0x1F3FA }, { 0x1F400, 0x1F53D },
	{ 0x1F546, 0x1F64F }, { 0x1F680, 0x1F6FF }, { 0x1F774, 0x1F77F },
	{ 0x1F7D5, 0x1F7FF }, { 0x1F80C, 0x1F80F }, { 0x1F848, 0x1F84F },
	{ 0x1F85A, 0x1F85F }, { 0x1F888, 0x1F88F }, { 0x1F8AE, 0x1F8FF },
	{ 0x1F90C, 0x1F93A }, { 0x1F93C, 0x1F945 }, { 0x1F947, 0x1FAFF },
	{ 0x1FC00, 0x1FFFD },
};

/* White space around a reply, including the invisible kinds. */
static const struct policy_range policy_space[] = {
	{ 0x0009, 0x000D }, { 0x0020, 0x0020 }, { 0x0085, 0x0085 },
	{ 0x00A0, 0x00A0 }, { 0x1680, 0x1680 }, { 0x2000, 0x200B },
	{ 0x2028, 0x2029 }, { 0x202F, 0x202F }, { 0x205F, 0x2060 },
	{ 0x3000, 0x3000 }, { 0xFEFF, 0xFEFF },
};

/* How a code point takes part in grapheme clusters. */
enum policy_gcb {
	POLICY_GCB_OTHER,
	POLICY_GCB_CR,
	POLICY_GCB_LF,
	POLICY_GCB_CONTROL,
	POLICY_GCB_EXTEND,
	POLICY_GCB_ZWJ,
	POLICY_GCB_RI,		/* regional indicator: flags come in pairs */
	POLICY_GCB_PICT,	/* Extended_Pictographic */
	POLICY_GCB_L,		/* Hangul leading jamo */
	POLICY_GCB_V,		/* ... vowel */
	POLICY_GCB_T,		/* ... trailing */
	POLICY_GCB_LV,		/* Hangul syllable without a trailing jamo */
	POLICY_GCB_LVT
};

static int
policy_in(const struct policy_range *r, size_t n, uint32_t cp)
{
	size_t	lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (cp < r[mid].lo)
			hi = mid;
		else if (cp > r[mid].hi)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

static enum policy_gcb
policy_gcb_hangul(uint32_t cp)
{
	if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0xA960 && cp <= 0xA97C))
		return POLICY_GCB_L;
	if ((cp >= 0x1160 && cp <= 0x11A7) || (cp >= 0xD7B0 && cp <= 0xD7C6))
		return POLICY_GCB_V;
	if ((cp >= 0x11A8 && cp <= 0x11FF) || (cp >= 0xD7CB && cp <= 0xD7FB))
		return POLICY_GCB_T;
	if (cp >= 0xAC00 && cp <= 0xD7A3)
		return (cp - 0xAC00) % 28 == 0 ? POLICY_GCB_LV :
		    POLICY_GCB_LVT;
	return POLICY_GCB_OTHER;
}

static enum policy_gcb
policy_gcb(uint32_t cp)
{
	if (cp == '\r')
		return POLICY_GCB_CR;
	if (cp == '\n')
		return POLICY_GCB_LF;
	if (cp < 0x7F)
		return cp < 0x20 ? POLICY_GCB_CONTROL : POLICY_GCB_OTHER;
	if (text_control(cp) || cp == 0x200B || cp == 0x2028 ||
	    cp == 0x2029 || cp == 0xFEFF)
		return POLICY_GCB_CONTROL;
	if (cp == 0x200D)
		return POLICY_GCB_ZWJ;
	if (cp >= 0x1F1E6 && cp <= 0x1F1FF)
		return POLICY_GCB_RI;
	if (policy_in(policy_extend, nitems(policy_extend), cp))
		return POLICY_GCB_EXTEND;
	if (policy_in(policy_pictographic, nitems(policy_pictographic), cp))
		return POLICY_GCB_PICT;
	return policy_gcb_hangul(cp);
}

/* The state a grapheme break decision needs beyond the two neighbours. */
struct policy_gstate {
	enum policy_gcb	prev;
	int		pict;		/* a pictograph, then only Extend */
	int		pict_zwj;	/* ... then a ZWJ: joins the next one */
	size_t		ris;		/* regional indicators just before */
};

/* Whether Hangul jamo prev and cur stay one syllable (GB6-GB8). */
static int
policy_hangul_joins(enum policy_gcb prev, enum policy_gcb cur)
{
	switch (prev) {
	case POLICY_GCB_L:
		return cur == POLICY_GCB_L || cur == POLICY_GCB_V ||
		    cur == POLICY_GCB_LV || cur == POLICY_GCB_LVT;
	case POLICY_GCB_LV:
	case POLICY_GCB_V:
		return cur == POLICY_GCB_V || cur == POLICY_GCB_T;
	case POLICY_GCB_LVT:
	case POLICY_GCB_T:
		return cur == POLICY_GCB_T;
	default:
		return 0;
	}
}

/* UAX #29's rules GB3 to GB13, in their order of precedence. */
static int
policy_breaks(const struct policy_gstate *st, enum policy_gcb cur)
{
	enum policy_gcb	prev = st->prev;

	if (prev == POLICY_GCB_CR && cur == POLICY_GCB_LF)
		return 0;
	if (prev == POLICY_GCB_CR || prev == POLICY_GCB_LF ||
	    prev == POLICY_GCB_CONTROL)
		return 1;
	if (cur == POLICY_GCB_CR || cur == POLICY_GCB_LF ||
	    cur == POLICY_GCB_CONTROL)
		return 1;
	if (policy_hangul_joins(prev, cur))
		return 0;
	if (cur == POLICY_GCB_EXTEND || cur == POLICY_GCB_ZWJ)
		return 0;
	if (prev == POLICY_GCB_ZWJ && st->pict_zwj && cur == POLICY_GCB_PICT)
		return 0;
	if (prev == POLICY_GCB_RI && cur == POLICY_GCB_RI)
		return st->ris % 2 == 0;
	return 1;
}

static void
policy_gstate_next(struct policy_gstate *st, enum policy_gcb cur)
{
	/* st->pict still says whether "ExtPict Extend*" ends before cur. */
	st->pict_zwj = cur == POLICY_GCB_ZWJ && st->pict;
	if (cur == POLICY_GCB_PICT)
		st->pict = 1;
	else if (cur != POLICY_GCB_EXTEND)
		st->pict = 0;
	st->ris = cur == POLICY_GCB_RI ? st->ris + 1 : 0;
	st->prev = cur;
}

/* Extended grapheme clusters; an invalid byte is a cluster of its own. */
static size_t
policy_graphemes(const char *s)
{
	struct policy_gstate	 st;
	enum policy_gcb		 cur;
	uint32_t		 cp;
	size_t			 n = 0, len, left = strlen(s);

	memset(&st, 0, sizeof(st));
	st.prev = POLICY_GCB_CONTROL;	/* a break before the first */
	while (left > 0) {
		len = utf8_decode(s, left, &cp);
		if (len == 0) {
			len = 1;
			cur = POLICY_GCB_CONTROL;
		} else
			cur = policy_gcb(cp);
		if (policy_breaks(&st, cur))
			n++;
		policy_gstate_next(&st, cur);
		s += len;
		left -= len;
	}
	return n;
}

/* Code points, counting each byte of an invalid sequence as one. */
static size_t
policy_code_points(const char *s, size_t len)
{
	uint32_t	cp;
	size_t		n = 0, step;

	while (len > 0) {
		step = utf8_decode(s, len, &cp);
		if (step == 0)
			step = 1;
		s += step;
		len -= step;
		n++;
	}
	return n;
}

static int
policy_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* Where a URL's run of characters ends: white space or a control. */
static size_t
policy_run(const char *s)
{
	uint32_t	cp;
	size_t		n = 0, len;

	while (s[n] != '\0') {
		len = utf8_decode(s + n, 4, &cp);
		if (len == 0)
			break;
		if (text_control(cp) || cp == ' ' || cp == '<' || cp == '>' ||
		    cp == '"' || policy_in(policy_space,
		    nitems(policy_space), cp))
			break;
		n += len;
	}
	return n;
}

/*
 * Punctuation that ends a sentence rather than the URL: "see
 * https://acme.example/help." links to /help.  A ')' stays when the URL
 * opened one (Wikipedia's links).
 */
static size_t
policy_trim_url(const char *s, size_t n)
{
	size_t	opens = 0, closes = 0, i;

	for (i = 0; i < n; i++)
		if (s[i] == '(')
			opens++;
		else if (s[i] == ')')
			closes++;
	while (n > 0 && strchr(".,;:!?'*)]}", s[n - 1]) != NULL) {
		if (s[n - 1] == ')') {
			if (closes <= opens)
				break;
			closes--;
		}
		n--;
	}
	return n;
}

/* A link found in a reply: where it is and the host it points to. */
struct policy_link {
	size_t	 off, len;	/* the URL's bytes in the text */
	char	*host;		/* lower-case; caller frees */
};

static size_t
policy_scheme(const char *s)
{
	if (strncasecmp(s, "https://", 8) == 0)
		return 8;
	if (strncasecmp(s, "http://", 7) == 0)
		return 7;
	return 0;
}

/*
 * The host of a URL's authority (after "scheme://"): the part after any
 * "user@" (where "https://allowed.example@evil.example" really goes)
 * and before a port.  A backslash ends it as '/' would: browsers read
 * it so.
 */
static char *
policy_url_host(const char *auth, size_t n)
{
	const char	*at, *end;
	char		*raw, *host;
	size_t		 len;

	for (len = 0; len < n && strchr("/?#\\", auth[len]) == NULL; len++)
		;
	raw = xstrndup(auth, len);
	at = strrchr(raw, '@');
	host = xstrdup(at != NULL ? at + 1 : raw);
	free(raw);
	if (host[0] == '[') {
		end = strchr(host, ']');
		len = end != NULL ? (size_t)(end - host) + 1 : strlen(host);
	} else
		len = strcspn(host, ":");
	host[len] = '\0';
	/* "acme.example." is the same host as "acme.example". */
	while (len > 0 && host[len - 1] == '.')
		host[--len] = '\0';
	raw = text_lower_str(host);
	free(host);
	return raw;
}

/*
 * The length of the host name at s, which starts with "www.": labels,
 * a dot, and a top-level domain of two or more letters.  0 if none.
 */
static size_t
policy_www_host(const char *s)
{
	size_t	n = 4, dot, i;

	while (policy_alnum((unsigned char)s[n]) || s[n] == '-' ||
	    s[n] == '.')
		n++;
	while (n > 4 && (s[n - 1] == '.' || s[n - 1] == '-'))
		n--;
	for (dot = n; dot > 4 && s[dot - 1] != '.'; dot--)
		;
	/* dot is just after the last '.'; "www." itself does not count. */
	if (dot <= 5 || n - dot < 2)
		return 0;
	for (i = dot; i < n; i++)
		if (!((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z'))
			return 0;
	return n;
}

/*
 * The next link at or after text + from: an http(s):// URL, or a bare
 * "www." domain (which every network turns into a link).  0 if one was
 * found, -1 if not.
 */
static int
policy_next_link(const char *text, size_t from, struct policy_link *l)
{
	const char	*p;
	size_t		 scheme, host, run;

	for (p = text + from; *p != '\0'; p++) {
		if (p > text && policy_alnum((unsigned char)p[-1]))
			continue;
		scheme = policy_scheme(p);
		if (scheme > 0) {
			run = policy_trim_url(p, policy_run(p));
			if (run <= scheme)
				continue;
			l->off = (size_t)(p - text);
			l->len = run;
			l->host = policy_url_host(p + scheme, run - scheme);
			return 0;
		}
		if (strncasecmp(p, "www.", 4) != 0 || (p > text &&
		    strchr("./@-", p[-1]) != NULL))
			continue;
		host = policy_www_host(p);
		if (host == 0)
			continue;
		run = policy_trim_url(p, policy_run(p));
		l->off = (size_t)(p - text);
		l->len = run > host ? run : host;
		l->host = xstrndup(p, host);
		for (run = 0; l->host[run] != '\0'; run++)
			if (l->host[run] >= 'A' && l->host[run] <= 'Z')
				l->host[run] = (char)(l->host[run] - 'A' + 'a');
		return 0;
	}
	return -1;
}

/* Mastodon: code points, but any http(s) URL counts 23. */
static size_t
policy_mastodon_length(const char *text)
{
	struct policy_link	l;
	size_t			n = 0, at = 0;

	while (policy_next_link(text, at, &l) == 0) {
		free(l.host);
		n += policy_code_points(text + at, l.off - at);
		/* Bare "www." names are not links to Mastodon's counter. */
		if (policy_scheme(text + l.off) > 0)
			n += POLICY_MASTODON_URL;
		else
			n += policy_code_points(text + l.off, l.len);
		at = l.off + l.len;
	}
	return n + policy_code_points(text + at, strlen(text + at));
}

size_t
policy_length(const char *network, const char *text)
{
	if (text == NULL)
		return 0;
	if (network != NULL && strcmp(network, "mastodon") == 0)
		return policy_mastodon_length(text);
	if (network != NULL && strcmp(network, "bluesky") == 0)
		return policy_graphemes(text);
	return policy_code_points(text, strlen(text));
}

/*
 * Whether entry has the shape of a Slack user id ("U024BE7LH").  Slack
 * lets people pick a user name like "u024be7lh"; compared without case,
 * it would pass for that id, so such entries only match ids.
 */
static int
policy_slack_id(const char *entry)
{
	size_t	n;

	if (entry[0] != 'U' && entry[0] != 'W')
		return 0;
	for (n = 1; entry[n] != '\0'; n++)
		if (!((entry[n] >= 'A' && entry[n] <= 'Z') ||
		    (entry[n] >= '0' && entry[n] <= '9')))
			return 0;
	return n >= 9;
}

/*
 * Compare a configured name with a chat user's name: '@' dropped from
 * both, case folded as text.c folds words.
 */
static int
policy_name_equal(const char *a, const char *b)
{
	char	*la, *lb;
	int	 eq;

	if (*a == '@')
		a++;
	if (*b == '@')
		b++;
	if (*a == '\0' || *b == '\0' || policy_slack_id(a))
		return 0;
	la = text_lower_str(a);
	lb = text_lower_str(b);
	eq = strcmp(la, lb) == 0;
	free(la);
	free(lb);
	return eq;
}

bool
policy_user_in(const struct strv *list, const char *user_id,
    const char *user_name)
{
	size_t	i;

	if (list == NULL)
		return false;
	for (i = 0; i < list->n; i++) {
		if (strcmp(list->v[i], "*") == 0)
			return true;
		if (user_id != NULL && *user_id != '\0' &&
		    strcmp(list->v[i], user_id) == 0)
			return true;
		if (user_name != NULL &&
		    policy_name_equal(list->v[i], user_name))
			return true;
	}
	return false;
}

bool
policy_allows(const struct config *c, const struct team_conf *t,
    const char *user_id, const char *user_name, enum policy_action action)
{
	const struct reply_conf	*r;

	if (c != NULL && policy_user_in(&c->commands.admins, user_id,
	    user_name))
		return true;
	if (t == NULL || action == POLICY_ADMIN)
		return false;
	r = &t->reply;
	if (policy_user_in(&r->spokespeople, user_id, user_name))
		return true;
	switch (action) {
	case POLICY_MANAGE:
		return policy_user_in(&r->managers, user_id, user_name);
	case POLICY_PUBLISH:
		return policy_user_in(&r->publishers, user_id, user_name);
	case POLICY_DRAFT:
		return policy_user_in(&r->publishers, user_id, user_name) ||
		    policy_user_in(&r->drafters, user_id, user_name);
	default:
		return false;
	}
}

/* The bytes of s after leading and trailing white space; *len set. */
static const char *
policy_trim(const char *s, size_t *len)
{
	const char	*end, *p;
	uint32_t	 cp;
	size_t		 step;

	while (*s != '\0') {
		step = utf8_decode(s, 4, &cp);
		if (step == 0 || !policy_in(policy_space,
		    nitems(policy_space), cp))
			break;
		s += step;
	}
	end = s;
	for (p = s; *p != '\0'; p += step) {
		step = utf8_decode(p, 4, &cp);
		if (step == 0)
			step = 1;
		else if (policy_in(policy_space, nitems(policy_space), cp))
			continue;
		end = p + step;
	}
	*len = (size_t)(end - s);
	return s;
}

static const char *
policy_network_name(const char *type)
{
	if (type == NULL)
		return "the network";
	if (strcmp(type, "mastodon") == 0)
		return "Mastodon";
	if (strcmp(type, "bluesky") == 0)
		return "Bluesky";
	if (strcmp(type, "nostr") == 0)
		return "Nostr";
	return type;
}

/*
 * The first blocked word or phrase in words (the reply's), earliest in
 * the text; NULL if none.  Phrases are matched as runs of whole words,
 * tokenised as the router tokenises keywords.
 */
static const char *
policy_blocked(const struct strv *blocked, const struct strv *words,
    size_t *nwords)
{
	struct strv	 phrase;
	const char	*found = NULL;
	size_t		 i, j, k, best = SIZE_MAX;

	for (i = 0; i < blocked->n; i++) {
		strv_init(&phrase);
		text_words(blocked->v[i], &phrase);
		for (j = 0; phrase.n > 0 && j + phrase.n <= words->n &&
		    j < best; j++) {
			for (k = 0; k < phrase.n; k++)
				if (strcmp(words->v[j + k], phrase.v[k]) != 0)
					break;
			if (k == phrase.n) {
				best = j;
				found = blocked->v[i];
				*nwords = phrase.n;
				break;
			}
		}
		strv_free(&phrase);
	}
	return found;
}

/* Whether host is one of domains or a subdomain of one. */
static int
policy_domain_allowed(const struct strv *domains, const char *host)
{
	size_t	i, hl = strlen(host), dl;

	for (i = 0; i < domains->n; i++) {
		dl = strlen(domains->v[i]);
		if (strcmp(host, domains->v[i]) == 0)
			return 1;
		if (hl > dl && host[hl - dl - 1] == '.' &&
		    strcmp(host + hl - dl, domains->v[i]) == 0)
			return 1;
	}
	return 0;
}

/* The first link to a domain not allowed, as a cause; NULL if none. */
static char *
policy_check_links(const struct reply_conf *r, const char *text)
{
	struct policy_link	 l;
	struct buf		 allowed;
	char			*cause = NULL;
	size_t			 at = 0, i;

	while (cause == NULL && policy_next_link(text, at, &l) == 0) {
		at = l.off + l.len;
		if (l.host[0] != '\0' &&
		    policy_domain_allowed(&r->allowed_domains, l.host)) {
			free(l.host);
			continue;
		}
		/* "https://@/" has no host: quote the link itself. */
		if (l.host[0] == '\0') {
			free(l.host);
			l.host = xstrndup(text + l.off, l.len);
		}
		if (r->allowed_domains.n == 0)
			cause = xasprintf("links to \"%s\": this team's "
			    "replies may not contain links", l.host);
		else {
			buf_init(&allowed);
			for (i = 0; i < r->allowed_domains.n; i++)
				buf_printf(&allowed, "%s%s", i > 0 ? ", " : "",
				    r->allowed_domains.v[i]);
			cause = xasprintf("links to \"%s\", which is not an "
			    "allowed domain (allowed: %s)", l.host,
			    allowed.data);
			buf_free(&allowed);
		}
		free(l.host);
	}
	return cause;
}

/* Whether the trimmed text ends with the (trimmed) sign-off. */
static int
policy_signed(const char *sign_off, const char *body, size_t len)
{
	const char	*so;
	size_t		 sl;

	so = policy_trim(sign_off, &sl);
	if (sl == 0)
		return 1;
	return len >= sl && memcmp(body + len - sl, so, sl) == 0;
}

int
policy_check(const struct reply_conf *r, const struct account_conf *a,
    const char *text, char **cause)
{
	struct strv	 words;
	const char	*body, *word;
	size_t		 len, n;

	*cause = NULL;
	body = text == NULL ? "" : policy_trim(text, &len);
	if (text == NULL || len == 0) {
		*cause = xstrdup("the reply is empty");
		return -1;
	}
	if (a != NULL) {
		n = policy_length(a->type, text);
		if (n > a->max_length) {
			*cause = xasprintf("too long: %zu characters; %s "
			    "allows %zu", n, policy_network_name(a->type),
			    a->max_length);
			return -1;
		}
	}
	if (r == NULL)
		return 0;
	strv_init(&words);
	text_words(text, &words);
	word = policy_blocked(&r->blocked_words, &words, &n);
	strv_free(&words);
	if (word != NULL) {
		*cause = xasprintf("contains the blocked %s \"%s\"",
		    n > 1 ? "phrase" : "word", word);
		return -1;
	}
	if (r->links_restricted) {
		*cause = policy_check_links(r, text);
		if (*cause != NULL)
			return -1;
	}
	if (r->sign_off != NULL && !policy_signed(r->sign_off, body, len)) {
		*cause = xasprintf("does not end with the sign-off \"%s\"",
		    r->sign_off);
		return -1;
	}
	return 0;
}

bool
policy_private(const struct reply_conf *r, const char *rule)
{
	const char	*name;
	size_t		 i;

	if (r == NULL || rule == NULL)
		return false;
	name = strrchr(rule, '/');
	name = name != NULL ? name + 1 : rule;
	if (*name == '\0')
		return false;
	for (i = 0; i < r->private_rules.n; i++)
		if (strcmp(r->private_rules.v[i], name) == 0)
			return true;
	return false;
}
