/*
 * The Slack adapter: a delivery as a Block Kit message, through an
 * incoming webhook (no threads: a webhook says nothing back) or the Web
 * API with a bot token (chat.postMessage into the conversation's
 * thread, chat.update for an edit of a message it knows), and a digest
 * of many posts as one message.
 */
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
/* A message takes at most 50 blocks; a digest's first is its header. */
#define SINK_SLACK_BLOCKS_MAX	50
/* A digest line: "`CODE` @author: the start of the text". */
#define SINK_SLACK_DIGEST_CODE	16

#define SINK_SLACK_API_URL	"https://slack.com/api"

/* Web API mode: what configure read; NULL settings is webhook mode. */
struct sink_slack_settings {
	char	*token;		/* bot token, xoxb-... */
	char	*channel;	/* channel id */
	char	*api_url;	/* no trailing '/' */
};

static const char *const sink_slack_keys[] = {
	"token", "channel", "api_url", NULL
};

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

/* The message for a post delivery (edit and deletion included). */
static json_t *
sink_slack_post(const struct delivery *d)
{
	const char	*text;
	char		*fallback, *head, *body, *context;
	json_t		*msg;

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
	free(fallback);
	free(head);
	free(body);
	free(context);
	return msg;
}

/*
 * Fill req as a Web API call of method with msg (taken), adding the
 * channel: chat.postMessage into thread when set, or chat.update of ts.
 */
static int
sink_slack_api(const struct sink_slack_settings *st, const char *method,
    json_t *msg, const char *thread, const char *ts,
    struct http_request *req, char **cause)
{
	char	*url;
	int	 rc;

	if (msg != NULL) {
		json_object_set_new(msg, "channel", json_string(st->channel));
		if (thread != NULL)
			json_object_set_new(msg, "thread_ts",
			    json_string(thread));
		if (ts != NULL) {
			/* chat.update takes neither. */
			json_object_del(msg, "unfurl_links");
			json_object_del(msg, "unfurl_media");
			json_object_set_new(msg, "ts", json_string(ts));
		}
	}
	url = xasprintf("%s/%s", st->api_url, method);
	rc = sink_json_request(req, "slack", url,
	    "application/json; charset=utf-8", msg, cause);
	free(url);
	if (rc == 0)
		strv_take(&req->headers, xasprintf("Authorization: Bearer %s",
		    st->token));
	return rc;
}

static int
sink_slack_format(const struct chat_conf *chat, const struct delivery *d,
    struct http_request *req, char **cause)
{
	const struct sink_slack_settings	*st = chat->settings;
	json_t					*msg;

	if (st == NULL && (chat->webhook_url == NULL ||
	    *chat->webhook_url == '\0')) {
		*cause = xstrdup("slack: no webhook_url");
		return -1;
	}
	if (d->kind == DELIVERY_NOTE && d->note != NULL)
		msg = sink_slack_note(d);
	else if (d->post == NULL) {
		*cause = xstrdup("slack: delivery has no post");
		return -1;
	} else
		msg = sink_slack_post(d);
	if (st == NULL)
		return sink_json_request(req, "slack", chat->webhook_url,
		    "application/json; charset=utf-8", msg, cause);
	/* An edit replaces the message that showed the post; all else
	 * (a deletion, an edit of a post shown only in a digest) goes
	 * into the thread. */
	if (d->kind == DELIVERY_EDIT && d->message != NULL)
		return sink_slack_api(st, "chat.update", msg, NULL, d->message,
		    req, cause);
	return sink_slack_api(st, "chat.postMessage", msg, d->thread, NULL,
	    req, cause);
}

/* s with line breaks as spaces: a digest line stays one line. */
static char *
sink_slack_flat(const char *s)
{
	struct sink_walk	w;
	struct buf		b;
	char			*out;

	buf_init(&b);
	buf_adds(&b, "");
	sink_walk_init(&w, s);
	while (sink_walk_next(&w)) {
		if (w.cp == '\n' || w.cp == '\t')
			buf_addc(&b, ' ');
		else
			buf_add(&b, w.p, w.len);
	}
	out = sink_slack_escaped(b.data);
	buf_free(&b);
	return out;
}

/* "`K7QX` @alice.example: the first 80 characters", at most max
 * characters: the code always, then as much of the rest as fits. */
static char *
sink_slack_digest_line(const struct delivery *d, size_t max)
{
	struct buf	 b;
	char		*part;

	buf_init(&b);
	buf_addc(&b, '`');
	part = sink_fit(d->code != NULL ? d->code : "?",
	    SINK_SLACK_DIGEST_CODE, SINK_SLACK_DIGEST_CODE, sink_slack_flat);
	buf_adds(&b, part);
	free(part);
	buf_addc(&b, '`');
	sink_digest_tail(&b, d->post, max, sink_slack_flat);
	return buf_steal(&b);
}

/*
 * n posts as one message: a header, then the lines packed into
 * sections.  Each line is cut so that any k = ceil(n / 49) of them fit
 * one section; packing in order then needs at most 49 sections.
 */
static json_t *
sink_slack_digest(const struct delivery *const *d, size_t n)
{
	const size_t	 sections = SINK_SLACK_BLOCKS_MAX - 1;
	size_t		 k = (n + sections - 1) / sections, max, i;
	struct buf	 sec, b;
	json_t		*blocks, *msg;
	char		*line, *fallback;
	const char	*team = d[0]->destination != NULL ?
	    d[0]->destination : d[0]->team;

	max = SINK_SLACK_SECTION_MAX / k - 1;
	if (max > SINK_SLACK_SECTION_MAX)
		max = SINK_SLACK_SECTION_MAX;
	blocks = json_array();
	buf_init(&b);
	buf_printf(&b, "_Digest:_ *%zu posts* for team *", n);
	sink_slack_escape(&b, team);
	buf_adds(&b, "*, too many to post one by one \xc2\xb7 "
	    "`/sb show CODE` shows one");
	json_array_append_new(blocks, json_pack("{s:s, s:{s:s, s:s}}",
	    "type", "section", "text", "type", "mrkdwn", "text", b.data));
	buf_reset(&b);
	buf_init(&sec);
	buf_adds(&sec, "");
	for (i = 0; i < n; i++) {
		line = sink_slack_digest_line(d[i], max);
		if (sec.len > 0 && text_chars(sec.data) + 1 + text_chars(line) >
		    SINK_SLACK_SECTION_MAX) {
			json_array_append_new(blocks, json_pack(
			    "{s:s, s:{s:s, s:s}}", "type", "section", "text",
			    "type", "mrkdwn", "text", sec.data));
			buf_reset(&sec);
			buf_adds(&sec, "");
		}
		if (sec.len > 0)
			buf_addc(&sec, '\n');
		buf_adds(&sec, line);
		free(line);
	}
	json_array_append_new(blocks, json_pack("{s:s, s:{s:s, s:s}}",
	    "type", "section", "text", "type", "mrkdwn", "text", sec.data));
	buf_free(&sec);

	/* "[care] Digest of 20 posts: K7QX, J4PN, …" */
	buf_adds(&b, "[");
	sink_slack_escape(&b, team);
	buf_printf(&b, "] Digest of %zu posts:", n);
	for (i = 0; i < n && text_chars(b.data) < SINK_SLACK_FALLBACK_MAX;
	    i++) {
		buf_adds(&b, i == 0 ? " " : ", ");
		sink_slack_escape(&b, d[i]->code != NULL ? d[i]->code : "?");
	}
	fallback = text_truncate(b.data, SINK_SLACK_FALLBACK_MAX);
	buf_free(&b);
	msg = json_pack("{s:s, s:o, s:b, s:b}", "text", fallback,
	    "blocks", blocks, "unfurl_links", 0, "unfurl_media", 0);
	free(fallback);
	return msg;
}

static int
sink_slack_format_digest(const struct chat_conf *chat,
    const struct delivery *const *d, size_t n, struct http_request *req,
    char **cause)
{
	const struct sink_slack_settings	*st = chat->settings;
	size_t					 i;

	if (n == 0) {
		*cause = xstrdup("slack: empty digest");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (d[i]->post == NULL || d[i]->kind != DELIVERY_POST) {
			*cause = xstrdup("slack: a digest lists posts only");
			return -1;
		}
	}
	if (st != NULL)
		return sink_slack_api(st, "chat.postMessage",
		    sink_slack_digest(d, n), NULL, NULL, req, cause);
	if (chat->webhook_url == NULL || *chat->webhook_url == '\0') {
		*cause = xstrdup("slack: no webhook_url");
		return -1;
	}
	return sink_json_request(req, "slack", chat->webhook_url,
	    "application/json; charset=utf-8", sink_slack_digest(d, n), cause);
}

/* Web API errors that a later attempt may not meet (api.slack.com). */
static const char *const sink_slack_transient[] = {
	"ratelimited", "rate_limited", "internal_error", "fatal_error",
	"service_unavailable", "request_timeout", NULL
};

/*
 * The Web API answers HTTP 200 whether or not it did anything: "ok"
 * says which, "error" why not, "ts" what it posted.  An answer that is
 * not Slack's (a proxy's page) may hide a message that went out, but
 * cannot prove one did: it is tried again.
 */
static enum sink_result
sink_slack_response(const struct chat_conf *chat,
    const struct http_response *resp, struct sink_answer *a)
{
	struct http_response	 copy;
	enum sink_result	 result;
	json_t			*j = NULL, *ok;
	const char		*err, *ts;
	size_t			 i;

	if (chat == NULL || chat->settings == NULL)
		return sink_classify(resp, a);
	if (resp->body != NULL && resp->body_len > 0)
		j = json_loadb(resp->body, resp->body_len, 0, NULL);
	err = json_string_value(json_object_get(j, "error"));
	if (resp->status < 200 || resp->status > 299) {
		copy = *resp;
		if (err != NULL && *err != '\0') {
			copy.body = err;
			copy.body_len = strlen(err);
		}
		result = sink_classify(&copy, a);
		json_decref(j);
		return result;
	}
	free(a->cause);
	a->cause = NULL;
	ok = json_object_get(j, "ok");
	if (!json_is_boolean(ok)) {
		copy = *resp;
		copy.status = 502;	/* only for the cause's wording */
		result = sink_classify(&copy, a);
		free(a->cause);
		a->cause = xasprintf("slack: not a Web API answer (HTTP %ld)",
		    resp->status);
		json_decref(j);
		return result;
	}
	if (json_is_true(ok)) {
		ts = json_string_value(json_object_get(j, "ts"));
		if (ts != NULL && *ts != '\0')
			a->message_id = xstrdup(ts);
		json_decref(j);
		return SINK_OK;
	}
	if (err == NULL || *err == '\0')
		err = "unknown error";
	result = SINK_FAIL;
	for (i = 0; sink_slack_transient[i] != NULL; i++)
		if (strcmp(err, sink_slack_transient[i]) == 0)
			result = SINK_RETRY;
	if (result == SINK_RETRY && resp->retry_after >= 0)
		a->retry_after_s = resp->retry_after;
	a->cause = xasprintf("slack: %s", err);
	/* Hostile text cannot reach a log line through the error name. */
	for (i = 0; a->cause[i] != '\0'; i++)
		if ((unsigned char)a->cause[i] < 0x20 || a->cause[i] == 0x7f)
			a->cause[i] = '?';
	json_decref(j);
	return result;
}

static void
sink_slack_settings_free(void *p)
{
	struct sink_slack_settings	*st = p;

	if (st == NULL)
		return;
	free(st->token);
	free(st->channel);
	free(st->api_url);
	free(st);
}

/*
 * Web API mode when a bot token is set: it needs the channel's id
 * (channel, else the team's channel_id) and replaces the webhook.
 */
static int
sink_slack_configure(struct chat_conf *chat, const config_setting_t *group,
    struct cfg_errors *errs)
{
	struct sink_slack_settings	*st;
	const config_setting_t		*s;
	char				*token = NULL;
	size_t				 len;
	int				 rc = 0;

	if (group == NULL)
		return 0;
	if (cfg_string(group, "token", CFG_SECRET, NULL, &token, errs) != 1) {
		free(token);
		if ((s = config_setting_get_member(group, "channel")) != NULL ||
		    (s = config_setting_get_member(group, "api_url")) != NULL) {
			cfg_error(errs, s, "only with \"token\" (the Web API)");
			return -1;
		}
		return 0;
	}
	st = xcalloc(1, sizeof(*st));
	st->token = token;
	if (chat->webhook_url != NULL) {
		cfg_error(errs, cfg_secret_setting(group, "webhook_url"),
		    "give either webhook_url or token, not both");
		rc = -1;
	}
	if (strncmp(token, "xox", 3) != 0) {
		cfg_error(errs, cfg_secret_setting(group, "token"),
		    "must be a Slack bot token (xoxb-...)");
		rc = -1;
	}
	if (cfg_string(group, "channel", 0, NULL, &st->channel, errs) == 0)
		st->channel = xstrdup(chat->channel_id);
	if (st->channel == NULL || *st->channel == '\0') {
		cfg_error(errs, group, "the Web API needs \"channel\" (a "
		    "channel id such as C0123ABCD) or \"channel_id\"");
		rc = -1;
	}
	cfg_string(group, "api_url", 0, SINK_SLACK_API_URL, &st->api_url,
	    errs);
	if (st->api_url == NULL || !url_scheme_ok(st->api_url, "https",
	    "http")) {
		cfg_error(errs, config_setting_get_member(group, "api_url"),
		    "the URL must start with https:// (http:// only for "
		    "127.0.0.1, localhost or [::1])");
		rc = -1;
	} else {
		len = strlen(st->api_url);
		while (len > 0 && st->api_url[len - 1] == '/')
			st->api_url[--len] = '\0';
	}
	if (rc != 0) {
		sink_slack_settings_free(st);
		return -1;
	}
	chat->settings = st;
	return 0;
}

const struct sink_ops sink_slack_ops = {
	.type = "slack",
	.keys = sink_slack_keys,
	.needs_url = 1,
	/* Slack allows about one message a second per channel, with short
	 * bursts; going faster only earns 429s. */
	.default_rate = 1.0,
	.default_burst = 3,
	.configure = sink_slack_configure,
	.settings_free = sink_slack_settings_free,
	.format = sink_slack_format,
	.format_digest = sink_slack_format_digest,
	.response = sink_slack_response
};
