/*
 * Router tests: each matcher, the decision order, and a randomized
 * cross-check of the indexed router against a linear reference.
 */
#include <ctype.h>
#include <regex.h>
#include <stdbool.h>

#include "harness.h"

#include "config.h"
#include "hmap.h"
#include "post.h"
#include "router.h"
#include "text.h"
#include "util.h"

/* Configs are built by hand: the router reads, never parses. */

static struct config *
tc_new(void)
{
	return xcalloc(1, sizeof(struct config));
}

static void
tc_rule_free(struct rule_conf *r)
{
	free(r->name);
	strv_free(&r->keywords);
	strv_free(&r->hashtags);
	strv_free(&r->mentions);
	strv_free(&r->patterns);
	strv_free(&r->authors);
	strv_free(&r->exclude_authors);
	strv_free(&r->languages);
}

static void
tc_free(struct config *c)
{
	size_t	i, j;

	for (i = 0; i < c->nteams; i++) {
		for (j = 0; j < c->teams[i].nrules; j++)
			tc_rule_free(&c->teams[i].rules[j]);
		free(c->teams[i].rules);
		free(c->teams[i].name);
	}
	free(c->teams);
	free(c->routing.fallback_team);
	tc_rule_free(&c->routing.brand);
	for (i = 0; i < c->routing.ndrop; i++)
		tc_rule_free(&c->routing.drop[i]);
	free(c->routing.drop);
	free(c);
}

static struct team_conf *
tc_team(struct config *c, const char *name)
{
	size_t	i;

	for (i = 0; i < c->nteams; i++)
		if (strcmp(c->teams[i].name, name) == 0)
			return &c->teams[i];
	c->teams = xrealloc(c->teams, (c->nteams + 1) * sizeof(*c->teams));
	memset(&c->teams[c->nteams], 0, sizeof(*c->teams));
	c->teams[c->nteams].name = xstrdup(name);
	return &c->teams[c->nteams++];
}

/* A new rule at the end of team's rules (the team is created if new). */
static struct rule_conf *
tc_rule(struct config *c, const char *team, const char *name, int priority)
{
	struct team_conf	*t = tc_team(c, team);
	struct rule_conf	*r;

	t->rules = xrealloc(t->rules, (t->nrules + 1) * sizeof(*t->rules));
	r = &t->rules[t->nrules++];
	memset(r, 0, sizeof(*r));
	r->name = xstrdup(name);
	r->priority = priority;
	return r;
}

/* A new drop rule after the existing ones (config order). */
static struct rule_conf *
tc_drop(struct config *c, const char *name)
{
	struct routing_conf	*rc = &c->routing;
	struct rule_conf	*r;

	rc->drop = xrealloc(rc->drop, (rc->ndrop + 1) * sizeof(*rc->drop));
	r = &rc->drop[rc->ndrop++];
	memset(r, 0, sizeof(*r));
	r->name = xstrdup(name);
	return r;
}

/* Append the NULL-terminated strings to sv. */
static void
sv(struct strv *out, ...)
{
	va_list		 ap;
	const char	*s;

	va_start(ap, out);
	while ((s = va_arg(ap, const char *)) != NULL)
		strv_add(out, s);
	va_end(ap);
}

static struct post *
mkpost(const char *text)
{
	struct post	*p = post_new();

	p->platform = xstrdup("bluesky");
	p->id = xstrdup("at://did:plc:x/app.bsky.feed.post/1");
	p->author = xstrdup("did:plc:alice");
	p->text = xstrdup(text);
	return p;
}

static struct router *
mkrouter(const struct config *c)
{
	char		*cause = NULL;
	struct router	*rt = router_new(c, &cause);

	if (rt == NULL)
		fail_msg("router_new: %s", cause);
	return rt;
}

/* Decide and compare; team and rule NULL mean "must be NULL". */
static void
expect(const struct router *rt, const struct post *p, const char *owner,
    enum route_action action, const char *team, const char *rule)
{
	struct decision	d;

	router_decide(rt, p, owner, &d);
	if (d.action != action ||
	    (team == NULL) != (d.team == NULL) ||
	    (team != NULL && strcmp(team, d.team) != 0) ||
	    (rule == NULL) != (d.rule == NULL) ||
	    (rule != NULL && strcmp(rule, d.rule) != 0))
		fail_msg("\"%s\" owner %s: got %d %s %s, want %d %s %s",
		    p->text, owner ? owner : "-", (int)d.action,
		    d.team ? d.team : "-", d.rule ? d.rule : "-", (int)action,
		    team ? team : "-", rule ? rule : "-");
}

/* One keyword rule for team "t"; true if text routes to it. */
static bool
kw_matches(const char *keyword, const char *text)
{
	struct config	*c = tc_new();
	struct router	*rt;
	struct post	*p = mkpost(text);
	struct decision	 d;

	sv(&tc_rule(c, "t", "r", 0)->keywords, keyword, NULL);
	rt = mkrouter(c);
	router_decide(rt, p, NULL, &d);
	router_free(rt);
	post_free(p);
	tc_free(c);
	return d.action == ROUTE_TEAM;
}

static void
test_keyword_whole_word(void **state)
{
	(void)state;
	assert_true(kw_matches("refund", "I want a refund"));
	assert_true(kw_matches("refund", "REFUND!!! now"));
	assert_true(kw_matches("refund", "(refund)"));
	assert_true(kw_matches("Refund", "refund please"));
	assert_false(kw_matches("refund", "I was refunded"));
	assert_false(kw_matches("refund", "nonrefund policy"));
	assert_false(kw_matches("refund", "refunds"));
	assert_false(kw_matches("refund", ""));
	assert_true(kw_matches("v2", "since v2 it crashes"));
	assert_false(kw_matches("v2", "v20 is fine"));
}

static void
test_keyword_phrase(void **state)
{
	(void)state;
	assert_true(kw_matches("not working", "It is NOT working!"));
	assert_true(kw_matches("not working", "not, working"));
	assert_true(kw_matches("not working", "not working"));
	assert_true(kw_matches("not  working", "still not working"));
	assert_false(kw_matches("not working", "not really working"));
	assert_false(kw_matches("not working", "working not"));
	assert_false(kw_matches("not working", "the app is not"));
	assert_false(kw_matches("not working", "not workings"));
	assert_true(kw_matches("log in", "cannot log in: log in fails"));
	/* A second occurrence of the first word must still be tried. */
	assert_true(kw_matches("log in", "log out then log in"));
	assert_true(kw_matches("a b c", "a b a b c"));
	assert_false(kw_matches("a b c", "a b a b"));
	/* Nothing to match: never matches, not even the empty text. */
	assert_false(kw_matches("!!!", "!!!"));
	assert_false(kw_matches("", ""));
}

static void
test_keyword_unicode(void **state)
{
	(void)state;
	assert_true(kw_matches("café", "CAFÉ au lait"));
	assert_true(kw_matches("CAFÉ", "un café!"));
	assert_false(kw_matches("café", "cafe au lait"));
	assert_false(kw_matches("café", "cafés"));
	assert_true(kw_matches("été", "Été indien"));
	assert_true(kw_matches("καλημέρα", "ΚΑΛΗΜΈΡΑ κόσμε"));
	assert_true(kw_matches("Αθήνα", "στην αθήνα."));
	assert_true(kw_matches("привет", "ПРИВЕТ, мир"));
	assert_true(kw_matches("не работает", "Сайт НЕ РАБОТАЕТ!"));
	assert_false(kw_matches("привет", "приветствую"));
	assert_true(kw_matches("Ёлка", "ёлка"));
}

static void
test_hashtag_and_mention(void **state)
{
	struct config	*c = tc_new();
	struct router	*rt;
	struct post	*p = mkpost("nothing to see");
	struct rule_conf *r;

	(void)state;
	sv(&tc_rule(c, "billing", "tags", 0)->hashtags, "refund", "invoice",
	    NULL);
	r = tc_rule(c, "ops", "at", 0);
	sv(&r->mentions, "did:plc:acme", NULL);
	rt = mkrouter(c);

	expect(rt, p, NULL, ROUTE_IGNORE, NULL, NULL);
	sv(&p->hashtags, "other", "invoice", NULL);
	expect(rt, p, NULL, ROUTE_TEAM, "billing", "billing/tags");
	strv_free(&p->hashtags);
	/* Hashtags match the post's hashtags, not the words of its text. */
	free(p->text);
	p->text = xstrdup("refund #refund did:plc:acme");
	expect(rt, p, NULL, ROUTE_IGNORE, NULL, NULL);
	sv(&p->hashtags, "refunds", NULL);
	expect(rt, p, NULL, ROUTE_IGNORE, NULL, NULL);
	sv(&p->mentions, "did:plc:acme2", NULL);
	expect(rt, p, NULL, ROUTE_IGNORE, NULL, NULL);
	sv(&p->mentions, "did:plc:acme", NULL);
	expect(rt, p, NULL, ROUTE_TEAM, "ops", "ops/at");

	router_free(rt);
	post_free(p);
	tc_free(c);
}

static void
test_regex(void **state)
{
	struct config	*c = tc_new();
	struct router	*rt;
	struct post	*p = mkpost("where is ORDER #12345?");

	(void)state;
	sv(&tc_rule(c, "shipping", "order", 0)->patterns,
	    "order #?[0-9]{5}", NULL);
	sv(&tc_rule(c, "web", "url", 0)->patterns, "^https?://", "x{3}$",
	    NULL);
	rt = mkrouter(c);

	expect(rt, p, NULL, ROUTE_TEAM, "shipping", "shipping/order");
	free(p->text);
	p->text = xstrdup("order 1234 is late");
	expect(rt, p, NULL, ROUTE_IGNORE, NULL, NULL);
	free(p->text);
	p->text = xstrdup("HTTP://example.com is down");
	expect(rt, p, NULL, ROUTE_TEAM, "web", "web/url");
	free(p->text);
	p->text = xstrdup("see http://example.com");
	expect(rt, p, NULL, ROUTE_IGNORE, NULL, NULL);
	free(p->text);
	/* Any pattern of a rule may match: the second one here. */
	p->text = xstrdup("ends with XXX");
	expect(rt, p, NULL, ROUTE_TEAM, "web", "web/url");

	router_free(rt);
	post_free(p);
	tc_free(c);
}

static void
test_priority_and_ties(void **state)
{
	struct config	*c = tc_new();
	struct router	*rt;
	struct post	*p = mkpost("x");

	(void)state;
	sv(&tc_rule(c, "a", "low", 1)->keywords, "x", "y", "z", NULL);
	sv(&tc_rule(c, "b", "high", 5)->keywords, "x", NULL);
	sv(&tc_rule(c, "b", "tie1", 3)->keywords, "y", NULL);
	sv(&tc_rule(c, "a", "tie2", 3)->keywords, "y", NULL);
	sv(&tc_rule(c, "a", "tie3", 3)->keywords, "y", NULL);
	sv(&tc_rule(c, "c", "neg", -2)->keywords, "z", "w", NULL);
	sv(&tc_rule(c, "c", "neg2", -1)->hashtags, "w", NULL);
	rt = mkrouter(c);

	expect(rt, p, NULL, ROUTE_TEAM, "b", "b/high");
	free(p->text);
	/* Equal priority: teams in config order ("a" was declared first). */
	p->text = xstrdup("y");
	expect(rt, p, NULL, ROUTE_TEAM, "a", "a/tie2");
	free(p->text);
	p->text = xstrdup("z");
	expect(rt, p, NULL, ROUTE_TEAM, "a", "a/low");
	free(p->text);
	p->text = xstrdup("w");
	expect(rt, p, NULL, ROUTE_TEAM, "c", "c/neg");
	sv(&p->hashtags, "w", NULL);
	expect(rt, p, NULL, ROUTE_TEAM, "c", "c/neg2");
	free(p->text);
	p->text = xstrdup("z x y");
	expect(rt, p, NULL, ROUTE_TEAM, "b", "b/high");

	router_free(rt);
	post_free(p);
	tc_free(c);
}

static void
test_filters(void **state)
{
	struct config	*c = tc_new();
	struct router	*rt;
	struct post	*p = mkpost("help me");
	struct rule_conf *r;

	(void)state;
	r = tc_rule(c, "vip", "vip", 9);
	sv(&r->keywords, "help", NULL);
	sv(&r->authors, "did:plc:bob", "did:plc:carol", NULL);
	r = tc_rule(c, "fr", "fr", 5);
	sv(&r->keywords, "help", NULL);
	sv(&r->languages, "fr", "de", NULL);
	r = tc_rule(c, "en", "en", 4);
	sv(&r->keywords, "help", NULL);
	sv(&r->languages, "en", NULL);
	sv(&r->exclude_authors, "did:plc:troll", NULL);
	rt = mkrouter(c);

	/* No langs: every language filter fails. */
	expect(rt, p, NULL, ROUTE_IGNORE, NULL, NULL);
	sv(&p->langs, "en-US", NULL);
	expect(rt, p, NULL, ROUTE_TEAM, "en", "en/en");
	free(p->author);
	p->author = xstrdup("did:plc:troll");
	expect(rt, p, NULL, ROUTE_IGNORE, NULL, NULL);
	free(p->author);
	p->author = xstrdup("did:plc:carol");
	expect(rt, p, NULL, ROUTE_TEAM, "vip", "vip/vip");
	free(p->author);
	p->author = xstrdup("did:plc:dave");
	strv_free(&p->langs);
	sv(&p->langs, "ja", "DE-at", NULL);
	expect(rt, p, NULL, ROUTE_TEAM, "fr", "fr/fr");
	strv_free(&p->langs);
	sv(&p->langs, "eng", "e", NULL);
	expect(rt, p, NULL, ROUTE_IGNORE, NULL, NULL);

	router_free(rt);
	post_free(p);
	tc_free(c);
}

static void
test_filter_only_rules(void **state)
{
	struct config	*c = tc_new();
	struct router	*rt;
	struct post	*p = mkpost("bonjour");
	struct rule_conf *r;

	(void)state;
	sv(&tc_rule(c, "fr", "all-french", 2)->languages, "fr", NULL);
	r = tc_rule(c, "fr", "never", 1);
	sv(&r->keywords, "!!!", NULL);
	sv(&r->languages, "de", NULL);
	tc_rule(c, "triage", "everything", 0);
	rt = mkrouter(c);

	/* A rule without content but with filters takes what they select. */
	expect(rt, p, NULL, ROUTE_TEAM, "triage", "triage/everything");
	sv(&p->langs, "fr-CA", NULL);
	expect(rt, p, NULL, ROUTE_TEAM, "fr", "fr/all-french");
	strv_free(&p->langs);
	/* A keyword with no words is still content: the rule is no
	 * filter-only rule, it simply never matches. */
	sv(&p->langs, "de", NULL);
	expect(rt, p, NULL, ROUTE_TEAM, "triage", "triage/everything");

	router_free(rt);
	post_free(p);
	tc_free(c);
}

static struct config *
order_config(void)
{
	struct config		*c = tc_new();
	struct rule_conf	*drop;

	sv(&tc_rule(c, "billing", "refund", 100)->keywords, "refund", NULL);
	tc_team(c, "ops");
	drop = tc_drop(c, "spam");
	sv(&drop->keywords, "free crypto", NULL);
	sv(&drop->hashtags, "nsfw", NULL);
	c->routing.fallback_team = xstrdup("ops");
	c->routing.brand.name = xstrdup("brand");
	sv(&c->routing.brand.keywords, "acme", NULL);
	sv(&c->routing.brand.mentions, "did:plc:acme", NULL);
	return c;
}

static void
test_drop_beats_everything(void **state)
{
	struct config	*c = order_config();
	struct router	*rt = mkrouter(c);
	struct post	*p = mkpost("refund for acme? FREE crypto!");

	(void)state;
	expect(rt, p, NULL, ROUTE_DROP, NULL, "drop/spam");
	expect(rt, p, "billing", ROUTE_DROP, NULL, "drop/spam");
	expect(rt, p, "ops", ROUTE_DROP, NULL, "drop/spam");
	free(p->text);
	p->text = xstrdup("refund");
	expect(rt, p, NULL, ROUTE_TEAM, "billing", "billing/refund");
	sv(&p->hashtags, "nsfw", NULL);
	expect(rt, p, "ops", ROUTE_DROP, NULL, "drop/spam");

	router_free(rt);
	post_free(p);
	tc_free(c);
}

static void
test_drop_filters_only(void **state)
{
	struct config		*c = order_config();
	struct rule_conf	*drop = &c->routing.drop[0];
	struct router		*rt;
	struct post		*p = mkpost("refund");

	(void)state;
	strv_free(&drop->keywords);
	strv_free(&drop->hashtags);
	sv(&drop->authors, "did:plc:spammer", NULL);
	rt = mkrouter(c);
	expect(rt, p, NULL, ROUTE_TEAM, "billing", "billing/refund");
	free(p->author);
	p->author = xstrdup("did:plc:spammer");
	expect(rt, p, "ops", ROUTE_DROP, NULL, "drop/spam");
	router_free(rt);

	/* An empty drop rule is no drop rule at all. */
	strv_free(&drop->authors);
	rt = mkrouter(c);
	expect(rt, p, NULL, ROUTE_TEAM, "billing", "billing/refund");
	router_free(rt);
	post_free(p);
	tc_free(c);
}

/* Config order ranks drop rules: the first that matches names the drop. */
static void
test_drop_second_rule(void **state)
{
	struct config	*c = order_config();
	struct router	*rt;
	struct post	*p = mkpost("refund");

	(void)state;
	sv(&tc_drop(c, "muted")->authors, "did:plc:troll", NULL);
	rt = mkrouter(c);
	expect(rt, p, NULL, ROUTE_TEAM, "billing", "billing/refund");
	free(p->author);
	p->author = xstrdup("did:plc:troll");
	expect(rt, p, NULL, ROUTE_DROP, NULL, "drop/muted");
	expect(rt, p, "billing", ROUTE_DROP, NULL, "drop/muted");
	/* The first rule still drops what it matches, from anyone. */
	sv(&p->hashtags, "nsfw", NULL);
	expect(rt, p, NULL, ROUTE_DROP, NULL, "drop/spam");
	free(p->author);
	p->author = xstrdup("did:plc:alice");
	expect(rt, p, NULL, ROUTE_DROP, NULL, "drop/spam");

	router_free(rt);
	post_free(p);
	tc_free(c);
}

static void
test_drop_first_wins(void **state)
{
	struct config		*c = order_config();
	struct router		*rt;
	struct post		*p = mkpost("free crypto for acme");
	struct rule_conf	 tmp;

	(void)state;
	sv(&tc_drop(c, "crypto")->keywords, "crypto", NULL);
	rt = mkrouter(c);
	expect(rt, p, NULL, ROUTE_DROP, NULL, "drop/spam");
	free(p->text);
	p->text = xstrdup("crypto for acme");
	expect(rt, p, NULL, ROUTE_DROP, NULL, "drop/crypto");
	router_free(rt);

	/* Swapped in the config, the same post names the other rule. */
	tmp = c->routing.drop[0];
	c->routing.drop[0] = c->routing.drop[1];
	c->routing.drop[1] = tmp;
	rt = mkrouter(c);
	free(p->text);
	p->text = xstrdup("free crypto for acme");
	expect(rt, p, NULL, ROUTE_DROP, NULL, "drop/crypto");
	router_free(rt);

	post_free(p);
	tc_free(c);
}

static void
test_sticky(void **state)
{
	struct config	*c = order_config();
	struct router	*rt = mkrouter(c);
	struct post	*p = mkpost("refund please");

	(void)state;
	expect(rt, p, NULL, ROUTE_TEAM, "billing", "billing/refund");
	expect(rt, p, "ops", ROUTE_TEAM, "ops", "thread");
	expect(rt, p, "unknown", ROUTE_TEAM, "billing", "billing/refund");
	expect(rt, p, "Ops", ROUTE_TEAM, "billing", "billing/refund");
	free(p->text);
	p->text = xstrdup("thanks!");
	expect(rt, p, "billing", ROUTE_TEAM, "billing", "thread");
	expect(rt, p, "nobody", ROUTE_IGNORE, NULL, NULL);

	router_free(rt);
	post_free(p);
	tc_free(c);
}

static void
test_fallback(void **state)
{
	struct config	*c = order_config();
	struct router	*rt = mkrouter(c);
	struct post	*p = mkpost("I love Acme");
	struct decision	 d;

	(void)state;
	expect(rt, p, NULL, ROUTE_TEAM, "ops", "fallback");
	free(p->text);
	p->text = xstrdup("I love acmes");
	expect(rt, p, NULL, ROUTE_IGNORE, NULL, NULL);
	sv(&p->mentions, "did:plc:acme", NULL);
	expect(rt, p, NULL, ROUTE_TEAM, "ops", "fallback");
	free(p->text);
	p->text = xstrdup("acme refund");
	expect(rt, p, NULL, ROUTE_TEAM, "billing", "billing/refund");
	router_decide(rt, p, "ops", &d);
	assert_string_equal(d.rule, "thread");
	router_free(rt);

	/* Without a fallback team, brand posts are ignored. */
	free(c->routing.fallback_team);
	c->routing.fallback_team = NULL;
	rt = mkrouter(c);
	free(p->text);
	p->text = xstrdup("acme");
	expect(rt, p, NULL, ROUTE_IGNORE, NULL, NULL);
	router_free(rt);

	/* A brand without content never matches, whatever its filters. */
	c->routing.fallback_team = xstrdup("ops");
	tc_rule_free(&c->routing.brand);
	memset(&c->routing.brand, 0, sizeof(c->routing.brand));
	sv(&c->routing.brand.languages, "en", NULL);
	sv(&p->langs, "en", NULL);
	rt = mkrouter(c);
	expect(rt, p, NULL, ROUTE_IGNORE, NULL, NULL);
	router_free(rt);

	post_free(p);
	tc_free(c);
}

static void
test_bad_regex(void **state)
{
	struct config	*c = tc_new();
	char		*cause = NULL;

	(void)state;
	sv(&tc_rule(c, "a", "ok", 0)->patterns, "fine", NULL);
	sv(&tc_rule(c, "b", "broken", 0)->patterns, "ok", "(unclosed", NULL);
	assert_null(router_new(c, &cause));
	assert_non_null(cause);
	assert_non_null(strstr(cause, "b/broken"));
	assert_non_null(strstr(cause, "(unclosed"));
	free(cause);
	strv_free(&c->teams[1].rules[0].patterns);

	cause = NULL;
	sv(&tc_drop(c, "broken")->patterns, "[a-", NULL);
	assert_null(router_new(c, &cause));
	assert_non_null(cause);
	free(cause);
	router_free(NULL);
	tc_free(c);
}

/* The index's map: growth keeps every key, absent keys stay absent. */
static void
test_hmap(void **state)
{
	struct hmap	 m;
	char		 key[32];
	size_t		 i, iter = 0, seen = 0;
	const char	*k;
	void		*v;
	static int	 values[1000];

	(void)state;
	hmap_init(&m);
	assert_null(hmap_get(&m, "x"));
	for (i = 0; i < nitems(values); i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		*hmap_put(&m, key) = &values[i];
	}
	/* Putting an existing key returns its slot, not a new one. */
	assert_ptr_equal(*hmap_put(&m, "k7"), &values[7]);
	assert_int_equal(m.n, nitems(values));
	for (i = 0; i < nitems(values); i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		assert_ptr_equal(hmap_get(&m, key), &values[i]);
		assert_ptr_equal(hmap_get_hashed(&m, key, hmap_hash(key)),
		    &values[i]);
	}
	assert_null(hmap_get(&m, "k1000"));
	assert_null(hmap_get(&m, ""));
	while (hmap_next(&m, &iter, &k, &v)) {
		assert_ptr_equal(v, &values[strtoul(k + 1, NULL, 10)]);
		seen++;
	}
	assert_int_equal(seen, nitems(values));
	hmap_free(&m);
	assert_null(hmap_get(&m, "k1"));
}

/*
 * The randomized cross-check: many rules and posts from a small
 * vocabulary, so that phrases, ties, filters and every decision step
 * collide often, compared against a direct reading of the rules.
 */

static unsigned long long rnd_state;

static unsigned
rnd(unsigned n)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return (unsigned)(((rnd_state * 2685821657736338717ULL) >> 33) % n);
}

static const char *const words_v[] = {
	"alpha", "Alpha", "ALPHA", "beta", "gamma", "delta", "café", "CAFÉ",
	"été", "Été", "λόγος", "ΛΌΓΟΣ", "мир", "МИР", "42", "x", "not",
	"working", "refund", "refunded"
};
static const char *const seps_v[] = {
	" ", " ", " ", ", ", "! ", "-", "...", " (", ") ", "'", " #", " @"
};
static const char *const tags_v[] = { "help", "bug", "news", "sale" };
static const char *const ments_v[] = {
	"did:plc:a", "did:plc:b", "did:plc:c"
};
static const char *const pats_v[] = {
	"alp[a-z]+ be", "^gamma", "delta$", "caf", "[0-9]{2}", "zeta|eta",
	"not +working", "x\\.\\.\\.", "([a-z])\\1", "[]x]\\.", "[[:digit:]]{2}",
	"(al|be)(ta|pha)"
};
static const char *const authors_v[] = { "did:a1", "did:a2", "did:a3" };
static const char *const langs_v[] = {
	"en", "en-US", "fr", "de-DE", "EN", "pt-BR"
};
static const char *const flangs_v[] = { "en", "fr", "de" };
static const char *const teams_v[] = { "t0", "t1", "t2", "t3", "t4" };

#define PICK(a)	((a)[rnd(nitems(a))])

static char *
rnd_phrase(unsigned maxwords)
{
	struct buf	b;
	unsigned	i, n = 1 + rnd(maxwords);

	buf_init(&b);
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_adds(&b, rnd(4) ? " " : ", ");
		buf_adds(&b, PICK(words_v));
	}
	return buf_steal(&b);
}

/* Per round, so some rounds leave posts unrouted and some do not. */
static unsigned rnd_open_odds, rnd_max_rules;

static void
rnd_rule(struct rule_conf *r, bool content_only)
{
	unsigned	i, n;

	if (!content_only && rnd_open_odds > 0 && rnd(rnd_open_odds) == 0)
		goto filters;	/* no content */
	n = rnd(4);
	for (i = 0; i < n; i++)
		strv_take(&r->keywords, rnd_phrase(3));
	n = rnd(3) == 0 ? 1 + rnd(2) : 0;
	for (i = 0; i < n; i++)
		strv_add(&r->hashtags, PICK(tags_v));
	if (rnd(5) == 0)
		strv_add(&r->mentions, PICK(ments_v));
	if (rnd(10) == 0)
		for (n = 1 + rnd(2), i = 0; i < n; i++)
			strv_add(&r->patterns, PICK(pats_v));
filters:
	if (content_only)
		return;
	if (rnd(6) == 0)
		for (n = 1 + rnd(2), i = 0; i < n; i++)
			strv_add(&r->authors, PICK(authors_v));
	if (rnd(6) == 0)
		strv_add(&r->exclude_authors, PICK(authors_v));
	if (rnd(5) == 0)
		for (n = 1 + rnd(2), i = 0; i < n; i++)
			strv_add(&r->languages, PICK(flangs_v));
}

static struct config *
rnd_config(void)
{
	static const unsigned	 open_v[] = { 0, 40, 6 }, max_v[] = {
		1, 4, 20, 80
	};
	struct config		*c = tc_new();
	struct rule_conf	*r;
	char			 name[32];
	unsigned		 i, j, nrules, ndrop;

	rnd_open_odds = PICK(open_v);
	rnd_max_rules = PICK(max_v);
	for (i = 0; i < nitems(teams_v); i++) {
		tc_team(c, teams_v[i]);
		nrules = rnd(rnd_max_rules);
		for (j = 0; j < nrules; j++) {
			snprintf(name, sizeof(name), "r%u", j);
			r = tc_rule(c, teams_v[i], name, (int)rnd(4) - 1);
			rnd_rule(r, false);
		}
	}
	for (ndrop = rnd(4), i = 0; i < ndrop; i++) {
		/* Some stay empty: the router must skip those. */
		snprintf(name, sizeof(name), "noise%u", i);
		r = tc_drop(c, name);
		if (rnd(2))
			strv_take(&r->keywords, rnd_phrase(2));
		if (rnd(2))
			strv_add(&r->hashtags, PICK(tags_v));
		if (rnd(4) == 0)
			strv_add(&r->authors, PICK(authors_v));
		if (rnd(4) == 0)
			strv_add(&r->languages, PICK(flangs_v));
	}
	if (rnd(3) != 0)
		c->routing.fallback_team = xstrdup(PICK(teams_v));
	if (rnd(4) != 0) {
		/* Brand content is forced often: fallbacks must happen. */
		rnd_rule(&c->routing.brand, true);
		strv_take(&c->routing.brand.keywords, rnd_phrase(1));
		if (rnd(3) == 0)
			strv_add(&c->routing.brand.languages, PICK(flangs_v));
	} else if (rnd(2)) {
		/* Filters without content: must never match. */
		strv_add(&c->routing.brand.authors, PICK(authors_v));
	}
	return c;
}

static struct post *
rnd_post(void)
{
	struct post	*p = post_new();
	struct buf	 b;
	unsigned	 i, n;

	buf_init(&b);
	buf_adds(&b, "");
	for (n = rnd(12), i = 0; i < n; i++) {
		buf_adds(&b, PICK(words_v));
		buf_adds(&b, PICK(seps_v));
	}
	p->text = buf_steal(&b);
	p->author = xstrdup(PICK(authors_v));
	for (n = rnd(3), i = 0; i < n; i++)
		strv_add(&p->langs, PICK(langs_v));
	for (i = 0; i < nitems(tags_v); i++)
		if (rnd(6) == 0)
			strv_add(&p->hashtags, tags_v[i]);
	for (i = 0; i < nitems(ments_v); i++)
		if (rnd(8) == 0)
			strv_add(&p->mentions, ments_v[i]);
	return p;
}

/* The reference: every rule read straight from the config, in order. */

static bool
ref_phrase(const char *keyword, const struct strv *words)
{
	struct strv	kw;
	size_t		i, j;
	bool		found = false;

	strv_init(&kw);
	text_words(keyword, &kw);
	for (i = 0; kw.n > 0 && i + kw.n <= words->n && !found; i++) {
		for (j = 0; j < kw.n; j++)
			if (strcmp(kw.v[j], words->v[i + j]) != 0)
				break;
		found = j == kw.n;
	}
	strv_free(&kw);
	return found;
}

static bool
ref_regex(const char *pattern, const char *text)
{
	regex_t	re;
	bool	match;

	if (regcomp(&re, pattern, REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0)
		fail_msg("bad test pattern %s", pattern);
	match = regexec(&re, text, 0, NULL, 0) == 0;
	regfree(&re);
	return match;
}

static bool
ref_lang(const struct strv *filter, const struct strv *langs)
{
	char	primary[16];
	size_t	i, j;

	for (i = 0; i < langs->n; i++) {
		const char	*tag = langs->v[i];

		for (j = 0; j + 1 < sizeof(primary) && tag[j] != '\0' &&
		    tag[j] != '-'; j++)
			primary[j] = (char)tolower((unsigned char)tag[j]);
		primary[j] = '\0';
		if (strv_contains(filter, primary))
			return true;
	}
	return false;
}

static bool
ref_matches(const struct rule_conf *r, const struct post *p,
    const struct strv *words)
{
	bool	content = false;
	size_t	i;

	for (i = 0; i < r->keywords.n; i++)
		content = content || ref_phrase(r->keywords.v[i], words);
	for (i = 0; i < r->hashtags.n; i++)
		content = content || strv_contains(&p->hashtags,
		    r->hashtags.v[i]);
	for (i = 0; i < r->mentions.n; i++)
		content = content || strv_contains(&p->mentions,
		    r->mentions.v[i]);
	for (i = 0; i < r->patterns.n; i++)
		content = content || ref_regex(r->patterns.v[i], p->text);
	if (r->keywords.n + r->hashtags.n + r->mentions.n +
	    r->patterns.n == 0)
		content = true;
	if (!content)
		return false;
	if (r->authors.n > 0 && !strv_contains(&r->authors, p->author))
		return false;
	if (strv_contains(&r->exclude_authors, p->author))
		return false;
	if (r->languages.n > 0 && !ref_lang(&r->languages, &p->langs))
		return false;
	return true;
}

/* Fills action and "team" / "rule" (empty when none). */
static enum route_action
ref_decide(const struct config *c, const struct post *p, const char *owner,
    char *team, char *rule, size_t size)
{
	const struct routing_conf	*rc = &c->routing;
	const struct rule_conf		*best = NULL;
	const struct team_conf		*bteam = NULL;
	struct strv			 words;
	enum route_action		 action = ROUTE_IGNORE;
	size_t				 i, j;

	team[0] = rule[0] = '\0';
	strv_init(&words);
	text_words(p->text, &words);
	for (i = 0; i < rc->ndrop; i++) {
		const struct rule_conf	*r = &rc->drop[i];

		if ((r->keywords.n + r->hashtags.n + r->mentions.n +
		    r->patterns.n + r->authors.n + r->exclude_authors.n +
		    r->languages.n) > 0 && ref_matches(r, p, &words)) {
			snprintf(rule, size, "drop/%s", r->name);
			action = ROUTE_DROP;
			goto out;
		}
	}
	for (i = 0; owner != NULL && i < c->nteams; i++) {
		if (strcmp(c->teams[i].name, owner) == 0) {
			snprintf(team, size, "%s", owner);
			snprintf(rule, size, "thread");
			action = ROUTE_TEAM;
			goto out;
		}
	}
	for (i = 0; i < c->nteams; i++) {
		for (j = 0; j < c->teams[i].nrules; j++) {
			if ((best == NULL ||
			    c->teams[i].rules[j].priority > best->priority) &&
			    ref_matches(&c->teams[i].rules[j], p, &words)) {
				best = &c->teams[i].rules[j];
				bteam = &c->teams[i];
			}
		}
	}
	if (best != NULL) {
		snprintf(team, size, "%s", bteam->name);
		snprintf(rule, size, "%s/%s", bteam->name, best->name);
		action = ROUTE_TEAM;
	} else if (rc->fallback_team != NULL &&
	    rc->brand.keywords.n + rc->brand.hashtags.n + rc->brand.mentions.n +
	    rc->brand.patterns.n > 0 && ref_matches(&rc->brand, p, &words)) {
		snprintf(team, size, "%s", rc->fallback_team);
		snprintf(rule, size, "fallback");
		action = ROUTE_TEAM;
	}
out:
	strv_free(&words);
	return action;
}

static void
test_random_crosscheck(void **state)
{
	const char	*seed_env = getenv("SB_TEST_SEED");
	unsigned long long seed = 0;
	unsigned	 round, i, counts[5] = { 0 };
	char		 team[128], rule[128];
	const char	*owner;
	enum route_action want;

	(void)state;
	/* SB_TEST_SEED replays another run; xorshift needs a non-zero one. */
	if (seed_env != NULL)
		seed = strtoull(seed_env, NULL, 0);
	if (seed == 0)
		seed = 0x5eed2024ULL;
	rnd_state = seed;
	for (round = 0; round < 60; round++) {
		struct config	*c = rnd_config();
		struct router	*rt = mkrouter(c);

		for (i = 0; i < 300; i++) {
			struct post	*p = rnd_post();
			struct decision	 d;

			owner = rnd(5) == 0 ? PICK(teams_v) :
			    rnd(10) == 0 ? "t9" : NULL;
			want = ref_decide(c, p, owner, team, rule,
			    sizeof(team));
			router_decide(rt, p, owner, &d);
			if (d.action != want ||
			    strcmp(d.team ? d.team : "", team) != 0 ||
			    strcmp(d.rule ? d.rule : "", rule) != 0)
				fail_msg("seed %#llx round %u post %u \"%s\": "
				    "got %d %s %s, want %d %s %s", seed, round,
				    i, p->text, (int)d.action,
				    d.team ? d.team : "-",
				    d.rule ? d.rule : "-", (int)want, team,
				    rule);
			if (want == ROUTE_TEAM)
				counts[strcmp(rule, "thread") == 0 ? 3 :
				    strcmp(rule, "fallback") == 0 ? 4 : 2]++;
			else
				counts[want]++;
			post_free(p);
		}
		router_free(rt);
		tc_free(c);
	}
	/* The mix must exercise every outcome, or the check proves little. */
	for (i = 0; i < nitems(counts); i++)
		if (counts[i] < 25)
			fail_msg("outcome %u seen only %u times (seed %#llx)",
			    i, counts[i], seed);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyword_whole_word),
		cmocka_unit_test(test_keyword_phrase),
		cmocka_unit_test(test_keyword_unicode),
		cmocka_unit_test(test_hashtag_and_mention),
		cmocka_unit_test(test_regex),
		cmocka_unit_test(test_priority_and_ties),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_filter_only_rules),
		cmocka_unit_test(test_drop_beats_everything),
		cmocka_unit_test(test_drop_filters_only),
		cmocka_unit_test(test_drop_second_rule),
		cmocka_unit_test(test_drop_first_wins),
		cmocka_unit_test(test_sticky),
		cmocka_unit_test(test_fallback),
		cmocka_unit_test(test_bad_regex),
		cmocka_unit_test(test_hmap),
		cmocka_unit_test(test_random_crosscheck),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
