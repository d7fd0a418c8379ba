/* The Matrix client-server adapter: a delivery as an m.room.message
 * event sent with an idempotent transaction id, threaded with m.thread. */
#include <jansson.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink.h"
#include "text.h"

/*
 * Matrix caps a whole event at 65,536 bytes.  The text is cut to 2,000
 * code points: at most 8 KB plain and 12 KB as HTML ("&quot;" is the
 * longest escape), twice that in an edit (fallback and new content),
 * which leaves ample room for everything else.
 */
#define SINK_MATRIX_TEXT_MAX	2000
#define SINK_MATRIX_NOTE_MAX	2000
#define SINK_MATRIX_LANGS_MAX	40
/* A digest line's excerpt at most; shortened until the event fits. */
#define SINK_MATRIX_EXCERPT_MAX	200
#define SINK_MATRIX_EVENT_BUDGET	60000

#define SINK_MATRIX_DOT		" \xc2\xb7 "

struct sink_matrix_settings {
	char	*homeserver;	/* base URL, no trailing '/' */
	char	*room_id;	/* "!opaque:example.org" */
	char	*access_token;	/* secret */
};

static const char *const sink_matrix_keys[] = {
	"homeserver", "room_id", "access_token", NULL
};

/*
 * Append s as HTML text: the five characters HTML gives meaning to as
 * entities, line breaks as <br>, control characters and invalid bytes
 * as U+FFFD.  No tag or mention pill can come from user text.
 */
static void
sink_matrix_html(struct buf *b, const char *s)
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
		else if (w.cp == '"')
			buf_adds(b, "&quot;");
		else if (w.cp == '\'')
			buf_adds(b, "&#39;");
		else if (w.cp == '\n')
			buf_adds(b, "<br>");
		else if (w.cp != '\t' && text_control(w.cp))
			buf_adds(b, SINK_REPLACEMENT);
		else
			buf_add(b, w.p, w.len);
	}
}

/* Append s as plain text: newlines kept, other controls as U+FFFD. */
static void
sink_matrix_plain(struct buf *b, const char *s)
{
	struct sink_walk	w;

	sink_walk_init(&w, s);
	while (sink_walk_next(&w)) {
		if (w.cp == '\n')
			buf_addc(b, '\n');
		else if (w.cp == SINK_WALK_INVALID ||
		    (w.cp != '\t' && text_control(w.cp)))
			buf_adds(b, SINK_REPLACEMENT);
		else
			buf_add(b, w.p, w.len);
	}
}

/* Append s on one line (a newline becomes a space). */
static void
sink_matrix_line(struct buf *b, const char *s, bool html)
{
	char	*one = xstrdup(s != NULL ? s : ""), *p;

	for (p = one; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (html)
		sink_matrix_html(b, one);
	else
		sink_matrix_plain(b, one);
	free(one);
}

/* The post's URL if it is http(s), percent-encoded; else NULL. */
static char *
sink_matrix_url(const char *url)
{
	struct buf	b;

	if (url == NULL || (strncmp(url, "https://", 8) != 0 &&
	    strncmp(url, "http://", 7) != 0))
		return NULL;
	buf_init(&b);
	sink_url_encode(&b, url);
	return buf_steal(&b);
}

/*
 * "team care · rule care/complaints · conversation K7QX · en · reply",
 * in plain text or with the names as <code>.
 */
static void
sink_matrix_context(struct buf *b, const struct delivery *d, bool html)
{
	const char	*open = html ? "<code>" : "", *close = html ?
			    "</code>" : "";
	char		*langs;

	buf_printf(b, "team %s", open);
	sink_matrix_line(b, d->team != NULL ? d->team : d->destination, html);
	buf_printf(b, "%s" SINK_MATRIX_DOT "rule %s", close, open);
	sink_matrix_line(b, d->rule != NULL ? d->rule : "?", html);
	buf_adds(b, close);
	if (d->code != NULL) {
		buf_printf(b, SINK_MATRIX_DOT "conversation %s", open);
		sink_matrix_line(b, d->code, html);
		buf_adds(b, close);
	}
	if (d->post->langs.n > 0) {
		buf_adds(b, SINK_MATRIX_DOT);
		langs = sink_langs(d->post, SINK_MATRIX_LANGS_MAX);
		sink_matrix_line(b, langs, html);
		free(langs);
	}
	if (d->post->reply_root != NULL || d->post->reply_parent != NULL)
		buf_adds(b, SINK_MATRIX_DOT "reply");
	if (sink_is_private(d->post))
		buf_adds(b, html ? SINK_MATRIX_DOT "<strong>private</strong>" :
		    SINK_MATRIX_DOT "private");
	/* A watcher's copy: the team above owns the conversation. */
	if (d->team != NULL && d->destination != NULL &&
	    strcmp(d->team, d->destination) != 0) {
		buf_adds(b, SINK_MATRIX_DOT "copy for ");
		sink_matrix_line(b, d->destination, html);
	}
}

/*
 * A post as a plain body and its HTML form:
 *	@alice on Bluesky · https://bsky.app/...
 *	the text
 *	team care · rule care/complaints · conversation K7QX · en
 */
static void
sink_matrix_post(const struct delivery *d, struct buf *plain,
    struct buf *html)
{
	const struct post	*p = d->post;
	const char		*network = sink_platform_name(p->platform);
	const char		*label = sink_kind_label(d);
	char			*author, *url, *text;

	buf_adds(plain, "");
	buf_adds(html, "<p>");
	if (label != NULL) {
		buf_printf(plain, "%s: ", label);
		buf_printf(html, "<em>%s:</em> ", label);
	}
	author = sink_author(p);
	sink_matrix_line(plain, author, false);
	buf_adds(html, "<strong>");
	sink_matrix_line(html, author, true);
	buf_adds(html, "</strong>");
	free(author);
	buf_printf(plain, " on %s", network);
	buf_adds(html, " on ");
	sink_matrix_html(html, network);
	url = sink_matrix_url(p->url);
	if (url != NULL) {
		buf_printf(plain, SINK_MATRIX_DOT "%s", url);
		buf_adds(html, SINK_MATRIX_DOT "<a href=\"");
		sink_matrix_html(html, url);
		buf_adds(html, "\">view on ");
		sink_matrix_html(html, network);
		buf_adds(html, "</a>");
		free(url);
	}
	buf_adds(html, "</p>\n<blockquote>");
	buf_addc(plain, '\n');
	/* Image-only posts are real and common; say so instead of "". */
	if (p->text == NULL || *p->text == '\0') {
		buf_adds(plain, "(no text)");
		buf_adds(html, "<em>(no text)</em>");
	} else {
		text = text_truncate(p->text, SINK_MATRIX_TEXT_MAX);
		sink_matrix_plain(plain, text);
		sink_matrix_html(html, text);
		free(text);
	}
	buf_adds(html, "</blockquote>\n<p>");
	buf_addc(plain, '\n');
	sink_matrix_context(plain, d, false);
	sink_matrix_context(html, d, true);
	buf_adds(html, "</p>");
}

/* A note: "K7QX · Reply by alice published: URL", URLs as links. */
static void
sink_matrix_note(const struct delivery *d, struct buf *plain,
    struct buf *html)
{
	const char	*p, *end;
	char		*cut, *word, *url;

	buf_adds(plain, "");
	buf_adds(html, "");
	if (d->code != NULL) {
		sink_matrix_line(plain, d->code, false);
		buf_adds(plain, SINK_MATRIX_DOT);
		buf_adds(html, "<code>");
		sink_matrix_line(html, d->code, true);
		buf_adds(html, "</code>" SINK_MATRIX_DOT);
	}
	cut = text_truncate(d->note, SINK_MATRIX_NOTE_MAX);
	sink_matrix_plain(plain, cut);
	for (p = cut; *p != '\0'; p = end) {
		end = p;
		if (strncmp(p, "https://", 8) == 0 ||
		    strncmp(p, "http://", 7) == 0) {
			while (*end != '\0' && *end != ' ' && *end != '\n')
				end++;
			word = xstrndup(p, (size_t)(end - p));
			url = sink_matrix_url(word);
			buf_adds(html, "<a href=\"");
			sink_matrix_html(html, url);
			buf_adds(html, "\">");
			sink_matrix_html(html, word);
			buf_adds(html, "</a>");
			free(url);
			free(word);
			continue;
		}
		/* Up to the next URL that starts a word. */
		while (*end != '\0' && !(end != p && (end[-1] == ' ' ||
		    end[-1] == '\n') && (strncmp(end, "https://", 8) == 0 ||
		    strncmp(end, "http://", 7) == 0)))
			end++;
		word = xstrndup(p, (size_t)(end - p));
		sink_matrix_html(html, word);
		free(word);
	}
	free(cut);
}

/* m.room.message content; "m.mentions": {} says it mentions nobody, so
 * no "@room" or name in user text notifies anyone (Matrix 1.7). */
static json_t *
sink_matrix_content(const char *plain, const char *html)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:{}}", "msgtype", "m.text",
	    "body", plain, "format", "org.matrix.custom.html",
	    "formatted_body", html, "m.mentions");
}

/*
 * Whether id looks like an event id ("$..."; room version 3 ids hold
 * '/' and '+'): one recorded by another platform (the team's chat type
 * changed) must not become a relation.
 */
static bool
sink_matrix_event_id(const char *id)
{
	return id != NULL && id[0] == '$' && id[1] != '\0' &&
	    strlen(id) <= 255 && strpbrk(id, " \t\r\n\"") == NULL;
}

/*
 * The transaction id: the delivery's id, made unique to this delivery
 * even across a store that was reset (ids start again at 1) by a hash
 * of what it shows where.  Every retry of the delivery computes the
 * same one, so the homeserver answers a retry of a send that went
 * through with the same event instead of posting it twice.
 */
static char *
sink_matrix_txn(const char *prefix, const struct delivery *const *d,
    size_t n)
{
	EVP_MD_CTX	*ctx = EVP_MD_CTX_new();
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	char		 hex[2 * EVP_MAX_MD_SIZE + 1], *txn;
	char		 kind[32];
	size_t		 i;

#define SINK_MATRIX_HASH(s) do {					\
	const char	*s_ = (s) != NULL ? (s) : "";			\
	EVP_DigestUpdate(ctx, s_, strlen(s_) + 1);			\
} while (0)
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		snprintf(kind, sizeof(kind), "%lld/%d", (long long)d[i]->id,
		    (int)d[i]->kind);
		SINK_MATRIX_HASH(kind);
		SINK_MATRIX_HASH(d[i]->destination);
		SINK_MATRIX_HASH(d[i]->post != NULL ?
		    d[i]->post->platform : NULL);
		SINK_MATRIX_HASH(d[i]->post != NULL ? d[i]->post->id : NULL);
		SINK_MATRIX_HASH(d[i]->note);
	}
#undef SINK_MATRIX_HASH
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen < 8) {
		EVP_MD_CTX_free(ctx);
		return NULL;
	}
	EVP_MD_CTX_free(ctx);
	hex_encode(md, 8, hex);
	if (n == 1)
		txn = xasprintf("%s-%lld-%s", prefix, (long long)d[0]->id, hex);
	else
		txn = xasprintf("%s-%lld-%zu-%s", prefix, (long long)d[0]->id,
		    n, hex);
	return txn;
}

/* Append the room id percent-encoded as one path segment. */
static void
sink_matrix_segment(struct buf *b, const char *s)
{
	const unsigned char	*u;

	for (u = (const unsigned char *)s; *u != '\0'; u++) {
		if ((*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z') ||
		    (*u >= '0' && *u <= '9') || strchr("-._~", *u) != NULL)
			buf_addc(b, (char)*u);
		else
			buf_printf(b, "%%%02X", *u);
	}
}

/* Fill req: PUT content to the room under txn.  Takes content. */
static int
sink_matrix_request(const struct chat_conf *chat, struct http_request *req,
    const char *txn, json_t *content, char **cause)
{
	const struct sink_matrix_settings	*s = chat->settings;
	struct buf				 url;
	int					 rc;

	if (txn == NULL) {
		json_decref(content);
		*cause = xstrdup("matrix: cannot derive a transaction id");
		return -1;
	}
	buf_init(&url);
	buf_printf(&url, "%s/_matrix/client/v3/rooms/", s->homeserver);
	sink_matrix_segment(&url, s->room_id);
	buf_adds(&url, "/send/m.room.message/");
	sink_matrix_segment(&url, txn);
	rc = sink_json_request(req, "matrix", url.data, "application/json",
	    content, cause);
	buf_free(&url);
	if (rc != 0)
		return -1;
	req->method = "PUT";
	/* Only in the header: query-string tokens are no longer
	 * supported, and URLs end up in logs. */
	strv_take(&req->headers, xasprintf("Authorization: Bearer %s",
	    s->access_token));
	return 0;
}

static int
sink_matrix_ready(const struct chat_conf *chat, char **cause)
{
	const struct sink_matrix_settings	*s = chat->settings;

	if (s == NULL || s->homeserver == NULL || s->room_id == NULL ||
	    s->access_token == NULL) {
		*cause = xstrdup("matrix: homeserver, room_id and "
		    "access_token are required");
		return -1;
	}
	return 0;
}

static int
sink_matrix_format(const struct chat_conf *chat, const struct delivery *d,
    struct http_request *req, char **cause)
{
	struct buf	 plain, html;
	json_t		*content, *rel;
	char		*txn, *star, *star_html;
	int		 rc;

	if (sink_matrix_ready(chat, cause) != 0)
		return -1;
	if (d->post == NULL && !(d->kind == DELIVERY_NOTE && d->note != NULL)) {
		*cause = xstrdup("matrix: delivery has no post");
		return -1;
	}
	buf_init(&plain);
	buf_init(&html);
	if (d->kind == DELIVERY_NOTE && d->note != NULL)
		sink_matrix_note(d, &plain, &html);
	else
		sink_matrix_post(d, &plain, &html);
	content = sink_matrix_content(plain.data, html.data);

	if (content != NULL && (d->kind == DELIVERY_EDIT ||
	    d->kind == DELIVERY_DELETE) && sink_matrix_event_id(d->message)) {
		/*
		 * Replace the message that showed the post.  The fallback
		 * for clients without edits is marked with "* "; the
		 * original keeps its place in the thread.
		 */
		json_t	*edit;

		star = xasprintf("* %s", plain.data);
		star_html = xasprintf("* %s", html.data);
		edit = json_pack("{s:s, s:s, s:s, s:s, s:{}, s:o, "
		    "s:{s:s, s:s}}", "msgtype", "m.text", "body", star,
		    "format", "org.matrix.custom.html", "formatted_body",
		    star_html, "m.mentions", "m.new_content", content,
		    "m.relates_to",
		    "rel_type", "m.replace", "event_id", d->message);
		free(star);
		free(star_html);
		content = edit;
	} else if (content != NULL && sink_matrix_event_id(d->thread)) {
		/*
		 * In the conversation's thread.  Clients without threads
		 * see a reply instead; its target should be the thread's
		 * latest message, which only the root stands for here.
		 */
		rel = json_pack("{s:s, s:s, s:b, s:{s:s}}", "rel_type",
		    "m.thread", "event_id", d->thread, "is_falling_back", 1,
		    "m.in_reply_to", "event_id", d->thread);
		json_object_set_new(content, "m.relates_to", rel);
	}
	buf_free(&plain);
	buf_free(&html);
	txn = sink_matrix_txn("sb", &d, 1);
	rc = sink_matrix_request(chat, req, txn, content, cause);
	free(txn);
	return rc;
}

/* One digest entry: "K7QX @alice on Bluesky: excerpt URL". */
static void
sink_matrix_digest_item(const struct delivery *d, size_t excerpt,
    struct buf *plain, struct buf *html)
{
	const struct post	*p = d->post;
	const char		*network = sink_platform_name(p->platform);
	char			*author, *cut, *url;

	author = sink_author(p);
	buf_adds(plain, "\n\xe2\x80\xa2 ");
	sink_matrix_line(plain, d->code != NULL ? d->code : "?", false);
	buf_addc(plain, ' ');
	sink_matrix_line(plain, author, false);
	buf_printf(plain, " on %s", network);
	buf_adds(html, "<li><code>");
	sink_matrix_line(html, d->code != NULL ? d->code : "?", true);
	buf_adds(html, "</code> <strong>");
	sink_matrix_line(html, author, true);
	buf_adds(html, "</strong> on ");
	free(author);
	url = excerpt > 0 ? sink_matrix_url(p->url) : NULL;
	if (url != NULL) {
		buf_adds(html, "<a href=\"");
		sink_matrix_html(html, url);
		buf_adds(html, "\">");
		sink_matrix_html(html, network);
		buf_adds(html, "</a>");
	} else
		sink_matrix_html(html, network);
	if (excerpt > 0 && p->text != NULL && *p->text != '\0') {
		cut = text_truncate(p->text, excerpt);
		buf_adds(plain, ": ");
		sink_matrix_line(plain, cut, false);
		buf_adds(html, ": ");
		sink_matrix_line(html, cut, true);
		free(cut);
	}
	if (url != NULL)
		buf_printf(plain, " %s", url);
	buf_adds(html, "</li>");
	free(url);
}

static int
sink_matrix_format_digest(const struct chat_conf *chat,
    const struct delivery *const *d, size_t n, struct http_request *req,
    char **cause)
{
	struct buf	 plain, html;
	size_t		 excerpt = SINK_MATRIX_EXCERPT_MAX, i;
	const char	*dest;
	json_t		*content;
	char		*txn, *body;
	int		 rc;

	if (sink_matrix_ready(chat, cause) != 0)
		return -1;
	if (n == 0) {
		*cause = xstrdup("matrix: empty digest");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (d[i]->post == NULL) {
			*cause = xstrdup("matrix: digest delivery has no post");
			return -1;
		}
	}
	dest = d[0]->destination != NULL ? d[0]->destination : "this room";
	for (;;) {
		buf_init(&plain);
		buf_init(&html);
		buf_printf(&plain, "Digest: %zu posts for ", n);
		sink_matrix_line(&plain, dest, false);
		buf_adds(&plain, ", too many for a message each; any of them "
		    "is shown in full by its code");
		buf_printf(&html, "<p><strong>Digest:</strong> %zu posts for "
		    "<code>", n);
		sink_matrix_line(&html, dest, true);
		buf_adds(&html, "</code>, too many for a message each; any of "
		    "them is shown in full by its code</p>\n<ul>");
		for (i = 0; i < n; i++)
			sink_matrix_digest_item(d[i], excerpt, &plain, &html);
		buf_adds(&html, "</ul>");
		content = sink_matrix_content(plain.data, html.data);
		body = content != NULL ? json_dumps(content, JSON_COMPACT) :
		    NULL;
		buf_free(&plain);
		buf_free(&html);
		if (body == NULL || strlen(body) <= SINK_MATRIX_EVENT_BUDGET ||
		    excerpt == 0) {
			free(body);
			break;
		}
		free(body);
		json_decref(content);
		excerpt = excerpt > 20 ? excerpt / 2 : 0;
	}
	txn = sink_matrix_txn("sbd", d, n);
	rc = sink_matrix_request(chat, req, txn, content, cause);
	free(txn);
	return rc;
}

/*
 * The homeserver's answers: 200 {"event_id": "$..."}, whose id roots
 * the conversation's thread; errors {"errcode": "M_FORBIDDEN", "error":
 * "..."}; 429 M_LIMIT_EXCEEDED with Retry-After, or retry_after_ms in
 * the body from servers older than Matrix 1.10.  The later is honoured.
 */
static enum sink_result
sink_matrix_response(const struct chat_conf *chat,
    const struct http_response *resp, struct sink_answer *a)
{
	struct http_response	 copy;
	enum sink_result	 result;
	json_t			*body = NULL, *ms;
	const char		*errcode, *error;
	char			*text = NULL;

	(void)chat;
	if (resp->status != 0 && resp->body != NULL && resp->body_len > 0)
		body = json_loadb(resp->body, resp->body_len, 0, NULL);
	copy = *resp;
	errcode = json_string_value(json_object_get(body, "errcode"));
	error = json_string_value(json_object_get(body, "error"));
	if (resp->status >= 300 && errcode != NULL) {
		text = error != NULL && *error != '\0' ?
		    xasprintf("%s: %s", errcode, error) : xstrdup(errcode);
		copy.body = text;
		copy.body_len = strlen(text);
	}
	result = sink_classify(&copy, a);
	if (result == SINK_OK &&
	    sink_matrix_event_id(json_string_value(json_object_get(body,
	    "event_id"))))
		a->message_id = xstrdup(json_string_value(json_object_get(body,
		    "event_id")));
	ms = json_object_get(body, "retry_after_ms");
	if (resp->status == 429 && json_is_number(ms) &&
	    isfinite(json_number_value(ms)) && json_number_value(ms) >= 0 &&
	    json_number_value(ms) / 1000.0 > a->retry_after_s)
		a->retry_after_s = json_number_value(ms) / 1000.0;
	json_decref(body);
	free(text);
	return result;
}

static void
sink_matrix_settings_free(void *p)
{
	struct sink_matrix_settings	*s = p;

	if (s == NULL)
		return;
	free(s->homeserver);
	free(s->room_id);
	free(s->access_token);
	free(s);
}

/* Whether s holds a control character (a header-splitting newline). */
static bool
sink_matrix_has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static int
sink_matrix_configure(struct chat_conf *chat, const config_setting_t *group,
    struct cfg_errors *errs)
{
	static const char *const	 urls[] = {
		"webhook_url", "webhook_url_file", "webhook_url_env", NULL
	};
	struct sink_matrix_settings	*s = xcalloc(1, sizeof(*s));
	const config_setting_t		*m;
	size_t				 i, before = errs->msgs.n, n;

	chat->settings = s;
	if (group == NULL)
		return -1;
	for (i = 0; urls[i] != NULL; i++) {
		m = config_setting_get_member(group, urls[i]);
		if (m != NULL)
			cfg_error(errs, m, "not used by chat type \"matrix\" "
			    "(it takes homeserver, room_id and access_token)");
	}
	if (cfg_string(group, "homeserver", CFG_REQUIRED, NULL,
	    &s->homeserver, errs) == 1) {
		n = strlen(s->homeserver);
		while (n > 0 && s->homeserver[n - 1] == '/')
			s->homeserver[--n] = '\0';
		m = config_setting_get_member(group, "homeserver");
		if (!url_scheme_ok(s->homeserver, "https", "http"))
			cfg_error(errs, m, "must be https://, or http:// to a "
			    "loopback address");
		else if (strpbrk(s->homeserver, "?# \t\r\n") != NULL)
			cfg_error(errs, m, "must be a base URL, without a "
			    "query");
	}
	if (cfg_string(group, "room_id", CFG_REQUIRED, NULL, &s->room_id,
	    errs) == 1 && (s->room_id[0] != '!' || s->room_id[1] == '\0' ||
	    sink_matrix_has_control(s->room_id)))
		cfg_error(errs, config_setting_get_member(group, "room_id"),
		    "must be a room id (\"!...\"), not an alias");
	if (cfg_string(group, "access_token", CFG_SECRET | CFG_REQUIRED, NULL,
	    &s->access_token, errs) == 1 && (*s->access_token == '\0' ||
	    sink_matrix_has_control(s->access_token)))
		cfg_error(errs, group, "access_token: must be one line, not "
		    "empty");
	return errs->msgs.n == before ? 0 : -1;
}

const struct sink_ops sink_matrix_ops = {
	.type = "matrix",
	.keys = sink_matrix_keys,
	/*
	 * Synapse, the usual homeserver, lets a user send 0.2 messages a
	 * second with bursts of 10 by default (rc_message); admins often
	 * exempt bots, and a 429 tells us when to come back anyway.
	 */
	.default_rate = 0.2,
	.default_burst = 10,
	.configure = sink_matrix_configure,
	.settings_free = sink_matrix_settings_free,
	.format = sink_matrix_format,
	.format_digest = sink_matrix_format_digest,
	.response = sink_matrix_response
};
