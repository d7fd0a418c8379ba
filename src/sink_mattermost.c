/* The Mattermost incoming-webhook adapter: a delivery as one Markdown post. */
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sink.h"
#include "text.h"

/* Mattermost splits posts over 16,383 characters; a triage message
 * needs far less.  The raw text is cut first, then the escaped and
 * quoted form (which can be several times longer) must fit the budget. */
#define SINK_MATTERMOST_TEXT_MAX	4000
#define SINK_MATTERMOST_QUOTED_MAX	12000
#define SINK_MATTERMOST_LANGS_MAX	40
#define SINK_MATTERMOST_NOTE_MAX	4000

#define SINK_MATTERMOST_ZWSP		"\xe2\x80\x8b"
#define SINK_MATTERMOST_DOT		" \xc2\xb7 "

static bool
sink_mattermost_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

/* Whether cp is one of the ASCII characters in set. */
static bool
sink_mattermost_among(uint32_t cp, const char *set)
{
	return cp != 0 && cp < 0x80 && strchr(set, (int)cp) != NULL;
}

/*
 * Append user text s so that Mattermost shows it as typed and nothing
 * more: no mention notifies (a zero-width space after '@' breaks
 * @channel, @all, @here and @user), no HTML, and no Markdown that could
 * forge a link, an image, emphasis, a table or a heading.  line_start
 * says whether s begins a line, where '#', '-', '+', '=' and "1." are
 * block markup.
 */
static void
sink_mattermost_escape(struct buf *b, const char *s, bool line_start)
{
	/* 0: only blanks so far on this line, 1: blanks then digits, 2: text */
	int			lead = line_start ? 0 : 2;
	struct sink_walk	w;
	uint32_t		cp;

	sink_walk_init(&w, s);
	while (sink_walk_next(&w)) {
		cp = w.cp;
		if (cp == SINK_WALK_INVALID) {
			buf_adds(b, SINK_REPLACEMENT);
			lead = 2;
		} else if (cp == '\n') {
			buf_addc(b, '\n');
			lead = 0;
		} else if (cp == ' ' || cp == '\t') {
			buf_addc(b, (char)cp);
		} else if (cp >= '0' && cp <= '9' && lead <= 1) {
			buf_addc(b, (char)cp);
			lead = 1;
		} else {
			if (cp == '&')
				buf_adds(b, "&amp;");
			else if (cp == '<')
				buf_adds(b, "&lt;");
			else if (cp == '>')
				buf_adds(b, "&gt;");
			else if (sink_mattermost_among(cp, "\\[]()*_`~|"))
				buf_printf(b, "\\%c", (char)cp);
			else if (lead == 0 && sink_mattermost_among(cp, "#-+="))
				buf_printf(b, "\\%c", (char)cp);
			else if (lead == 1 && cp == '.')
				buf_adds(b, "\\.");
			else if (cp == '@' && sink_mattermost_word(w.p[1]))
				buf_adds(b, "@" SINK_MATTERMOST_ZWSP);
			else if (text_control(cp))
				buf_adds(b, SINK_REPLACEMENT);
			else
				buf_add(b, w.p, w.len);
			lead = 2;
		}
	}
}

/*
 * Append s inside a `code span`, where escapes do not work: drop what
 * could close the span, start a mention or markup, or break the line.
 */
static void
sink_mattermost_code(struct buf *b, const char *s)
{
	struct sink_walk	w;

	buf_addc(b, '`');
	sink_walk_init(&w, s);
	while (sink_walk_next(&w)) {
		if (w.cp != SINK_WALK_INVALID &&
		    !sink_mattermost_among(w.cp, "`<>@&") &&
		    (w.cp == '\t' || !text_control(w.cp)))
			buf_add(b, w.p, w.len);
	}
	buf_addc(b, '`');
}

/* Each line of the escaped text as a blockquote line. */
static char *
sink_mattermost_quote(const char *text)
{
	struct buf	 esc, b;
	const char	*line, *nl;

	buf_init(&esc);
	buf_adds(&esc, "");
	sink_mattermost_escape(&esc, text, true);
	buf_init(&b);
	line = esc.data;
	for (;;) {
		nl = strchr(line, '\n');
		if (b.len > 0)
			buf_addc(&b, '\n');
		if (nl == NULL ? *line == '\0' : nl == line)
			buf_addc(&b, '>');
		else {
			buf_adds(&b, "> ");
			buf_add(&b, line, nl != NULL ? (size_t)(nl - line) :
			    strlen(line));
		}
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	buf_free(&esc);
	return buf_steal(&b);
}

/* "team `care` · rule `r` · conversation `K7QX` · `en` · reply" */
static void
sink_mattermost_meta(struct buf *b, const struct delivery *d)
{
	char	*langs;

	buf_adds(b, "team ");
	sink_mattermost_code(b, d->team != NULL ? d->team : d->destination);
	buf_adds(b, SINK_MATTERMOST_DOT "rule ");
	sink_mattermost_code(b, d->rule != NULL ? d->rule : "?");
	if (d->code != NULL) {
		buf_adds(b, SINK_MATTERMOST_DOT "conversation ");
		sink_mattermost_code(b, d->code);
	}
	if (d->post->langs.n > 0) {
		langs = sink_langs(d->post, SINK_MATTERMOST_LANGS_MAX);
		buf_adds(b, SINK_MATTERMOST_DOT);
		sink_mattermost_code(b, langs);
		free(langs);
	}
	if (d->post->reply_root != NULL || d->post->reply_parent != NULL)
		buf_adds(b, SINK_MATTERMOST_DOT "reply");
	if (sink_is_private(d->post))
		buf_adds(b, SINK_MATTERMOST_DOT "**private**");
}

static char *
sink_mattermost_markdown(const struct delivery *d)
{
	const struct post	*p = d->post;
	struct buf		 b;
	const char		*text = p->text;
	char			*quoted, *author;

	buf_init(&b);
	if (sink_kind_label(d) != NULL) {
		buf_adds(&b, "*");
		buf_adds(&b, sink_kind_label(d));
		buf_adds(&b, ":* ");
	}
	buf_adds(&b, "**");
	author = sink_author(p);
	sink_mattermost_escape(&b, author, false);
	free(author);
	buf_adds(&b, "** on ");
	sink_mattermost_escape(&b, sink_platform_name(p->platform), false);
	if (p->url != NULL && *p->url != '\0') {
		buf_adds(&b, SINK_MATTERMOST_DOT "[view post](");
		sink_url_encode(&b, p->url);
		buf_addc(&b, ')');
	}
	buf_addc(&b, '\n');
	/* Image-only posts are real and common; say so instead of "",
	 * in italics to set it apart from a post saying "(no text)". */
	if (text == NULL || *text == '\0')
		quoted = xstrdup("> *(no text)*");
	else
		quoted = sink_fit(text, SINK_MATTERMOST_TEXT_MAX,
		    SINK_MATTERMOST_QUOTED_MAX, sink_mattermost_quote);
	buf_adds(&b, quoted);
	free(quoted);
	/* A blank line, or the line below would join the quote. */
	buf_adds(&b, "\n\n");
	sink_mattermost_meta(&b, d);
	return buf_steal(&b);
}

/*
 * A note from switchboard itself: "`K7QX` · Reply by alice published:
 * [URL](URL)".  A URL becomes a Markdown link, whose target escaping
 * would break (Mastodon URLs hold an '@').
 */
static char *
sink_mattermost_note(const struct delivery *d)
{
	struct buf	 b;
	char		*cut, *word;
	const char	*p, *end;

	buf_init(&b);
	buf_adds(&b, "");
	if (d->code != NULL) {
		sink_mattermost_code(&b, d->code);
		buf_adds(&b, " \xc2\xb7 ");
	}
	cut = text_truncate(d->note, SINK_MATTERMOST_NOTE_MAX);
	for (p = cut; *p != '\0'; p = end) {
		end = p;
		if (strncmp(p, "https://", 8) == 0 ||
		    strncmp(p, "http://", 7) == 0) {
			while (*end != '\0' && *end != ' ' && *end != '\n')
				end++;
			word = xstrndup(p, (size_t)(end - p));
			buf_addc(&b, '[');
			sink_mattermost_escape(&b, word, false);
			buf_adds(&b, "](");
			sink_url_encode(&b, word);
			buf_addc(&b, ')');
			free(word);
			continue;
		}
		/* Up to the next URL that starts a word. */
		while (*end != '\0' && !((end == cut || end[-1] == ' ' ||
		    end[-1] == '\n') && end != p &&
		    (strncmp(end, "https://", 8) == 0 ||
		    strncmp(end, "http://", 7) == 0)))
			end++;
		word = xstrndup(p, (size_t)(end - p));
		sink_mattermost_escape(&b, word, p == cut);
		free(word);
	}
	free(cut);
	return buf_steal(&b);
}

static int
sink_mattermost_format(const struct chat_conf *chat,
    const struct delivery *d, struct http_request *req, char **cause)
{
	char	*md;
	json_t	*msg;

	if (chat->webhook_url == NULL || *chat->webhook_url == '\0') {
		*cause = xstrdup("mattermost: no webhook_url");
		return -1;
	}
	if (d->post == NULL && d->kind != DELIVERY_NOTE) {
		*cause = xstrdup("mattermost: delivery has no post");
		return -1;
	}
	if (d->kind == DELIVERY_NOTE && d->note != NULL)
		md = sink_mattermost_note(d);
	else
		md = sink_mattermost_markdown(d);
	msg = json_pack("{s:s}", "text", md);
	free(md);
	return sink_json_request(req, "mattermost", chat->webhook_url,
	    "application/json", msg, cause);
}

/*
 * Mattermost explains errors in JSON ({"message": "Unable to parse
 * incoming data", ...}); quote that message rather than the raw JSON,
 * which would be cut before it said anything useful.
 */
static enum sink_result
sink_mattermost_response(const struct chat_conf *chat,
    const struct http_response *resp, double *retry_after_s, char **cause)
{
	struct http_response	 copy;
	enum sink_result	 result;
	json_t			*err = NULL;
	const char		*message;

	(void)chat;
	if (resp->status >= 300 && resp->body != NULL && resp->body_len > 0)
		err = json_loadb(resp->body, resp->body_len, 0, NULL);
	message = json_string_value(json_object_get(err, "message"));
	if (message == NULL || *message == '\0') {
		json_decref(err);
		return sink_classify(resp, retry_after_s, cause);
	}
	copy = *resp;
	copy.body = message;
	copy.body_len = strlen(message);
	result = sink_classify(&copy, retry_after_s, cause);
	json_decref(err);
	return result;
}

const struct sink_ops sink_mattermost_ops = {
	.type = "mattermost",
	.needs_url = 1,
	.default_rate = 10.0,
	.default_burst = 10,
	.format = sink_mattermost_format,
	.response = sink_mattermost_response
};
