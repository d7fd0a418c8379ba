/* The router: rules compiled into indexes, and the per-post decision. */

#include <sys/types.h>

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "hmap.h"
#include "post.h"
#include "router.h"
#include "text.h"
#include "util.h"

#define ROUTER_NONE	UINT32_MAX	/* no rank found yet */

/* One compiled rule.  Its rank is its index in its set's rules[]. */
struct router_rule {
	char		*label;		/* decision->rule */
	const char	*team;		/* router-owned team name, or NULL */
	struct strv	 authors;
	struct strv	 exclude_authors;
	struct strv	 languages;
	regex_t		*regs;
	size_t		 nregs;
	bool		 screened;	/* every pattern is in set->screen */
};

/*
 * An index entry: "rule rank may match here".  Keyword entries carry
 * the keyword's words, the first of which is the index key; hashtag and
 * mention entries carry none.
 */
struct router_posting {
	uint32_t		 rank;
	const struct strv	*phrase;
};

/* Postings of one key, in ascending rank (the order rules are added). */
struct router_plist {
	struct router_posting	*v;
	size_t			 n;
	size_t			 cap;
};

/*
 * A set of rules where the lowest rank that matches wins: team rules
 * (ranked by priority, then config order), drop rules (config order),
 * the brand.  Content matchers are indexed so a post looks up only its
 * own words, hashtags and mentions; regex and content-free rules are
 * short rank-ordered lists scanned only while they could still win.
 */
struct router_set {
	struct router_rule	*rules;
	size_t			 nrules;
	struct hmap		 words;		/* first word -> plist */
	struct hmap		 hashtags;	/* hashtag -> plist */
	struct hmap		 mentions;	/* account id -> plist */
	uint32_t		*regex_ranks;
	size_t			 nregex;
	/*
	 * All screened patterns as one alternation: one regexec that says
	 * "none of them matches" spares up to one regexec per regex rule,
	 * and most posts match none.
	 */
	regex_t			 screen;
	bool			 has_screen;
	struct buf		 screen_src;	/* while building */
	uint32_t		*open_ranks;	/* rules without content */
	size_t			 nopen;
	struct strv		**phrases;	/* tokenized keywords, owned */
	size_t			 nphrases;
};

/*
 * Per-post scratch, reused so deciding allocates only in text_words.
 * Each word is hashed once for the lookups in all three sets.
 */
struct router_scratch {
	struct strv	 words;
	uint64_t	*hashes;
	size_t		 hashes_cap;
};

struct router {
	struct router_set	 drop;
	struct router_set	 teams;
	struct router_set	 brand;
	struct hmap		 team_names;	/* name -> owned name */
	/* Watchers: team or "team/rule" -> struct strv of teams. */
	struct hmap		 team_watchers;
	struct hmap		 rule_watchers;
	char			*fallback;	/* or NULL */
	struct router_scratch	*scratch;
};

/* What router_set_best reads: the post and its words, split lazily. */
struct router_ctx {
	const struct post	*post;
	struct router_scratch	*scratch;
	const struct strv	*words;		/* NULL until split */
};

static bool
router_has_content(const struct rule_conf *rc)
{
	return rc->keywords.n > 0 || rc->hashtags.n > 0 ||
	    rc->mentions.n > 0 || rc->patterns.n > 0;
}

static bool
router_has_filters(const struct rule_conf *rc)
{
	return rc->authors.n > 0 || rc->exclude_authors.n > 0 ||
	    rc->languages.n > 0;
}

static void
router_plist_add(struct hmap *m, const char *key, uint32_t rank,
    const struct strv *phrase)
{
	void			**slot = hmap_put(m, key);
	struct router_plist	 *pl = *slot;

	if (pl == NULL) {
		pl = xcalloc(1, sizeof(*pl));
		*slot = pl;
	}
	/* The same rule listing a tag twice needs only one posting. */
	if (phrase == NULL && pl->n > 0 && pl->v[pl->n - 1].rank == rank)
		return;
	if (pl->n == pl->cap) {
		pl->cap = pl->cap ? pl->cap * 2 : 2;
		pl->v = xrealloc(pl->v, pl->cap * sizeof(*pl->v));
	}
	pl->v[pl->n].rank = rank;
	pl->v[pl->n].phrase = phrase;
	pl->n++;
}

static void
router_plist_free_all(struct hmap *m)
{
	size_t			 iter = 0;
	void			*value;
	struct router_plist	*pl;

	while (hmap_next(m, &iter, NULL, &value)) {
		pl = value;
		free(pl->v);
		free(pl);
	}
	hmap_free(m);
}

static void
router_set_init(struct router_set *set, size_t nrules)
{
	memset(set, 0, sizeof(*set));
	set->rules = xcalloc(nrules ? nrules : 1, sizeof(*set->rules));
	hmap_init(&set->words);
	hmap_init(&set->hashtags);
	hmap_init(&set->mentions);
	set->regex_ranks = xcalloc(nrules ? nrules : 1, sizeof(uint32_t));
	buf_init(&set->screen_src);
	set->open_ranks = xcalloc(nrules ? nrules : 1, sizeof(uint32_t));
}

static void
router_set_free(struct router_set *set)
{
	struct router_rule	*r;
	size_t			 i, j;

	for (i = 0; i < set->nrules; i++) {
		r = &set->rules[i];
		free(r->label);
		strv_free(&r->authors);
		strv_free(&r->exclude_authors);
		strv_free(&r->languages);
		for (j = 0; j < r->nregs; j++)
			regfree(&r->regs[j]);
		free(r->regs);
	}
	free(set->rules);
	router_plist_free_all(&set->words);
	router_plist_free_all(&set->hashtags);
	router_plist_free_all(&set->mentions);
	free(set->regex_ranks);
	if (set->has_screen)
		regfree(&set->screen);
	buf_free(&set->screen_src);
	free(set->open_ranks);
	for (i = 0; i < set->nphrases; i++) {
		strv_free(set->phrases[i]);
		free(set->phrases[i]);
	}
	free(set->phrases);
	memset(set, 0, sizeof(*set));
}

static void
router_set_keyword(struct router_set *set, uint32_t rank, const char *kw)
{
	struct strv	*phrase = xmalloc(sizeof(*phrase));

	strv_init(phrase);
	text_words(kw, phrase);
	if (phrase->n == 0) {
		/* Nothing to match: such a keyword never matches. */
		free(phrase);
		return;
	}
	set->phrases = xrealloc(set->phrases,
	    (set->nphrases + 1) * sizeof(*set->phrases));
	set->phrases[set->nphrases++] = phrase;
	router_plist_add(&set->words, phrase->v[0], rank, phrase);
}

/*
 * Can pattern be wrapped as "(pattern)" in an alternation without
 * changing what it matches?  Only if its parentheses balance outside
 * bracket expressions and it has no back-reference (group numbers
 * shift).  Anything unusual is simply left out of the screen.
 */
static bool
router_screenable(const char *pat)
{
	const char	*s = pat;
	int		 depth = 0;

	while (*s != '\0') {
		if (*s == '\\') {
			if (s[1] == '\0' || (s[1] >= '0' && s[1] <= '9'))
				return false;
			s += 2;
			continue;
		}
		if (*s == '[') {
			s++;
			if (*s == '^')
				s++;
			if (*s == ']')
				s++;
			while (*s != '\0' && *s != ']') {
				if (*s == '[' && (s[1] == ':' || s[1] == '.' ||
				    s[1] == '=')) {
					s = strchr(s + 2, ']');
					if (s == NULL)
						return false;
				}
				s++;
			}
			if (*s == '\0')
				return false;
		} else if (*s == '(')
			depth++;
		else if (*s == ')' && --depth < 0)
			return false;
		s++;
	}
	return depth == 0;
}

static void
router_screen_add(struct router_set *set, struct router_rule *r,
    const struct strv *patterns)
{
	size_t	i;

	for (i = 0; i < patterns->n; i++)
		if (!router_screenable(patterns->v[i]))
			return;
	for (i = 0; i < patterns->n; i++)
		buf_printf(&set->screen_src, "%s(%s)",
		    set->screen_src.len > 0 ? "|" : "", patterns->v[i]);
	r->screened = true;
}

/* Compile the screen once every rule is in; without one, none is used. */
static void
router_set_finish(struct router_set *set)
{
	size_t	i, n = 0;

	for (i = 0; i < set->nrules; i++)
		n += set->rules[i].screened;
	if (n >= 2 && regcomp(&set->screen, set->screen_src.data,
	    REG_EXTENDED | REG_ICASE | REG_NOSUB) == 0)
		set->has_screen = true;
	for (i = 0; i < set->nrules && !set->has_screen; i++)
		set->rules[i].screened = false;
	buf_free(&set->screen_src);
}

/*
 * Append rc as the next rank of set (callers add in rank order, which
 * keeps every posting list sorted).  label is taken over.  -1 with
 * *cause on a pattern that does not compile.
 */
static int
router_set_add(struct router_set *set, const struct rule_conf *rc,
    char *label, const char *team, char **cause)
{
	uint32_t		 rank = (uint32_t)set->nrules;
	struct router_rule	*r = &set->rules[set->nrules++];
	char			 errbuf[256];
	size_t			 i;
	int			 error;

	r->label = label;
	r->team = team;
	strv_copy(&r->authors, &rc->authors);
	strv_copy(&r->exclude_authors, &rc->exclude_authors);
	strv_copy(&r->languages, &rc->languages);
	r->regs = xcalloc(rc->patterns.n ? rc->patterns.n : 1,
	    sizeof(*r->regs));
	for (i = 0; i < rc->patterns.n; i++) {
		error = regcomp(&r->regs[i], rc->patterns.v[i],
		    REG_EXTENDED | REG_ICASE | REG_NOSUB);
		if (error != 0) {
			/* A failed regcomp leaves nothing to regfree. */
			regerror(error, &r->regs[i], errbuf, sizeof(errbuf));
			*cause = xasprintf("rule %s: pattern \"%s\": %s",
			    label, rc->patterns.v[i], errbuf);
			return -1;
		}
		r->nregs++;
	}
	if (r->nregs > 0) {
		set->regex_ranks[set->nregex++] = rank;
		router_screen_add(set, r, &rc->patterns);
	}
	for (i = 0; i < rc->keywords.n; i++)
		router_set_keyword(set, rank, rc->keywords.v[i]);
	for (i = 0; i < rc->hashtags.n; i++)
		router_plist_add(&set->hashtags, rc->hashtags.v[i], rank, NULL);
	for (i = 0; i < rc->mentions.n; i++)
		router_plist_add(&set->mentions, rc->mentions.v[i], rank, NULL);
	if (!router_has_content(rc))
		set->open_ranks[set->nopen++] = rank;
	return 0;
}

/* Does any of the post's languages have a primary subtag in langs? */
static bool
router_lang_ok(const struct strv *langs, const struct post *p)
{
	size_t		 i, j, len;
	const char	*tag;

	for (i = 0; i < p->langs.n; i++) {
		tag = p->langs.v[i];
		len = strcspn(tag, "-");
		for (j = 0; j < langs->n; j++) {
			if (strlen(langs->v[j]) == len &&
			    strncasecmp(langs->v[j], tag, len) == 0)
				return true;
		}
	}
	return false;
}

static bool
router_filters_ok(const struct router_rule *r, const struct post *p)
{
	const char	*author = p->author != NULL ? p->author : "";

	if (r->authors.n > 0 && !strv_contains(&r->authors, author))
		return false;
	if (r->exclude_authors.n > 0 &&
	    strv_contains(&r->exclude_authors, author))
		return false;
	if (r->languages.n > 0 && !router_lang_ok(&r->languages, p))
		return false;
	return true;
}

static bool
router_phrase_at(const struct strv *words, size_t at,
    const struct strv *phrase)
{
	size_t	j;

	if (phrase->n > words->n - at)
		return false;
	for (j = 1; j < phrase->n; j++)
		if (strcmp(words->v[at + j], phrase->v[j]) != 0)
			return false;
	return true;
}

/*
 * Lower best to the first posting of pl (at word position at, for
 * keywords) whose rule matches; postings are rank-ordered, so the scan
 * stops at the first that cannot beat best.
 */
static uint32_t
router_plist_best(const struct router_set *set, const struct router_plist *pl,
    const struct router_ctx *ctx, size_t at, uint32_t best)
{
	const struct router_posting	*po;
	size_t				 i;

	for (i = 0; i < pl->n; i++) {
		po = &pl->v[i];
		if (po->rank >= best)
			break;
		if (po->phrase != NULL &&
		    !router_phrase_at(ctx->words, at, po->phrase))
			continue;
		if (router_filters_ok(&set->rules[po->rank], ctx->post))
			return po->rank;
	}
	return best;
}

static uint32_t
router_tags_best(const struct router_set *set, const struct hmap *m,
    const struct strv *tags, const struct router_ctx *ctx, uint32_t best)
{
	const struct router_plist	*pl;
	size_t				 i;

	if (m->n == 0)
		return best;
	for (i = 0; i < tags->n && best > 0; i++) {
		pl = hmap_get(m, tags->v[i]);
		if (pl != NULL)
			best = router_plist_best(set, pl, ctx, 0, best);
	}
	return best;
}

static bool
router_regex_ok(const struct router_rule *r, const char *text)
{
	size_t	i;

	for (i = 0; i < r->nregs; i++)
		if (regexec(&r->regs[i], text, 0, NULL, 0) == 0)
			return true;
	return false;
}

static void
router_split(struct router_ctx *ctx)
{
	struct router_scratch	*sc = ctx->scratch;
	size_t			 i;

	text_words(ctx->post->text != NULL ? ctx->post->text : "",
	    &sc->words);
	if (sc->words.n > sc->hashes_cap) {
		sc->hashes_cap = sc->words.n * 2;
		sc->hashes = xrealloc(sc->hashes,
		    sc->hashes_cap * sizeof(*sc->hashes));
	}
	for (i = 0; i < sc->words.n; i++)
		sc->hashes[i] = hmap_hash(sc->words.v[i]);
	ctx->words = &sc->words;
}

/* The lowest rank in set that matches ctx->post, or ROUTER_NONE. */
static uint32_t
router_set_best(const struct router_set *set, struct router_ctx *ctx)
{
	const struct post		*p = ctx->post;
	const struct router_plist	*pl;
	const struct router_rule	*r;
	const char			*text = p->text != NULL ? p->text : "";
	uint32_t			 best = ROUTER_NONE;
	size_t				 i;
	int				 screen = -1;	/* not run yet */

	if (set->nrules == 0)
		return best;
	best = router_tags_best(set, &set->hashtags, &p->hashtags, ctx, best);
	best = router_tags_best(set, &set->mentions, &p->mentions, ctx, best);
	if (set->words.n > 0 && best > 0) {
		if (ctx->words == NULL)
			router_split(ctx);
		for (i = 0; i < ctx->words->n && best > 0; i++) {
			pl = hmap_get_hashed(&set->words, ctx->words->v[i],
			    ctx->scratch->hashes[i]);
			if (pl != NULL)
				best = router_plist_best(set, pl, ctx, i, best);
		}
	}
	/* Cheap filter-only rules first: a hit may spare some regexes. */
	for (i = 0; i < set->nopen && set->open_ranks[i] < best; i++) {
		if (router_filters_ok(&set->rules[set->open_ranks[i]], p)) {
			best = set->open_ranks[i];
			break;
		}
	}
	for (i = 0; i < set->nregex && set->regex_ranks[i] < best; i++) {
		r = &set->rules[set->regex_ranks[i]];
		if (!router_filters_ok(r, p))
			continue;
		if (r->screened) {
			if (screen < 0)
				screen = regexec(&set->screen, text, 0, NULL,
				    0) == 0;
			if (!screen)
				continue;
		}
		if (router_regex_ok(r, text)) {
			best = set->regex_ranks[i];
			break;
		}
	}
	return best;
}

/* Team rules in decision order: priority descending, then config order. */
struct router_order {
	int				 priority;
	size_t				 seq;
	const struct team_conf		*team;
	const struct rule_conf		*rule;
};

static int
router_order_cmp(const void *a, const void *b)
{
	const struct router_order	*x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

static int
router_build_teams(struct router *rt, const struct config *cfg, char **cause)
{
	struct router_order	*order;
	size_t			 i, j, n = 0;
	const char		*team;
	void			**slot;
	int			 rv = 0;

	for (i = 0; i < cfg->nteams; i++) {
		slot = hmap_put(&rt->team_names, cfg->teams[i].name);
		if (*slot == NULL)
			*slot = xstrdup(cfg->teams[i].name);
		n += cfg->teams[i].nrules;
	}
	order = xcalloc(n ? n : 1, sizeof(*order));
	n = 0;
	for (i = 0; i < cfg->nteams; i++) {
		for (j = 0; j < cfg->teams[i].nrules; j++) {
			order[n].priority = cfg->teams[i].rules[j].priority;
			order[n].seq = n;
			order[n].team = &cfg->teams[i];
			order[n].rule = &cfg->teams[i].rules[j];
			n++;
		}
	}
	qsort(order, n, sizeof(*order), router_order_cmp);
	router_set_init(&rt->teams, n);
	for (i = 0; i < n && rv == 0; i++) {
		team = hmap_get(&rt->team_names, order[i].team->name);
		rv = router_set_add(&rt->teams, order[i].rule,
		    xasprintf("%s/%s", team, order[i].rule->name ?
		    order[i].rule->name : ""), team, cause);
	}
	free(order);
	return rv;
}

/*
 * Drop rules rank in config order.  An all-empty one is an absent one;
 * with filters only it drops every post the filters select, as a team
 * rule would take them.
 */
static int
router_build_drop(struct router *rt, const struct routing_conf *rc,
    char **cause)
{
	const struct rule_conf	*r;
	size_t			 i;
	char			*label;

	router_set_init(&rt->drop, rc->ndrop);
	for (i = 0; i < rc->ndrop; i++) {
		r = &rc->drop[i];
		if (!router_has_content(r) && !router_has_filters(r))
			continue;
		label = r->name != NULL ? xasprintf("drop/%s", r->name) :
		    xstrdup("drop");
		if (router_set_add(&rt->drop, r, label, NULL, cause) != 0)
			return -1;
	}
	return 0;
}

static void
router_watch_add(struct hmap *m, const char *watched, const char *watcher)
{
	void	**slot = hmap_put(m, watched);

	if (*slot == NULL) {
		*slot = xmalloc(sizeof(struct strv));
		strv_init(*slot);
	}
	if (!strv_contains(*slot, watcher))
		strv_add(*slot, watcher);
}

/* Who watches whom, turned round: the watched name to its watchers. */
static void
router_build_watchers(struct router *rt, const struct config *cfg)
{
	const struct team_conf	*t;
	size_t			 i, j;

	for (i = 0; i < cfg->nteams; i++) {
		t = &cfg->teams[i];
		for (j = 0; j < t->watch_teams.n; j++)
			router_watch_add(&rt->team_watchers,
			    t->watch_teams.v[j], t->name);
		for (j = 0; j < t->watch_rules.n; j++)
			router_watch_add(&rt->rule_watchers,
			    t->watch_rules.v[j], t->name);
	}
}

static void
router_watchers_free(struct hmap *m)
{
	size_t	 iter = 0;
	void	*value;

	while (hmap_next(m, &iter, NULL, &value)) {
		strv_free(value);
		free(value);
	}
	hmap_free(m);
}

const struct strv *
router_team_watchers(const struct router *rt, const char *team)
{
	return team != NULL ? hmap_get(&rt->team_watchers, team) : NULL;
}

const struct strv *
router_rule_watchers(const struct router *rt, const char *rule)
{
	return rule != NULL ? hmap_get(&rt->rule_watchers, rule) : NULL;
}

bool
router_watches_rules(const struct router *rt)
{
	return rt->rule_watchers.n > 0;
}

struct router *
router_new(const struct config *cfg, char **cause)
{
	struct router			*rt = xcalloc(1, sizeof(*rt));
	const struct routing_conf	*rc = &cfg->routing;
	const char			*fb;

	hmap_init(&rt->team_names);
	hmap_init(&rt->team_watchers);
	hmap_init(&rt->rule_watchers);
	router_build_watchers(rt, cfg);
	rt->scratch = xcalloc(1, sizeof(*rt->scratch));
	strv_init(&rt->scratch->words);

	if (router_build_drop(rt, rc, cause) != 0)
		goto fail;
	if (router_build_teams(rt, cfg, cause) != 0)
		goto fail;
	/*
	 * The brand needs content: without any, nothing is "about the
	 * brand".
	 */
	router_set_init(&rt->brand, 1);
	if (rc->fallback_team != NULL) {
		fb = hmap_get(&rt->team_names, rc->fallback_team);
		rt->fallback = xstrdup(fb != NULL ? fb : rc->fallback_team);
		if (router_has_content(&rc->brand) &&
		    router_set_add(&rt->brand, &rc->brand, xstrdup("fallback"),
		    rt->fallback, cause) != 0)
			goto fail;
	}
	router_set_finish(&rt->drop);
	router_set_finish(&rt->teams);
	router_set_finish(&rt->brand);
	return rt;

fail:
	router_free(rt);
	return NULL;
}

static void
router_team_names_free(struct hmap *m)
{
	size_t	 iter = 0;
	void	*value;

	while (hmap_next(m, &iter, NULL, &value))
		free(value);
	hmap_free(m);
}

void
router_free(struct router *rt)
{
	if (rt == NULL)
		return;
	router_set_free(&rt->drop);
	router_set_free(&rt->teams);
	router_set_free(&rt->brand);
	router_team_names_free(&rt->team_names);
	router_watchers_free(&rt->team_watchers);
	router_watchers_free(&rt->rule_watchers);
	free(rt->fallback);
	strv_free(&rt->scratch->words);
	free(rt->scratch->hashes);
	free(rt->scratch);
	free(rt);
}

static void
router_scratch_reset(struct router_scratch *sc)
{
	size_t	i;

	/* Keep the vector's memory for the next post. */
	for (i = 0; i < sc->words.n; i++)
		free(sc->words.v[i]);
	sc->words.n = 0;
}

void
router_decide(const struct router *rt, const struct post *p,
    const char *owner, struct decision *out)
{
	struct router_ctx	 ctx = { p, rt->scratch, NULL };
	const char		*team;
	uint32_t		 rank;

	out->action = ROUTE_IGNORE;
	out->team = NULL;
	out->rule = NULL;

	rank = router_set_best(&rt->drop, &ctx);
	if (rank != ROUTER_NONE) {
		out->action = ROUTE_DROP;
		out->rule = rt->drop.rules[rank].label;
		goto out;
	}
	if (owner != NULL) {
		team = hmap_get(&rt->team_names, owner);
		if (team != NULL) {
			out->action = ROUTE_TEAM;
			out->team = team;
			out->rule = "thread";
			goto out;
		}
	}
	rank = router_set_best(&rt->teams, &ctx);
	if (rank != ROUTER_NONE) {
		out->action = ROUTE_TEAM;
		out->team = rt->teams.rules[rank].team;
		out->rule = rt->teams.rules[rank].label;
		goto out;
	}
	rank = router_set_best(&rt->brand, &ctx);
	if (rank != ROUTER_NONE) {
		out->action = ROUTE_TEAM;
		out->team = rt->brand.rules[rank].team;
		out->rule = rt->brand.rules[rank].label;
	}
out:
	router_scratch_reset(rt->scratch);
}
