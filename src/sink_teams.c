/* The Microsoft Teams adapter: a delivery as an Adaptive Card posted to
 * a Workflows ("When a Teams webhook request is received") URL. */
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sink.h"
#include "text.h"

/*
 * Teams refuses messages over 28 KB, and one client library found about
 * 21 KB to be the real ceiling; the whole request body stays within
 * this budget, the text being cut shorter until it does.
 */
#define SINK_TEAMS_BODY_MAX	20000
#define SINK_TEAMS_TEXT_MAX	4000
#define SINK_TEAMS_NOTE_MAX	2000
#define SINK_TEAMS_LANGS_MAX	40
#define SINK_TEAMS_EXCERPT_MAX	200

#define SINK_TEAMS_DOT		" \xc2\xb7 "

/*
 * s for a TextRun: Adaptive Cards never read a TextRun as Markdown, and
 * Teams reads no HTML in cards, so only control characters and invalid
 * bytes need replacing (with U+FFFD; newlines become spaces when
 * one_line).  Caller frees.
 */
static char *
sink_teams_clean(const char *s, bool one_line)
{
	struct sink_walk	w;
	struct buf		b;

	buf_init(&b);
	buf_adds(&b, "");
	sink_walk_init(&w, s);
	while (sink_walk_next(&w)) {
		if (w.cp == '\n')
			buf_addc(&b, one_line ? ' ' : '\n');
		else if (w.cp == SINK_WALK_INVALID ||
		    (w.cp != '\t' && text_control(w.cp)))
			buf_adds(&b, SINK_REPLACEMENT);
		else
			buf_add(&b, w.p, w.len);
	}
	return buf_steal(&b);
}

/* {"type":"TextRun","text":s} with the given style keys. */
static json_t *
sink_teams_run(const char *s, bool one_line)
{
	char	*clean = sink_teams_clean(s, one_line);
	json_t	*run = json_pack("{s:s, s:s}", "type", "TextRun", "text",
		    clean);

	free(clean);
	return run;
}

static json_t *
sink_teams_block(json_t *inlines)
{
	return json_pack("{s:s, s:o}", "type", "RichTextBlock", "inlines",
	    inlines);
}

/* The post's URL if it is http(s) (Action.OpenUrl takes no other). */
static char *
sink_teams_url(const char *url)
{
	struct buf	b;

	if (url == NULL || (strncmp(url, "https://", 8) != 0 &&
	    strncmp(url, "http://", 7) != 0))
		return NULL;
	buf_init(&b);
	sink_url_encode(&b, url);
	return buf_steal(&b);
}

static json_t *
sink_teams_open(const char *url)
{
	return json_pack("{s:s, s:s}", "type", "Action.OpenUrl", "url", url);
}

/*
 * The text, one RichTextBlock a paragraph: a TextRun has no line
 * breaks of its own.  Blank lines become spacing.
 */
static void
sink_teams_paragraphs(json_t *body, const char *text)
{
	const char	*line = text, *nl;
	char		*one;
	json_t		*block;
	bool		 gap = false;

	for (;;) {
		nl = strchr(line, '\n');
		one = xstrndup(line, nl != NULL ? (size_t)(nl - line) :
		    strlen(line));
		if (*one == '\0' || strspn(one, " \t\r") == strlen(one))
			gap = true;
		else {
			block = sink_teams_block(json_pack("[o]",
			    sink_teams_run(one, true)));
			json_object_set_new(block, "spacing",
			    json_string(gap ? "Medium" : "None"));
			json_array_append_new(body, block);
			gap = false;
		}
		free(one);
		if (nl == NULL)
			break;
		line = nl + 1;
	}
}

/* "team care · rule care/complaints · conversation K7QX · en · reply" */
static json_t *
sink_teams_context(const struct delivery *d)
{
	struct buf	 b;
	char		*langs;
	json_t		*run, *block;

	buf_init(&b);
	buf_printf(&b, "team %s" SINK_TEAMS_DOT "rule %s",
	    d->team != NULL ? d->team : d->destination,
	    d->rule != NULL ? d->rule : "?");
	if (d->code != NULL)
		buf_printf(&b, SINK_TEAMS_DOT "conversation %s", d->code);
	if (d->post->langs.n > 0) {
		langs = sink_langs(d->post, SINK_TEAMS_LANGS_MAX);
		buf_printf(&b, SINK_TEAMS_DOT "%s", langs);
		free(langs);
	}
	if (d->post->reply_root != NULL || d->post->reply_parent != NULL)
		buf_adds(&b, SINK_TEAMS_DOT "reply");
	if (sink_is_private(d->post))
		buf_adds(&b, SINK_TEAMS_DOT "private");
	/* A watcher's copy: the team above owns the conversation. */
	if (d->team != NULL && d->destination != NULL &&
	    strcmp(d->team, d->destination) != 0)
		buf_printf(&b, SINK_TEAMS_DOT "copy for %s", d->destination);
	run = sink_teams_run(b.data, true);
	buf_free(&b);
	json_object_set_new(run, "isSubtle", json_true());
	json_object_set_new(run, "size", json_string("Small"));
	block = sink_teams_block(json_pack("[o]", run));
	json_object_set_new(block, "spacing", json_string("Medium"));
	return block;
}

/* "Edited by its author: @alice on Bluesky", the author in bold. */
static json_t *
sink_teams_head(const struct delivery *d)
{
	json_t	*inlines = json_array(), *run;
	char	*author, *on;

	if (sink_kind_label(d) != NULL) {
		on = xasprintf("%s: ", sink_kind_label(d));
		run = sink_teams_run(on, true);
		free(on);
		json_object_set_new(run, "italic", json_true());
		json_array_append_new(inlines, run);
	}
	author = sink_author(d->post);
	run = sink_teams_run(author, true);
	free(author);
	json_object_set_new(run, "weight", json_string("Bolder"));
	json_array_append_new(inlines, run);
	on = xasprintf(" on %s", sink_platform_name(d->post->platform));
	json_array_append_new(inlines, sink_teams_run(on, true));
	free(on);
	return sink_teams_block(inlines);
}

/* The message: one Adaptive Card 1.4 as Workflows expects it. */
static json_t *
sink_teams_message(json_t *body, json_t *actions)
{
	json_t	*card;

	card = json_pack("{s:s, s:s, s:s, s:o}", "$schema",
	    "http://adaptivecards.io/schemas/adaptive-card.json", "type",
	    "AdaptiveCard", "version", "1.4", "body", body);
	if (card != NULL && actions != NULL && json_array_size(actions) > 0)
		json_object_set(card, "actions", actions);
	json_decref(actions);
	return json_pack("{s:s, s:[{s:s, s:n, s:o}]}", "type", "message",
	    "attachments", "contentType",
	    "application/vnd.microsoft.card.adaptive", "contentUrl",
	    "content", card);
}

/* A post cut to max code points of text. */
static json_t *
sink_teams_post(const struct delivery *d, size_t max)
{
	const struct post	*p = d->post;
	json_t			*body, *actions, *run;
	char			*text, *url, *title;

	body = json_array();
	actions = json_array();
	json_array_append_new(body, sink_teams_head(d));
	/* Image-only posts are real and common; say so instead of "". */
	if (p->text == NULL || *p->text == '\0') {
		run = sink_teams_run("(no text)", true);
		json_object_set_new(run, "italic", json_true());
		json_array_append_new(body, sink_teams_block(json_pack("[o]",
		    run)));
	} else {
		text = text_truncate(p->text, max);
		sink_teams_paragraphs(body, text);
		free(text);
	}
	json_array_append_new(body, sink_teams_context(d));
	url = sink_teams_url(p->url);
	if (url != NULL) {
		title = xasprintf("View on %s",
		    sink_platform_name(p->platform));
		json_array_append_new(actions, json_pack("{s:s, s:s, s:s}",
		    "type", "Action.OpenUrl", "title", title, "url", url));
		free(title);
		free(url);
	}
	return sink_teams_message(body, actions);
}

/* A note: "K7QX · Reply by alice published: URL", URLs clickable. */
static json_t *
sink_teams_note(const struct delivery *d, size_t max)
{
	json_t		*inlines = json_array(), *run, *body;
	const char	*p, *end;
	char		*cut, *word, *url, *code;
	bool		 is_url;

	if (d->code != NULL) {
		code = xasprintf("%s" SINK_TEAMS_DOT, d->code);
		run = sink_teams_run(code, true);
		free(code);
		json_object_set_new(run, "fontType", json_string("Monospace"));
		json_array_append_new(inlines, run);
	}
	cut = text_truncate(d->note, max);
	for (p = cut; *p != '\0'; p = end) {
		end = p;
		is_url = strncmp(p, "https://", 8) == 0 ||
		    strncmp(p, "http://", 7) == 0;
		if (is_url) {
			while (*end != '\0' && *end != ' ' && *end != '\n')
				end++;
		} else {
			/* Up to the next URL that starts a word. */
			while (*end != '\0' && !(end != p && (end[-1] == ' ' ||
			    end[-1] == '\n') &&
			    (strncmp(end, "https://", 8) == 0 ||
			    strncmp(end, "http://", 7) == 0)))
				end++;
		}
		word = xstrndup(p, (size_t)(end - p));
		run = sink_teams_run(word, true);
		url = is_url ? sink_teams_url(word) : NULL;
		if (url != NULL) {
			json_object_set_new(run, "selectAction",
			    sink_teams_open(url));
			json_object_set_new(run, "underline", json_true());
			free(url);
		}
		json_array_append_new(inlines, run);
		free(word);
	}
	free(cut);
	body = json_pack("[o]", sink_teams_block(inlines));
	return sink_teams_message(body, NULL);
}

/*
 * Serialise the message built by build(d, max) with max as large as
 * the body budget allows.
 */
static int
sink_teams_fit(const struct chat_conf *chat, struct http_request *req,
    const void *d, size_t n, size_t start,
    json_t *(*build)(const void *, size_t, size_t), char **cause)
{
	size_t	 max = start, len;
	char	*body;
	json_t	*msg;

	for (;;) {
		msg = build(d, n, max);
		if (msg == NULL)
			break;
		body = json_dumps(msg, JSON_COMPACT);
		len = body != NULL ? strlen(body) : 0;
		free(body);
		if (len <= SINK_TEAMS_BODY_MAX || max == 0)
			break;
		json_decref(msg);
		if (max * SINK_TEAMS_BODY_MAX / len < max - 1)
			max = max * SINK_TEAMS_BODY_MAX / len;
		else
			max--;
	}
	return sink_json_request(req, "teams", chat->webhook_url,
	    "application/json", msg, cause);
}

static json_t *
sink_teams_build_one(const void *arg, size_t n, size_t max)
{
	const struct delivery	*d = arg;

	(void)n;
	if (d->kind == DELIVERY_NOTE && d->note != NULL)
		return sink_teams_note(d, max);
	return sink_teams_post(d, max);
}

/*
 * Workflows webhooks cannot reply to a message or edit one, so a
 * conversation's later posts, edits and notes come as new cards that
 * carry the conversation's code.
 */
static int
sink_teams_format(const struct chat_conf *chat, const struct delivery *d,
    struct http_request *req, char **cause)
{
	if (chat->webhook_url == NULL || *chat->webhook_url == '\0') {
		*cause = xstrdup("teams: no webhook_url");
		return -1;
	}
	if (d->post == NULL && !(d->kind == DELIVERY_NOTE && d->note != NULL)) {
		*cause = xstrdup("teams: delivery has no post");
		return -1;
	}
	return sink_teams_fit(chat, req, d, 1, d->kind == DELIVERY_NOTE &&
	    d->note != NULL ? SINK_TEAMS_NOTE_MAX : SINK_TEAMS_TEXT_MAX,
	    sink_teams_build_one, cause);
}

/* "K7QX @alice on Bluesky: excerpt", the author opening the post. */
static json_t *
sink_teams_digest_line(const struct delivery *d, size_t excerpt)
{
	const struct post	*p = d->post;
	json_t			*inlines = json_array(), *run;
	char			*author, *s, *url, *cut;

	run = sink_teams_run(d->code != NULL ? d->code : "?", true);
	json_object_set_new(run, "fontType", json_string("Monospace"));
	json_object_set_new(run, "weight", json_string("Bolder"));
	json_array_append_new(inlines, run);
	author = sink_author(p);
	s = xasprintf(" %s on %s", author, sink_platform_name(p->platform));
	free(author);
	run = sink_teams_run(s, true);
	free(s);
	url = excerpt > 0 ? sink_teams_url(p->url) : NULL;
	if (url != NULL) {
		json_object_set_new(run, "selectAction", sink_teams_open(url));
		free(url);
	}
	json_array_append_new(inlines, run);
	if (excerpt > 0 && p->text != NULL && *p->text != '\0') {
		cut = text_truncate(p->text, excerpt);
		s = xasprintf(": %s", cut);
		free(cut);
		json_array_append_new(inlines, sink_teams_run(s, true));
		free(s);
	}
	return sink_teams_block(inlines);
}

static json_t *
sink_teams_build_digest(const void *arg, size_t n, size_t excerpt)
{
	const struct delivery *const	*d = arg;
	json_t				*body = json_array(), *run;
	char				*head;
	size_t				 i;

	head = xasprintf("Digest: %zu posts for %s, too many for a message "
	    "each; any of them is shown in full by its code", n,
	    d[0]->destination != NULL ? d[0]->destination : "this channel");
	run = sink_teams_run(head, true);
	free(head);
	json_object_set_new(run, "weight", json_string("Bolder"));
	json_array_append_new(body, sink_teams_block(json_pack("[o]", run)));
	for (i = 0; i < n; i++)
		json_array_append_new(body, sink_teams_digest_line(d[i],
		    excerpt));
	return sink_teams_message(body, NULL);
}

static int
sink_teams_format_digest(const struct chat_conf *chat,
    const struct delivery *const *d, size_t n, struct http_request *req,
    char **cause)
{
	size_t	i;

	if (chat->webhook_url == NULL || *chat->webhook_url == '\0') {
		*cause = xstrdup("teams: no webhook_url");
		return -1;
	}
	if (n == 0) {
		*cause = xstrdup("teams: empty digest");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (d[i]->post == NULL) {
			*cause = xstrdup("teams: digest delivery has no post");
			return -1;
		}
	}
	return sink_teams_fit(chat, req, d, n, SINK_TEAMS_EXCERPT_MAX,
	    sink_teams_build_digest, cause);
}

/*
 * A Workflows trigger accepts with 202 (the flow runs later) or 200;
 * its errors are JSON {"error": {"code": "...", "message": "..."}},
 * whose message is quoted instead of the raw JSON.  No message id:
 * nothing can be threaded or edited later.
 */
static enum sink_result
sink_teams_response(const struct chat_conf *chat,
    const struct http_response *resp, struct sink_answer *a)
{
	struct http_response	 copy;
	enum sink_result	 result;
	json_t			*body = NULL, *err;
	const char		*code, *message;
	char			*text = NULL;

	(void)chat;
	if (resp->status >= 300 && resp->body != NULL && resp->body_len > 0)
		body = json_loadb(resp->body, resp->body_len, 0, NULL);
	err = json_object_get(body, "error");
	code = json_string_value(json_object_get(err, "code"));
	message = json_string_value(json_object_get(err, "message"));
	if (message == NULL)
		message = json_string_value(json_object_get(body, "message"));
	copy = *resp;
	if (message != NULL && *message != '\0') {
		text = code != NULL ? xasprintf("%s: %s", code, message) :
		    xstrdup(message);
		copy.body = text;
		copy.body_len = strlen(text);
	}
	result = sink_classify(&copy, a);
	json_decref(body);
	free(text);
	return result;
}

const struct sink_ops sink_teams_ops = {
	.type = "teams",
	.needs_url = 1,
	/*
	 * More than 4 requests a second to one webhook are throttled, and
	 * each request starts a Power Automate flow run, which has its
	 * own quotas: stay well below.
	 */
	.default_rate = 1.0,
	.default_burst = 2,
	.format = sink_teams_format,
	.format_digest = sink_teams_format_digest,
	.response = sink_teams_response
};
