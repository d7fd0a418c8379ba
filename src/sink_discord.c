/* The Discord webhook adapter: a delivery as a message with an embed,
 * threaded in forum channels, and Discord's rate-limit answers read. */
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sink.h"
#include "text.h"

/*
 * Discord's documented limits (developers/resources/message, webhook):
 * content 2,000 characters; embed description 4,096, title and author
 * name 256, footer 2,048, all embed text together 6,000; a thread name
 * at most 100.  Discord counts characters as JavaScript does (UTF-16
 * code units), so an emoji outside the BMP counts two; we count the
 * same way and can never be over.
 */
#define SINK_DISCORD_CONTENT_MAX	2000
#define SINK_DISCORD_DESCRIPTION_MAX	4096
#define SINK_DISCORD_TITLE_MAX		256
#define SINK_DISCORD_AUTHOR_MAX		256
/* The footer may hold 2,048; ours is short, and capping it keeps the
 * embed under 6,000 whatever the other parts hold. */
#define SINK_DISCORD_FOOTER_MAX		1000
#define SINK_DISCORD_THREAD_NAME_MAX	100
#define SINK_DISCORD_LANGS_MAX		40
/* A digest line's excerpt of its post at most; shortened to fit. */
#define SINK_DISCORD_EXCERPT_MAX	120
/* Discord rejects an embed url longer than this. */
#define SINK_DISCORD_URL_MAX		2000

#define SINK_DISCORD_DOT		" \xc2\xb7 "

/* Embed colours: posts, edits, deletions, digests. */
#define SINK_DISCORD_COLOUR_POST	0x1d9bf0
#define SINK_DISCORD_COLOUR_EDIT	0xf0b232
#define SINK_DISCORD_COLOUR_DELETE	0xda373c
#define SINK_DISCORD_COLOUR_DIGEST	0x99aab5

struct sink_discord_settings {
	/*
	 * The webhook's channel is a forum or media channel: each
	 * conversation becomes a thread (thread_name, then thread_id).
	 * In a text channel a webhook can neither start a thread nor
	 * reply to a message, so posts go to the channel as they come.
	 */
	bool	forum;
};

static const char *const sink_discord_keys[] = { "forum", NULL };

/* Length as Discord counts it: UTF-16 code units. */
static size_t
sink_discord_len(const char *s)
{
	const unsigned char	*u;
	size_t			 n = 0;

	for (u = (const unsigned char *)s; *u != '\0'; u++) {
		if (*u >= 0xf0)
			n += 2;
		else if ((*u & 0xc0) != 0x80)
			n++;
	}
	return n;
}

/*
 * render(text) for text cut so that the result is at most max UTF-16
 * code units, as sink_fit() does for code points.
 */
static char *
sink_discord_fit(const char *text, size_t max, char *(*render)(const char *))
{
	size_t	 n = max, len;
	char	*cut, *out;

	for (;;) {
		cut = text_truncate(text, n);
		out = render(cut);
		free(cut);
		len = sink_discord_len(out);
		if (len <= max || n <= 1)
			return out;
		free(out);
		if (n * max / len < n - 1)
			n = n * max / len;
		else
			n--;
	}
}

/* Whether cp is one of the ASCII characters in set. */
static bool
sink_discord_among(uint32_t cp, const char *set)
{
	return cp != 0 && cp < 0x80 && strchr(set, (int)cp) != NULL;
}

/*
 * Append user text s escaped for Discord Markdown: a backslash before
 * every character that could make emphasis, a spoiler, code, a quote, a
 * masked link or a mention (<@id>, <#id>, <:emoji:id>, @everyone), and
 * before '#', '-', '+' and "1." where they would start a heading, a
 * list or a subtext line.  Discord shows any escaped punctuation as
 * itself.  Control characters and invalid bytes become U+FFFD.
 */
static void
sink_discord_escape(struct buf *b, const char *s)
{
	/* 0: only blanks so far on this line, 1: blanks then digits, 2: text */
	int			lead = 0;
	struct sink_walk	w;

	sink_walk_init(&w, s);
	while (sink_walk_next(&w)) {
		if (w.cp == '\n') {
			buf_addc(b, '\n');
			lead = 0;
			continue;
		}
		if (w.cp == ' ' || w.cp == '\t') {
			buf_addc(b, (char)w.cp);
			continue;
		}
		if (w.cp >= '0' && w.cp <= '9' && lead <= 1) {
			buf_addc(b, (char)w.cp);
			lead = 1;
			continue;
		}
		if (w.cp == SINK_WALK_INVALID || text_control(w.cp))
			buf_adds(b, SINK_REPLACEMENT);
		else if (sink_discord_among(w.cp, "\\*_~`|<>[]()@") ||
		    (lead == 0 && sink_discord_among(w.cp, "#-+")) ||
		    (lead == 1 && w.cp == '.'))
			buf_printf(b, "\\%c", (char)w.cp);
		else
			buf_add(b, w.p, w.len);
		lead = 2;
	}
}

static char *
sink_discord_escaped(const char *s)
{
	struct buf	b;

	buf_init(&b);
	buf_adds(&b, "");
	sink_discord_escape(&b, s);
	return buf_steal(&b);
}

/*
 * s for a field Discord shows as plain text (author name, footer,
 * thread name): one line, control characters and invalid bytes as
 * U+FFFD, cut to max UTF-16 code units.  Caller frees.
 */
static char *
sink_discord_plain(const char *s, size_t max)
{
	struct sink_walk	 w;
	struct buf		 b;
	char			*out;

	buf_init(&b);
	buf_adds(&b, "");
	sink_walk_init(&w, s);
	while (sink_walk_next(&w)) {
		if (w.cp == '\n' || w.cp == '\t')
			buf_addc(&b, ' ');
		else if (w.cp == SINK_WALK_INVALID || text_control(w.cp))
			buf_adds(&b, SINK_REPLACEMENT);
		else
			buf_add(&b, w.p, w.len);
	}
	/* Plain text does not grow when cut, so one pass in code points
	 * then at most a few more in UTF-16 units suffice. */
	out = text_truncate(b.data, max);
	while (sink_discord_len(out) > max) {
		char	*shorter = text_truncate(out, text_chars(out) - 1);

		free(out);
		out = shorter;
	}
	buf_free(&b);
	return out;
}

/*
 * The post's URL fit for an embed's url or a masked link: http(s) only
 * (a javascript: or data: URL is dropped), percent-encoded so that no
 * ')' or space ends a link early.  NULL when there is none fit to show.
 */
static char *
sink_discord_url(const char *url)
{
	struct buf	b;

	if (url == NULL || (strncmp(url, "https://", 8) != 0 &&
	    strncmp(url, "http://", 7) != 0))
		return NULL;
	buf_init(&b);
	buf_adds(&b, "");
	sink_url_encode(&b, url);
	if (b.len > SINK_DISCORD_URL_MAX) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/*
 * Whether id is a Discord snowflake.  A thread or message id recorded
 * by another platform (the team's chat type changed) is not one, and
 * must not reach Discord's URL.
 */
static bool
sink_discord_snowflake(const char *id)
{
	size_t	i;

	if (id == NULL || *id == '\0' || strlen(id) > 20)
		return false;
	for (i = 0; id[i] != '\0'; i++)
		if (!isdigit((unsigned char)id[i]))
			return false;
	return true;
}

/*
 * The webhook URL with path appended and params added to its query:
 * "https://discord.com/api/webhooks/ID/TOKEN/messages/M?thread_id=T".
 */
static char *
sink_discord_target(const char *hook, const char *path, const char *params)
{
	const char	*q = strchr(hook, '?');
	size_t		 base;
	const char	*query = q != NULL && q[1] != '\0' ? q + 1 : NULL;

	base = q != NULL ? (size_t)(q - hook) : strlen(hook);

	if (query != NULL && params != NULL)
		return xasprintf("%.*s%s?%s&%s", (int)base, hook, path, query,
		    params);
	if (query != NULL || params != NULL)
		return xasprintf("%.*s%s?%s", (int)base, hook, path,
		    query != NULL ? query : params);
	return xasprintf("%.*s%s", (int)base, hook, path);
}

static bool
sink_discord_forum(const struct chat_conf *chat)
{
	const struct sink_discord_settings	*s = chat->settings;

	return s != NULL && s->forum;
}

/* "team care · rule care/complaints · conversation K7QX · en · reply" */
static char *
sink_discord_footer(const struct delivery *d)
{
	struct buf	 b;
	char		*langs, *out;

	buf_init(&b);
	buf_printf(&b, "team %s" SINK_DISCORD_DOT "rule %s",
	    d->team != NULL ? d->team : d->destination,
	    d->rule != NULL ? d->rule : "?");
	if (d->code != NULL)
		buf_printf(&b, SINK_DISCORD_DOT "conversation %s", d->code);
	if (d->post->langs.n > 0) {
		langs = sink_langs(d->post, SINK_DISCORD_LANGS_MAX);
		buf_printf(&b, SINK_DISCORD_DOT "%s", langs);
		free(langs);
	}
	if (d->post->reply_root != NULL || d->post->reply_parent != NULL)
		buf_adds(&b, SINK_DISCORD_DOT "reply");
	if (sink_is_private(d->post))
		buf_adds(&b, SINK_DISCORD_DOT "private");
	/* A watcher's copy: the team above owns the conversation. */
	if (d->team != NULL && d->destination != NULL &&
	    strcmp(d->team, d->destination) != 0)
		buf_printf(&b, SINK_DISCORD_DOT "copy for %s", d->destination);
	out = sink_discord_plain(b.data, SINK_DISCORD_FOOTER_MAX);
	buf_free(&b);
	return out;
}

/* "**K7QX** · " in content, when the delivery has a code. */
static void
sink_discord_code(struct buf *b, const struct delivery *d)
{
	if (d->code == NULL)
		return;
	buf_adds(b, "**");
	sink_discord_escape(b, d->code);
	buf_adds(b, "**" SINK_DISCORD_DOT);
}

/* content: "*Edited by its author* · **K7QX** · \@alice on Bluesky" */
static char *
sink_discord_content(const struct delivery *d)
{
	struct buf	 b;
	char		*author, *out;

	buf_init(&b);
	buf_adds(&b, "");
	if (sink_kind_label(d) != NULL) {
		buf_printf(&b, "*%s*" SINK_DISCORD_DOT, sink_kind_label(d));
	}
	sink_discord_code(&b, d);
	author = sink_author(d->post);
	sink_discord_escape(&b, author);
	free(author);
	buf_adds(&b, " on ");
	sink_discord_escape(&b, sink_platform_name(d->post->platform));
	/* Handles are short, but nothing stops an author id being long. */
	if (sink_discord_len(b.data) > SINK_DISCORD_CONTENT_MAX) {
		out = sink_discord_fit(b.data, SINK_DISCORD_CONTENT_MAX,
		    xstrdup);
		buf_free(&b);
		return out;
	}
	return buf_steal(&b);
}

static int
sink_discord_colour(const struct delivery *d)
{
	switch (d->kind) {
	case DELIVERY_EDIT:
		return SINK_DISCORD_COLOUR_EDIT;
	case DELIVERY_DELETE:
		return SINK_DISCORD_COLOUR_DELETE;
	case DELIVERY_POST:
	case DELIVERY_NOTE:
		break;
	}
	return SINK_DISCORD_COLOUR_POST;
}

/* The post as an embed: author, link, text, and the routing footer. */
static json_t *
sink_discord_embed(const struct delivery *d)
{
	const struct post	*p = d->post;
	const char		*network = sink_platform_name(p->platform);
	const char		*label = sink_kind_label(d);
	char			*author, *s, *url, *title;
	json_t			*embed, *a;

	embed = json_object();
	a = json_object();
	author = sink_author(p);
	s = xasprintf("%s on %s", author, network);
	free(author);
	author = sink_discord_plain(s, SINK_DISCORD_AUTHOR_MAX);
	free(s);
	json_object_set_new(a, "name", json_string(author));
	free(author);
	url = sink_discord_url(p->url);
	if (url != NULL)
		json_object_set_new(a, "url", json_string(url));
	json_object_set_new(embed, "author", a);

	/* The title links to the post; an edit or deletion says so. */
	s = label != NULL ? xstrdup(label) : url != NULL ?
	    xasprintf("View on %s", network) : NULL;
	if (s != NULL) {
		title = sink_discord_plain(s, SINK_DISCORD_TITLE_MAX);
		json_object_set_new(embed, "title", json_string(title));
		free(title);
		free(s);
	}
	if (url != NULL)
		json_object_set_new(embed, "url", json_string(url));
	free(url);

	/* Image-only posts are real and common; say so instead of "". */
	if (p->text == NULL || *p->text == '\0')
		s = xstrdup("*(no text)*");
	else
		s = sink_discord_fit(p->text, SINK_DISCORD_DESCRIPTION_MAX,
		    sink_discord_escaped);
	json_object_set_new(embed, "description", json_string(s));
	free(s);
	s = sink_discord_footer(d);
	json_object_set_new(embed, "footer", json_pack("{s:s}", "text", s));
	free(s);
	json_object_set_new(embed, "color",
	    json_integer(sink_discord_colour(d)));
	return embed;
}

/*
 * A note's text for content: escaped, with each URL shown as <URL>,
 * which Discord links without unfurling a preview (and a URL escaped
 * like text would not link at all).
 */
static char *
sink_discord_note_text(const char *note)
{
	struct buf	 b, enc;
	const char	*p, *end;
	char		*word;

	buf_init(&b);
	buf_adds(&b, "");
	for (p = note; *p != '\0'; p = end) {
		end = p;
		if (strncmp(p, "https://", 8) == 0 ||
		    strncmp(p, "http://", 7) == 0) {
			while (*end != '\0' && *end != ' ' && *end != '\n')
				end++;
			word = xstrndup(p, (size_t)(end - p));
			buf_init(&enc);
			buf_adds(&enc, "");
			sink_url_encode(&enc, word);
			buf_printf(&b, "<%s>", enc.data);
			buf_free(&enc);
			free(word);
			continue;
		}
		/* Up to the next URL that starts a word. */
		while (*end != '\0' && !(end != p && (end[-1] == ' ' ||
		    end[-1] == '\n') && (strncmp(end, "https://", 8) == 0 ||
		    strncmp(end, "http://", 7) == 0)))
			end++;
		word = xstrndup(p, (size_t)(end - p));
		sink_discord_escape(&b, word);
		free(word);
	}
	return buf_steal(&b);
}

/* A note from switchboard itself: "**K7QX** · Reply by alice published" */
static char *
sink_discord_note(const struct delivery *d)
{
	struct buf	 b;
	char		*text;

	buf_init(&b);
	buf_adds(&b, "");
	sink_discord_code(&b, d);
	/* The code takes a few units of the 2,000. */
	text = sink_discord_fit(d->note, SINK_DISCORD_CONTENT_MAX - 50,
	    sink_discord_note_text);
	buf_adds(&b, text);
	free(text);
	return buf_steal(&b);
}

/* "K7QX · @alice on Bluesky": the thread a forum post starts. */
static char *
sink_discord_thread_name(const struct delivery *d)
{
	char	*author, *name, *out;

	if (d->kind == DELIVERY_NOTE && d->post == NULL)
		name = xasprintf("%s" SINK_DISCORD_DOT "note",
		    d->code != NULL ? d->code : "switchboard");
	else {
		author = sink_author(d->post);
		name = xasprintf("%s" SINK_DISCORD_DOT "%s on %s",
		    d->code != NULL ? d->code : "post", author,
		    sink_platform_name(d->post->platform));
		free(author);
	}
	out = sink_discord_plain(name, SINK_DISCORD_THREAD_NAME_MAX);
	free(name);
	return out;
}

/*
 * Fill req for msg: an edit of message (PATCH) when message is set,
 * else an execution with ?wait=true, so that Discord answers with the
 * message and its id instead of 204.  Takes msg's reference.
 */
static int
sink_discord_request(const struct chat_conf *chat, struct http_request *req,
    json_t *msg, const char *thread, const char *message, char **cause)
{
	char	*url, *path, *params;
	int	 rc;

	if (message != NULL) {
		path = xasprintf("/messages/%s", message);
		params = thread != NULL ? xasprintf("thread_id=%s", thread) :
		    NULL;
	} else {
		path = xstrdup("");
		params = thread != NULL ?
		    xasprintf("wait=true&thread_id=%s", thread) :
		    xstrdup("wait=true");
	}
	url = sink_discord_target(chat->webhook_url, path, params);
	free(path);
	free(params);
	if (msg != NULL)
		/* No user text may ping anyone, edits included. */
		json_object_set_new(msg, "allowed_mentions",
		    json_pack("{s:[]}", "parse"));
	rc = sink_json_request(req, "discord", url, "application/json", msg,
	    cause);
	if (rc == 0 && message != NULL)
		req->method = "PATCH";
	free(url);
	return rc;
}

static int
sink_discord_format(const struct chat_conf *chat, const struct delivery *d,
    struct http_request *req, char **cause)
{
	const char	*thread = NULL, *message = NULL;
	char		*content, *name;
	json_t		*msg;

	if (chat->webhook_url == NULL || *chat->webhook_url == '\0') {
		*cause = xstrdup("discord: no webhook_url");
		return -1;
	}
	if (d->post == NULL && !(d->kind == DELIVERY_NOTE && d->note != NULL)) {
		*cause = xstrdup("discord: delivery has no post");
		return -1;
	}
	/* Only a forum channel's posts are threads a webhook can reach. */
	if (sink_discord_forum(chat) && sink_discord_snowflake(d->thread))
		thread = d->thread;
	if ((d->kind == DELIVERY_EDIT || d->kind == DELIVERY_DELETE) &&
	    sink_discord_snowflake(d->message))
		message = d->message;

	if (d->kind == DELIVERY_NOTE && d->note != NULL) {
		content = sink_discord_note(d);
		msg = json_pack("{s:s}", "content", content);
	} else {
		content = sink_discord_content(d);
		msg = json_pack("{s:s, s:[o]}", "content", content, "embeds",
		    sink_discord_embed(d));
	}
	free(content);
	if (msg != NULL && message == NULL && thread == NULL &&
	    sink_discord_forum(chat)) {
		/* A forum channel takes no message outside a thread. */
		name = sink_discord_thread_name(d);
		json_object_set_new(msg, "thread_name", json_string(name));
		free(name);
	}
	return sink_discord_request(chat, req, msg, thread, message, cause);
}

/*
 * "**K7QX** · \@alice on [Bluesky](URL): the start of the text…"; with
 * excerpt 0 only "**K7QX** · \@alice on Bluesky".
 */
static void
sink_discord_digest_line(struct buf *b, const struct delivery *d,
    size_t excerpt)
{
	const struct post	*p = d->post;
	char			*author, *url, *cut;

	buf_adds(b, "**");
	sink_discord_escape(b, d->code != NULL ? d->code : "?");
	buf_adds(b, "**" SINK_DISCORD_DOT);
	author = sink_author(p);
	cut = sink_discord_plain(author, 60);
	sink_discord_escape(b, cut);
	free(cut);
	free(author);
	buf_adds(b, " on ");
	url = excerpt > 0 ? sink_discord_url(p->url) : NULL;
	if (url != NULL) {
		buf_addc(b, '[');
		sink_discord_escape(b, sink_platform_name(p->platform));
		buf_printf(b, "](%s)", url);
		free(url);
	} else
		sink_discord_escape(b, sink_platform_name(p->platform));
	if (excerpt > 0 && p->text != NULL && *p->text != '\0') {
		buf_adds(b, ": ");
		cut = sink_discord_plain(p->text, excerpt);
		sink_discord_escape(b, cut);
		free(cut);
	}
}

/*
 * The digest's lines, each excerpt as long as the description allows:
 * every post keeps at least its code and author, so each stays
 * reachable by its code whatever the texts.  Caller frees.
 */
static char *
sink_discord_digest_lines(const struct delivery *const *d, size_t n)
{
	struct buf	 b;
	size_t		 excerpt = SINK_DISCORD_EXCERPT_MAX, i, shown;
	char		*nl;

	for (;;) {
		buf_init(&b);
		buf_adds(&b, "");
		for (i = 0; i < n; i++) {
			if (i > 0)
				buf_addc(&b, '\n');
			sink_discord_digest_line(&b, d[i], excerpt);
		}
		if (sink_discord_len(b.data) <= SINK_DISCORD_DESCRIPTION_MAX ||
		    excerpt == 0)
			break;
		buf_free(&b);
		excerpt = excerpt > 15 ? excerpt / 2 : 0;
	}
	/* More posts than a description holds (digest_max set beyond
	 * reason): cut at a line and say how many are left out. */
	shown = n;
	while (sink_discord_len(b.data) > SINK_DISCORD_DESCRIPTION_MAX &&
	    (nl = strrchr(b.data, '\n')) != NULL) {
		/* Room for the line saying how many are left out. */
		while (sink_discord_len(b.data) >
		    SINK_DISCORD_DESCRIPTION_MAX - 40 &&
		    (nl = strrchr(b.data, '\n')) != NULL) {
			*nl = '\0';
			b.len = (size_t)(nl - b.data);
			shown--;
		}
	}
	if (shown < n)
		buf_printf(&b, "\n\xe2\x80\xa6 and %zu more", n - shown);
	return buf_steal(&b);
}

static int
sink_discord_format_digest(const struct chat_conf *chat,
    const struct delivery *const *d, size_t n, struct http_request *req,
    char **cause)
{
	const struct delivery	*first;
	char			*lines, *title, *content, *name;
	size_t			 i;
	json_t			*msg;

	if (chat->webhook_url == NULL || *chat->webhook_url == '\0') {
		*cause = xstrdup("discord: no webhook_url");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (d[i]->post == NULL) {
			*cause = xstrdup("discord: a digest delivery has "
			    "no post");
			return -1;
		}
	}
	if (n == 0) {
		*cause = xstrdup("discord: empty digest");
		return -1;
	}
	first = d[0];
	lines = sink_discord_digest_lines(d, n);
	title = xasprintf("%zu posts for %s", n, first->destination != NULL ?
	    first->destination : "this channel");
	name = sink_discord_plain(title, SINK_DISCORD_TITLE_MAX);
	free(title);
	title = name;
	content = xasprintf("**Digest**" SINK_DISCORD_DOT "%zu posts, too "
	    "many for a message each; any of them is shown in full by its "
	    "code", n);
	msg = json_pack("{s:s, s:[{s:s, s:s, s:i}]}", "content", content,
	    "embeds", "title", title, "description", lines, "color",
	    SINK_DISCORD_COLOUR_DIGEST);
	if (msg != NULL && sink_discord_forum(chat)) {
		name = sink_discord_plain(title, SINK_DISCORD_THREAD_NAME_MAX);
		json_object_set_new(msg, "thread_name", json_string(name));
		free(name);
	}
	free(lines);
	free(title);
	free(content);
	return sink_discord_request(chat, req, msg, NULL, NULL, cause);
}

/* A header's value as seconds, or -1 if absent or not a number. */
static double
sink_discord_seconds(const char *v)
{
	char	*end;
	double	 s;

	if (v == NULL || *v == '\0')
		return -1;
	s = strtod(v, &end);
	if (end == v || !isfinite(s) || s < 0)
		return -1;
	return s;
}

/*
 * Discord's answers: with ?wait=true a 200 carries the message, whose
 * id roots the conversation's thread.  Every answer may say that the
 * webhook's bucket is empty (X-RateLimit-Remaining: 0), and for how
 * long (X-RateLimit-Reset-After): waiting that out avoids the 429s that
 * count towards Cloudflare's ban on invalid requests.  A 429 says when
 * to retry in its body ("retry_after", seconds with decimals) and in
 * Retry-After; the later of the two is honoured.  Errors are JSON
 * {"message": "Unknown Webhook", "code": 10015}.
 */
static enum sink_result
sink_discord_response(const struct chat_conf *chat,
    const struct http_response *resp, struct sink_answer *a)
{
	struct http_response	 copy;
	enum sink_result	 result;
	json_t			*body = NULL, *ra;
	const char		*message, *remaining;
	char			*text = NULL;
	double			 wait, reset;

	(void)chat;
	if (resp->status != 0 && resp->body != NULL && resp->body_len > 0)
		body = json_loadb(resp->body, resp->body_len, 0, NULL);
	copy = *resp;
	message = json_string_value(json_object_get(body, "message"));
	if (resp->status >= 300 && message != NULL && *message != '\0') {
		if (json_is_integer(json_object_get(body, "code")))
			text = xasprintf("%s (code %lld)", message,
			    (long long)json_integer_value(json_object_get(
			    body, "code")));
		else
			text = xstrdup(message);
		if (json_is_true(json_object_get(body, "global"))) {
			char	*g = xasprintf("%s (global)", text);

			free(text);
			text = g;
		}
		copy.body = text;
		copy.body_len = strlen(text);
	}
	result = sink_classify(&copy, a);

	if (result == SINK_OK && json_is_string(json_object_get(body, "id")))
		a->message_id = xstrdup(json_string_value(
		    json_object_get(body, "id")));
	if (resp->status == 429) {
		wait = resp->retry_after;
		ra = json_object_get(body, "retry_after");
		if (json_is_number(ra) && isfinite(json_number_value(ra)) &&
		    json_number_value(ra) > wait)
			wait = json_number_value(ra);
		if (wait >= 0)
			a->retry_after_s = wait;
	}
	remaining = http_response_header(resp, "x-ratelimit-remaining");
	reset = sink_discord_seconds(http_response_header(resp,
	    "x-ratelimit-reset-after"));
	if (sink_discord_seconds(remaining) == 0 && reset > a->retry_after_s)
		a->retry_after_s = reset;
	json_decref(body);
	free(text);
	return result;
}

static int
sink_discord_configure(struct chat_conf *chat, const config_setting_t *group,
    struct cfg_errors *errs)
{
	struct sink_discord_settings	*s;
	bool				 forum = false;
	int				 rc;

	rc = group != NULL ? cfg_bool(group, "forum", 0, false, &forum,
	    errs) : 0;
	s = xcalloc(1, sizeof(*s));
	s->forum = forum;
	chat->settings = s;
	return rc < 0 ? -1 : 0;
}

const struct sink_ops sink_discord_ops = {
	.type = "discord",
	.keys = sink_discord_keys,
	.needs_url = 1,
	/*
	 * Each webhook has its own bucket (5 requests per 2 s today, read
	 * from X-RateLimit-* as we go, since Discord says never to hard-code
	 * limits), and webhooks are widely reported to be held to 30
	 * messages a minute per channel; 429s count towards a ban, so stay
	 * under both.
	 */
	.default_rate = 0.5,
	.default_burst = 5,
	.configure = sink_discord_configure,
	.settings_free = free,
	.format = sink_discord_format,
	.format_digest = sink_discord_format_digest,
	.response = sink_discord_response
};
