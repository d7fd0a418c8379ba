/*
 * Watchers through the pipeline: which destinations a routed post is
 * queued to (the owner and each watching team, once), replies in a
 * watched conversation, mutes, and the notes watchers get when the
 * conversation is assigned, resolved or reopened.
 */
#include <ftw.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "cmd.h"
#include "pipeline.h"
#include "router.h"

#define URI(id)	"at://did:plc:alice/app.bsky.feed.post/" id

/*
 * rnd watches everything care owns and sales' refunds; pr watches
 * care's complaints; legal watches both teams and care's complaints
 * (its copy must come once); ops watches nobody.
 */
static const char test_pipeline_conf[] =
	"sources = ( { name = \"bluesky\"; type = \"jetstream\"; } );\n"
	"commands = { admins = [ \"UADMIN\" ]; };\n"
	"teams = (\n"
	"  { name = \"care\"; chat = { type = \"console\"; };\n"
	"    rules = ( { name = \"complaints\"; keywords = [ \"broken\" ]; },\n"
	"      { name = \"praise\"; keywords = [ \"love\" ]; } ); },\n"
	"  { name = \"sales\"; chat = { type = \"console\"; };\n"
	"    rules = ( { name = \"refunds\";\n"
	"      keywords = [ \"refund\" ]; } ); },\n"
	"  { name = \"rnd\"; chat = { type = \"console\"; };\n"
	"    watch = { teams = [ \"care\" ];\n"
	"      rules = [ \"sales/refunds\" ]; }; },\n"
	"  { name = \"pr\"; chat = { type = \"console\"; };\n"
	"    watch = { rules = [ \"care/complaints\" ]; }; },\n"
	"  { name = \"legal\"; chat = { type = \"console\"; };\n"
	"    watch = { teams = [ \"care\", \"sales\" ];\n"
	"      rules = [ \"care/complaints\" ]; }; },\n"
	"  { name = \"ops\"; chat = { type = \"console\"; }; }\n"
	");\n";

struct fixture {
	char		 dir[64];
	struct config	*config;
	struct router	*router;
	struct store	*store;
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
	struct fixture		*f = xcalloc(1, sizeof(*f));
	struct cfg_errors	 errs;
	char			*path, *cause = NULL;
	FILE			*fp;

	strcpy(f->dir, "/tmp/sb-pipeline-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		fail_msg("mkdtemp failed");
	path = xasprintf("%s/switchboard.conf", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_true(fputs(test_pipeline_conf, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	cfg_errors_init(&errs);
	f->config = config_load(path, &errs);
	if (f->config == NULL)
		fail_msg("config: %s", errs.msgs.n > 0 ? errs.msgs.v[0] : "?");
	cfg_errors_free(&errs);
	free(path);
	f->router = router_new(f->config, &cause);
	if (f->router == NULL)
		fail_msg("router: %s", cause);
	f->store = store_open(":memory:", &cause);
	if (f->store == NULL)
		fail_msg("store_open: %s", cause);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	store_close(f->store);
	router_free(f->router);
	config_free(f->config);
	nftw(f->dir, fixture_rm, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Route one post (a reply when root is set); returns the decision. */
static struct decision
route(struct fixture *f, const char *id, const char *root,
    const char *author, const char *text)
{
	struct post	*p = post_new();
	struct decision	 d;

	p->platform = xstrdup("bluesky");
	p->id = xstrdup(id);
	p->author = xstrdup(author);
	p->text = xstrdup(text);
	p->time_us = 1714557600000000LL;
	if (root != NULL) {
		p->reply_root = xstrdup(root);
		p->reply_parent = xstrdup(root);
	}
	assert_int_equal(pipeline_post(f->store, f->router, p, &d), 1);
	post_free(p);
	return d;
}

/*
 * Every pending delivery of dest, taken off the queue, as lines
 * "post TEAM RULE ID" or "note TEXT" (code replaced by "CODE").
 */
static void
take(struct fixture *f, const char *dest, struct strv *out)
{
	struct delivery	 d;
	char		*line, *at;

	strv_init(out);
	while (store_outbox_head(f->store, dest, &d) == 1) {
		assert_string_equal(d.destination, dest);
		if (d.kind == DELIVERY_NOTE) {
			line = xasprintf("note %s", d.note);
			at = strstr(line, d.code);
			if (at != NULL)
				memcpy(at, "CODE", 4);
		} else
			line = xasprintf("post %s %s %s", d.team, d.rule,
			    d.post->id);
		strv_take(out, line);
		assert_int_equal(store_outbox_done(f->store, d.id, NULL), 0);
		delivery_free(&d);
	}
}

/* Empty dest's queue. */
static void
drop(struct fixture *f, const char *dest)
{
	struct strv	got;

	take(f, dest, &got);
	strv_free(&got);
}

static void
assert_lines(struct fixture *f, const char *dest, size_t n, ...)
{
	struct strv	got;
	va_list		ap;
	size_t		i;

	take(f, dest, &got);
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		const char *want = va_arg(ap, const char *);

		if (i >= got.n || strcmp(got.v[i], want) != 0)
			fail_msg("%s[%zu]: want \"%s\", got \"%s\"", dest, i,
			    want, i < got.n ? got.v[i] : "(none)");
	}
	va_end(ap);
	if (got.n != n)
		fail_msg("%s: %zu deliveries, want %zu", dest, got.n, n);
	strv_free(&got);
}

/* A post routed by a watched rule of a watched team. */
static void
test_watch_copies(void **state)
{
	struct fixture	*f = *state;
	struct decision	 d;

	d = route(f, URI("1"), NULL, "did:plc:bob", "the app is broken");
	assert_int_equal(d.action, ROUTE_TEAM);
	assert_string_equal(d.team, "care");
	assert_lines(f, "care", 1, "post care care/complaints " URI("1"));
	/* Copies say who owns it: the owning team stays care. */
	assert_lines(f, "rnd", 1, "post care care/complaints " URI("1"));
	assert_lines(f, "pr", 1, "post care care/complaints " URI("1"));
	/* Watching the team and the rule: one copy. */
	assert_lines(f, "legal", 1, "post care care/complaints " URI("1"));
	assert_lines(f, "ops", 0);

	/* Another rule of care: its team watchers only. */
	route(f, URI("2"), NULL, "did:plc:bob", "love it");
	assert_lines(f, "care", 1, "post care care/praise " URI("2"));
	assert_lines(f, "rnd", 1, "post care care/praise " URI("2"));
	assert_lines(f, "legal", 1, "post care care/praise " URI("2"));
	assert_lines(f, "pr", 0);

	/* A watched rule of an otherwise unwatched (by rnd) team. */
	route(f, URI("3"), NULL, "did:plc:bob", "refund now");
	assert_lines(f, "sales", 1, "post sales sales/refunds " URI("3"));
	assert_lines(f, "rnd", 1, "post sales sales/refunds " URI("3"));
	assert_lines(f, "legal", 1, "post sales sales/refunds " URI("3"));
	assert_lines(f, "pr", 0);
}

/* A reply in the thread counts under the conversation's first rule. */
static void
test_watch_thread(void **state)
{
	struct fixture	*f = *state;
	struct decision	 d;

	route(f, URI("1"), NULL, "did:plc:bob", "the app is broken");
	assert_lines(f, "pr", 1, "post care care/complaints " URI("1"));
	d = route(f, URI("2"), URI("1"), "did:plc:carol", "same here");
	assert_string_equal(d.rule, "thread");
	assert_lines(f, "pr", 1, "post care thread " URI("2"));
	assert_lines(f, "rnd", 2, "post care care/complaints " URI("1"),
	    "post care thread " URI("2"));
	assert_lines(f, "care", 2, "post care care/complaints " URI("1"),
	    "post care thread " URI("2"));
}

/* A watcher that muted the author gets no copy; the owner still does. */
static void
test_watch_muted(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(store_mute_set(f->store, "rnd", "did:plc:troll",
	    "U1"), 1);
	route(f, URI("1"), NULL, "did:plc:troll", "broken broken broken");
	assert_lines(f, "care", 1, "post care care/complaints " URI("1"));
	assert_lines(f, "rnd", 0);
	assert_lines(f, "pr", 1, "post care care/complaints " URI("1"));
}

static char *
run(struct fixture *f, const char *text)
{
	struct cmd_ctx	 ctx;
	char		*out;

	cmd_ctx_init(&ctx, f->store, f->config);
	ctx.platform = SLASH_MATTERMOST;
	ctx.channel_id = "";
	ctx.user_id = "UADMIN";
	ctx.user_name = "alice";
	assert_int_equal(cmd_run(&ctx, text), CMD_OK);
	out = xstrdup(ctx.out.data);
	cmd_ctx_clear(&ctx);
	assert_int_equal(store_commit(f->store), 0);
	return out;
}

/* Watchers that got copies hear of assign, resolve and reopen. */
static void
test_watch_notes(void **state)
{
	struct fixture		*f = *state;
	struct conversation	 c;
	char			*cmd, *out;

	route(f, URI("1"), NULL, "did:plc:bob", "the app is broken");
	assert_int_equal(store_conversation_origin(f->store, "bluesky",
	    URI("1"), &c.id, NULL), 1);
	assert_int_equal(store_conversation_get(f->store, c.id, &c), 1);
	assert_string_equal(c.first_rule, "care/complaints");
	drop(f, "care");
	drop(f, "rnd");
	drop(f, "pr");
	drop(f, "legal");

	cmd = xasprintf("assign %s sales", c.code);
	free(run(f, cmd));
	free(cmd);
	assert_lines(f, "rnd", 1, "note CODE now belongs to sales");
	assert_lines(f, "pr", 1, "note CODE now belongs to sales");
	assert_lines(f, "legal", 1, "note CODE now belongs to sales");
	assert_lines(f, "ops", 0);
	/* The new owner hears it its own way; the old one is no watcher. */
	assert_lines(f, "sales", 1, "note CODE was assigned to you by alice "
	    "(from care)");
	assert_lines(f, "care", 0);

	/* Later posts: sales and its watchers, and the first rule's. */
	route(f, URI("2"), URI("1"), "did:plc:carol", "still broken");
	assert_lines(f, "sales", 1, "post sales thread " URI("2"));
	assert_lines(f, "legal", 1, "post sales thread " URI("2"));
	assert_lines(f, "pr", 1, "post sales thread " URI("2"));
	assert_lines(f, "rnd", 0);
	assert_lines(f, "care", 0);

	cmd = xasprintf("resolve %s", c.code);
	out = run(f, cmd);
	free(cmd);
	assert_non_null(strstr(out, "resolved"));
	free(out);
	assert_lines(f, "rnd", 1, "note CODE resolved by alice");
	assert_lines(f, "pr", 1, "note CODE resolved by alice");
	assert_lines(f, "legal", 1, "note CODE resolved by alice");
	assert_lines(f, "sales", 0);

	cmd = xasprintf("reopen %s", c.code);
	free(run(f, cmd));
	free(cmd);
	assert_lines(f, "rnd", 1, "note CODE reopened by alice");
	assert_lines(f, "pr", 1, "note CODE reopened by alice");
	assert_lines(f, "legal", 1, "note CODE reopened by alice");
	assert_lines(f, "ops", 0);
	conversation_free(&c);
}

/* Nobody watching: one destination, and no notes to anyone else. */
static void
test_watch_none(void **state)
{
	struct fixture		*f = *state;
	struct strv		 w;
	int64_t			 id;

	route(f, URI("1"), NULL, "did:plc:bob", "refund now");
	assert_int_equal(store_conversation_origin(f->store, "bluesky",
	    URI("1"), &id, NULL), 1);
	assert_int_equal(store_conversation_watchers(f->store, id, &w), 0);
	assert_int_equal(w.n, 2);
	assert_string_equal(w.v[0], "legal");
	assert_string_equal(w.v[1], "rnd");
	strv_free(&w);
	assert_int_equal(store_conversation_origin(f->store, "bluesky",
	    URI("nope"), &id, NULL), 0);
	assert_int_equal(store_conversation_watchers(f->store, 999, &w), 0);
	assert_int_equal(w.n, 0);
	strv_free(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_watch_copies, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_watch_thread, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_watch_muted, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_watch_notes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_watch_none, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
