/* Unit tests for jetstream.c, on frames recorded from production Jetstream. */
#include "harness.h"

#include <jansson.h>

#include "jetstream.h"

struct counts {
	int	post, del, identity, other;
};

/* Parse a whole line of a data file that must be well-formed. */
static void
parse_line(const char *rel, int lineno, struct jetstream_event *ev)
{
	char	*line = test_line(rel, lineno), *cause = NULL;

	if (jetstream_parse(line, strlen(line), ev, &cause) != 0)
		fail_msg("%s:%d: %s", rel, lineno, cause);
	free(line);
}

static void
count_file(const char *rel, struct counts *c)
{
	char			*all = test_slurp(rel, NULL), *p, *nl;
	char			*cause;
	struct jetstream_event	 ev;
	int			 lineno = 0;
	size_t			 len;

	memset(c, 0, sizeof(*c));
	for (p = all; *p != '\0'; p += len + (nl != NULL)) {
		nl = strchr(p, '\n');
		len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		lineno++;
		cause = NULL;
		if (jetstream_parse(p, len, &ev, &cause) != 0)
			fail_msg("%s:%d: %s", rel, lineno, cause);
		assert_null(cause);
		assert_true(ev.time_us > 1700000000000000LL);
		switch (ev.kind) {
		case JETSTREAM_POST:
			c->post++;
			/* Every recorded post event is a create. */
			assert_false(ev.updated);
			assert_non_null(ev.post);
			assert_non_null(ev.post->text);
			assert_non_null(ev.post->url);
			assert_string_equal(ev.post->platform, "bluesky");
			assert_int_equal(ev.post->time_us, ev.time_us);
			break;
		case JETSTREAM_DELETE:
			c->del++;
			assert_non_null(ev.id);
			break;
		case JETSTREAM_IDENTITY:
			c->identity++;
			assert_non_null(ev.did);
			break;
		case JETSTREAM_OTHER:
			c->other++;
			assert_null(ev.post);
			break;
		}
		jetstream_event_clear(&ev);
	}
	free(all);
}

/*
 * Expected counts, derived once with python3 from the files:
 *   e["kind"] == "commit" and e["commit"]["collection"] ==
 *   "app.bsky.feed.post", split by e["commit"]["operation"];
 *   e["kind"] == "identity"; everything else.
 * Corpus: 17 post creates + 1 post delete (SOURCES.md's "post 18"),
 * 1 identity, 133 others (of 152).  Golden: 1 post, 1 identity, 8 others.
 */
static void
test_corpus_counts(void **state)
{
	struct counts	c;

	(void)state;
	count_file("tests/data/jetstream-corpus.jsonl", &c);
	assert_int_equal(c.post, 17);
	assert_int_equal(c.del, 1);
	assert_int_equal(c.identity, 1);
	assert_int_equal(c.other, 133);
	count_file("tests/data/jetstream-golden.jsonl", &c);
	assert_int_equal(c.post, 1);
	assert_int_equal(c.del, 0);
	assert_int_equal(c.identity, 1);
	assert_int_equal(c.other, 8);
}

#define CORPUS	"tests/data/jetstream-corpus.jsonl"
#define GOLDEN	"tests/data/jetstream-golden.jsonl"

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

/* Corpus line 2: a link facet and the same link as a card. */
static void
test_post_link_card(void **state)
{
	struct jetstream_event	 ev;
	struct post		*p;

	(void)state;
	parse_line(CORPUS, 2, &ev);
	assert_int_equal(ev.kind, JETSTREAM_POST);
	p = ev.post;
	assert_string_equal(p->id, "at://did:plc:dclwtltrt2ggsryagfzk7dp4/"
	    "app.bsky.feed.post/3mptbyoeyc22k");
	assert_string_equal(p->cid, "bafyreiapzyf65cmq55jklpnrihiygze2jmmdqv"
	    "vkwqeiomd72pbp2iazuu");
	assert_string_equal(p->url, "https://bsky.app/profile/"
	    "did:plc:dclwtltrt2ggsryagfzk7dp4/post/3mptbyoeyc22k");
	assert_string_equal(p->author, "did:plc:dclwtltrt2ggsryagfzk7dp4");
	assert_null(p->author_handle);
	assert_string_equal(p->text, "www.youtube.com/watch?v=V5lD...");
	assert_string_equal(p->created_at, "2026-07-04T14:38:06.240Z");
	assert_true(ev.time_us == 1783175888090631LL);
	assert_true(p->time_us == 1783175888090631LL);
	STRV(&p->langs, "en");
	STRV(&p->links, "https://www.youtube.com/watch?v=V5lDo-jw8mA");
	assert_int_equal(p->hashtags.n, 0);
	assert_int_equal(p->mentions.n, 0);
	assert_null(p->reply_root);
	assert_null(p->reply_parent);
	assert_null(p->reply_root_cid);
	assert_null(p->reply_parent_cid);
	jetstream_event_clear(&ev);
}

/* Corpus line 131: empty text, a reply deep in a thread, a GIF card. */
static void
test_post_reply_thread(void **state)
{
	struct jetstream_event	 ev;
	struct post		*p;

	(void)state;
	parse_line(CORPUS, 131, &ev);
	assert_int_equal(ev.kind, JETSTREAM_POST);
	p = ev.post;
	assert_string_equal(p->text, "");
	assert_string_equal(p->reply_root, "at://did:plc:ajg5c7huhiibhwandhds"
	    "cpdq/app.bsky.feed.post/3mptb7zj4lc2q");
	assert_string_equal(p->reply_parent, "at://did:plc:ippiobxpsddnkzd6ms"
	    "2dbpcy/app.bsky.feed.post/3mptbvznwf22c");
	/* A reply to it names the same root by uri and cid. */
	assert_string_equal(p->reply_root_cid, "bafyreico54toazdfzwrminpec7f"
	    "xox3sq54uod7zrv32mpha3qyq3qhese");
	assert_string_equal(p->reply_parent_cid, "bafyreibuzazgippf2h364cawv7"
	    "kdteeakhkpervaymxyy3vh24a6nk6ty4");
	{
		json_t		*j = post_to_json(p);
		struct post	*q = post_from_json(j);

		assert_non_null(q);
		assert_string_equal(q->reply_root_cid, p->reply_root_cid);
		assert_string_equal(q->reply_parent_cid, p->reply_parent_cid);
		assert_string_equal(q->reply_root, p->reply_root);
		post_free(q);
		json_decref(j);
	}
	/* \u0026 in the frame is '&' in the link. */
	STRV(&p->links, "https://static.klipy.com/ii/f87f46a2c5aeaeed4c689108"
	    "15f73eaf/7d/09/g1bpFVOm.gif?hh=498&ww=498&mp4=IrGBygbn&webm="
	    "1Tnl61JE");
	jetstream_event_clear(&ev);

	/* Golden line 2: root and parent are the same post. */
	parse_line(GOLDEN, 2, &ev);
	p = ev.post;
	assert_string_equal(p->id, "at://did:plc:q235v55g5unth4zjjdpacfdr/"
	    "app.bsky.feed.post/3mmoojp4cd223");
	assert_string_equal(p->text, "Try RSV for a good time !!");
	assert_string_equal(p->reply_root, p->reply_parent);
	assert_string_equal(p->reply_parent, "at://did:plc:j76trmiofvaxxpvx2v"
	    "nb2vwf/app.bsky.feed.post/3mmojbrjwbs26");
	assert_string_equal(p->reply_root_cid, p->reply_parent_cid);
	assert_string_equal(p->reply_parent_cid, "bafyreiainko5un5pbcdosvxpbi"
	    "sjnjzemojnry6nsgtdftdgslbu37kxai");
	STRV(&p->langs, "en");
	jetstream_event_clear(&ev);
}

/* Corpus lines 46 and 148: tag facets that also appear in the text. */
static void
test_post_hashtags(void **state)
{
	struct jetstream_event	ev;

	(void)state;
	parse_line(CORPUS, 46, &ev);
	STRV(&ev.post->hashtags, "howtotellaitoshutup", "indierebellion");
	STRV(&ev.post->langs, "de");
	assert_int_equal(ev.post->links.n, 0);
	jetstream_event_clear(&ev);

	parse_line(CORPUS, 148, &ev);
	STRV(&ev.post->hashtags, "talesatwonderworld", "balanwonderworldoc");
	STRV(&ev.post->links, "https://www.tumblr.com/tempo-tales/76568129236"
	    "9166336/behind-them-timmi-and-wankyu-follow-silently-but?source="
	    "share");
	STRV(&ev.post->langs, "es", "en");
	jetstream_event_clear(&ev);

	/* Line 94: two languages; the link is both facet and card. */
	parse_line(CORPUS, 94, &ev);
	STRV(&ev.post->langs, "en-US", "en");
	STRV(&ev.post->links, "https://www.ufofeed.com/266486/has-anyone-prop"
	    "erly-debunked-tic-tac-video/");
	assert_string_equal(ev.post->created_at, "2026-07-04T14:38:02+00:00");
	jetstream_event_clear(&ev);

	/* Line 134: no langs at all. */
	parse_line(CORPUS, 134, &ev);
	assert_int_equal(ev.post->langs.n, 0);
	STRV(&ev.post->links, "https://denikn.cz/2113523");
	jetstream_event_clear(&ev);
}

static void
test_delete_and_identity(void **state)
{
	struct jetstream_event	ev;

	(void)state;
	parse_line(CORPUS, 145, &ev);
	assert_int_equal(ev.kind, JETSTREAM_DELETE);
	assert_string_equal(ev.id, "at://did:plc:4smmjsqf6l5jkzczvw6vsrqc/"
	    "app.bsky.feed.post/3mpt73z3ejc2p");
	assert_true(ev.time_us == 1783175888377628LL);
	assert_null(ev.post);
	jetstream_event_clear(&ev);

	/* Real identity events carry no handle. */
	parse_line(CORPUS, 151, &ev);
	assert_int_equal(ev.kind, JETSTREAM_IDENTITY);
	assert_string_equal(ev.did, "did:plc:hqvhxrowqbemo5e4wjnj6zao");
	assert_null(ev.handle);
	jetstream_event_clear(&ev);

	/* Account events, likes and deletes of other records: OTHER. */
	parse_line(CORPUS, 152, &ev);
	assert_int_equal(ev.kind, JETSTREAM_OTHER);
	assert_true(ev.time_us == 1783175888390226LL);
	jetstream_event_clear(&ev);
	parse_line(GOLDEN, 6, &ev);
	assert_int_equal(ev.kind, JETSTREAM_OTHER);
	assert_null(ev.id);
	jetstream_event_clear(&ev);
}

/* Parse a synthetic frame that must succeed. */
static void
parse_ok(const char *frame, struct jetstream_event *ev)
{
	char	*cause = NULL;

	if (jetstream_parse(frame, strlen(frame), ev, &cause) != 0)
		fail_msg("%s: %s", frame, cause);
}

/*
 * Synthetic: the recorded data has no mention facet, no record.tags and
 * no identity with a handle, so these frames are written by hand in the
 * shape of corpus line 46.
 */
static void
test_synthetic_features(void **state)
{
	struct jetstream_event	ev;

	(void)state;
	parse_ok("{\"did\":\"did:plc:aaaa\",\"time_us\":1783175888000000,"
	    "\"kind\":\"commit\",\"commit\":{\"rev\":\"r\",\"operation\":"
	    "\"create\",\"collection\":\"app.bsky.feed.post\",\"rkey\":\"3k\","
	    "\"cid\":\"bafy\",\"record\":{\"$type\":\"app.bsky.feed.post\","
	    "\"createdAt\":\"2026-07-04T14:38:07.323Z\",\"tags\":[\"Launch\","
	    "\"#ops\"],\"text\":\"@bot.example hi #Ops #launch (#Ünïcode) "
	    "#123 a#b ##x #日本語 \xef\xbc\x83全角 #\xef\xb8\x8f\xe2\x83\xa3 "
	    "#v2 #\",\"facets\":[{\"index\":{\"byteStart\":0,\"byteEnd\":12},"
	    "\"features\":[{\"$type\":\"app.bsky.richtext.facet#mention\","
	    "\"did\":\"did:plc:bot\"},{\"$type\":\"app.bsky.richtext.facet#"
	    "mention\",\"did\":\"did:plc:bot\"},{\"$type\":\"com.example.x\"}]}"
	    ",{\"index\":{\"byteStart\":0,\"byteEnd\":1},\"features\":[{\"$type"
	    "\":\"app.bsky.richtext.facet#tag\",\"tag\":\"Facet\"}]}]}}}", &ev);
	assert_int_equal(ev.kind, JETSTREAM_POST);
	STRV(&ev.post->mentions, "did:plc:bot");
	STRV(&ev.post->hashtags, "facet", "launch", "ops", "ünïcode", "x",
	    "日本語", "全角", "v2");
	assert_string_equal(ev.post->id, "at://did:plc:aaaa/app.bsky.feed.post"
	    "/3k");
	assert_string_equal(ev.post->cid, "bafy");
	assert_int_equal(ev.post->langs.n, 0);
	jetstream_event_clear(&ev);

	parse_ok("{\"did\":\"did:plc:aaaa\",\"time_us\":17,"
	    "\"kind\":\"identity\",\"identity\":{\"did\":\"did:plc:aaaa\","
	    "\"handle\":\"alice.example.com\",\"seq\":1,"
	    "\"time\":\"2026-07-04T14:38:07.877Z\"}}", &ev);
	assert_int_equal(ev.kind, JETSTREAM_IDENTITY);
	assert_string_equal(ev.did, "did:plc:aaaa");
	assert_string_equal(ev.handle, "alice.example.com");
	assert_true(ev.time_us == 17);
	jetstream_event_clear(&ev);

	/* Well-formed but irrelevant: unknown kind, unknown operation. */
	parse_ok("{\"did\":\"did:plc:aaaa\",\"time_us\":1,\"kind\":\"future\"}",
	    &ev);
	assert_int_equal(ev.kind, JETSTREAM_OTHER);
	parse_ok("{\"did\":\"did:plc:aaaa\",\"time_us\":1,\"kind\":\"commit\","
	    "\"commit\":{\"operation\":\"archive\",\"collection\":"
	    "\"app.bsky.feed.post\",\"rkey\":\"3k\"}}", &ev);
	assert_int_equal(ev.kind, JETSTREAM_OTHER);
	assert_null(ev.id);
}

/* Parse must fail, leave ev cleared, and give a cause starting with want. */
static void
parse_fails(const char *frame, size_t len, const char *want)
{
	struct jetstream_event	 ev;
	char			*cause = NULL;

	memset(&ev, 0xA5, sizeof(ev));
	if (jetstream_parse(frame, len, &ev, &cause) != -1)
		fail_msg("accepted: %.*s", (int)len, frame);
	assert_non_null(cause);
	if (strncmp(cause, want, strlen(want)) != 0)
		fail_msg("cause \"%s\", wanted \"%s...\"", cause, want);
	assert_null(ev.post);
	assert_null(ev.id);
	assert_null(ev.did);
	assert_null(ev.handle);
	free(cause);
}

/* Corpus line 46 with one JSON member set to a replacement (or removed). */
static void
mutate_fails(const char *path, const char *key, json_t *value,
    const char *want)
{
	char	*line = test_line(CORPUS, 46), *frame;
	json_t	*root = json_loads(line, 0, NULL), *obj = root;
	char	*dup = xstrdup(path), *part, *save = NULL;
	size_t	 idx;

	assert_non_null(root);
	for (part = strtok_r(dup, "/", &save); part != NULL;
	    part = strtok_r(NULL, "/", &save)) {
		if (json_is_array(obj)) {
			idx = strtoul(part, NULL, 10);
			obj = json_array_get(obj, idx);
		} else
			obj = json_object_get(obj, part);
		assert_non_null(obj);
	}
	if (value == NULL)
		assert_int_equal(json_object_del(obj, key), 0);
	else
		json_object_set_new(obj, key, value);
	frame = json_dumps(root, JSON_COMPACT);
	parse_fails(frame, strlen(frame), want);
	free(frame);
	free(dup);
	json_decref(root);
	free(line);
}

static void
test_malformed(void **state)
{
	char		*line = test_line(CORPUS, 46);
	const char	*frame;
	size_t		 len = strlen(line), cut;

	(void)state;
	parse_fails(line, len / 2, "invalid JSON at 1:");
	/* Every proper prefix of a real frame is rejected. */
	for (cut = 0; cut < len; cut++)
		parse_fails(line, cut, "invalid JSON");
	free(line);
	parse_fails("not json", 8, "invalid JSON at 1:");
	parse_fails("[]", 2, "frame is not a JSON object");
	parse_fails("\"x\"", 3, "invalid JSON");
	/* Two "did" members: which one would a consumer believe? */
	frame = "{\"did\":\"did:plc:a\",\"did\":\"did:plc:b\"}";
	parse_fails(frame, strlen(frame), "invalid JSON");

	mutate_fails("", "time_us", NULL, "missing time_us");
	mutate_fails("", "time_us", json_string("1783175888172335"),
	    "time_us is not an integer");
	mutate_fails("", "time_us", json_real(1.7e15),
	    "time_us is not an integer");
	mutate_fails("", "did", NULL, "missing did");
	mutate_fails("", "did", json_integer(1), "did is not a string");
	mutate_fails("", "did", json_string("did:plc:a/b"),
	    "did is not a DID");
	mutate_fails("", "kind", json_null(), "kind is not a string");
	mutate_fails("", "commit", json_array(), "commit is not an object");
	mutate_fails("commit", "rkey", json_string("a/b"),
	    "commit.rkey is not a record key");
	mutate_fails("commit", "rkey", json_string(".."),
	    "commit.rkey is not a record key");
	mutate_fails("commit", "operation", NULL, "missing commit.operation");
	mutate_fails("commit", "cid", json_false(),
	    "commit.cid is not a string");
	mutate_fails("commit", "record", NULL, "missing commit.record");
	mutate_fails("commit/record", "text", json_integer(42),
	    "commit.record.text is not a string");
	mutate_fails("commit/record", "text", NULL,
	    "missing commit.record.text");
	mutate_fails("commit/record", "langs", json_string("en"),
	    "commit.record.langs is not an array");
	mutate_fails("commit/record", "langs", json_pack("[si]", "en", 1),
	    "commit.record.langs[1] is not a string");
	mutate_fails("commit/record", "reply", json_pack("{s{ss}}", "root",
	    "uri", "at://x"), "missing commit.record.reply.parent");
	mutate_fails("commit/record", "reply", json_pack("{s{sssi}s{ss}}",
	    "root", "uri", "at://x", "cid", 7, "parent", "uri", "at://y"),
	    "commit.record.reply.root.cid is not a string");
	mutate_fails("commit/record", "embed", json_pack("{s{si}}",
	    "external", "uri", 7),
	    "commit.record.embed.external.uri is not a string");

	/* Facets with wrong types at every level. */
	mutate_fails("commit/record", "facets", json_object(),
	    "commit.record.facets is not an array");
	mutate_fails("commit/record", "facets", json_pack("[s]", "x"),
	    "commit.record.facets[0] is not an object");
	mutate_fails("commit/record/facets/1", "features", NULL,
	    "missing commit.record.facets[1].features");
	mutate_fails("commit/record/facets/0", "features", json_string("x"),
	    "commit.record.facets[0].features is not an array");
	mutate_fails("commit/record/facets/0", "features", json_pack("[i]", 3),
	    "commit.record.facets[0].features[0] is not an object");
	mutate_fails("commit/record/facets/0/features/0", "$type",
	    json_integer(3),
	    "commit.record.facets[0].features[0].$type is not a string");
	mutate_fails("commit/record/facets/0/features/0", "tag",
	    json_pack("[]"),
	    "commit.record.facets[0].features[0].tag is not a string");
	mutate_fails("commit/record/facets/1", "features", json_pack("[{ss}]",
	    "$type", "app.bsky.richtext.facet#mention"),
	    "missing commit.record.facets[1].features[0].did");
	mutate_fails("commit/record/facets/1", "features", json_pack(
	    "[{ss,ss}]", "$type", "app.bsky.richtext.facet#mention", "did",
	    "<script>"),
	    "commit.record.facets[1].features[0].did is not a DID");
	mutate_fails("commit/record/facets/1", "features", json_pack(
	    "[{ss,sn}]", "$type", "app.bsky.richtext.facet#link", "uri"),
	    "commit.record.facets[1].features[0].uri is not a string");
}

/*
 * Robustness: every single byte of a real post frame replaced by each
 * of a few troublesome values.  Each parse must succeed or fail cleanly
 * with a cause; ASan and LeakSanitizer watch the rest.
 */
static void
test_byte_corruption(void **state)
{
	static const char	 subst[] = { '"', '{', ']', '0', '\\', '\x80',
	    ' ', 'x' };
	char			*line = test_line(CORPUS, 148), *cause, saved;
	struct jetstream_event	 ev;
	size_t			 len = strlen(line), i, j;
	int			 rv;

	(void)state;
	for (i = 0; i < len; i++) {
		saved = line[i];
		for (j = 0; j < sizeof(subst); j++) {
			line[i] = subst[j];
			cause = NULL;
			rv = jetstream_parse(line, len, &ev, &cause);
			if (rv == 0) {
				assert_null(cause);
				assert_true(ev.kind != JETSTREAM_POST ||
				    (ev.post != NULL && ev.post->text != NULL));
			} else {
				assert_int_equal(rv, -1);
				assert_non_null(cause);
				assert_null(ev.post);
			}
			jetstream_event_clear(&ev);
			free(cause);
		}
		line[i] = saved;
	}
	free(line);
	/* A NULL cause pointer is allowed. */
	assert_int_equal(jetstream_parse("{", 1, &ev, NULL), -1);
}

/* An edit arrives as operation "update" of the same record: the same
 * post id, marked updated, so the core notes it as an edit. */
static void
test_post_update(void **state)
{
	struct jetstream_event	 create, update;
	char			*line, *edited, *at, *cause = NULL;

	(void)state;
	line = test_line(CORPUS, 2);
	at = strstr(line, "\"operation\":\"create\"");
	assert_non_null(at);
	edited = xasprintf("%.*s\"operation\":\"update\"%s",
	    (int)(at - line), line, at + strlen("\"operation\":\"create\""));
	assert_int_equal(jetstream_parse(line, strlen(line), &create, &cause),
	    0);
	assert_int_equal(jetstream_parse(edited, strlen(edited), &update,
	    &cause), 0);
	assert_int_equal(create.kind, JETSTREAM_POST);
	assert_int_equal(update.kind, JETSTREAM_POST);
	assert_false(create.updated);
	assert_true(update.updated);
	assert_string_equal(create.post->id, update.post->id);
	jetstream_event_clear(&create);
	jetstream_event_clear(&update);
	free(edited);
	free(line);
}

static void
test_web_url(void **state)
{
	static const char *const bad[] = {
		"https://bsky.app/profile/x/post/y",
		"at://did:plc:a/app.bsky.feed.like/3k",
		"at:///app.bsky.feed.post/3k",
		"at://did:plc:a/app.bsky.feed.post/",
		"at://did:plc:a/app.bsky.feed.post/3k/extra",
		"at://did:plc:a/app.bsky.feed.post/3k?x=1",
		"at://did:plc:a/app.bsky.feed.post/..",
		"at://did:plc:a b/app.bsky.feed.post/3k",
		"at://did:plc:a",
		""
	};
	char	*url;
	size_t	 i;

	(void)state;
	url = jetstream_web_url("at://did:plc:z72i7hdynmk6r22z27h6tvur/"
	    "app.bsky.feed.post/3l66vf2q4pi26");
	assert_string_equal(url, "https://bsky.app/profile/"
	    "did:plc:z72i7hdynmk6r22z27h6tvur/post/3l66vf2q4pi26");
	free(url);
	for (i = 0; i < nitems(bad); i++)
		if (jetstream_web_url(bad[i]) != NULL)
			fail_msg("accepted %s", bad[i]);
	assert_null(jetstream_web_url(NULL));
}

static void
test_subscribe_url(void **state)
{
	struct strv	 dids;
	char		*url;

	(void)state;
	strv_init(&dids);
	url = jetstream_url("wss://jetstream2.us-east.bsky.network/subscribe",
	    NULL, 0);
	assert_string_equal(url, "wss://jetstream2.us-east.bsky.network/"
	    "subscribe?wantedCollections=app.bsky.feed.post");
	free(url);
	url = jetstream_url("wss://j.example/subscribe", &dids, -5);
	assert_string_equal(url, "wss://j.example/subscribe?"
	    "wantedCollections=app.bsky.feed.post");
	free(url);

	strv_add(&dids, "did:plc:z72i7hdynmk6r22z27h6tvur");
	strv_add(&dids, "did:web:x.example%3A8080 &=?#/é");
	url = jetstream_url("wss://j.example/subscribe", &dids,
	    1725519626134432LL);
	assert_string_equal(url, "wss://j.example/subscribe?"
	    "wantedCollections=app.bsky.feed.post"
	    "&wantedDids=did:plc:z72i7hdynmk6r22z27h6tvur"
	    "&wantedDids=did:web:x.example%253A8080%20%26%3D%3F%23%2F%C3%A9"
	    "&cursor=1725519626134432");
	free(url);

	/* The base already has a query, or ends ready for one. */
	url = jetstream_url("wss://j.example/subscribe?compress=false", NULL,
	    42);
	assert_string_equal(url, "wss://j.example/subscribe?compress=false"
	    "&wantedCollections=app.bsky.feed.post&cursor=42");
	free(url);
	url = jetstream_url("wss://j.example/subscribe?", NULL, 0);
	assert_string_equal(url, "wss://j.example/subscribe?"
	    "wantedCollections=app.bsky.feed.post");
	free(url);
	strv_free(&dids);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_corpus_counts),
		cmocka_unit_test(test_post_link_card),
		cmocka_unit_test(test_post_reply_thread),
		cmocka_unit_test(test_post_hashtags),
		cmocka_unit_test(test_delete_and_identity),
		cmocka_unit_test(test_synthetic_features),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_byte_corruption),
		cmocka_unit_test(test_post_update),
		cmocka_unit_test(test_web_url),
		cmocka_unit_test(test_subscribe_url)
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
