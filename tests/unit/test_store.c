/*
 * Unit tests for the SQLite store: records, codes, outbox, transactions,
 * migrations, and what teams keep (claims, notes, baton, mutes, replies,
 * the audit log).
 */
#include <ctype.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "config.h"
#include "pipeline.h"
#include "router.h"
#include "store.h"

#define CODE_ALPHABET	"0123456789ABCDEFGHJKMNPQRSTVWXYZ"

/* Each test gets its own directory and an open store in it. */
struct fixture {
	char		 dir[64];
	char		*db;
	struct store	*s;
};

static int
fixture_rm(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
setup(void **state)
{
	struct fixture	*f = xcalloc(1, sizeof(*f));
	char		*cause = NULL;

	strcpy(f->dir, "/tmp/sb-store-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		fail_msg("mkdtemp failed");
	f->db = xasprintf("%s/switchboard.db", f->dir);
	f->s = store_open(f->dir, &cause);
	if (f->s == NULL)
		fail_msg("store_open: %s", cause);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	store_close(f->s);
	nftw(f->dir, fixture_rm, 16, FTW_DEPTH | FTW_PHYS);
	free(f->db);
	free(f);
	return 0;
}

/* A post as a source would make it; root NULL for a top-level post. */
static struct post *
mkpost(const char *id, const char *root, const char *text)
{
	struct post	*p = post_new();

	p->platform = xstrdup("bluesky");
	p->id = xasprintf("at://did:plc:alice/app.bsky.feed.post/%s", id);
	p->author = xstrdup("did:plc:alice");
	p->text = xstrdup(text);
	p->created_at = xstrdup("2024-05-01T10:00:00.000Z");
	p->time_us = 1714557600000000LL;
	strv_add(&p->langs, "en");
	strv_add(&p->hashtags, "outage");
	if (root != NULL) {
		p->reply_root = xasprintf(
		    "at://did:plc:alice/app.bsky.feed.post/%s", root);
		p->reply_parent = xstrdup(p->reply_root);
	}
	return p;
}

/* Record a fresh post and free it; returns store_record's answer. */
static int
record(struct store *s, const char *id, const char *root, const char *team,
    const char *const *dest, size_t ndest)
{
	struct post	*p = mkpost(id, root, "the app is down again");
	int		 rc;

	rc = store_record(s, p, team, "team/rule", dest, ndest);
	post_free(p);
	return rc;
}

static bool
seen(struct store *s, const char *id)
{
	char	*uri;
	int	 rc;

	uri = xasprintf("at://did:plc:alice/app.bsky.feed.post/%s", id);
	rc = store_post_seen(s, "bluesky", uri);

	free(uri);
	assert_true(rc == 0 || rc == 1);
	return rc == 1;
}

static int64_t
count(struct store *s, const char *state)
{
	int64_t	n = -1;

	assert_int_equal(store_outbox_count(s, state, &n), 0);
	return n;
}

/* The code of the head delivery for dest (caller frees). */
static char *
head_code(struct store *s, const char *dest)
{
	struct delivery	 d;
	char		*code;

	assert_int_equal(store_outbox_head(s, dest, &d), 1);
	code = xstrdup(d.code);
	delivery_free(&d);
	return code;
}

static void
assert_code_shape(const char *code)
{
	size_t	n = strlen(code);

	assert_true(n >= 4 && n <= 6);
	assert_int_equal(strspn(code, CODE_ALPHABET), n);
}

/* A second, plain connection on the same file, to look under the API. */
static sqlite3 *
raw_open(const char *path)
{
	sqlite3	*db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	return db;
}

static void
raw_exec(sqlite3 *db, const char *sql)
{
	char	*msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

/* First column of the first row as text, or NULL; caller frees. */
static char *
raw_text(sqlite3 *db, const char *sql, const char *arg)
{
	sqlite3_stmt	*st;
	char		*v = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	if (arg != NULL)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

static int64_t
raw_int(sqlite3 *db, const char *sql)
{
	char	*v = raw_text(db, sql, NULL);
	int64_t	 n;

	assert_non_null(v);
	n = strtoll(v, NULL, 10);
	free(v);
	return n;
}

/* The head for dest is post id (suffix); returns its outbox id. */
static int64_t
expect_head(struct store *s, const char *dest, const char *id,
    int attempts)
{
	struct delivery	 d;
	char		*want;
	int64_t		 oid;

	assert_int_equal(store_outbox_head(s, dest, &d), 1);
	want = xasprintf("at://did:plc:alice/app.bsky.feed.post/%s", id);
	assert_string_equal(d.post->id, want);
	assert_string_equal(d.destination, dest);
	assert_int_equal(d.attempts, attempts);
	free(want);
	oid = d.id;
	delivery_free(&d);
	return oid;
}

static void
test_record_seen(void **state)
{
	struct fixture		*f = *state;
	const char *const	 dest[] = { "support" };

	assert_false(seen(f->s, "p1"));
	assert_int_equal(record(f->s, "p1", NULL, "support", dest, 1), 1);
	assert_true(seen(f->s, "p1"));
	assert_false(seen(f->s, "p2"));
	assert_int_equal(store_post_seen(f->s, "mastodon",
	    "at://did:plc:alice/app.bsky.feed.post/p1"), 0);
}

static void
test_record_twice(void **state)
{
	struct fixture		*f = *state;
	const char *const	 one[] = { "support" };
	const char *const	 two[] = { "sales", "support" };
	struct delivery		 d;

	assert_int_equal(record(f->s, "p1", NULL, "support", one, 1), 1);
	assert_int_equal(record(f->s, "p1", NULL, "sales", two, 2), 0);
	assert_int_equal(count(f->s, NULL), 1);
	assert_int_equal(store_outbox_head(f->s, "sales", &d), 0);
	assert_int_equal(store_outbox_head(f->s, "support", &d), 1);
	assert_string_equal(d.team, "support");
	delivery_free(&d);
}

static void
test_reply_joins_conversation(void **state)
{
	struct fixture		*f = *state;
	const char *const	 dest[] = { "support" };
	const char *const	 other[] = { "sales" };
	struct delivery		 d;
	char			*team = NULL, *code;

	assert_int_equal(record(f->s, "root", NULL, "support", dest, 1), 1);
	assert_int_equal(record(f->s, "reply", "root", "sales", other, 1), 1);
	assert_int_equal(store_conversation_owner(f->s, "bluesky",
	    "at://did:plc:alice/app.bsky.feed.post/root", &team), 1);
	assert_string_equal(team, "support");
	free(team);
	/* The reply is a post of that conversation, not a new one. */
	assert_int_equal(store_conversation_owner(f->s, "bluesky",
	    "at://did:plc:alice/app.bsky.feed.post/reply", &team), 0);

	code = head_code(f->s, "support");
	assert_int_equal(store_outbox_head(f->s, "sales", &d), 1);
	assert_string_equal(d.code, code);
	assert_string_equal(d.post->reply_root,
	    "at://did:plc:alice/app.bsky.feed.post/root");
	delivery_free(&d);
	free(code);
}

static void
test_conversation_owner(void **state)
{
	struct fixture		*f = *state;
	const char *const	 dest[] = { "support" };
	char			*team = NULL;

	assert_int_equal(store_conversation_owner(f->s, "bluesky",
	    "at://did:plc:alice/app.bsky.feed.post/p1", &team), 0);
	assert_null(team);
	assert_int_equal(record(f->s, "p1", NULL, "billing", dest, 1), 1);
	assert_int_equal(store_conversation_owner(f->s, "bluesky",
	    "at://did:plc:alice/app.bsky.feed.post/p1", &team), 1);
	assert_string_equal(team, "billing");
	free(team);
	assert_int_equal(store_conversation_owner(f->s, "mastodon",
	    "at://did:plc:alice/app.bsky.feed.post/p1", &team), 0);
}

static int
code_cmp(const void *a, const void *b)
{
	return strcasecmp(*(char *const *)a, *(char *const *)b);
}

static void
test_codes_many_distinct(void **state)
{
	struct fixture		*f = *state;
	const char *const	 dest[] = { "support" };
	struct delivery		 d;
	char			 id[32], *want;
	char			**codes;
	size_t			 i, n = 5000;

	codes = xcalloc(n, sizeof(*codes));
	for (i = 0; i < n; i++) {
		if (i % 256 == 0)
			assert_int_equal(store_begin(f->s), 0);
		snprintf(id, sizeof(id), "post%zu", i);
		assert_int_equal(record(f->s, id, NULL, "support", dest, 1),
		    1);
		if (i % 256 == 255)
			assert_int_equal(store_commit(f->s), 0);
	}
	assert_int_equal(store_commit(f->s), 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(store_outbox_head(f->s, "support", &d), 1);
		want = xasprintf("at://did:plc:alice/app.bsky.feed.post/"
		    "post%zu", i);
		assert_string_equal(d.post->id, want);
		free(want);
		assert_code_shape(d.code);
		codes[i] = xstrdup(d.code);
		assert_int_equal(store_outbox_done(f->s, d.id, NULL), 0);
		delivery_free(&d);
	}
	qsort(codes, n, sizeof(*codes), code_cmp);
	for (i = 1; i < n; i++)
		assert_true(strcasecmp(codes[i - 1], codes[i]) != 0);
	for (i = 0; i < n; i++)
		free(codes[i]);
	free(codes);
}

/* The code a root gets in an empty store. */
static char *
fresh_code(const char *id)
{
	const char *const	 dest[] = { "support" };
	struct store		*m;
	char			*cause = NULL, *code;

	m = store_open(":memory:", &cause);
	assert_non_null(m);
	assert_int_equal(record(m, id, NULL, "support", dest, 1), 1);
	code = head_code(m, "support");
	store_close(m);
	return code;
}

static void
test_code_deterministic(void **state)
{
	char	*a = fresh_code("p1"), *b = fresh_code("p1");
	char	*c = fresh_code("p2");

	(void)state;
	assert_code_shape(a);
	assert_int_equal(strlen(a), 4);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	free(a);
	free(b);
	free(c);
}

static void
test_code_redraw_on_collision(void **state)
{
	struct fixture		*f = *state;
	const char *const	 dest[] = { "support" };
	char			*taken = fresh_code("p1");
	char			*resolved = fresh_code("p2");
	char			*sql, *code;
	sqlite3			*raw = raw_open(f->db);

	/* Another open conversation holds p1's first code (other case). */
	sql = sqlite3_mprintf("INSERT INTO conversations (platform, root,"
	    " team, code, status, created_ms, updated_ms) VALUES"
	    " ('bluesky', 'x', 'sales', lower(%Q), 'open', 0, 0),"
	    " ('bluesky', 'y', 'sales', %Q, 'resolved', 0, 0)",
	    taken, resolved);
	raw_exec(raw, sql);
	sqlite3_free(sql);
	sqlite3_close(raw);

	assert_int_equal(record(f->s, "p1", NULL, "support", dest, 1), 1);
	code = head_code(f->s, "support");
	assert_code_shape(code);
	assert_true(strcasecmp(code, taken) != 0);
	free(code);

	/* A resolved conversation's code is free again. */
	assert_int_equal(store_outbox_done(f->s, expect_head(f->s, "support",
	    "p1", 0), NULL), 0);
	assert_int_equal(record(f->s, "p2", NULL, "support", dest, 1), 1);
	code = head_code(f->s, "support");
	assert_string_equal(code, resolved);
	free(code);
	free(taken);
	free(resolved);
}

static void
test_code_lookup_nocase(void **state)
{
	struct fixture		*f = *state;
	const char *const	 dest[] = { "support" };
	char			*code, *lower, *root, *sql;
	sqlite3			*raw;
	size_t			 i;

	assert_int_equal(record(f->s, "p1", NULL, "support", dest, 1), 1);
	code = head_code(f->s, "support");
	lower = xstrdup(code);
	for (i = 0; lower[i] != '\0'; i++)
		lower[i] = (char)tolower((unsigned char)lower[i]);

	raw = raw_open(f->db);
	root = raw_text(raw, "SELECT root FROM conversations"
	    " WHERE code = ?1 AND status = 'open'", lower);
	assert_non_null(root);
	assert_string_equal(root, "at://did:plc:alice/app.bsky.feed.post/p1");
	free(root);
	/* And the unique index refuses the same code in another case. */
	sql = sqlite3_mprintf("INSERT INTO conversations (platform, root,"
	    " team, code, status, created_ms, updated_ms) VALUES"
	    " ('bluesky', 'x', 'sales', %Q, 'open', 0, 0)", lower);
	assert_int_equal(sqlite3_exec(raw, sql, NULL, NULL, NULL),
	    SQLITE_CONSTRAINT);
	sqlite3_free(sql);
	sqlite3_close(raw);
	free(lower);
	free(code);
}

static void
test_cursor(void **state)
{
	struct fixture	*f = *state;
	char		*v;

	assert_null(store_cursor_get(f->s, "jetstream"));
	assert_int_equal(store_cursor_set(f->s, "jetstream", "1700000000"), 0);
	assert_int_equal(store_cursor_set(f->s, "replay", "42"), 0);
	v = store_cursor_get(f->s, "jetstream");
	assert_string_equal(v, "1700000000");
	free(v);
	assert_int_equal(store_cursor_set(f->s, "jetstream", "1700000099"), 0);
	v = store_cursor_get(f->s, "jetstream");
	assert_string_equal(v, "1700000099");
	free(v);
	v = store_cursor_get(f->s, "replay");
	assert_string_equal(v, "42");
	free(v);
}

static void
test_handles(void **state)
{
	struct fixture	*f = *state;
	char		*v;

	assert_null(store_handle_get(f->s, "did:plc:alice"));
	assert_int_equal(store_handle_set(f->s, "did:plc:alice",
	    "alice.bsky.social"), 0);
	assert_int_equal(store_handle_set(f->s, "did:plc:bob",
	    "bob.example.com"), 0);
	v = store_handle_get(f->s, "did:plc:alice");
	assert_string_equal(v, "alice.bsky.social");
	free(v);
	assert_int_equal(store_handle_set(f->s, "did:plc:alice",
	    "alice.example.org"), 0);
	v = store_handle_get(f->s, "did:plc:alice");
	assert_string_equal(v, "alice.example.org");
	free(v);
	v = store_handle_get(f->s, "did:plc:bob");
	assert_string_equal(v, "bob.example.com");
	free(v);
}

/* Every string field survives the store's own JSON writer byte for byte. */
static void
test_post_roundtrip(void **state)
{
	struct fixture		*f = *state;
	const char *const	 dest[] = { "support" };
	const char		*nasty = "quote \" backslash \\ slash / "
	    "nl \n tab \t cr \r ctl \x01\x1f del \x7f "
	    "caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x94\xa5 \\u0041 end\\";
	struct post		*p = mkpost("p1", NULL, nasty), *q;
	struct delivery		 d;
	json_t			*a, *b;

	p->author_handle = xstrdup("alice.bsky.social");
	p->cid = xstrdup("bafyreib2rxk3rybk");
	p->url = xstrdup("https://bsky.app/profile/alice/post/p1?x=\"y\"");
	p->time_us = -1;
	strv_add(&p->mentions, "did:plc:bob");
	strv_add(&p->links, "https://example.com/\"q\"");
	strv_add(&p->langs, "pt-BR");
	assert_int_equal(store_record(f->s, p, "support", "r", dest, 1), 1);
	assert_int_equal(store_outbox_head(f->s, "support", &d), 1);
	q = d.post;
	assert_string_equal(q->text, nasty);
	assert_string_equal(q->url, p->url);
	assert_string_equal(q->author_handle, "alice.bsky.social");
	assert_int_equal(q->time_us, -1);
	a = post_to_json(p);
	b = post_to_json(q);
	assert_true(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	delivery_free(&d);
	post_free(p);
}

static void
test_outbox_order(void **state)
{
	struct fixture		*f = *state;
	const char *const	 ab[] = { "A", "B" };
	const char *const	 a[] = { "A" };
	const char *const	 ba[] = { "B", "A" };
	struct strv		 dests;
	struct delivery		 d;

	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(record(f->s, "a1", NULL, "support", ab, 2), 1);
	assert_int_equal(record(f->s, "a2", NULL, "support", a, 1), 1);
	assert_int_equal(record(f->s, "a3", NULL, "support", ba, 2), 1);
	assert_int_equal(store_commit(f->s), 0);
	assert_int_equal(count(f->s, "pending"), 5);

	assert_int_equal(store_outbox_destinations(f->s, &dests), 0);
	assert_int_equal(dests.n, 2);
	assert_string_equal(dests.v[0], "A");
	assert_string_equal(dests.v[1], "B");
	strv_free(&dests);

	expect_head(f->s, "B", "a1", 0);
	expect_head(f->s, "A", "a1", 0);
	assert_int_equal(store_outbox_head(f->s, "C", &d), 0);

	/* Draining A leaves B alone and drops A from the list. */
	assert_int_equal(store_outbox_done(f->s, expect_head(f->s, "A", "a1",
	    0), NULL), 0);
	assert_int_equal(store_outbox_done(f->s, expect_head(f->s, "A", "a2",
	    0), NULL), 0);
	assert_int_equal(store_outbox_done(f->s, expect_head(f->s, "A", "a3",
	    0), NULL), 0);
	assert_int_equal(store_outbox_head(f->s, "A", &d), 0);
	expect_head(f->s, "B", "a1", 0);
	assert_int_equal(store_outbox_destinations(f->s, &dests), 0);
	assert_int_equal(dests.n, 1);
	assert_string_equal(dests.v[0], "B");
	strv_free(&dests);
}

static void
test_outbox_retry_done_fail(void **state)
{
	struct fixture		*f = *state;
	const char *const	 a[] = { "A" };
	struct delivery		 d;
	int64_t			 id, far = now_wall_ms() + 3600 * 1000;
	char			*err;
	sqlite3			*raw;

	assert_int_equal(record(f->s, "p1", NULL, "support", a, 1), 1);
	assert_int_equal(record(f->s, "p2", NULL, "support", a, 1), 1);
	assert_int_equal(record(f->s, "p3", NULL, "support", a, 1), 1);

	assert_int_equal(store_outbox_head(f->s, "A", &d), 1);
	assert_string_equal(d.team, "support");
	assert_string_equal(d.rule, "team/rule");
	assert_code_shape(d.code);
	assert_string_equal(d.post->text, "the app is down again");
	assert_string_equal(d.post->author, "did:plc:alice");
	assert_true(strv_contains(&d.post->hashtags, "outage"));
	assert_true(d.next_try_ms <= now_wall_ms());
	id = d.id;
	delivery_free(&d);

	/* Not due yet, but still the head: order is kept per destination. */
	assert_int_equal(store_outbox_retry(f->s, id, far, "HTTP 503"), 0);
	assert_int_equal(store_outbox_retry(f->s, id, far + 1, "HTTP 429"), 0);
	assert_int_equal(store_outbox_head(f->s, "A", &d), 1);
	assert_int_equal(d.id, id);
	assert_int_equal(d.attempts, 2);
	assert_int_equal(d.next_try_ms, far + 1);
	delivery_free(&d);

	assert_int_equal(store_outbox_done(f->s, id, NULL), 0);
	id = expect_head(f->s, "A", "p2", 0);
	assert_int_equal(store_outbox_fail(f->s, id, "HTTP 404"), 0);
	expect_head(f->s, "A", "p3", 0);
	assert_int_equal(count(f->s, "pending"), 1);
	assert_int_equal(count(f->s, "done"), 1);
	assert_int_equal(count(f->s, "failed"), 1);
	assert_int_equal(count(f->s, NULL), 3);

	raw = raw_open(f->db);
	err = raw_text(raw, "SELECT last_error FROM outbox WHERE state = ?1",
	    "failed");
	assert_string_equal(err, "HTTP 404");
	free(err);
	sqlite3_close(raw);
}

/* A row whose stored post cannot be read is failed, not a blocked queue. */
static void
test_outbox_skips_unreadable(void **state)
{
	struct fixture		*f = *state;
	const char *const	 a[] = { "A" };
	char			*err;
	sqlite3			*raw;

	assert_int_equal(record(f->s, "p1", NULL, "support", a, 1), 1);
	assert_int_equal(record(f->s, "p2", NULL, "support", a, 1), 1);
	assert_int_equal(record(f->s, "p3", NULL, "support", a, 1), 1);
	raw = raw_open(f->db);
	raw_exec(raw, "UPDATE posts SET json = '{\"text\": 1'"
	    " WHERE id LIKE '%/p1';"
	    "UPDATE posts SET json = '[]' WHERE id LIKE '%/p2'");
	sqlite3_close(raw);

	expect_head(f->s, "A", "p3", 0);
	assert_int_equal(count(f->s, "failed"), 2);
	assert_int_equal(count(f->s, "pending"), 1);
	raw = raw_open(f->db);
	err = raw_text(raw, "SELECT last_error FROM outbox WHERE post_id"
	    " LIKE ?1", "%/p1");
	assert_non_null(err);
	assert_non_null(strstr(err, "unreadable"));
	free(err);
	sqlite3_close(raw);
}

static void
test_outbox_unknown_id(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(store_outbox_done(f->s, 999, NULL), -1);
	assert_int_equal(store_outbox_retry(f->s, 999, 0, "x"), -1);
	assert_int_equal(store_outbox_fail(f->s, 999, "x"), -1);
}

/* The head delivery for dest; its thread and message must be as given
 * (NULL: none).  Returns its outbox id. */
static int64_t
expect_thread(struct store *s, const char *dest, enum delivery_kind kind,
    const char *id, const char *thread, const char *message)
{
	struct delivery	 d;
	char		*want;
	int64_t		 oid;

	assert_int_equal(store_outbox_head(s, dest, &d), 1);
	assert_int_equal(d.kind, kind);
	want = xasprintf("at://did:plc:alice/app.bsky.feed.post/%s", id);
	assert_string_equal(d.post->id, want);
	free(want);
	if (thread == NULL)
		assert_null(d.thread);
	else {
		assert_non_null(d.thread);
		assert_string_equal(d.thread, thread);
	}
	if (message == NULL)
		assert_null(d.message);
	else {
		assert_non_null(d.message);
		assert_string_equal(d.message, message);
	}
	oid = d.id;
	delivery_free(&d);
	return oid;
}

static int64_t
chat_messages(struct fixture *f)
{
	sqlite3	*raw = raw_open(f->db);
	int64_t	 n = raw_int(raw, "SELECT count(*) FROM chat_messages");

	sqlite3_close(raw);
	return n;
}

/*
 * One conversation, one thread per destination: the first message sent
 * for a conversation roots it, later posts carry it, an edit knows the
 * message that showed its post (a note's message never counts as one).
 */
static void
test_outbox_threads(void **state)
{
	struct fixture		*f = *state;
	const char *const	 ab[] = { "support", "B" };
	struct conversation	 c;
	struct delivery		 d;
	struct post		*p;
	char			*code;
	int64_t			 id;

	assert_int_equal(record(f->s, "r1", NULL, "support", ab, 2), 1);
	assert_int_equal(record(f->s, "r2", "r1", "support", ab, 1), 1);
	assert_int_equal(record(f->s, "o1", NULL, "support", ab, 1), 1);
	assert_int_equal(record(f->s, "r3", "r1", "support", ab, 1), 1);

	id = expect_thread(f->s, "support", DELIVERY_POST, "r1", NULL, NULL);
	assert_int_equal(store_outbox_done(f->s, id, "1000.001"), 0);
	id = expect_thread(f->s, "support", DELIVERY_POST, "r2", "1000.001", NULL);
	assert_int_equal(store_outbox_done(f->s, id, "1000.002"), 0);
	/* Another conversation starts its own thread. */
	id = expect_thread(f->s, "support", DELIVERY_POST, "o1", NULL, NULL);
	assert_int_equal(store_outbox_done(f->s, id, "2000.001"), 0);
	/* B has no message of this conversation yet. */
	expect_thread(f->s, "B", DELIVERY_POST, "r1", NULL, NULL);
	assert_int_equal(chat_messages(f), 3);

	/* An answer after a rollback is not kept: the delivery is pending
	 * again and no thread was started by it. */
	id = expect_thread(f->s, "support", DELIVERY_POST, "r3", "1000.001", NULL);
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_outbox_done(f->s, id, "1000.003"), 0);
	store_rollback(f->s);
	assert_int_equal(chat_messages(f), 3);
	id = expect_thread(f->s, "support", DELIVERY_POST, "r3", "1000.001", NULL);
	assert_int_equal(store_outbox_done(f->s, id, "1000.003"), 0);
	assert_int_equal(chat_messages(f), 4);

	/* A note lands in the thread; its message shows no post. */
	code = head_code(f->s, "B");
	assert_int_equal(store_conversation_by_code(f->s, code, &c), 1);
	free(code);
	assert_int_equal(store_note_queue(f->s, c.id, "support", "assigned"), 0);
	conversation_free(&c);
	id = expect_thread(f->s, "support", DELIVERY_NOTE, "r3", "1000.001",
	    "1000.003");
	assert_int_equal(store_outbox_done(f->s, id, "1000.009"), 0);

	/* Edits: the message that showed the post, never the note's. */
	p = mkpost("r3", "r1", "edited words");
	assert_int_equal(store_record_change(f->s, p->platform, p->id,
	    DELIVERY_EDIT, p), 1);
	post_free(p);
	id = expect_thread(f->s, "support", DELIVERY_EDIT, "r3", "1000.001",
	    "1000.003");
	assert_int_equal(store_outbox_done(f->s, id, "1000.003"), 0);
	p = mkpost("r1", NULL, "edited root");
	assert_int_equal(store_record_change(f->s, p->platform, p->id,
	    DELIVERY_EDIT, p), 1);
	post_free(p);
	/* No message id (a webhook): nothing recorded, still done. */
	id = expect_thread(f->s, "support", DELIVERY_EDIT, "r1", "1000.001",
	    "1000.001");
	assert_int_equal(store_outbox_done(f->s, id, NULL), 0);
	assert_int_equal(chat_messages(f), 6);
	assert_int_equal(store_outbox_head(f->s, "support", &d), 0);

	/* An unknown id records nothing. */
	assert_int_equal(store_outbox_done(f->s, 999, "3000.1"), -1);
	assert_int_equal(chat_messages(f), 6);
	assert_false(store_in_transaction(f->s));
}

/* A digest takes the due posts at the head, in order, and stops at
 * the first other kind or the first not due. */
static void
test_outbox_batch(void **state)
{
	struct fixture		*f = *state;
	const char *const	 a[] = { "support" };
	struct delivery		*v;
	struct post		*p;
	size_t			 n;
	int64_t			 depth, oldest, now = now_wall_ms(), id;

	assert_int_equal(store_outbox_batch(f->s, "support", 10, now, &v, &n), 0);
	assert_null(v);
	assert_int_equal(n, 0);
	assert_int_equal(store_outbox_depth(f->s, "support", &depth, &oldest), 0);
	assert_int_equal(depth, 0);
	assert_int_equal(oldest, 0);

	assert_int_equal(record(f->s, "p1", NULL, "support", a, 1), 1);
	assert_int_equal(record(f->s, "p2", "p1", "support", a, 1), 1);
	assert_int_equal(record(f->s, "p3", NULL, "support", a, 1), 1);
	p = mkpost("p1", NULL, "changed");
	assert_int_equal(store_record_change(f->s, p->platform, p->id,
	    DELIVERY_EDIT, p), 1);
	post_free(p);
	assert_int_equal(record(f->s, "p4", NULL, "support", a, 1), 1);
	now = now_wall_ms();

	assert_int_equal(store_outbox_depth(f->s, "support", &depth, &oldest), 0);
	assert_int_equal(depth, 5);
	assert_true(oldest > 0 && oldest <= now);
	assert_int_equal(store_outbox_depth(f->s, "Z", &depth, &oldest), 0);
	assert_int_equal(depth, 0);

	assert_int_equal(store_outbox_batch(f->s, "support", 10, now, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_true(strstr(v[0].post->id, "/p1") != NULL);
	assert_true(strstr(v[1].post->id, "/p2") != NULL);
	assert_true(strstr(v[2].post->id, "/p3") != NULL);
	assert_true(v[0].id < v[1].id && v[1].id < v[2].id);
	assert_int_equal(v[1].kind, DELIVERY_POST);
	assert_string_equal(v[1].destination, "support");
	assert_string_equal(v[1].team, "support");
	assert_string_equal(v[0].code, v[1].code);
	assert_code_shape(v[2].code);
	assert_null(v[1].thread);
	deliveries_free(v, n);

	assert_int_equal(store_outbox_batch(f->s, "support", 2, now, &v, &n), 0);
	assert_int_equal(n, 2);
	deliveries_free(v, n);

	/* p2 not due: the batch ends before it, so p3 cannot pass it. */
	id = expect_head(f->s, "support", "p1", 0);
	assert_int_equal(store_outbox_done(f->s, id, "5.1"), 0);
	assert_int_equal(store_outbox_retry(f->s, id + 1, now + 60000, "x"),
	    0);
	assert_int_equal(store_outbox_batch(f->s, "support", 10, now, &v, &n), 0);
	assert_int_equal(n, 0);
	assert_null(v);
	assert_int_equal(store_outbox_batch(f->s, "support", 10, now + 60000, &v,
	    &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].thread, "5.1");
	assert_null(v[1].thread);
	deliveries_free(v, n);
	assert_int_equal(store_outbox_batch(f->s, "support", 0, now, &v, &n), 0);
	assert_int_equal(n, 0);
	deliveries_free(NULL, 0);
}

static void
test_rollback(void **state)
{
	struct fixture		*f = *state;
	const char *const	 dest[] = { "support" };
	char			*team = NULL;
	struct delivery		 d;

	assert_false(store_in_transaction(f->s));
	assert_int_equal(store_begin(f->s), 0);
	assert_true(store_in_transaction(f->s));
	assert_int_equal(record(f->s, "p1", NULL, "support", dest, 1), 1);
	assert_int_equal(store_cursor_set(f->s, "jetstream", "123"), 0);
	assert_true(seen(f->s, "p1"));
	store_rollback(f->s);
	assert_false(store_in_transaction(f->s));

	assert_false(seen(f->s, "p1"));
	assert_null(store_cursor_get(f->s, "jetstream"));
	assert_int_equal(count(f->s, NULL), 0);
	assert_int_equal(store_outbox_head(f->s, "support", &d), 0);
	assert_int_equal(store_conversation_owner(f->s, "bluesky",
	    "at://did:plc:alice/app.bsky.feed.post/p1", &team), 0);
	/* The same post can be recorded again afterwards. */
	assert_int_equal(record(f->s, "p1", NULL, "support", dest, 1), 1);
}

static void
test_transaction_nesting(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(store_commit(f->s), 0);
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_begin(f->s), 0);
	assert_true(store_in_transaction(f->s));
	assert_int_equal(store_cursor_set(f->s, "s", "1"), 0);
	assert_int_equal(store_commit(f->s), 0);
	assert_false(store_in_transaction(f->s));
	assert_int_equal(store_commit(f->s), 0);
	store_rollback(f->s);
	assert_false(store_in_transaction(f->s));
}

/*
 * A record that fails halfway (a trigger refuses its second delivery)
 * is undone alone; the burst around it still commits.
 */
static void
test_record_atomic_in_burst(void **state)
{
	struct fixture		*f = *state;
	const char *const	 ok[] = { "support" };
	const char *const	 bad[] = { "support", "boom" };
	char			*team = NULL;
	sqlite3			*raw = raw_open(f->db);

	raw_exec(raw, "CREATE TRIGGER boom BEFORE INSERT ON outbox"
	    " WHEN NEW.destination = 'boom'"
	    " BEGIN SELECT RAISE(ABORT, 'boom refused'); END");
	sqlite3_close(raw);

	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(record(f->s, "p1", NULL, "support", ok, 1), 1);
	assert_int_equal(record(f->s, "p2", NULL, "support", bad, 2), -1);
	assert_true(store_in_transaction(f->s));
	assert_false(seen(f->s, "p2"));
	assert_int_equal(store_commit(f->s), 0);

	assert_true(seen(f->s, "p1"));
	assert_false(seen(f->s, "p2"));
	assert_int_equal(store_conversation_owner(f->s, "bluesky",
	    "at://did:plc:alice/app.bsky.feed.post/p2", &team), 0);
	assert_int_equal(count(f->s, NULL), 1);

	/* A failed reply leaves the conversation it joined as it was. */
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(record(f->s, "r1", "p1", "support", bad, 2), -1);
	assert_int_equal(store_commit(f->s), 0);
	assert_false(seen(f->s, "r1"));
	assert_int_equal(store_conversation_owner(f->s, "bluesky",
	    "at://did:plc:alice/app.bsky.feed.post/p1", &team), 1);
	assert_string_equal(team, "support");
	free(team);
	assert_int_equal(count(f->s, NULL), 1);

	/* Without a transaction the failed record leaves nothing either. */
	assert_int_equal(record(f->s, "p3", NULL, "support", bad, 2), -1);
	assert_false(store_in_transaction(f->s));
	assert_false(seen(f->s, "p3"));
	assert_int_equal(count(f->s, NULL), 1);
	/* And the store still works afterwards. */
	assert_int_equal(record(f->s, "p3", NULL, "support", ok, 1), 1);
	assert_int_equal(count(f->s, NULL), 2);
}

static void
test_record_bad_input(void **state)
{
	struct fixture		*f = *state;
	const char *const	 dest[] = { "support", NULL };
	struct post		*p = mkpost("p1", NULL, "x");

	assert_int_equal(store_record(f->s, p, NULL, "r", dest, 1), -1);
	assert_int_equal(store_record(f->s, p, "support", "r", dest, 2), -1);
	assert_int_equal(store_record(f->s, p, "support", "r", NULL, 1), -1);
	free(p->id);
	p->id = NULL;
	assert_int_equal(store_record(f->s, p, "support", "r", dest, 1), -1);
	post_free(p);
	assert_int_equal(count(f->s, NULL), 0);
	assert_false(seen(f->s, "p1"));
	assert_false(store_in_transaction(f->s));
}

/* Without store_begin a record is its own transaction, and durable. */
static void
test_record_autocommit(void **state)
{
	struct fixture		*f = *state;
	const char *const	 dest[] = { "support" };
	sqlite3			*raw;

	assert_int_equal(record(f->s, "p1", NULL, "support", dest, 1), 1);
	assert_false(store_in_transaction(f->s));
	raw = raw_open(f->db);
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM posts"), 1);
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM outbox"), 1);
	sqlite3_close(raw);
}

static void
test_durability(void **state)
{
	struct fixture		*f = *state;
	const char *const	 dest[] = { "support" };
	char			*cause = NULL, *v, *team = NULL;
	int64_t			 id;
	int			 version = store_schema_version(f->s);

	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(record(f->s, "p1", NULL, "support", dest, 1), 1);
	assert_int_equal(store_cursor_set(f->s, "jetstream", "77"), 0);
	assert_int_equal(store_commit(f->s), 0);
	id = expect_head(f->s, "support", "p1", 0);
	store_close(f->s);

	f->s = store_open(f->dir, &cause);
	assert_non_null(f->s);
	assert_int_equal(store_schema_version(f->s), version);
	assert_true(seen(f->s, "p1"));
	v = store_cursor_get(f->s, "jetstream");
	assert_string_equal(v, "77");
	free(v);
	assert_int_equal(expect_head(f->s, "support", "p1", 0), id);
	assert_int_equal(count(f->s, "pending"), 1);
	assert_int_equal(store_conversation_owner(f->s, "bluesky",
	    "at://did:plc:alice/app.bsky.feed.post/p1", &team), 1);
	assert_string_equal(team, "support");
	free(team);
}

static void
test_wal_and_dir_mode(void **state)
{
	struct fixture	*f = *state;
	struct stat	 sb;
	struct store	*s;
	char		*sub = xasprintf("%s/state", f->dir), *cause = NULL;
	char		*mode;
	sqlite3		*raw;

	assert_int_equal(stat(sub, &sb), -1);
	s = store_open(sub, &cause);
	assert_non_null(s);
	assert_int_equal(stat(sub, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	store_close(s);

	raw = raw_open(f->db);
	mode = raw_text(raw, "PRAGMA journal_mode", NULL);
	assert_string_equal(mode, "wal");
	free(mode);
	sqlite3_close(raw);
	free(sub);
}

static void
test_newer_version_refused(void **state)
{
	struct fixture	*f = *state;
	char		*sub = xasprintf("%s/new", f->dir), *cause = NULL;
	char		*path = xasprintf("%s/switchboard.db", sub), *mode;
	sqlite3		*raw;

	assert_int_equal(mkdir(sub, 0700), 0);
	raw = raw_open(path);
	raw_exec(raw, "CREATE TABLE future (x); PRAGMA user_version = 99");
	sqlite3_close(raw);

	assert_null(store_open(sub, &cause));
	assert_non_null(cause);
	assert_non_null(strstr(cause, "newer"));
	assert_non_null(strstr(cause, "99"));
	free(cause);

	/* Left exactly as found. */
	raw = raw_open(path);
	assert_int_equal(raw_int(raw, "PRAGMA user_version"), 99);
	mode = raw_text(raw, "PRAGMA journal_mode", NULL);
	assert_string_equal(mode, "delete");
	free(mode);
	sqlite3_close(raw);
	free(path);
	free(sub);
}

static void
test_migrate_from_empty_file(void **state)
{
	struct fixture		*f = *state;
	const char *const	 dest[] = { "support" };
	const char *const	 names[] = { "posts", "conversations",
	    "outbox", "cursors", "handles", "conversations_open_code",
	    "outbox_destination", "notes", "batons", "mutes", "replies",
	    "replies_account", "audit", "chat_messages",
	    "chat_messages_thread", "chat_messages_post" };
	char			*sub = xasprintf("%s/old", f->dir);
	char			*path = xasprintf("%s/switchboard.db", sub);
	char			*cause = NULL, *v;
	struct store		*s;
	sqlite3			*raw;
	FILE			*fp;
	size_t			 i;

	assert_int_equal(mkdir(sub, 0700), 0);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fclose(fp);

	s = store_open(sub, &cause);
	assert_non_null(s);
	assert_true(store_schema_version(s) >= 1);
	assert_int_equal(store_schema_version(s),
	    store_schema_version(f->s));
	assert_int_equal(record(s, "p1", NULL, "support", dest, 1), 1);
	store_close(s);

	raw = raw_open(path);
	for (i = 0; i < nitems(names); i++) {
		v = raw_text(raw, "SELECT name FROM sqlite_master"
		    " WHERE name = ?1", names[i]);
		assert_non_null(v);
		free(v);
	}
	sqlite3_close(raw);
	free(path);
	free(sub);
}

static void
test_not_a_database(void **state)
{
	struct fixture	*f = *state;
	char		*sub = xasprintf("%s/junk", f->dir), *cause = NULL;
	char		*path = xasprintf("%s/switchboard.db", sub);
	FILE		*fp;
	int		 i;

	assert_int_equal(mkdir(sub, 0700), 0);
	fp = fopen(path, "w");
	assert_non_null(fp);
	for (i = 0; i < 256; i++)
		fputs("this is not a database file\n", fp);
	fclose(fp);
	assert_null(store_open(sub, &cause));
	assert_non_null(cause);
	assert_non_null(strstr(cause, "not a database"));
	free(cause);

	/* A path under a regular file cannot be a state directory. */
	free(sub);
	sub = xasprintf("%s/sub", path);
	assert_null(store_open(sub, &cause));
	assert_non_null(cause);
	free(cause);
	free(path);
	free(sub);
}

static void
test_memory_store(void **state)
{
	const char *const	 dest[] = { "support" };
	struct store		*s;
	char			*cause = NULL;

	(void)state;
	s = store_open(":memory:", &cause);
	assert_non_null(s);
	assert_true(store_schema_version(s) >= 1);
	assert_int_equal(record(s, "p1", NULL, "support", dest, 1), 1);
	assert_true(seen(s, "p1"));
	store_close(s);
	store_close(NULL);
}

static void
test_post_deleted(void **state)
{
	struct fixture		*f = *state;
	const char *const	 dest[] = { "support" };
	sqlite3			*raw;

	assert_int_equal(record(f->s, "p1", NULL, "support", dest, 1), 1);
	assert_int_equal(record(f->s, "p2", NULL, "support", dest, 1), 1);
	assert_int_equal(store_post_deleted(f->s, "bluesky",
	    "at://did:plc:alice/app.bsky.feed.post/p1"), 0);
	assert_int_equal(store_post_deleted(f->s, "bluesky", "unknown"), 0);
	raw = raw_open(f->db);
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM posts"
	    " WHERE deleted"), 1);
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM posts"
	    " WHERE deleted AND id LIKE '%/p1'"), 1);
	sqlite3_close(raw);
	assert_true(seen(f->s, "p1"));
}

/* An edit replaces the stored text and queues a note; so does a delete. */
static void
test_record_change(void **state)
{
	struct fixture		*f = *state;
	const char *const	 dest[] = { "care" };
	struct delivery		 d;
	struct post		*p = mkpost("c1", NULL, "first words");
	char			*code;

	assert_int_equal(store_record(f->s, p, "care", "care/r", dest, 1), 1);
	assert_int_equal(store_outbox_head(f->s, "care", &d), 1);
	assert_int_equal(d.kind, DELIVERY_POST);
	code = xstrdup(d.code);
	assert_int_equal(store_outbox_done(f->s, d.id, NULL), 0);
	delivery_free(&d);

	free(p->text);
	p->text = xstrdup("second thoughts");
	assert_int_equal(store_record_change(f->s, p->platform, p->id,
	    DELIVERY_EDIT, p), 1);
	assert_int_equal(store_outbox_head(f->s, "care", &d), 1);
	assert_int_equal(d.kind, DELIVERY_EDIT);
	assert_string_equal(d.post->text, "second thoughts");
	assert_string_equal(d.code, code);
	assert_string_equal(d.rule, "care/r");
	assert_int_equal(store_outbox_done(f->s, d.id, NULL), 0);
	delivery_free(&d);

	/* The same edit again (a rewind, a second stream): no new note. */
	assert_int_equal(store_record_change(f->s, p->platform, p->id,
	    DELIVERY_EDIT, p), 0);
	assert_int_equal(store_outbox_head(f->s, "care", &d), 0);

	assert_int_equal(store_record_change(f->s, p->platform, p->id,
	    DELIVERY_DELETE, NULL), 1);
	assert_int_equal(store_outbox_head(f->s, "care", &d), 1);
	assert_int_equal(d.kind, DELIVERY_DELETE);
	assert_string_equal(d.post->text, "second thoughts");
	assert_int_equal(store_outbox_done(f->s, d.id, NULL), 0);
	delivery_free(&d);
	/* Deleted twice: noted once. */
	assert_int_equal(store_record_change(f->s, p->platform, p->id,
	    DELIVERY_DELETE, NULL), 0);
	assert_int_equal(store_outbox_head(f->s, "care", &d), 0);

	/* A post never recorded: nothing to note. */
	assert_int_equal(store_record_change(f->s, "bluesky", "at://nope",
	    DELIVERY_DELETE, NULL), 0);
	post_free(p);
	free(code);
}

/* A reply that names only its parent finds the parent's thread root. */
static void
test_post_root(void **state)
{
	struct fixture		*f = *state;
	const char *const	 dest[] = { "care" };
	char			*root = NULL;

	assert_int_equal(record(f->s, "r0", NULL, "care", dest, 1), 1);
	assert_int_equal(record(f->s, "r1", "r0", "care", dest, 1), 1);
	assert_int_equal(store_post_root(f->s, "bluesky",
	    "at://did:plc:alice/app.bsky.feed.post/r1", &root), 1);
	assert_string_equal(root, "at://did:plc:alice/app.bsky.feed.post/r0");
	free(root);
	assert_int_equal(store_post_root(f->s, "bluesky", "at://unknown",
	    &root), 0);
	assert_null(root);
}

/*
 * The released schemas, copied from store.c's first migrations (which
 * are never edited), to build old files the way old daemons left them.
 */
static const char schema_v1[] =
	"CREATE TABLE conversations ("
	"  id INTEGER PRIMARY KEY,"
	"  platform TEXT NOT NULL,"
	"  root TEXT NOT NULL,"
	"  team TEXT NOT NULL,"
	"  code TEXT NOT NULL COLLATE NOCASE,"
	"  status TEXT NOT NULL DEFAULT 'open'"
	"    CHECK (status = 'open' OR status = 'resolved'),"
	"  created_ms INTEGER NOT NULL,"
	"  updated_ms INTEGER NOT NULL,"
	"  UNIQUE (platform, root));"
	"CREATE UNIQUE INDEX conversations_open_code"
	"  ON conversations (code COLLATE NOCASE) WHERE status = 'open';"
	"CREATE TABLE posts ("
	"  platform TEXT NOT NULL,"
	"  id TEXT NOT NULL,"
	"  conversation INTEGER NOT NULL REFERENCES conversations (id),"
	"  author TEXT NOT NULL,"
	"  team TEXT NOT NULL,"
	"  rule TEXT,"
	"  json TEXT NOT NULL,"
	"  seen_ms INTEGER NOT NULL,"
	"  deleted INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (platform, id));"
	"CREATE INDEX posts_conversation ON posts (conversation);"
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  destination TEXT NOT NULL,"
	"  conversation INTEGER NOT NULL REFERENCES conversations (id),"
	"  post_platform TEXT NOT NULL,"
	"  post_id TEXT NOT NULL,"
	"  team TEXT NOT NULL,"
	"  rule TEXT,"
	"  state TEXT NOT NULL DEFAULT 'pending'"
	"    CHECK (state = 'pending' OR state = 'done' OR state = 'failed'),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_try_ms INTEGER NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  last_error TEXT,"
	"  FOREIGN KEY (post_platform, post_id)"
	"    REFERENCES posts (platform, id));"
	"CREATE INDEX outbox_destination ON outbox (destination, state, id);"
	"CREATE TABLE cursors ("
	"  source TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL,"
	"  updated_ms INTEGER NOT NULL);"
	"CREATE TABLE handles ("
	"  author TEXT PRIMARY KEY,"
	"  handle TEXT NOT NULL,"
	"  updated_ms INTEGER NOT NULL);"
	"PRAGMA user_version = 1;";
static const char schema_v2[] =
	"ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'post'"
	"  CHECK (kind = 'post' OR kind = 'edit' OR kind = 'delete');"
	"PRAGMA user_version = 2;";
static const char schema_v3[] =
	"CREATE TABLE outbox_new ("
	"  id INTEGER PRIMARY KEY,"
	"  destination TEXT NOT NULL,"
	"  conversation INTEGER NOT NULL REFERENCES conversations (id),"
	"  post_platform TEXT NOT NULL,"
	"  post_id TEXT NOT NULL,"
	"  team TEXT NOT NULL,"
	"  rule TEXT,"
	"  state TEXT NOT NULL DEFAULT 'pending'"
	"    CHECK (state = 'pending' OR state = 'done' OR state = 'failed'),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_try_ms INTEGER NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  last_error TEXT,"
	"  kind TEXT NOT NULL DEFAULT 'post'"
	"    CHECK (kind = 'post' OR kind = 'edit' OR kind = 'delete'"
	"    OR kind = 'note'),"
	"  note TEXT CHECK (kind != 'note' OR note IS NOT NULL),"
	"  FOREIGN KEY (post_platform, post_id)"
	"    REFERENCES posts (platform, id));"
	"INSERT INTO outbox_new (id, destination, conversation, post_platform,"
	"  post_id, team, rule, state, attempts, next_try_ms, created_ms,"
	"  last_error, kind)"
	"  SELECT id, destination, conversation, post_platform, post_id, team,"
	"  rule, state, attempts, next_try_ms, created_ms, last_error, kind"
	"  FROM outbox;"
	"DROP TABLE outbox;"
	"ALTER TABLE outbox_new RENAME TO outbox;"
	"CREATE INDEX outbox_destination ON outbox (destination, state, id);"
	"ALTER TABLE conversations ADD COLUMN claimed_by TEXT;"
	"ALTER TABLE conversations ADD COLUMN claimed_name TEXT;"
	"CREATE TABLE notes ("
	"  id INTEGER PRIMARY KEY,"
	"  conversation INTEGER NOT NULL REFERENCES conversations (id),"
	"  time_ms INTEGER NOT NULL,"
	"  user_id TEXT,"
	"  user_name TEXT,"
	"  text TEXT NOT NULL);"
	"CREATE INDEX notes_conversation ON notes (conversation, id);"
	"CREATE TABLE batons ("
	"  team TEXT PRIMARY KEY,"
	"  user_id TEXT NOT NULL,"
	"  user_name TEXT,"
	"  time_ms INTEGER NOT NULL);"
	"CREATE TABLE mutes ("
	"  id INTEGER PRIMARY KEY,"
	"  scope TEXT NOT NULL,"
	"  author TEXT NOT NULL,"
	"  by_user TEXT,"
	"  time_ms INTEGER NOT NULL,"
	"  UNIQUE (scope, author));"
	"CREATE TABLE replies ("
	"  id INTEGER PRIMARY KEY,"
	"  state TEXT NOT NULL CHECK (state = 'draft' OR state = 'pending'"
	"    OR state = 'done' OR state = 'failed' OR state = 'rejected'),"
	"  conversation INTEGER NOT NULL REFERENCES conversations (id),"
	"  team TEXT,"
	"  account TEXT NOT NULL,"
	"  parent_platform TEXT NOT NULL,"
	"  parent_id TEXT NOT NULL,"
	"  text TEXT NOT NULL,"
	"  key TEXT NOT NULL UNIQUE,"
	"  user_id TEXT,"
	"  user_name TEXT,"
	"  approved_by TEXT,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_try_ms INTEGER NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  url TEXT,"
	"  published_id TEXT,"
	"  error TEXT,"
	"  FOREIGN KEY (parent_platform, parent_id)"
	"    REFERENCES posts (platform, id));"
	"CREATE INDEX replies_account ON replies (account, state, id);"
	"CREATE INDEX replies_conversation ON replies (conversation, id);"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  time_ms INTEGER NOT NULL,"
	"  user_id TEXT,"
	"  user_name TEXT,"
	"  team TEXT,"
	"  code TEXT,"
	"  action TEXT NOT NULL,"
	"  text TEXT,"
	"  result TEXT NOT NULL);"
	"CREATE INDEX audit_time ON audit (time_ms, id);"
	"PRAGMA user_version = 3;";

/* One conversation with two posts of care's, as an old daemon wrote
 * them: m1 (delivered) and its reply m2 (pending, one failed try). */
static const char old_rows[] =
	"INSERT INTO conversations VALUES (1, 'bluesky',"
	"  'at://did:plc:alice/app.bsky.feed.post/m1', 'care', 'K7QX',"
	"  'open', 1000, 2000);"
	"INSERT INTO posts VALUES ('bluesky',"
	"  'at://did:plc:alice/app.bsky.feed.post/m1', 1, 'did:plc:alice',"
	"  'care', 'care/refunds', '{\"platform\": \"bluesky\","
	"  \"id\": \"at://did:plc:alice/app.bsky.feed.post/m1\","
	"  \"author\": \"did:plc:alice\", \"text\": \"refund please\"}',"
	"  1000, 0);"
	"INSERT INTO posts VALUES ('bluesky',"
	"  'at://did:plc:alice/app.bsky.feed.post/m2', 1, 'did:plc:alice',"
	"  'care', 'thread', '{\"platform\": \"bluesky\","
	"  \"id\": \"at://did:plc:alice/app.bsky.feed.post/m2\","
	"  \"author\": \"did:plc:alice\", \"text\": \"still waiting\"}',"
	"  2000, 0);"
	"INSERT INTO outbox (id, destination, conversation, post_platform,"
	"  post_id, team, rule, state, attempts, next_try_ms, created_ms,"
	"  last_error) VALUES (7, 'care', 1, 'bluesky',"
	"  'at://did:plc:alice/app.bsky.feed.post/m1', 'care', 'care/refunds',"
	"  'done', 0, 1000, 1000, NULL);"
	"INSERT INTO outbox (id, destination, conversation, post_platform,"
	"  post_id, team, rule, state, attempts, next_try_ms, created_ms,"
	"  last_error) VALUES (8, 'care', 1, 'bluesky',"
	"  'at://did:plc:alice/app.bsky.feed.post/m2', 'care', 'thread',"
	"  'pending', 1, 5000, 2000, 'HTTP 503');"
	"INSERT INTO cursors VALUES ('bluesky', '1714557600000000', 2000);"
	"INSERT INTO handles VALUES ('did:plc:alice', 'alice.example', 1000);";

/* What a version-3 daemon kept besides: a delivered note, a claim, an
 * internal note, the baton, a mute, a published reply, an audit entry. */
static const char old_rows_v3[] =
	"UPDATE conversations SET claimed_by = 'U1', claimed_name = 'Ann'"
	"  WHERE id = 1;"
	"INSERT INTO outbox (id, destination, conversation, post_platform,"
	"  post_id, team, rule, state, attempts, next_try_ms, created_ms,"
	"  last_error, kind, note) VALUES (9, 'care', 1, 'bluesky',"
	"  'at://did:plc:alice/app.bsky.feed.post/m2', 'care', 'thread',"
	"  'done', 0, 3000, 3000, NULL, 'note', 'reply R1 published');"
	"INSERT INTO notes VALUES (1, 1, 2500, 'U1', 'Ann', 'called them');"
	"INSERT INTO batons VALUES ('care', 'U2', 'Bob', 2600);"
	"INSERT INTO mutes VALUES (1, 'care', 'did:plc:troll', 'U1', 2700);"
	"INSERT INTO replies VALUES (1, 'done', 1, 'care', 'acme-bsky',"
	"  'bluesky', 'at://did:plc:alice/app.bsky.feed.post/m2',"
	"  'Sorry, fixed now.', '0123456789abcdef0123456789abcdef', 'U1',"
	"  'Ann', NULL, 0, 2800, 2800, 'https://bsky.app/profile/acme/post/r1',"
	"  'at://did:plc:acme/app.bsky.feed.post/r1', NULL);"
	"INSERT INTO audit VALUES (1, 2900, 'U1', 'Ann', 'care', 'K7QX',"
	"  'command', 'reply K7QX Sorry, fixed now.', 'ok');";

/* The schema version this switchboard creates. */
static int
current_version(void)
{
	struct store	*s;
	char		*cause = NULL;
	int		 v;

	s = store_open(":memory:", &cause);
	if (s == NULL)
		fail_msg("store_open: %s", cause);
	v = store_schema_version(s);
	store_close(s);
	return v;
}

/* Replace the fixture's store by a file of schema version (1 to 3)
 * holding old_rows (and old_rows_v3), and open it. */
static void
open_old(struct fixture *f, int version)
{
	sqlite3	*raw;
	char	*cause = NULL;

	store_close(f->s);
	f->s = NULL;
	assert_int_equal(remove(f->db), 0);
	raw = raw_open(f->db);
	raw_exec(raw, schema_v1);
	if (version >= 2)
		raw_exec(raw, schema_v2);
	/* Rows as the older daemons wrote them, then the schema they
	 * were migrated through, as a file that lived through them. */
	raw_exec(raw, old_rows);
	if (version >= 3) {
		raw_exec(raw, schema_v3);
		raw_exec(raw, old_rows_v3);
	}
	assert_int_equal(raw_int(raw, "PRAGMA user_version"), version);
	sqlite3_close(raw);
	/* A tool beside the daemon refuses it; the daemon upgrades it. */
	assert_null(store_open_current(f->dir, &cause));
	assert_non_null(strstr(cause, "schema version"));
	free(cause);
	f->s = store_open(f->dir, &cause);
	if (f->s == NULL)
		fail_msg("store_open: %s", cause);
	assert_int_equal(store_schema_version(f->s), current_version());
}

/* What every old file must look like once upgraded; extra: rows
 * done besides old_rows' (old_rows_v3's delivered note). */
static void
check_upgraded(struct fixture *f, int64_t extra)
{
	struct conversation	 c;
	struct delivery		 d;
	sqlite3			*raw;
	char			*v;

	assert_int_equal(store_outbox_head(f->s, "care", &d), 1);
	assert_int_equal(d.id, 8);
	assert_int_equal(d.kind, DELIVERY_POST);
	assert_null(d.note);
	assert_int_equal(d.attempts, 1);
	assert_int_equal(d.next_try_ms, 5000);
	assert_string_equal(d.code, "K7QX");
	assert_string_equal(d.rule, "thread");
	assert_string_equal(d.post->text, "still waiting");
	delivery_free(&d);
	assert_int_equal(count(f->s, NULL), 2 + extra);
	assert_int_equal(count(f->s, "done"), 1 + extra);
	v = store_cursor_get(f->s, "bluesky");
	assert_string_equal(v, "1714557600000000");
	free(v);
	v = store_handle_get(f->s, "did:plc:alice");
	assert_string_equal(v, "alice.example");
	free(v);

	/* Conversations from before version 3 gained its columns, empty;
	 * a version-3 file's claim is checked by its own test. */
	assert_int_equal(store_conversation_by_code(f->s, "k7qx", &c), 1);
	assert_string_equal(c.first_rule, "care/refunds");
	if (extra == 0) {
		assert_null(c.claimed_by);
		assert_null(c.claimed_name);
	}
	assert_int_equal(c.nposts, 2);

	/* The rebuilt outbox takes notes, queued after the old rows. */
	assert_int_equal(store_outbox_done(f->s, 8, NULL), 0);
	assert_int_equal(store_note_queue(f->s, c.id, "care", "hello"), 0);
	assert_int_equal(store_outbox_head(f->s, "care", &d), 1);
	assert_true(d.id > 8);
	assert_int_equal(d.kind, DELIVERY_NOTE);
	assert_string_equal(d.note, "hello");
	delivery_free(&d);
	conversation_free(&c);

	raw = raw_open(f->db);
	v = raw_text(raw, "SELECT name FROM sqlite_master WHERE name = ?1",
	    "outbox_destination");
	assert_non_null(v);
	free(v);
	assert_null(raw_text(raw, "SELECT name FROM sqlite_master"
	    " WHERE name = ?1", "outbox_new"));
	assert_null(raw_text(raw, "PRAGMA foreign_key_check", NULL));
	v = raw_text(raw, "PRAGMA integrity_check", NULL);
	assert_string_equal(v, "ok");
	free(v);
	/* The CHECK still holds: a note needs its text, no other kind. */
	assert_int_equal(sqlite3_exec(raw, "UPDATE outbox SET note = NULL"
	    " WHERE kind = 'note'", NULL, NULL, NULL), SQLITE_CONSTRAINT);
	assert_int_equal(sqlite3_exec(raw, "UPDATE outbox SET kind = 'x'",
	    NULL, NULL, NULL), SQLITE_CONSTRAINT);
	sqlite3_close(raw);
}

/* A version-1 database (before edit and delete notes) is upgraded in
 * place and keeps its queue. */
static void
test_migrate_from_v1(void **state)
{
	struct fixture	*f = *state;

	open_old(f, 1);
	check_upgraded(f, 0);
}

/* A version-2 database: the outbox is rebuilt with its rows intact. */
static void
test_migrate_from_v2(void **state)
{
	struct fixture	*f = *state;
	sqlite3		*raw;
	char		*v;

	open_old(f, 2);
	raw = raw_open(f->db);
	v = raw_text(raw, "SELECT last_error FROM outbox WHERE id = 8", NULL);
	assert_string_equal(v, "HTTP 503");
	free(v);
	v = raw_text(raw, "SELECT kind FROM outbox WHERE id = 7", NULL);
	assert_string_equal(v, "post");
	free(v);
	sqlite3_close(raw);
	check_upgraded(f, 0);
}

/* A version-3 database: what teams kept (claims, notes, baton, mutes,
 * replies, the audit log) comes through with the queue. */
static void
test_migrate_from_v3(void **state)
{
	struct fixture			*f = *state;
	struct conversation		 c;
	struct conversation_note	*notes;
	struct audit_entry		*audit;
	struct reply			 r;
	struct post			*p;
	char				*id = NULL, *name = NULL;
	size_t				 n;

	open_old(f, 3);
	assert_int_equal(store_conversation_by_code(f->s, "K7QX", &c), 1);
	assert_string_equal(c.claimed_by, "U1");
	assert_string_equal(c.claimed_name, "Ann");
	assert_int_equal(store_conversation_notes(f->s, c.id, 10, &notes, &n),
	    0);
	assert_int_equal(n, 1);
	assert_string_equal(notes[0].text, "called them");
	assert_string_equal(notes[0].user_name, "Ann");
	conversation_notes_free(notes, n);
	conversation_free(&c);
	assert_int_equal(store_baton_get(f->s, "care", &id, &name), 1);
	assert_string_equal(id, "U2");
	assert_string_equal(name, "Bob");
	free(id);
	free(name);
	p = mkpost("t1", NULL, "hi");
	free(p->author);
	p->author = xstrdup("did:plc:troll");
	assert_int_equal(store_muted(f->s, "care", p), 1);
	assert_int_equal(store_muted(f->s, "sales", p), 0);
	post_free(p);
	assert_int_equal(store_reply_get(f->s, 1, &r), 1);
	assert_int_equal(r.state, REPLY_DONE);
	assert_string_equal(r.code, "K7QX");
	assert_string_equal(r.text, "Sorry, fixed now.");
	assert_string_equal(r.key, "0123456789abcdef0123456789abcdef");
	assert_string_equal(r.url, "https://bsky.app/profile/acme/post/r1");
	assert_string_equal(r.parent->text, "still waiting");
	reply_free(&r);
	assert_int_equal(store_audit_list(f->s, 0, 10, &audit, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(audit[0].text, "reply K7QX Sorry, fixed now.");
	assert_string_equal(audit[0].result, "ok");
	audit_entries_free(audit, n);
	check_upgraded(f, 1);
}

/* Record a post with its own text; 1 if recorded. */
static int
record_text(struct store *s, const char *id, const char *root,
    const char *team, const char *text)
{
	struct post	*p = mkpost(id, root, text);
	const char	*dest[1] = { team };
	int		 rc;

	rc = store_record(s, p, team, "team/rule", dest, 1);
	post_free(p);
	return rc;
}

static void
test_conversation_by_code(void **state)
{
	struct fixture		*f = *state;
	struct conversation	 c;
	char			*code, *lower;
	size_t			 i;

	assert_int_equal(record_text(f->s, "r1", NULL, "support", "first"),
	    1);
	assert_int_equal(record_text(f->s, "r2", "r1", "support", "second"),
	    1);
	assert_int_equal(record_text(f->s, "o1", NULL, "sales", "other"), 1);
	code = head_code(f->s, "support");
	lower = xstrdup(code);
	for (i = 0; lower[i] != '\0'; i++)
		lower[i] = (char)tolower((unsigned char)lower[i]);
	assert_string_not_equal(lower, code);
	assert_int_equal(store_conversation_by_code(f->s, lower, &c), 1);
	assert_string_equal(c.code, code);
	assert_string_equal(c.team, "support");
	assert_string_equal(c.platform, "bluesky");
	assert_string_equal(c.root, "at://did:plc:alice/app.bsky.feed.post/r1");
	assert_true(c.open);
	assert_int_equal(c.nposts, 2);
	assert_non_null(c.first);
	assert_string_equal(c.first->text, "first");
	assert_true(c.id > 0);
	conversation_free(&c);
	conversation_free(NULL);
	assert_int_equal(store_conversation_by_code(f->s, "ZZZZZZZ", &c), 0);
	assert_null(c.code);
	free(lower);
	free(code);
}

static void
test_conversation_set_team(void **state)
{
	struct fixture		*f = *state;
	struct conversation	 c;
	char			*code, *owner = NULL;

	assert_int_equal(record_text(f->s, "r1", NULL, "support", "help"), 1);
	code = head_code(f->s, "support");
	assert_int_equal(store_conversation_by_code(f->s, code, &c), 1);
	assert_int_equal(store_conversation_set_team(f->s, c.id, "sales"), 0);
	assert_int_equal(store_conversation_owner(f->s, "bluesky",
	    "at://did:plc:alice/app.bsky.feed.post/r1", &owner), 1);
	assert_string_equal(owner, "sales");
	free(owner);
	assert_int_equal(store_conversation_set_team(f->s, c.id + 100,
	    "sales"), -1);
	conversation_free(&c);
	assert_int_equal(store_conversation_by_code(f->s, code, &c), 1);
	assert_string_equal(c.team, "sales");
	conversation_free(&c);
	free(code);
}

static void
test_conversation_status(void **state)
{
	struct fixture		*f = *state;
	struct conversation	 a, b;
	char			*code, *sql;
	sqlite3			*raw;

	assert_int_equal(record_text(f->s, "r1", NULL, "support", "a"), 1);
	code = head_code(f->s, "support");
	assert_int_equal(store_conversation_by_code(f->s, code, &a), 1);
	assert_int_equal(store_conversation_set_status(f->s, a.id, false), 0);
	conversation_free(&a);
	assert_int_equal(store_conversation_by_code(f->s, code, &a), 1);
	assert_false(a.open);
	assert_int_equal(store_conversation_set_status(f->s, a.id, true), 0);
	conversation_free(&a);
	assert_int_equal(store_conversation_by_code(f->s, code, &a), 1);
	assert_true(a.open);
	assert_int_equal(store_conversation_set_status(f->s, a.id + 100,
	    false), -1);

	/* Resolved, its code is reused by another open conversation:
	 * the code now names that one, and reopening the first is
	 * refused. */
	assert_int_equal(store_conversation_set_status(f->s, a.id, false), 0);
	assert_int_equal(record_text(f->s, "r2", NULL, "sales", "b"), 1);
	raw = raw_open(f->db);
	sql = sqlite3_mprintf("UPDATE conversations SET code = lower(%Q)"
	    " WHERE id != %lld", code, (long long)a.id);
	raw_exec(raw, sql);
	sqlite3_free(sql);
	sqlite3_close(raw);
	assert_int_equal(store_conversation_by_code(f->s, code, &b), 1);
	assert_true(b.open);
	assert_true(b.id != a.id);
	assert_string_equal(b.team, "sales");
	assert_int_equal(store_conversation_set_status(f->s, a.id, true), 1);
	conversation_free(&b);
	conversation_free(&a);
	free(code);
}

static void
test_conversations_open_order(void **state)
{
	struct fixture		*f = *state;
	struct conversation	*v, c;
	size_t			 n;
	char			*code;
	sqlite3			*raw;

	assert_int_equal(record_text(f->s, "a", NULL, "support", "A"), 1);
	assert_int_equal(record_text(f->s, "b", NULL, "support", "B"), 1);
	assert_int_equal(record_text(f->s, "c", NULL, "support", "C"), 1);
	assert_int_equal(record_text(f->s, "d", NULL, "sales", "D"), 1);
	assert_int_equal(record_text(f->s, "c2", "c", "support", "C2"), 1);
	/* Creation times against insertion order: b oldest, then c, a. */
	raw = raw_open(f->db);
	raw_exec(raw, "UPDATE conversations SET created_ms = CASE root"
	    " WHEN 'at://did:plc:alice/app.bsky.feed.post/a' THEN 300"
	    " WHEN 'at://did:plc:alice/app.bsky.feed.post/b' THEN 100"
	    " ELSE 200 END");
	sqlite3_close(raw);
	assert_int_equal(store_conversations_open(f->s, "support", &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].first->text, "B");
	assert_string_equal(v[1].first->text, "C");
	assert_int_equal(v[1].nposts, 2);
	assert_string_equal(v[2].first->text, "A");
	code = xstrdup(v[1].code);
	conversations_free(v, n);

	/* Resolved ones leave the queue. */
	assert_int_equal(store_conversation_by_code(f->s, code, &c), 1);
	assert_int_equal(store_conversation_set_status(f->s, c.id, false), 0);
	conversation_free(&c);
	assert_int_equal(store_conversations_open(f->s, "support", &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].first->text, "B");
	assert_string_equal(v[1].first->text, "A");
	conversations_free(v, n);
	assert_int_equal(store_conversations_open(f->s, "nobody", &v, &n), 0);
	assert_int_equal(n, 0);
	assert_null(v);
	free(code);
}

static void
test_conversation_posts(void **state)
{
	struct fixture			*f = *state;
	struct conversation_post	*v;
	struct conversation		 c;
	size_t				 n, i;
	char				 id[32], text[32], *code, *uri;

	assert_int_equal(record_text(f->s, "p0", NULL, "support", "t0"), 1);
	for (i = 1; i < 12; i++) {
		snprintf(id, sizeof(id), "p%zu", i);
		snprintf(text, sizeof(text), "t%zu", i);
		assert_int_equal(record_text(f->s, id, "p0", "support", text),
		    1);
	}
	uri = xstrdup("at://did:plc:alice/app.bsky.feed.post/p3");
	assert_int_equal(store_post_deleted(f->s, "bluesky", uri), 0);
	free(uri);
	code = head_code(f->s, "support");
	assert_int_equal(store_conversation_by_code(f->s, code, &c), 1);
	assert_int_equal(c.nposts, 12);
	assert_int_equal(store_conversation_posts(f->s, c.id, 10, &v, &n), 0);
	assert_int_equal(n, 10);
	for (i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "t%zu", i);
		assert_string_equal(v[i].post->text, text);
		assert_int_equal(v[i].deleted, i == 3);
	}
	conversation_posts_free(v, n);
	assert_int_equal(store_conversation_posts(f->s, c.id, 0, &v, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_conversation_posts(f->s, c.id + 100, 5, &v,
	    &n), 0);
	assert_int_equal(n, 0);
	conversation_posts_free(v, n);
	conversation_free(&c);
	free(code);
}

/* The conversation of a recorded post id (suffix); conversation_free it. */
static void
conv_of(struct store *s, const char *team, struct conversation *c)
{
	char	*code = head_code(s, team);

	assert_int_equal(store_conversation_by_code(s, code, c), 1);
	free(code);
}

/* A note about a conversation rides the outbox under its latest post. */
static void
test_note_queue(void **state)
{
	struct fixture		*f = *state;
	struct conversation	 c;
	struct delivery		 d;
	int64_t			 id;

	assert_int_equal(record_text(f->s, "n0", NULL, "care", "root"), 1);
	assert_int_equal(record_text(f->s, "n1", "n0", "care", "later"), 1);
	assert_int_equal(record_text(f->s, "x0", NULL, "care", "other"), 1);
	conv_of(f->s, "care", &c);
	while (store_outbox_head(f->s, "care", &d) == 1) {
		assert_int_equal(store_outbox_done(f->s, d.id, NULL), 0);
		delivery_free(&d);
	}
	assert_int_equal(store_conversation_set_team(f->s, c.id, "sales"), 0);
	assert_int_equal(store_note_queue(f->s, c.id, "care",
	    "published: https://example.com/1"), 0);
	assert_int_equal(store_outbox_head(f->s, "care", &d), 1);
	assert_int_equal(d.kind, DELIVERY_NOTE);
	assert_string_equal(d.note, "published: https://example.com/1");
	assert_string_equal(d.post->id,
	    "at://did:plc:alice/app.bsky.feed.post/n1");
	assert_string_equal(d.post->text, "later");
	assert_string_equal(d.code, c.code);
	assert_string_equal(d.destination, "care");
	assert_string_equal(d.team, "sales");	/* the owner now */
	assert_int_equal(d.attempts, 0);
	id = d.id;
	delivery_free(&d);
	assert_int_equal(count(f->s, "pending"), 1);
	/* Retried and failed like any delivery. */
	assert_int_equal(store_outbox_retry(f->s, id, 42, "HTTP 500"), 0);
	assert_int_equal(store_outbox_head(f->s, "care", &d), 1);
	assert_int_equal(d.attempts, 1);
	assert_string_equal(d.note, "published: https://example.com/1");
	delivery_free(&d);
	assert_int_equal(store_outbox_done(f->s, id, NULL), 0);
	assert_int_equal(store_outbox_head(f->s, "care", &d), 0);
	assert_null(d.note);

	assert_int_equal(store_note_queue(f->s, c.id + 100, "care", "x"), -1);
	assert_int_equal(store_note_queue(f->s, c.id, "care", NULL), -1);
	assert_int_equal(store_note_queue(f->s, c.id, NULL, "x"), -1);
	assert_int_equal(count(f->s, "pending"), 0);
	conversation_free(&c);
}

static void
test_conversation_claim(void **state)
{
	struct fixture		*f = *state;
	struct conversation	 c, *v;
	size_t			 n;

	assert_int_equal(record_text(f->s, "c0", NULL, "care", "hi"), 1);
	assert_int_equal(record_text(f->s, "c1", "c0", "care", "again"), 1);
	conv_of(f->s, "care", &c);
	assert_string_equal(c.first_rule, "team/rule");
	assert_null(c.claimed_by);
	assert_null(c.claimed_name);
	assert_int_equal(store_conversation_claim(f->s, c.id, "U1",
	    "Ann Lee"), 0);
	conversation_free(&c);
	conv_of(f->s, "care", &c);
	assert_string_equal(c.claimed_by, "U1");
	assert_string_equal(c.claimed_name, "Ann Lee");
	assert_int_equal(store_conversations_open(f->s, "care", &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].claimed_by, "U1");
	assert_string_equal(v[0].first_rule, "team/rule");
	conversations_free(v, n);

	/* Taken over, then released: a name without an id is not kept. */
	assert_int_equal(store_conversation_claim(f->s, c.id, "U2", NULL), 0);
	conversation_free(&c);
	conv_of(f->s, "care", &c);
	assert_string_equal(c.claimed_by, "U2");
	assert_null(c.claimed_name);
	assert_int_equal(store_conversation_claim(f->s, c.id, NULL, "Bo"), 0);
	conversation_free(&c);
	conv_of(f->s, "care", &c);
	assert_null(c.claimed_by);
	assert_null(c.claimed_name);
	assert_int_equal(store_conversation_claim(f->s, c.id + 100, "U1",
	    "Ann"), -1);
	conversation_free(&c);
}

static void
test_conversation_notes(void **state)
{
	struct fixture			*f = *state;
	struct conversation_note	*v;
	struct conversation		 c;
	size_t				 n;
	int64_t				 before = now_wall_ms();

	assert_int_equal(record_text(f->s, "k0", NULL, "care", "hi"), 1);
	conv_of(f->s, "care", &c);
	assert_int_equal(store_conversation_notes(f->s, c.id, 10, &v, &n), 0);
	assert_int_equal(n, 0);
	assert_null(v);
	assert_int_equal(store_conversation_note_add(f->s, c.id, "U1", "Ann",
	    "called them"), 0);
	assert_int_equal(store_conversation_note_add(f->s, c.id, NULL, NULL,
	    "refund sent"), 0);
	assert_int_equal(store_conversation_note_add(f->s, c.id, "U2", "Bo",
	    "closed"), 0);
	assert_int_equal(store_conversation_notes(f->s, c.id, 10, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].text, "called them");
	assert_string_equal(v[0].user_id, "U1");
	assert_string_equal(v[0].user_name, "Ann");
	assert_true(v[0].time_ms >= before && v[0].time_ms <= now_wall_ms());
	assert_string_equal(v[1].text, "refund sent");
	assert_null(v[1].user_id);
	assert_null(v[1].user_name);
	assert_string_equal(v[2].text, "closed");
	conversation_notes_free(v, n);
	assert_int_equal(store_conversation_notes(f->s, c.id, 2, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].text, "called them");
	assert_string_equal(v[1].text, "refund sent");
	conversation_notes_free(v, n);
	assert_int_equal(store_conversation_notes(f->s, c.id, 0, &v, &n), 0);
	assert_int_equal(n, 0);

	assert_int_equal(store_conversation_note_add(f->s, c.id + 100, "U1",
	    "Ann", "lost"), -1);
	assert_int_equal(store_conversation_note_add(f->s, c.id, "U1", "Ann",
	    NULL), -1);
	assert_int_equal(store_conversation_notes(f->s, c.id + 100, 10, &v,
	    &n), 0);
	assert_int_equal(n, 0);
	conversation_free(&c);
}

static void
test_baton(void **state)
{
	struct fixture	*f = *state;
	char		*id = NULL, *name = NULL;

	assert_int_equal(store_baton_get(f->s, "care", &id, &name), 0);
	assert_null(id);
	assert_null(name);
	assert_int_equal(store_baton_set(f->s, "care", "U1", "Ann"), 0);
	assert_int_equal(store_baton_set(f->s, "sales", "U9", NULL), 0);
	assert_int_equal(store_baton_get(f->s, "care", &id, &name), 1);
	assert_string_equal(id, "U1");
	assert_string_equal(name, "Ann");
	free(id);
	free(name);
	/* Passed on. */
	assert_int_equal(store_baton_set(f->s, "care", "U2", "Bo"), 0);
	assert_int_equal(store_baton_get(f->s, "care", &id, &name), 1);
	assert_string_equal(id, "U2");
	assert_string_equal(name, "Bo");
	free(id);
	free(name);
	assert_int_equal(store_baton_get(f->s, "sales", &id, &name), 1);
	assert_string_equal(id, "U9");
	assert_null(name);
	free(id);
	/* Dropped, twice: nobody holds it, sales still does. */
	assert_int_equal(store_baton_set(f->s, "care", NULL, NULL), 0);
	assert_int_equal(store_baton_set(f->s, "care", NULL, NULL), 0);
	assert_int_equal(store_baton_get(f->s, "care", &id, &name), 0);
	assert_null(id);
	assert_int_equal(store_baton_get(f->s, "sales", &id, &name), 1);
	free(id);
	assert_int_equal(store_baton_set(f->s, NULL, "U1", "Ann"), -1);
}

/* A post by author with handle (or NULL). */
static struct post *
mkpost_by(const char *id, const char *author, const char *handle)
{
	struct post	*p = mkpost(id, NULL, "the app is down");

	free(p->author);
	p->author = xstrdup(author);
	if (handle != NULL)
		p->author_handle = xstrdup(handle);
	return p;
}

/* store_muted for a post by author/handle in team: 1, 0 or -1. */
static int
muted(struct store *s, const char *team, const char *author,
    const char *handle)
{
	struct post	*p = mkpost_by("m", author, handle);
	int		 rc;

	rc = store_muted(s, team, p);
	post_free(p);
	return rc;
}

static void
test_mutes(void **state)
{
	struct fixture	*f = *state;
	sqlite3		*raw;
	char		*v;

	assert_int_equal(muted(f->s, "care", "did:plc:bob", "bob.example"),
	    0);
	/* By handle for one team: '@' and case do not matter. */
	assert_int_equal(store_mute_set(f->s, "care", "@Bob.Example", "U1"),
	    1);
	assert_int_equal(store_mute_set(f->s, "care", "BOB.example", "U2"),
	    0);
	assert_int_equal(muted(f->s, "care", "did:plc:bob", "bob.example"),
	    1);
	assert_int_equal(muted(f->s, "care", "did:plc:bob", "@BOB.EXAMPLE"),
	    1);
	assert_int_equal(muted(f->s, "sales", "did:plc:bob", "bob.example"),
	    0);
	/* Without its handle the post is not known to be bob's. */
	assert_int_equal(muted(f->s, "care", "did:plc:bob", NULL), 0);
	assert_int_equal(muted(f->s, "care", "did:plc:eve", "eve.example"),
	    0);
	raw = raw_open(f->db);
	v = raw_text(raw, "SELECT author || ' ' || by_user FROM mutes", NULL);
	assert_string_equal(v, "bob.example U1");
	free(v);
	sqlite3_close(raw);

	/* By id, everywhere. */
	assert_int_equal(store_mute_set(f->s, STORE_MUTE_GLOBAL,
	    "DID:PLC:Eve", NULL), 1);
	assert_int_equal(muted(f->s, "care", "did:plc:eve", NULL), 1);
	assert_int_equal(muted(f->s, "sales", "did:plc:eve", "x.example"), 1);
	assert_int_equal(muted(f->s, NULL, "did:plc:eve", NULL), 1);
	assert_int_equal(muted(f->s, "sales", "did:plc:bob", "bob.example"),
	    0);
	/* A team mute of an author muted everywhere is its own row. */
	assert_int_equal(store_mute_set(f->s, "sales", "did:plc:eve", NULL),
	    1);
	assert_int_equal(store_mute_clear(f->s, STORE_MUTE_GLOBAL,
	    "@did:plc:EVE"), 1);
	assert_int_equal(store_mute_clear(f->s, STORE_MUTE_GLOBAL,
	    "did:plc:eve"), 0);
	assert_int_equal(muted(f->s, "care", "did:plc:eve", NULL), 0);
	assert_int_equal(muted(f->s, "sales", "did:plc:eve", NULL), 1);
	assert_int_equal(store_mute_clear(f->s, "sales", "did:plc:eve"), 1);
	assert_int_equal(store_mute_clear(f->s, "care", "bob.example"), 1);
	assert_int_equal(muted(f->s, "care", "did:plc:bob", "bob.example"),
	    0);

	assert_int_equal(store_mute_set(f->s, "care", "@", NULL), -1);
	assert_int_equal(store_mute_set(f->s, NULL, "bob", NULL), -1);
	assert_int_equal(store_mute_set(f->s, "care", NULL, NULL), -1);
	assert_int_equal(store_mute_clear(f->s, "care", NULL), -1);
}

/* What a rollback takes back is not remembered as muted, nor unmuted. */
static void
test_mutes_rollback(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_mute_set(f->s, "care", "bob", NULL), 1);
	assert_int_equal(muted(f->s, "care", "did:plc:bob", "bob"), 1);
	store_rollback(f->s);
	assert_int_equal(muted(f->s, "care", "did:plc:bob", "bob"), 0);
	assert_int_equal(store_mute_set(f->s, "care", "bob", NULL), 1);
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_mute_clear(f->s, "care", "bob"), 1);
	assert_int_equal(muted(f->s, "care", "did:plc:bob", "bob"), 0);
	store_rollback(f->s);
	assert_int_equal(muted(f->s, "care", "did:plc:bob", "bob"), 1);
	/* Mutes outlive a restart. */
	store_close(f->s);
	f->s = store_open(f->dir, &(char *){ NULL });
	assert_non_null(f->s);
	assert_int_equal(muted(f->s, "care", "did:plc:bob", "BOB"), 1);
}

static const char test_store_conf[] =
	"sources = ( { name = \"bluesky\"; type = \"jetstream\"; } );\n"
	"teams = (\n"
	"  { name = \"care\"; chat = { type = \"console\"; };\n"
	"    rules = ( { name = \"refunds\";\n"
	"      keywords = [ \"refund\" ]; } ); },\n"
	"  { name = \"sales\"; chat = { type = \"console\"; };\n"
	"    rules = ( { name = \"prices\"; keywords = [ \"price\" ]; } ); }\n"
	");\n";

/* A router from test_store_conf, written into the fixture's directory. */
static struct router *
test_router(struct fixture *f, struct config **cfg)
{
	struct cfg_errors	 errs;
	struct router		*rt;
	char			*path, *cause = NULL;
	FILE			*fp;

	path = xasprintf("%s/switchboard.conf", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_true(fputs(test_store_conf, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	cfg_errors_init(&errs);
	*cfg = config_load(path, &errs);
	if (*cfg == NULL)
		fail_msg("config: %s", errs.msgs.n > 0 ? errs.msgs.v[0] : "?");
	cfg_errors_free(&errs);
	free(path);
	rt = router_new(*cfg, &cause);
	if (rt == NULL)
		fail_msg("router: %s", cause);
	return rt;
}

/* Run one post by author through the pipeline; *d as decided. */
static int
pipe_post(struct store *s, const struct router *rt, const char *id,
    const char *author, const char *text, struct decision *d)
{
	struct post	*p = mkpost(id, NULL, text);
	int		 rc;

	free(p->author);
	p->author = xstrdup(author);
	rc = pipeline_post(s, rt, p, d);
	post_free(p);
	return rc;
}

/* A muted author's post is dropped before it is recorded. */
static void
test_pipeline_muted(void **state)
{
	struct fixture	*f = *state;
	struct config	*cfg;
	struct router	*rt = test_router(f, &cfg);
	struct decision	 d;

	assert_int_equal(store_handle_set(f->s, "did:plc:bob", "bob.example"),
	    0);
	assert_int_equal(store_mute_set(f->s, "care", "@Bob.Example", "U1"),
	    1);
	/* The handle comes from the store, the mute names it. */
	assert_int_equal(pipe_post(f->s, rt, "b1", "did:plc:bob",
	    "refund please", &d), 1);
	assert_int_equal(d.action, ROUTE_DROP);
	assert_string_equal(d.rule, "muted");
	assert_null(d.team);
	assert_false(seen(f->s, "b1"));
	assert_int_equal(count(f->s, NULL), 0);
	/* Muted for care only: sales still hears bob. */
	assert_int_equal(pipe_post(f->s, rt, "b2", "did:plc:bob",
	    "what is the price", &d), 1);
	assert_int_equal(d.action, ROUTE_TEAM);
	assert_string_equal(d.team, "sales");
	assert_true(seen(f->s, "b2"));
	/* Others are heard by care. */
	assert_int_equal(pipe_post(f->s, rt, "a1", "did:plc:alice",
	    "refund please", &d), 1);
	assert_int_equal(d.action, ROUTE_TEAM);
	assert_string_equal(d.team, "care");
	/* Muted everywhere by id. */
	assert_int_equal(store_mute_set(f->s, STORE_MUTE_GLOBAL,
	    "did:plc:alice", NULL), 1);
	assert_int_equal(pipe_post(f->s, rt, "a2", "did:plc:alice",
	    "what is the price", &d), 1);
	assert_int_equal(d.action, ROUTE_DROP);
	assert_string_equal(d.rule, "muted");
	assert_false(seen(f->s, "a2"));
	/* Unmuted: heard again. */
	assert_int_equal(store_mute_clear(f->s, STORE_MUTE_GLOBAL,
	    "did:plc:alice"), 1);
	assert_int_equal(pipe_post(f->s, rt, "a2", "did:plc:alice",
	    "what is the price", &d), 1);
	assert_int_equal(d.action, ROUTE_TEAM);
	assert_true(seen(f->s, "a2"));
	assert_int_equal(count(f->s, NULL), 3);
	router_free(rt);
	config_free(cfg);
}

/* A draft for account on conversation c replying to post id (suffix). */
static int64_t
add_reply(struct store *s, const struct conversation *c, const char *id,
    enum reply_state state, const char *team, const char *account,
    const char *text)
{
	struct reply	 r;
	int64_t		 rid = -1;

	memset(&r, 0, sizeof(r));
	r.state = state;
	r.conversation = c->id;
	r.team = (char *)team;
	r.account = (char *)account;
	r.parent = mkpost(id, NULL, "ignored: the recorded post is used");
	r.text = (char *)text;
	r.user_id = (char *)"U1";
	r.user_name = (char *)"Ann";
	/* Ignored fields, set to see them ignored. */
	r.key = (char *)"not a key";
	r.attempts = 9;
	r.url = (char *)"https://nope";
	r.error = (char *)"nope";
	assert_int_equal(store_reply_add(s, &r, &rid), 0);
	post_free(r.parent);
	assert_true(rid > 0);
	return rid;
}

static void
expect_reply_state(struct store *s, int64_t id, enum reply_state state)
{
	struct reply	r;

	assert_int_equal(store_reply_get(s, id, &r), 1);
	assert_int_equal(r.state, state);
	reply_free(&r);
}

/* Draft, approved, tried, published; and one rejected, one failed. */
static void
test_reply_lifecycle(void **state)
{
	struct fixture		*f = *state;
	struct conversation	 c;
	struct reply		 r, h;
	struct strv		 accts;
	int64_t			 id, id2, before = now_wall_ms(), n;
	size_t			 i;

	assert_int_equal(record_text(f->s, "q0", NULL, "care", "my refund?"),
	    1);
	assert_int_equal(record_text(f->s, "q1", "q0", "care", "hello?"), 1);
	conv_of(f->s, "care", &c);
	id = add_reply(f->s, &c, "q1", REPLY_DRAFT, "care", "masto",
	    "Sorry! Sent today.");
	assert_int_equal(store_reply_get(f->s, id, &r), 1);
	assert_int_equal(r.id, id);
	assert_int_equal(r.state, REPLY_DRAFT);
	assert_int_equal(r.conversation, c.id);
	assert_string_equal(r.code, c.code);
	assert_string_equal(r.team, "care");
	assert_string_equal(r.account, "masto");
	assert_non_null(r.parent);
	assert_string_equal(r.parent->id,
	    "at://did:plc:alice/app.bsky.feed.post/q1");
	assert_string_equal(r.parent->text, "hello?");
	assert_string_equal(r.parent->reply_root,
	    "at://did:plc:alice/app.bsky.feed.post/q0");
	assert_string_equal(r.text, "Sorry! Sent today.");
	assert_int_equal(strlen(r.key), 32);
	assert_int_equal(strspn(r.key, "0123456789abcdef"), 32);
	assert_string_equal(r.user_id, "U1");
	assert_string_equal(r.user_name, "Ann");
	assert_null(r.approved_by);
	assert_int_equal(r.attempts, 0);
	assert_true(r.created_ms >= before && r.created_ms <= now_wall_ms());
	assert_null(r.url);
	assert_null(r.published_id);
	assert_null(r.error);

	/* A draft is not published. */
	assert_int_equal(store_reply_head(f->s, "masto", &h), 0);
	assert_int_equal(store_reply_accounts(f->s, &accts), 0);
	assert_int_equal(accts.n, 0);
	strv_free(&accts);

	assert_int_equal(store_reply_decide(f->s, id, true, "U7"), 0);
	assert_int_equal(store_reply_decide(f->s, id, true, "U8"), 1);
	assert_int_equal(store_reply_decide(f->s, id, false, "U8"), 1);
	assert_int_equal(store_reply_head(f->s, "masto", &h), 1);
	assert_int_equal(h.id, id);
	assert_int_equal(h.state, REPLY_PENDING);
	assert_string_equal(h.approved_by, "U7");
	assert_string_equal(h.key, r.key);	/* fixed at creation */
	assert_string_equal(h.parent->text, "hello?");
	reply_free(&h);
	assert_int_equal(store_reply_head(f->s, "bsky", &h), 0);
	assert_int_equal(store_reply_accounts(f->s, &accts), 0);
	assert_int_equal(accts.n, 1);
	assert_string_equal(accts.v[0], "masto");
	strv_free(&accts);

	/* A retry later stays at the head; waiting is the caller's. */
	assert_int_equal(store_reply_retry(f->s, id, before + 3600000,
	    "HTTP 502"), 0);
	assert_int_equal(store_reply_head(f->s, "masto", &h), 1);
	assert_int_equal(h.id, id);
	assert_int_equal(h.attempts, 1);
	assert_int_equal(h.next_try_ms, before + 3600000);
	assert_string_equal(h.error, "HTTP 502");
	reply_free(&h);
	assert_int_equal(store_reply_done(f->s, id, "https://m.example/@co/1",
	    "109"), 0);
	assert_int_equal(store_reply_head(f->s, "masto", &h), 0);
	assert_int_equal(store_reply_get(f->s, id, &h), 1);
	assert_int_equal(h.state, REPLY_DONE);
	assert_string_equal(h.url, "https://m.example/@co/1");
	assert_string_equal(h.published_id, "109");
	assert_int_equal(h.attempts, 1);
	reply_free(&h);
	reply_free(&r);
	reply_free(NULL);

	/* Rejected: never pending, and not decided twice. */
	id2 = add_reply(f->s, &c, "q0", REPLY_DRAFT, "care", "masto", "No.");
	assert_int_equal(store_reply_decide(f->s, id2, false, "U7"), 0);
	assert_int_equal(store_reply_get(f->s, id2, &r), 1);
	assert_int_equal(r.state, REPLY_REJECTED);
	assert_null(r.approved_by);
	assert_string_equal(r.parent->text, "my refund?");
	assert_int_equal(store_reply_decide(f->s, id2, true, "U7"), 1);
	assert_int_equal(store_reply_head(f->s, "masto", &h), 0);

	/* Queued pending directly, then failed for good. */
	id2 = add_reply(f->s, &c, "q0", REPLY_PENDING, "care", "masto", "Hi");
	assert_int_equal(store_reply_get(f->s, id2, &h), 1);
	assert_string_not_equal(h.key, r.key);	/* each its own */
	reply_free(&h);
	reply_free(&r);
	assert_int_equal(store_reply_decide(f->s, id2, true, "U7"), 1);
	assert_int_equal(store_reply_fail(f->s, id2, "422 too long"), 0);
	assert_int_equal(store_reply_get(f->s, id2, &r), 1);
	assert_int_equal(r.state, REPLY_FAILED);
	assert_string_equal(r.error, "422 too long");
	reply_free(&r);

	for (i = 0; i <= REPLY_REJECTED; i++) {
		assert_int_equal(store_reply_count(f->s, (enum reply_state)i,
		    &n), 0);
		assert_int_equal(n, i == REPLY_DONE || i == REPLY_FAILED ||
		    i == REPLY_REJECTED ? 1 : 0);
	}
	assert_int_equal(store_reply_count(f->s, (enum reply_state)99, &n),
	    -1);
	conversation_free(&c);
}

/* Oldest pending first, per account; an unreadable parent is failed. */
static void
test_reply_head_order(void **state)
{
	struct fixture		*f = *state;
	struct conversation	 c;
	struct reply		 h;
	struct strv		 accts;
	int64_t			 a, b, x;
	sqlite3			*raw;

	assert_int_equal(record_text(f->s, "h0", NULL, "care", "one"), 1);
	assert_int_equal(record_text(f->s, "h1", NULL, "care", "two"), 1);
	conv_of(f->s, "care", &c);
	x = add_reply(f->s, &c, "h1", REPLY_PENDING, "care", "masto", "x");
	a = add_reply(f->s, &c, "h0", REPLY_PENDING, "care", "masto", "a");
	b = add_reply(f->s, &c, "h0", REPLY_PENDING, "care", "bsky", "b");
	assert_int_equal(store_reply_accounts(f->s, &accts), 0);
	assert_int_equal(accts.n, 2);
	assert_string_equal(accts.v[0], "bsky");
	assert_string_equal(accts.v[1], "masto");
	strv_free(&accts);
	raw = raw_open(f->db);
	raw_exec(raw, "UPDATE posts SET json = '[' WHERE id LIKE '%/h1'");
	sqlite3_close(raw);
	assert_int_equal(store_reply_head(f->s, "masto", &h), 1);
	assert_int_equal(h.id, a);
	reply_free(&h);
	assert_int_equal(store_reply_get(f->s, x, &h), 1);
	assert_int_equal(h.state, REPLY_FAILED);
	assert_null(h.parent);
	assert_non_null(strstr(h.error, "unreadable"));
	reply_free(&h);
	assert_int_equal(store_reply_head(f->s, "bsky", &h), 1);
	assert_int_equal(h.id, b);
	assert_string_equal(h.text, "b");
	reply_free(&h);
	conversation_free(&c);
}

static void
test_replies_filter(void **state)
{
	struct fixture		*f = *state;
	struct conversation	 c, d;
	struct reply		*v;
	size_t			 n;
	int64_t			 c1, c2, c3, d1;

	assert_int_equal(record_text(f->s, "f0", NULL, "care", "care's"), 1);
	conv_of(f->s, "care", &c);
	assert_int_equal(record_text(f->s, "g0", NULL, "sales", "sales'"), 1);
	conv_of(f->s, "sales", &d);
	c1 = add_reply(f->s, &c, "f0", REPLY_DRAFT, "care", "masto", "c1");
	d1 = add_reply(f->s, &d, "g0", REPLY_DRAFT, "sales", "masto", "d1");
	c2 = add_reply(f->s, &c, "f0", REPLY_PENDING, "care", "masto", "c2");
	c3 = add_reply(f->s, &c, "f0", REPLY_DRAFT, "care", "bsky", "c3");

	/* A conversation's replies: all of them, whatever their state. */
	assert_int_equal(store_replies(f->s, c.id, NULL, REPLY_DRAFT, &v, &n),
	    0);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].id, c1);
	assert_int_equal(v[1].id, c2);
	assert_int_equal(v[1].state, REPLY_PENDING);
	assert_int_equal(v[2].id, c3);
	assert_string_equal(v[2].code, c.code);
	assert_string_equal(v[2].parent->text, "care's");
	replies_free(v, n);
	/* A team's drafts. */
	assert_int_equal(store_replies(f->s, 0, "care", REPLY_DRAFT, &v, &n),
	    0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].id, c1);
	assert_int_equal(v[1].id, c3);
	replies_free(v, n);
	assert_int_equal(store_replies(f->s, 0, "care", REPLY_PENDING, &v,
	    &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].id, c2);
	replies_free(v, n);
	assert_int_equal(store_replies(f->s, 0, "sales", REPLY_DRAFT, &v, &n),
	    0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].id, d1);
	assert_string_equal(v[0].code, d.code);
	replies_free(v, n);
	assert_int_equal(store_replies(f->s, 0, "sales", REPLY_DONE, &v, &n),
	    0);
	assert_int_equal(n, 0);
	assert_null(v);
	assert_int_equal(store_replies(f->s, d.id + c.id + 100, NULL,
	    REPLY_DRAFT, &v, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_replies(f->s, 0, NULL, REPLY_DRAFT, &v, &n),
	    -1);
	assert_int_equal(store_replies(f->s, 0, "care", (enum reply_state)7,
	    &v, &n), -1);
	conversation_free(&c);
	conversation_free(&d);
}

/* Unknown ids and bad replies get the answers store.h promises. */
static void
test_reply_unknown(void **state)
{
	struct fixture		*f = *state;
	struct conversation	 c;
	struct reply		 r;
	int64_t			 id = 5, n;

	assert_int_equal(store_reply_get(f->s, 999, &r), 0);
	assert_null(r.text);
	assert_int_equal(store_reply_head(f->s, "masto", &r), 0);
	assert_int_equal(store_reply_done(f->s, 999, "u", "i"), -1);
	assert_int_equal(store_reply_retry(f->s, 999, 1, "e"), -1);
	assert_int_equal(store_reply_fail(f->s, 999, "e"), -1);
	assert_int_equal(store_reply_decide(f->s, 999, true, "U1"), -1);

	assert_int_equal(record_text(f->s, "u0", NULL, "care", "hi"), 1);
	conv_of(f->s, "care", &c);
	memset(&r, 0, sizeof(r));
	r.state = REPLY_DRAFT;
	r.conversation = c.id;
	r.account = (char *)"masto";
	r.text = (char *)"hello";
	r.parent = mkpost("never-recorded", NULL, "x");
	assert_int_equal(store_reply_add(f->s, &r, &id), -1);
	assert_int_equal(id, 0);
	post_free(r.parent);
	r.parent = mkpost("u0", NULL, "x");
	r.conversation = c.id + 100;
	assert_int_equal(store_reply_add(f->s, &r, &id), -1);
	r.conversation = c.id;
	r.state = REPLY_DONE;
	assert_int_equal(store_reply_add(f->s, &r, &id), -1);
	r.state = REPLY_PENDING;
	r.text = NULL;
	assert_int_equal(store_reply_add(f->s, &r, &id), -1);
	r.text = (char *)"hello";
	r.account = NULL;
	assert_int_equal(store_reply_add(f->s, &r, &id), -1);
	r.account = (char *)"masto";
	assert_int_equal(store_reply_add(f->s, NULL, &id), -1);
	/* Still good as it is now: team and user are optional. */
	assert_int_equal(store_reply_add(f->s, &r, &id), 0);
	assert_true(id > 0);
	post_free(r.parent);
	assert_int_equal(store_reply_count(f->s, REPLY_PENDING, &n), 0);
	assert_int_equal(n, 1);
	conversation_free(&c);
}

/* A reply added in a burst that is rolled back was never queued. */
static void
test_reply_rollback(void **state)
{
	struct fixture		*f = *state;
	struct conversation	 c;
	struct reply		 r;
	int64_t			 id, n;

	assert_int_equal(record_text(f->s, "w0", NULL, "care", "hi"), 1);
	conv_of(f->s, "care", &c);
	assert_int_equal(store_begin(f->s), 0);
	id = add_reply(f->s, &c, "w0", REPLY_PENDING, "care", "masto", "hey");
	assert_int_equal(store_reply_get(f->s, id, &r), 1);
	reply_free(&r);
	store_rollback(f->s);
	assert_int_equal(store_reply_get(f->s, id, &r), 0);
	assert_int_equal(store_reply_head(f->s, "masto", &r), 0);
	assert_int_equal(store_reply_count(f->s, REPLY_PENDING, &n), 0);
	assert_int_equal(n, 0);
	/* Committed, it survives a reopen. */
	id = add_reply(f->s, &c, "w0", REPLY_PENDING, "care", "masto", "hey");
	store_close(f->s);
	f->s = store_open(f->dir, &(char *){ NULL });
	assert_non_null(f->s);
	expect_reply_state(f->s, id, REPLY_PENDING);
	conversation_free(&c);
}

static void
audit_add(struct store *s, int64_t time_ms, const char *text)
{
	struct audit_entry	e;

	memset(&e, 0, sizeof(e));
	e.time_ms = time_ms;
	e.user_id = (char *)"U1";
	e.user_name = (char *)"Ann";
	e.team = (char *)"care";
	e.code = (char *)"K7QX";
	e.action = (char *)"command";
	e.text = (char *)text;
	e.result = (char *)"ok";
	assert_int_equal(store_audit_add(s, &e), 0);
}

static void
test_audit(void **state)
{
	struct fixture		*f = *state;
	struct audit_entry	*v, e;
	size_t			 n;
	int64_t			 before = now_wall_ms();

	audit_add(f->s, 100, "show K7QX");
	audit_add(f->s, 300, "claim K7QX");
	audit_add(f->s, 200, "note K7QX called");
	audit_add(f->s, 300, "reply K7QX hi");
	memset(&e, 0, sizeof(e));
	e.action = (char *)"publish";
	e.text = (char *)"hi";
	e.result = (char *)"published https://m.example/1";
	assert_int_equal(store_audit_add(f->s, &e), 0);	/* now */

	assert_int_equal(store_audit_list(f->s, 0, 100, &v, &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(v[0].text, "show K7QX");
	assert_int_equal(v[0].time_ms, 100);
	assert_string_equal(v[0].user_id, "U1");
	assert_string_equal(v[0].user_name, "Ann");
	assert_string_equal(v[0].team, "care");
	assert_string_equal(v[0].code, "K7QX");
	assert_string_equal(v[0].action, "command");
	assert_string_equal(v[0].result, "ok");
	assert_string_equal(v[1].text, "note K7QX called");
	assert_string_equal(v[2].text, "claim K7QX");
	assert_string_equal(v[3].text, "reply K7QX hi");
	assert_true(v[2].id < v[3].id);
	assert_string_equal(v[4].action, "publish");
	assert_null(v[4].user_id);
	assert_null(v[4].team);
	assert_null(v[4].code);
	assert_true(v[4].time_ms >= before && v[4].time_ms <= now_wall_ms());
	audit_entries_free(v, n);

	/* The newest two, oldest first. */
	assert_int_equal(store_audit_list(f->s, 0, 2, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].text, "reply K7QX hi");
	assert_string_equal(v[1].action, "publish");
	audit_entries_free(v, n);
	/* Since 200, at most 3 of the newest: 300, 300, now. */
	assert_int_equal(store_audit_list(f->s, 200, 3, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].text, "claim K7QX");
	assert_string_equal(v[1].text, "reply K7QX hi");
	audit_entries_free(v, n);
	assert_int_equal(store_audit_list(f->s, 200, 10, &v, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(v[0].text, "note K7QX called");
	audit_entries_free(v, n);
	assert_int_equal(store_audit_list(f->s, now_wall_ms() + 60000, 10,
	    &v, &n), 0);
	assert_int_equal(n, 0);
	assert_null(v);
	assert_int_equal(store_audit_list(f->s, 0, 0, &v, &n), 0);
	assert_int_equal(n, 0);

	e.result = NULL;
	assert_int_equal(store_audit_add(f->s, &e), -1);
	e.result = (char *)"ok";
	e.action = NULL;
	assert_int_equal(store_audit_add(f->s, &e), -1);
	assert_int_equal(store_audit_add(f->s, NULL), -1);
}

#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_record_seen),
		T(test_record_twice),
		T(test_reply_joins_conversation),
		T(test_conversation_owner),
		T(test_codes_many_distinct),
		T(test_code_deterministic),
		T(test_code_redraw_on_collision),
		T(test_code_lookup_nocase),
		T(test_cursor),
		T(test_handles),
		T(test_post_roundtrip),
		T(test_outbox_order),
		T(test_outbox_retry_done_fail),
		T(test_outbox_skips_unreadable),
		T(test_outbox_unknown_id),
		T(test_outbox_threads),
		T(test_outbox_batch),
		T(test_rollback),
		T(test_transaction_nesting),
		T(test_record_atomic_in_burst),
		T(test_record_bad_input),
		T(test_record_autocommit),
		T(test_durability),
		T(test_wal_and_dir_mode),
		T(test_newer_version_refused),
		T(test_migrate_from_empty_file),
		T(test_not_a_database),
		T(test_memory_store),
		T(test_post_deleted),
		T(test_record_change),
		T(test_post_root),
		T(test_migrate_from_v1),
		T(test_conversation_by_code),
		T(test_conversation_set_team),
		T(test_conversation_status),
		T(test_conversations_open_order),
		T(test_conversation_posts),
		T(test_migrate_from_v2),
		T(test_migrate_from_v3),
		T(test_note_queue),
		T(test_conversation_claim),
		T(test_conversation_notes),
		T(test_baton),
		T(test_mutes),
		T(test_mutes_rollback),
		T(test_pipeline_muted),
		T(test_reply_lifecycle),
		T(test_reply_head_order),
		T(test_replies_filter),
		T(test_reply_unknown),
		T(test_reply_rollback),
		T(test_audit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
