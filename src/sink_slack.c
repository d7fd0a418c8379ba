/* The Slack incoming-webhook adapter: a delivery as a Block Kit message. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "sink.h"
#include "text.h"

/* Block Kit rejects a section whose text is longer than this. */
#define SINK_SLACK_SECTION_MAX	3000
/* Notification previews show little; the fallback stays short. */
#define SINK_SLACK_FALLBACK_MAX	150
/* Bluesky allows three languages; a longer list is noise. */
#define SINK_SLACK_LANGS_MAX	40

#define SINK_SLACK_REPLACEMENT	"\xef\xbf\xbd"

/*
 * Append s escaped for mrkdwn.  Slack reads only &, < and > as markup
 * worth escaping, and escaping < is what turns "<!channel>" or "<@U1>"
 * into harmless text.  Control characters (terminal escapes, C1) and
 * invalid bytes become U+FFFD so the JSON always encodes.
 */
static void
sink_slack_escape(struct buf *b, const char *s)
{
	size_t		n, len;
	uint32_t	cp;

	if (s == NULL)
		s = "";
	n = strlen(s);

	while (n > 0) {
		len = utf8_decode(s, n, &cp);
		if (len == 0) {
			buf_adds(b, SINK_SLACK_REPLACEMENT);
			len = 1;
		} else if (cp == '&')
			buf_adds(b, "&amp;");
		else if (cp == '<')
			buf_adds(b, "&lt;");
		else if (cp == '>')
			buf_adds(b, "&gt;");
		else if (cp == '\r') {
			/* CRLF and lone CR both end a line. */
			if (n < 2 || s[1] != '\n')
				buf_addc(b, '\n');
		} else if ((cp < 0x20 && cp != '\n' && cp != '\t') ||
		    cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
			buf_adds(b, SINK_SLACK_REPLACEMENT);
		else
			buf_add(b, s, len);
		s += len;
		n -= len;
	}
}

static char *
sink_slack_escaped(const char *s)
{
	struct buf	b;

	buf_init(&b);
	buf_adds(&b, "");
	sink_slack_escape(&b, s);
	return buf_steal(&b);
}

/* Code points in valid UTF-8: what Slack's length limits count. */
static size_t
sink_slack_chars(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	}
	return n;
}

/*
 * The post text escaped and cut so that the escaped form fits max
 * characters.  Escaping lengthens the text, so cut the raw text (which
 * keeps "&amp;" whole and code points unsplit) and shrink until it fits.
 */
static char *
sink_slack_fit(const char *text, size_t max)
{
	size_t	 n = max, len;
	char	*cut, *esc;

	for (;;) {
		cut = text_truncate(text, n);
		esc = sink_slack_escaped(cut);
		free(cut);
		len = sink_slack_chars(esc);
		if (len <= max || n <= 1)
			return esc;
		free(esc);
		if (n * max / len < n - 1)
			n = n * max / len;
		else
			n--;
	}
}

/*
 * Append url for use inside <url|label>: a '|' or '>' would end the
 * link early, so those and anything outside URL syntax are
 * percent-encoded, and '&' is escaped as everywhere in mrkdwn.
 */
static void
sink_slack_url(struct buf *b, const char *url)
{
	static const char	 safe[] = "-._~:/?#@!$'*+,;=%";
	const unsigned char	*u;

	for (u = (const unsigned char *)url; *u != '\0'; u++) {
		if (*u == '&')
			buf_adds(b, "&amp;");
		else if ((*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z') ||
		    (*u >= '0' && *u <= '9') || strchr(safe, *u) != NULL)
			buf_addc(b, (char)*u);
		else
			buf_printf(b, "%%%02X", *u);
	}
}

/* "en-US, en", escaped and kept short; "" when the post names none. */
static void
sink_slack_langs(struct buf *b, const struct post *p)
{
	struct buf	 joined;
	char		*cut;
	size_t		 i;

	buf_init(&joined);
	buf_adds(&joined, "");
	for (i = 0; i < p->langs.n; i++) {
		if (i > 0)
			buf_adds(&joined, ", ");
		buf_adds(&joined, p->langs.v[i]);
	}
	cut = text_truncate(joined.data, SINK_SLACK_LANGS_MAX);
	sink_slack_escape(b, cut);
	free(cut);
	buf_free(&joined);
}

/* "*@alice.example* on Bluesky · <URL|view on Bluesky>" */
static char *
sink_slack_head(const struct post *p)
{
	struct buf	 b;
	const char	*network = sink_platform_name(p->platform);
	char		*author;

	buf_init(&b);
	buf_addc(&b, '*');
	author = sink_author(p);
	sink_slack_escape(&b, author);
	free(author);
	buf_adds(&b, "* on ");
	sink_slack_escape(&b, network);
	if (p->url != NULL && *p->url != '\0') {
		buf_adds(&b, " \xc2\xb7 <");
		sink_slack_url(&b, p->url);
		buf_adds(&b, "|view on ");
		sink_slack_escape(&b, network);
		buf_addc(&b, '>');
	}
	return buf_steal(&b);
}

/*
 * "team *care* · rule `care/complaints` · conversation `K7QX` · en · reply"
 */
static char *
sink_slack_context(const struct delivery *d)
{
	struct buf	 b;

	buf_init(&b);
	buf_adds(&b, "team *");
	sink_slack_escape(&b, d->team != NULL ? d->team : d->destination);
	buf_adds(&b, "* \xc2\xb7 rule `");
	sink_slack_escape(&b, d->rule != NULL ? d->rule : "?");
	buf_adds(&b, "`");
	if (d->code != NULL) {
		buf_adds(&b, " \xc2\xb7 conversation `");
		sink_slack_escape(&b, d->code);
		buf_adds(&b, "`");
	}
	if (d->post->langs.n > 0) {
		buf_adds(&b, " \xc2\xb7 ");
		sink_slack_langs(&b, d->post);
	}
	if (d->post->reply_root != NULL || d->post->reply_parent != NULL)
		buf_adds(&b, " \xc2\xb7 reply");
	return buf_steal(&b);
}

/* "[care] @alice.example on Bluesky: first 150 characters" */
static char *
sink_slack_fallback(const struct delivery *d, const char *text)
{
	struct buf	 b;
	char		*cut = text_truncate(text, SINK_SLACK_FALLBACK_MAX);
	char		*author;

	buf_init(&b);
	buf_addc(&b, '[');
	sink_slack_escape(&b, d->team != NULL ? d->team : d->destination);
	buf_adds(&b, "] ");
	author = sink_author(d->post);
	sink_slack_escape(&b, author);
	free(author);
	buf_adds(&b, " on ");
	sink_slack_escape(&b, sink_platform_name(d->post->platform));
	buf_adds(&b, ": ");
	sink_slack_escape(&b, cut);
	free(cut);
	return buf_steal(&b);
}

static int
sink_slack_format(const struct chat_conf *chat, const struct delivery *d,
    struct http_request *req, char **cause)
{
	const char	*text;
	char		*fallback, *head, *body, *context;
	json_t		*msg;
	int		 rc = -1;

	if (chat->webhook_url == NULL || *chat->webhook_url == '\0') {
		*cause = xstrdup("slack: no webhook_url");
		return -1;
	}
	if (d->post == NULL) {
		*cause = xstrdup("slack: delivery has no post");
		return -1;
	}
	/* Image-only posts are real and common; say so instead of "",
	 * in italics to set it apart from a post saying "(no text)". */
	text = d->post->text;
	if (text == NULL || *text == '\0') {
		fallback = sink_slack_fallback(d, "(no text)");
		body = xstrdup("_(no text)_");
	} else {
		fallback = sink_slack_fallback(d, text);
		body = sink_slack_fit(text, SINK_SLACK_SECTION_MAX);
	}
	head = sink_slack_head(d->post);
	context = sink_slack_context(d);
	msg = json_pack("{s:s, s:[{s:s, s:{s:s, s:s}}, {s:s, s:{s:s, s:s}},"
	    " {s:s, s:[{s:s, s:s}]}], s:b, s:b}",
	    "text", fallback,
	    "blocks",
	    "type", "section", "text", "type", "mrkdwn", "text", head,
	    "type", "section", "text", "type", "mrkdwn", "text", body,
	    "type", "context", "elements", "type", "mrkdwn", "text", context,
	    "unfurl_links", 0, "unfurl_media", 0);
	if (msg == NULL) {
		/* The escapers emit valid UTF-8, so this is a bug. */
		*cause = xstrdup("slack: cannot build the JSON payload");
		goto out;
	}

	req->method = "POST";
	req->url = xstrdup(chat->webhook_url);
	strv_add(&req->headers,
	    "Content-Type: application/json; charset=utf-8");
	req->body = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (req->body == NULL) {
		*cause = xstrdup("slack: cannot serialise the JSON payload");
		goto out;
	}
	req->body_len = strlen(req->body);
	rc = 0;
out:
	free(fallback);
	free(head);
	free(body);
	free(context);
	return rc;
}

const struct sink_ops sink_slack_ops = {
	.type = "slack",
	.keys = NULL,
	.needs_url = 1,
	/* Slack allows about one message a second per channel, with short
	 * bursts; going faster only earns 429s. */
	.default_rate = 1.0,
	.default_burst = 3,
	.configure = NULL,
	.settings_free = NULL,
	.format = sink_slack_format,
	.response = NULL,
	.write = NULL
};
