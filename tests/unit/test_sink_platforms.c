/*
 * The Discord, Teams, Matrix and generic webhook adapters: real posts
 * from the recorded Jetstream corpus and a synthetic hostile one,
 * rendered as a new post, a reply in its conversation's thread, an
 * edit, a note and a digest, compared with tests/data/golden/; the
 * request around each body (method, URL, thread and transaction ids,
 * headers, the webhook's signature); each platform's limits and
 * escaping checked independently of the goldens; each platform's
 * answers (ids, rate-limit signals, errors); and their configuration
 * through config_load.
 *
 * Golden files change only on purpose: run with SB_UPDATE_GOLDEN=1 to
 * rewrite them, then review the diff.  Bodies are stored re-indented
 * (JSON_INDENT(2)); the test checks that the body sent is compact.
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include "harness.h"

#include "config.h"
#include "jetstream.h"
#include "sink.h"
#include "text.h"

#define HOOK_URL	"https://hooks.example.com/api/webhooks/123/TOKEN"
#define MATRIX_HS	"https://matrix.example.org"
#define MATRIX_ROOM_PATH \
	MATRIX_HS "/_matrix/client/v3/rooms/%21AbCdEf%3Aexample.org/send/" \
	"m.room.message/"
#define MATRIX_TOKEN	"syt_c2J0ZXN0_SECRETTOKEN_0a1b2c"
#define WEBHOOK_SECRET	"whsec-0123456789abcdef-test"

#define DISCORD_THREAD	"1300000000000000001"
#define DISCORD_MESSAGE	"1300000000000000002"
#define MATRIX_THREAD	"$8Q2y4DWmmlJcEdpAKJ0z0tXH1ZmfWfBsnqKlNyVr4Ys"
#define MATRIX_MESSAGE	"$o1tdrmA0LwXvOYq8Ko0NM2Fds4tyeEKoYBhwqSdYZLI"

#define NOTE_TEXT	"Reply by <@U1|eve> & co published: " \
	"https://mastodon.example/@brand/1?a=1&b=2"

/* The user-controlled part of the synthetic post: every injection an
 * adapter must defuse, then block markup at the start of lines. */
#define HOSTILE_HEAD \
	"<!channel> @here @everyone <@123> <@&456> <#789> <:x:1> *bold* " \
	"__u__ ~~s~~ ||spoiler|| `code` [x](http://evil) & \" ' \x1b[31m" \
	"\n# not a heading\n-# not subtext\n1. not a list\n> not a quote\n" \
	"<script>alert(1)</script><a href=\"http://evil\">y</a>\n"

/* ------------------------------------------------------------------ */
/* Building deliveries                                                 */

/* The post on line lineno (1-based) of the recorded corpus. */
static struct post *
corpus_post(int lineno)
{
	struct jetstream_event	 ev;
	struct post		*p;
	char			*line, *cause = NULL;

	line = test_line("tests/data/jetstream-corpus.jsonl", lineno);
	memset(&ev, 0, sizeof(ev));
	if (jetstream_parse(line, strlen(line), &ev, &cause) != 0)
		fail_msg("corpus line %d: %s", lineno, cause);
	assert_int_equal(ev.kind, JETSTREAM_POST);
	p = ev.post;
	ev.post = NULL;
	jetstream_event_clear(&ev);
	free(line);
	return p;
}

static void
delivery_fill(struct delivery *d, int64_t id, struct post *p,
    const char *team, const char *rule, const char *code)
{
	memset(d, 0, sizeof(*d));
	d->id = id;
	d->destination = xstrdup(team);
	d->team = xstrdup(team);
	d->rule = xstrdup(rule);
	d->code = xstrdup(code);
	d->post = p;
}

/* Line 110: a plain English post, no reply. */
static void
delivery_english(struct delivery *d)
{
	struct post	*p = corpus_post(110);

	assert_string_equal(p->langs.v[0], "en");
	assert_null(p->reply_root);
	delivery_fill(d, 1, p, "care", "care/complaints", "K7QX");
}

/* Line 4: Japanese, with an emoji (a 4-byte sequence). */
static void
delivery_japanese(struct delivery *d)
{
	struct post	*p = corpus_post(4);

	assert_string_equal(p->langs.v[0], "ja");
	delivery_fill(d, 2, p, "intl", "intl/japanese", "J4PN");
}

/* Line 88: a reply, a later post of its conversation. */
static void
delivery_reply(struct delivery *d)
{
	struct post	*p = corpus_post(88);

	assert_non_null(p->reply_root);
	delivery_fill(d, 3, p, "care", "thread", "R3PL");
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
	struct post	*p = post_new();
	struct buf	 b;
	int		 i;

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
	delivery_fill(d, 4, p, "security", "security/abuse", "H0ST");
}

/* ------------------------------------------------------------------ */
/* Platforms under test                                                */

struct platform {
	const struct sink_ops	*ops;
	const char		*keys;	/* the chat group's keys */
	const char		*thread;	/* an id of this platform */
	const char		*message;
};

static const struct platform discord = {
	&sink_discord_ops, "forum = true;", DISCORD_THREAD, DISCORD_MESSAGE
};
static const struct platform discord_text = {
	&sink_discord_ops, "", DISCORD_THREAD, DISCORD_MESSAGE
};
static const struct platform teams = {
	&sink_teams_ops, "", "1700000000000", "1700000000001"
};
static const struct platform matrix = {
	&sink_matrix_ops, "homeserver = \"" MATRIX_HS "/\"; room_id = "
	"\"!AbCdEf:example.org\"; access_token = \"" MATRIX_TOKEN "\";",
	MATRIX_THREAD, MATRIX_MESSAGE
};
static const struct platform webhook = {
	&sink_webhook_ops, "secret = \"" WEBHOOK_SECRET "\";", "receiver-7",
	"receiver-8"
};

/* A chat configured through the adapter's own configure(). */
static void
chat_setup(struct chat_conf *chat, const struct platform *pf)
{
	struct cfg_errors	 errs;
	config_t		 cfg;
	char			*text;
	size_t			 i;
	int			 rc;

	memset(chat, 0, sizeof(*chat));
	chat->type = (char *)pf->ops->type;
	chat->ops = pf->ops;
	chat->webhook_url = pf->ops->needs_url ? (char *)HOOK_URL : NULL;
	chat->rate = pf->ops->default_rate;
	chat->burst = pf->ops->default_burst;
	chat->timeout_ms = 10000;
	if (pf->ops->configure == NULL)
		return;
	text = xasprintf("chat = { %s };", pf->keys);
	config_init(&cfg);
	assert_int_equal(config_read_string(&cfg, text), CONFIG_TRUE);
	cfg_errors_init(&errs);
	rc = pf->ops->configure(chat, config_lookup(&cfg, "chat"), &errs);
	for (i = 0; i < errs.msgs.n; i++)
		print_error("%s\n", errs.msgs.v[i]);
	assert_int_equal(rc, 0);
	assert_int_equal(errs.msgs.n, 0);
	cfg_errors_free(&errs);
	config_destroy(&cfg);
	free(text);
}

static void
chat_teardown(struct chat_conf *chat)
{
	if (chat->ops->settings_free != NULL)
		chat->ops->settings_free(chat->settings);
	chat->settings = NULL;
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

/* Length in UTF-16 code units, as Discord counts (valid UTF-8 only). */
static size_t
utf16_len(const char *s)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 n = 0;

	for (; *u != '\0'; u++) {
		if ((*u & 0xC0) == 0x80)
			continue;
		n += *u >= 0xF0 ? 2 : 1;
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

/* Whether s has a C0/C1 control other than '\n' and '\t'. */
static int
has_control(const char *s)
{
	const unsigned char	*u = (const unsigned char *)s;

	for (; *u != '\0'; u++) {
		if ((*u < 0x20 && *u != '\n' && *u != '\t') || *u == 0x7f)
			return 1;
		if (*u == 0xC2 && u[1] >= 0x80 && u[1] <= 0x9f)
			return 1;
	}
	return 0;
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

/* The request's body, checked to be compact valid JSON (decref it). */
static json_t *
request_body(const struct http_request *req, const char *golden)
{
	json_error_t	 error;
	json_t		*body;
	char		*again, *pretty;

	assert_non_null(req->body);
	assert_int_equal(req->body_len, strlen(req->body));
	assert_true(valid_utf8(req->body));
	/* jansson refuses invalid UTF-8, so this also checks every cut. */
	body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES,
	    &error);
	if (body == NULL)
		fail_msg("body: %s", error.text);
	again = json_dumps(body, JSON_COMPACT);
	assert_string_equal(again, req->body);
	free(again);
	if (golden != NULL) {
		again = json_dumps(body, JSON_INDENT(2));
		pretty = xasprintf("%s\n", again);
		golden_check(golden, pretty);
		free(pretty);
		free(again);
	}
	return body;
}

/* Format d on pf into req (caller clears it); returns the body. */
static json_t *
render(const struct platform *pf, const struct delivery *d,
    struct http_request *req, const char *golden)
{
	struct chat_conf	 chat;
	char			*cause = NULL;

	chat_setup(&chat, pf);
	http_request_init(req);
	if (pf->ops->format(&chat, d, req, &cause) != 0)
		fail_msg("%s format: %s", pf->ops->type, cause);
	assert_null(cause);
	chat_teardown(&chat);
	return request_body(req, golden);
}

static json_t *
render_digest(const struct platform *pf, const struct delivery *const *d,
    size_t n, struct http_request *req, const char *golden)
{
	struct chat_conf	 chat;
	char			*cause = NULL;

	chat_setup(&chat, pf);
	http_request_init(req);
	assert_non_null(pf->ops->format_digest);
	if (pf->ops->format_digest(&chat, d, n, req, &cause) != 0)
		fail_msg("%s digest: %s", pf->ops->type, cause);
	assert_null(cause);
	chat_teardown(&chat);
	return request_body(req, golden);
}

static const char *
header(const struct http_request *req, const char *name)
{
	size_t	i, n = strlen(name);

	for (i = 0; i < req->headers.n; i++) {
		if (strncasecmp(req->headers.v[i], name, n) == 0 &&
		    req->headers.v[i][n] == ':')
			return req->headers.v[i] + n + 2;
	}
	return NULL;
}

static const char *
method(const struct http_request *req)
{
	return req->method != NULL ? req->method : "POST";
}

/* json_string_value of a path of object keys. */
static const char *
jstr(json_t *o, const char *k1, const char *k2, const char *k3)
{
	o = json_object_get(o, k1);
	if (k2 != NULL)
		o = json_object_get(o, k2);
	if (k3 != NULL)
		o = json_object_get(o, k3);
	return json_string_value(o);
}

/* The three deliveries every digest test shows, in one destination. */
static void
digest_three(struct delivery *d)
{
	delivery_english(&d[0]);
	delivery_japanese(&d[1]);
	delivery_reply(&d[2]);
	free(d[1].destination);
	d[1].destination = xstrdup("care");
}

/* ------------------------------------------------------------------ */
/* Discord                                                             */

/* The text Discord shows for escaped s: a backslash before punctuation
 * is dropped.  Caller frees. */
static char *
discord_shown(const char *s)
{
	struct buf	b;

	buf_init(&b);
	buf_adds(&b, "");
	for (; *s != '\0'; s++) {
		if (*s == '\\' && s[1] != '\0' && strchr("\\*_~`|<>[]()@#-+.",
		    s[1]) != NULL)
			s++;
		buf_addc(&b, *s);
	}
	return buf_steal(&b);
}

/* Markup characters Discord would act on (not escaped) in s. */
static int
discord_live_markup(const char *s)
{
	int	n = 0;

	for (; *s != '\0'; s++) {
		if (*s == '\\' && s[1] != '\0') {
			s++;
			continue;
		}
		if (strchr("*_~`|<>[]()@", *s) != NULL)
			n++;
	}
	return n;
}

/* Discord's limits on one message, counted independently. */
static void
discord_check_limits(json_t *msg)
{
	json_t		*embeds = json_object_get(msg, "embeds"), *e;
	const char	*s;
	size_t		 i, total;

	s = jstr(msg, "content", NULL, NULL);
	assert_true(s == NULL || utf16_len(s) <= 2000);
	assert_true(json_array_size(embeds) <= 10);
	json_array_foreach(embeds, i, e) {
		total = 0;
		if ((s = jstr(e, "title", NULL, NULL)) != NULL) {
			assert_true(utf16_len(s) <= 256);
			total += utf16_len(s);
		}
		if ((s = jstr(e, "description", NULL, NULL)) != NULL) {
			assert_true(utf16_len(s) <= 4096);
			total += utf16_len(s);
		}
		if ((s = jstr(e, "author", "name", NULL)) != NULL) {
			assert_true(utf16_len(s) <= 256);
			total += utf16_len(s);
		}
		if ((s = jstr(e, "footer", "text", NULL)) != NULL) {
			assert_true(utf16_len(s) <= 2048);
			total += utf16_len(s);
		}
		assert_true(total <= 6000);
	}
	if ((s = jstr(msg, "thread_name", NULL, NULL)) != NULL)
		assert_true(utf16_len(s) >= 1 && utf16_len(s) <= 100);
	/* Nothing in a message of ours may ping anyone. */
	assert_int_equal(json_array_size(json_object_get(json_object_get(msg,
	    "allowed_mentions"), "parse")), 0);
	assert_true(json_is_array(json_object_get(json_object_get(msg,
	    "allowed_mentions"), "parse")));
}

static void
test_discord_post(void **state)
{
	struct http_request	 req;
	struct delivery		 d;
	json_t			*msg, *e;
	char			*want, *shown;

	(void)state;
	delivery_english(&d);
	/* A forum channel: the first post starts the thread. */
	msg = render(&discord, &d, &req, "discord-english.json");
	assert_string_equal(method(&req), "POST");
	assert_string_equal(req.url, HOOK_URL "?wait=true");
	assert_string_equal(header(&req, "Content-Type"), "application/json");
	discord_check_limits(msg);
	want = xasprintf("K7QX \xc2\xb7 %s on Bluesky", d.post->author);
	assert_string_equal(jstr(msg, "thread_name", NULL, NULL), want);
	free(want);
	want = xasprintf("**K7QX** \xc2\xb7 %s on Bluesky", d.post->author);
	assert_string_equal(jstr(msg, "content", NULL, NULL), want);
	free(want);
	e = json_array_get(json_object_get(msg, "embeds"), 0);
	assert_string_equal(jstr(e, "url", NULL, NULL), d.post->url);
	assert_string_equal(jstr(e, "author", "url", NULL), d.post->url);
	assert_string_equal(jstr(e, "title", NULL, NULL), "View on Bluesky");
	/* What Discord shows is the text as written. */
	shown = discord_shown(jstr(e, "description", NULL, NULL));
	assert_string_equal(shown, d.post->text);
	free(shown);
	assert_string_equal(jstr(e, "footer", "text", NULL), "team care "
	    "\xc2\xb7 rule care/complaints \xc2\xb7 conversation K7QX "
	    "\xc2\xb7 en");
	json_decref(msg);
	http_request_clear(&req);

	/* A text channel: no thread can be started there. */
	msg = render(&discord_text, &d, &req, NULL);
	assert_string_equal(req.url, HOOK_URL "?wait=true");
	assert_null(json_object_get(msg, "thread_name"));
	json_decref(msg);
	http_request_clear(&req);
	delivery_free(&d);

	delivery_japanese(&d);
	msg = render(&discord, &d, &req, "discord-japanese.json");
	discord_check_limits(msg);
	e = json_array_get(json_object_get(msg, "embeds"), 0);
	/* Nothing to escape: the text arrives byte for byte. */
	assert_string_equal(jstr(e, "description", NULL, NULL), d.post->text);
	assert_true(ends_with(jstr(e, "footer", "text", NULL),
	    "\xc2\xb7 ja"));
	json_decref(msg);
	http_request_clear(&req);
	delivery_free(&d);
}

static void
test_discord_thread_and_edit(void **state)
{
	struct http_request	 req;
	struct delivery		 d;
	json_t			*msg, *e;

	(void)state;
	delivery_reply(&d);
	d.thread = xstrdup(DISCORD_THREAD);
	msg = render(&discord, &d, &req, "discord-reply.json");
	assert_string_equal(req.url, HOOK_URL "?wait=true&thread_id="
	    DISCORD_THREAD);
	assert_null(json_object_get(msg, "thread_name"));
	discord_check_limits(msg);
	assert_true(ends_with(jstr(json_array_get(json_object_get(msg,
	    "embeds"), 0), "footer", "text", NULL), "\xc2\xb7 reply"));
	json_decref(msg);
	http_request_clear(&req);

	/* A text channel's webhook reaches no thread: the channel. */
	msg = render(&discord_text, &d, &req, NULL);
	assert_string_equal(req.url, HOOK_URL "?wait=true");
	json_decref(msg);
	http_request_clear(&req);

	/* A thread id recorded by another platform is not used. */
	free(d.thread);
	d.thread = xstrdup("1503435956.000247");
	msg = render(&discord, &d, &req, NULL);
	assert_string_equal(req.url, HOOK_URL "?wait=true");
	assert_non_null(json_object_get(msg, "thread_name"));
	json_decref(msg);
	http_request_clear(&req);
	delivery_free(&d);

	/* An edit updates the message that showed the post. */
	delivery_english(&d);
	d.kind = DELIVERY_EDIT;
	d.thread = xstrdup(DISCORD_THREAD);
	d.message = xstrdup(DISCORD_MESSAGE);
	msg = render(&discord, &d, &req, "discord-edit.json");
	assert_string_equal(method(&req), "PATCH");
	assert_string_equal(req.url, HOOK_URL "/messages/" DISCORD_MESSAGE
	    "?thread_id=" DISCORD_THREAD);
	assert_null(json_object_get(msg, "thread_name"));
	e = json_array_get(json_object_get(msg, "embeds"), 0);
	assert_string_equal(jstr(e, "title", NULL, NULL),
	    "Edited by its author");
	assert_prefix(jstr(msg, "content", NULL, NULL),
	    "*Edited by its author* \xc2\xb7 **K7QX**");
	discord_check_limits(msg);
	json_decref(msg);
	http_request_clear(&req);

	msg = render(&discord_text, &d, &req, NULL);
	assert_string_equal(method(&req), "PATCH");
	assert_string_equal(req.url, HOOK_URL "/messages/" DISCORD_MESSAGE);
	json_decref(msg);
	http_request_clear(&req);

	/* Deleted: the same message says so. */
	d.kind = DELIVERY_DELETE;
	msg = render(&discord_text, &d, &req, NULL);
	assert_string_equal(method(&req), "PATCH");
	assert_string_equal(jstr(json_array_get(json_object_get(msg,
	    "embeds"), 0), "title", NULL, NULL), "Deleted by its author");
	json_decref(msg);
	http_request_clear(&req);

	/* Never shown here: a new message in the thread says it. */
	d.kind = DELIVERY_EDIT;
	free(d.message);
	d.message = NULL;
	msg = render(&discord, &d, &req, NULL);
	assert_string_equal(method(&req), "POST");
	assert_string_equal(req.url, HOOK_URL "?wait=true&thread_id="
	    DISCORD_THREAD);
	json_decref(msg);
	http_request_clear(&req);
	delivery_free(&d);
}

static void
test_discord_note_digest_hostile(void **state)
{
	struct http_request	 req;
	struct delivery		 d, three[3];
	const struct delivery	*dp[3];
	json_t			*msg, *e;
	const char		*desc;
	char			*shown;
	size_t			 i;

	(void)state;
	delivery_reply(&d);
	d.kind = DELIVERY_NOTE;
	d.note = xstrdup(NOTE_TEXT);
	d.thread = xstrdup(DISCORD_THREAD);
	msg = render(&discord, &d, &req, "discord-note.json");
	assert_string_equal(req.url, HOOK_URL "?wait=true&thread_id="
	    DISCORD_THREAD);
	/* The URL stays a link (in <>, no preview); the rest is text. */
	assert_string_equal(jstr(msg, "content", NULL, NULL),
	    "**R3PL** \xc2\xb7 Reply by \\<\\@U1\\|eve\\> & co published: "
	    "<https://mastodon.example/@brand/1?a=1&b=2>");
	assert_null(json_object_get(msg, "embeds"));
	discord_check_limits(msg);
	json_decref(msg);
	http_request_clear(&req);
	delivery_free(&d);

	digest_three(three);
	for (i = 0; i < 3; i++)
		dp[i] = &three[i];
	msg = render_digest(&discord, dp, 3, &req, "discord-digest.json");
	/* In a forum, even a digest needs its own thread. */
	assert_string_equal(req.url, HOOK_URL "?wait=true");
	assert_string_equal(jstr(msg, "thread_name", NULL, NULL),
	    "3 posts for care");
	discord_check_limits(msg);
	desc = jstr(json_array_get(json_object_get(msg, "embeds"), 0),
	    "description", NULL, NULL);
	assert_prefix(desc, "**K7QX** \xc2\xb7 ");
	assert_non_null(strstr(desc, "\n**J4PN** \xc2\xb7 "));
	assert_non_null(strstr(desc, "\n**R3PL** \xc2\xb7 "));
	json_decref(msg);
	http_request_clear(&req);
	for (i = 0; i < 3; i++)
		delivery_free(&three[i]);

	delivery_hostile(&d);
	msg = render(&discord, &d, &req, "discord-synthetic-hostile.json");
	discord_check_limits(msg);
	e = json_array_get(json_object_get(msg, "embeds"), 0);
	desc = jstr(e, "description", NULL, NULL);
	/* Every markup character is escaped; cut near the limit. */
	assert_int_equal(discord_live_markup(desc), 0);
	assert_true(utf16_len(desc) > 4000);
	assert_true(ends_with(desc, "\xe2\x80\xa6"));
	assert_false(has_control(desc));
	shown = discord_shown(desc);
	assert_prefix(shown, "<!channel> @here @everyone <@123> <@&456> "
	    "<#789> <:x:1> *bold* __u__ ~~s~~ ||spoiler|| `code` "
	    "[x](http://evil) & \" ' \xef\xbf\xbd[31m\n# not a heading\n"
	    "-# not subtext\n1. not a list\n> not a quote\n<script>");
	free(shown);
	assert_prefix(desc, "\\<!channel\\> \\@here \\@everyone \\<\\@123\\> ");
	assert_non_null(strstr(desc, "\n\\# not a heading\n\\-# not subtext\n"
	    "1\\. not a list\n\\> not a quote\n"));
	json_decref(msg);
	http_request_clear(&req);
	delivery_free(&d);
}

/* ------------------------------------------------------------------ */
/* Matrix                                                              */

/* The transaction id at the end of a send URL. */
static const char *
matrix_txn(const struct http_request *req)
{
	assert_prefix(req->url, MATRIX_ROOM_PATH);
	return req->url + strlen(MATRIX_ROOM_PATH);
}

/* HTML back to text: our entities and <br> only. Caller frees. */
static char *
html_text(const char *s, size_t len)
{
	static const struct {
		const char	*from, *to;
	} ent[] = {
		{ "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" },
		{ "&quot;", "\"" }, { "&#39;", "'" }, { "<br>", "\n" }
	};
	struct buf	 b;
	const char	*end = s + len;
	size_t		 i;

	buf_init(&b);
	buf_adds(&b, "");
	while (s < end) {
		for (i = 0; i < nitems(ent); i++) {
			if (strncmp(s, ent[i].from, strlen(ent[i].from)) == 0)
				break;
		}
		if (i < nitems(ent)) {
			buf_adds(&b, ent[i].to);
			s += strlen(ent[i].from);
		} else
			buf_addc(&b, *s++);
	}
	return buf_steal(&b);
}

/* The text inside <blockquote>...</blockquote>. Caller frees. */
static char *
matrix_quote(const char *html)
{
	const char	*a = strstr(html, "<blockquote>"), *b;

	assert_non_null(a);
	a += strlen("<blockquote>");
	b = strstr(a, "</blockquote>");
	assert_non_null(b);
	return html_text(a, (size_t)(b - a));
}

/* Every tag in html is one of ours: user text opened none. */
static void
matrix_check_tags(const char *html)
{
	static const char *const ok[] = {
		"<p>", "</p>", "<strong>", "</strong>", "<em>", "</em>",
		"<code>", "</code>", "<blockquote>", "</blockquote>", "<br>",
		"<ul>", "</ul>", "<li>", "</li>", "</a>", "<a href=\"https://"
	};
	const char	*p;
	size_t		 i;

	for (p = strchr(html, '<'); p != NULL; p = strchr(p + 1, '<')) {
		for (i = 0; i < nitems(ok); i++) {
			if (strncmp(p, ok[i], strlen(ok[i])) == 0)
				break;
		}
		if (i == nitems(ok))
			fail_msg("unexpected tag at: %.40s", p);
	}
}

static void
matrix_check(const struct http_request *req, json_t *content)
{
	const char	*html = jstr(content, "formatted_body", NULL, NULL);

	assert_string_equal(method(req), "PUT");
	assert_string_equal(header(req, "Authorization"), "Bearer "
	    MATRIX_TOKEN);
	assert_string_equal(header(req, "Content-Type"), "application/json");
	assert_null(strstr(req->url, MATRIX_TOKEN));
	assert_string_equal(jstr(content, "msgtype", NULL, NULL), "m.text");
	assert_string_equal(jstr(content, "format", NULL, NULL),
	    "org.matrix.custom.html");
	assert_non_null(jstr(content, "body", NULL, NULL));
	assert_non_null(html);
	matrix_check_tags(html);
	/* Mentions nobody, whatever the text says. */
	assert_true(json_is_object(json_object_get(content, "m.mentions")));
	assert_int_equal(json_object_size(json_object_get(content,
	    "m.mentions")), 0);
	assert_true(req->body_len < 65536 - 4096);
	assert_false(has_control(jstr(content, "body", NULL, NULL)));
}

static void
test_matrix_post(void **state)
{
	struct http_request	 req;
	struct delivery		 d;
	json_t			*c;
	char			*txn, *text, *want;

	(void)state;
	delivery_english(&d);
	c = render(&matrix, &d, &req, "matrix-english.json");
	matrix_check(&req, c);
	txn = xstrdup(matrix_txn(&req));
	assert_prefix(txn, "sb-1-");
	assert_int_equal(strlen(txn), strlen("sb-1-") + 16);
	assert_null(json_object_get(c, "m.relates_to"));
	text = matrix_quote(jstr(c, "formatted_body", NULL, NULL));
	assert_string_equal(text, d.post->text);
	free(text);
	want = xasprintf("%s on Bluesky \xc2\xb7 %s\n%s\nteam care \xc2\xb7 "
	    "rule care/complaints \xc2\xb7 conversation K7QX \xc2\xb7 en",
	    d.post->author, d.post->url, d.post->text);
	assert_string_equal(jstr(c, "body", NULL, NULL), want);
	free(want);
	json_decref(c);
	http_request_clear(&req);

	/* A retry sends the same transaction: the homeserver dedupes. */
	c = render(&matrix, &d, &req, NULL);
	assert_string_equal(matrix_txn(&req), txn);
	json_decref(c);
	http_request_clear(&req);
	/* Another delivery, or the same id for another post (a store
	 * started afresh), is another transaction. */
	d.id = 2;
	c = render(&matrix, &d, &req, NULL);
	assert_prefix(matrix_txn(&req), "sb-2-");
	json_decref(c);
	http_request_clear(&req);
	delivery_free(&d);
	delivery_japanese(&d);
	d.id = 1;
	c = render(&matrix, &d, &req, NULL);
	assert_prefix(matrix_txn(&req), "sb-1-");
	assert_string_not_equal(matrix_txn(&req), txn);
	json_decref(c);
	http_request_clear(&req);
	free(txn);
	delivery_free(&d);

	delivery_japanese(&d);
	c = render(&matrix, &d, &req, "matrix-japanese.json");
	matrix_check(&req, c);
	text = matrix_quote(jstr(c, "formatted_body", NULL, NULL));
	assert_string_equal(text, d.post->text);
	free(text);
	json_decref(c);
	http_request_clear(&req);
	delivery_free(&d);
}

static void
test_matrix_thread_and_edit(void **state)
{
	struct http_request	 req;
	struct delivery		 d;
	json_t			*c, *rel, *nc;

	(void)state;
	delivery_reply(&d);
	d.thread = xstrdup(MATRIX_THREAD);
	c = render(&matrix, &d, &req, "matrix-reply.json");
	matrix_check(&req, c);
	rel = json_object_get(c, "m.relates_to");
	assert_string_equal(jstr(rel, "rel_type", NULL, NULL), "m.thread");
	assert_string_equal(jstr(rel, "event_id", NULL, NULL), MATRIX_THREAD);
	assert_true(json_is_true(json_object_get(rel, "is_falling_back")));
	assert_string_equal(jstr(rel, "m.in_reply_to", "event_id", NULL),
	    MATRIX_THREAD);
	json_decref(c);
	http_request_clear(&req);

	/* An id from another platform is no thread root. */
	free(d.thread);
	d.thread = xstrdup(DISCORD_THREAD);
	c = render(&matrix, &d, &req, NULL);
	assert_null(json_object_get(c, "m.relates_to"));
	json_decref(c);
	http_request_clear(&req);
	delivery_free(&d);

	delivery_english(&d);
	d.kind = DELIVERY_EDIT;
	d.thread = xstrdup(MATRIX_THREAD);
	d.message = xstrdup(MATRIX_MESSAGE);
	c = render(&matrix, &d, &req, "matrix-edit.json");
	matrix_check(&req, c);
	rel = json_object_get(c, "m.relates_to");
	assert_int_equal(json_object_size(rel), 2);
	assert_string_equal(jstr(rel, "rel_type", NULL, NULL), "m.replace");
	assert_string_equal(jstr(rel, "event_id", NULL, NULL), MATRIX_MESSAGE);
	nc = json_object_get(c, "m.new_content");
	assert_prefix(jstr(nc, "body", NULL, NULL), "Edited by its author: ");
	assert_string_equal(jstr(c, "body", NULL, NULL) + 2,
	    jstr(nc, "body", NULL, NULL));
	assert_prefix(jstr(c, "body", NULL, NULL), "* ");
	assert_null(json_object_get(nc, "m.relates_to"));
	assert_int_equal(json_object_size(json_object_get(nc, "m.mentions")),
	    0);
	json_decref(c);
	http_request_clear(&req);

	/* Never shown here: a new message in the thread. */
	free(d.message);
	d.message = NULL;
	c = render(&matrix, &d, &req, NULL);
	assert_string_equal(jstr(c, "m.relates_to", "rel_type", NULL),
	    "m.thread");
	assert_null(json_object_get(c, "m.new_content"));
	json_decref(c);
	http_request_clear(&req);
	delivery_free(&d);
}

static void
test_matrix_note_digest_hostile(void **state)
{
	struct http_request	 req;
	struct delivery		 d, three[3];
	const struct delivery	*dp[3];
	json_t			*c;
	const char		*html;
	char			*txn;
	struct buf		 b;
	size_t			 i;

	(void)state;
	delivery_reply(&d);
	d.kind = DELIVERY_NOTE;
	d.note = xstrdup(NOTE_TEXT);
	d.thread = xstrdup(MATRIX_THREAD);
	c = render(&matrix, &d, &req, "matrix-note.json");
	matrix_check(&req, c);
	assert_string_equal(jstr(c, "body", NULL, NULL), "R3PL \xc2\xb7 "
	    NOTE_TEXT);
	assert_string_equal(jstr(c, "formatted_body", NULL, NULL),
	    "<code>R3PL</code> \xc2\xb7 Reply by &lt;@U1|eve&gt; &amp; co "
	    "published: <a href=\"https://mastodon.example/@brand/1?a=1&amp;"
	    "b=2\">https://mastodon.example/@brand/1?a=1&amp;b=2</a>");
	assert_string_equal(jstr(c, "m.relates_to", "event_id", NULL),
	    MATRIX_THREAD);
	json_decref(c);
	http_request_clear(&req);
	delivery_free(&d);

	digest_three(three);
	for (i = 0; i < 3; i++)
		dp[i] = &three[i];
	c = render_digest(&matrix, dp, 3, &req, "matrix-digest.json");
	matrix_check(&req, c);
	assert_prefix(matrix_txn(&req), "sbd-1-3-");
	txn = xstrdup(matrix_txn(&req));
	html = jstr(c, "formatted_body", NULL, NULL);
	assert_non_null(strstr(html, "<li><code>K7QX</code> "));
	assert_non_null(strstr(html, "<li><code>J4PN</code> "));
	assert_non_null(strstr(html, "<li><code>R3PL</code> "));
	assert_null(json_object_get(c, "m.relates_to"));
	json_decref(c);
	http_request_clear(&req);
	/* The same digest again is the same transaction. */
	c = render_digest(&matrix, dp, 3, &req, NULL);
	assert_string_equal(matrix_txn(&req), txn);
	json_decref(c);
	http_request_clear(&req);
	free(txn);
	for (i = 0; i < 3; i++)
		delivery_free(&three[i]);

	delivery_hostile(&d);
	c = render(&matrix, &d, &req, "matrix-synthetic-hostile.json");
	matrix_check(&req, c);
	html = jstr(c, "formatted_body", NULL, NULL);
	assert_non_null(strstr(html, "<blockquote>&lt;!channel&gt; @here "
	    "@everyone &lt;@123&gt; "));
	assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"
	    "&lt;a href=&quot;http://evil&quot;&gt;y&lt;/a&gt;<br>"));
	assert_non_null(strstr(html, "\xe2\x80\xa6</blockquote>"));
	json_decref(c);
	http_request_clear(&req);

	/* The longest escapes, as an edit (text twice): still one event. */
	buf_init(&b);
	for (i = 0; i < 5000; i++)
		buf_adds(&b, i % 2 ? "\"" : "\xf0\x9f\x8e\x89");
	free(d.post->text);
	d.post->text = buf_steal(&b);
	d.kind = DELIVERY_EDIT;
	d.message = xstrdup(MATRIX_MESSAGE);
	c = render(&matrix, &d, &req, NULL);
	matrix_check(&req, c);
	json_decref(c);
	http_request_clear(&req);
	delivery_free(&d);
}

/* ------------------------------------------------------------------ */
/* Teams                                                               */

/* Every TextRun's text in the card, in order, each on its own line;
 * checks the card's shape on the way.  Caller frees. */
static char *
teams_runs(json_t *msg, const struct http_request *req)
{
	json_t		*att, *card, *block, *run;
	struct buf	 b;
	size_t		 i, j;

	assert_string_equal(method(req), "POST");
	assert_string_equal(req->url, HOOK_URL);
	assert_string_equal(header(req, "Content-Type"), "application/json");
	/* 28 KB is Teams' limit; about 21 KB is what has been seen. */
	assert_true(req->body_len <= 20000);
	assert_string_equal(jstr(msg, "type", NULL, NULL), "message");
	assert_int_equal(json_array_size(json_object_get(msg,
	    "attachments")), 1);
	att = json_array_get(json_object_get(msg, "attachments"), 0);
	assert_string_equal(jstr(att, "contentType", NULL, NULL),
	    "application/vnd.microsoft.card.adaptive");
	card = json_object_get(att, "content");
	assert_string_equal(jstr(card, "type", NULL, NULL), "AdaptiveCard");
	assert_string_equal(jstr(card, "version", NULL, NULL), "1.4");
	buf_init(&b);
	buf_adds(&b, "");
	json_array_foreach(json_object_get(card, "body"), i, block) {
		/* Only RichTextBlocks of TextRuns: never Markdown. */
		assert_string_equal(jstr(block, "type", NULL, NULL),
		    "RichTextBlock");
		json_array_foreach(json_object_get(block, "inlines"), j, run) {
			assert_string_equal(jstr(run, "type", NULL, NULL),
			    "TextRun");
			assert_false(has_control(jstr(run, "text", NULL,
			    NULL)));
			assert_null(strchr(jstr(run, "text", NULL, NULL),
			    '\n'));
			buf_adds(&b, jstr(run, "text", NULL, NULL));
		}
		buf_addc(&b, '\n');
	}
	return buf_steal(&b);
}

/* The card's actions[0].url, or NULL. */
static const char *
teams_action_url(json_t *msg)
{
	json_t	*card;

	card = json_object_get(json_array_get(json_object_get(msg,
	    "attachments"), 0), "content");

	return jstr(json_array_get(json_object_get(card, "actions"), 0),
	    "url", NULL, NULL);
}

/* text without blank lines, each line ending in '\n'. */
static char *
non_blank_lines(const char *text)
{
	struct buf	 b;
	const char	*p = text, *nl;

	buf_init(&b);
	buf_adds(&b, "");
	while (*p != '\0') {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		if (nl > p) {
			buf_add(&b, p, (size_t)(nl - p));
			buf_addc(&b, '\n');
		}
		p = *nl != '\0' ? nl + 1 : nl;
	}
	return buf_steal(&b);
}

static void
test_teams(void **state)
{
	struct http_request	 req;
	struct delivery		 d, three[3];
	const struct delivery	*dp[3];
	json_t			*msg, *again;
	struct buf		 b;
	char			*runs, *want, *lines;
	size_t			 i;

	(void)state;
	delivery_english(&d);
	msg = render(&teams, &d, &req, "teams-english.json");
	runs = teams_runs(msg, &req);
	lines = non_blank_lines(d.post->text);
	want = xasprintf("%s on Bluesky\n%steam care \xc2\xb7 rule "
	    "care/complaints \xc2\xb7 conversation K7QX \xc2\xb7 en\n",
	    d.post->author, lines);
	assert_string_equal(runs, want);
	free(want);
	free(lines);
	free(runs);
	assert_string_equal(teams_action_url(msg), d.post->url);
	json_decref(msg);
	http_request_clear(&req);
	delivery_free(&d);

	delivery_japanese(&d);
	msg = render(&teams, &d, &req, "teams-japanese.json");
	runs = teams_runs(msg, &req);
	assert_non_null(strstr(runs, d.post->text));
	free(runs);
	json_decref(msg);
	http_request_clear(&req);
	delivery_free(&d);

	/* No threads through a Workflows webhook: a reply in a thread is
	 * the same card as without. */
	delivery_reply(&d);
	msg = render(&teams, &d, &req, NULL);
	http_request_clear(&req);
	d.thread = xstrdup(teams.thread);
	again = render(&teams, &d, &req, "teams-reply.json");
	assert_true(json_equal(msg, again));
	json_decref(msg);
	json_decref(again);
	http_request_clear(&req);
	delivery_free(&d);

	/* Nor edits: a new card says what happened. */
	delivery_english(&d);
	d.kind = DELIVERY_EDIT;
	d.message = xstrdup(teams.message);
	msg = render(&teams, &d, &req, "teams-edit.json");
	runs = teams_runs(msg, &req);
	assert_prefix(runs, "Edited by its author: ");
	free(runs);
	json_decref(msg);
	http_request_clear(&req);
	delivery_free(&d);

	delivery_reply(&d);
	d.kind = DELIVERY_NOTE;
	d.note = xstrdup(NOTE_TEXT);
	msg = render(&teams, &d, &req, "teams-note.json");
	runs = teams_runs(msg, &req);
	assert_string_equal(runs, "R3PL \xc2\xb7 " NOTE_TEXT "\n");
	free(runs);
	assert_non_null(strstr(req.body, "\"selectAction\":{\"type\":"
	    "\"Action.OpenUrl\",\"url\":\"https://mastodon.example/@brand/1"
	    "?a=1&b=2\"}"));
	json_decref(msg);
	http_request_clear(&req);
	delivery_free(&d);

	digest_three(three);
	for (i = 0; i < 3; i++)
		dp[i] = &three[i];
	msg = render_digest(&teams, dp, 3, &req, "teams-digest.json");
	runs = teams_runs(msg, &req);
	assert_prefix(runs, "Digest: 3 posts for care");
	assert_non_null(strstr(runs, "\nK7QX "));
	assert_non_null(strstr(runs, "\nJ4PN "));
	assert_non_null(strstr(runs, "\nR3PL "));
	free(runs);
	json_decref(msg);
	http_request_clear(&req);
	for (i = 0; i < 3; i++)
		delivery_free(&three[i]);

	delivery_hostile(&d);
	msg = render(&teams, &d, &req, "teams-synthetic-hostile.json");
	runs = teams_runs(msg, &req);
	/* TextRuns are plain text: the characters arrive as typed. */
	assert_non_null(strstr(runs, "\n<!channel> @here @everyone <@123> "
	    "<@&456> <#789> <:x:1> *bold* __u__ ~~s~~ ||spoiler|| `code` "
	    "[x](http://evil) & \" ' \xef\xbf\xbd[31m\n# not a heading\n"));
	assert_true(ends_with(runs, "\xe2\x80\xa6\nteam security \xc2\xb7 "
	    "rule security/abuse \xc2\xb7 conversation H0ST \xc2\xb7 en\n"));
	free(runs);
	json_decref(msg);
	http_request_clear(&req);

	/* 2,000 one-character lines are 2,000 blocks, far over the
	 * budget: cut to it, not far below it. */
	buf_init(&b);
	for (i = 0; i < 2000; i++)
		buf_adds(&b, "\xf0\x9f\x8e\x89\n");
	free(d.post->text);
	d.post->text = buf_steal(&b);
	msg = render(&teams, &d, &req, NULL);
	runs = teams_runs(msg, &req);
	assert_true(req.body_len > 18000);
	free(runs);
	json_decref(msg);
	http_request_clear(&req);
	delivery_free(&d);
}

/* ------------------------------------------------------------------ */
/* Generic webhook                                                     */

/* Verify the signature as a receiver would, from the README's recipe. */
static void
webhook_verify(const struct http_request *req, const char *ids)
{
	unsigned char	 mac[EVP_MAX_MD_SIZE];
	unsigned int	 maclen = 0, i;
	char		 hex[2 * EVP_MAX_MD_SIZE + 1];
	const char	*ts, *sig;
	char		*base, *want;
	long long	 t;

	assert_string_equal(method(req), "POST");
	assert_string_equal(req->url, HOOK_URL);
	assert_string_equal(header(req, "Content-Type"), "application/json");
	assert_string_equal(header(req, "X-Switchboard-Delivery"), ids);
	ts = header(req, "X-Switchboard-Timestamp");
	sig = header(req, "X-Switchboard-Signature");
	assert_non_null(ts);
	assert_non_null(sig);
	t = strtoll(ts, NULL, 10);
	assert_true(llabs(t - (long long)time(NULL)) <= 5);
	base = xasprintf("v1:%s:%.*s", ts, (int)req->body_len, req->body);
	assert_non_null(HMAC(EVP_sha256(), WEBHOOK_SECRET,
	    (int)strlen(WEBHOOK_SECRET), (unsigned char *)base, strlen(base),
	    mac, &maclen));
	for (i = 0; i < maclen; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	want = xasprintf("v1=%s", hex);
	assert_string_equal(sig, want);
	free(want);
	free(base);
}

static void
webhook_check(json_t *msg, const struct delivery *d, const char *kind)
{
	json_t	*post = post_to_json(d->post);

	assert_int_equal(json_integer_value(json_object_get(msg, "delivery")),
	    d->id);
	assert_string_equal(jstr(msg, "kind", NULL, NULL), kind);
	assert_string_equal(jstr(msg, "destination", NULL, NULL),
	    d->destination);
	assert_string_equal(jstr(msg, "team", NULL, NULL), d->team);
	assert_string_equal(jstr(msg, "rule", NULL, NULL), d->rule);
	assert_string_equal(jstr(msg, "code", NULL, NULL), d->code);
	/* The stored form of the post, exactly. */
	assert_true(json_equal(json_object_get(msg, "post"), post));
	json_decref(post);
}

static void
test_webhook(void **state)
{
	struct http_request	 req;
	struct delivery		 d, three[3];
	const struct delivery	*dp[3];
	json_t			*msg, *all;
	size_t			 i;

	(void)state;
	delivery_english(&d);
	msg = render(&webhook, &d, &req, "webhook-english.json");
	webhook_verify(&req, "1");
	webhook_check(msg, &d, "post");
	assert_true(json_is_null(json_object_get(msg, "thread")));
	assert_null(json_object_get(msg, "note"));
	json_decref(msg);
	http_request_clear(&req);
	delivery_free(&d);

	delivery_japanese(&d);
	msg = render(&webhook, &d, &req, "webhook-japanese.json");
	webhook_verify(&req, "2");
	webhook_check(msg, &d, "post");
	json_decref(msg);
	http_request_clear(&req);
	delivery_free(&d);

	delivery_reply(&d);
	d.thread = xstrdup(webhook.thread);
	msg = render(&webhook, &d, &req, "webhook-reply.json");
	webhook_check(msg, &d, "post");
	assert_string_equal(jstr(msg, "thread", NULL, NULL), webhook.thread);
	json_decref(msg);
	http_request_clear(&req);
	delivery_free(&d);

	delivery_english(&d);
	d.kind = DELIVERY_EDIT;
	d.thread = xstrdup(webhook.thread);
	d.message = xstrdup(webhook.message);
	msg = render(&webhook, &d, &req, "webhook-edit.json");
	webhook_check(msg, &d, "edit");
	assert_string_equal(jstr(msg, "message", NULL, NULL), webhook.message);
	json_decref(msg);
	http_request_clear(&req);
	delivery_free(&d);

	delivery_reply(&d);
	d.kind = DELIVERY_NOTE;
	d.note = xstrdup(NOTE_TEXT);
	msg = render(&webhook, &d, &req, "webhook-note.json");
	webhook_check(msg, &d, "note");
	assert_string_equal(jstr(msg, "note", NULL, NULL), NOTE_TEXT);
	json_decref(msg);
	http_request_clear(&req);
	delivery_free(&d);

	digest_three(three);
	for (i = 0; i < 3; i++)
		dp[i] = &three[i];
	msg = render_digest(&webhook, dp, 3, &req, "webhook-digest.json");
	webhook_verify(&req, "1,2,3");
	assert_string_equal(jstr(msg, "kind", NULL, NULL), "digest");
	assert_string_equal(jstr(msg, "destination", NULL, NULL), "care");
	all = json_object_get(msg, "deliveries");
	assert_int_equal(json_array_size(all), 3);
	for (i = 0; i < 3; i++)
		webhook_check(json_array_get(all, i), &three[i], "post");
	json_decref(msg);
	http_request_clear(&req);
	for (i = 0; i < 3; i++)
		delivery_free(&three[i]);

	/* JSON is the escaping: hostile text arrives whole, as written. */
	delivery_hostile(&d);
	msg = render(&webhook, &d, &req, "webhook-synthetic-hostile.json");
	webhook_verify(&req, "4");
	webhook_check(msg, &d, "post");
	assert_string_equal(jstr(msg, "post", "text", NULL), d.post->text);
	json_decref(msg);
	http_request_clear(&req);

	/* Invalid bytes cannot drop a field: they become U+FFFD. */
	free(d.post->text);
	d.post->text = xstrdup("ok \xff\xfe end");
	msg = render(&webhook, &d, &req, NULL);
	assert_string_equal(jstr(msg, "post", "text", NULL),
	    "ok \xef\xbf\xbd\xef\xbf\xbd end");
	json_decref(msg);
	http_request_clear(&req);
	delivery_free(&d);
}

/* ------------------------------------------------------------------ */
/* Every recorded post, and random bytes, on every platform            */

static const struct platform *const all_platforms[] = {
	&discord, &discord_text, &teams, &matrix, &webhook
};

static void
check_any(const struct platform *pf, json_t *msg,
    const struct http_request *req)
{
	char	*runs;

	if (pf->ops == &sink_discord_ops)
		discord_check_limits(msg);
	else if (pf->ops == &sink_matrix_ops)
		matrix_check(req, msg);
	else if (pf->ops == &sink_teams_ops) {
		runs = teams_runs(msg, req);
		free(runs);
	}
}

static void
test_whole_corpus(void **state)
{
	struct jetstream_event	 ev;
	struct http_request	 req;
	struct delivery		 d;
	json_t			*msg;
	char			*data, *line, *end, *cause = NULL, *shown;
	size_t			 i;
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
		delivery_fill(&d, 9, ev.post, "care", "care/all", "C0RP");
		ev.post = NULL;
		jetstream_event_clear(&ev);
		d.thread = NULL;
		for (i = 0; i < nitems(all_platforms); i++) {
			msg = render(all_platforms[i], &d, &req, NULL);
			check_any(all_platforms[i], msg, &req);
			if (all_platforms[i] == &discord &&
			    *d.post->text != '\0' &&
			    text_chars(d.post->text) < 2000) {
				shown = discord_shown(jstr(json_array_get(
				    json_object_get(msg, "embeds"), 0),
				    "description", NULL, NULL));
				assert_string_equal(shown, d.post->text);
				free(shown);
			}
			json_decref(msg);
			http_request_clear(&req);
		}
		delivery_free(&d);
		posts++;
	}
	free(data);
	assert_true(posts >= 10);
}

/* Random bytes (invalid UTF-8, controls, NUL-free) render everywhere. */
static void
test_random_bytes(void **state)
{
	struct http_request	 req;
	struct delivery		 d;
	json_t			*msg;
	unsigned int		 seed = 12345;
	size_t			 i, j, len;
	int			 round;

	(void)state;
	for (round = 0; round < 40; round++) {
		delivery_hostile(&d);
		free(d.post->text);
		len = 1 + (size_t)(round * 211 % 6000);
		d.post->text = xmalloc(len + 1);
		for (j = 0; j < len; j++) {
			seed = seed * 1103515245 + 12345;
			d.post->text[j] = (char)(1 + (seed >> 16) % 255);
		}
		d.post->text[len] = '\0';
		free(d.post->author_handle);
		d.post->author_handle = xstrdup(round % 2 ? "\xc3(\n\x1b" :
		    "ok.example");
		d.kind = (enum delivery_kind)(round % 3);
		d.message = round % 3 ? xstrdup(round % 2 ? DISCORD_MESSAGE :
		    MATRIX_MESSAGE) : NULL;
		for (i = 0; i < nitems(all_platforms); i++) {
			msg = render(all_platforms[i], &d, &req, NULL);
			check_any(all_platforms[i], msg, &req);
			json_decref(msg);
			http_request_clear(&req);
		}
		delivery_free(&d);
	}
}

/* Discord's limits hold for digests of any size; every code is shown
 * while they fit. */
static void
test_big_digests(void **state)
{
	struct http_request	 req;
	struct delivery		 d[60];
	const struct delivery	*dp[60];
	json_t			*msg;
	char			 code[32], *s;
	size_t			 i, n;
	const size_t		 sizes[] = { 2, 20, 60 };

	(void)state;
	for (i = 0; i < 60; i++) {
		delivery_hostile(&d[i]);
		d[i].id = (int64_t)i + 1;
		snprintf(code, sizeof(code), "C%03zu", i);
		free(d[i].code);
		d[i].code = xstrdup(code);
		dp[i] = &d[i];
	}
	for (n = 0; n < nitems(sizes); n++) {
		msg = render_digest(&discord, dp, sizes[n], &req, NULL);
		discord_check_limits(msg);
		s = json_dumps(msg, 0);
		for (i = 0; i < sizes[n] && sizes[n] <= 20; i++) {
			snprintf(code, sizeof(code), "**C%03zu**", i);
			assert_non_null(strstr(s, code));
		}
		free(s);
		json_decref(msg);
		http_request_clear(&req);

		msg = render_digest(&matrix, dp, sizes[n], &req, NULL);
		matrix_check(&req, msg);
		s = json_dumps(msg, 0);
		for (i = 0; i < sizes[n]; i++) {
			snprintf(code, sizeof(code), ">C%03zu<", i);
			assert_non_null(strstr(s, code));
		}
		free(s);
		json_decref(msg);
		http_request_clear(&req);

		msg = render_digest(&teams, dp, sizes[n], &req, NULL);
		s = teams_runs(msg, &req);
		for (i = 0; i < sizes[n]; i++) {
			snprintf(code, sizeof(code), "\nC%03zu ", i);
			assert_non_null(strstr(s, code));
		}
		free(s);
		json_decref(msg);
		http_request_clear(&req);
	}
	for (i = 0; i < 60; i++)
		delivery_free(&d[i]);
}

/* ------------------------------------------------------------------ */
/* Answers                                                             */

#define NO_SIGNAL	(-1.0)

struct answer_case {
	long		 status;
	const char	*body;
	const char	*headers[3];	/* "name: value", lower case */
	double		 retry_after;	/* Retry-After, as read */
	enum sink_result expect;
	double		 expect_retry_after_s;
	const char	*expect_id;
	const char	*expect_cause;
};

static void
answer_run(const struct sink_ops *ops, const struct answer_case *c,
    size_t n)
{
	struct http_response	 resp;
	struct sink_answer	 a;
	struct strv		 headers;
	enum sink_result	 r;
	size_t			 i, j;

	for (i = 0; i < n; i++) {
		strv_init(&headers);
		for (j = 0; j < nitems(c[i].headers) && c[i].headers[j]; j++)
			strv_add(&headers, c[i].headers[j]);
		memset(&resp, 0, sizeof(resp));
		resp.status = c[i].status;
		resp.error = c[i].status == 0 ? "Operation timed out" : NULL;
		resp.body = c[i].body;
		resp.body_len = strlen(c[i].body);
		resp.retry_after = c[i].retry_after;
		resp.headers = &headers;
		sink_answer_init(&a);
		r = ops->response(NULL, &resp, &a);
		if (r != c[i].expect)
			fail_msg("%s case %zu: result %d, want %d", ops->type,
			    i, (int)r, (int)c[i].expect);
		if (a.retry_after_s != c[i].expect_retry_after_s)
			fail_msg("%s case %zu: retry after %g, want %g",
			    ops->type, i, a.retry_after_s,
			    c[i].expect_retry_after_s);
		if (c[i].expect_id == NULL)
			assert_null(a.message_id);
		else
			assert_string_equal(a.message_id, c[i].expect_id);
		if (c[i].expect_cause == NULL)
			assert_null(a.cause);
		else if (a.cause == NULL ||
		    strcmp(a.cause, c[i].expect_cause) != 0)
			fail_msg("%s case %zu: cause \"%s\", want \"%s\"",
			    ops->type, i, a.cause ? a.cause : "(null)",
			    c[i].expect_cause);
		sink_answer_clear(&a);
		strv_free(&headers);
	}
}

static void
test_answers(void **state)
{
	static const struct answer_case discord_cases[] = {
		/* ?wait=true: the message, and its id. */
		{ 200, "{\"id\":\"1300000000000000009\",\"channel_id\":"
		    "\"1300000000000000001\",\"content\":\"x\"}",
		    { "x-ratelimit-remaining: 4",
		    "x-ratelimit-reset-after: 0.4" }, -1, SINK_OK, NO_SIGNAL,
		    "1300000000000000009", NULL },
		/* The bucket is empty: wait it out even after success. */
		{ 200, "{\"id\":\"1300000000000000010\"}",
		    { "x-ratelimit-remaining: 0",
		    "x-ratelimit-reset-after: 1.75" }, -1, SINK_OK, 1.75,
		    "1300000000000000010", NULL },
		{ 204, "", { NULL }, -1, SINK_OK, NO_SIGNAL, NULL, NULL },
		/* 429: the body's float, or Retry-After if later. */
		{ 429, "{\"message\":\"You are being rate limited.\","
		    "\"retry_after\":0.25,\"global\":false}",
		    { "x-ratelimit-remaining: 0" }, -1, SINK_RETRY, 0.25, NULL,
		    "HTTP 429: You are being rate limited." },
		{ 429, "{\"message\":\"You are being rate limited.\","
		    "\"retry_after\":2.5,\"global\":true}",
		    { "retry-after: 3", "x-ratelimit-global: true" }, 3,
		    SINK_RETRY, 3, NULL,
		    "HTTP 429: You are being rate limited. (global)" },
		{ 429, "{\"message\":\"You are being rate limited.\","
		    "\"retry_after\":7.125,\"global\":false}",
		    { "retry-after: 7" }, 7, SINK_RETRY, 7.125, NULL,
		    "HTTP 429: You are being rate limited." },
		{ 404, "{\"message\":\"Unknown Webhook\",\"code\":10015}",
		    { NULL }, -1, SINK_FAIL, NO_SIGNAL, NULL,
		    "HTTP 404: Unknown Webhook (code 10015)" },
		{ 400, "{\"message\":\"Invalid Form Body\",\"code\":50035,"
		    "\"errors\":{}}", { NULL }, -1, SINK_FAIL, NO_SIGNAL, NULL,
		    "HTTP 400: Invalid Form Body (code 50035)" },
		{ 502, "<html>bad gateway</html>", { NULL }, -1, SINK_RETRY,
		    NO_SIGNAL, NULL, "HTTP 502: <html>bad gateway</html>" },
		{ 0, "", { NULL }, -1, SINK_RETRY, NO_SIGNAL, NULL,
		    "transport error: Operation timed out" },
	};
	static const struct answer_case matrix_cases[] = {
		{ 200, "{\"event_id\":\"$YUwRidLecu:example.com\"}", { NULL },
		    -1, SINK_OK, NO_SIGNAL, "$YUwRidLecu:example.com", NULL },
		{ 200, "{}", { NULL }, -1, SINK_OK, NO_SIGNAL, NULL, NULL },
		/* Before Matrix 1.10 only the body said when. */
		{ 429, "{\"errcode\":\"M_LIMIT_EXCEEDED\",\"error\":\"Too "
		    "many requests\",\"retry_after_ms\":1500}", { NULL }, -1,
		    SINK_RETRY, 1.5, NULL,
		    "HTTP 429: M_LIMIT_EXCEEDED: Too many requests" },
		{ 429, "{\"errcode\":\"M_LIMIT_EXCEEDED\",\"error\":\"Too "
		    "many requests\",\"retry_after_ms\":1500}",
		    { "retry-after: 2" }, 2, SINK_RETRY, 2, NULL,
		    "HTTP 429: M_LIMIT_EXCEEDED: Too many requests" },
		{ 429, "{\"errcode\":\"M_LIMIT_EXCEEDED\"}",
		    { "retry-after: 4" }, 4, SINK_RETRY, 4, NULL,
		    "HTTP 429: M_LIMIT_EXCEEDED" },
		{ 403, "{\"errcode\":\"M_FORBIDDEN\",\"error\":\"User not in "
		    "room\"}", { NULL }, -1, SINK_FAIL, NO_SIGNAL, NULL,
		    "HTTP 403: M_FORBIDDEN: User not in room" },
		{ 401, "{\"errcode\":\"M_UNKNOWN_TOKEN\",\"error\":\"Invalid "
		    "access token passed.\",\"soft_logout\":false}", { NULL },
		    -1, SINK_FAIL, NO_SIGNAL, NULL, "HTTP 401: "
		    "M_UNKNOWN_TOKEN: Invalid access token passed." },
		{ 503, "", { NULL }, -1, SINK_RETRY, NO_SIGNAL, NULL,
		    "HTTP 503" },
	};
	static const struct answer_case teams_cases[] = {
		{ 202, "", { NULL }, -1, SINK_OK, NO_SIGNAL, NULL, NULL },
		{ 200, "1", { NULL }, -1, SINK_OK, NO_SIGNAL, NULL, NULL },
		{ 400, "{\"error\":{\"code\":\"InvalidRequestContent\","
		    "\"message\":\"The input body for trigger 'manual' of type "
		    "'Request' did not match its schema definition.\"}}",
		    { NULL }, -1, SINK_FAIL, NO_SIGNAL, NULL,
		    "HTTP 400: InvalidRequestContent: The input body for "
		    "trigger 'manual' of type 'Request' did not match its "
		    "schema definition." },
		{ 429, "{\"error\":{\"code\":\"WorkflowTriggerIsThrottled\","
		    "\"message\":\"Throttled\"}}", { "retry-after: 5" }, 5,
		    SINK_RETRY, 5, NULL,
		    "HTTP 429: WorkflowTriggerIsThrottled: Throttled" },
		{ 413, "Request Entity Too Large", { NULL }, -1, SINK_FAIL,
		    NO_SIGNAL, NULL, "HTTP 413: Request Entity Too Large" },
		{ 500, "", { NULL }, -1, SINK_RETRY, NO_SIGNAL, NULL,
		    "HTTP 500" },
	};
	static const struct answer_case webhook_cases[] = {
		{ 200, "{\"id\":\"thread-42\"}", { NULL }, -1, SINK_OK,
		    NO_SIGNAL, "thread-42", NULL },
		{ 204, "", { NULL }, -1, SINK_OK, NO_SIGNAL, NULL, NULL },
		{ 200, "ok", { NULL }, -1, SINK_OK, NO_SIGNAL, NULL, NULL },
		{ 401, "bad signature", { NULL }, -1, SINK_FAIL, NO_SIGNAL,
		    NULL, "HTTP 401: bad signature" },
		{ 429, "", { "retry-after: 9" }, 9, SINK_RETRY, 9, NULL,
		    "HTTP 429" },
		{ 500, "", { NULL }, -1, SINK_RETRY, NO_SIGNAL, NULL,
		    "HTTP 500" },
	};

	(void)state;
	answer_run(&sink_discord_ops, discord_cases, nitems(discord_cases));
	answer_run(&sink_matrix_ops, matrix_cases, nitems(matrix_cases));
	answer_run(&sink_teams_ops, teams_cases, nitems(teams_cases));
	answer_run(&sink_webhook_ops, webhook_cases, nitems(webhook_cases));
}

/* ------------------------------------------------------------------ */
/* Configuration and registry                                          */

/* Load a config whose one team has this chat group: the errors (strv
 * to free) and the config or NULL. */
static struct config *
load_chat(const char *chat, struct cfg_errors *errs)
{
	char		 path[] = "/tmp/sb-platforms-XXXXXX";
	char		*text;
	struct config	*c;
	int		 fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	text = xasprintf("sources = ( { name = \"bluesky\"; type = "
	    "\"jetstream\"; } );\nteams = ( {\n name = \"care\";\n"
	    " chat = {\n%s\n };\n} );\n", chat);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	cfg_errors_init(errs);
	c = config_load(path, errs);
	unlink(path);
	free(text);
	return c;
}

/* The config must fail with an error containing want. */
static void
load_bad(const char *chat, const char *want)
{
	struct cfg_errors	 errs;
	size_t			 i;

	assert_null(load_chat(chat, &errs));
	for (i = 0; i < errs.msgs.n; i++) {
		if (strstr(errs.msgs.v[i], want) != NULL)
			break;
	}
	if (i == errs.msgs.n) {
		for (i = 0; i < errs.msgs.n; i++)
			print_error("%s\n", errs.msgs.v[i]);
		fail_msg("no error saying \"%s\"", want);
	}
	cfg_errors_free(&errs);
}

static struct config *
load_good(const char *chat)
{
	struct cfg_errors	 errs;
	struct config		*c;
	size_t			 i;

	c = load_chat(chat, &errs);
	for (i = 0; i < errs.msgs.n; i++)
		print_error("%s\n", errs.msgs.v[i]);
	assert_non_null(c);
	cfg_errors_free(&errs);
	return c;
}

static void
test_config(void **state)
{
	struct config	*c;

	(void)state;
	c = load_good("type = \"discord\"; webhook_url = "
	    "\"https://discord.com/api/webhooks/1/x\"; forum = true;");
	assert_ptr_equal(c->teams[0].chat.ops, &sink_discord_ops);
	assert_true(c->teams[0].chat.rate == 0.5);
	assert_int_equal(c->teams[0].chat.burst, 5);
	config_free(c);
	load_bad("type = \"discord\"; webhook_url = \"https://d/x\"; "
	    "forum = \"yes\";", "forum");
	load_bad("type = \"discord\"; webhook_url = \"https://d/x\"; "
	    "thread_id = \"1\";", "thread_id");

	c = load_good("type = \"teams\"; webhook_url = "
	    "\"https://prod-00.westus.logic.azure.com/workflows/x\";");
	assert_true(c->teams[0].chat.rate == 1.0);
	config_free(c);

	setenv("SB_TEST_MATRIX_TOKEN", MATRIX_TOKEN, 1);
	c = load_good("type = \"matrix\"; homeserver = \"" MATRIX_HS "/\"; "
	    "room_id = \"!AbCdEf:example.org\"; access_token_env = "
	    "\"SB_TEST_MATRIX_TOKEN\";");
	assert_null(c->teams[0].chat.webhook_url);
	assert_true(c->teams[0].chat.rate == 0.2);
	assert_int_equal(c->teams[0].chat.burst, 10);
	config_free(c);
	load_bad("type = \"matrix\"; homeserver = \"" MATRIX_HS "\"; "
	    "room_id = \"#care:example.org\"; access_token = \"t\";",
	    "room_id: must be a room id");
	load_bad("type = \"matrix\"; homeserver = \"http://matrix.example."
	    "org\"; room_id = \"!a:b\"; access_token = \"t\";",
	    "homeserver: must be https://");
	load_bad("type = \"matrix\"; homeserver = \"" MATRIX_HS "\"; "
	    "room_id = \"!a:b\";", "access_token");
	load_bad("type = \"matrix\"; homeserver = \"" MATRIX_HS "\"; "
	    "room_id = \"!a:b\"; access_token = \"t\"; webhook_url = "
	    "\"https://x/y\";", "webhook_url: not used by chat type "
	    "\"matrix\"");

	setenv("SB_TEST_WEBHOOK_SECRET", WEBHOOK_SECRET, 1);
	c = load_good("type = \"webhook\"; webhook_url = "
	    "\"https://receiver.example/sb\"; secret_env = "
	    "\"SB_TEST_WEBHOOK_SECRET\";");
	assert_ptr_equal(c->teams[0].chat.ops, &sink_webhook_ops);
	config_free(c);
	load_bad("type = \"webhook\"; webhook_url = \"https://r/sb\";",
	    "secret");
	load_bad("type = \"webhook\"; webhook_url = \"https://r/sb\"; "
	    "secret = \"short\";", "at least 16");
}

static void
test_registry(void **state)
{
	(void)state;
	assert_ptr_equal(sink_find("discord"), &sink_discord_ops);
	assert_ptr_equal(sink_find("teams"), &sink_teams_ops);
	assert_ptr_equal(sink_find("matrix"), &sink_matrix_ops);
	assert_ptr_equal(sink_find("webhook"), &sink_webhook_ops);
	assert_true(sink_discord_ops.needs_url);
	assert_true(sink_teams_ops.needs_url);
	assert_false(sink_matrix_ops.needs_url);
	assert_true(sink_webhook_ops.needs_url);
	assert_non_null(sink_discord_ops.format_digest);
	assert_non_null(sink_teams_ops.format_digest);
	assert_non_null(sink_matrix_ops.format_digest);
	assert_non_null(sink_webhook_ops.format_digest);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_discord_post),
		cmocka_unit_test(test_discord_thread_and_edit),
		cmocka_unit_test(test_discord_note_digest_hostile),
		cmocka_unit_test(test_matrix_post),
		cmocka_unit_test(test_matrix_thread_and_edit),
		cmocka_unit_test(test_matrix_note_digest_hostile),
		cmocka_unit_test(test_teams),
		cmocka_unit_test(test_webhook),
		cmocka_unit_test(test_whole_corpus),
		cmocka_unit_test(test_random_bytes),
		cmocka_unit_test(test_big_digests),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_registry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
