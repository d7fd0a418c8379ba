/* Unit tests for the command table and the conversation commands. */
#include <ftw.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "cmd.h"
#include "pipeline.h"
#include "router.h"

#define URI(id)	"at://did:plc:alice/app.bsky.feed.post/" id

#define NPUB	"npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg"
#define NPUB_HEX "7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e"

/*
 * Three teams.  care has a Bluesky and a Mastodon account, every role,
 * a code of conduct and a private policy; sales shares the Bluesky
 * account and lets everyone in its channel publish; rnd has no channel.
 */
static const char test_cmd_conf[] =
	"sources = ( { name = \"bluesky\"; type = \"jetstream\"; } );\n"
	"accounts = (\n"
	"  { name = \"acme-bsky\"; type = \"bluesky\";\n"
	"    identifier = \"acme.example.com\";\n"
	"    app_password = \"aaaa-bbbb-cccc-dddd\"; },\n"
	"  { name = \"acme-masto\"; type = \"mastodon\";\n"
	"    base_url = \"https://social.example\";\n"
	"    access_token = \"token\"; max_length = 60; }\n"
	");\n"
	"commands = { admins = [ \"UADMIN\" ]; };\n"
	"teams = (\n"
	"  { name = \"care\";\n"
	"    chat = { type = \"console\"; channel_id = \"C0CARE\"; };\n"
	"    reply = {\n"
	"      accounts = [ \"acme-bsky\", \"acme-masto\" ];\n"
	"      publishers = [ \"UPUB\", \"@pub2\" ];\n"
	"      drafters = [ \"UDRAFT\", \"draft2\" ];\n"
	"      spokespeople = [ \"USPOKE\" ];\n"
	"      managers = [ \"UMGR\" ];\n"
	"      blocked_words = [ \"darn\" ];\n"
	"      allowed_domains = [ \"acme.example\" ];\n"
	"      private_rules = [ \"privacy\" ];\n"
	"      private_invitation = \"Please write to privacy@acme.example\";\n"
	"    };\n"
	"    rules = ( { name = \"refunds\";\n"
	"      keywords = [ \"refund\" ]; },\n"
	"      { name = \"privacy\"; keywords = [ \"gdpr\" ]; } ); },\n"
	"  { name = \"sales\";\n"
	"    chat = { type = \"console\"; channel_id = \"C0SALES\"; };\n"
	"    reply = { accounts = [ \"acme-bsky\" ]; publishers = [ \"*\" ];\n"
	"      managers = [ \"UMGRS\" ]; };\n"
	"    rules = ( { name = \"prices\"; keywords = [ \"price\" ]; } ); },\n"
	"  { name = \"rnd\"; chat = { type = \"console\"; }; }\n"
	");\n";

/* Chat users: user id, name. */
#define SPOKE	"USPOKE", "spoke"
#define PUB	"UPUB", "pub"
#define PUB2	"UPUB2", "pub2"
#define DRAFT	"UDRAFT", "draft"
#define DRAFT2	"UDRAFT2", "draft2"
#define MGR	"UMGR", "mgr"
#define MGRS	"UMGRS", "mgrs"
#define ADMIN	"UADMIN", "admin"
#define STRANGER "USTRANGER", "stranger"

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
mkpost_on(const char *platform, const char *id, const char *root,
    const char *text)
{
	struct post	*p = post_new();

	p->platform = xstrdup(platform);
	p->id = xstrdup(id);
	if (strcmp(platform, "mastodon") == 0) {
		p->author = xstrdup("109876");
		p->author_handle = xstrdup("bob@social.example");
	} else {
		p->author = xstrdup("did:plc:alice");
		p->author_handle = xstrdup("alice.test");
	}
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

static struct post *
mkpost(const char *id, const char *root, const char *text)
{
	return mkpost_on("bluesky", id, root, text);
}

/* Record a post for team by rule directly, as the pipeline would. */
static void
record_on(struct fixture *f, const char *platform, const char *id,
    const char *root, const char *team, const char *rule, const char *text)
{
	struct post	*p = mkpost_on(platform, id, root, text);
	const char	*dest[1] = { team };

	assert_int_equal(store_record(f->store, p, team, rule, dest, 1), 1);
	post_free(p);
}

static void
record(struct fixture *f, const char *id, const char *root,
    const char *team, const char *text)
{
	record_on(f, "bluesky", id, root, team, "t/r", text);
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

/* What one command did. */
struct result {
	char		*out;
	enum cmd_retval	 rc;
	bool		 in_channel;
	bool		 queued;
};

/*
 * Run text as user (id, name) from channel on platform, then commit as
 * the daemon does after every command.  result_free the result.
 */
static struct result
run_full(struct fixture *f, enum slash_platform platform,
    const char *channel, const char *user_id, const char *user_name,
    const char *text)
{
	struct cmd_ctx	ctx;
	struct result	r;

	cmd_ctx_init(&ctx, f->store, f->config);
	ctx.platform = platform;
	ctx.command = "/sb";
	ctx.channel_id = channel;
	ctx.user_id = user_id;
	ctx.user_name = user_name;
	r.rc = cmd_run(&ctx, text);
	r.out = xstrdup(ctx.out.data != NULL ? ctx.out.data : "");
	r.in_channel = ctx.in_channel;
	r.queued = ctx.queued;
	cmd_ctx_clear(&ctx);
	assert_int_equal(store_commit(f->store), 0);
	assert_false(store_in_transaction(f->store));
	return r;
}

static struct result
run_as(struct fixture *f, const char *channel, const char *user_id,
    const char *user_name, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static struct result
run_as(struct fixture *f, const char *channel, const char *user_id,
    const char *user_name, const char *fmt, ...)
{
	struct result	 r;
	va_list		 ap;
	char		*text;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	r = run_full(f, SLASH_SLACK, channel, user_id, user_name, text);
	free(text);
	return r;
}

static void
result_free(struct result *r)
{
	free(r->out);
}

/* Run text from channel as a user on no list; the answer and *rc. */
static char *
run(struct fixture *f, const char *channel, const char *text,
    enum cmd_retval *rc)
{
	struct result	r;

	r = run_full(f, SLASH_SLACK, channel, "U0TEST", "", text);
	*rc = r.rc;
	return r.out;
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

/*
 * Run as a user and check the result, where the answer is for, and the
 * answer itself (want: exact text; a want ending in "*" a prefix).
 */
static void
expect_as(struct fixture *f, const char *channel, const char *user_id,
    const char *user_name, const char *text, enum cmd_retval want_rc,
    bool want_in_channel, const char *want)
{
	struct result	r;
	size_t		len = strlen(want);

	r = run_full(f, SLASH_SLACK, channel, user_id, user_name, text);
	if (len > 0 && want[len - 1] == '*' ?
	    strncmp(r.out, want, len - 1) != 0 : strcmp(r.out, want) != 0)
		fail_msg("%s: \"%s\": got\n%s\nwant\n%s", user_id, text,
		    r.out, want);
	if (r.rc != want_rc || r.in_channel != want_in_channel)
		fail_msg("%s: \"%s\": rc %d in_channel %d, want %d %d",
		    user_id, text, r.rc, r.in_channel, want_rc,
		    want_in_channel);
	result_free(&r);
}

/* Replies in the store, in any state. */
static int64_t
replies_total(struct fixture *f)
{
	int64_t	n, total = 0;
	int	s;

	for (s = REPLY_DRAFT; s <= REPLY_REJECTED; s++) {
		assert_int_equal(store_reply_count(f->store,
		    (enum reply_state)s, &n), 0);
		total += n;
	}
	return total;
}

/* Reply id as stored (reply_free it). */
static void
reply_of(struct fixture *f, int64_t id, struct reply *r)
{
	assert_int_equal(store_reply_get(f->store, id, r), 1);
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
	    "/sb show CODE — the conversation: its first posts, notes, "
	    "replies and who claimed it\n"
	    "/sb queue — this channel's team's open conversations\n"
	    "/sb reply CODE[:N] [--public] TEXT — publish TEXT as the "
	    "team's account, in reply to the conversation's latest post (or "
	    "post N as show numbers them)\n"
	    "/sb drafts — this channel's team's drafts waiting for a "
	    "spokesperson\n"
	    "/sb approve DRAFT — publish a draft (spokespeople)\n"
	    "/sb reject DRAFT — drop a draft (spokespeople)\n"
	    "/sb claim CODE — say you are on it: only you reply to it until "
	    "you unclaim it\n"
	    "/sb unclaim CODE — release your claim (or, for a spokesperson, "
	    "anyone's)\n"
	    "/sb note CODE TEXT — an internal note on the conversation, "
	    "never published\n"
	    "/sb assign CODE TEAM — give the conversation to another team "
	    "(managers)\n"
	    "/sb resolve CODE — mark the conversation resolved\n"
	    "/sb reopen CODE — open a resolved conversation again\n"
	    "/sb baton [@user|off] — who speaks for the team: while someone "
	    "holds the baton only they and the spokespeople publish\n"
	    "/sb mute AUTHOR [global] — drop an author's posts for this team "
	    "(managers), or for every team (admins); AUTHOR: @handle, DID, "
	    "npub or hex key\n"
	    "/sb unmute AUTHOR [global] — route an author's posts again\n"
	    "/sb help [command] — the commands, or one command's usage";
	static const char list[] =
	    "commands: show, queue, reply, drafts, approve, reject, claim, "
	    "unclaim, note, assign, resolve, reopen, baton, mute, unmute, "
	    "help; /sb help COMMAND for its usage";
	char		*want;

	expect(f, "C0CARE", "", CMD_OK, all);
	expect(f, "C0CARE", "  help ", CMD_OK, all);
	expect(f, "C0CARE", "help assign", CMD_OK,
	    "usage: /sb assign CODE TEAM\n"
	    "give the conversation to another team (managers)");
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
	struct fixture		*f = *state;
	struct cmd_ctx		 ctx;
	static const struct {
		const char	*text, *usage;
	} cases[] = {
		{ "show", "show CODE" },
		{ "show A B", "show CODE" },
		{ "assign A", "assign CODE TEAM" },
		{ "assign A care extra", "assign CODE TEAM" },
		{ "resolve", "resolve CODE" },
		{ "reopen a b", "reopen CODE" },
		{ "queue all", "queue" },
		{ "help a b", "help [command]" },
		{ "reply", "reply CODE[:N] [--public] TEXT" },
		{ "reply K7QX", "reply CODE[:N] [--public] TEXT" },
		{ "reply K7QX --public", "reply CODE[:N] [--public] TEXT" },
		{ "reply K7QX --public  ", "reply CODE[:N] [--public] TEXT" },
		{ "approve", "approve DRAFT" },
		{ "approve D1 D2", "approve DRAFT" },
		{ "reject", "reject DRAFT" },
		{ "drafts all", "drafts" },
		{ "claim", "claim CODE" },
		{ "claim A B", "claim CODE" },
		{ "unclaim", "unclaim CODE" },
		{ "note K7QX", "note CODE TEXT" },
		{ "baton @a @b", "baton [@user|off]" },
		{ "baton alice", "baton [@user|off]" },
		{ "baton <#C1|general>", "baton [@user|off]" },
		{ "mute", "mute AUTHOR [global]" },
		{ "mute a b c", "mute AUTHOR [global]" },
		{ "mute @a everywhere", "mute AUTHOR [global]" },
		{ "unmute", "unmute AUTHOR [global]" },
	};
	char			*want;
	size_t			 i;

	for (i = 0; i < nitems(cases); i++) {
		want = xasprintf("usage: /sb %s", cases[i].usage);
		expect(f, "C0CARE", cases[i].text, CMD_ERROR, want);
		free(want);
	}

	/* The usage names the command as the user's chat calls it. */
	cmd_ctx_init(&ctx, f->store, f->config);
	ctx.command = "/switchboard";
	assert_int_equal(cmd_run(&ctx, "show"), CMD_ERROR);
	assert_string_equal(ctx.out.data, "usage: /switchboard show CODE");
	cmd_ctx_clear(&ctx);
	/* Without one (Socket Mode may send none): commands.name. */
	free(f->config->commands.name);
	f->config->commands.name = xstrdup("/acme");
	cmd_ctx_init(&ctx, f->store, f->config);
	assert_int_equal(cmd_run(&ctx, "show"), CMD_ERROR);
	assert_string_equal(ctx.out.data, "usage: /acme show CODE");
	cmd_ctx_clear(&ctx);
	store_rollback(f->store);
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
	struct delivery	 del;
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
	/* The pipeline queued the post for care; sales has nothing yet. */
	assert_int_equal(store_outbox_head(f->store, "sales", &del), 0);

	/* Managers only: a publisher, a drafter, a stranger may not. */
	cmd = xasprintf("assign %s sales", code);
	want = xasprintf("you may not assign %s: only managers and "
	    "spokespeople of care may", code);
	expect_as(f, "C0CARE", PUB, cmd, CMD_ERROR, false, want);
	expect_as(f, "C0CARE", DRAFT, cmd, CMD_ERROR, false, want);
	expect_as(f, "C0CARE", STRANGER, cmd, CMD_ERROR, false, want);
	/* sales' manager, but not in sales' channel. */
	expect_as(f, "C0OTHER", MGRS, cmd, CMD_ERROR, false, want);
	expect_as(f, "", MGRS, cmd, CMD_ERROR, false, want);
	free(want);

	want = xasprintf("%s: care → sales by mgr; its next posts go to sales",
	    code);
	expect_as(f, "C0CARE", MGR, cmd, CMD_OK, true, want);
	free(cmd);
	free(want);
	assert_int_equal(store_conversation_owner(f->store, "bluesky",
	    URI("a0"), &owner), 1);
	assert_string_equal(owner, "sales");
	free(owner);
	/* sales is told in its own channel, in the conversation's thread. */
	assert_int_equal(store_outbox_head(f->store, "sales", &del), 1);
	assert_int_equal(del.kind, DELIVERY_NOTE);
	want = xasprintf("%s was assigned to you by mgr (from care)", code);
	assert_string_equal(del.note, want);
	free(want);
	assert_string_equal(del.post->id, URI("a0"));
	assert_int_equal(store_outbox_done(f->store, del.id, NULL), 0);
	delivery_free(&del);
	/* The reply matches care's rule, but the thread is sales' now. */
	p = mkpost(URI("a1"), URI("a0"), "still no refund");
	assert_int_equal(pipeline_post(f->store, rt, p, &d), 1);
	assert_string_equal(d.team, "sales");
	assert_string_equal(d.rule, "thread");
	post_free(p);

	want = xasprintf("%s already belongs to sales", code);
	cmd = xasprintf("assign %s sales", code);
	expect_as(f, "C0CARE", MGR, cmd, CMD_OK, false, want);
	free(cmd);
	free(want);
	/* The owning team's manager may give it away from any channel;
	 * a manager of neither team may not. */
	cmd = xasprintf("assign %s care", code);
	want = xasprintf("you may not assign %s: only managers and "
	    "spokespeople of sales may", code);
	expect_as(f, "C0OTHER", MGR, cmd, CMD_ERROR, false, want);
	free(want);
	want = xasprintf("%s: sales → care by mgrs; its next posts go to care",
	    code);
	expect_as(f, "C0OTHER", MGRS, cmd, CMD_OK, true, want);
	free(want);
	free(cmd);
	/* Spokespeople and admins may too. */
	cmd = xasprintf("assign %s rnd", code);
	want = xasprintf("%s: care → rnd by spoke; its next posts go to rnd",
	    code);
	expect_as(f, "C0CARE", SPOKE, cmd, CMD_OK, true, want);
	free(want);
	free(cmd);
	cmd = xasprintf("assign %s care", code);
	want = xasprintf("%s: rnd → care by admin; its next posts go to care",
	    code);
	expect_as(f, "", ADMIN, cmd, CMD_OK, true, want);
	free(want);
	free(cmd);
	/* A manager may take a conversation into their own team. */
	cmd = xasprintf("assign %s sales", code);
	want = xasprintf("%s: care → sales by mgrs; its next posts go to "
	    "sales", code);
	expect_as(f, "C0SALES", MGRS, cmd, CMD_OK, true, want);
	free(want);
	free(cmd);

	cmd = xasprintf("assign %s ops", code);
	expect_as(f, "C0CARE", MGR, cmd, CMD_ERROR, false,
	    "no team named \"ops\" (teams: care, sales, rnd)");
	free(cmd);
	/* Team names are exact, as in the config. */
	cmd = xasprintf("assign %s Sales", code);
	expect_as(f, "C0CARE", MGR, cmd, CMD_ERROR, false,
	    "no team named \"Sales\" (teams: care, sales, rnd)");
	free(cmd);
	expect_as(f, "C0CARE", MGR, "assign NOPE9 care", CMD_ERROR, false,
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

/* A care conversation on Bluesky with n posts r0..r{n-1}; its code. */
static char *
care_conversation(struct fixture *f, const char *tag, size_t n)
{
	char	*root, *id, *text;
	size_t	 i;

	root = xasprintf(URI("%s0"), tag);
	record(f, root, NULL, "care", "my refund is late");
	for (i = 1; i < n; i++) {
		id = xasprintf(URI("%s%zu"), tag, i);
		text = xasprintf("still waiting %zu", i);
		record(f, id, root, "care", text);
		free(text);
		free(id);
	}
	text = code_of(f, "care", root);
	free(root);
	return text;
}

static void
test_reply_publish(void **state)
{
	struct fixture	*f = *state;
	struct result	 r;
	struct reply	 rep;
	char		*code, *lc, *want;

	code = care_conversation(f, "p", 3);
	assert_int_equal(store_post_deleted(f->store, "bluesky", URI("p2")),
	    0);
	/* Slack sends '&' as "&amp;": the published text has the '&'. */
	lc = lower(code);
	r = run_as(f, "C0CARE", PUB, "reply %s  Thanks &amp; sorry: see "
	    "<https://acme.example/help>  ", lc);
	want = xasprintf("reply R1 to %s queued as acme-bsky; the result "
	    "will be posted in the thread", code);
	assert_string_equal(r.out, want);
	free(want);
	assert_int_equal(r.rc, CMD_OK);
	assert_false(r.in_channel);
	assert_true(r.queued);
	result_free(&r);
	reply_of(f, 1, &rep);
	assert_int_equal(rep.state, REPLY_PENDING);
	assert_string_equal(rep.text,
	    "Thanks & sorry: see https://acme.example/help");
	assert_string_equal(rep.account, "acme-bsky");
	assert_string_equal(rep.team, "care");
	assert_string_equal(rep.code, code);
	assert_string_equal(rep.user_id, "UPUB");
	assert_string_equal(rep.user_name, "pub");
	assert_null(rep.approved_by);
	/* The latest post its author did not delete. */
	assert_string_equal(rep.parent->id, URI("p1"));
	reply_free(&rep);

	/* CODE:N: the N-th post as show numbers them. */
	r = run_as(f, "C0CARE", PUB, "reply %s:1 First things first", code);
	assert_int_equal(r.rc, CMD_OK);
	assert_true(r.queued);
	result_free(&r);
	reply_of(f, 2, &rep);
	assert_string_equal(rep.parent->id, URI("p0"));
	assert_string_equal(rep.text, "First things first");
	reply_free(&rep);

	want = xasprintf("post 3 of %s was deleted by its author", code);
	r = run_as(f, "C0CARE", PUB, "reply %s:3 hello", code);
	assert_string_equal(r.out, want);
	assert_int_equal(r.rc, CMD_ERROR);
	assert_false(r.queued);
	result_free(&r);
	free(want);
	want = xasprintf("%s has no post 4 (it has 3)", code);
	r = run_as(f, "C0CARE", PUB, "reply %s:4 hello", code);
	assert_string_equal(r.out, want);
	result_free(&r);
	free(want);
	want = xasprintf("\"%s:0\" is no CODE or CODE:N (N counts the posts "
	    "as show numbers them)", code);
	r = run_as(f, "C0CARE", PUB, "reply %s:0 hello", code);
	assert_string_equal(r.out, want);
	result_free(&r);
	free(want);
	r = run_as(f, "C0CARE", PUB, "reply %s:x hello", code);
	assert_int_equal(r.rc, CMD_ERROR);
	assert_non_null(strstr(r.out, "is no CODE or CODE:N"));
	result_free(&r);
	r = run_as(f, "C0CARE", PUB, "reply :2 hello");
	assert_non_null(strstr(r.out, "is no CODE or CODE:N"));
	result_free(&r);
	assert_int_equal(replies_total(f), 2);
	free(lc);
	free(code);
}

/* On Mastodon the parent's author is mentioned first, and counted. */
static void
test_reply_mastodon(void **state)
{
	struct fixture	*f = *state;
	struct result	 r;
	struct reply	 rep;
	char		*code, *want;

	record_on(f, "mastodon", "111", NULL, "care", "care/refunds",
	    "refund?");
	code = code_of(f, "care", "111");
	r = run_as(f, "C0CARE", PUB, "reply %s Sorry about that", code);
	want = xasprintf("reply R1 to %s queued as acme-masto; the result "
	    "will be posted in the thread", code);
	assert_string_equal(r.out, want);
	free(want);
	result_free(&r);
	reply_of(f, 1, &rep);
	assert_string_equal(rep.text, "@bob@social.example Sorry about that");
	assert_string_equal(rep.account, "acme-masto");
	assert_string_equal(rep.parent->id, "111");
	reply_free(&rep);
	/* acme-masto allows 60: 20 for the mention leave 40. */
	r = run_as(f, "C0CARE", PUB, "reply %s %s", code,
	    "0123456789012345678901234567890123456789x");
	assert_int_equal(r.rc, CMD_ERROR);
	if (strncmp(r.out, "not sent: too long", 18) != 0)
		fail_msg("got %s", r.out);
	result_free(&r);
	r = run_as(f, "C0CARE", PUB, "reply %s %s", code,
	    "0123456789012345678901234567890123456789");
	assert_int_equal(r.rc, CMD_OK);
	result_free(&r);
	assert_int_equal(replies_total(f), 2);
	free(code);
}

static void
test_reply_refusals(void **state)
{
	struct fixture	*f = *state;
	char		*code, *sales, *cmd, *want;

	code = care_conversation(f, "x", 1);
	cmd = xasprintf("reply %s hello", code);
	want = xasprintf("%s belongs to care: it is answered from that "
	    "team's channel", code);
	expect_as(f, "C0SALES", PUB, cmd, CMD_ERROR, false, want);
	free(want);
	expect_as(f, "C0OTHER", PUB, cmd, CMD_ERROR, false,
	    "this channel belongs to no team");
	expect_as(f, "", SPOKE, cmd, CMD_ERROR, false,
	    "this channel belongs to no team");
	expect_as(f, "C0CARE", PUB, "reply NOPE9 hello", CMD_ERROR, false,
	    "no conversation with code \"NOPE9\"");
	/* Managers and strangers do not speak for the team. */
	expect_as(f, "C0CARE", STRANGER, cmd, CMD_ERROR, false,
	    "you may not reply for care: ask a spokesperson");
	expect_as(f, "C0CARE", MGR, cmd, CMD_ERROR, false,
	    "you may not reply for care: ask a spokesperson");
	free(cmd);

	/* The code of conduct: nothing is queued. */
	cmd = xasprintf("reply %s well DARN it", code);
	expect_as(f, "C0CARE", PUB, cmd, CMD_ERROR, false,
	    "not sent: contains the blocked *");
	expect_as(f, "C0CARE", SPOKE, cmd, CMD_ERROR, false,
	    "not sent: contains the blocked *");
	free(cmd);
	cmd = xasprintf("reply %s see https://evil.example/x", code);
	expect_as(f, "C0CARE", PUB, cmd, CMD_ERROR, false,
	    "not sent: links to*");
	/* ... and a drafter's draft is checked before it is kept. */
	expect_as(f, "C0CARE", DRAFT, cmd, CMD_ERROR, false,
	    "not sent: links to*");
	free(cmd);

	/* sales has no Mastodon account. */
	record_on(f, "mastodon", "222", NULL, "sales", "sales/prices",
	    "price?");
	sales = code_of(f, "sales", "222");
	cmd = xasprintf("reply %s hello", sales);
	expect_as(f, "C0SALES", STRANGER, cmd, CMD_ERROR, false,
	    "sales has no mastodon account to reply with "
	    "(teams.reply.accounts)");
	free(cmd);
	assert_int_equal(replies_total(f), 0);
	free(sales);
	free(code);
}

/* Who may do what: publisher, drafter, spokesperson, manager, admin. */
static void
test_permissions(void **state)
{
	struct fixture		*f = *state;
	static const struct {
		const char	*id, *name;
		const char	*reply;		/* "R", "D" or NULL */
		bool		 approve, manage, admin;
	} users[] = {
		{ SPOKE, "R", true, true, false },
		{ PUB, "R", false, false, false },
		{ PUB2, "R", false, false, false },	/* listed by name */
		{ DRAFT, "D", false, false, false },
		{ DRAFT2, "D", false, false, false },	/* by name */
		{ MGR, NULL, false, true, false },
		{ ADMIN, "R", true, true, true },
		{ STRANGER, NULL, false, false, false },
		{ "UPUB", "someone", "R", false, false, false },  /* by id */
		{ "UOTHER", "PUB2", "R", false, false, false },  /* any case */
	};
	struct result		 r;
	struct reply		 rep;
	char			*code, *want, *mute;
	int64_t			 id = 0, draft;
	size_t			 i;

	code = care_conversation(f, "m", 1);
	for (i = 0; i < nitems(users); i++) {
		r = run_as(f, "C0CARE", users[i].id, users[i].name,
		    "reply %s Thanks for your patience", code);
		if (users[i].reply == NULL) {
			assert_int_equal(r.rc, CMD_ERROR);
			assert_string_equal(r.out, "you may not reply for "
			    "care: ask a spokesperson");
			result_free(&r);
			continue;
		}
		assert_int_equal(r.rc, CMD_OK);
		id++;
		reply_of(f, id, &rep);
		assert_int_equal(rep.state, users[i].reply[0] == 'R' ?
		    REPLY_PENDING : REPLY_DRAFT);
		assert_int_equal(r.queued, users[i].reply[0] == 'R');
		assert_int_equal(r.in_channel, users[i].reply[0] == 'D');
		reply_free(&rep);
		result_free(&r);
	}
	/* One draft for the approvals below. */
	r = run_as(f, "C0CARE", DRAFT, "reply %s Thanks", code);
	draft = ++id;
	result_free(&r);
	for (i = 0; i < nitems(users); i++) {
		r = run_as(f, "C0CARE", users[i].id, users[i].name,
		    "approve D%lld", (long long)draft);
		assert_int_equal(r.rc, users[i].approve ? CMD_OK : CMD_ERROR);
		if (!users[i].approve)
			assert_string_equal(r.out, "only a spokesperson of "
			    "care may approve drafts");
		result_free(&r);
		if (users[i].approve) {
			r = run_as(f, "C0CARE", DRAFT, "reply %s Thanks",
			    code);
			draft = ++id;
			result_free(&r);
		}
		/* A team's mutes: managers; every team's: admins. */
		mute = xasprintf("@author%zu.test", i);
		r = run_as(f, "C0CARE", users[i].id, users[i].name,
		    "mute %s", mute);
		assert_int_equal(r.rc, users[i].manage ? CMD_OK : CMD_ERROR);
		if (!users[i].manage)
			assert_string_equal(r.out, "only a manager of care "
			    "may mute authors");
		result_free(&r);
		r = run_as(f, "C0CARE", users[i].id, users[i].name,
		    "mute %s global", mute);
		assert_int_equal(r.rc, users[i].admin ? CMD_OK : CMD_ERROR);
		if (!users[i].admin)
			assert_string_equal(r.out, "only an admin may mute an "
			    "author for every team");
		result_free(&r);
		free(mute);
		/* Handing the baton: spokespeople (and admins). */
		r = run_as(f, "C0CARE", users[i].id, users[i].name,
		    "baton <@UNOBODY|nobody>");
		assert_int_equal(r.rc, users[i].approve ? CMD_OK : CMD_ERROR);
		result_free(&r);
		r = run_as(f, "C0CARE", SPOKE, "baton off");
		result_free(&r);
	}
	/* In sales everyone in the channel publishes ("*"). */
	record(f, URI("s0"), NULL, "sales", "a price question");
	free(code);
	code = code_of(f, "sales", URI("s0"));
	r = run_as(f, "C0SALES", STRANGER, "reply %s Ten euros", code);
	want = xasprintf("reply R%lld to %s queued as acme-bsky; the result "
	    "will be posted in the thread", (long long)id + 1, code);
	assert_string_equal(r.out, want);
	free(want);
	result_free(&r);
	free(code);
}

static void
test_baton(void **state)
{
	struct fixture	*f = *state;
	struct result	 r;
	struct reply	 rep;
	char		*code, *want, *id, *name;

	code = care_conversation(f, "b", 1);
	expect_as(f, "C0CARE", PUB, "baton", CMD_OK, false,
	    "nobody holds the baton for care: its publishers reply");
	expect_as(f, "C0OTHER", SPOKE, "baton <@UPUB|pub>", CMD_ERROR, false,
	    "this channel belongs to no team");
	expect_as(f, "C0CARE", PUB, "baton <@UPUB2|pub2>", CMD_ERROR, false,
	    "only a spokesperson of care or the baton's holder may hand it "
	    "over");
	expect_as(f, "C0CARE", SPOKE, "baton <@UPUB|pub>", CMD_OK, true,
	    "spoke handed the baton for care to <@UPUB>\n"
	    "until it moves on, only <@UPUB> and the spokespeople publish "
	    "replies");
	assert_int_equal(store_baton_get(f->store, "care", &id, &name), 1);
	assert_string_equal(id, "UPUB");
	assert_string_equal(name, "pub");
	free(id);
	free(name);
	expect_as(f, "C0CARE", PUB, "baton", CMD_OK, false,
	    "pub holds the baton for care (you)");
	expect_as(f, "C0CARE", PUB2, "baton", CMD_OK, false,
	    "pub holds the baton for care");

	/* Another publisher drafts; drafters draft; strangers may not. */
	r = run_as(f, "C0CARE", PUB2, "reply %s We are on it", code);
	want = xasprintf("draft D1 waits for a spokesperson: /sb approve D1\n"
	    "(pub holds the baton for care)\n%s, by pub2:\nWe are on it",
	    code);
	assert_string_equal(r.out, want);
	free(want);
	assert_true(r.in_channel);
	assert_false(r.queued);
	result_free(&r);
	reply_of(f, 1, &rep);
	assert_int_equal(rep.state, REPLY_DRAFT);
	reply_free(&rep);
	r = run_as(f, "C0CARE", DRAFT, "reply %s We are on it", code);
	assert_int_equal(r.rc, CMD_OK);
	assert_false(r.queued);
	result_free(&r);
	r = run_as(f, "C0CARE", STRANGER, "reply %s We are on it", code);
	assert_string_equal(r.out, "you may not reply for care: ask a "
	    "spokesperson");
	result_free(&r);
	/* The holder and the spokespeople publish. */
	r = run_as(f, "C0CARE", PUB, "reply %s We are on it", code);
	assert_true(r.queued);
	result_free(&r);
	r = run_as(f, "C0CARE", SPOKE, "reply %s We are on it", code);
	assert_true(r.queued);
	result_free(&r);
	reply_of(f, 3, &rep);
	assert_int_equal(rep.state, REPLY_PENDING);
	reply_free(&rep);

	/* The holder passes it on, Mattermost style, to a drafter. */
	expect_as(f, "C0CARE", PUB, "baton @draft2", CMD_OK, true,
	    "pub handed the baton for care to @draft2 (from pub)\n"
	    "until it moves on, only @draft2 and the spokespeople publish "
	    "replies");
	assert_int_equal(store_baton_get(f->store, "care", &id, &name), 1);
	assert_string_equal(name, "draft2");
	free(id);
	free(name);
	/* Held by name: whoever has that name (any case) holds it. */
	r = run_as(f, "C0CARE", "UDRAFT2", "Draft2", "reply %s Fixed", code);
	assert_true(r.queued);
	result_free(&r);
	r = run_as(f, "C0CARE", PUB, "reply %s Fixed", code);
	assert_false(r.queued);
	assert_true(r.in_channel);
	result_free(&r);
	expect_as(f, "C0CARE", PUB, "baton <@UPUB|pub>", CMD_ERROR, false,
	    "only a spokesperson of care or the baton's holder may hand it "
	    "over");
	/* Only spokespeople take it back. */
	expect_as(f, "C0CARE", "UDRAFT2", "draft2", "baton off", CMD_ERROR,
	    false, "only a spokesperson of care may take the baton back");
	expect_as(f, "C0CARE", SPOKE, "baton off", CMD_OK, true,
	    "spoke took the baton for care back from draft2: its publishers "
	    "reply again");
	assert_int_equal(store_baton_get(f->store, "care", &id, &name), 0);
	expect_as(f, "C0CARE", SPOKE, "baton off", CMD_OK, false,
	    "nobody holds the baton for care");
	r = run_as(f, "C0CARE", PUB2, "reply %s Fixed", code);
	assert_true(r.queued);
	result_free(&r);

	/* An id without a name; Mattermost gets no Slack markup. */
	expect_as(f, "C0CARE", SPOKE, "baton <@UPUB>", CMD_OK, true,
	    "spoke handed the baton for care to <@UPUB>\n"
	    "until it moves on, only <@UPUB> and the spokespeople publish "
	    "replies");
	expect_as(f, "C0CARE", PUB, "baton", CMD_OK, false,
	    "UPUB holds the baton for care (you)");
	r = run_full(f, SLASH_MATTERMOST, "C0CARE", SPOKE, "baton @pub");
	assert_string_equal(r.out, "spoke handed the baton for care to @pub "
	    "(from UPUB)\nuntil it moves on, only @pub and the spokespeople "
	    "publish replies");
	result_free(&r);
	/* The baton is one team's: sales' publishers still publish. */
	record(f, URI("bs"), NULL, "sales", "price?");
	free(code);
	code = code_of(f, "sales", URI("bs"));
	r = run_as(f, "C0SALES", STRANGER, "reply %s Ten euros", code);
	assert_true(r.queued);
	result_free(&r);
	free(code);
}

static void
test_claim(void **state)
{
	struct fixture		*f = *state;
	struct conversation	 c;
	char			*code, *cmd, *want, *reply;

	code = care_conversation(f, "c", 1);
	cmd = xasprintf("claim %s", code);
	reply = xasprintf("reply %s On it", code);
	want = xasprintf("%s claimed by pub", code);
	expect_as(f, "C0CARE", PUB, cmd, CMD_OK, true, want);
	free(want);
	assert_int_equal(store_conversation_by_code(f->store, code, &c), 1);
	assert_string_equal(c.claimed_by, "UPUB");
	assert_string_equal(c.claimed_name, "pub");
	conversation_free(&c);
	want = xasprintf("you already claimed %s", code);
	expect_as(f, "C0CARE", PUB, cmd, CMD_OK, false, want);
	free(want);
	want = xasprintf("%s is claimed by pub: ask them, or a spokesperson, "
	    "to /sb unclaim %s", code, code);
	expect_as(f, "C0CARE", PUB2, cmd, CMD_ERROR, false, want);
	free(want);
	/* Only the holder replies. */
	want = xasprintf("claimed by pub: only they reply to %s until they "
	    "(or a spokesperson) /sb unclaim %s", code, code);
	expect_as(f, "C0CARE", PUB2, reply, CMD_ERROR, false, want);
	expect_as(f, "C0CARE", SPOKE, reply, CMD_ERROR, false, want);
	free(want);
	assert_int_equal(replies_total(f), 0);
	expect_as(f, "C0CARE", PUB, reply, CMD_OK, false, "reply R1 *");
	free(cmd);

	cmd = xasprintf("unclaim %s", code);
	want = xasprintf("%s is claimed by pub: only they or a spokesperson "
	    "may unclaim it", code);
	expect_as(f, "C0CARE", PUB2, cmd, CMD_ERROR, false, want);
	free(want);
	/* A spokesperson takes it over. */
	want = xasprintf("%s claimed by spoke (taken over from pub)", code);
	free(cmd);
	cmd = xasprintf("claim %s", code);
	expect_as(f, "C0CARE", SPOKE, cmd, CMD_OK, true, want);
	free(want);
	want = xasprintf("claimed by spoke: only they reply to %s until they "
	    "(or a spokesperson) /sb unclaim %s", code, code);
	expect_as(f, "C0CARE", PUB, reply, CMD_ERROR, false, want);
	free(want);
	free(cmd);
	cmd = xasprintf("unclaim %s", code);
	want = xasprintf("%s is claimed by spoke: only they or a "
	    "spokesperson may unclaim it", code);
	expect_as(f, "C0CARE", PUB, cmd, CMD_ERROR, false, want);
	free(want);
	want = xasprintf("%s released by spoke", code);
	expect_as(f, "C0CARE", SPOKE, cmd, CMD_OK, true, want);
	free(want);
	want = xasprintf("%s is not claimed", code);
	expect_as(f, "C0CARE", SPOKE, cmd, CMD_OK, false, want);
	free(want);
	assert_int_equal(store_conversation_by_code(f->store, code, &c), 1);
	assert_null(c.claimed_by);
	conversation_free(&c);
	/* Someone without a name is shown by id; a spokesperson releases
	 * another's claim. */
	free(cmd);
	cmd = xasprintf("claim %s", code);
	want = xasprintf("%s claimed by UANON", code);
	expect_as(f, "C0CARE", "UANON", "", cmd, CMD_OK, true, want);
	free(want);
	free(cmd);
	cmd = xasprintf("unclaim %s", code);
	want = xasprintf("%s released by admin (claimed by UANON)", code);
	expect_as(f, "C0CARE", ADMIN, cmd, CMD_OK, true, want);
	free(want);
	free(cmd);
	/* The owning team's channel only. */
	cmd = xasprintf("claim %s", code);
	want = xasprintf("%s belongs to care: it is answered from that "
	    "team's channel", code);
	expect_as(f, "C0SALES", PUB, cmd, CMD_ERROR, false, want);
	free(want);
	free(cmd);
	expect_as(f, "C0CARE", PUB, "claim NOPE9", CMD_ERROR, false,
	    "no conversation with code \"NOPE9\"");
	free(reply);
	free(code);
}

static void
test_drafts(void **state)
{
	struct fixture	*f = *state;
	struct result	 r;
	struct reply	 rep;
	struct strv	*accounts;
	char		*code, *want;
	const char	*p;
	size_t		 i;

	code = care_conversation(f, "d", 1);
	expect_as(f, "C0CARE", SPOKE, "drafts", CMD_OK, false,
	    "care: no drafts");
	r = run_as(f, "C0CARE", DRAFT, "reply %s We will refund you", code);
	want = xasprintf("draft D1 waits for a spokesperson: /sb approve D1\n"
	    "%s, by draft:\nWe will refund you", code);
	assert_string_equal(r.out, want);
	free(want);
	assert_true(r.in_channel);
	assert_false(r.queued);
	result_free(&r);
	want = xasprintf("care: 1 draft, oldest first (/sb approve DRAFT, "
	    "/sb reject DRAFT):\nD1 for %s by draft: We will refund you",
	    code);
	expect_as(f, "C0CARE", STRANGER, "drafts", CMD_OK, false, want);
	free(want);
	expect_as(f, "C0SALES", SPOKE, "drafts", CMD_OK, false,
	    "sales: no drafts");
	expect_as(f, "C0OTHER", SPOKE, "drafts", CMD_ERROR, false,
	    "this channel belongs to no team");

	expect_as(f, "C0CARE", PUB, "approve D1", CMD_ERROR, false,
	    "only a spokesperson of care may approve drafts");
	expect_as(f, "C0SALES", SPOKE, "approve D1", CMD_ERROR, false,
	    "D1 belongs to care: it is decided in that team's channel");
	r = run_as(f, "C0CARE", SPOKE, "approve d1");
	want = xasprintf("D1 approved by spoke: reply R1 to %s queued as "
	    "acme-bsky; the result will be posted in the thread", code);
	assert_string_equal(r.out, want);
	free(want);
	assert_int_equal(r.rc, CMD_OK);
	assert_true(r.in_channel);
	assert_true(r.queued);
	result_free(&r);
	reply_of(f, 1, &rep);
	assert_int_equal(rep.state, REPLY_PENDING);
	assert_string_equal(rep.approved_by, "spoke");
	assert_string_equal(rep.user_name, "draft");
	reply_free(&rep);
	expect_as(f, "C0CARE", SPOKE, "approve 1", CMD_ERROR, false,
	    "D1 is not a draft: it was approved and waits to be published");
	expect_as(f, "C0CARE", SPOKE, "approve D99", CMD_ERROR, false,
	    "no draft \"D99\"");
	expect_as(f, "C0CARE", SPOKE, "approve X1", CMD_ERROR, false,
	    "no draft \"X1\"");
	expect_as(f, "C0CARE", SPOKE, "reject D0", CMD_ERROR, false,
	    "no draft \"D0\"");

	/* Rejected: kept, never published. */
	r = run_as(f, "C0CARE", DRAFT, "reply %s Maybe", code);
	result_free(&r);
	want = xasprintf("D2 for %s rejected by spoke", code);
	expect_as(f, "C0CARE", SPOKE, "reject D2", CMD_OK, true, want);
	free(want);
	reply_of(f, 2, &rep);
	assert_int_equal(rep.state, REPLY_REJECTED);
	reply_free(&rep);
	expect_as(f, "C0CARE", SPOKE, "approve D2", CMD_ERROR, false,
	    "D2 is not a draft: it was rejected");
	expect_as(f, "C0CARE", PUB, "reject D2", CMD_ERROR, false,
	    "only a spokesperson of care may reject drafts");

	/* Approval checks the text against the code of conduct as it is
	 * now: a word blocked after the draft was written stops it. */
	r = run_as(f, "C0CARE", DRAFT, "reply %s Fine then", code);
	assert_int_equal(r.rc, CMD_OK);
	result_free(&r);
	strv_add(&f->config->teams[0].reply.blocked_words, "fine");
	expect_as(f, "C0CARE", SPOKE, "approve D3", CMD_ERROR, false,
	    "D3 not approved: contains the blocked word*");
	reply_of(f, 3, &rep);
	assert_int_equal(rep.state, REPLY_DRAFT);
	reply_free(&rep);
	/* So does an account the team no longer has. */
	accounts = &f->config->teams[0].reply.accounts;
	assert_string_equal(accounts->v[0], "acme-bsky");
	accounts->v[0][0] = 'X';
	r = run_as(f, "C0CARE", DRAFT, "reply %s Sorry", code);
	assert_string_equal(r.out, "care has no bluesky account to reply "
	    "with (teams.reply.accounts)");
	result_free(&r);
	expect_as(f, "C0CARE", SPOKE, "reject D3", CMD_OK, true, "*");
	accounts->v[0][0] = 'a';
	r = run_as(f, "C0CARE", DRAFT, "reply %s All good", code);
	assert_int_equal(r.rc, CMD_OK);
	result_free(&r);
	accounts->v[0][0] = 'X';
	expect_as(f, "C0CARE", SPOKE, "approve D4", CMD_ERROR, false,
	    "D4 cannot be published: acme-bsky is no longer one of care's "
	    "accounts");
	accounts->v[0][0] = 'a';
	want = xasprintf("care: 1 draft, oldest first (/sb approve DRAFT, "
	    "/sb reject DRAFT):\nD4 for %s by draft: All good", code);
	expect_as(f, "C0CARE", SPOKE, "drafts", CMD_OK, false, want);
	free(want);

	/* A long list stops at 20. */
	for (i = 0; i < 21; i++) {
		r = run_as(f, "C0CARE", DRAFT, "reply %s Draft %zu", code, i);
		result_free(&r);
	}
	r = run_as(f, "C0CARE", SPOKE, "drafts");
	for (i = 0, p = r.out; (p = strchr(p, '\n')) != NULL; p++)
		i++;
	assert_int_equal(i, 21);
	assert_true(strncmp(r.out, "care: 22 drafts, oldest first", 29) == 0);
	want = xasprintf("\nD23 for %s by draft: Draft 18\n… and 2 more",
	    code);
	assert_non_null(strstr(r.out, want));
	free(want);
	result_free(&r);
	free(code);
}

/* A private conversation is answered with the team's invitation. */
static void
test_private(void **state)
{
	struct fixture	*f = *state;
	struct result	 r;
	struct reply	 rep;
	char		*code, *open, *want;

	record_on(f, "bluesky", URI("v0"), NULL, "care", "care/privacy",
	    "delete my data, gdpr");
	code = code_of(f, "care", URI("v0"));
	r = run_as(f, "C0CARE", PUB, "reply %s Sure, done", code);
	want = xasprintf("reply R1 to %s queued as acme-bsky; the result "
	    "will be posted in the thread\n%s falls under care's private "
	    "policy: the invitation goes out instead of your text (a "
	    "spokesperson may reply --public)", code, code);
	assert_string_equal(r.out, want);
	free(want);
	result_free(&r);
	reply_of(f, 1, &rep);
	assert_string_equal(rep.text, "Please write to privacy@acme.example");
	reply_free(&rep);
	r = run_as(f, "C0CARE", PUB, "reply %s --public Sure, done", code);
	assert_string_equal(r.out, "only a spokesperson may reply --public");
	assert_int_equal(r.rc, CMD_ERROR);
	result_free(&r);
	r = run_as(f, "C0CARE", DRAFT, "reply %s Sure", code);
	result_free(&r);
	reply_of(f, 2, &rep);
	assert_int_equal(rep.state, REPLY_DRAFT);
	assert_string_equal(rep.text, "Please write to privacy@acme.example");
	reply_free(&rep);
	r = run_as(f, "C0CARE", SPOKE, "reply %s --public Sure, done", code);
	want = xasprintf("reply R3 to %s queued as acme-bsky; the result "
	    "will be posted in the thread", code);
	assert_string_equal(r.out, want);
	free(want);
	result_free(&r);
	reply_of(f, 3, &rep);
	assert_string_equal(rep.text, "Sure, done");
	reply_free(&rep);
	r = run_as(f, "C0CARE", SPOKE, "reply %s Sure, done", code);
	result_free(&r);
	reply_of(f, 4, &rep);
	assert_string_equal(rep.text, "Please write to privacy@acme.example");
	reply_free(&rep);

	/* Elsewhere --public changes nothing, but is a spokesperson's. */
	open = care_conversation(f, "o", 1);
	r = run_as(f, "C0CARE", PUB, "reply %s --public hi", open);
	assert_string_equal(r.out, "only a spokesperson may reply --public");
	result_free(&r);
	r = run_as(f, "C0CARE", SPOKE, "reply %s --public hi", open);
	assert_int_equal(r.rc, CMD_OK);
	result_free(&r);
	reply_of(f, 5, &rep);
	assert_string_equal(rep.text, "hi");
	reply_free(&rep);
	r = run_as(f, "C0CARE", PUB, "reply %s --publicity matters", open);
	assert_int_equal(r.rc, CMD_OK);
	result_free(&r);
	reply_of(f, 6, &rep);
	assert_string_equal(rep.text, "--publicity matters");
	reply_free(&rep);
	assert_int_equal(replies_total(f), 6);
	free(open);
	free(code);
}

static void
test_mute(void **state)
{
	struct fixture	*f = *state;
	struct post	*p;
	char		*upper, *want, *c;

	p = mkpost(URI("u0"), NULL, "hello");
	assert_int_equal(store_muted(f->store, "care", p), 0);
	expect_as(f, "C0CARE", MGR, "mute @alice.test", CMD_OK, true,
	    "alice.test muted for care: their posts are dropped");
	assert_int_equal(store_muted(f->store, "care", p), 1);
	assert_int_equal(store_muted(f->store, "sales", p), 0);
	expect_as(f, "C0CARE", SPOKE, "mute alice.test", CMD_OK, false,
	    "alice.test was already muted for care");
	expect_as(f, "C0CARE", PUB, "mute @x.test", CMD_ERROR, false,
	    "only a manager of care may mute authors");
	expect_as(f, "C0SALES", MGR, "mute @x.test", CMD_ERROR, false,
	    "only a manager of sales may mute authors");
	expect_as(f, "C0OTHER", MGR, "mute @x.test", CMD_ERROR, false,
	    "this channel belongs to no team (an admin may mute AUTHOR "
	    "global)");
	expect_as(f, "C0CARE", MGR, "mute @x.test global", CMD_ERROR, false,
	    "only an admin may mute an author for every team");
	expect_as(f, "C0CARE", SPOKE, "mute @x.test global", CMD_ERROR, false,
	    "only an admin may mute an author for every team");

	/* Global, from any channel, by an admin. */
	free(p->author);
	p->author = xstrdup("did:plc:carol");
	free(p->author_handle);
	p->author_handle = NULL;
	expect_as(f, "C0OTHER", ADMIN, "mute did:plc:carol global", CMD_OK,
	    true, "did:plc:carol muted for every team: their posts are "
	    "dropped");
	assert_int_equal(store_muted(f->store, "sales", p), 1);
	assert_int_equal(store_muted(f->store, "rnd", p), 1);

	/* Nostr keys: npub or hex, kept as lower-case hex. */
	free(p->platform);
	p->platform = xstrdup("nostr");
	free(p->author);
	p->author = xstrdup(NPUB_HEX);
	assert_int_equal(store_muted(f->store, "care", p), 0);
	want = xasprintf("%s muted for care: their posts are dropped",
	    NPUB_HEX);
	expect_as(f, "C0CARE", MGR, "mute " NPUB, CMD_OK, true, want);
	free(want);
	assert_int_equal(store_muted(f->store, "care", p), 1);
	upper = xstrdup(NPUB_HEX);
	for (c = upper; *c != '\0'; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	want = xasprintf("mute %s", upper);
	c = xasprintf("%s was already muted for care", NPUB_HEX);
	expect_as(f, "C0CARE", MGR, want, CMD_OK, false, c);
	free(c);
	free(want);
	free(upper);

	/* Mastodon handles, also as Slack links them. */
	expect_as(f, "C0CARE", MGR, "mute @bob@social.example", CMD_OK, true,
	    "bob@social.example muted for care: their posts are dropped");
	expect_as(f, "C0CARE", MGR,
	    "mute @<mailto:bob@social.example|bob@social.example>", CMD_OK,
	    false, "bob@social.example was already muted for care");

	/* Not an author. */
	expect_as(f, "C0CARE", MGR, "mute &lt;script&gt;", CMD_ERROR, false,
	    "\"&lt;script&gt;\" is no author: give a handle "
	    "(@alice.bsky.social, @user@instance), a DID, an npub or a hex "
	    "key");
	expect_as(f, "C0CARE", MGR, "mute npub1xyz", CMD_ERROR, false,
	    "\"npub1xyz\" is no author: *");
	expect_as(f, "C0CARE", MGR, "mute @", CMD_ERROR, false,
	    "\"@\" is no author: *");

	/* unmute */
	expect_as(f, "C0CARE", MGR, "unmute @alice.test", CMD_OK, true,
	    "alice.test unmuted for care: their posts are routed again");
	expect_as(f, "C0CARE", MGR, "unmute @alice.test", CMD_OK, false,
	    "alice.test was not muted for care");
	expect_as(f, "C0CARE", PUB, "unmute @bob@social.example", CMD_ERROR,
	    false, "only a manager of care may unmute authors");
	expect_as(f, "C0CARE", MGR, "unmute did:plc:carol global", CMD_ERROR,
	    false, "only an admin may unmute an author for every team");
	expect_as(f, "", ADMIN, "unmute did:plc:carol global", CMD_OK, true,
	    "did:plc:carol unmuted for every team: their posts are routed "
	    "again");
	free(p->platform);
	p->platform = xstrdup("bluesky");
	free(p->author);
	p->author = xstrdup("did:plc:carol");
	assert_int_equal(store_muted(f->store, "sales", p), 0);
	post_free(p);
}

static void
test_note(void **state)
{
	struct fixture			*f = *state;
	struct conversation_note	*v;
	struct result			 r;
	int64_t				 before, after;
	size_t				 n;
	char				*code, *cmd, *want;
	struct conversation		 c;

	code = care_conversation(f, "n", 1);
	assert_int_equal(store_outbox_count(f->store, NULL, &before), 0);
	/* What Slack sends for "Customer called & is <angry>". */
	cmd = xasprintf("note %s Customer called &amp; is &lt;angry&gt;",
	    code);
	want = xasprintf("note on %s by stranger: Customer called &amp; is "
	    "&lt;angry&gt;", code);
	expect_as(f, "C0CARE", STRANGER, cmd, CMD_OK, true, want);
	free(want);
	free(cmd);
	/* From any channel, on Mattermost as typed, newlines kept. */
	want = xasprintf("note on %s by mgrs: a & b\nsecond line", code);
	cmd = xasprintf("note %s a & b\nsecond line", code);
	r = run_full(f, SLASH_MATTERMOST, "C0SALES", MGRS, cmd);
	assert_string_equal(r.out, want);
	assert_true(r.in_channel);
	result_free(&r);
	free(cmd);
	free(want);
	assert_int_equal(store_conversation_by_code(f->store, code, &c), 1);
	assert_int_equal(store_conversation_notes(f->store, c.id, 10, &v, &n),
	    0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].text, "Customer called & is <angry>");
	assert_string_equal(v[0].user_id, "USTRANGER");
	assert_string_equal(v[0].user_name, "stranger");
	assert_string_equal(v[1].text, "a & b\nsecond line");
	conversation_notes_free(v, n);
	conversation_free(&c);
	/* Notes go nowhere: no delivery, no reply. */
	assert_int_equal(store_outbox_count(f->store, NULL, &after), 0);
	assert_int_equal(after, before);
	assert_int_equal(replies_total(f), 0);
	expect_as(f, "C0CARE", PUB, "note NOPE9 hello", CMD_ERROR, false,
	    "no conversation with code \"NOPE9\"");
	free(code);
}

/* show lists the claim, the notes and the replies. */
static void
test_show_more(void **state)
{
	struct fixture	*f = *state;
	struct result	 r;
	char		*code, *want;

	code = care_conversation(f, "w", 2);
	r = run_as(f, "C0CARE", PUB, "reply %s Sorry!", code);
	result_free(&r);
	r = run_as(f, "C0CARE", DRAFT, "reply %s Maybe", code);
	result_free(&r);
	r = run_as(f, "C0CARE", SPOKE, "reject D2");
	result_free(&r);
	r = run_as(f, "C0CARE", SPOKE, "reply %s We hear you", code);
	result_free(&r);
	r = run_as(f, "C0CARE", DRAFT, "reply %s Later", code);
	result_free(&r);
	assert_int_equal(store_reply_done(f->store, 1,
	    "https://bsky.app/profile/acme.example.com/post/3k", "at://x"), 0);
	assert_int_equal(store_reply_fail(f->store, 3, "HTTP 400: <bad>"), 0);
	r = run_as(f, "C0CARE", PUB, "claim %s", code);
	result_free(&r);
	r = run_as(f, "C0CARE", PUB, "note %s called them\nno answer", code);
	result_free(&r);

	want = xasprintf("%s: care, open, 2 posts, claimed by pub\n"
	    "1. @alice.test: my refund is late\n"
	    "2. @alice.test: still waiting 1\n"
	    "note by pub: called them no answer\n"
	    "R1 published by pub: "
	    "https://bsky.app/profile/acme.example.com/post/3k\n"
	    "D2 rejected by draft\n"
	    "R3 failed by spoke: HTTP 400: &lt;bad&gt;\n"
	    "D4 draft by draft", code);
	r = run_as(f, "C0SALES", STRANGER, "show %s", code);
	assert_string_equal(r.out, want);
	assert_false(r.in_channel);
	result_free(&r);
	free(want);
	free(code);
}

/* Every command is in the audit log, with what it answered. */
static void
test_audit(void **state)
{
	struct fixture		*f = *state;
	struct audit_entry	*v;
	struct result		 r;
	size_t			 n, i;
	char			*code, *lc, *text[8];
	int64_t			 t0 = now_wall_ms();

	code = care_conversation(f, "t", 1);
	lc = lower(code);
	text[0] = xasprintf("show %s", lc);
	text[1] = xstrdup("reply nope9 hi");
	text[2] = xstrdup("frobnicate <b>");
	text[3] = xasprintf("reply %s:1 We will\nlook", code);
	text[4] = xstrdup("approve D1");
	text[5] = xstrdup("");
	text[6] = xstrdup("queue");
	text[7] = xasprintf("assign %s sales", lc);
	r = run_as(f, "C0CARE", PUB, "%s", text[0]);
	result_free(&r);
	r = run_as(f, "C0CARE", PUB, "%s", text[1]);
	result_free(&r);
	r = run_as(f, "C0CARE", PUB, "%s", text[2]);
	result_free(&r);
	r = run_as(f, "C0CARE", DRAFT, "%s", text[3]);
	result_free(&r);
	r = run_as(f, "C0CARE", SPOKE, "%s", text[4]);
	result_free(&r);
	r = run_as(f, "C0SALES", "UANON", "", "%s", text[5]);
	result_free(&r);
	r = run_as(f, "C0OTHER", PUB, "%s", text[6]);
	result_free(&r);
	r = run_as(f, "C0CARE", STRANGER, "%s", text[7]);
	result_free(&r);

	assert_int_equal(store_audit_list(f->store, 0, 100, &v, &n), 0);
	assert_int_equal(n, 8);
	for (i = 0; i < n; i++) {
		assert_string_equal(v[i].action, "command");
		assert_string_equal(v[i].text, text[i]);
		assert_true(v[i].time_ms >= t0);
		assert_true(v[i].time_ms <= now_wall_ms());
	}
	assert_string_equal(v[0].user_id, "UPUB");
	assert_string_equal(v[0].user_name, "pub");
	assert_string_equal(v[0].team, "care");
	assert_string_equal(v[0].code, code);
	assert_string_equal(v[0].result, "ok");
	/* A code that names no conversation is recorded as typed. */
	assert_string_equal(v[1].code, "NOPE9");
	assert_string_equal(v[1].result,
	    "refused: no conversation with code \"nope9\"");
	assert_null(v[2].code);
	assert_string_equal(v[2].result,
	    "refused: unknown command \"frobnicate\"");
	assert_string_equal(v[3].user_id, "UDRAFT");
	assert_string_equal(v[3].code, code);
	assert_string_equal(v[3].result, "ok");
	/* approve's argument is a draft: its conversation is recorded. */
	assert_string_equal(v[4].user_name, "spoke");
	assert_string_equal(v[4].code, code);
	assert_string_equal(v[4].result, "ok");
	assert_string_equal(v[5].user_id, "UANON");
	assert_null(v[5].user_name);
	assert_string_equal(v[5].team, "sales");
	assert_null(v[5].code);
	assert_string_equal(v[5].result, "ok");
	assert_null(v[6].team);
	assert_string_equal(v[6].result,
	    "refused: this channel belongs to no team");
	assert_string_equal(v[7].code, code);
	assert_non_null(strstr(v[7].result, "refused: you may not assign "));
	audit_entries_free(v, n);
	for (i = 0; i < nitems(text); i++)
		free(text[i]);
	free(lc);
	free(code);
}

static void
test_unescape(void **state)
{
	struct fixture		*f = *state;
	static const struct {
		const char	*in, *out;
	} cases[] = {
		{ "a &amp; b &lt;c&gt;", "a & b <c>" },
		{ "&amp;lt; stays &lt;", "&lt; stays <" },
		{ "hi <@U024BE7LH|alice> and <@U1>", "hi @alice and @U1" },
		{ "in <#C1234|general>", "in #general" },
		{ "<!here> <!subteam^S1|@team>", "@here @team" },
		{ "see <https://acme.example/a?b=1&amp;c=2|acme.example/a>",
		    "see https://acme.example/a?b=1&c=2" },
		{ "<https://acme.example>.", "https://acme.example." },
		{ "<mailto:bob@x.example|bob@x.example>", "bob@x.example" },
		{ "a < b", "a < b" },
		{ "", "" },
	};
	struct cmd_ctx		 ctx;
	char			*s;
	size_t			 i;

	cmd_ctx_init(&ctx, f->store, f->config);
	for (i = 0; i < nitems(cases); i++) {
		s = cmd_unescape(&ctx, cases[i].in);
		if (strcmp(s, cases[i].out) != 0)
			fail_msg("%s: got %s", cases[i].in, s);
		free(s);
	}
	/* Mattermost sends the text as typed. */
	ctx.platform = SLASH_MATTERMOST;
	s = cmd_unescape(&ctx, "<@U1> &amp;");
	assert_string_equal(s, "<@U1> &amp;");
	free(s);
	cmd_ctx_clear(&ctx);
}

/* Hostile arguments for every command: an answer, never a crash. */
static void
test_hostile(void **state)
{
	struct fixture		*f = *state;
	static const char *const args[] = {
		"", ":", "::", "<", ">", "<@", "<@>", "<@|>", "<@U1|>", "@",
		"@@", "&", "&amp", "D", "d0", "D-1", "D99999999999999999999",
		"npub1", "npub1qqqq", "did:", "--public", "--public --public",
		"\xff\xfe", "%s%n", "K7QX:99999999999", "K7QX:-1", "x:1:2",
		"global", "global global", "off off",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	static const char *const names[] = {
		"show", "queue", "reply", "drafts", "approve", "reject",
		"claim", "unclaim", "note", "assign", "resolve", "reopen",
		"baton", "mute", "unmute", "help"
	};
	struct result		 r;
	char			*code;
	size_t			 i, j, k;

	code = care_conversation(f, "h", 2);
	for (i = 0; i < nitems(names); i++)
		for (j = 0; j < nitems(args); j++)
			for (k = 0; k < 2; k++) {
				r = run_as(f, "C0CARE", SPOKE, "%s %s %s",
				    names[i], k == 0 ? args[j] : code,
				    args[j]);
				assert_true(r.out[0] != '\0');
				assert_true(r.rc == CMD_OK ||
				    r.rc == CMD_ERROR);
				result_free(&r);
			}
	free(code);
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
		T(test_show),
		T(test_assign),
		T(test_resolve_reopen),
		T(test_queue),
		T(test_reply_publish),
		T(test_reply_mastodon),
		T(test_reply_refusals),
		T(test_permissions),
		T(test_baton),
		T(test_claim),
		T(test_drafts),
		T(test_private),
		T(test_mute),
		T(test_note),
		T(test_show_more),
		T(test_audit),
		T(test_unescape),
		T(test_hostile),
		T(test_answer_json),
		T(test_config_channel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
