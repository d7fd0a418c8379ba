/* Unit tests for the command table and the conversation commands. */
#include <ftw.h>
#include <jansson.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "cmd.h"
#include "pipeline.h"
#include "router.h"

#define URI(id)	"at://did:plc:alice/app.bsky.feed.post/" id

static const char test_cmd_conf[] =
	"sources = ( { name = \"bluesky\"; type = \"jetstream\"; } );\n"
	"teams = (\n"
	"  { name = \"care\";\n"
	"    chat = { type = \"console\"; channel_id = \"C0CARE\"; };\n"
	"    rules = ( { name = \"refunds\";\n"
	"      keywords = [ \"refund\" ]; } ); },\n"
	"  { name = \"sales\";\n"
	"    chat = { type = \"console\"; channel_id = \"C0SALES\"; };\n"
	"    rules = ( { name = \"prices\"; keywords = [ \"price\" ]; } ); },\n"
	"  { name = \"rnd\"; chat = { type = \"console\"; }; }\n"
	");\n";

/* Each test: a config from a file in its own directory, a fresh store. */
struct fixture {
	char		 dir[64];
	struct config	*config;
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

/* Load text as a config file in dir; NULL with the errors in errs. */
static struct config *
load_conf(const char *dir, const char *text, struct cfg_errors *errs)
{
	struct config	*c;
	char		*path;
	FILE		*fp;

	path = xasprintf("%s/switchboard.conf", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	cfg_errors_init(errs);
	c = config_load(path, errs);
	free(path);
	return c;
}

static int
setup(void **state)
{
	struct fixture		*f = xcalloc(1, sizeof(*f));
	struct cfg_errors	 errs;
	char			*cause = NULL;

	strcpy(f->dir, "/tmp/sb-cmd-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		fail_msg("mkdtemp failed");
	f->config = load_conf(f->dir, test_cmd_conf, &errs);
	if (f->config == NULL)
		fail_msg("config: %s", errs.msgs.n > 0 ? errs.msgs.v[0] : "?");
	cfg_errors_free(&errs);
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
	config_free(f->config);
	nftw(f->dir, fixture_rm, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static struct post *
mkpost(const char *id, const char *root, const char *text)
{
	struct post	*p = post_new();

	p->platform = xstrdup("bluesky");
	p->id = xstrdup(id);
	p->author = xstrdup("did:plc:alice");
	p->author_handle = xstrdup("alice.test");
	p->text = xstrdup(text);
	p->created_at = xstrdup("2024-05-01T10:00:00.000Z");
	p->time_us = 1714557600000000LL;
	strv_add(&p->langs, "en");
	if (root != NULL) {
		p->reply_root = xstrdup(root);
		p->reply_parent = xstrdup(root);
	}
	return p;
}

/* Record a post for team directly, as the pipeline would. */
static void
record(struct fixture *f, const char *id, const char *root,
    const char *team, const char *text)
{
	struct post	*p = mkpost(id, root, text);
	const char	*dest[1] = { team };

	assert_int_equal(store_record(f->store, p, team, "t/r", dest, 1), 1);
	post_free(p);
}

/* The code of the open conversation rooted at root (caller frees). */
static char *
code_of(struct fixture *f, const char *team, const char *root)
{
	struct conversation	*v;
	size_t			 n, i;
	char			*code = NULL;

	assert_int_equal(store_conversations_open(f->store, team, &v, &n), 0);
	for (i = 0; i < n; i++)
		if (strcmp(v[i].root, root) == 0)
			code = xstrdup(v[i].code);
	conversations_free(v, n);
	assert_non_null(code);
	return code;
}

static char *
lower(const char *s)
{
	char	*t = xstrdup(s), *c;

	for (c = t; *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return t;
}

/* Run text from channel; the answer (caller frees) and *rc. */
static char *
run(struct fixture *f, const char *channel, const char *text,
    enum cmd_retval *rc)
{
	struct cmd_ctx	 ctx;
	char		*out;

	cmd_ctx_init(&ctx, f->store, f->config);
	ctx.command = "/sb";
	ctx.channel_id = channel;
	ctx.user_id = "U0TEST";
	*rc = cmd_run(&ctx, text);
	out = xstrdup(ctx.out.data != NULL ? ctx.out.data : "");
	cmd_ctx_clear(&ctx);
	return out;
}

/* Run and compare the whole answer and the result. */
static void
expect(struct fixture *f, const char *channel, const char *text,
    enum cmd_retval want_rc, const char *want)
{
	enum cmd_retval	 rc;
	char		*got;

	got = run(f, channel, text, &rc);
	if (strcmp(got, want) != 0)
		fail_msg("\"%s\": got\n%s\nwant\n%s", text, got, want);
	assert_int_equal(rc, want_rc);
	free(got);
}

static void
test_split(void **state)
{
	struct strv	v;

	(void)state;
	cmd_split("  show \t K7QX \n", -1, false, &v);
	assert_int_equal(v.n, 2);
	assert_string_equal(v.v[0], "show");
	assert_string_equal(v.v[1], "K7QX");
	strv_free(&v);
	cmd_split("K7QX  thanks,  we are  on it  \n", 2, true, &v);
	assert_int_equal(v.n, 2);
	assert_string_equal(v.v[0], "K7QX");
	assert_string_equal(v.v[1], "thanks,  we are  on it");
	strv_free(&v);
	cmd_split("K7QX", 2, true, &v);
	assert_int_equal(v.n, 1);
	strv_free(&v);
	cmd_split(" \t ", -1, false, &v);
	assert_int_equal(v.n, 0);
	strv_free(&v);
	cmd_split(NULL, -1, false, &v);
	assert_int_equal(v.n, 0);
	strv_free(&v);
}

static void
test_help_and_unknown(void **state)
{
	struct fixture	*f = *state;
	static const char all[] =
	    "switchboard commands:\n"
	    "/sb show CODE\n"
	    "/sb assign CODE TEAM\n"
	    "/sb resolve CODE\n"
	    "/sb reopen CODE\n"
	    "/sb queue\n"
	    "/sb help [command]";
	static const char list[] =
	    "commands: show, assign, resolve, reopen, queue, help; "
	    "/sb help COMMAND for its usage";
	char		*want;

	expect(f, "C0CARE", "", CMD_OK, all);
	expect(f, "C0CARE", "  help ", CMD_OK, all);
	expect(f, "C0CARE", "help assign", CMD_OK,
	    "usage: /sb assign CODE TEAM");
	want = xasprintf("unknown command \"frobnicate\"\n%s", list);
	expect(f, "C0CARE", "frobnicate now", CMD_ERROR, want);
	free(want);
	/* Exact names only: no case folding, no prefixes. */
	want = xasprintf("unknown command \"Show\"\n%s", list);
	expect(f, "C0CARE", "Show K7QX", CMD_ERROR, want);
	free(want);
	want = xasprintf("unknown command \"sh\"\n%s", list);
	expect(f, "C0CARE", "sh K7QX", CMD_ERROR, want);
	free(want);
	/* What the user typed comes back escaped for Slack. */
	want = xasprintf("unknown command \"&lt;!channel&gt;\"\n%s", list);
	expect(f, "C0CARE", "<!channel>", CMD_ERROR, want);
	free(want);
	want = xasprintf("unknown command \"x\"\n%s", list);
	expect(f, "C0CARE", "help x", CMD_ERROR, want);
	free(want);
}

static void
test_arity(void **state)
{
	struct fixture	*f = *state;
	struct cmd_ctx	 ctx;

	expect(f, "C0CARE", "show", CMD_ERROR, "usage: /sb show CODE");
	expect(f, "C0CARE", "show A B", CMD_ERROR, "usage: /sb show CODE");
	expect(f, "C0CARE", "assign A", CMD_ERROR,
	    "usage: /sb assign CODE TEAM");
	expect(f, "C0CARE", "assign A care extra", CMD_ERROR,
	    "usage: /sb assign CODE TEAM");
	expect(f, "C0CARE", "resolve", CMD_ERROR, "usage: /sb resolve CODE");
	expect(f, "C0CARE", "reopen a b", CMD_ERROR,
	    "usage: /sb reopen CODE");
	expect(f, "C0CARE", "queue all", CMD_ERROR, "usage: /sb queue");
	expect(f, "C0CARE", "help a b", CMD_ERROR,
	    "usage: /sb help [command]");

	/* The usage names the command as the user's chat calls it. */
	cmd_ctx_init(&ctx, f->store, f->config);
	ctx.command = "/switchboard";
	assert_int_equal(cmd_run(&ctx, "show"), CMD_ERROR);
	assert_string_equal(ctx.out.data, "usage: /switchboard show CODE");
	cmd_ctx_clear(&ctx);
}

static void
test_not_yet(void **state)
{
	struct fixture		*f = *state;
	static const char *const names[] = {
		"reply", "claim", "baton", "mute", "drafts"
	};
	char			*text, *want;
	size_t			 i;

	for (i = 0; i < nitems(names); i++) {
		text = xasprintf("%s K7QX thanks, we are on it", names[i]);
		want = xasprintf("%s: not available yet", names[i]);
		expect(f, "C0CARE", text, CMD_ERROR, want);
		free(text);
		free(want);
		want = xasprintf("%s: not available yet", names[i]);
		expect(f, "C0CARE", names[i], CMD_ERROR, want);
		free(want);
	}
}

static void
test_show(void **state)
{
	struct fixture	*f = *state;
	struct cmd_ctx	 ctx;
	struct buf	 want;
	char		*code, *lc, *id, *text;
	size_t		 i;

	record(f, URI("r0"), NULL, "care", "my refund <is> late & lost");
	for (i = 1; i < 12; i++) {
		id = xasprintf(URI("r%zu"), i);
		text = xasprintf("reply %zu\nsecond line", i);
		record(f, id, URI("r0"), "care", text);
		free(id);
		free(text);
	}
	/* A long post is cut at 100 characters (the last one "…"). */
	buf_init(&want);
	for (i = 0; i < 102; i++)
		buf_adds(&want, "é");
	buf_adds(&want, "tail");
	record(f, URI("long"), NULL, "care", want.data);
	buf_reset(&want);
	assert_int_equal(store_post_deleted(f->store, "bluesky", URI("r2")),
	    0);
	code = code_of(f, "care", URI("r0"));
	buf_printf(&want, "%s: care, open, 12 posts\n", code);
	buf_printf(&want, "1. @alice.test: my refund &lt;is&gt; late &amp; "
	    "lost\n");
	for (i = 1; i < 10; i++)
		buf_printf(&want, "%zu. @alice.test: reply %zu second line%s\n",
		    i + 1, i, i == 2 ? " (deleted by its author)" : "");
	buf_printf(&want, "(2 later posts not shown)");
	/* Codes are case-insensitive; show works from any channel. */
	lc = lower(code);
	text = xasprintf("show %s", lc);
	expect(f, "C0SALES", text, CMD_OK, want.data);
	free(text);
	free(lc);

	/* Mattermost shows text as it is. */
	cmd_ctx_init(&ctx, f->store, f->config);
	ctx.platform = SLASH_MATTERMOST;
	text = xasprintf("show %s", code);
	assert_int_equal(cmd_run(&ctx, text), CMD_OK);
	assert_non_null(strstr(ctx.out.data,
	    "1. @alice.test: my refund <is> late & lost\n"));
	cmd_ctx_clear(&ctx);
	free(text);
	free(code);

	code = code_of(f, "care", URI("long"));
	buf_reset(&want);
	buf_printf(&want, "%s: care, open, 1 post\n1. @alice.test: ", code);
	for (i = 0; i < 99; i++)
		buf_adds(&want, "é");
	buf_adds(&want, "…");
	text = xasprintf("show %s", code);
	expect(f, "C0CARE", text, CMD_OK, want.data);
	free(text);
	free(code);
	expect(f, "C0CARE", "show NOPE9", CMD_ERROR,
	    "no conversation with code \"NOPE9\"");
	buf_free(&want);
}

/* An assigned conversation's next reply goes to the new team. */
static void
test_assign(void **state)
{
	struct fixture	*f = *state;
	struct router	*rt;
	struct decision	 d;
	struct post	*p;
	char		*code, *cmd, *want, *owner = NULL;
	char		*cause = NULL;

	rt = router_new(f->config, &cause);
	assert_non_null(rt);
	p = mkpost(URI("a0"), NULL, "where is my refund");
	assert_int_equal(pipeline_post(f->store, rt, p, &d), 1);
	assert_string_equal(d.team, "care");
	post_free(p);
	code = code_of(f, "care", URI("a0"));

	want = xasprintf("%s: care → sales; its next posts go to sales",
	    code);
	cmd = xasprintf("assign %s sales", code);
	expect(f, "C0CARE", cmd, CMD_OK, want);
	free(cmd);
	free(want);
	assert_int_equal(store_conversation_owner(f->store, "bluesky",
	    URI("a0"), &owner), 1);
	assert_string_equal(owner, "sales");
	free(owner);
	/* The reply matches care's rule, but the thread is sales' now. */
	p = mkpost(URI("a1"), URI("a0"), "still no refund");
	assert_int_equal(pipeline_post(f->store, rt, p, &d), 1);
	assert_string_equal(d.team, "sales");
	assert_string_equal(d.rule, "thread");
	post_free(p);

	want = xasprintf("%s already belongs to sales", code);
	cmd = xasprintf("assign %s sales", code);
	expect(f, "C0CARE", cmd, CMD_OK, want);
	free(cmd);
	free(want);
	cmd = xasprintf("assign %s ops", code);
	expect(f, "C0CARE", cmd, CMD_ERROR,
	    "no team named \"ops\" (teams: care, sales, rnd)");
	free(cmd);
	/* Team names are exact, as in the config. */
	cmd = xasprintf("assign %s Sales", code);
	expect(f, "C0CARE", cmd, CMD_ERROR,
	    "no team named \"Sales\" (teams: care, sales, rnd)");
	free(cmd);
	expect(f, "C0CARE", "assign NOPE9 care", CMD_ERROR,
	    "no conversation with code \"NOPE9\"");
	router_free(rt);
	free(code);
}

static void
test_resolve_reopen(void **state)
{
	struct fixture	*f = *state;
	char		*code, *lc, *cmd, *want;

	record(f, URI("s0"), NULL, "care", "refund please");
	code = code_of(f, "care", URI("s0"));
	lc = lower(code);

	cmd = xasprintf("resolve %s", lc);
	want = xasprintf("%s resolved", code);
	expect(f, "C0CARE", cmd, CMD_OK, want);
	free(want);
	want = xasprintf("%s is already resolved", code);
	expect(f, "C0CARE", cmd, CMD_OK, want);
	free(want);
	free(cmd);
	expect(f, "C0CARE", "queue", CMD_OK, "care: no open conversations");
	want = xasprintf("%s: care, resolved, 1 post\n"
	    "1. @alice.test: refund please", code);
	cmd = xasprintf("show %s", code);
	expect(f, "C0CARE", cmd, CMD_OK, want);
	free(cmd);
	free(want);

	cmd = xasprintf("reopen %s", lc);
	want = xasprintf("%s reopened", code);
	expect(f, "C0CARE", cmd, CMD_OK, want);
	free(want);
	want = xasprintf("%s is already open", code);
	expect(f, "C0CARE", cmd, CMD_OK, want);
	free(want);
	free(cmd);
	expect(f, "C0CARE", "resolve NOPE9", CMD_ERROR,
	    "no conversation with code \"NOPE9\"");
	expect(f, "C0CARE", "reopen NOPE9", CMD_ERROR,
	    "no conversation with code \"NOPE9\"");
	free(lc);
	free(code);
}

static void
test_queue(void **state)
{
	struct fixture	*f = *state;
	char		*a, *b, *c, *cmd, *want;

	record(f, URI("q0"), NULL, "care", "first <refund>");
	record(f, URI("q1"), NULL, "sales", "a price question");
	record(f, URI("q2"), NULL, "care", "second refund");
	record(f, URI("q3"), URI("q0"), "care", "more on the first");
	record(f, URI("q4"), NULL, "care", "third\nrefund");
	a = code_of(f, "care", URI("q0"));
	b = code_of(f, "care", URI("q2"));
	c = code_of(f, "care", URI("q4"));

	want = xasprintf("care: 3 open conversations, oldest first:\n"
	    "%s (2 posts) @alice.test: first &lt;refund&gt;\n"
	    "%s (1 post) @alice.test: second refund\n"
	    "%s (1 post) @alice.test: third refund", a, b, c);
	expect(f, "C0CARE", "queue", CMD_OK, want);
	/* Resolving and reopening keeps a conversation's place. */
	cmd = xasprintf("resolve %s", a);
	free(run(f, "C0CARE", cmd, &(enum cmd_retval){ CMD_OK }));
	free(cmd);
	cmd = xasprintf("reopen %s", a);
	free(run(f, "C0CARE", cmd, &(enum cmd_retval){ CMD_OK }));
	free(cmd);
	expect(f, "C0CARE", "queue", CMD_OK, want);
	free(want);
	/* The queue is the team's whose channel it is. */
	want = code_of(f, "sales", URI("q1"));
	cmd = xasprintf("sales: 1 open conversation, oldest first:\n"
	    "%s (1 post) @alice.test: a price question", want);
	expect(f, "C0SALES", "queue", CMD_OK, cmd);
	free(cmd);
	free(want);
	expect(f, "C0OTHER", "queue", CMD_ERROR,
	    "this channel belongs to no team");
	expect(f, "", "queue", CMD_ERROR, "this channel belongs to no team");
	free(a);
	free(b);
	free(c);
}

static void
test_answer_json(void **state)
{
	json_error_t	 err;
	json_t		*o;
	char		*s;

	(void)state;
	s = cmd_answer_json("K7QX: care → sales\n\"quoted\"", false);
	assert_non_null(s);
	o = json_loads(s, 0, &err);
	assert_non_null(o);
	assert_int_equal(json_object_size(o), 2);
	assert_string_equal(json_string_value(json_object_get(o,
	    "response_type")), "ephemeral");
	assert_string_equal(json_string_value(json_object_get(o, "text")),
	    "K7QX: care → sales\n\"quoted\"");
	json_decref(o);
	free(s);
}

/* channel_id: optional, not empty, one team per channel. */
static void
test_config_channel(void **state)
{
	struct fixture		*f = *state;
	struct cfg_errors	 errs;
	struct config		*c;
	static const char	 dup[] =
	    "sources = ( { name = \"bluesky\"; type = \"jetstream\"; } );\n"
	    "teams = (\n"
	    "  { name = \"care\"; chat = { type = \"console\";\n"
	    "    channel_id = \"C1\"; }; },\n"
	    "  { name = \"sales\"; chat = { type = \"console\";\n"
	    "    channel_id = \"C1\"; }; },\n"
	    "  { name = \"rnd\"; chat = { type = \"console\";\n"
	    "    channel_id = \"\"; }; }\n"
	    ");\n";

	assert_string_equal(config_team_by_channel(f->config,
	    "C0SALES")->name, "sales");
	assert_null(config_team_by_channel(f->config, "C0NONE"));
	assert_null(config_team_by_channel(f->config, ""));
	assert_null(config_team_by_channel(f->config, NULL));
	assert_null(config_team(f->config, "rnd")->chat.channel_id);

	c = load_conf(f->dir, dup, &errs);
	assert_null(c);
	if (errs.msgs.n != 2)
		fail_msg("%zu errors, first: %s", errs.msgs.n,
		    errs.msgs.n > 0 ? errs.msgs.v[0] : "");
	assert_non_null(strstr(errs.msgs.v[0], "switchboard.conf:6: "));
	assert_non_null(strstr(errs.msgs.v[0],
	    "channel \"C1\" already belongs to team \"care\""));
	assert_non_null(strstr(errs.msgs.v[1], "switchboard.conf:8: "));
	assert_non_null(strstr(errs.msgs.v[1], "must not be empty"));
	cfg_errors_free(&errs);
}

#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_split),
		T(test_help_and_unknown),
		T(test_arity),
		T(test_not_yet),
		T(test_show),
		T(test_assign),
		T(test_resolve_reopen),
		T(test_queue),
		T(test_answer_json),
		T(test_config_channel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
