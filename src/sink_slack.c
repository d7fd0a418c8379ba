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

/*
 * Append s escaped for mrkdwn.  Slack reads only &, < and > as markup
 * worth escaping, and escaping < is what turns "<!channel>" or "<@U1>"
 * into harmless text.  Control characters (terminal escapes, C1) and
 * invalid bytes become U+FFFD so the JSON always encodes.
 */
static void
sink_slack_escape(struct buf *b, const char *s)
{
	struct sink_walk	w;

	sink_walk_init(&w, s);
	while (sink_walk_next(&w)) {
		if (w.cp == SINK_WALK_INVALID)
			buf_adds(b, SINK_REPLACEMENT);
		else if (w.cp == '&')
			buf_adds(b, "&amp;");
		else if (w.cp == '<')
			buf_adds(b, "&lt;");
		else if (w.cp == '>')
			buf_adds(b, "&gt;");
		else if (w.cp == '\n')
			buf_addc(b, '\n');
		else if (w.cp != '\t' && text_control(w.cp))
			buf_adds(b, SINK_REPLACEMENT);
		else
			buf_add(b, w.p, w.len);
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

/*
 * Append url for use inside <url|label>: percent-encoding leaves no '|'
 * or '>' to end the link early, and the '&' it keeps is escaped as
 * everywhere in mrkdwn.
 */
static void
sink_slack_url(struct buf *b, const char *url)
{
	struct buf	enc;

	buf_init(&enc);
	buf_adds(&enc, "");
	sink_url_encode(&enc, url);
	sink_slack_escape(b, enc.data);
	buf_free(&enc);
}

/* "*@alice.example* on Bluesky · <URL|view on Bluesky>" */
static char *
sink_slack_head(const struct delivery *d)
{
	const struct post	*p = d->post;
	struct buf		 b;
	const char		*network = sink_platform_name(p->platform);
	const char		*label = sink_kind_label(d);
	char			*author;

	buf_init(&b);
	if (label != NULL) {
		buf_adds(&b, "_");
		buf_adds(&b, label);
		buf_adds(&b, ":_ ");
	}
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
	char		*langs;

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
		langs = sink_langs(d->post, SINK_SLACK_LANGS_MAX);
		sink_slack_escape(&b, langs);
		free(langs);
	}
	if (d->post->reply_root != NULL || d->post->reply_parent != NULL)
		buf_adds(&b, " \xc2\xb7 reply");
	if (sink_is_private(d->post))
		buf_adds(&b, " \xc2\xb7 *private*");
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
	if (sink_kind_label(d) != NULL) {
		buf_adds(&b, sink_kind_label(d));
		buf_adds(&b, ": ");
	}
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

/* A note from switchboard itself: "`K7QX` · Reply by alice published: URL" */
static json_t *
sink_slack_note(const struct delivery *d)
{
	struct buf	 b;
	char		*fallback, *note;
	json_t		*msg;

	buf_init(&b);
	buf_addc(&b, '[');
	sink_slack_escape(&b, d->destination);
	buf_adds(&b, "] ");
	fallback = text_truncate(d->note, SINK_SLACK_FALLBACK_MAX);
	sink_slack_escape(&b, fallback);
	free(fallback);
	fallback = buf_steal(&b);
	buf_init(&b);
	if (d->code != NULL) {
		buf_addc(&b, '`');
		sink_slack_escape(&b, d->code);
		buf_adds(&b, "` \xc2\xb7 ");
	}
	/* The code takes a few characters of the section's 3000. */
	note = sink_fit(d->note, SINK_SLACK_SECTION_MAX - 100,
	    SINK_SLACK_SECTION_MAX - 100, sink_slack_escaped);
	buf_adds(&b, note);
	free(note);
	msg = json_pack("{s:s, s:[{s:s, s:{s:s, s:s}}], s:b, s:b}",
	    "text", fallback,
	    "blocks",
	    "type", "section", "text", "type", "mrkdwn", "text", b.data,
	    "unfurl_links", 0, "unfurl_media", 0);
	free(fallback);
	buf_free(&b);
	return msg;
}

static int
sink_slack_format(const struct chat_conf *chat, const struct delivery *d,
    struct http_request *req, char **cause)
{
	const char	*text;
	char		*fallback, *head, *body, *context;
	json_t		*msg;
	int		 rc;

	if (chat->webhook_url == NULL || *chat->webhook_url == '\0') {
		*cause = xstrdup("slack: no webhook_url");
		return -1;
	}
	if (d->kind == DELIVERY_NOTE && d->note != NULL)
		return sink_json_request(req, "slack", chat->webhook_url,
		    "application/json; charset=utf-8", sink_slack_note(d),
		    cause);
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
		body = sink_fit(text, SINK_SLACK_SECTION_MAX,
		    SINK_SLACK_SECTION_MAX, sink_slack_escaped);
	}
	head = sink_slack_head(d);
	context = sink_slack_context(d);
	msg = json_pack("{s:s, s:[{s:s, s:{s:s, s:s}}, {s:s, s:{s:s, s:s}},"
	    " {s:s, s:[{s:s, s:s}]}], s:b, s:b}",
	    "text", fallback,
	    "blocks",
	    "type", "section", "text", "type", "mrkdwn", "text", head,
	    "type", "section", "text", "type", "mrkdwn", "text", body,
	    "type", "context", "elements", "type", "mrkdwn", "text", context,
	    "unfurl_links", 0, "unfurl_media", 0);
	rc = sink_json_request(req, "slack", chat->webhook_url,
	    "application/json; charset=utf-8", msg, cause);
	free(fallback);
	free(head);
	free(body);
	free(context);
	return rc;
}

const struct sink_ops sink_slack_ops = {
	.type = "slack",
	.needs_url = 1,
	/* Slack allows about one message a second per channel, with short
	 * bursts; going faster only earns 429s. */
	.default_rate = 1.0,
	.default_burst = 3,
	.format = sink_slack_format
};
