/*
 * Unit tests for mastodon.c and mastodon_html.c, on statuses recorded
 * from real Mastodon servers (tests/data/SOURCES.md).  The recordings
 * hold Status and Notification JSON as delivered (rtoot's stream
 * payloads, Mastodon.py's server-sent events); the websocket envelope
 * {"stream":[...],"event":...,"payload":"<JSON as a string>"} around
 * them is built here, as the streaming API wraps them.
 */
#include "harness.h"

#include <jansson.h>

#include "mastodon.h"
#include "text.h"

#define PUBLIC		"tests/data/mastodon-stream-public.jsonl"
#define TRUNCATED	"tests/data/mastodon-stream-truncated.jsonl"
#define PAGE		"tests/data/mastodon-page-public.json"
#define SSE_USER	"tests/data/mastodon-sse-user.txt"
#define SSE_DIRECT	"tests/data/mastodon-sse-direct.txt"
#define STATUSES	"tests/data/mastodon-statuses.jsonl"

/* A streaming message as the server sends it; NULL members are left out. */
static char *
envelope(const char *stream, const char *event, const char *payload)
{
	json_t	*o = json_object(), *v;
	char	*s;

	if (stream != NULL)
		json_object_set_new(o, "stream", json_pack("[s]", stream));
	json_object_set_new(o, "event", json_string(event));
	if (payload != NULL) {
		v = json_string(payload);
		assert_non_null(v);
		json_object_set_new(o, "payload", v);
	}
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	assert_non_null(s);
	return s;
}

static int
parse(const char *msg, const char *host, struct mastodon_event *ev,
    char **cause)
{
	return mastodon_parse_message(msg, strlen(msg), host, ev, cause);
}

/* A message that must parse; the cause is shown if it does not. */
static void
parse_ok(const char *msg, const char *host, struct mastodon_event *ev)
{
	char	*cause = NULL;

	if (parse(msg, host, ev, &cause) != 0)
		fail_msg("%s: %.200s", cause, msg);
	assert_null(cause);
}

/* Line lineno of a recorded stream, as its update message. */
static void
parse_update_line(const char *rel, int lineno, const char *host,
    struct mastodon_event *ev)
{
	char	*line = test_line(rel, lineno), *msg;

	msg = envelope("public", "update", line);
	parse_ok(msg, host, ev);
	free(msg);
	free(line);
}

static void
assert_strv(const struct strv *sv, const char *const *want, size_t n)
{
	size_t	i;

	assert_int_equal(sv->n, n);
	for (i = 0; i < n; i++)
		assert_string_equal(sv->v[i], want[i]);
}

#define STRV(sv, ...) do {						\
	const char *const want_[] = { __VA_ARGS__ };			\
	assert_strv((sv), want_, nitems(want_));			\
} while (0)

/* The full address the post must carry for an acct seen on host. */
static char *
full_acct(const char *acct, const char *host)
{
	if (strchr(acct, '@') != NULL)
		return xstrdup(acct);
	return xasprintf("%s@%s", acct, host);
}

/*
 * A post against the Status it came from, field by field, read here
 * with jansson from the recorded JSON.
 */
static void
check_against_json(const struct post *p, const char *json, const char *host)
{
	json_t		*st = json_loads(json, 0, NULL), *v;
	const char	*lang, *reply, *url;
	char		*want;
	size_t		 i;

	assert_non_null(st);
	assert_string_equal(p->platform, "mastodon");
	want = xasprintf("%s/%s", host,
	    json_string_value(json_object_get(st, "id")));
	assert_string_equal(p->id, want);
	free(want);
	want = full_acct(json_string_value(json_object_get(json_object_get(st,
	    "account"), "acct")), host);
	assert_string_equal(p->author, want);
	assert_string_equal(p->author_handle, want);
	free(want);
	assert_string_equal(p->created_at,
	    json_string_value(json_object_get(st, "created_at")));
	assert_string_equal(p->visibility,
	    json_string_value(json_object_get(st, "visibility")));
	url = json_string_value(json_object_get(st, "url"));
	if (url == NULL)
		url = json_string_value(json_object_get(st, "uri"));
	assert_string_equal(p->url, url);
	lang = json_string_value(json_object_get(st, "language"));
	if (lang != NULL)
		STRV(&p->langs, lang);
	else
		assert_int_equal(p->langs.n, 0);
	reply = json_string_value(json_object_get(st, "in_reply_to_id"));
	if (reply != NULL) {
		want = xasprintf("%s/%s", host, reply);
		assert_string_equal(p->reply_parent, want);
		free(want);
	} else
		assert_null(p->reply_parent);
	assert_null(p->reply_root);
	assert_non_null(p->text);
	assert_null(strchr(p->text, '<'));
	assert_int_equal(p->mentions.n,
	    json_array_size(json_object_get(st, "mentions")));
	json_array_foreach(json_object_get(st, "mentions"), i, v) {
		want = full_acct(json_string_value(json_object_get(v, "acct")),
		    host);
		assert_string_equal(p->mentions.v[i], want);
		free(want);
	}
	json_array_foreach(json_object_get(st, "tags"), i, v) {
		want = text_lower_str(json_string_value(json_object_get(v,
		    "name")));
		assert_true(strv_contains(&p->hashtags, want));
		free(want);
	}
	for (i = 0; i < p->links.n; i++)
		assert_true(strncmp(p->links.v[i], "http", 4) == 0);
	json_decref(st);
}

/* Every status of the mastodon.social public stream, field by field. */
static void
test_stream_every_status(void **state)
{
	struct mastodon_event	 ev;
	char			*all = test_slurp(PUBLIC, NULL), *p, *nl, *line;
	char			*msg, *want;
	int			 n = 0;

	(void)state;
	for (p = all; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		line = xstrndup(p, (size_t)(nl - p));
		msg = envelope("public", "update", line);
		parse_ok(msg, "mastodon.social", &ev);
		assert_int_equal(ev.kind, MASTODON_STATUS);
		assert_string_equal(ev.stream, "public");
		assert_null(ev.id);
		assert_null(ev.notification_id);
		want = xasprintf("mastodon.social/%s", ev.status_id);
		assert_string_equal(ev.post->id, want);
		free(want);
		check_against_json(ev.post, line, "mastodon.social");
		mastodon_event_clear(&ev);
		free(msg);
		free(line);
		n++;
	}
	assert_int_equal(n, 20);
	free(all);
}

/* Four statuses of the public stream, every field written out. */
static void
test_status_fields_exact(void **state)
{
	struct mastodon_event	 ev;
	struct post		*p;

	(void)state;
	/* A local account (no '@' in acct), paragraphs, a CJK hashtag. */
	parse_update_line(PUBLIC, 1, "mastodon.social", &ev);
	p = ev.post;
	assert_string_equal(ev.status_id, "109381959558229264");
	assert_string_equal(p->id, "mastodon.social/109381959558229264");
	assert_string_equal(p->author, "linfavourite@mastodon.social");
	assert_string_equal(p->author_handle, "linfavourite@mastodon.social");
	assert_string_equal(p->text,
	    "其實廢台派要指教馬來西亞政治可以考慮用馬來文或英文。\n\n"
	    "馬華人只佔馬來西亞20%人口，要指教可以指教最多的馬來人。\n\n"
	    "#比較爽啊lol");
	STRV(&p->hashtags, "比較爽啊lol");
	STRV(&p->langs, "en");
	assert_int_equal(p->links.n, 0);
	assert_int_equal(p->mentions.n, 0);
	assert_string_equal(p->created_at, "2022-11-21T13:10:48.151Z");
	assert_string_equal(p->url,
	    "https://mastodon.social/@linfavourite/109381959558229264");
	assert_string_equal(p->visibility, "public");
	assert_null(p->reply_parent);
	assert_true(p->time_us > 1700000000000000LL);
	mastodon_event_clear(&ev);

	/* A remote reply with two hashtags and a <br>. */
	parse_update_line(PUBLIC, 2, "mastodon.social", &ev);
	p = ev.post;
	assert_string_equal(p->id, "mastodon.social/109381827277220624");
	assert_string_equal(p->author, "DanielLuecking@troet.cafe");
	assert_string_equal(p->reply_parent,
	    "mastodon.social/109381786252810837");
	assert_string_equal(p->text, "Bloß gut, dass ich nicht im #Enquete "
	    "Saal sitze. Der Botschafter a.D. Michael Steiner spricht davon, "
	    "da habe in #Afghanistan Demut gefehlt. Kann ich bestätigen. Die\n"
	    " zu zeigen war verpönt. Hab ich 2006 im Februar erfahren müssen, "
	    "als die U.S.-Amerikaner gar nicht glücklich waren, als wir mit "
	    "Medien versucht haben, die Karikaturen-Provokation zu "
	    "deeskalieren.");
	STRV(&p->hashtags, "afghanistan", "enquete");
	STRV(&p->langs, "de");
	assert_string_equal(p->url,
	    "https://troet.cafe/@DanielLuecking/109381827106544321");
	mastodon_event_clear(&ev);

	/* Line breaks, a hashtag, a shortened link and a mention. */
	parse_update_line(PUBLIC, 7, "mastodon.social", &ev);
	p = ev.post;
	assert_string_equal(p->author, "covid_stats@mastodon.cloud");
	assert_string_equal(p->text,
	    "Italy 🇮🇹 COVID-19 current stats for Mon Nov 21 2022\n\n"
	    "Cases: 24,031,538\nDeaths: 180,518\nRecovered: 23,398,125\n"
	    "Active: 452,895\nTests: 255,780,377\nDoses: 142,494,404\n\n"
	    "#covid_it\nhttps://covid.yanoagenda.com/countries/IT\n\n@Digori");
	STRV(&p->mentions, "Digori@piaille.fr");
	STRV(&p->hashtags, "covid_it");
	STRV(&p->links, "https://covid.yanoagenda.com/countries/IT");
	mastodon_event_clear(&ev);

	/* A content warning on a local account. */
	parse_update_line(PUBLIC, 17, "mastodon.social", &ev);
	p = ev.post;
	assert_string_equal(p->author, "_Jordan@mastodon.social");
	assert_string_equal(p->text, "CW: As seen on Twitter\n[guy who has "
	    "only ever been to chicago, visiting his second city] take me to "
	    "your Bean");
	mastodon_event_clear(&ev);
}

/*
 * The recording with a cut line (rtoot issue #108): nine statuses
 * parse, the fragment is an error the caller counts, and nothing leaks
 * or crashes on the way.
 */
static void
test_truncated_line(void **state)
{
	struct mastodon_event	 ev;
	char			*all = test_slurp(TRUNCATED, NULL), *p, *nl;
	char			*line, *msg, *cause;
	int			 ok = 0, bad = 0, lineno = 0, bad_line = 0;

	(void)state;
	for (p = all; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		lineno++;
		line = xstrndup(p, (size_t)(nl - p));
		msg = envelope("public", "update", line);
		cause = NULL;
		if (parse(msg, "fosstodon.org", &ev, &cause) == 0) {
			assert_int_equal(ev.kind, MASTODON_STATUS);
			check_against_json(ev.post, line, "fosstodon.org");
			ok++;
		} else {
			assert_non_null(cause);
			assert_null(ev.post);
			assert_null(ev.status_id);
			bad++;
			bad_line = lineno;
		}
		mastodon_event_clear(&ev);
		free(cause);
		free(msg);
		free(line);
	}
	free(all);
	assert_int_equal(ok, 9);
	assert_int_equal(bad, 1);
	assert_int_equal(bad_line, 10);

	/* The fragment as a whole message, not only as a payload. */
	line = test_line(TRUNCATED, 10);
	cause = NULL;
	assert_int_equal(parse(line, "fosstodon.org", &ev, &cause), -1);
	assert_non_null(cause);
	free(cause);
	free(line);

	/* A local account of the recording server. */
	parse_update_line(TRUNCATED, 1, "fosstodon.org", &ev);
	assert_string_equal(ev.post->author, "jonkeane@fosstodon.org");
	assert_string_equal(ev.post->text, "Guess the context: "
	    "“non-participating countries (like the U.S.)”");
	mastodon_event_clear(&ev);

	/* Pixelfed: no language, no <p>, hashtags with '#' in the link. */
	parse_update_line(TRUNCATED, 8, "fosstodon.org", &ev);
	assert_int_equal(ev.post->langs.n, 0);
	assert_string_equal(ev.post->text, "Thanksgiving bread rolls, from "
	    "dough to dinner. #bread #thanksgiving");
	STRV(&ev.post->hashtags, "bread", "thanksgiving");
	assert_int_equal(ev.post->links.n, 0);
	assert_string_equal(ev.post->url,
	    "https://pixey.org/p/vincent/501520675558516123");
	mastodon_event_clear(&ev);

	parse_update_line(TRUNCATED, 9, "fosstodon.org", &ev);
	assert_string_equal(ev.post->id, "fosstodon.org/109400211779889119");
	assert_string_equal(ev.post->author, "danifalky@que.pasa.co");
	STRV(&ev.post->mentions, "capitangolo@que.pasa.co");
	assert_string_equal(ev.post->text, "Cosas bonitas que le dije a "
	    "@capitangolo el segundo dia de nuestra boda y sigo sin poder "
	    "leerlas al completo xk me emociono muuuucho");
	mastodon_event_clear(&ev);
}

struct sse_event {
	char	*event;
	char	*data;
};

/* The events of a text/event-stream body ("event:" then "data:"). */
static size_t
sse_read(const char *rel, struct sse_event *out, size_t max)
{
	char	*all = test_slurp(rel, NULL), *p, *nl, *event = NULL;
	size_t	 n = 0;

	for (p = all; p != NULL && *p != '\0'; p = nl != NULL ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (nl != NULL)
			*nl = '\0';
		if (strncmp(p, "event: ", 7) == 0) {
			free(event);
			event = xstrdup(p + 7);
		} else if (strncmp(p, "data: ", 6) == 0) {
			assert_non_null(event);
			assert_true(n < max);
			out[n].event = event;
			out[n].data = xstrdup(p + 6);
			event = NULL;
			n++;
		}
	}
	free(event);
	free(all);
	return n;
}

static void
sse_free(struct sse_event *evs, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(evs[i].event);
		free(evs[i].data);
	}
}

/* SSE event i of the user stream as a websocket message, parsed. */
static void
parse_sse(const struct sse_event *se, const char *stream,
    struct mastodon_event *ev)
{
	char	*msg = envelope(stream, se->event, se->data);

	parse_ok(msg, "localhost:3000", ev);
	free(msg);
}

/*
 * The user stream recorded from a real server: a post, a mention, a
 * direct message, a direct reply mentioning us, an edit of the first
 * post, then its deletion.
 */
static void
test_sse_user_stream(void **state)
{
	struct sse_event	 se[8];
	struct mastodon_event	 ev;
	struct post		*p;
	size_t			 n;

	(void)state;
	n = sse_read(SSE_USER, se, nitems(se));
	assert_int_equal(n, 6);

	parse_sse(&se[0], "user", &ev);
	assert_int_equal(ev.kind, MASTODON_STATUS);
	assert_string_equal(ev.stream, "user");
	p = ev.post;
	assert_string_equal(p->id, "localhost:3000/117024236332527350");
	assert_string_equal(p->author, "mastodonpy_test@localhost:3000");
	assert_string_equal(p->text, "only real cars respond.");
	assert_string_equal(p->url,
	    "http://localhost:3000/@mastodonpy_test/117024236332527350");
	assert_string_equal(p->visibility, "public");
	STRV(&p->langs, "ja");
	assert_null(ev.notification_id);
	check_against_json(p, se[0].data, "localhost:3000");
	mastodon_event_clear(&ev);

	parse_sse(&se[1], "user", &ev);
	assert_int_equal(ev.kind, MASTODON_STATUS);
	assert_string_equal(ev.notification_id, "14");
	assert_string_equal(ev.status_id, "117024236408130890");
	p = ev.post;
	assert_string_equal(p->id, "localhost:3000/117024236408130890");
	assert_string_equal(p->author, "admin@localhost:3000");
	assert_string_equal(p->text, "@mastodonpy_test beep beep I'm a jeep");
	STRV(&p->mentions, "mastodonpy_test@localhost:3000");
	assert_int_equal(p->links.n, 0);
	mastodon_event_clear(&ev);

	parse_sse(&se[2], "user", &ev);
	assert_int_equal(ev.kind, MASTODON_STATUS);
	assert_string_equal(ev.post->visibility, "direct");
	assert_string_equal(ev.post->text, "@mastodonpy_test_2 pssssst");
	STRV(&ev.post->mentions, "mastodonpy_test_2@localhost:3000");
	mastodon_event_clear(&ev);

	parse_sse(&se[3], "user", &ev);
	assert_int_equal(ev.kind, MASTODON_STATUS);
	assert_string_equal(ev.notification_id, "16");
	p = ev.post;
	assert_string_equal(p->author, "mastodonpy_test_2@localhost:3000");
	assert_string_equal(p->reply_parent,
	    "localhost:3000/117024236559579118");
	assert_string_equal(p->visibility, "direct");
	assert_string_equal(p->text, "@mastodonpy_test pssssst!");
	mastodon_event_clear(&ev);

	assert_string_equal(se[4].event, "status.update");
	parse_sse(&se[4], "user", &ev);
	assert_int_equal(ev.kind, MASTODON_EDIT);
	assert_string_equal(ev.status_id, "117024236332527350");
	assert_string_equal(ev.post->id, "localhost:3000/117024236332527350");
	assert_string_equal(ev.post->text, "only real animals respond.");
	mastodon_event_clear(&ev);

	assert_string_equal(se[5].event, "delete");
	parse_sse(&se[5], "user", &ev);
	assert_int_equal(ev.kind, MASTODON_DELETE);
	assert_string_equal(ev.id, "localhost:3000/117024236332527350");
	assert_string_equal(ev.status_id, "117024236332527350");
	assert_null(ev.post);
	mastodon_event_clear(&ev);
	sse_free(se, n);
}

/* The direct stream's conversation events are not posts of their own. */
static void
test_sse_direct_stream(void **state)
{
	struct sse_event	 se[4];
	struct mastodon_event	 ev;
	size_t			 n, i;

	(void)state;
	n = sse_read(SSE_DIRECT, se, nitems(se));
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++) {
		assert_string_equal(se[i].event, "conversation");
		parse_sse(&se[i], "direct", &ev);
		assert_int_equal(ev.kind, MASTODON_OTHER);
		assert_string_equal(ev.stream, "direct");
		assert_null(ev.post);
		mastodon_event_clear(&ev);
	}
	sse_free(se, n);
}

/* A recorded status turned into a boost of itself by another account. */
static char *
boost_of(const char *status_json, const char *boost_id)
{
	json_t	*orig = json_loads(status_json, 0, NULL), *b;
	char	*s;

	assert_non_null(orig);
	b = json_pack("{s:s, s:s, s:s, s:n, s:s, s:{s:s, s:s}, s:o}",
	    "id", boost_id, "created_at", "2022-11-21T13:11:00.000Z",
	    "visibility", "public", "in_reply_to_id", "content", "",
	    "account", "id", "1", "acct", "booster", "reblog", orig);
	assert_non_null(b);
	s = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	return s;
}

/* The envelopes that are not a plain update. */
static void
test_envelopes(void **state)
{
	struct mastodon_event	 ev;
	char			*line = test_line(PUBLIC, 3), *msg, *boost;

	(void)state;
	/* The delete payload is the id itself, not JSON. */
	parse_ok("{\"stream\":[\"public\"],\"event\":\"delete\","
	    "\"payload\":\"109381959558229264\"}", "mastodon.social", &ev);
	assert_int_equal(ev.kind, MASTODON_DELETE);
	assert_string_equal(ev.id, "mastodon.social/109381959558229264");
	assert_string_equal(ev.status_id, "109381959558229264");
	assert_string_equal(ev.stream, "public");
	mastodon_event_clear(&ev);

	/* No payload at all. */
	parse_ok("{\"stream\":[\"user\"],\"event\":\"filters_changed\"}",
	    "h.example", &ev);
	assert_int_equal(ev.kind, MASTODON_OTHER);
	assert_string_equal(ev.stream, "user");
	assert_null(ev.post);
	mastodon_event_clear(&ev);

	/* Events we do not act on: their payload is not even read. */
	parse_ok("{\"stream\":[\"public\"],\"event\":\"announcement\","
	    "\"payload\":\"{not json\"}", "h.example", &ev);
	assert_int_equal(ev.kind, MASTODON_OTHER);
	mastodon_event_clear(&ev);
	parse_ok("{\"stream\":[\"user\"],\"event\":\"announcement.delete\","
	    "\"payload\":\"42\"}", "h.example", &ev);
	assert_int_equal(ev.kind, MASTODON_OTHER);
	mastodon_event_clear(&ev);
	parse_ok("{\"stream\":[\"user\",\"x\"],\"event\":"
	    "\"notifications_merged\",\"payload\":\"1\"}", "h.example", &ev);
	assert_int_equal(ev.kind, MASTODON_OTHER);
	assert_string_equal(ev.stream, "user");
	mastodon_event_clear(&ev);

	/* A notification that is not a mention: OTHER, with its id. */
	parse_ok("{\"stream\":[\"user:notification\"],"
	    "\"event\":\"notification\",\"payload\":"
	    "\"{\\\"id\\\":\\\"15\\\",\\\"type\\\":\\\"follow\\\","
	    "\\\"account\\\":{\\\"id\\\":\\\"1\\\",\\\"acct\\\":\\\"a\\\"}}\"}",
	    "h.example", &ev);
	assert_int_equal(ev.kind, MASTODON_OTHER);
	assert_string_equal(ev.notification_id, "15");
	assert_string_equal(ev.stream, "user:notification");
	assert_null(ev.post);
	mastodon_event_clear(&ev);

	/* A status.update of a recorded status is an edit. */
	msg = envelope("public", "status.update", line);
	parse_ok(msg, "mastodon.social", &ev);
	assert_int_equal(ev.kind, MASTODON_EDIT);
	check_against_json(ev.post, line, "mastodon.social");
	mastodon_event_clear(&ev);
	free(msg);

	/* A boost is not its booster's post. */
	boost = boost_of(line, "109381960000000000");
	msg = envelope("public", "update", boost);
	parse_ok(msg, "mastodon.social", &ev);
	assert_int_equal(ev.kind, MASTODON_OTHER);
	assert_null(ev.post);
	assert_string_equal(ev.status_id, "109381960000000000");
	mastodon_event_clear(&ev);
	free(msg);
	free(boost);

	/* No stream member: allowed, stream stays NULL. */
	msg = envelope(NULL, "update", line);
	parse_ok(msg, "mastodon.social", &ev);
	assert_int_equal(ev.kind, MASTODON_STATUS);
	assert_null(ev.stream);
	mastodon_event_clear(&ev);
	free(msg);
	free(line);
}

/* Messages that are errors, each with a cause, and nothing left behind. */
static void
test_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"not json",
		"[\"update\"]",
		"{\"stream\":[\"public\"]}",
		"{\"event\":7}",
		"{\"event\":\"update\"}",
		"{\"event\":\"update\",\"payload\":12}",
		"{\"event\":\"update\",\"payload\":\"{\\\"id\\\":\"}",
		"{\"event\":\"update\",\"payload\":\"[1,2]\"}",
		"{\"event\":\"update\",\"payload\":\"{}\"}",
		"{\"event\":\"update\",\"payload\":\"{\\\"id\\\":\\\"1\\\"}\"}",
		"{\"event\":\"update\",\"payload\":\"{\\\"id\\\":\\\"1/2\\\","
		    "\\\"account\\\":{\\\"acct\\\":\\\"a\\\"}}\"}",
		"{\"event\":\"update\",\"payload\":\"{\\\"id\\\":\\\"1\\\","
		    "\\\"account\\\":{\\\"acct\\\":\\\"a b\\\"}}\"}",
		"{\"event\":\"update\",\"payload\":\"{\\\"id\\\":\\\"1\\\","
		    "\\\"account\\\":{\\\"acct\\\":\\\"a@\\\"}}\"}",
		"{\"event\":\"update\",\"payload\":\"{\\\"id\\\":\\\"1\\\","
		    "\\\"account\\\":{\\\"acct\\\":\\\"a\\\"},"
		    "\\\"content\\\":5}\"}",
		"{\"event\":\"update\",\"payload\":\"{\\\"id\\\":\\\"1\\\","
		    "\\\"account\\\":{\\\"acct\\\":\\\"a\\\"},"
		    "\\\"in_reply_to_id\\\":\\\"../x\\\"}\"}",
		"{\"event\":\"delete\"}",
		"{\"event\":\"delete\",\"payload\":\"\"}",
		"{\"event\":\"delete\",\"payload\":\"../../etc\"}",
		"{\"event\":\"delete\",\"payload\":123}",
		"{\"event\":\"notification\",\"payload\":\"{\\\"type\\\":"
		    "\\\"mention\\\"}\"}",
		"{\"event\":\"notification\",\"payload\":"
		    "\"{\\\"id\\\":\\\"3\\\"}\"}",
		"{\"event\":\"notification\",\"payload\":"
		    "\"{\\\"id\\\":\\\"3\\\",\\\"type\\\":\\\"mention\\\","
		    "\\\"status\\\":[]}\"}",
	};
	struct mastodon_event	 ev;
	char			*cause;
	size_t			 i;

	(void)state;
	for (i = 0; i < nitems(bad); i++) {
		cause = NULL;
		if (parse(bad[i], "h.example", &ev, &cause) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(cause);
		assert_null(ev.post);
		assert_null(ev.id);
		assert_null(ev.status_id);
		assert_null(ev.notification_id);
		assert_null(ev.stream);
		mastodon_event_clear(&ev);
		free(cause);
		/* The caller may not want the cause. */
		assert_int_equal(parse(bad[i], "h.example", &ev, NULL), -1);
	}

	/* The server's own error message is passed on. */
	cause = NULL;
	assert_int_equal(parse("{\"error\":\"Unknown stream type\","
	    "\"status\":400}", "h.example", &ev, &cause), -1);
	assert_non_null(strstr(cause, "Unknown stream type"));
	free(cause);

	/* Only len bytes are read: the rest of the buffer is not JSON. */
	cause = NULL;
	assert_int_equal(mastodon_parse_message("{\"event\":\"x\"}garbage", 13,
	    "h.example", &ev, &cause), 0);
	assert_int_equal(ev.kind, MASTODON_OTHER);
	mastodon_event_clear(&ev);
}

/* Every cut and many byte changes of real messages: no crash, no leak. */
static void
test_corruption(void **state)
{
	static const char	 subst[] = { '"', '{', '}', '0', '\\', '<',
	    '&', ' ', 'x', '\x80' };
	struct sse_event	 se[8];
	struct mastodon_event	 ev;
	char			*msg, *cause;
	size_t			 n, k, len, i, j;
	int			 rv;

	(void)state;
	n = sse_read(SSE_USER, se, nitems(se));
	for (k = 0; k < n; k += 3) {
		msg = envelope("user", se[k].event, se[k].data);
		len = strlen(msg);
		for (i = 0; i < len; i++) {
			cause = NULL;
			assert_int_equal(mastodon_parse_message(msg, i,
			    "localhost:3000", &ev, &cause), -1);
			assert_non_null(cause);
			free(cause);
			mastodon_event_clear(&ev);
		}
		for (i = 0; i < len; i += 2) {
			char	saved = msg[i];

			for (j = 0; j < sizeof(subst); j++) {
				msg[i] = subst[j];
				cause = NULL;
				rv = mastodon_parse_message(msg, len,
				    "localhost:3000", &ev, &cause);
				if (rv == 0) {
					assert_null(cause);
					assert_true(ev.post == NULL ||
					    ev.post->text != NULL);
					assert_true(ev.post != NULL ||
					    (ev.kind != MASTODON_STATUS &&
					    ev.kind != MASTODON_EDIT));
				} else {
					assert_int_equal(rv, -1);
					assert_non_null(cause);
				}
				mastodon_event_clear(&ev);
				free(cause);
			}
			msg[i] = saved;
		}
		free(msg);
	}
	sse_free(se, n);
}

/* mastodon_status_post on REST statuses: CW, mention, hashtag, boosts. */
static void
test_status_post(void **state)
{
	char		*line = test_line(STATUSES, 1), *boost, *cause = NULL;
	json_t		*st = json_loads(line, 0, NULL), *b;
	struct post	*p;

	(void)state;
	assert_non_null(st);
	p = mastodon_status_post(st, "mastodon.social", &cause);
	assert_non_null(p);
	assert_null(cause);
	assert_string_equal(p->id, "mastodon.social/110446223051565765");
	assert_string_equal(p->author, "halcy@icosahedron.website");
	assert_string_equal(p->text, "CW: test post for mastodon.py stuff\n"
	    "@halcy you're a doo-doo head\n\n"
	    "edit: editing this to have the maximum amount of fields filled "
	    ":trans_heart: #ThisIsAHashtag");
	STRV(&p->mentions, "halcy@icosahedron.website");
	STRV(&p->hashtags, "thisisahashtag");
	STRV(&p->langs, "de");
	assert_int_equal(p->links.n, 0);
	assert_string_equal(p->url,
	    "https://icosahedron.website/@halcy/110446222386355655");
	check_against_json(p, line, "mastodon.social");
	post_free(p);
	json_decref(st);

	/* A boost of it: not a post, whoever calls. */
	boost = boost_of(line, "110446300000000000");
	b = json_loads(boost, 0, NULL);
	assert_null(mastodon_status_post(b, "mastodon.social", &cause));
	assert_non_null(cause);
	free(cause);
	cause = NULL;
	assert_null(mastodon_status_post(b, "mastodon.social", NULL));
	json_decref(b);
	free(boost);
	free(line);

	line = test_line(STATUSES, 2);
	st = json_loads(line, 0, NULL);
	p = mastodon_status_post(st, "mastodon.social", &cause);
	assert_non_null(p);
	assert_string_equal(p->author, "halcy@mastodon.social");
	assert_string_equal(p->text, "test?");
	post_free(p);
	json_decref(st);
	free(line);

	st = json_string("x");
	assert_null(mastodon_status_post(st, "h", &cause));
	assert_non_null(cause);
	free(cause);
	json_decref(st);
}

static void
check_ascending(const struct mastodon_event *evs, int n, bool notifications)
{
	int	i;

	for (i = 1; i < n; i++) {
		if (notifications)
			assert_true(mastodon_id_cmp(evs[i - 1].notification_id,
			    evs[i].notification_id) < 0);
		else
			assert_true(mastodon_id_cmp(evs[i - 1].status_id,
			    evs[i].status_id) < 0);
	}
}

static void
free_events(struct mastodon_event *evs, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		mastodon_event_clear(&evs[i]);
	free(evs);
}

/* A recorded public timeline page (newest first) comes out oldest first. */
static void
test_page_statuses(void **state)
{
	struct mastodon_event	*evs;
	size_t			 len, i;
	char			*body = test_slurp(PAGE, &len), *cause = NULL;
	const char		*want;
	char			*s;
	json_t			*arr = json_loads(body, 0, NULL), *v;
	int			 n, k, found = 0;

	(void)state;
	n = mastodon_parse_page(body, len, "fosstodon.org", false, &evs,
	    &cause);
	assert_null(cause);
	assert_int_equal(n, 20);
	assert_int_equal(json_array_size(arr), 20);
	check_ascending(evs, n, false);
	/* The page is newest first: element i is event n - 1 - i. */
	json_array_foreach(arr, i, v) {
		k = n - 1 - (int)i;
		assert_int_equal(evs[k].kind, MASTODON_STATUS);
		assert_string_equal(evs[k].status_id,
		    json_string_value(json_object_get(v, "id")));
		s = json_dumps(v, 0);
		check_against_json(evs[k].post, s, "fosstodon.org");
		free(s);
	}
	assert_string_equal(evs[0].status_id, "114870362129931528");
	assert_string_equal(evs[n - 1].status_id, "114870362701816829");
	for (k = 0; k < n; k++) {
		if (strcmp(evs[k].status_id, "114870362642827174") != 0)
			continue;
		found++;
		/* A link cut by spans, with &amp; in its href; a mention. */
		want = "https://comicbook.com/anime/news/jujutsu-kaisen-could-"
		    "go-down-the-same-controversial-path-as-attack-on-titan/"
		    "?utm_source=flipboard&utm_medium=activitypub";
		STRV(&evs[k].post->links, want);
		assert_string_equal(evs[k].post->text, "Jujutsu Kaisen Could "
		    "Go Down the Same Controversial Path As Attack on Titan\n"
		    "https://comicbook.com/anime/news/jujutsu-kaisen-could-go-"
		    "down-the-same-controversial-path-as-attack-on-titan/"
		    "?utm_source=flipboard&utm_medium=activitypub\n\n"
		    "Posted into Anime News by ComicBook.com "
		    "@anime-news-by-comicbook-com-ComicBookcom");
		STRV(&evs[k].post->mentions,
		    "anime-news-by-comicbook-com-ComicBookcom@flipboard.com");
		assert_string_equal(evs[k].post->author,
		    "ComicBookcom@flipboard.com");
	}
	assert_int_equal(found, 1);
	free_events(evs, n);
	json_decref(arr);
	free(body);
}

/* A JSON array of the given texts; caller frees. */
static char *
page_of(const char *const *items, size_t n)
{
	struct buf	b;
	size_t		i;

	buf_init(&b);
	buf_addc(&b, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(&b, ',');
		buf_adds(&b, items[i]);
	}
	buf_addc(&b, ']');
	return buf_steal(&b);
}

/*
 * Notification pages from the recorded mention notifications, with a
 * follow between them (ours): mentions only, oldest first.  Status
 * pages with a boost: the boost is OTHER but keeps its place.
 */
static void
test_page_mixed(void **state)
{
	struct sse_event	 se[8];
	struct mastodon_event	*evs;
	const char		*items[3];
	char			*page, *cause = NULL, *line, *boost;
	int			 n;

	(void)state;
	assert_int_equal(sse_read(SSE_USER, se, nitems(se)), 6);
	items[0] = se[3].data;		/* notification 16 */
	items[1] = "{\"id\":\"15\",\"type\":\"follow\",\"account\":"
	    "{\"id\":\"9\",\"acct\":\"x\"}}";
	items[2] = se[1].data;		/* notification 14 */
	page = page_of(items, 3);
	n = mastodon_parse_page(page, strlen(page), "localhost:3000", true,
	    &evs, &cause);
	assert_null(cause);
	assert_int_equal(n, 2);
	assert_string_equal(evs[0].notification_id, "14");
	assert_string_equal(evs[1].notification_id, "16");
	assert_int_equal(evs[0].kind, MASTODON_STATUS);
	assert_string_equal(evs[0].post->author, "admin@localhost:3000");
	assert_string_equal(evs[1].post->author,
	    "mastodonpy_test_2@localhost:3000");
	check_ascending(evs, n, true);
	free_events(evs, n);
	free(page);
	sse_free(se, 6);

	line = test_line(PUBLIC, 5);
	boost = boost_of(line, "109381959589694227");
	items[0] = boost;
	items[1] = line;
	page = page_of(items, 2);
	n = mastodon_parse_page(page, strlen(page), "mastodon.social", false,
	    &evs, &cause);
	assert_int_equal(n, 2);
	assert_int_equal(evs[0].kind, MASTODON_STATUS);
	check_against_json(evs[0].post, line, "mastodon.social");
	assert_int_equal(evs[1].kind, MASTODON_OTHER);
	assert_null(evs[1].post);
	assert_string_equal(evs[1].status_id, "109381959589694227");
	free_events(evs, n);
	free(page);

	/* One bad element fails the page, with nothing leaked. */
	items[0] = line;
	items[1] = "{\"id\":\"2\"}";
	page = page_of(items, 2);
	evs = (struct mastodon_event *)page;
	assert_int_equal(mastodon_parse_page(page, strlen(page),
	    "mastodon.social", false, &evs, &cause), -1);
	assert_null(evs);
	assert_non_null(strstr(cause, "page[1]"));
	free(cause);
	free(page);
	free(boost);
	free(line);

	n = mastodon_parse_page("[]", 2, "h", false, &evs, &cause);
	assert_int_equal(n, 0);
	assert_null(evs);
	page = xstrdup("[{\"id\":\"1\",\"type\":\"favourite\"}]");
	n = mastodon_parse_page(page, strlen(page), "h", true, &evs, &cause);
	free(page);
	assert_int_equal(n, 0);
	assert_null(evs);
	assert_int_equal(mastodon_parse_page("{}", 2, "h", false, &evs,
	    &cause), -1);
	free(cause);
	assert_int_equal(mastodon_parse_page("[1]", 3, "h", false, &evs,
	    &cause), -1);
	free(cause);
	/* A mention whose status is broken fails its page too. */
	page = xstrdup("[{\"id\":\"7\",\"type\":\"mention\",\"status\":"
	    "{\"id\":\"8\"}}]");
	assert_int_equal(mastodon_parse_page(page, strlen(page), "h", true,
	    &evs, &cause), -1);
	assert_non_null(strstr(cause, "page[0]"));
	free(cause);
	free(page);
	assert_int_equal(mastodon_parse_page("[", 1, "h", true, &evs, NULL),
	    -1);
}

struct html_case {
	const char	*html;
	const char	*text;
};

static const struct html_case html_cases[] = {
	{ "", "" },
	{ "plain", "plain" },
	/* Paragraphs and line breaks. */
	{ "<p>a</p><p>b</p>", "a\n\nb" },
	{ "<p>a<br>b<br/>c<br />d</p>", "a\nb\nc\nd" },
	{ "<p>a<br><br>b</p>", "a\n\nb" },
	{ "<p>a<br></p><p>b</p>", "a\n\nb" },
	{ "<p>a</p>\n<p>b</p>", "a\n\nb" },
	{ "<br><p>a</p><br>", "a" },
	{ "<P>a</P><P>b<BR>c</P>", "a\n\nb\nc" },
	{ "<ul><li>one</li><li>two</li></ul>after", "one\ntwo\nafter" },
	/* Links: the href, whatever the spans show. */
	{ "<a href=\"https://example.com/a?x=1&amp;y=2\" rel=\"nofollow\">"
	  "<span class=\"invisible\">https://</span><span class=\"ellipsis"
	  "\">example.com/a</span><span class=\"invisible\">?x=1&amp;y=2"
	  "</span></a> end", "https://example.com/a?x=1&y=2 end" },
	{ "<A HREF=\"https://x.example/\">t</A>", "https://x.example/" },
	{ "<a href=https://u.example/ target=_blank>t</a>!",
	  "https://u.example/!" },
	{ "<a href=\"https://e.example/?q=>\" class='x'>t</a>",
	  "https://e.example/?q=>" },
	{ "<a href=\"mailto:x@y.example\">mail me</a>", "mail me" },
	{ "<a>t</a>", "t" },
	/* Mentions and hashtags: their text, with the sigil. */
	{ "<span class=\"h-card\"><a href=\"https://h/@bob\" class=\"u-url"
	  " mention\">@<span>bob</span></a></span> hi", "@bob hi" },
	{ "<a href=\"https://h/@bob\" class=\"mention\">bob</a>", "@bob" },
	{ "<a href=https://h/@bob class=mention>bob</a>", "@bob" },
	{ "<a href=\"https://h/tags/x\" class=\"mention hashtag\" "
	  "rel=\"tag\">#<span>X</span></a>", "#X" },
	{ "<a href=\"https://h/tags/x\" rel=\"tag\">x</a>", "#x" },
	{ "<a href=\"https://h/tags/x\" class=\"hashtag\"></a>.", "." },
	/* Entities. */
	{ "&amp;&lt;&gt;&quot;&apos;&nbsp;&#39;&#x41;&#X42;&#169;",
	  "&<>\"'\xc2\xa0'AB\xc2\xa9" },
	{ "&#128512; &#x1F600;", "\xf0\x9f\x98\x80 \xf0\x9f\x98\x80" },
	{ "&bogus; &amp &#; &#xZZ; &#0; &#1114112; &#xD800; &#27; "
	  "&#000000065; a&b &",
	  "&bogus; &amp &#; &#xZZ; &#0; &#1114112; &#xD800; &#27; "
	  "&#000000065; a&b &" },
	/* Other tags dropped; literal '<' kept. */
	{ "<b>bold</b> <i>it</i> <span class=\"x\">s</span>",
	  "bold it s" },
	{ "1 < 2 and 3 <> 4 </ 5 <3", "1 < 2 and 3 <> 4 </ 5 <3" },
	{ "a<!-- <p>x</p> -->b<!DOCTYPE html>c<?xml x?>d<!-- open",
	  "abcd" },
	/* Malformed: nesting, unclosed tags and links. */
	{ "<a href=\"https://a.example/\">x<a href=\"https://b.example/\">"
	  "y</a>z</a>", "https://a.example/z" },
	{ "<p><a href=\"https://a.example/\">x</p><p>after</p>",
	  "https://a.example/\n\nafter" },
	{ "<p><a href=\"https://a.example/\">x", "https://a.example/" },
	{ "a <b", "a " },
	{ "a<p", "a" },
	{ "a<a href=\"https://unterminated", "a" },
	{ "<p>x</p></p></p><p></p><p>y", "x\n\ny" },
	{ "</a>x</a>", "x" },
	{ "<a class=\"mention\" href=\"https://h/@a\"><p>", "" },
	{ "<verylongtagnamethatgoeson>t</verylongtagnamethatgoeson>",
	  "t" },
};

static void
test_html_text(void **state)
{
	char	*t;
	size_t	 i;

	(void)state;
	for (i = 0; i < nitems(html_cases); i++) {
		t = mastodon_html_text(html_cases[i].html);
		if (strcmp(t, html_cases[i].text) != 0)
			fail_msg("case %zu: %s -> \"%s\", want \"%s\"", i,
			    html_cases[i].html, t, html_cases[i].text);
		free(t);
	}
	t = mastodon_html_text(NULL);
	assert_string_equal(t, "");
	free(t);
}

/* Whether s is whole UTF-8. */
static bool
utf8_valid(const char *s)
{
	uint32_t	cp;
	size_t		n, len = strlen(s);

	while (len > 0) {
		n = utf8_decode(s, len, &cp);
		if (n == 0)
			return false;
		s += n;
		len -= n;
	}
	return true;
}

/*
 * Random markup-heavy input, and every prefix of recorded HTML: the
 * output is bounded, whole UTF-8, and (under ASan) nothing is read out
 * of bounds.  The same input as a status's content exercises the link
 * reader.
 */
static void
test_html_garbage(void **state)
{
	static const char *const atoms[] = {
		"<", ">", "/", "a", "p", "br", "&", "#", "x", "1", ";", "\"",
		"'", "=", " ", "href", "class", "mention", "hashtag", "!", "-",
		"é", "https://", "amp", "<a ", "</a>", "<p>", "<br>", "&#",
		"rel=tag", "\n", "li", "<!--", "-->"
	};
	unsigned long long	 seed = 0x2545f4914f6cdd1dULL;
	struct buf		 in;
	json_t			*st;
	struct post		*p;
	char			*t, *line, *html;
	size_t			 i, j, k, len;

	(void)state;
	buf_init(&in);
	for (i = 0; i < 20000; i++) {
		buf_reset(&in);
		len = i % 40;
		for (j = 0; j < len; j++) {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			buf_adds(&in, atoms[seed % nitems(atoms)]);
		}
		t = mastodon_html_text(in.data);
		assert_true(strlen(t) <= 2 * in.len);
		assert_true(utf8_valid(t));
		free(t);
		st = json_pack("{s:s, s:{s:s}, s:s}", "id", "1", "account",
		    "acct", "a", "content", in.data != NULL ? in.data : "");
		p = mastodon_status_post(st, "h", NULL);
		assert_non_null(p);
		for (k = 0; k < p->links.n; k++)
			assert_non_null(strstr(in.data, "http"));
		post_free(p);
		json_decref(st);
	}
	buf_free(&in);

	line = test_line(PAGE, 1);
	st = json_loads(line, 0, NULL);
	html = xstrdup(json_string_value(json_object_get(json_array_get(st, 3),
	    "content")));
	len = strlen(html);
	for (i = len; i > 0; i--) {
		html[i] = '\0';
		t = mastodon_html_text(html);
		assert_true(utf8_valid(t) ||
		    (unsigned char)html[i - 1] >= 0x80);
		free(t);
	}
	free(html);
	json_decref(st);
	free(line);
}

static void
test_id_cmp(void **state)
{
	(void)state;
	assert_int_equal(mastodon_id_cmp("1", "2"), -1);
	assert_int_equal(mastodon_id_cmp("2", "1"), 1);
	assert_int_equal(mastodon_id_cmp("10", "9"), 1);
	assert_int_equal(mastodon_id_cmp("9", "10"), -1);
	assert_int_equal(mastodon_id_cmp("109381959558229264",
	    "109381959558229264"), 0);
	assert_int_equal(mastodon_id_cmp("109381959558229264",
	    "109381959558229265"), -1);
	assert_int_equal(mastodon_id_cmp("114870362129931528",
	    "109381959558229264"), 1);
	/* Past 64 bits. */
	assert_int_equal(mastodon_id_cmp("99999999999999999999",
	    "100000000000000000000"), -1);
	assert_int_equal(mastodon_id_cmp("123456789012345678901234567890",
	    "123456789012345678901234567891"), -1);
	assert_int_equal(mastodon_id_cmp("0010", "10"), 0);
	assert_int_equal(mastodon_id_cmp("0", "000"), 0);
	assert_int_equal(mastodon_id_cmp("", "0"), -1);
	assert_int_equal(mastodon_id_cmp(NULL, "1"), -1);
	assert_int_equal(mastodon_id_cmp("1", NULL), 1);
	assert_int_equal(mastodon_id_cmp(NULL, NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_every_status),
		cmocka_unit_test(test_status_fields_exact),
		cmocka_unit_test(test_truncated_line),
		cmocka_unit_test(test_sse_user_stream),
		cmocka_unit_test(test_sse_direct_stream),
		cmocka_unit_test(test_envelopes),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_corruption),
		cmocka_unit_test(test_status_post),
		cmocka_unit_test(test_page_statuses),
		cmocka_unit_test(test_page_mixed),
		cmocka_unit_test(test_html_text),
		cmocka_unit_test(test_html_garbage),
		cmocka_unit_test(test_id_cmp)
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
