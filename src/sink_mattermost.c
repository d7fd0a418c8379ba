/*
 * The Mattermost adapter: a delivery as one Markdown post, through an
 * incoming webhook or REST API v4 with a token (posts into the
 * conversation's thread by root_id, a patch for an edit of a post it
 * knows), and a digest of many posts as one Markdown list.
 */
#include <jansson.h>
#include <math.h>
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

/* A post longer than this is split by the server (since v5.0); a
 * digest is one post.  Through a webhook, digests keep to 4000. */
#define SINK_MATTERMOST_POST_MAX	16383
#define SINK_MATTERMOST_WEBHOOK_DIGEST_MAX	4000
#define SINK_MATTERMOST_DIGEST_CODE	16
/* X-Ratelimit-Reset above this is a Unix time, below it a delay. */
#define SINK_MATTERMOST_EPOCH_MIN	1000000000.0

#define SINK_MATTERMOST_ZWSP		"\xe2\x80\x8b"
#define SINK_MATTERMOST_DOT		" \xc2\xb7 "

/* API v4 mode: what configure read; NULL settings is webhook mode. */
struct sink_mattermost_settings {
	char	*token;		/* personal access or bot token */
	char	*channel;	/* channel id */
	char	*url;		/* server base, no trailing '/' */
};

static const char *const sink_mattermost_keys[] = {
	"token", "channel", "url", NULL
};

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

/*
 * Fill req for API v4: a new post in channel (a reply in thread when
 * set), or, with patch, the patch of that post's message.
 */
static int
sink_mattermost_api(const struct sink_mattermost_settings *st,
    const char *md, const char *thread, const char *patch,
    struct http_request *req, char **cause)
{
	struct buf	 url;
	json_t		*msg;
	const char	*p;
	int		 rc;

	buf_init(&url);
	buf_adds(&url, st->url);
	if (patch != NULL) {
		/* Ids are 26 letters and digits; anything else is encoded
		 * so it cannot leave the path. */
		buf_adds(&url, "/api/v4/posts/");
		for (p = patch; *p != '\0'; p++) {
			if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' &&
			    *p <= 'Z') || (*p >= '0' && *p <= '9'))
				buf_addc(&url, *p);
			else
				buf_printf(&url, "%%%02X", (unsigned char)*p);
		}
		buf_adds(&url, "/patch");
		msg = json_pack("{s:s}", "message", md);
	} else {
		buf_adds(&url, "/api/v4/posts");
		msg = json_pack("{s:s, s:s}", "channel_id", st->channel,
		    "message", md);
		if (msg != NULL && thread != NULL)
			json_object_set_new(msg, "root_id",
			    json_string(thread));
	}
	rc = sink_json_request(req, "mattermost", url.data,
	    "application/json", msg, cause);
	buf_free(&url);
	if (rc == 0) {
		if (patch != NULL)
			req->method = "PUT";
		strv_take(&req->headers, xasprintf("Authorization: Bearer %s",
		    st->token));
	}
	return rc;
}

static int
sink_mattermost_format(const struct chat_conf *chat,
    const struct delivery *d, struct http_request *req, char **cause)
{
	const struct sink_mattermost_settings	*st = chat->settings;
	char					*md;
	json_t					*msg;
	int					 rc;

	if (st == NULL && (chat->webhook_url == NULL ||
	    *chat->webhook_url == '\0')) {
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
	if (st != NULL) {
		/* An edit patches the post that showed it; all else goes
		 * into the conversation's thread. */
		rc = sink_mattermost_api(st, md, d->thread,
		    d->kind == DELIVERY_EDIT ? d->message : NULL, req, cause);
		free(md);
		return rc;
	}
	msg = json_pack("{s:s}", "text", md);
	free(md);
	return sink_json_request(req, "mattermost", chat->webhook_url,
	    "application/json", msg, cause);
}

/* s escaped as inline text with line breaks as spaces. */
static char *
sink_mattermost_flat(const char *s)
{
	struct sink_walk	w;
	struct buf		b, out;

	buf_init(&b);
	buf_adds(&b, "");
	sink_walk_init(&w, s);
	while (sink_walk_next(&w)) {
		if (w.cp == '\n' || w.cp == '\t')
			buf_addc(&b, ' ');
		else
			buf_add(&b, w.p, w.len);
	}
	buf_init(&out);
	buf_adds(&out, "");
	sink_mattermost_escape(&out, b.data, false);
	buf_free(&b);
	return buf_steal(&out);
}

/* s as a code span, cut to at most max characters of s. */
static char *
sink_mattermost_code_cut(const char *s, size_t max)
{
	struct buf	 b;
	char		*cut = text_truncate(s, max);

	buf_init(&b);
	sink_mattermost_code(&b, cut);
	free(cut);
	return buf_steal(&b);
}

/* "- `K7QX` @alice.example: the first 80 characters", at most max
 * characters: the code always, then as much of the rest as fits. */
static char *
sink_mattermost_digest_line(const struct delivery *d, size_t max)
{
	struct buf	 b;
	char		*part;

	buf_init(&b);
	buf_adds(&b, "- ");
	part = sink_mattermost_code_cut(d->code != NULL ? d->code : "?",
	    SINK_MATTERMOST_DIGEST_CODE);
	buf_adds(&b, part);
	free(part);
	sink_digest_tail(&b, d->post, max, sink_mattermost_flat);
	return buf_steal(&b);
}

/* n posts as one Markdown list within limit characters. */
static char *
sink_mattermost_digest(const struct delivery *const *d, size_t n,
    size_t limit)
{
	struct buf	 b;
	char		*line;
	size_t		 i, max;
	const char	*team = d[0]->destination != NULL ?
	    d[0]->destination : d[0]->team;

	buf_init(&b);
	buf_printf(&b, "*Digest:* **%zu posts** for team ", n);
	sink_mattermost_code(&b, team);
	buf_adds(&b, ", too many to post one by one" SINK_MATTERMOST_DOT
	    "`/sb show CODE` shows one\n");
	max = (limit - text_chars(b.data)) / n - 1;
	for (i = 0; i < n; i++) {
		line = sink_mattermost_digest_line(d[i], max);
		buf_addc(&b, '\n');
		buf_adds(&b, line);
		free(line);
	}
	return buf_steal(&b);
}

static int
sink_mattermost_format_digest(const struct chat_conf *chat,
    const struct delivery *const *d, size_t n, struct http_request *req,
    char **cause)
{
	const struct sink_mattermost_settings	*st = chat->settings;
	size_t					 i;
	char					*md;
	json_t					*msg;
	int					 rc;

	if (n == 0) {
		*cause = xstrdup("mattermost: empty digest");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (d[i]->post == NULL || d[i]->kind != DELIVERY_POST) {
			*cause = xstrdup("mattermost: a digest lists posts "
			    "only");
			return -1;
		}
	}
	if (st != NULL) {
		md = sink_mattermost_digest(d, n, SINK_MATTERMOST_POST_MAX);
		rc = sink_mattermost_api(st, md, NULL, NULL, req, cause);
		free(md);
		return rc;
	}
	if (chat->webhook_url == NULL || *chat->webhook_url == '\0') {
		*cause = xstrdup("mattermost: no webhook_url");
		return -1;
	}
	md = sink_mattermost_digest(d, n, SINK_MATTERMOST_WEBHOOK_DIGEST_MAX);
	msg = json_pack("{s:s}", "text", md);
	free(md);
	return sink_json_request(req, "mattermost", chat->webhook_url,
	    "application/json", msg, cause);
}

/*
 * Seconds until the rate limit resets, from X-Ratelimit-Reset: Unix
 * seconds by the API documentation, a delay on some servers; -1 if
 * absent or unreadable.
 */
static double
sink_mattermost_reset(const struct http_response *resp)
{
	const char	*v = http_response_header(resp, "x-ratelimit-reset");
	char		*end;
	double		 t;

	if (v == NULL)
		return -1;
	t = strtod(v, &end);
	if (end == v || !isfinite(t) || t < 0)
		return -1;
	while (*end == ' ' || *end == '\t')
		end++;
	if (*end != '\0')
		return -1;
	if (t >= SINK_MATTERMOST_EPOCH_MIN) {
		t -= (double)now_wall_ms() / 1000.0;
		if (t < 0)
			t = 0;
	}
	return t;
}

/*
 * Mattermost explains errors in JSON ({"message": "Unable to parse
 * incoming data", ...}); quote that message rather than the raw JSON,
 * which would be cut before it said anything useful.  A 429 may say
 * when to come back in X-Ratelimit-Reset alone, and a success that
 * spent the last request of the window says so too.
 */
static enum sink_result
sink_mattermost_response(const struct chat_conf *chat,
    const struct http_response *resp, struct sink_answer *a)
{
	struct http_response	 copy;
	enum sink_result	 result;
	json_t			*j = NULL;
	const char		*message, *id, *left;

	if (resp->body != NULL && resp->body_len > 0 &&
	    (resp->status >= 300 || (chat != NULL && chat->settings != NULL)))
		j = json_loadb(resp->body, resp->body_len, 0, NULL);
	copy = *resp;
	message = json_string_value(json_object_get(j, "message"));
	if (resp->status >= 300 && message != NULL && *message != '\0') {
		copy.body = message;
		copy.body_len = strlen(message);
	}
	result = sink_classify(&copy, a);
	if (result == SINK_RETRY && resp->status == 429 &&
	    a->retry_after_s < 0)
		a->retry_after_s = sink_mattermost_reset(resp);
	if (result == SINK_OK) {
		left = http_response_header(resp, "x-ratelimit-remaining");
		if (left != NULL && strcmp(left, "0") == 0)
			a->retry_after_s = sink_mattermost_reset(resp);
		id = json_string_value(json_object_get(j, "id"));
		if (chat != NULL && chat->settings != NULL && id != NULL &&
		    *id != '\0')
			a->message_id = xstrdup(id);
	}
	json_decref(j);
	return result;
}

static void
sink_mattermost_settings_free(void *p)
{
	struct sink_mattermost_settings	*st = p;

	if (st == NULL)
		return;
	free(st->token);
	free(st->channel);
	free(st->url);
	free(st);
}

/*
 * API v4 mode when a token is set: it needs the server (url) and the
 * channel's id (channel, else the team's channel_id), and replaces the
 * webhook.
 */
static int
sink_mattermost_configure(struct chat_conf *chat,
    const config_setting_t *group, struct cfg_errors *errs)
{
	struct sink_mattermost_settings	*st;
	const config_setting_t		*s;
	char				*token = NULL;
	size_t				 len;
	int				 rc = 0;

	if (group == NULL)
		return 0;
	if (cfg_string(group, "token", CFG_SECRET, NULL, &token, errs) != 1) {
		free(token);
		if ((s = config_setting_get_member(group, "channel")) != NULL ||
		    (s = config_setting_get_member(group, "url")) != NULL) {
			cfg_error(errs, s, "only with \"token\" (API v4)");
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
	if (cfg_string(group, "channel", 0, NULL, &st->channel, errs) == 0)
		st->channel = xstrdup(chat->channel_id);
	if (st->channel == NULL || *st->channel == '\0') {
		cfg_error(errs, group, "API v4 needs \"channel\" (a channel "
		    "id) or \"channel_id\"");
		rc = -1;
	}
	if (cfg_string(group, "url", CFG_REQUIRED, NULL, &st->url,
	    errs) == 1 && !url_scheme_ok(st->url, "https", "http")) {
		cfg_error(errs, config_setting_get_member(group, "url"),
		    "the URL must start with https:// (http:// only for "
		    "127.0.0.1, localhost or [::1])");
		rc = -1;
	} else if (st->url == NULL)
		rc = -1;
	else {
		len = strlen(st->url);
		while (len > 0 && st->url[len - 1] == '/')
			st->url[--len] = '\0';
	}
	if (rc != 0) {
		sink_mattermost_settings_free(st);
		return -1;
	}
	chat->settings = st;
	return 0;
}

const struct sink_ops sink_mattermost_ops = {
	.type = "mattermost",
	.keys = sink_mattermost_keys,
	.needs_url = 1,
	.default_rate = 10.0,
	.default_burst = 10,
	.configure = sink_mattermost_configure,
	.settings_free = sink_mattermost_settings_free,
	.format = sink_mattermost_format,
	.format_digest = sink_mattermost_format_digest,
	.response = sink_mattermost_response
};
