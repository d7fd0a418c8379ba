/* Mastodon status HTML read as plain text and as the links it carries. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mastodon.h"
#include "text.h"

/* Longest tag name we act on ("blockquote"); longer ones are dropped. */
#define MASTODON_HTML_NAME	12

/* Numeric entities: enough digits for U+10FFFF, with leading zeros. */
#define MASTODON_HTML_DIGITS	8

/* A piece of the input, not NUL-terminated. */
struct mastodon_html_span {
	const char	*s;
	size_t		 n;
};

/* One tag: its lower-cased name and the attributes we read. */
struct mastodon_html_tag {
	char				name[MASTODON_HTML_NAME + 1];
	bool				closing;
	struct mastodon_html_span	href;
	struct mastodon_html_span	class;
	struct mastodon_html_span	rel;
};

/* What an <a> is: Mastodon marks mentions and hashtags by class. */
enum mastodon_html_link {
	MASTODON_HTML_LINK_TEXT,	/* no usable href: show its text */
	MASTODON_HTML_LINK_URL,		/* shown as its href */
	MASTODON_HTML_LINK_MENTION,	/* @acct */
	MASTODON_HTML_LINK_HASHTAG	/* #tag */
};

/* Where mastodon_html_text is in its input. */
struct mastodon_html_state {
	struct buf	 out;
	unsigned	 breaks;	/* newlines owed before the next text */
	bool		 in_link;	/* inside an <a> */
	bool		 hide;		/* in a URL link, shown as its href */
	char		 sigil;		/* '@' or '#' to start the link */
	size_t		 link_start;	/* where its text began, or SIZE_MAX */
};

static bool
mastodon_html_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static bool
mastodon_html_alpha(char c)
{
	return (unsigned)(((unsigned char)c | 0x20) - 'a') < 26;
}

static bool
mastodon_html_digit(char c)
{
	return (unsigned)((unsigned char)c - '0') < 10;
}

/* Whether span equals the lower-case ASCII word, ignoring case. */
static bool
mastodon_html_span_is(const struct mastodon_html_span *sp, const char *word)
{
	size_t	i;

	if (sp->n != strlen(word))
		return false;
	for (i = 0; i < sp->n; i++) {
		if (((unsigned char)sp->s[i] | 0x20) != (unsigned char)word[i])
			return false;
	}
	return true;
}

/* Whether a space-separated attribute such as class holds token. */
static bool
mastodon_html_has_token(const struct mastodon_html_span *sp,
    const char *token)
{
	struct mastodon_html_span	t;
	size_t				i = 0, j;

	while (i < sp->n) {
		while (i < sp->n && mastodon_html_space(sp->s[i]))
			i++;
		for (j = i; j < sp->n && !mastodon_html_space(sp->s[j]); j++)
			continue;
		t.s = sp->s + i;
		t.n = j - i;
		if (t.n > 0 && mastodon_html_span_is(&t, token))
			return true;
		i = j;
	}
	return false;
}

static bool
mastodon_html_prefix(const struct mastodon_html_span *sp, const char *word)
{
	struct mastodon_html_span	t = { sp->s, strlen(word) };

	return sp->n >= t.n && mastodon_html_span_is(&t, word);
}

/*
 * The entity at s (which starts with '&'), appended to out as UTF-8.
 * Returns the bytes it took, or 0 if it is not one we decode, and then
 * the '&' stays as it is.  Code points that are not characters, and
 * controls other than tab and newline, are not decoded either: nothing
 * a status writes may put a NUL or a terminal escape into a chat.
 */
static size_t
mastodon_html_entity(const char *s, struct buf *out)
{
	static const struct {
		const char	*name;
		const char	*utf8;
	} named[] = {
		{ "amp", "&" }, { "lt", "<" }, { "gt", ">" },
		{ "quot", "\"" }, { "apos", "'" }, { "nbsp", "\xc2\xa0" }
	};
	const char	*p = s + 1;
	char		 enc[4];
	uint32_t	 cp = 0;
	size_t		 i, n;
	bool		 hex;

	if (*p != '#') {
		for (i = 0; i < nitems(named); i++) {
			n = strlen(named[i].name);
			if (strncmp(p, named[i].name, n) == 0 && p[n] == ';') {
				buf_adds(out, named[i].utf8);
				return n + 2;
			}
		}
		return 0;
	}
	p++;
	hex = *p == 'x' || *p == 'X';
	if (hex)
		p++;
	for (n = 0; n < MASTODON_HTML_DIGITS; n++, p++) {
		if (mastodon_html_digit(*p))
			cp = cp * (hex ? 16 : 10) + (uint32_t)(*p - '0');
		else if (hex && (unsigned)((*p | 0x20) - 'a') < 6)
			cp = cp * 16 + (uint32_t)((*p | 0x20) - 'a' + 10);
		else
			break;
	}
	if (n == 0 || *p != ';' || cp == 0 || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff) ||
	    (text_control(cp) && cp != '\t' && cp != '\n'))
		return 0;
	buf_add(out, enc, utf8_encode(cp, enc));
	return (size_t)(p + 1 - s);
}

/* n bytes of text at s with their entities decoded, appended to out. */
static void
mastodon_html_decode(const char *s, size_t n, struct buf *out)
{
	const char	*end = s + n, *amp;
	size_t		 used;

	while (s < end) {
		amp = memchr(s, '&', (size_t)(end - s));
		if (amp == NULL) {
			buf_add(out, s, (size_t)(end - s));
			return;
		}
		buf_add(out, s, (size_t)(amp - s));
		/* The entity must end inside the span. */
		used = 0;
		if (memchr(amp, ';', (size_t)(end - amp)) != NULL)
			used = mastodon_html_entity(amp, out);
		if (used == 0) {
			buf_addc(out, '&');
			used = 1;
		}
		s = amp + used;
	}
}

/*
 * Whether the '<' at s opens markup (a tag, an end tag, a comment or a
 * declaration) rather than being a literal '<' in the text.
 */
static bool
mastodon_html_markup(const char *s)
{
	return mastodon_html_alpha(s[1]) || s[1] == '!' || s[1] == '?' ||
	    (s[1] == '/' && mastodon_html_alpha(s[2]));
}

/* Past a comment or declaration starting at s; at the end if unclosed. */
static const char *
mastodon_html_skip_decl(const char *s)
{
	const char	*e;

	if (strncmp(s, "<!--", 4) == 0) {
		e = strstr(s + 4, "-->");
		return e != NULL ? e + 3 : s + strlen(s);
	}
	e = strchr(s, '>');
	return e != NULL ? e + 1 : s + strlen(s);
}

/*
 * One attribute at s: its name and value (the value's quotes taken
 * off), the three we use kept in tag.  Returns where it ends.  s is
 * not a space, '/', '>' or NUL, so each call moves forward.
 */
static const char *
mastodon_html_attr(const char *s, struct mastodon_html_tag *tag)
{
	struct mastodon_html_span	name, value = { "", 0 };
	char				quote;

	name.s = s;
	do
		s++;
	while (*s != '\0' && !mastodon_html_space(*s) && *s != '=' &&
	    *s != '>' && *s != '/');
	name.n = (size_t)(s - name.s);
	while (mastodon_html_space(*s))
		s++;
	if (*s == '=') {
		s++;
		while (mastodon_html_space(*s))
			s++;
		if (*s == '"' || *s == '\'') {
			quote = *s++;
			value.s = s;
			while (*s != '\0' && *s != quote)
				s++;
			value.n = (size_t)(s - value.s);
			if (*s != '\0')
				s++;
		} else {
			value.s = s;
			while (*s != '\0' && !mastodon_html_space(*s) &&
			    *s != '>')
				s++;
			value.n = (size_t)(s - value.s);
		}
	}
	if (mastodon_html_span_is(&name, "href"))
		tag->href = value;
	else if (mastodon_html_span_is(&name, "class"))
		tag->class = value;
	else if (mastodon_html_span_is(&name, "rel"))
		tag->rel = value;
	return s;
}

/*
 * The tag whose '<' is at s (mastodon_html_markup said so, and it is
 * not a comment).  Returns where it ends.  A tag the input ends in
 * before its '>' runs to the end and is dropped, as in a browser: its
 * name is left empty.
 */
static const char *
mastodon_html_tag(const char *s, struct mastodon_html_tag *tag)
{
	size_t	n = 0;

	memset(tag, 0, sizeof(*tag));
	s++;
	if (*s == '/') {
		tag->closing = true;
		s++;
	}
	for (; *s != '\0' && !mastodon_html_space(*s) && *s != '/' &&
	    *s != '>'; s++, n++) {
		if (n < MASTODON_HTML_NAME)
			tag->name[n] = (char)(*s | (mastodon_html_alpha(*s) ?
			    0x20 : 0));
	}
	if (n > MASTODON_HTML_NAME)
		tag->name[0] = '\0';
	else
		tag->name[n] = '\0';
	while (*s != '\0' && *s != '>') {
		if (mastodon_html_space(*s) || *s == '/')
			s++;
		else
			s = mastodon_html_attr(s, tag);
	}
	if (*s != '>') {
		tag->name[0] = '\0';
		return s;
	}
	return s + 1;
}

static bool
mastodon_html_is(const struct mastodon_html_tag *tag, const char *name)
{
	return strcmp(tag->name, name) == 0;
}

/*
 * Block elements other than <p> end a line.  Mastodon itself only
 * sends <p> and <br>, but statuses from other servers (and Mastodon's
 * newer formatting) may carry lists, quotes and headings.
 */
static bool
mastodon_html_is_block(const struct mastodon_html_tag *tag)
{
	static const char *const blocks[] = {
		"div", "li", "ul", "ol", "blockquote", "pre", "h1", "h2",
		"h3", "h4", "h5", "h6", "tr"
	};
	size_t	i;

	for (i = 0; i < nitems(blocks); i++) {
		if (mastodon_html_is(tag, blocks[i]))
			return true;
	}
	return false;
}

static enum mastodon_html_link
mastodon_html_link_kind(const struct mastodon_html_tag *tag)
{
	if (mastodon_html_has_token(&tag->class, "hashtag") ||
	    mastodon_html_has_token(&tag->rel, "tag"))
		return MASTODON_HTML_LINK_HASHTAG;
	if (mastodon_html_has_token(&tag->class, "mention"))
		return MASTODON_HTML_LINK_MENTION;
	if (mastodon_html_prefix(&tag->href, "https://") ||
	    mastodon_html_prefix(&tag->href, "http://"))
		return MASTODON_HTML_LINK_URL;
	return MASTODON_HTML_LINK_TEXT;
}

/*
 * Text is about to be written: pay the newlines owed, except at the
 * very start.  A run of white space between blocks is layout, not
 * text, so it does not count as text here.
 */
static bool
mastodon_html_begin_text(struct mastodon_html_state *st, const char *s,
    size_t n)
{
	size_t	i;

	if (st->hide || n == 0)
		return false;
	if (st->breaks > 0 || st->out.len == 0) {
		for (i = 0; i < n && mastodon_html_space(s[i]); i++)
			continue;
		if (i == n)
			return false;
	}
	if (st->out.len > 0) {
		for (; st->breaks > 0; st->breaks--)
			buf_addc(&st->out, '\n');
	}
	st->breaks = 0;
	if (st->in_link && st->link_start == SIZE_MAX)
		st->link_start = st->out.len;
	return true;
}

static void
mastodon_html_text_run(struct mastodon_html_state *st, const char *s, size_t n)
{
	if (mastodon_html_begin_text(st, s, n))
		mastodon_html_decode(s, n, &st->out);
}

/* A mention or hashtag whose text lacks its '@' or '#' gets one. */
static void
mastodon_html_end_link(struct mastodon_html_state *st)
{
	size_t	at = st->link_start;

	if (st->sigil != '\0' && at != SIZE_MAX && at < st->out.len &&
	    st->out.data[at] != st->sigil) {
		buf_addc(&st->out, st->sigil);
		memmove(st->out.data + at + 1, st->out.data + at,
		    st->out.len - 1 - at);
		st->out.data[at] = st->sigil;
	}
	st->in_link = false;
	st->hide = false;
	st->sigil = '\0';
	st->link_start = SIZE_MAX;
}

static void
mastodon_html_open_link(struct mastodon_html_state *st,
    const struct mastodon_html_tag *tag)
{
	/* A link inside a link is malformed: the outer one goes on. */
	if (st->in_link)
		return;
	st->in_link = true;
	st->link_start = SIZE_MAX;
	switch (mastodon_html_link_kind(tag)) {
	case MASTODON_HTML_LINK_URL:
		/* Mastodon cuts the shown URL with spans; the href is whole. */
		mastodon_html_text_run(st, tag->href.s, tag->href.n);
		st->hide = true;
		break;
	case MASTODON_HTML_LINK_MENTION:
		st->sigil = '@';
		break;
	case MASTODON_HTML_LINK_HASHTAG:
		st->sigil = '#';
		break;
	case MASTODON_HTML_LINK_TEXT:
		break;
	}
}

static void
mastodon_html_break(struct mastodon_html_state *st, unsigned at_least)
{
	/* An unclosed link ends with its block, as it does on screen. */
	if (st->in_link)
		mastodon_html_end_link(st);
	if (st->breaks < at_least)
		st->breaks = at_least;
}

static void
mastodon_html_text_tag(struct mastodon_html_state *st,
    const struct mastodon_html_tag *tag)
{
	if (mastodon_html_is(tag, "p"))
		mastodon_html_break(st, 2);
	else if (mastodon_html_is(tag, "br")) {
		mastodon_html_break(st, 0);
		st->breaks++;
	} else if (mastodon_html_is_block(tag))
		mastodon_html_break(st, 1);
	else if (mastodon_html_is(tag, "a")) {
		if (!tag->closing)
			mastodon_html_open_link(st, tag);
		else if (st->in_link)
			mastodon_html_end_link(st);
	}
}

char *
mastodon_html_text(const char *html)
{
	struct mastodon_html_state	st;
	struct mastodon_html_tag	tag;
	const char			*s = html != NULL ? html : "", *lt;

	memset(&st, 0, sizeof(st));
	buf_init(&st.out);
	st.link_start = SIZE_MAX;
	while (*s != '\0') {
		lt = strchr(s, '<');
		while (lt != NULL && !mastodon_html_markup(lt))
			lt = strchr(lt + 1, '<');
		if (lt == NULL) {
			mastodon_html_text_run(&st, s, strlen(s));
			break;
		}
		mastodon_html_text_run(&st, s, (size_t)(lt - s));
		if (lt[1] == '!' || lt[1] == '?')
			s = mastodon_html_skip_decl(lt);
		else {
			s = mastodon_html_tag(lt, &tag);
			mastodon_html_text_tag(&st, &tag);
		}
	}
	if (st.in_link)
		mastodon_html_end_link(&st);
	return buf_steal(&st.out);
}

void
mastodon_html_links(const char *html, struct strv *out)
{
	struct mastodon_html_tag	 tag;
	struct buf			 url;
	const char			*s = html != NULL ? html : "";

	buf_init(&url);
	for (s = strchr(s, '<'); s != NULL; s = strchr(s, '<')) {
		if (!mastodon_html_markup(s)) {
			s++;
			continue;
		}
		if (s[1] == '!' || s[1] == '?') {
			s = mastodon_html_skip_decl(s);
			continue;
		}
		s = mastodon_html_tag(s, &tag);
		if (tag.closing || !mastodon_html_is(&tag, "a") ||
		    mastodon_html_link_kind(&tag) != MASTODON_HTML_LINK_URL)
			continue;
		buf_reset(&url);
		mastodon_html_decode(tag.href.s, tag.href.n, &url);
		if (!strv_contains(out, url.data))
			strv_add(out, url.data);
	}
	buf_free(&url);
}
