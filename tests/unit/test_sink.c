/*
 * Sink adapter tests: real Bluesky posts (parsed from the recorded
 * Jetstream corpus) and one synthetic hostile post, rendered by the
 * Slack, Mattermost and console adapters and compared with the expected
 * output in tests/data/golden/; plus the response classification table,
 * the registry and the adapters' escaping rules.
 *
 * Golden files change only on purpose: run this test with
 * SB_UPDATE_GOLDEN=1 to rewrite them from the current output, then
 * review the diff before committing it.  HTTP bodies are stored
 * re-indented (JSON_INDENT(2)) so that a diff is readable; the test
 * checks separately that the body sent is the compact form.
 */
#include <jansson.h>
#include <stdio_ext.h>
#include <unistd.h>

#include "harness.h"

#include "jetstream.h"
#include "sink.h"
#include "text.h"

#define HOOK_URL	"https://hooks.example.com/services/T000/B000/XXXX"

/* The user-controlled part of the synthetic post: every injection the
 * adapters must defuse, then block markup at the start of lines. */
#define HOSTILE_HEAD \
	"<!channel> @here @all <@U123> *bold* [x](http://evil) & \x1b[31m" \
	"\n# not a heading\n1. not a list\n> not a quote\n"

/* ------------------------------------------------------------------ */
/* Building deliveries                                                 */

/* The post on line lineno (1-based) of the recorded corpus. */
static struct post *
corpus_post(int lineno)
{
	struct jetstream_event	 ev;
	struct post		*p;
	char			*data, *line, *end, *cause = NULL;
	int			 n;

	data = test_slurp("tests/data/jetstream-corpus.jsonl", NULL);
	line = data;
	for (n = 1; n < lineno; n++) {
		line = strchr(line, '\n');
		assert_non_null(line);
		line++;
	}
	end = strchr(line, '\n');
	if (end == NULL)
		end = line + strlen(line);
	memset(&ev, 0, sizeof(ev));
	if (jetstream_parse(line, (size_t)(end - line), &ev, &cause) != 0)
		fail_msg("corpus line %d: %s", lineno, cause);
	assert_int_equal(ev.kind, JETSTREAM_POST);
	p = ev.post;
	ev.post = NULL;
	jetstream_event_clear(&ev);
	free(data);
	return p;
}

static void
delivery_fill(struct delivery *d, struct post *p, const char *team,
    const char *rule, const char *code)
{
	memset(d, 0, sizeof(*d));
	d->id = 1;
	d->destination = xstrdup(team);
	d->team = xstrdup(team);
	d->rule = xstrdup(rule);
	d->code = xstrdup(code);
	d->post = p;
}

/* Line 110: a plain English post, no reply, no embed. */
static void
delivery_english(struct delivery *d)
{
	struct post	*p = corpus_post(110);

	assert_string_equal(p->langs.v[0], "en");
	assert_null(p->reply_root);
	delivery_fill(d, p, "care", "care/complaints", "K7QX");
}

/* Line 4: Japanese, with an emoji (a 4-byte sequence). */
static void
delivery_japanese(struct delivery *d)
{
	struct post	*p = corpus_post(4);

	assert_string_equal(p->langs.v[0], "ja");
	delivery_fill(d, p, "intl", "intl/japanese", "J4PN");
}

/* Line 88: a reply. */
static void
delivery_reply(struct delivery *d)
{
	struct post	*p = corpus_post(88);

	assert_non_null(p->reply_root);
	delivery_fill(d, p, "care", "thread", "K7QX");
}

/* Line 131: a reply whose record has an embed and no text at all. */
static void
delivery_empty(struct delivery *d)
{
	struct post	*p = corpus_post(131);

	assert_string_equal(p->text, "");
	delivery_fill(d, p, "ops", "fallback", "Z9AB");
}

/*
 * Synthetic, not recorded: the injections above, then 5,000 code points
 * mixing 2-, 3- and 4-byte UTF-8 sequences, so every adapter must cut
 * it and no cut may split a sequence.
 */
static const char *const cycle[] = {
	"\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\x8e\x89", "\xd0\xb6"
};

static void
delivery_hostile(struct delivery *d)
{
	struct post			*p = post_new();
	struct buf			 b;
	int				 i;

	buf_init(&b);
	buf_adds(&b, HOSTILE_HEAD);
	for (i = 0; i < 5000; i++)
		buf_adds(&b, cycle[i % 4]);
	p->platform = xstrdup("bluesky");
	p->id = xstrdup("at://did:plc:synthetic0000000000000000/"
	    "app.bsky.feed.post/3synthetic000");
	p->author = xstrdup("did:plc:synthetic0000000000000000");
	p->author_handle = xstrdup("mallory.example.com");
	p->text = buf_steal(&b);
	strv_add(&p->langs, "en");
	p->url = jetstream_web_url(p->id);
	assert_non_null(p->url);
	delivery_fill(d, p, "security", "security/abuse", "H0ST");
}

/* ------------------------------------------------------------------ */
/* Checking output                                                     */

/* An independent UTF-8 check: well-formed, shortest form, no surrogates. */
static int
valid_utf8(const char *s)
{
	const unsigned char	*u = (const unsigned char *)s;
	uint32_t		 cp;
	int			 len, i;

	while (*u != '\0') {
		if (*u < 0x80) {
			u++;
			continue;
		}
		if ((*u & 0xE0) == 0xC0) {
			len = 2;
			cp = *u & 0x1F;
		} else if ((*u & 0xF0) == 0xE0) {
			len = 3;
			cp = *u & 0x0F;
		} else if ((*u & 0xF8) == 0xF0) {
			len = 4;
			cp = *u & 0x07;
		} else
			return 0;
		for (i = 1; i < len; i++) {
			if ((u[i] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (u[i] & 0x3F);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		u += len;
	}
	return 1;
}

static size_t
count_chars(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	}
	return n;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t	n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void
assert_prefix(const char *s, const char *prefix)
{
	if (strncmp(s, prefix, strlen(prefix)) != 0)
		fail_msg("expected to start with:\n%s\ngot:\n%.*s", prefix,
		    (int)strlen(prefix) + 10, s);
}

/* Compare actual with tests/data/golden/name, or rewrite it. */
static void
golden_check(const char *name, const char *actual)
{
	char		*rel = xasprintf("tests/data/golden/%s", name);
	char		*expected, *path;
	const char	*update = getenv("SB_UPDATE_GOLDEN");
	FILE		*f;
	size_t		 i, bol;
	int		 line;

	assert_true(valid_utf8(actual));
	if (update != NULL && strcmp(update, "1") == 0) {
		path = test_path(rel);
		f = fopen(path, "wb");
		if (f == NULL)
			fail_msg("cannot write %s", path);
		fputs(actual, f);
		fclose(f);
		fprintf(stderr, "# rewrote %s\n", path);
		free(path);
		free(rel);
		return;
	}
	expected = test_slurp(rel, NULL);
	if (strcmp(expected, actual) != 0) {
		/* One line of each, so the message stays one TAP comment. */
		for (i = 0, line = 1, bol = 0; expected[i] == actual[i]; i++) {
			if (expected[i] == '\n') {
				line++;
				bol = i + 1;
			}
		}
		fail_msg("%s:%d differs (rerun with SB_UPDATE_GOLDEN=1 if "
		    "intended): want \"%.*s\" got \"%.*s\"", name, line,
		    (int)strcspn(expected + bol, "\n"), expected + bol,
		    (int)strcspn(actual + bol, "\n"), actual + bol);
	}
	free(expected);
	free(rel);
}

static void
chat_init(struct chat_conf *chat, const struct sink_ops *ops)
{
	memset(chat, 0, sizeof(*chat));
	chat->type = (char *)ops->type;
	chat->ops = ops;
	chat->webhook_url = ops->needs_url ? (char *)HOOK_URL : NULL;
	chat->rate = ops->default_rate;
	chat->burst = ops->default_burst;
	chat->timeout_ms = 10000;
}

/*
 * Format d with an HTTP adapter, check the request around the body, and
 * return the parsed body (json_decref it).
 */
static json_t *
http_format(const struct sink_ops *ops, const struct delivery *d,
    const char *content_type, const char *golden)
{
	struct chat_conf	 chat;
	struct http_request	 req;
	json_t			*body;
	json_error_t		 error;
	char			*cause = NULL, *again, *pretty;

	chat_init(&chat, ops);
	http_request_init(&req);
	if (ops->format(&chat, d, &req, &cause) != 0)
		fail_msg("%s format: %s", ops->type, cause);
	assert_null(cause);
	assert_true(req.method == NULL || strcmp(req.method, "POST") == 0);
	assert_string_equal(req.url, HOOK_URL);
	assert_int_equal(req.headers.n, 1);
	assert_string_equal(req.headers.v[0], content_type);
	assert_non_null(req.body);
	assert_int_equal(req.body_len, strlen(req.body));

	/* jansson refuses invalid UTF-8, so this also checks every cut. */
	body = json_loadb(req.body, req.body_len, JSON_REJECT_DUPLICATES,
	    &error);
	if (body == NULL)
		fail_msg("%s body: %s", ops->type, error.text);
	again = json_dumps(body, JSON_COMPACT);
	assert_string_equal(again, req.body);
	free(again);

	if (golden != NULL) {
		again = json_dumps(body, JSON_INDENT(2));
		pretty = xasprintf("%s\n", again);
		golden_check(golden, pretty);
		free(pretty);
		free(again);
	}
	http_request_clear(&req);
	return body;
}

/* The Slack message's parts, borrowed from msg. */
struct slack_parts {
	const char	*fallback, *head, *text, *context;
};

static void
slack_parts(json_t *msg, struct slack_parts *sp)
{
	json_t	*blocks = json_object_get(msg, "blocks");

	assert_int_equal(json_array_size(blocks), 3);
	assert_true(json_is_false(json_object_get(msg, "unfurl_links")));
	assert_true(json_is_false(json_object_get(msg, "unfurl_media")));
	sp->fallback = json_string_value(json_object_get(msg, "text"));
	sp->head = json_string_value(json_object_get(json_object_get(
	    json_array_get(blocks, 0), "text"), "text"));
	sp->text = json_string_value(json_object_get(json_object_get(
	    json_array_get(blocks, 1), "text"), "text"));
	sp->context = json_string_value(json_object_get(json_array_get(
	    json_object_get(json_array_get(blocks, 2), "elements"), 0),
	    "text"));
	assert_non_null(sp->fallback);
	assert_non_null(sp->head);
	assert_non_null(sp->text);
	assert_non_null(sp->context);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(blocks, 1), "type")), "section");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(blocks, 2), "type")), "context");
}

static json_t *
slack_message(const struct delivery *d, const char *golden,
    struct slack_parts *sp)
{
	json_t	*msg = http_format(&sink_slack_ops, d,
	    "Content-Type: application/json; charset=utf-8", golden);

	slack_parts(msg, sp);
	return msg;
}

/* The Mattermost markdown (caller frees). */
static char *
mattermost_text(const struct delivery *d, const char *golden)
{
	json_t	*msg = http_format(&sink_mattermost_ops, d,
	    "Content-Type: application/json", golden);
	char	*text;

	assert_int_equal(json_object_size(msg), 1);
	text = xstrdup(json_string_value(json_object_get(msg, "text")));
	json_decref(msg);
	assert_non_null(text);
	return text;
}

/* What the console adapter prints for d (caller frees). */
static char *
console_output(const struct delivery *d, enum sink_result *result,
    char **cause)
{
	struct chat_conf	 chat;
	FILE			*tmp = tmpfile();
	int			 saved;
	char			*out;
	long			 n;

	assert_non_null(tmp);
	chat_init(&chat, &sink_console_ops);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(tmp), STDOUT_FILENO) >= 0);
	*result = sink_console_ops.write(&chat, d, cause);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);

	fseek(tmp, 0, SEEK_END);
	n = ftell(tmp);
	rewind(tmp);
	out = xmalloc((size_t)n + 1);
	assert_int_equal(fread(out, 1, (size_t)n, tmp), (size_t)n);
	out[n] = '\0';
	fclose(tmp);
	return out;
}

static char *
console_golden(const struct delivery *d, const char *golden)
{
	enum sink_result	 result;
	char			*cause = NULL, *out;

	out = console_output(d, &result, &cause);
	if (result != SINK_OK)
		fail_msg("console: %s", cause);
	assert_null(cause);
	golden_check(golden, out);
	return out;
}

/* ------------------------------------------------------------------ */
/* Golden tests                                                        */

static void
test_english(void **state)
{
	struct delivery		 d;
	struct slack_parts	 sp;
	json_t			*msg;
	char			*md, *out, *want;

	(void)state;
	delivery_english(&d);

	msg = slack_message(&d, "slack-english.json", &sp);
	want = xasprintf("*%s* on Bluesky \xc2\xb7 <%s|view on Bluesky>",
	    d.post->author, d.post->url);
	assert_string_equal(sp.head, want);
	free(want);
	assert_string_equal(sp.text, d.post->text);
	assert_string_equal(sp.context, "team *care* \xc2\xb7 rule "
	    "`care/complaints` \xc2\xb7 conversation `K7QX` \xc2\xb7 en");
	want = xasprintf("[care] %s on Bluesky: ", d.post->author);
	assert_prefix(sp.fallback, want);
	/* The text is longer than the fallback's 150 characters. */
	assert_true(count_chars(d.post->text) > 150);
	assert_int_equal(count_chars(sp.fallback), strlen(want) + 150);
	assert_true(ends_with(sp.fallback, "\xe2\x80\xa6"));
	free(want);
	json_decref(msg);

	md = mattermost_text(&d, "mattermost-english.json");
	want = xasprintf("**%s** on Bluesky \xc2\xb7 [view post](%s)\n> ",
	    d.post->author, d.post->url);
	assert_prefix(md, want);
	free(want);
	assert_true(ends_with(md, "\n\nteam `care` \xc2\xb7 rule "
	    "`care/complaints` \xc2\xb7 conversation `K7QX` \xc2\xb7 `en`"));
	free(md);

	out = console_golden(&d, "console-english.txt");
	want = xasprintf("%s on Bluesky (en) \xc2\xb7 %s\n", d.post->author,
	    d.post->url);
	assert_non_null(strstr(out, want));
	free(want);
	assert_prefix(out, "\xe2\x94\x80\xe2\x94\x80 #care \xe2\x94\x80"
	    "\xe2\x94\x80 K7QX \xe2\x94\x80\xe2\x94\x80 care/complaints "
	    "\xe2\x94\x80");
	free(out);
	delivery_free(&d);
}

static void
test_japanese(void **state)
{
	struct delivery		 d;
	struct slack_parts	 sp;
	json_t			*msg;
	char			*md, *out, *want;

	(void)state;
	delivery_japanese(&d);

	msg = slack_message(&d, "slack-japanese.json", &sp);
	/* Nothing to escape: the text arrives byte for byte. */
	assert_string_equal(sp.text, d.post->text);
	assert_true(ends_with(sp.context, "\xc2\xb7 ja"));
	json_decref(msg);

	md = mattermost_text(&d, "mattermost-japanese.json");
	want = xasprintf("\n> %s\n\n", d.post->text);
	assert_non_null(strstr(md, want));
	free(want);
	free(md);

	out = console_golden(&d, "console-japanese.txt");
	want = xasprintf("\n  %s\n\n", d.post->text);
	assert_true(ends_with(out, want));
	free(want);
	free(out);
	delivery_free(&d);
}

static void
test_reply(void **state)
{
	struct delivery		 d;
	struct slack_parts	 sp;
	json_t			*msg;
	char			*md, *out;

	(void)state;
	delivery_reply(&d);

	msg = slack_message(&d, "slack-reply.json", &sp);
	assert_string_equal(sp.context, "team *care* \xc2\xb7 rule `thread` "
	    "\xc2\xb7 conversation `K7QX` \xc2\xb7 en \xc2\xb7 reply");
	json_decref(msg);

	md = mattermost_text(&d, "mattermost-reply.json");
	assert_true(ends_with(md, "`K7QX` \xc2\xb7 `en` \xc2\xb7 reply"));
	free(md);

	out = console_golden(&d, "console-reply.txt");
	assert_non_null(strstr(out, " on Bluesky (reply, en) \xc2\xb7 "));
	free(out);
	delivery_free(&d);
}

static void
test_empty_text(void **state)
{
	struct delivery		 d;
	struct slack_parts	 sp;
	json_t			*msg;
	char			*md, *out;

	(void)state;
	delivery_empty(&d);

	msg = slack_message(&d, "slack-empty.json", &sp);
	assert_string_equal(sp.text, "_(no text)_");
	assert_true(ends_with(sp.fallback, " on Bluesky: (no text)"));
	json_decref(msg);

	md = mattermost_text(&d, "mattermost-empty.json");
	assert_non_null(strstr(md, ")\n> *(no text)*\n\nteam `ops`"));
	free(md);

	out = console_golden(&d, "console-empty.txt");
	assert_true(ends_with(out, "\n  (no text)\n\n"));
	free(out);
	delivery_free(&d);
}

/*
 * A note from switchboard (a reply's result): the text as written, in
 * the conversation's thread, escaped like any user text because it
 * carries a chat user's name and a URL.
 */
static void
test_note(void **state)
{
	struct delivery	 d;
	json_t		*msg, *blocks;
	char		*md, *out;

	(void)state;
	delivery_reply(&d);
	d.kind = DELIVERY_NOTE;
	d.note = xstrdup("Reply by <@U1|eve> & co published: "
	    "https://mastodon.example/@brand/1?a=1&b=2");

	msg = http_format(&sink_slack_ops, &d,
	    "Content-Type: application/json; charset=utf-8",
	    "slack-note.json");
	blocks = json_object_get(msg, "blocks");
	assert_int_equal(json_array_size(blocks), 1);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(json_array_get(blocks, 0), "text"), "text")),
	    "`K7QX` \xc2\xb7 Reply by &lt;@U1|eve&gt; &amp; co published: "
	    "https://mastodon.example/@brand/1?a=1&amp;b=2");
	assert_string_equal(json_string_value(json_object_get(msg, "text")),
	    "[care] Reply by &lt;@U1|eve&gt; &amp; co published: "
	    "https://mastodon.example/@brand/1?a=1&amp;b=2");
	json_decref(msg);

	md = mattermost_text(&d, "mattermost-note.json");
	assert_string_equal(md, "`K7QX` \xc2\xb7 Reply by &lt;@\xe2\x80\x8bU1\\|eve&gt; "
	    "&amp; co published: [https://mastodon.example/@\xe2\x80\x8b" "brand/1?a=1&amp;b=2]"
	    "(https://mastodon.example/@brand/1?a=1&b=2)");
	free(md);

	out = console_golden(&d, "console-note.txt");
	assert_non_null(strstr(out, " K7QX \xe2\x94\x80\xe2\x94\x80 Note "));
	assert_null(strstr(out, "thread"));
	assert_true(ends_with(out, "\n  Reply by <@U1|eve> & co published: "
	    "https://mastodon.example/@brand/1?a=1&b=2\n\n"));
	free(out);
	delivery_free(&d);
}

static void
test_hostile_slack(void **state)
{
	struct delivery		 d;
	struct slack_parts	 sp;
	struct buf		 want;
	json_t			*msg;
	size_t			 i;

	(void)state;
	delivery_hostile(&d);
	msg = slack_message(&d, "slack-synthetic-hostile.json", &sp);

	assert_prefix(sp.head, "*@mallory.example.com* on Bluesky \xc2\xb7 <");
	/* 150 characters: the 106 of the head, 43 of the rest, "…". */
	buf_init(&want);
	buf_adds(&want, "[security] @mallory.example.com on Bluesky: "
	    "&lt;!channel&gt; @here @all &lt;@U123&gt; *bold* "
	    "[x](http://evil) &amp; \xef\xbf\xbd[31m\n# not a heading\n"
	    "1. not a list\n&gt; not a quote\n");
	for (i = 0; i < 43; i++)
		buf_adds(&want, cycle[i % 4]);
	buf_adds(&want, "\xe2\x80\xa6");
	assert_string_equal(sp.fallback, want.data);
	buf_free(&want);
	assert_prefix(sp.text, "&lt;!channel&gt; @here @all &lt;@U123&gt; "
	    "*bold* [x](http://evil) &amp; \xef\xbf\xbd[31m\n");
	/* Cut to Block Kit's limit, counting the escaped form. */
	assert_true(count_chars(sp.text) <= 3000);
	assert_true(count_chars(sp.text) >= 2990);
	assert_true(ends_with(sp.text, "\xe2\x80\xa6"));
	/* No user '<' or '>' survives: Slack's markup needs them. */
	for (i = 0; sp.text[i] != '\0'; i++) {
		assert_int_not_equal(sp.text[i], '<');
		assert_int_not_equal(sp.text[i], '>');
		assert_int_not_equal(sp.text[i], '\x1b');
	}
	json_decref(msg);
	delivery_free(&d);
}

static void
test_hostile_mattermost(void **state)
{
	struct delivery	 d;
	char		*md, *quote, *meta;

	(void)state;
	delivery_hostile(&d);
	md = mattermost_text(&d, "mattermost-synthetic-hostile.json");

	/* The handle cannot mention a Mattermost user either. */
	assert_prefix(md, "**@\xe2\x80\x8bmallory.example.com** on "
	    "Bluesky \xc2\xb7 [view post](https://bsky.app/profile/");
	assert_non_null(strstr(md, "\n> &lt;!channel&gt; @\xe2\x80\x8bhere "
	    "@\xe2\x80\x8b" "all &lt;@\xe2\x80\x8bU123&gt; \\*bold\\* "
	    "\\[x\\]\\(http://evil\\) &amp; \xef\xbf\xbd\\[31m\n"
	    "> \\# not a heading\n> 1\\. not a list\n> &gt; not a quote\n"
	    "> \xc3\xa9\xe6\x97\xa5\xf0\x9f\x8e\x89\xd0\xb6"));
	assert_null(strstr(md, "@here"));
	assert_null(strstr(md, "@all"));
	assert_null(strstr(md, "<"));
	assert_null(strchr(md, '\x1b'));

	/* The quote is cut at 4,000 characters, with "…" at the end. */
	quote = strstr(md, "\n> ");
	meta = strstr(md, "\n\nteam `security`");
	assert_non_null(quote);
	assert_non_null(meta);
	assert_memory_equal(meta - 3, "\xe2\x80\xa6", 3);
	assert_true(count_chars(md) < 16383);
	free(md);
	delivery_free(&d);
}

static void
test_hostile_console(void **state)
{
	struct delivery	 d;
	char		*out, *last;

	(void)state;
	delivery_hostile(&d);
	out = console_golden(&d, "console-synthetic-hostile.txt");
	assert_non_null(strstr(out, "\n  <!channel> @here @all <@U123> "
	    "*bold* [x](http://evil) & \xef\xbf\xbd[31m\n  # not a heading\n"
	    "  1. not a list\n  > not a quote\n  \xc3\xa9"));
	assert_null(strchr(out, '\x1b'));
	assert_non_null(strstr(out, "@mallory.example.com on Bluesky (en)"));
	/* 500 characters of text, the last one "…". */
	last = strstr(out, "\n  \xc3\xa9");
	assert_non_null(last);
	assert_true(ends_with(out, "\xe2\x80\xa6\n\n"));
	assert_int_equal(count_chars(strstr(out, "\n  <!channel>") + 3) -
	    2 * 4 /* indents */ - 2 /* final newlines */, 500);
	free(out);
	delivery_free(&d);
}

/* ------------------------------------------------------------------ */
/* Escaping and cutting beyond the goldens                             */

/* Escaping can multiply the length by five; the cut must allow for it. */
static void
test_escape_expansion_fits(void **state)
{
	struct delivery		 d;
	struct slack_parts	 sp;
	struct buf		 b;
	json_t			*msg;
	char			*md;
	int			 i;

	(void)state;
	buf_init(&b);
	for (i = 0; i < 5000; i++)
		buf_adds(&b, i % 50 == 49 ? "\n" : "&");
	delivery_hostile(&d);
	free(d.post->text);
	d.post->text = buf_steal(&b);

	msg = slack_message(&d, NULL, &sp);
	assert_true(count_chars(sp.text) <= 3000);
	assert_true(count_chars(sp.text) > 2900);
	assert_true(ends_with(sp.text, "&amp;\xe2\x80\xa6"));
	json_decref(msg);

	md = mattermost_text(&d, NULL);
	assert_true(count_chars(md) < 16383);
	assert_non_null(strstr(md, "&amp;\xe2\x80\xa6\n\nteam"));
	free(md);
	delivery_free(&d);
}

/* Every post of the recorded corpus renders on every adapter. */
static void
test_whole_corpus(void **state)
{
	struct jetstream_event	 ev;
	struct delivery		 d;
	struct slack_parts	 sp;
	enum sink_result	 result;
	json_t			*msg;
	char			*data, *line, *end, *md, *out, *cause = NULL;
	int			 posts = 0;

	(void)state;
	data = test_slurp("tests/data/jetstream-corpus.jsonl", NULL);
	for (line = data; *line != '\0'; line = end + 1) {
		end = strchr(line, '\n');
		assert_non_null(end);
		memset(&ev, 0, sizeof(ev));
		if (jetstream_parse(line, (size_t)(end - line), &ev,
		    &cause) != 0)
			fail_msg("corpus: %s", cause);
		if (ev.kind != JETSTREAM_POST) {
			jetstream_event_clear(&ev);
			continue;
		}
		delivery_fill(&d, ev.post, "care", "care/complaints", "K7QX");
		ev.post = NULL;
		jetstream_event_clear(&ev);

		msg = slack_message(&d, NULL, &sp);
		assert_true(count_chars(sp.text) <= 3000);
		assert_null(strstr(sp.text, "<"));
		json_decref(msg);
		md = mattermost_text(&d, NULL);
		assert_true(count_chars(md) < 16383);
		free(md);
		out = console_output(&d, &result, &cause);
		assert_int_equal(result, SINK_OK);
		assert_true(valid_utf8(out));
		free(out);
		delivery_free(&d);
		posts++;
	}
	/* The corpus has 17 post creations; all were seen. */
	assert_int_equal(posts, 17);
	free(data);
}

/* Arbitrary bytes as text never crash an adapter or yield bad UTF-8. */
static void
test_random_bytes(void **state)
{
	struct delivery		 d;
	struct slack_parts	 sp;
	enum sink_result	 result;
	json_t			*msg;
	char			*md, *out, *cause = NULL, text[301];
	uint32_t		 seed = 12345;
	int			 round, i, len;

	(void)state;
	delivery_hostile(&d);
	for (round = 0; round < 300; round++) {
		/* A fixed LCG, so a failure is reproducible. */
		seed = seed * 1103515245 + 12345;
		len = (int)(seed >> 16) % 300;
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			text[i] = (char)((seed >> 16) % 255 + 1);
		}
		text[len] = '\0';
		free(d.post->text);
		d.post->text = xstrdup(text);

		msg = slack_message(&d, NULL, &sp);
		json_decref(msg);
		md = mattermost_text(&d, NULL);
		free(md);
		out = console_output(&d, &result, &cause);
		assert_int_equal(result, SINK_OK);
		assert_true(valid_utf8(out));
		assert_null(strchr(out, '\x1b'));
		free(out);
	}
	delivery_free(&d);
}

/* A link must not be closable or re-targeted by the URL itself. */
/* Edit and delete notes and private posts say so on every platform. */
static void
test_kinds_and_private(void **state)
{
	static const struct {
		enum delivery_kind	 kind;
		const char		*label;
	} kinds[] = {
		{ DELIVERY_EDIT, "Edited by its author" },
		{ DELIVERY_DELETE, "Deleted by its author" },
	};
	struct delivery		 d;
	struct slack_parts	 sp;
	enum sink_result	 result;
	json_t			*msg;
	char			*text, *out, *cause = NULL;
	size_t			 i;

	(void)state;
	for (i = 0; i < nitems(kinds); i++) {
		delivery_english(&d);
		d.kind = kinds[i].kind;
		msg = slack_message(&d, NULL, &sp);
		assert_non_null(strstr(sp.head, kinds[i].label));
		assert_non_null(strstr(sp.fallback, kinds[i].label));
		assert_null(strstr(sp.context, "private"));
		json_decref(msg);
		text = mattermost_text(&d, NULL);
		assert_true(strncmp(text, "*", 1) == 0);
		assert_non_null(strstr(text, kinds[i].label));
		free(text);
		out = console_output(&d, &result, &cause);
		assert_int_equal(result, SINK_OK);
		assert_non_null(strstr(strtok(out, "\n"), kinds[i].label));
		free(out);
		delivery_free(&d);
	}
	/* A plain post carries no label. */
	delivery_english(&d);
	msg = slack_message(&d, NULL, &sp);
	assert_null(strstr(sp.head, "by its author"));
	json_decref(msg);
	/* Direct and followers-only posts are marked private. */
	d.post->visibility = xstrdup("direct");
	msg = slack_message(&d, NULL, &sp);
	assert_non_null(strstr(sp.context, "*private*"));
	json_decref(msg);
	text = mattermost_text(&d, NULL);
	assert_non_null(strstr(text, "**private**"));
	free(text);
	out = console_output(&d, &result, &cause);
	assert_non_null(strstr(out, "(private, en)"));
	free(out);
	free(d.post->visibility);
	d.post->visibility = xstrdup("public");
	msg = slack_message(&d, NULL, &sp);
	assert_null(strstr(sp.context, "private"));
	json_decref(msg);
	delivery_free(&d);
}

static void
test_url_encoding(void **state)
{
	struct delivery		 d;
	struct slack_parts	 sp;
	json_t			*msg;
	char			*md, *out;

	(void)state;
	delivery_hostile(&d);
	free(d.post->url);
	d.post->url = xstrdup("https://bsky.app/p/a|b>c d(e)&f");

	msg = slack_message(&d, NULL, &sp);
	assert_true(ends_with(sp.head, " \xc2\xb7 <https://bsky.app/p/"
	    "a%7Cb%3Ec%20d%28e%29&amp;f|view on Bluesky>"));
	json_decref(msg);

	md = mattermost_text(&d, NULL);
	assert_non_null(strstr(md, "[view post](https://bsky.app/p/"
	    "a%7Cb%3Ec%20d%28e%29&f)\n"));
	free(md);

	/* No URL: no link, and still a message. */
	free(d.post->url);
	d.post->url = NULL;
	msg = slack_message(&d, NULL, &sp);
	assert_string_equal(sp.head, "*@mallory.example.com* on Bluesky");
	json_decref(msg);
	out = mattermost_text(&d, NULL);
	assert_prefix(out, "**@\xe2\x80\x8bmallory.example.com** on "
	    "Bluesky\n> ");
	free(out);
	delivery_free(&d);
}

/* Invalid UTF-8 and control characters never reach a payload. */
static void
test_invalid_bytes(void **state)
{
	struct delivery		 d;
	struct slack_parts	 sp;
	enum sink_result	 result;
	json_t			*msg;
	char			*md, *out, *cause = NULL;

	(void)state;
	delivery_hostile(&d);
	free(d.post->text);
	/* A lone continuation byte, a truncated sequence, an encoded
	 * surrogate, C1 CSI, CR LF and a lone CR. */
	d.post->text = xstrdup("a\x80" "b\xe6\x97" "c\xed\xa0\x80"
	    "d\xc2\x9b" "e\r\nf\rg");

	msg = slack_message(&d, NULL, &sp);
	assert_string_equal(sp.text, "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf"
	    "\xbd" "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "d\xef\xbf\xbd"
	    "e\nf\ng");
	json_decref(msg);

	md = mattermost_text(&d, NULL);
	assert_true(valid_utf8(md));
	assert_non_null(strstr(md, "d\xef\xbf\xbd" "e\n> f\n> g\n\n"));
	free(md);

	out = console_output(&d, &result, &cause);
	assert_int_equal(result, SINK_OK);
	assert_true(valid_utf8(out));
	assert_non_null(strstr(out, "d\xef\xbf\xbd" "e\n  f\n  g\n\n"));
	assert_null(strstr(out, "\xc2\x9b"));
	free(out);
	delivery_free(&d);
}

/* Markdown that only means something at the start of a line. */
static void
test_mattermost_line_starts(void **state)
{
	struct delivery	 d;
	char		*md;

	(void)state;
	delivery_hostile(&d);
	free(d.post->text);
	d.post->text = xstrdup("Title\n===\n- item\n+ item\n  12. item\n"
	    "a - b 1. c # d\n\n\\*x\\* @ @-x a@b.c");
	md = mattermost_text(&d, NULL);
	assert_non_null(strstr(md, "\n> Title\n> \\===\n> \\- item\n"
	    "> \\+ item\n>   12\\. item\n> a - b 1. c # d\n>\n"
	    "> \\\\\\*x\\\\\\* @ @-x a@\xe2\x80\x8b" "b.c\n\nteam"));
	free(md);
	delivery_free(&d);
}

static void
test_console_write_error(void **state)
{
	struct delivery		 d;
	struct chat_conf	 chat;
	enum sink_result	 result;
	FILE			*full = fopen("/dev/full", "w");
	char			*cause = NULL;
	int			 saved;

	(void)state;
	if (full == NULL)
		skip();
	delivery_english(&d);
	chat_init(&chat, &sink_console_ops);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	dup2(fileno(full), STDOUT_FILENO);
	result = sink_console_ops.write(&chat, &d, &cause);
	/* Whatever the failed flush left buffered must not leak into the
	 * test output once stdout is back. */
	__fpurge(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	fclose(full);

	assert_int_equal(result, SINK_FAIL);
	assert_non_null(cause);
	assert_string_equal(cause, "console: stdout: No space left on device");
	free(cause);
	delivery_free(&d);
}

static void
test_format_errors(void **state)
{
	struct delivery		 d;
	struct chat_conf	 chat;
	struct http_request	 req;
	const struct sink_ops	*http_ops[] = {
		&sink_slack_ops, &sink_mattermost_ops
	};
	char			*cause;
	size_t			 i;

	(void)state;
	delivery_english(&d);
	for (i = 0; i < nitems(http_ops); i++) {
		chat_init(&chat, http_ops[i]);
		chat.webhook_url = NULL;
		http_request_init(&req);
		cause = NULL;
		assert_int_equal(http_ops[i]->format(&chat, &d, &req, &cause),
		    -1);
		assert_non_null(cause);
		assert_non_null(strstr(cause, "webhook_url"));
		free(cause);
		http_request_clear(&req);
	}
	delivery_free(&d);
}

/* ------------------------------------------------------------------ */
/* Responses                                                           */

#define NO_RETRY_AFTER	(-1.0)	/* sink_answer_init's: no signal */

static const struct classify_case {
	long		 status;
	const char	*error;
	const char	*body;
	double		 retry_after;
	enum sink_result expect;
	double		 expect_retry_after;
	const char	*expect_cause;
} classify_cases[] = {
	{ 200, NULL, "ok", -1, SINK_OK, NO_RETRY_AFTER, NULL },
	{ 204, NULL, "", -1, SINK_OK, NO_RETRY_AFTER, NULL },
	{ 200, NULL, "ok", 30, SINK_OK, NO_RETRY_AFTER, NULL },
	{ 400, NULL, "invalid_payload", -1, SINK_FAIL, NO_RETRY_AFTER,
	    "HTTP 400: invalid_payload" },
	{ 403, NULL, "action_prohibited", -1, SINK_FAIL, NO_RETRY_AFTER,
	    "HTTP 403: action_prohibited" },
	{ 404, NULL, "channel_not_found", -1, SINK_FAIL, NO_RETRY_AFTER,
	    "HTTP 404: channel_not_found" },
	{ 410, NULL, "channel_is_archived", -1, SINK_FAIL, NO_RETRY_AFTER,
	    "HTTP 410: channel_is_archived" },
	{ 429, NULL, "rate_limited", 30, SINK_RETRY, 30,
	    "HTTP 429: rate_limited" },
	{ 429, NULL, "", -1, SINK_RETRY, NO_RETRY_AFTER, "HTTP 429" },
	{ 429, NULL, "", 0, SINK_RETRY, 0, "HTTP 429" },
	{ 408, NULL, "", -1, SINK_RETRY, NO_RETRY_AFTER, "HTTP 408" },
	{ 500, NULL, "rollup_error", -1, SINK_RETRY, NO_RETRY_AFTER,
	    "HTTP 500: rollup_error" },
	{ 503, NULL, "Service Unavailable\n", 120, SINK_RETRY, 120,
	    "HTTP 503: Service Unavailable" },
	{ 301, NULL, "", -1, SINK_FAIL, NO_RETRY_AFTER, "HTTP 301" },
	{ 0, "Couldn't connect to server", "", -1, SINK_RETRY,
	    NO_RETRY_AFTER, "transport error: Couldn't connect to server" },
	{ 0, NULL, "", -1, SINK_RETRY, NO_RETRY_AFTER,
	    "transport error: no response" },
	/* Control characters in a body cannot reach a log line. */
	{ 404, NULL, "channel_not_found\r\n\x1b[2J\ttail\x7f", -1, SINK_FAIL,
	    NO_RETRY_AFTER, "HTTP 404: channel_not_found [2J tail" },
};

static void
classify_one(const struct classify_case *c, enum sink_result (*fn)(
    const struct chat_conf *, const struct http_response *,
    struct sink_answer *), const char *who)
{
	struct http_response	 resp;
	struct sink_answer	 a;
	enum sink_result	 r;

	memset(&resp, 0, sizeof(resp));
	resp.status = c->status;
	resp.error = c->error;
	resp.body = c->body;
	resp.body_len = strlen(c->body);
	resp.retry_after = c->retry_after;
	sink_answer_init(&a);
	if (fn != NULL)
		r = fn(NULL, &resp, &a);
	else
		r = sink_classify(&resp, &a);
	if (r != c->expect)
		fail_msg("%s: status %ld: result %d, want %d", who, c->status,
		    (int)r, (int)c->expect);
	assert_true(a.retry_after_s == c->expect_retry_after);
	/* Webhooks name no message. */
	assert_null(a.message_id);
	if (c->expect_cause == NULL)
		assert_null(a.cause);
	else {
		assert_non_null(a.cause);
		assert_string_equal(a.cause, c->expect_cause);
	}
	sink_answer_clear(&a);
	assert_null(a.cause);
	assert_true(a.retry_after_s == -1);
}

static void
test_classify_table(void **state)
{
	const struct sink_ops	*webhook_ops[] = {
		&sink_slack_ops, &sink_mattermost_ops
	};
	size_t			 i, j;

	(void)state;
	for (i = 0; i < nitems(classify_cases); i++) {
		classify_one(&classify_cases[i], NULL, "sink_classify");
		/* Slack's and Mattermost's webhooks answer in plain text,
		 * read the same way. */
		for (j = 0; j < nitems(webhook_ops); j++)
			classify_one(&classify_cases[i],
			    webhook_ops[j]->response, webhook_ops[j]->type);
	}
}

/* Long bodies are cut to 200 bytes without splitting a character. */
static void
test_classify_long_body(void **state)
{
	struct http_response	 resp;
	struct sink_answer	 a;
	struct buf		 b;
	int			 i;

	(void)state;
	buf_init(&b);
	buf_addc(&b, 'a');
	for (i = 0; i < 150; i++)
		buf_adds(&b, "\xc3\xa9");
	memset(&resp, 0, sizeof(resp));
	resp.status = 400;
	resp.body = b.data;
	resp.body_len = b.len;
	resp.retry_after = -1;
	sink_answer_init(&a);
	assert_int_equal(sink_classify(&resp, &a), SINK_FAIL);
	/* 'a' and 99 two-byte characters: byte 200 would split the 100th. */
	assert_int_equal(strlen(a.cause), strlen("HTTP 400: ") + 199);
	assert_true(valid_utf8(a.cause));
	sink_answer_clear(&a);
	buf_free(&b);
}

/* Mattermost's JSON errors are reduced to their message. */
static void
test_mattermost_json_error(void **state)
{
	static const char	 body[] = "{\"id\":\"web.incoming_webhook."
	    "parse.app_error\",\"message\":\"Unable to parse incoming data\","
	    "\"detailed_error\":\"\",\"request_id\":\"8k3x\","
	    "\"status_code\":400}";
	struct http_response	 resp;
	struct sink_answer	 a;

	(void)state;
	memset(&resp, 0, sizeof(resp));
	resp.status = 400;
	resp.body = body;
	resp.body_len = strlen(body);
	resp.retry_after = -1;
	assert_non_null(sink_mattermost_ops.response);
	sink_answer_init(&a);
	assert_int_equal(sink_mattermost_ops.response(NULL, &resp, &a),
	    SINK_FAIL);
	assert_string_equal(a.cause, "HTTP 400: Unable to parse incoming "
	    "data");
	sink_answer_clear(&a);

	resp.status = 503;
	resp.retry_after = 5;
	assert_int_equal(sink_mattermost_ops.response(NULL, &resp, &a),
	    SINK_RETRY);
	assert_true(a.retry_after_s == 5);
	assert_string_equal(a.cause, "HTTP 503: Unable to parse incoming "
	    "data");
	sink_answer_clear(&a);
}

/* ------------------------------------------------------------------ */
/* Web API modes: threads, updates, answers                            */

#define SLACK_TOKEN	"xoxb-1-test"
#define SLACK_API	"http://127.0.0.1:9/api"
#define SLACK_ROOT	"1783175888.000100"
#define SLACK_SHOWN	"1783175890.000200"
#define MM_TOKEN	"mm-test-token"
#define MM_URL		"http://127.0.0.1:9"
#define MM_CHANNEL	"4xp9rgw1sjbt8q7zmyhkeo3n6c"
#define MM_ROOT		"8xk1c3q7wjfm5p9u4ob6yzrgne"
#define MM_SHOWN	"q3m9x1c7wjfm5p9u4ob6yzrgna"

/*
 * Configure chat for ops from the libconfig text of a group "chat",
 * as config.c would after reading the common keys.  Returns what
 * configure returned; errors are appended to errs.
 */
static int
chat_configure(struct chat_conf *chat, const struct sink_ops *ops,
    const char *text, const char *channel_id, struct cfg_errors *errs)
{
	config_t	cfg;
	int		rc;

	chat_init(chat, ops);
	chat->webhook_url = NULL;
	chat->channel_id = (char *)channel_id;
	config_init(&cfg);
	if (config_read_string(&cfg, text) != CONFIG_TRUE)
		fail_msg("config: %s", config_error_text(&cfg));
	rc = ops->configure(chat, config_lookup(&cfg, "chat"), errs);
	config_destroy(&cfg);
	return rc;
}

static void
chat_api(struct chat_conf *chat, const struct sink_ops *ops,
    const char *text)
{
	struct cfg_errors	errs;

	memset(&errs, 0, sizeof(errs));
	strv_init(&errs.msgs);
	if (chat_configure(chat, ops, text, NULL, &errs) != 0)
		fail_msg("%s configure: %s", ops->type, errs.msgs.n > 0 ?
		    errs.msgs.v[0] : "failed");
	assert_int_equal(errs.msgs.n, 0);
	assert_non_null(chat->settings);
	strv_free(&errs.msgs);
}

static void
chat_slack_api(struct chat_conf *chat)
{
	chat_api(chat, &sink_slack_ops, "chat = { token = \"" SLACK_TOKEN
	    "\"; channel = \"C0TEST\"; api_url = \"" SLACK_API "/\"; };");
}

static void
chat_mattermost_api(struct chat_conf *chat)
{
	chat_api(chat, &sink_mattermost_ops, "chat = { token = \"" MM_TOKEN
	    "\"; channel = \"" MM_CHANNEL "\"; url = \"" MM_URL "/\"; };");
}

/*
 * Format d with an API-mode chat, check method, URL and headers, and
 * return the parsed body (json_decref it).
 */
static json_t *
api_format(const struct chat_conf *chat, const struct delivery *d,
    const char *method, const char *url, const char *auth,
    const char *golden)
{
	struct http_request	 req;
	json_t			*body;
	json_error_t		 error;
	char			*cause = NULL, *again, *pretty;

	http_request_init(&req);
	if (chat->ops->format(chat, d, &req, &cause) != 0)
		fail_msg("%s format: %s", chat->ops->type, cause);
	assert_null(cause);
	assert_string_equal(req.method != NULL ? req.method : "POST",
	    method);
	assert_string_equal(req.url, url);
	assert_int_equal(req.headers.n, 2);
	assert_true(strncmp(req.headers.v[0], "Content-Type: application/"
	    "json", 30) == 0);
	assert_string_equal(req.headers.v[1], auth);
	body = json_loadb(req.body, req.body_len, JSON_REJECT_DUPLICATES,
	    &error);
	if (body == NULL)
		fail_msg("%s body: %s", chat->ops->type, error.text);
	if (golden != NULL) {
		again = json_dumps(body, JSON_INDENT(2));
		pretty = xasprintf("%s\n", again);
		golden_check(golden, pretty);
		free(pretty);
		free(again);
	}
	http_request_clear(&req);
	return body;
}

static const char *
jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The conversation's first post starts a message; later ones, notes
 * and deletions go into its thread; an edit updates the message that
 * showed the post. */
static void
test_slack_api_threads(void **state)
{
	struct chat_conf	 chat;
	struct delivery		 d;
	json_t			*msg, *hook;
	const char		*auth = "Authorization: Bearer " SLACK_TOKEN;

	(void)state;
	chat_slack_api(&chat);

	delivery_english(&d);
	msg = api_format(&chat, &d, "POST", SLACK_API "/chat.postMessage",
	    auth, "slack-api-post.json");
	assert_string_equal(jstr(msg, "channel"), "C0TEST");
	assert_null(json_object_get(msg, "thread_ts"));
	/* The same message as through a webhook, plus where it goes. */
	hook = http_format(&sink_slack_ops, &d,
	    "Content-Type: application/json; charset=utf-8", NULL);
	assert_true(json_equal(json_object_get(msg, "blocks"),
	    json_object_get(hook, "blocks")));
	assert_string_equal(jstr(msg, "text"), jstr(hook, "text"));
	json_decref(hook);
	json_decref(msg);
	delivery_free(&d);

	delivery_reply(&d);
	d.thread = xstrdup(SLACK_ROOT);
	msg = api_format(&chat, &d, "POST", SLACK_API "/chat.postMessage",
	    auth, "slack-api-thread.json");
	assert_string_equal(jstr(msg, "thread_ts"), SLACK_ROOT);
	json_decref(msg);

	/* An edit of a shown post replaces that message. */
	d.kind = DELIVERY_EDIT;
	d.message = xstrdup(SLACK_SHOWN);
	msg = api_format(&chat, &d, "POST", SLACK_API "/chat.update", auth,
	    "slack-api-update.json");
	assert_string_equal(jstr(msg, "ts"), SLACK_SHOWN);
	assert_string_equal(jstr(msg, "channel"), "C0TEST");
	assert_null(json_object_get(msg, "thread_ts"));
	assert_null(json_object_get(msg, "unfurl_links"));
	assert_non_null(strstr(jstr(msg, "text"), "Edited by its author"));
	json_decref(msg);

	/* A deletion is said in the thread, whatever is known. */
	d.kind = DELIVERY_DELETE;
	msg = api_format(&chat, &d, "POST", SLACK_API "/chat.postMessage",
	    auth, NULL);
	assert_string_equal(jstr(msg, "thread_ts"), SLACK_ROOT);
	assert_non_null(strstr(jstr(msg, "text"), "Deleted by its author"));
	json_decref(msg);

	/* An edit of a post shown only in a digest: a reply. */
	d.kind = DELIVERY_EDIT;
	free(d.message);
	d.message = NULL;
	msg = api_format(&chat, &d, "POST", SLACK_API "/chat.postMessage",
	    auth, NULL);
	assert_string_equal(jstr(msg, "thread_ts"), SLACK_ROOT);
	json_decref(msg);

	d.kind = DELIVERY_NOTE;
	d.note = xstrdup("Reply by @eve published: https://bsky.app/x");
	msg = api_format(&chat, &d, "POST", SLACK_API "/chat.postMessage",
	    auth, "slack-api-note.json");
	assert_string_equal(jstr(msg, "thread_ts"), SLACK_ROOT);
	assert_string_equal(jstr(msg, "channel"), "C0TEST");
	json_decref(msg);
	delivery_free(&d);
	sink_slack_ops.settings_free(chat.settings);
}

static void
test_mattermost_api_threads(void **state)
{
	struct chat_conf	 chat;
	struct delivery		 d;
	json_t			*msg;
	char			*hook;
	const char		*auth = "Authorization: Bearer " MM_TOKEN;

	(void)state;
	chat_mattermost_api(&chat);

	delivery_english(&d);
	msg = api_format(&chat, &d, "POST", MM_URL "/api/v4/posts", auth,
	    "mattermost-api-post.json");
	assert_int_equal(json_object_size(msg), 2);
	assert_string_equal(jstr(msg, "channel_id"), MM_CHANNEL);
	hook = mattermost_text(&d, NULL);
	assert_string_equal(jstr(msg, "message"), hook);
	free(hook);
	json_decref(msg);
	delivery_free(&d);

	delivery_reply(&d);
	d.thread = xstrdup(MM_ROOT);
	msg = api_format(&chat, &d, "POST", MM_URL "/api/v4/posts", auth,
	    "mattermost-api-thread.json");
	assert_string_equal(jstr(msg, "root_id"), MM_ROOT);
	json_decref(msg);

	d.kind = DELIVERY_EDIT;
	d.message = xstrdup(MM_SHOWN);
	msg = api_format(&chat, &d, "PUT", MM_URL "/api/v4/posts/" MM_SHOWN
	    "/patch", auth, "mattermost-api-patch.json");
	assert_int_equal(json_object_size(msg), 1);
	assert_non_null(strstr(jstr(msg, "message"), "Edited by its author"));
	json_decref(msg);

	/* An id is only ever letters and digits in the path. */
	free(d.message);
	d.message = xstrdup("../users/me?x=1");
	msg = api_format(&chat, &d, "PUT", MM_URL "/api/v4/posts/"
	    "%2E%2E%2Fusers%2Fme%3Fx%3D1/patch", auth, NULL);
	json_decref(msg);

	d.kind = DELIVERY_DELETE;
	msg = api_format(&chat, &d, "POST", MM_URL "/api/v4/posts", auth,
	    NULL);
	assert_string_equal(jstr(msg, "root_id"), MM_ROOT);
	json_decref(msg);

	d.kind = DELIVERY_NOTE;
	d.note = xstrdup("Assigned to sales");
	msg = api_format(&chat, &d, "POST", MM_URL "/api/v4/posts", auth,
	    "mattermost-api-note.json");
	assert_string_equal(jstr(msg, "root_id"), MM_ROOT);
	json_decref(msg);
	delivery_free(&d);
	sink_mattermost_ops.settings_free(chat.settings);
}

/* One answer read by an adapter: the result; *a keeps the rest. */
static enum sink_result
answer(const struct chat_conf *chat, long status, const char *body,
    double retry_after, const char *const *headers, struct sink_answer *a)
{
	struct http_response	 resp;
	struct strv		 h;
	enum sink_result	 r;

	strv_init(&h);
	for (; headers != NULL && *headers != NULL; headers++)
		strv_add(&h, *headers);
	memset(&resp, 0, sizeof(resp));
	resp.status = status;
	resp.body = body;
	resp.body_len = strlen(body);
	resp.retry_after = retry_after;
	resp.headers = &h;
	sink_answer_clear(a);
	r = chat->ops->response(chat, &resp, a);
	strv_free(&h);
	return r;
}

static void
test_slack_api_answers(void **state)
{
	static const struct {
		long			 status;
		const char		*body;
		double			 retry_after;
		enum sink_result	 expect;
		double			 expect_retry;
		const char		*expect_id, *expect_cause;
	} cases[] = {
		{ 200, "{\"ok\":true,\"channel\":\"C0TEST\",\"ts\":\""
		    SLACK_ROOT "\",\"message\":{}}", -1, SINK_OK, -1,
		    SLACK_ROOT, NULL },
		{ 200, "{\"ok\":true,\"warning\":\"message_truncated\"}", -1,
		    SINK_OK, -1, NULL, NULL },
		{ 200, "{\"ok\":false,\"error\":\"channel_not_found\"}", -1,
		    SINK_FAIL, -1, NULL, "slack: channel_not_found" },
		{ 200, "{\"ok\":false,\"error\":\"not_in_channel\"}", -1,
		    SINK_FAIL, -1, NULL, "slack: not_in_channel" },
		{ 200, "{\"ok\":false,\"error\":\"invalid_auth\"}", -1,
		    SINK_FAIL, -1, NULL, "slack: invalid_auth" },
		{ 200, "{\"ok\":false,\"error\":\"msg_too_long\"}", -1,
		    SINK_FAIL, -1, NULL, "slack: msg_too_long" },
		{ 200, "{\"ok\":false,\"error\":\"ratelimited\"}", 3,
		    SINK_RETRY, 3, NULL, "slack: ratelimited" },
		{ 200, "{\"ok\":false,\"error\":\"internal_error\"}", -1,
		    SINK_RETRY, -1, NULL, "slack: internal_error" },
		{ 200, "{\"ok\":false,\"error\":\"bad\\u001b[2J\"}", -1,
		    SINK_FAIL, -1, NULL, "slack: bad?[2J" },
		{ 200, "{\"ok\":false}", -1, SINK_FAIL, -1, NULL,
		    "slack: unknown error" },
		{ 429, "{\"ok\":false,\"error\":\"ratelimited\"}", 30,
		    SINK_RETRY, 30, NULL, "HTTP 429: ratelimited" },
		{ 503, "", -1, SINK_RETRY, -1, NULL, "HTTP 503" },
		{ 404, "{\"ok\":false,\"error\":\"unknown_method\"}", -1,
		    SINK_FAIL, -1, NULL, "HTTP 404: unknown_method" },
		/* Not the Web API's answer: maybe a proxy's. */
		{ 200, "ok", -1, SINK_RETRY, -1, NULL,
		    "slack: not a Web API answer (HTTP 200)" },
		{ 200, "", -1, SINK_RETRY, -1, NULL,
		    "slack: not a Web API answer (HTTP 200)" },
	};
	struct chat_conf	chat;
	struct sink_answer	a;
	size_t			i;

	(void)state;
	chat_slack_api(&chat);
	sink_answer_init(&a);
	for (i = 0; i < nitems(cases); i++) {
		if (answer(&chat, cases[i].status, cases[i].body,
		    cases[i].retry_after, NULL, &a) != cases[i].expect)
			fail_msg("case %zu: %s", i, cases[i].body);
		assert_true(a.retry_after_s == cases[i].expect_retry);
		if (cases[i].expect_id == NULL)
			assert_null(a.message_id);
		else
			assert_string_equal(a.message_id, cases[i].expect_id);
		if (cases[i].expect_cause == NULL)
			assert_null(a.cause);
		else
			assert_string_equal(a.cause, cases[i].expect_cause);
	}
	sink_answer_clear(&a);
	sink_slack_ops.settings_free(chat.settings);
}

static void
test_mattermost_api_answers(void **state)
{
	const char *const	 none[] = { NULL };
	const char *const	 reset_in[] = { "x-ratelimit-reset: 3", NULL };
	const char *const	 spent[] = { "x-ratelimit-limit: 10",
	    "x-ratelimit-remaining: 0", "x-ratelimit-reset: 2", NULL };
	const char *const	 left[] = { "x-ratelimit-remaining: 4",
	    "x-ratelimit-reset: 2", NULL };
	const char		*epoch[2] = { NULL, NULL };
	struct chat_conf	 chat, hook;
	struct sink_answer	 a;
	char			*h;

	(void)state;
	chat_mattermost_api(&chat);
	sink_answer_init(&a);
	assert_int_equal(answer(&chat, 201, "{\"id\":\"" MM_ROOT "\","
	    "\"channel_id\":\"" MM_CHANNEL "\",\"root_id\":\"\"}", -1, none,
	    &a), SINK_OK);
	assert_string_equal(a.message_id, MM_ROOT);
	assert_true(a.retry_after_s == -1);
	assert_null(a.cause);

	/* The last request of the window: wait for the reset. */
	assert_int_equal(answer(&chat, 201, "{\"id\":\"" MM_SHOWN "\"}", -1,
	    spent, &a), SINK_OK);
	assert_string_equal(a.message_id, MM_SHOWN);
	assert_true(a.retry_after_s == 2);
	assert_int_equal(answer(&chat, 200, "{\"id\":\"" MM_SHOWN "\"}", -1,
	    left, &a), SINK_OK);
	assert_true(a.retry_after_s == -1);

	/* A 429 says when in Retry-After, or in X-Ratelimit-Reset as a
	 * delay or as a Unix time. */
	assert_int_equal(answer(&chat, 429, "{\"message\":\"limit exceeded\""
	    "}", 9, reset_in, &a), SINK_RETRY);
	assert_true(a.retry_after_s == 9);
	assert_string_equal(a.cause, "HTTP 429: limit exceeded");
	assert_int_equal(answer(&chat, 429, "limit exceeded", -1, reset_in,
	    &a), SINK_RETRY);
	assert_true(a.retry_after_s == 3);
	h = xasprintf("x-ratelimit-reset: %lld",
	    (long long)(now_wall_ms() / 1000 + 7));
	epoch[0] = h;
	assert_int_equal(answer(&chat, 429, "", -1, epoch, &a), SINK_RETRY);
	assert_true(a.retry_after_s > 5 && a.retry_after_s <= 7);
	free(h);
	h = xstrdup("x-ratelimit-reset: soon");
	epoch[0] = h;
	assert_int_equal(answer(&chat, 429, "", -1, epoch, &a), SINK_RETRY);
	assert_true(a.retry_after_s == -1);
	free(h);

	assert_int_equal(answer(&chat, 403, "{\"id\":\"api.context.permissions"
	    ".app_error\",\"message\":\"You do not have the appropriate "
	    "permissions.\",\"status_code\":403}", -1, none, &a), SINK_FAIL);
	assert_string_equal(a.cause, "HTTP 403: You do not have the "
	    "appropriate permissions.");

	/* A webhook's answer names no post. */
	chat_init(&hook, &sink_mattermost_ops);
	assert_int_equal(answer(&hook, 200, "{\"id\":\"" MM_ROOT "\"}", -1,
	    none, &a), SINK_OK);
	assert_null(a.message_id);
	sink_answer_clear(&a);
	sink_mattermost_ops.settings_free(chat.settings);
}

/* What each API mode needs, and what it refuses. */
static void
test_api_configure(void **state)
{
	static const struct {
		const struct sink_ops	*ops;
		const char		*text;
		const char		*channel_id;
		int			 rc;
		const char		*error;
	} cases[] = {
		{ &sink_slack_ops, "chat = { };", NULL, 0, NULL },
		{ &sink_slack_ops, "chat = { token = \"xoxb-1\"; };",
		    "C0CMD", 0, NULL },
		{ &sink_slack_ops, "chat = { token = \"xoxb-1\"; };", NULL,
		    -1, "needs \"channel\"" },
		{ &sink_slack_ops, "chat = { channel = \"C1\"; };", NULL, -1,
		    ":1: chat.channel: only with \"token\"" },
		{ &sink_slack_ops, "chat = { token = \"secret\";"
		    " channel = \"C1\"; };", NULL, -1, "Slack bot token" },
		{ &sink_slack_ops, "chat = { token = \"xoxb-1\";"
		    " channel = \"C1\"; api_url = \"http://slack.example\"; };",
		    NULL, -1, "chat.api_url: the URL must start with https://" },
		{ &sink_mattermost_ops, "chat = { };", NULL, 0, NULL },
		{ &sink_mattermost_ops, "chat = { token = \"t\";"
		    " url = \"https://mm.example\"; };", "ch1", 0, NULL },
		{ &sink_mattermost_ops, "chat = { token = \"t\";"
		    " channel = \"ch1\"; };", NULL, -1, "\"url\"" },
		{ &sink_mattermost_ops, "chat = { url = \"https://mm.example\";"
		    " };", NULL, -1, "chat.url: only with \"token\"" },
		{ &sink_mattermost_ops, "chat = { token = \"t\"; channel = "
		    "\"ch1\"; url = \"http://mm.example\"; };", NULL, -1,
		    "chat.url: the URL must start with https://" },
	};
	struct cfg_errors	 errs;
	struct chat_conf	 chat;
	size_t			 i;
	int			 rc;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		memset(&errs, 0, sizeof(errs));
		strv_init(&errs.msgs);
		rc = chat_configure(&chat, cases[i].ops, cases[i].text,
		    cases[i].channel_id, &errs);
		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d: %s", i, rc,
			    errs.msgs.n > 0 ? errs.msgs.v[0] : "");
		if (cases[i].error == NULL)
			assert_int_equal(errs.msgs.n, 0);
		else {
			assert_true(errs.msgs.n >= 1);
			if (strstr(errs.msgs.v[0], cases[i].error) == NULL)
				fail_msg("case %zu: %s", i, errs.msgs.v[0]);
			assert_null(chat.settings);
		}
		/* channel_id stands in for a missing channel. */
		if (rc == 0 && cases[i].channel_id != NULL)
			assert_non_null(chat.settings);
		if (chat.settings != NULL)
			cases[i].ops->settings_free(chat.settings);
		strv_free(&errs.msgs);
	}

	/* A webhook and a token: one or the other. */
	memset(&errs, 0, sizeof(errs));
	strv_init(&errs.msgs);
	chat_init(&chat, &sink_slack_ops);
	{
		config_t	cfg;

		config_init(&cfg);
		assert_int_equal(config_read_string(&cfg, "chat = { token = "
		    "\"xoxb-1\"; channel = \"C1\"; webhook_url = "
		    "\"https://hooks.example.com/x\"; };"), CONFIG_TRUE);
		assert_int_equal(sink_slack_ops.configure(&chat,
		    config_lookup(&cfg, "chat"), &errs), -1);
		config_destroy(&cfg);
	}
	assert_non_null(strstr(errs.msgs.v[0], "chat.webhook_url: give "
	    "either webhook_url or token, not both"));
	strv_free(&errs.msgs);
}

/* ------------------------------------------------------------------ */
/* Digests                                                             */

/* Four real posts, as the outbox would batch them. */
static void
digest_four(struct delivery *d, const struct delivery **pv)
{
	size_t	i;

	delivery_english(&d[0]);
	delivery_japanese(&d[1]);
	delivery_reply(&d[2]);
	delivery_empty(&d[3]);
	for (i = 0; i < 4; i++) {
		free(d[i].destination);
		d[i].destination = xstrdup("care");
		pv[i] = &d[i];
	}
	free(d[2].code);
	d[2].code = xstrdup("R3PL");
}

static json_t *
digest_body(const struct chat_conf *chat, const struct delivery **pv,
    size_t n, const char *url, const char *golden)
{
	struct http_request	 req;
	json_t			*body;
	char			*cause = NULL, *again, *pretty;

	http_request_init(&req);
	if (chat->ops->format_digest(chat, pv, n, &req, &cause) != 0)
		fail_msg("%s digest: %s", chat->ops->type, cause);
	assert_true(req.method == NULL || strcmp(req.method, "POST") == 0);
	assert_string_equal(req.url, url);
	body = json_loadb(req.body, req.body_len, JSON_REJECT_DUPLICATES,
	    NULL);
	assert_non_null(body);
	if (golden != NULL) {
		again = json_dumps(body, JSON_INDENT(2));
		pretty = xasprintf("%s\n", again);
		golden_check(golden, pretty);
		free(pretty);
		free(again);
	}
	http_request_clear(&req);
	return body;
}

/* Every block's text of a Slack message, joined (caller frees). */
static char *
slack_blocks_text(json_t *msg)
{
	json_t		*blocks = json_object_get(msg, "blocks");
	struct buf	 b;
	size_t		 i;

	buf_init(&b);
	buf_adds(&b, "");
	for (i = 0; i < json_array_size(blocks); i++) {
		buf_adds(&b, jstr(json_object_get(json_array_get(blocks, i),
		    "text"), "text"));
		buf_addc(&b, '\n');
	}
	return buf_steal(&b);
}

static void
test_digest_golden(void **state)
{
	struct delivery		 d[4];
	const struct delivery	*pv[4];
	struct chat_conf	 chat;
	struct http_request	 req;
	enum sink_result	 result;
	json_t			*msg;
	char			*text, *out, *cause = NULL, *line;
	size_t			 i;

	(void)state;
	digest_four(d, pv);

	chat_init(&chat, &sink_slack_ops);
	msg = digest_body(&chat, pv, 4, HOOK_URL, "slack-digest.json");
	assert_int_equal(json_array_size(json_object_get(msg, "blocks")), 2);
	text = slack_blocks_text(msg);
	assert_prefix(text, "_Digest:_ *4 posts* for team *care*");
	line = xasprintf("\n`K7QX` %s: ", d[0].post->author);
	assert_non_null(strstr(text, line));
	free(line);
	assert_non_null(strstr(text, "`J4PN` "));
	assert_non_null(strstr(text, "`R3PL` "));
	/* An image-only post: its code and author, nothing after. */
	line = xasprintf("`Z9AB` %s\n", d[3].post->author);
	assert_non_null(strstr(text, line));
	free(line);
	free(text);
	assert_string_equal(jstr(msg, "text"), "[care] Digest of 4 posts: "
	    "K7QX, J4PN, R3PL, Z9AB");
	json_decref(msg);

	chat_slack_api(&chat);
	msg = digest_body(&chat, pv, 4, SLACK_API "/chat.postMessage",
	    "slack-api-digest.json");
	assert_string_equal(jstr(msg, "channel"), "C0TEST");
	/* A digest belongs to no conversation: never in a thread. */
	d[0].thread = xstrdup(SLACK_ROOT);
	json_decref(msg);
	msg = digest_body(&chat, pv, 4, SLACK_API "/chat.postMessage", NULL);
	assert_null(json_object_get(msg, "thread_ts"));
	json_decref(msg);
	sink_slack_ops.settings_free(chat.settings);

	chat_init(&chat, &sink_mattermost_ops);
	msg = digest_body(&chat, pv, 4, HOOK_URL, "mattermost-digest.json");
	assert_prefix(jstr(msg, "text"), "*Digest:* **4 posts** for team "
	    "`care`");
	line = xasprintf("\n- `K7QX` %s: ", d[0].post->author);
	assert_non_null(strstr(jstr(msg, "text"), line));
	free(line);
	json_decref(msg);
	chat_mattermost_api(&chat);
	msg = digest_body(&chat, pv, 4, MM_URL "/api/v4/posts",
	    "mattermost-api-digest.json");
	assert_string_equal(jstr(msg, "channel_id"), MM_CHANNEL);
	assert_null(json_object_get(msg, "root_id"));
	json_decref(msg);
	sink_mattermost_ops.settings_free(chat.settings);

	chat_init(&chat, &sink_console_ops);
	{
		FILE	*tmp = tmpfile();
		int	 saved;
		long	 n;

		fflush(stdout);
		saved = dup(STDOUT_FILENO);
		dup2(fileno(tmp), STDOUT_FILENO);
		result = sink_console_ops.write_digest(&chat, pv, 4, &cause);
		fflush(stdout);
		dup2(saved, STDOUT_FILENO);
		close(saved);
		assert_int_equal(result, SINK_OK);
		n = ftell(tmp);
		rewind(tmp);
		out = xmalloc((size_t)n + 1);
		assert_int_equal(fread(out, 1, (size_t)n, tmp), (size_t)n);
		out[n] = '\0';
		fclose(tmp);
	}
	golden_check("console-digest.txt", out);
	assert_prefix(out, "\xe2\x94\x80\xe2\x94\x80 #care \xe2\x94\x80"
	    "\xe2\x94\x80 digest of 4 posts ");
	assert_non_null(strstr(out, "\n  J4PN  "));
	free(out);

	/* Only posts make a digest. */
	d[1].kind = DELIVERY_NOTE;
	d[1].note = xstrdup("x");
	for (i = 0; i < 2; i++) {
		const struct sink_ops	*ops = i == 0 ? &sink_slack_ops :
		    &sink_mattermost_ops;

		chat_init(&chat, ops);
		http_request_init(&req);
		assert_int_equal(ops->format_digest(&chat, pv, 4, &req,
		    &cause), -1);
		assert_non_null(strstr(cause, "posts only"));
		free(cause);
		cause = NULL;
		http_request_clear(&req);
	}
	assert_int_equal(sink_console_ops.write_digest(&chat, pv, 4, &cause),
	    SINK_FAIL);
	free(cause);
	for (i = 0; i < 4; i++)
		delivery_free(&d[i]);
}

/*
 * Synthetic, not recorded: n hostile posts (the hostile text, a
 * 253-character handle full of markup, each its own code), the worst a
 * digest must still fit.
 */
static struct delivery *
hostile_many(size_t n, const struct delivery **pv)
{
	struct delivery	*v = xcalloc(n, sizeof(*v));
	char		 handle[254];
	size_t		 i, j;

	for (i = 0; i < n; i++) {
		delivery_hostile(&v[i]);
		for (j = 0; j < sizeof(handle) - 1; j++)
			handle[j] = "<&>@*`_\xc3"[j % 8];
		handle[sizeof(handle) - 2] = 'x';
		handle[sizeof(handle) - 1] = '\0';
		free(v[i].post->author_handle);
		v[i].post->author_handle = xstrdup(handle);
		free(v[i].code);
		v[i].code = xasprintf("H%03zu", i);
		pv[i] = &v[i];
	}
	return v;
}

static void
test_digest_limits(void **state)
{
	static const size_t	 sizes[] = { 2, 20, 100, 200 };
	const struct delivery	*pv[200];
	struct delivery		*v;
	struct chat_conf	 chat;
	json_t			*msg, *blocks;
	char			*text, *code;
	const char		*s;
	size_t			 i, k, n;

	(void)state;
	v = hostile_many(200, pv);
	for (k = 0; k < nitems(sizes); k++) {
		n = sizes[k];
		chat_init(&chat, &sink_slack_ops);
		msg = digest_body(&chat, pv, n, HOOK_URL, NULL);
		blocks = json_object_get(msg, "blocks");
		assert_true(json_array_size(blocks) <= 50);
		for (i = 0; i < json_array_size(blocks); i++) {
			s = jstr(json_object_get(json_array_get(blocks, i),
			    "text"), "text");
			assert_true(valid_utf8(s));
			if (count_chars(s) > 3000)
				fail_msg("%zu posts: section %zu has %zu "
				    "characters", n, i, count_chars(s));
		}
		assert_true(count_chars(jstr(msg, "text")) <= 150);
		text = slack_blocks_text(msg);
		for (i = 0; i < n; i++) {
			code = xasprintf("`H%03zu`", i);
			assert_non_null(strstr(text, code));
			free(code);
		}
		assert_null(strchr(text, '<'));
		assert_null(strchr(text, '\x1b'));
		free(text);
		json_decref(msg);

		chat_init(&chat, &sink_mattermost_ops);
		msg = digest_body(&chat, pv, n, HOOK_URL, NULL);
		s = jstr(msg, "text");
		assert_true(valid_utf8(s));
		if (count_chars(s) > 4000)
			fail_msg("%zu posts: webhook digest of %zu characters",
			    n, count_chars(s));
		for (i = 0; i < n; i++) {
			code = xasprintf("`H%03zu`", i);
			assert_non_null(strstr(s, code));
			free(code);
		}
		assert_null(strstr(s, "@here"));
		assert_null(strchr(s, '<'));
		json_decref(msg);

		chat_mattermost_api(&chat);
		msg = digest_body(&chat, pv, n, MM_URL "/api/v4/posts", NULL);
		s = jstr(msg, "message");
		if (count_chars(s) > 16383)
			fail_msg("%zu posts: API digest of %zu characters", n,
			    count_chars(s));
		for (i = 0; i < n; i++) {
			code = xasprintf("`H%03zu`", i);
			assert_non_null(strstr(s, code));
			free(code);
		}
		/* Roomier: the start of each post survives. */
		if (n <= 100)
			assert_non_null(strstr(s, ": &lt;!channel&gt; @"));
		json_decref(msg);
		sink_mattermost_ops.settings_free(chat.settings);
	}
	for (i = 0; i < 200; i++)
		delivery_free(&v[i]);
	free(v);
}

/* ------------------------------------------------------------------ */
/* Registry and shared parts                                           */

static void
test_registry(void **state)
{
	size_t	i, j;

	(void)state;
	assert_ptr_equal(sink_find("slack"), &sink_slack_ops);
	assert_ptr_equal(sink_find("mattermost"), &sink_mattermost_ops);
	assert_ptr_equal(sink_find("console"), &sink_console_ops);
	assert_null(sink_find("Slack"));
	assert_null(sink_find("irc"));
	assert_null(sink_find(""));
	assert_null(sink_find(NULL));
	for (i = 0; sink_table[i] != NULL; i++) {
		const struct sink_ops	*ops = sink_table[i];

		assert_non_null(ops->type);
		/* Exactly one way to deliver: HTTP or local. */
		assert_true((ops->format != NULL) != (ops->write != NULL));
		/* A local sink posts nowhere; digests go the same way. */
		if (ops->write != NULL) {
			assert_false(ops->needs_url);
			assert_null(ops->format_digest);
		} else
			assert_null(ops->write_digest);
		assert_true(ops->default_rate > 0);
		assert_true(ops->default_burst >= 1);
		for (j = 0; j < i; j++)
			assert_string_not_equal(sink_table[j]->type, ops->type);
	}
	assert_true(i >= 3);
	assert_true(sink_slack_ops.default_rate == 1.0);
	assert_int_equal(sink_slack_ops.default_burst, 3);
	assert_true(sink_mattermost_ops.default_rate == 10.0);
	assert_int_equal(sink_mattermost_ops.default_burst, 10);
	assert_true(sink_console_ops.default_rate == 1000.0);
	assert_int_equal(sink_console_ops.default_burst, 1000);
}

static void
assert_author(const struct post *p, const char *want)
{
	char	*got = sink_author(p);

	assert_string_equal(got, want);
	free(got);
}

static void
test_author_and_platform(void **state)
{
	struct post	*p = post_new();
	char		 longh[300];

	(void)state;
	assert_string_equal(sink_platform_name("bluesky"), "Bluesky");
	assert_string_equal(sink_platform_name("gopher"), "gopher");

	p->author = xstrdup("did:plc:wq4aajammjtxdomz3e23667t");
	assert_author(p, "did:plc:wq4aajammjtxdomz3e23667t");
	p->author_handle = xstrdup("");
	assert_author(p, "did:plc:wq4aajammjtxdomz3e23667t");
	free(p->author_handle);
	p->author_handle = xstrdup("alice.bsky.social");
	assert_author(p, "@alice.bsky.social");
	free(p->author_handle);
	memset(longh, 'a', sizeof(longh) - 1);
	longh[sizeof(longh) - 1] = '\0';
	p->author_handle = xstrdup(longh);
	assert_author(p, "did:plc:wq4aajammjtxdomz3e23667t");
	post_free(p);
}

static void
test_console_rejects_url(void **state)
{
	static const char	 text[] =
	    "chat = {\n  type = \"console\";\n"
	    "  webhook_url = \"https://hooks.example.com/x\";\n};\n"
	    "quiet = {\n  type = \"console\";\n};\n";
	struct cfg_errors	 errs;
	struct chat_conf	 chat;
	config_t		 cfg;

	(void)state;
	config_init(&cfg);
	assert_int_equal(config_read_string(&cfg, text), CONFIG_TRUE);
	memset(&errs, 0, sizeof(errs));
	strv_init(&errs.msgs);
	chat_init(&chat, &sink_console_ops);

	assert_non_null(sink_console_ops.configure);
	assert_int_equal(sink_console_ops.configure(&chat,
	    config_lookup(&cfg, "quiet"), &errs), 0);
	assert_int_equal(errs.msgs.n, 0);
	assert_int_equal(sink_console_ops.configure(&chat,
	    config_lookup(&cfg, "chat"), &errs), -1);
	assert_int_equal(errs.msgs.n, 1);
	assert_non_null(strstr(errs.msgs.v[0], ":3: chat.webhook_url: not "
	    "used by chat type \"console\""));
	strv_free(&errs.msgs);
	config_destroy(&cfg);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_english),
		cmocka_unit_test(test_japanese),
		cmocka_unit_test(test_reply),
		cmocka_unit_test(test_empty_text),
		cmocka_unit_test(test_note),
		cmocka_unit_test(test_hostile_slack),
		cmocka_unit_test(test_hostile_mattermost),
		cmocka_unit_test(test_hostile_console),
		cmocka_unit_test(test_escape_expansion_fits),
		cmocka_unit_test(test_whole_corpus),
		cmocka_unit_test(test_random_bytes),
		cmocka_unit_test(test_url_encoding),
		cmocka_unit_test(test_kinds_and_private),
		cmocka_unit_test(test_invalid_bytes),
		cmocka_unit_test(test_mattermost_line_starts),
		cmocka_unit_test(test_console_write_error),
		cmocka_unit_test(test_format_errors),
		cmocka_unit_test(test_classify_table),
		cmocka_unit_test(test_classify_long_body),
		cmocka_unit_test(test_mattermost_json_error),
		cmocka_unit_test(test_slack_api_threads),
		cmocka_unit_test(test_mattermost_api_threads),
		cmocka_unit_test(test_slack_api_answers),
		cmocka_unit_test(test_mattermost_api_answers),
		cmocka_unit_test(test_api_configure),
		cmocka_unit_test(test_digest_golden),
		cmocka_unit_test(test_digest_limits),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_author_and_platform),
		cmocka_unit_test(test_console_rejects_url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
