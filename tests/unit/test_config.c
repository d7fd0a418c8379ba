/*
 * Configuration loading: every file in tests/conf/good and the two
 * shipped files in conf/ must load, with values and defaults checked; every
 * tests/conf/bad/NAME.conf must fail with exactly the lines of NAME.err.
 * Runs with the source tree as working directory, so the file names in
 * the messages are the ones written in the .err files.
 */
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "harness.h"

#include "cfg.h"
#include "config.h"
#include "sink.h"
#include "source.h"

#define WEBHOOK_FROM_ENV	"https://chat.example.com/hooks/fromenv"
#define INSECURE_FROM_ENV	"http://chat.example.com/hooks/ENVTOKEN"
#define BSKY_PASSWORD_ENV	"abcd-SECRET-envp-wxyz"
#define NOSTR_TEST_KEY	\
	"67dea2ed018072d675f5415ecfaed7d2597555e202d85b3d65ea4e58d2d92ffa"

static char	*srcdir;	/* absolute; the working directory */

/* Load path, failing the test with every message if it does not load. */
static struct config *
load_ok(const char *path)
{
	struct cfg_errors	 errs;
	struct config		*c;
	size_t			 i;

	cfg_errors_init(&errs);
	c = config_load(path, &errs);
	for (i = 0; i < errs.msgs.n; i++)
		print_error("%s\n", errs.msgs.v[i]);
	assert_non_null(c);
	assert_int_equal(errs.msgs.n, 0);
	assert_null(errs.basedir);
	cfg_errors_free(&errs);
	return c;
}

static void
glob_files(const char *pattern, glob_t *g)
{
	memset(g, 0, sizeof(*g));
	assert_int_equal(glob(pattern, 0, NULL, g), 0);
}

static void
test_good_files(void **state)
{
	glob_t		 g;
	size_t		 i;
	struct config	*c;

	(void)state;
	glob_files("tests/conf/good/*.conf", &g);
	assert_true(g.gl_pathc >= 5);
	for (i = 0; i < g.gl_pathc; i++) {
		c = load_ok(g.gl_pathv[i]);
		assert_string_equal(c->path, g.gl_pathv[i]);
		assert_true(c->nsources >= 1);
		assert_true(c->nteams >= 1);
		config_free(c);
	}
	globfree(&g);
}

static void
test_shipped_files(void **state)
{
	static const char *const reference_teams[] = {
		"care", "pr", "sales", "hr", "rnd", "marketing"
	};
	struct config	*c;
	size_t		 i;
	char		*dir;

	(void)state;
	c = load_ok("conf/switchboard.conf");
	assert_int_equal(c->nteams, nitems(reference_teams));
	for (i = 0; i < nitems(reference_teams); i++)
		assert_non_null(config_team(c, reference_teams[i]));
	assert_string_equal(c->sources[0].type, "jetstream");
	assert_string_equal(c->state_directory, "/var/lib/switchboard");
	assert_string_equal(c->routing.fallback_team, "care");
	/* Drop rules keep their config order: it is their rank. */
	assert_int_equal(c->routing.ndrop, 2);
	assert_string_equal(c->routing.drop[0].name, "spam");
	assert_int_equal(c->routing.drop[0].keywords.n, 2);
	assert_int_equal(c->routing.drop[0].patterns.n, 1);
	assert_string_equal(c->routing.drop[1].name, "muted");
	assert_int_equal(c->routing.drop[1].keywords.n, 0);
	assert_int_equal(c->routing.drop[1].authors.n, 1);
	assert_true(c->routing.drop[1].line > c->routing.drop[0].line);
	/* Replies: the documented sections are live, not only comments. */
	assert_int_equal(c->naccounts, 2);
	assert_ptr_equal(config_team_account(c, config_team(c, "care"),
	    "bluesky"), config_account(c, "acme-bluesky"));
	assert_string_equal(config_account(c, "acme-bluesky")->base_url,
	    "https://bsky.social");
	assert_true(config_team(c, "care")->reply.links_restricted);
	assert_int_equal(config_team(c, "care")->reply.private_rules.n, 1);
	assert_true(config_team(c, "pr")->reply.links_restricted);
	assert_int_equal(config_team(c, "pr")->reply.allowed_domains.n, 0);
	assert_string_equal(c->commands.name, "/sb");
	assert_null(c->socket_mode.app_token);
	config_free(c);

	c = load_ok("conf/demo.conf");
	assert_int_equal(c->nsources, 1);
	assert_ptr_equal(c->sources[0].ops, source_find("replay"));
	for (i = 0; i < c->nteams; i++) {
		assert_ptr_equal(c->teams[i].chat.ops, &sink_console_ops);
		assert_null(c->teams[i].chat.webhook_url);
	}
	dir = xasprintf("%s/conf/../demo-state", srcdir);
	assert_string_equal(c->state_directory, dir);
	free(dir);
	assert_int_equal(c->routing.ndrop, 1);
	assert_string_equal(c->routing.drop[0].name, "rage-bait");
	config_free(c);
}

static void
test_defaults(void **state)
{
	const struct sink_ops	*slack = sink_find("slack");
	struct config		*c;
	const struct team_conf	*t;

	(void)state;
	assert_non_null(slack);
	c = load_ok("tests/conf/good/minimal.conf");
	assert_string_equal(c->state_directory, "/var/lib/switchboard");
	assert_int_equal(c->log_level, LOG_INFO);
	assert_int_equal(c->shutdown_timeout_ms, 5000);
	assert_int_equal(c->nsources, 1);
	assert_string_equal(c->sources[0].name, "bluesky");
	assert_ptr_equal(c->sources[0].ops, &source_jetstream_ops);
	assert_non_null(c->sources[0].settings);
	assert_int_equal(c->sources[0].line, 2);
	t = config_team(c, "care");
	assert_non_null(t);
	assert_int_equal(t->line, 4);
	assert_ptr_equal(t->chat.ops, slack);
	assert_string_equal(t->chat.type, "slack");
	assert_true(t->chat.rate == slack->default_rate);
	assert_int_equal(t->chat.burst, slack->default_burst);
	assert_int_equal(t->chat.timeout_ms, 10000);
	assert_int_equal(t->nrules, 0);
	assert_null(c->routing.fallback_team);
	assert_int_equal(c->routing.brand.keywords.n, 0);
	assert_int_equal(c->routing.ndrop, 0);
	assert_null(c->routing.drop);
	assert_null(config_team(c, "sales"));
	assert_null(config_source(c, "nope"));
	assert_ptr_equal(config_source(c, "bluesky"), &c->sources[0]);
	/* No accounts, no reply group, commands and Socket Mode off. */
	assert_int_equal(c->naccounts, 0);
	assert_null(config_account(c, "care"));
	assert_null(config_team_account(c, t, "mastodon"));
	assert_int_equal(t->reply.accounts.n, 0);
	assert_int_equal(t->reply.publishers.n, 0);
	assert_false(t->reply.links_restricted);
	assert_null(t->reply.sign_off);
	assert_null(t->reply.private_invitation);
	assert_string_equal(c->commands.name, "/sb");
	assert_int_equal(c->commands.admins.n, 0);
	assert_null(c->socket_mode.app_token);
	assert_string_equal(c->socket_mode.api_url, "https://slack.com/api");
	config_free(c);
}

static void
assert_strv(const struct strv *sv, size_t n, const char *const *want)
{
	size_t	i;

	assert_int_equal(sv->n, n);
	for (i = 0; i < n; i++)
		assert_string_equal(sv->v[i], want[i]);
}

/* A rule may name a Nostr account by npub; posts name it by hex key. */
static void
test_rule_npub(void **state)
{
	struct cfg_errors	 errs;
	struct config		*c;

	(void)state;
	cfg_errors_init(&errs);
	c = config_load("tests/conf/good/nostr.conf", &errs);
	assert_non_null(c);
	assert_int_equal(c->teams[0].nrules, 1);
	assert_string_equal(c->teams[0].rules[0].mentions.v[0],
	    "7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e");
	config_free(c);
	cfg_errors_free(&errs);
}

static void
test_values(void **state)
{
	static const char *const keywords[] = { "refund", "not working" };
	static const char *const hashtags[] = { "acmehelp", "acmefail" };
	static const char *const languages[] = { "en", "fr" };
	static const char *const vip[] = { "did:plc:vip" };
	static const char *const acme[] = { "acme" };
	struct config		*c;
	const struct team_conf	*t;
	const struct rule_conf	*r;
	char			*dir;

	(void)state;
	c = load_ok("tests/conf/good/full.conf");
	dir = xasprintf("%s/tests/conf/good/state", srcdir);
	assert_string_equal(c->state_directory, dir);
	free(dir);
	assert_int_equal(c->log_level, LOG_DEBUG);
	assert_int_equal(c->shutdown_timeout_ms, 30000);
	assert_int_equal(c->nsources, 2);
	assert_ptr_equal(config_source(c, "history")->ops,
	    &source_replay_ops);

	t = config_team(c, "care");
	assert_non_null(t);
	assert_string_equal(t->chat.webhook_url,
	    "https://hooks.slack.com/services/T0/B0/care");
	assert_true(t->chat.rate == 2.0);	/* written as an integer */
	assert_int_equal(t->chat.burst, 5);
	assert_int_equal(t->chat.timeout_ms, 20000);
	assert_int_equal(t->nrules, 2);
	r = &t->rules[0];
	assert_string_equal(r->name, "complaints");
	assert_int_equal(r->priority, 10);
	assert_strv(&r->keywords, 2, keywords);
	assert_strv(&r->hashtags, 2, hashtags);
	assert_strv(&r->languages, 2, languages);
	assert_int_equal(r->mentions.n, 1);
	assert_int_equal(r->patterns.n, 1);
	assert_int_equal(r->exclude_authors.n, 1);
	assert_int_equal(r->authors.n, 0);
	assert_int_equal(r->line, 37);
	r = &t->rules[1];
	assert_int_equal(r->priority, -1000);
	assert_strv(&r->authors, 1, vip);	/* a single string */

	t = config_team(c, "sales_team-2");
	assert_non_null(t);
	assert_ptr_equal(t->chat.ops, &sink_mattermost_ops);
	assert_true(fabs(t->chat.rate - 0.25) < 1e-12);
	assert_int_equal(t->chat.burst, sink_mattermost_ops.default_burst);
	assert_int_equal(t->nrules, 0);

	t = config_team(c, "demo");
	assert_non_null(t);
	assert_true(t->chat.rate == sink_console_ops.default_rate);
	assert_int_equal(t->rules[0].priority, 1000);

	assert_string_equal(c->routing.fallback_team, "sales_team-2");
	assert_strv(&c->routing.brand.keywords, 1, acme);
	assert_strv(&c->routing.brand.hashtags, 1, acme);
	assert_int_equal(c->routing.ndrop, 1);
	assert_string_equal(c->routing.drop[0].name, "spam");
	assert_int_equal(c->routing.drop[0].keywords.n, 1);
	config_free(c);
}

static void
assert_account(const struct account_conf *a, const char *type,
    const char *base_url, size_t max_length, int timeout_ms)
{
	assert_non_null(a);
	assert_string_equal(a->type, type);
	if (base_url == NULL)
		assert_null(a->base_url);
	else
		assert_string_equal(a->base_url, base_url);
	assert_int_equal(a->max_length, max_length);
	assert_int_equal(a->timeout_ms, timeout_ms);
}

/* Watch lists and storm settings; their defaults when absent. */
static void
test_watch(void **state)
{
	static const char *const care[] = { "care" };
	static const char *const refunds[] = { "sales/refunds" };
	static const char *const complaints[] = { "care/complaints" };
	struct config		*c;
	const struct team_conf	*t;

	(void)state;
	c = load_ok("tests/conf/good/watch.conf");
	t = config_team(c, "rnd");
	assert_strv(&t->watch_teams, 1, care);
	assert_strv(&t->watch_rules, 1, refunds);
	t = config_team(c, "pr");
	assert_int_equal(t->watch_teams.n, 0);
	assert_strv(&t->watch_rules, 1, complaints);	/* one string */
	assert_int_equal(config_team(c, "care")->watch_rules.n, 0);
	assert_string_equal(c->storms.alert_team, "pr");
	assert_true(c->storms.factor == 2.5);
	assert_int_equal(c->storms.min_posts, 50);
	assert_int_equal(c->storms.window_s, 600);
	assert_int_equal(c->storms.baseline_s, 3600);
	assert_int_equal(c->storms.calm_s, 900);
	config_free(c);

	c = load_ok("tests/conf/good/minimal.conf");
	assert_int_equal(config_team(c, "care")->watch_teams.n, 0);
	assert_null(c->storms.alert_team);
	assert_true(c->storms.factor == 4);
	assert_int_equal(c->storms.min_posts, 20);
	assert_int_equal(c->storms.window_s, 300);
	assert_int_equal(c->storms.baseline_s, 86400);
	assert_int_equal(c->storms.calm_s, 600);
	config_free(c);
}

/* Accounts, a team's reply group, commands and Socket Mode. */
static void
test_replies(void **state)
{
	static const char *const care_accounts[] = {
		"acme-masto", "acme-bsky", "acme-nostr"
	};
	static const char *const publishers[] = { "Alice", "U024BE7LH" };
	static const char *const managers[] = { "dave", "Erin" };
	static const char *const domains[] = {
		"acme.example", "help.acme.example"
	};
	static const char *const blocked[] = { "idiot", "shut up" };
	static const char *const admins[] = { "root", "UADMIN0001" };
	static const char *const star[] = { "*" };
	static const char *const carol[] = { "carol" };
	static const char *const health[] = { "health" };
	struct config			*c;
	const struct account_conf	*a;
	const struct team_conf		*t;

	(void)state;
	c = load_ok("tests/conf/good/replies.conf");
	assert_int_equal(c->naccounts, 5);

	a = config_account(c, "acme-masto");
	assert_account(a, "mastodon", "https://mastodon.example", 1000, 5000);
	assert_string_equal(a->access_token, "mastodon-SECRET-token-1234");
	assert_null(a->app_password);
	assert_null(a->secret_key);
	assert_int_equal(a->line, 6);
	a = config_account(c, "acme-bsky");
	assert_account(a, "bluesky", "https://bsky.social", 300, 10000);
	assert_string_equal(a->identifier, "acme.bsky.social");
	assert_string_equal(a->app_password, BSKY_PASSWORD_ENV);
	assert_null(a->access_token);
	a = config_account(c, "acme-nostr");
	assert_account(a, "nostr", NULL, 2000, 10000);
	assert_string_equal(a->secret_key, NOSTR_TEST_KEY);	/* nsec */
	assert_int_equal(a->relays.n, 2);
	assert_string_equal(a->relays.v[1], "ws://127.0.0.1:7447");
	a = config_account(c, "test-nostr");
	assert_account(a, "nostr", NULL, 280, 10000);
	assert_string_equal(a->secret_key, NOSTR_TEST_KEY);	/* hex */
	assert_int_equal(a->relays.n, 1);
	a = config_account(c, "local-bsky");
	assert_account(a, "bluesky", "http://127.0.0.1:2583", 300, 10000);
	assert_null(config_account(c, "nope"));

	t = config_team(c, "care");
	assert_strv(&t->reply.accounts, 3, care_accounts);
	assert_strv(&t->reply.publishers, 2, publishers);
	assert_strv(&t->reply.drafters, 1, star);
	assert_strv(&t->reply.spokespeople, 1, carol);
	assert_strv(&t->reply.managers, 2, managers);
	assert_strv(&t->reply.blocked_words, 2, blocked);
	assert_true(t->reply.links_restricted);
	assert_strv(&t->reply.allowed_domains, 2, domains);
	assert_string_equal(t->reply.sign_off, "-- Acme Care");
	assert_strv(&t->reply.private_rules, 1, health);
	assert_string_equal(t->reply.private_invitation, "Please write to us "
	    "at care@acme.example so we can help in private.");
	assert_ptr_equal(config_team_account(c, t, "mastodon"),
	    config_account(c, "acme-masto"));
	assert_ptr_equal(config_team_account(c, t, "bluesky"),
	    config_account(c, "acme-bsky"));
	assert_ptr_equal(config_team_account(c, t, "nostr"),
	    config_account(c, "acme-nostr"));
	assert_null(config_team_account(c, t, "matrix"));

	t = config_team(c, "pr");
	assert_true(t->reply.links_restricted);	/* [] : no links at all */
	assert_int_equal(t->reply.allowed_domains.n, 0);
	assert_null(config_team_account(c, t, "mastodon"));
	assert_ptr_equal(config_team_account(c, t, "nostr"),
	    config_account(c, "test-nostr"));
	t = config_team(c, "sales");
	assert_false(t->reply.links_restricted);
	assert_null(config_team_account(c, t, "nostr"));

	assert_string_equal(c->commands.name, "/acme");
	assert_strv(&c->commands.admins, 2, admins);
	assert_string_equal(c->socket_mode.app_token,
	    "xapp-1-A0FILE-123-abcdef");
	assert_string_equal(c->socket_mode.api_url,
	    "http://127.0.0.1:9999/api");
	config_free(c);
}

/* A copy outlives the config it came from (a reload mid-publish). */
static void
test_account_dup(void **state)
{
	struct config		*c;
	struct account_conf	*masto, *nostr;

	(void)state;
	c = load_ok("tests/conf/good/replies.conf");
	masto = account_conf_dup(config_account(c, "acme-masto"));
	nostr = account_conf_dup(config_account(c, "acme-nostr"));
	assert_ptr_not_equal(masto->access_token,
	    config_account(c, "acme-masto")->access_token);
	config_free(c);
	assert_string_equal(masto->name, "acme-masto");
	assert_string_equal(masto->base_url, "https://mastodon.example");
	assert_string_equal(masto->access_token, "mastodon-SECRET-token-1234");
	assert_int_equal(masto->max_length, 1000);
	assert_int_equal(masto->timeout_ms, 5000);
	assert_null(masto->secret_key);
	assert_string_equal(nostr->secret_key, NOSTR_TEST_KEY);
	assert_int_equal(nostr->relays.n, 2);
	assert_string_equal(nostr->relays.v[0], "wss://relay.example");
	account_conf_free(masto);
	account_conf_free(nostr);
	account_conf_free(NULL);
	assert_null(account_conf_dup(NULL));
}

static void
test_secrets(void **state)
{
	struct config	*c;

	(void)state;
	c = load_ok("tests/conf/good/secrets.conf");
	assert_string_equal(config_team(c, "from-file")->chat.webhook_url,
	    "https://hooks.slack.com/services/T0/B0/fromfile");
	assert_string_equal(config_team(c, "from-env")->chat.webhook_url,
	    WEBHOOK_FROM_ENV);
	config_free(c);
}

/* @include and secret files work from any working directory. */
static void
test_other_cwd(void **state)
{
	struct config	*c;
	char		*path, *dir;

	(void)state;
	path = xasprintf("%s/tests/conf/good/include.conf", srcdir);
	assert_int_equal(chdir("/"), 0);
	c = load_ok(path);
	assert_int_equal(chdir(srcdir), 0);
	assert_non_null(config_team(c, "included"));
	assert_string_equal(c->routing.fallback_team, "included");
	config_free(c);
	free(path);

	dir = xasprintf("%s/tests/conf", srcdir);
	assert_int_equal(chdir(dir), 0);
	c = load_ok("good/secrets.conf");
	assert_int_equal(chdir(srcdir), 0);
	assert_string_equal(config_team(c, "from-file")->chat.webhook_url,
	    "https://hooks.slack.com/services/T0/B0/fromfile");
	config_free(c);
	free(dir);
}

static char *
fingerprint_of(const char *dir, const char *name, const char *source)
{
	struct config	*c;
	char		*path, *fp;
	FILE		*f;

	path = xasprintf("%s/%s.conf", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "sources = (\n%s\n);\nteams = ( { name = \"care\"; "
	    "chat = { type = \"console\"; }; } );\n", source);
	fclose(f);
	c = load_ok(path);
	fp = xstrdup(c->sources[0].fingerprint);
	config_free(c);
	unlink(path);
	free(path);
	return fp;
}

static void
test_fingerprint(void **state)
{
	char	 tmpl[] = "/tmp/sb-test-config-XXXXXX";
	char	*a, *same, *reordered, *rewind, *url, *added, *other;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	a = fingerprint_of(tmpl, "a", "{ name = \"bluesky\"; "
	    "type = \"jetstream\"; rewind = 5; "
	    "wanted_dids = [\"did:plc:a\"]; }");
	same = fingerprint_of(tmpl, "same", "{ name = \"bluesky\";\n\t"
	    "type = \"jetstream\";\n\trewind = 5;\n\twanted_dids = "
	    "[ \"did:plc:a\" ];\n}");
	reordered = fingerprint_of(tmpl, "reordered", "{ rewind = 5; "
	    "wanted_dids = [\"did:plc:a\"]; type = \"jetstream\"; "
	    "name = \"bluesky\"; }");
	rewind = fingerprint_of(tmpl, "rewind", "{ name = \"bluesky\"; "
	    "type = \"jetstream\"; rewind = 6; "
	    "wanted_dids = [\"did:plc:a\"]; }");
	url = fingerprint_of(tmpl, "url", "{ name = \"bluesky\"; "
	    "type = \"jetstream\"; rewind = 5; wanted_dids = [\"did:plc:a\"]; "
	    "url = \"wss://jetstream1.us-west.bsky.network/subscribe\"; }");
	added = fingerprint_of(tmpl, "added", "{ name = \"bluesky\"; "
	    "type = \"jetstream\"; rewind = 5; wanted_dids = "
	    "[\"did:plc:a\", \"did:plc:b\"]; }");
	other = fingerprint_of(tmpl, "other", "{ name = \"bluesky2\"; "
	    "type = \"jetstream\"; rewind = 5; "
	    "wanted_dids = [\"did:plc:a\"]; }");
	assert_string_equal(a, same);
	assert_string_equal(a, reordered);
	assert_string_not_equal(a, rewind);
	assert_string_not_equal(a, url);
	assert_string_not_equal(a, added);
	assert_string_not_equal(a, other);
	assert_int_equal(rmdir(tmpl), 0);
	free(a);
	free(same);
	free(reordered);
	free(rewind);
	free(url);
	free(added);
	free(other);
}

/* The lines of path, without their newlines. */
static void
read_lines(const char *path, struct strv *out)
{
	char	*data, *p, *nl;

	data = test_slurp(path, NULL);
	for (p = data; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL) {
			strv_add(out, p);
			break;
		}
		strv_take(out, xstrndup(p, (size_t)(nl - p)));
	}
	free(data);
}

static int
check_bad(const char *path)
{
	struct cfg_errors	 errs;
	struct config		*c;
	struct strv		 want;
	char			*errpath;
	size_t			 i, n;
	int			 ok = 1;

	errpath = xasprintf("%.*s.err", (int)(strlen(path) - 5), path);
	strv_init(&want);
	read_lines(errpath, &want);
	if (want.n == 0) {
		print_error("%s: empty\n", errpath);
		ok = 0;
	}
	cfg_errors_init(&errs);
	c = config_load(path, &errs);
	if (c != NULL) {
		print_error("%s: loaded without error\n", path);
		config_free(c);
		ok = 0;
	}
	n = errs.msgs.n > want.n ? errs.msgs.n : want.n;
	for (i = 0; i < n; i++) {
		const char	*got = i < errs.msgs.n ? errs.msgs.v[i] : "";
		const char	*exp = i < want.n ? want.v[i] : "";

		if (strcmp(got, exp) == 0)
			continue;
		print_error("%s line %zu:\n  want: %s\n  got:  %s\n", errpath,
		    i + 1, exp, got);
		ok = 0;
	}
	cfg_errors_free(&errs);
	strv_free(&want);
	free(errpath);
	return ok;
}

static void
test_bad_files(void **state)
{
	glob_t	g;
	size_t	i;
	int	failed = 0;

	(void)state;
	glob_files("tests/conf/bad/*.conf", &g);
	assert_true(g.gl_pathc >= 20);
	for (i = 0; i < g.gl_pathc; i++)
		if (!check_bad(g.gl_pathv[i]))
			failed++;
	globfree(&g);
	assert_int_equal(failed, 0);
}

/* Every .err belongs to a .conf, so no expectation is silently unused. */
static void
test_bad_files_paired(void **state)
{
	glob_t		 g;
	struct stat	 st;
	size_t		 i;
	char		*conf;

	(void)state;
	glob_files("tests/conf/bad/*.err", &g);
	for (i = 0; i < g.gl_pathc; i++) {
		conf = xasprintf("%.*s.conf", (int)(strlen(g.gl_pathv[i]) - 4),
		    g.gl_pathv[i]);
		if (stat(conf, &st) != 0)
			fail_msg("%s has no .conf", g.gl_pathv[i]);
		free(conf);
	}
	globfree(&g);
}

static void
assert_no_message_contains(const char *path, const char *needle)
{
	struct cfg_errors	errs;
	size_t			i;

	cfg_errors_init(&errs);
	assert_null(config_load(path, &errs));
	assert_true(errs.msgs.n > 0);
	for (i = 0; i < errs.msgs.n; i++)
		if (strstr(errs.msgs.v[i], needle) != NULL)
			fail_msg("secret in \"%s\"", errs.msgs.v[i]);
	cfg_errors_free(&errs);
}

static void
test_secrets_not_shown(void **state)
{
	(void)state;
	assert_no_message_contains("tests/conf/bad/insecure-url.conf",
	    "SECRETTOKEN");
	assert_no_message_contains("tests/conf/bad/insecure-url.conf",
	    "hooks");
	assert_no_message_contains("tests/conf/bad/secret-env.conf",
	    "ENVTOKEN");
	assert_no_message_contains("tests/conf/bad/secret-both.conf",
	    "B0/a");
	/* Account tokens, passwords and keys, valid or not. */
	assert_no_message_contains("tests/conf/bad/accounts.conf", "SECRET");
	assert_no_message_contains("tests/conf/bad/accounts.conf",
	    "0elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg");
	assert_no_message_contains("tests/conf/bad/accounts.conf",
	    "vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe6");
	assert_no_message_contains("tests/conf/bad/accounts.conf",
	    "BAAEDCE6");
	assert_no_message_contains("tests/conf/bad/accounts.conf",
	    "ELFCS4FR0L0R8");
	assert_no_message_contains("tests/conf/bad/socket-mode.conf",
	    "SECRETBOT");
	assert_no_message_contains("tests/conf/bad/socket-mode.conf", "xoxb");
}

static void
test_unreadable(void **state)
{
	struct cfg_errors	errs;

	(void)state;
	cfg_errors_init(&errs);
	assert_null(config_load("tests/conf/no-such.conf", &errs));
	assert_null(config_load("tests/conf", &errs));
	assert_int_equal(errs.msgs.n, 2);
	assert_string_equal(errs.msgs.v[0], "tests/conf/no-such.conf: "
	    "cannot read: No such file or directory");
	assert_string_equal(errs.msgs.v[1], "tests/conf: cannot read: "
	    "not a regular file");
	cfg_errors_free(&errs);
}

/* The readers on their own, over a config read from a string. */
static void
test_readers(void **state)
{
	static const char	 text[] =
	    "g = {\n"
	    "  i = 7; big = 3000000000L; f = 1.5; fi = 2; b = true;\n"
	    "  s = \"x\"; l = [\"a\", \"b\"]; one = \"c\"; bad = (\"a\", 1);\n"
	    "  rel = \"sub/f\"; abs = \"/etc/f\";\n"
	    "  webhook_url_env = \"X\"; name_file = \"y\";\n"
	    "  nested = ( { deep = [ \"p\", \"q\" ]; } );\n"
	    "};\n";
	static const char *const keys[] = {
		"i", "big", "f", "b", "s", "l", "one", "bad", NULL
	};
	static const char *const extra[] = {
		"rel", "abs", "webhook_url", "nested", NULL
	};
	config_t		 cfg;
	const config_setting_t	*g, *deep;
	struct cfg_errors	 errs;
	struct strv		 sv;
	long long		 n;
	double			 d;
	bool			 b;
	char			*s;

	(void)state;
	config_init(&cfg);
	assert_int_equal(config_read_string(&cfg, text), CONFIG_TRUE);
	g = config_lookup(&cfg, "g");
	cfg_errors_init(&errs);
	errs.basedir = "/base";

	assert_int_equal(cfg_int(g, "i", 0, 0, 10, 1, &n, &errs), 1);
	assert_int_equal(n, 7);
	assert_int_equal(cfg_int(g, "i", 0, 8, 10, 9, &n, &errs), -1);
	assert_int_equal(n, 9);
	assert_int_equal(cfg_int(g, "big", 0, 0, 4000000000LL, 1, &n,
	    &errs), 1);
	assert_true(n == 3000000000LL);
	assert_int_equal(cfg_int(g, "f", 0, 0, 10, 1, &n, &errs), -1);
	assert_int_equal(cfg_int(g, "none", 0, 0, 10, 4, &n, &errs), 0);
	assert_int_equal(n, 4);
	assert_int_equal(cfg_int(g, "none", CFG_REQUIRED, 0, 10, 4, &n,
	    &errs), -1);
	assert_int_equal(cfg_double(g, "fi", 0, 0, 10, 1, &d, &errs), 1);
	assert_true(d == 2.0);
	assert_int_equal(cfg_double(g, "f", 0, 0, 1, 0.5, &d, &errs), -1);
	assert_true(d == 0.5);
	assert_int_equal(cfg_bool(g, "b", 0, false, &b, &errs), 1);
	assert_true(b);
	assert_int_equal(cfg_bool(g, "s", 0, false, &b, &errs), -1);
	assert_int_equal(cfg_string(g, "s", 0, NULL, &s, &errs), 1);
	assert_string_equal(s, "x");
	free(s);
	assert_int_equal(cfg_string(g, "none", 0, "dflt", &s, &errs), 0);
	assert_string_equal(s, "dflt");
	free(s);
	assert_int_equal(cfg_path_value(g, "rel", 0, NULL, &s, &errs), 1);
	assert_string_equal(s, "/base/sub/f");
	free(s);
	assert_int_equal(cfg_path_value(g, "abs", 0, NULL, &s, &errs), 1);
	assert_string_equal(s, "/etc/f");
	free(s);
	assert_int_equal(cfg_path_value(g, "none", 0, "d", &s, &errs), 0);
	assert_string_equal(s, "/base/d");
	free(s);

	strv_init(&sv);
	assert_int_equal(cfg_strv(g, "l", 0, &sv, &errs), 1);
	assert_int_equal(cfg_strv(g, "one", 0, &sv, &errs), 1);
	assert_int_equal(cfg_strv(g, "bad", 0, &sv, &errs), -1);
	assert_int_equal(sv.n, 3);
	assert_string_equal(sv.v[2], "c");
	strv_free(&sv);

	deep = config_lookup(&cfg, "g.nested.[0].deep");
	assert_non_null(deep);
	s = cfg_path(config_setting_get_elem(deep, 1));
	assert_string_equal(s, "g.nested[0].deep[1]");
	free(s);

	/* Error messages so far, in order, then the unknown keys. */
	cfg_check_keys(g, keys, extra, &errs);
	assert_int_equal(errs.msgs.n, 8);
	assert_string_equal(errs.msgs.v[0],
	    "(config):2: g.i: must be between 8 and 10");
	assert_string_equal(errs.msgs.v[1],
	    "(config):2: g.f: must be an integer");
	assert_string_equal(errs.msgs.v[2],
	    "(config):1: g: missing required key \"none\"");
	assert_string_equal(errs.msgs.v[3],
	    "(config):2: g.f: must be between 0 and 1");
	assert_string_equal(errs.msgs.v[4],
	    "(config):3: g.s: must be true or false");
	assert_string_equal(errs.msgs.v[5],
	    "(config):3: g.bad[1]: must be a string");
	assert_string_equal(errs.msgs.v[6],
	    "(config):2: g.fi: unknown key");
	assert_string_equal(errs.msgs.v[7],
	    "(config):5: g.name_file: unknown key");
	cfg_errors_free(&errs);
	config_destroy(&cfg);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_good_files),
		cmocka_unit_test(test_shipped_files),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_rule_npub),
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_watch),
		cmocka_unit_test(test_account_dup),
		cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_other_cwd),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_bad_files_paired),
		cmocka_unit_test(test_secrets_not_shown),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_readers),
	};
	const char	*top = getenv("SB_SRCDIR");
	int		 rc;

	if (top != NULL && chdir(top) != 0) {
		perror(top);
		return 1;
	}
	srcdir = getcwd(NULL, 0);
	setenv("SB_TEST_WEBHOOK_URL", WEBHOOK_FROM_ENV, 1);
	setenv("SB_TEST_INSECURE_URL", INSECURE_FROM_ENV, 1);
	setenv("SB_TEST_BSKY_PASSWORD", BSKY_PASSWORD_ENV, 1);
	unsetenv("SB_TEST_UNSET_VAR");
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(srcdir);
	return rc;
}
