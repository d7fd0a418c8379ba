/*
 * The pipeline benchmark: recorded Jetstream posts replayed through
 * parse + route, then parse + route + store, printing throughput,
 * per-event latency percentiles and peak memory.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "jetstream.h"
#include "log.h"
#include "mastodon.h"
#include "nostr.h"
#include "post.h"
#include "pipeline.h"
#include "router.h"
#include "store.h"
#include "text.h"
#include "util.h"

#define BENCH_RULES	1000
#define BENCH_TEAMS	10
#define BENCH_BATCH	256		/* events per store transaction */
#define BENCH_SUFFIX	7		/* rkey characters rewritten per copy */

/* A recorded post frame, rewritten in place for each replayed copy. */
struct bench_frame {
	char	*data;
	size_t	 len;
	size_t	 rkey_off;	/* the rkey's last BENCH_SUFFIX characters */
};

struct bench_corpus {
	struct bench_frame	*frames;
	size_t			 n;
	struct strv		 words;		/* distinct post words */
	struct strv		 bigrams;	/* "w1 w2" seen in the posts */
	struct strv		 hashtags;
	struct strv		 mentions;
};

static unsigned long long bench_rnd_state = 0x9e3779b97f4a7c15ULL;

static unsigned
bench_rnd(unsigned n)
{
	bench_rnd_state ^= bench_rnd_state >> 12;
	bench_rnd_state ^= bench_rnd_state << 25;
	bench_rnd_state ^= bench_rnd_state >> 27;
	return (unsigned)(((bench_rnd_state * 2685821657736338717ULL) >> 33) %
	    n);
}

static uint64_t
bench_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void
bench_strv_add_unique(struct strv *sv, const char *s)
{
	if (!strv_contains(sv, s))
		strv_add(sv, s);
}

/* Note a post's words, word pairs, hashtags and mentions for the rules. */
static void
bench_learn(struct bench_corpus *c, const struct post *p)
{
	struct strv	w;
	size_t		i;

	strv_init(&w);
	text_words(p->text, &w);
	for (i = 0; i < w.n; i++) {
		if (strlen(w.v[i]) >= 4)
			bench_strv_add_unique(&c->words, w.v[i]);
		if (i + 1 < w.n && c->bigrams.n < 60)
			strv_take(&c->bigrams, xasprintf("%s %s", w.v[i],
			    w.v[i + 1]));
	}
	strv_free(&w);
	for (i = 0; i < p->hashtags.n; i++)
		bench_strv_add_unique(&c->hashtags, p->hashtags.v[i]);
	for (i = 0; i < p->mentions.n; i++)
		bench_strv_add_unique(&c->mentions, p->mentions.v[i]);
}

/* Keep the post frames of path, each ready for its rkey to be rewritten. */
static int
bench_load(const char *path, struct bench_corpus *c)
{
	FILE			*f = fopen(path, "r");
	char			*line = NULL, *cause = NULL, *rk, *end;
	size_t			 cap = 0;
	ssize_t			 len;
	struct jetstream_event	 ev;

	if (f == NULL) {
		fprintf(stderr, "bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		while (len > 0 &&
		    (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		memset(&ev, 0, sizeof(ev));
		if (jetstream_parse(line, (size_t)len, &ev, &cause) != 0) {
			free(cause);
			cause = NULL;
			continue;
		}
		rk = strstr(line, "\"rkey\":\"");
		end = rk != NULL ? strchr(rk + 8, '"') : NULL;
		if (ev.kind == JETSTREAM_POST && end != NULL &&
		    end - (rk + 8) >= BENCH_SUFFIX) {
			bench_learn(c, ev.post);
			c->frames = xrealloc(c->frames,
			    (c->n + 1) * sizeof(*c->frames));
			c->frames[c->n].data = xstrdup(line);
			c->frames[c->n].len = (size_t)len;
			c->frames[c->n].rkey_off = (size_t)(end - line) -
			    BENCH_SUFFIX;
			c->n++;
		}
		jetstream_event_clear(&ev);
	}
	free(line);
	fclose(f);
	if (c->n == 0) {
		fprintf(stderr, "bench: %s: no post events\n", path);
		return -1;
	}
	return 0;
}

/* Copy i: the same post under a record key no other copy has. */
static const struct bench_frame *
bench_stamp(struct bench_corpus *c, uint64_t i)
{
	static const char	 b32[] = "234567abcdefghijklmnopqrstuvwxyz";
	struct bench_frame	*f = &c->frames[i % c->n];
	uint64_t		 k = i;
	int			 j;

	for (j = BENCH_SUFFIX - 1; j >= 0; j--) {
		f->data[f->rkey_off + (size_t)j] = b32[k % 32];
		k /= 32;
	}
	return f;
}

static const char *const bench_support_v[] = {
	"refund", "invoice", "outage", "login", "password", "crash", "billing",
	"subscription", "cancel", "charged", "broken", "bug", "error",
	"support", "help", "slow", "down", "delivery", "shipping", "order",
	"account", "hacked", "locked", "update", "install", "app", "website",
	"checkout", "payment", "card", "discount", "coupon", "warranty",
	"return", "exchange", "damaged", "missing", "late", "ticket", "agent"
};

static const char *const bench_regex_v[] = {
	"order #?[0-9]{6,}", "ticket[ -]?[0-9]+", "(crash|freez)(es|ed|ing)",
	"https?://[a-z.]*acme\\.example", "refund(ed|s)?", "can'?t log ?in",
	"error [0-9]{3}", "v[0-9]+\\.[0-9]+\\.[0-9]+", "charged (twice|two)",
	"@acme[a-z]*", "not (working|loading)", "[0-9]+ (days|weeks) late",
	"where is my (order|package)", "acme ?(pro|plus|max)",
	"(worst|terrible) (service|support)", "cancel+ed my",
	"out of stock", "pre-?order", "promo ?code", "battery (dies|drain)"
};

static const char *const bench_langs_v[] = {
	"en", "fr", "de", "es", "pt", "ja"
};

/* The pools rules draw from: real words mixed with product vocabulary. */
struct bench_pools {
	struct strv	keywords;
	struct strv	hashtags;
	struct strv	mentions;
};

static void
bench_pools_make(const struct bench_corpus *c, struct bench_pools *pl)
{
	size_t	i;

	strv_init(&pl->keywords);
	strv_init(&pl->hashtags);
	strv_init(&pl->mentions);
	for (i = 0; i < c->words.n && i < 12; i++)
		strv_add(&pl->keywords, c->words.v[(i * 7) % c->words.n]);
	for (i = 0; i < nitems(bench_support_v); i++)
		strv_add(&pl->keywords, bench_support_v[i]);
	while (pl->keywords.n < 300)
		strv_take(&pl->keywords, xasprintf("%s%u",
		    bench_support_v[bench_rnd(nitems(bench_support_v))],
		    bench_rnd(1000)));
	for (i = 0; i < c->bigrams.n && i < 10; i++)
		strv_add(&pl->keywords, c->bigrams.v[i]);
	while (pl->keywords.n < 400)
		strv_take(&pl->keywords, xasprintf("%s %s",
		    bench_support_v[bench_rnd(nitems(bench_support_v))],
		    bench_support_v[bench_rnd(nitems(bench_support_v))]));
	for (i = 0; i < c->hashtags.n && i < 20; i++)
		strv_add(&pl->hashtags, c->hashtags.v[i]);
	while (pl->hashtags.n < 100)
		strv_take(&pl->hashtags, xasprintf("tag%u", bench_rnd(100000)));
	for (i = 0; i < c->mentions.n && i < 10; i++)
		strv_add(&pl->mentions, c->mentions.v[i]);
	while (pl->mentions.n < 50)
		strv_take(&pl->mentions, xasprintf("did:plc:bench%07u",
		    bench_rnd(10000000)));
}

static void
bench_pools_free(struct bench_pools *pl)
{
	strv_free(&pl->keywords);
	strv_free(&pl->hashtags);
	strv_free(&pl->mentions);
}

#define BENCH_PICK(sv)	((sv)->v[bench_rnd((unsigned)(sv)->n)])

static void
bench_rule(struct rule_conf *r, const struct bench_pools *pl, size_t i)
{
	unsigned	k, n;

	r->name = xasprintf("r%zu", i);
	r->priority = (int)bench_rnd(10);
	for (n = bench_rnd(3), k = 0; k < n; k++)
		strv_add(&r->keywords, BENCH_PICK(&pl->keywords));
	if (bench_rnd(10) < 3)
		for (n = 1 + bench_rnd(2), k = 0; k < n; k++)
			strv_add(&r->hashtags, BENCH_PICK(&pl->hashtags));
	if (bench_rnd(10) == 0)
		strv_add(&r->mentions, BENCH_PICK(&pl->mentions));
	/* Every 50th rule: 20 regex rules over 1,000. */
	if (i % (BENCH_RULES / nitems(bench_regex_v)) == 7)
		strv_add(&r->patterns, bench_regex_v[(i / 50) %
		    nitems(bench_regex_v)]);
	if (r->keywords.n + r->hashtags.n + r->mentions.n +
	    r->patterns.n == 0)
		strv_add(&r->keywords, BENCH_PICK(&pl->keywords));
	if (bench_rnd(100) < 15)
		strv_add(&r->languages,
		    bench_langs_v[bench_rnd(nitems(bench_langs_v))]);
	if (bench_rnd(100) < 5)
		strv_add(&r->exclude_authors, BENCH_PICK(&pl->mentions));
}

/*
 * BENCH_RULES rules over BENCH_TEAMS teams, a drop rule and a brand;
 * with catch_all, one more team takes whatever no other rule does.
 */
static struct config *
bench_config(const struct bench_corpus *c, bool catch_all)
{
	struct config		*cfg = xcalloc(1, sizeof(*cfg));
	struct bench_pools	 pl;
	struct team_conf	*t;
	struct rule_conf	*drop;
	size_t			 i, per = BENCH_RULES / BENCH_TEAMS;

	bench_rnd_state = 0x9e3779b97f4a7c15ULL;
	bench_pools_make(c, &pl);
	cfg->nteams = BENCH_TEAMS + (catch_all ? 1 : 0);
	cfg->teams = xcalloc(cfg->nteams, sizeof(*cfg->teams));
	for (i = 0; i < BENCH_TEAMS; i++) {
		t = &cfg->teams[i];
		t->name = xasprintf("team%zu", i);
		t->nrules = per;
		t->rules = xcalloc(per, sizeof(*t->rules));
	}
	for (i = 0; i < BENCH_RULES; i++)
		bench_rule(&cfg->teams[i % BENCH_TEAMS].rules[i / BENCH_TEAMS],
		    &pl, i);
	if (catch_all) {
		t = &cfg->teams[BENCH_TEAMS];
		t->name = xstrdup("triage");
		t->nrules = 1;
		t->rules = xcalloc(1, sizeof(*t->rules));
		t->rules[0].name = xstrdup("everything");
		t->rules[0].priority = -1;
	}
	drop = xcalloc(1, sizeof(*drop));
	cfg->routing.drop = drop;
	cfg->routing.ndrop = 1;
	drop->name = xstrdup("spam");
	strv_add(&drop->keywords, "crypto giveaway");
	strv_add(&drop->keywords, "dm for promo");
	strv_add(&drop->hashtags, "airdrop");
	cfg->routing.fallback_team = xstrdup("team0");
	cfg->routing.brand.name = xstrdup("brand");
	strv_add(&cfg->routing.brand.keywords, "acme");
	strv_add(&cfg->routing.brand.mentions, "did:plc:acmebrand");
	bench_pools_free(&pl);
	return cfg;
}

static void
bench_rule_free(struct rule_conf *r)
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
bench_config_free(struct config *cfg)
{
	size_t	i, j;

	for (i = 0; i < cfg->nteams; i++) {
		for (j = 0; j < cfg->teams[i].nrules; j++)
			bench_rule_free(&cfg->teams[i].rules[j]);
		free(cfg->teams[i].rules);
		free(cfg->teams[i].name);
	}
	free(cfg->teams);
	for (i = 0; i < cfg->routing.ndrop; i++)
		bench_rule_free(&cfg->routing.drop[i]);
	free(cfg->routing.drop);
	bench_rule_free(&cfg->routing.brand);
	free(cfg->routing.fallback_team);
	free(cfg);
}

static int
bench_cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
bench_report(const char *label, size_t nrules, size_t n, uint64_t total_ns,
    uint64_t *lat, const char *extra)
{
	struct rusage	ru;

	qsort(lat, n, sizeof(*lat), bench_cmp_u64);
	getrusage(RUSAGE_SELF, &ru);
	printf("%s: %zu rules, %zu events, %.0f events/s, p50 %.1f us, "
	    "p99 %.1f us, peak RSS %ld KiB%s\n", label, nrules, n,
	    (double)n / ((double)total_ns / 1e9), (double)lat[n / 2] / 1e3,
	    (double)lat[(n * 99) / 100] / 1e3, ru.ru_maxrss, extra);
}

/* (a) parse + route; the route step alone is timed too (in rlat). */
static int
bench_route(struct bench_corpus *c, size_t n, uint64_t *lat, uint64_t *rlat)
{
	struct config		*cfg = bench_config(c, false);
	struct router		*rt;
	struct jetstream_event	 ev;
	const struct bench_frame *f;
	struct decision		 d;
	char			*cause = NULL, extra[128];
	uint64_t		 t0, tm, t1, total = 0, rtotal = 0;
	size_t			 i, routed = 0, dropped = 0;

	rt = router_new(cfg, &cause);
	if (rt == NULL) {
		fprintf(stderr, "bench: router_new: %s\n", cause);
		free(cause);
		bench_config_free(cfg);
		return -1;
	}
	for (i = 0; i < n; i++) {
		f = bench_stamp(c, i);
		t0 = bench_now_ns();
		memset(&ev, 0, sizeof(ev));
		if (jetstream_parse(f->data, f->len, &ev, &cause) != 0) {
			fprintf(stderr, "bench: parse: %s\n", cause);
			free(cause);
			break;
		}
		tm = bench_now_ns();
		router_decide(rt, ev.post, NULL, &d);
		rlat[i] = bench_now_ns() - tm;
		rtotal += rlat[i];
		jetstream_event_clear(&ev);
		t1 = bench_now_ns();
		lat[i] = t1 - t0;
		total += t1 - t0;
		routed += d.action == ROUTE_TEAM;
		dropped += d.action == ROUTE_DROP;
	}
	router_free(rt);
	bench_config_free(cfg);
	if (i < n)
		return -1;
	snprintf(extra, sizeof(extra), " (%zu routed, %zu dropped)", routed,
	    dropped);
	bench_report("parse+route", BENCH_RULES, n, total, lat, extra);
	bench_report("route alone", BENCH_RULES, n, rtotal, rlat, "");
	return 0;
}

/* One event of (b): everything the daemon does between frame and outbox. */
static int
bench_store_one(struct store *st, const struct router *rt,
    const struct bench_frame *f, size_t *routed, int64_t *cursor_us)
{
	struct jetstream_event	 ev;
	struct decision		 d;
	char			*cause = NULL;
	int			 rv = -1;

	memset(&ev, 0, sizeof(ev));
	if (jetstream_parse(f->data, f->len, &ev, &cause) != 0) {
		fprintf(stderr, "bench: parse: %s\n", cause);
		free(cause);
		return -1;
	}
	if (store_begin(st) != 0 ||
	    pipeline_post(st, rt, ev.post, &d) != 1)
		goto out;
	*routed += d.action == ROUTE_TEAM;
	/* The daemon writes the cursor once per burst, at commit. */
	*cursor_us = ev.time_us;
	rv = 0;
out:
	jetstream_event_clear(&ev);
	return rv;
}

static int
bench_cursor(struct store *st, int64_t cursor_us)
{
	char	cursor[32];

	snprintf(cursor, sizeof(cursor), "%" PRId64, cursor_us);
	return store_cursor_set(st, "bench", cursor);
}

static void
bench_rmdir(const char *dir)
{
	DIR		*d = opendir(dir);
	struct dirent	*de;
	char		*p;

	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			p = xasprintf("%s/%s", dir, de->d_name);
			unlink(p);
			free(p);
		}
		closedir(d);
	}
	rmdir(dir);
}

/* (b) parse + route + record + delivery + cursor, batched commits. */
static int
bench_store(struct bench_corpus *c, size_t n, uint64_t *lat)
{
	struct config	*cfg = bench_config(c, true);
	struct router	*rt = NULL;
	struct store	*st = NULL;
	const char	*tmp = getenv("TMPDIR");
	char		*dir, *cause = NULL, extra[128];
	uint64_t	 t0, t1, total = 0;
	int64_t		 cursor_us = 0;
	size_t		 i, routed = 0;
	int		 rv = -1;

	dir = xasprintf("%s/bench_pipeline.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "bench: mkdtemp %s: %s\n", dir,
		    strerror(errno));
		goto out;
	}
	if ((rt = router_new(cfg, &cause)) == NULL ||
	    (st = store_open(dir, &cause)) == NULL) {
		fprintf(stderr, "bench: %s\n", cause);
		goto out;
	}
	for (i = 0; i < n; i++) {
		const struct bench_frame *f = bench_stamp(c, i);

		t0 = bench_now_ns();
		if (bench_store_one(st, rt, f, &routed, &cursor_us) != 0)
			goto out;
		/* The commit's cost lands on the event that triggers it. */
		if ((i + 1) % BENCH_BATCH == 0 &&
		    (bench_cursor(st, cursor_us) != 0 || store_commit(st) != 0))
			goto out;
		t1 = bench_now_ns();
		lat[i] = t1 - t0;
		total += t1 - t0;
	}
	t0 = bench_now_ns();
	if (bench_cursor(st, cursor_us) != 0 || store_commit(st) != 0)
		goto out;
	total += bench_now_ns() - t0;
	if (routed != n) {
		fprintf(stderr, "bench: only %zu of %zu events routed\n",
		    routed, n);
		goto out;
	}
	snprintf(extra, sizeof(extra), " (commit every %d)", BENCH_BATCH);
	bench_report("parse+route+store", BENCH_RULES + 1, n, total, lat,
	    extra);
	rv = 0;
out:
	if (rv != 0 && st != NULL && store_in_transaction(st))
		store_rollback(st);
	store_close(st);
	router_free(rt);
	bench_config_free(cfg);
	bench_rmdir(dir);
	free(dir);
	free(cause);
	return rv;
}

static void
bench_corpus_free(struct bench_corpus *c)
{
	size_t	i;

	for (i = 0; i < c->n; i++)
		free(c->frames[i].data);
	free(c->frames);
	strv_free(&c->words);
	strv_free(&c->bigrams);
	strv_free(&c->hashtags);
	strv_free(&c->mentions);
}

/*
 * Nostr relay frames (nostr-events.jsonl beside the Jetstream corpus):
 * parse + verify (NIP-01 id and BIP-340 signature) + event to post,
 * and the same without verification, which shows what the checks cost.
 */
#define BENCH_NOSTR_EVENTS	50000
#define BENCH_NOSTR_FILE	"nostr-events.jsonl"

static int
bench_nostr_run(const struct strv *frames, size_t n, bool verify)
{
	struct nostr_msg	 msg;
	struct post		*p = NULL;
	const char		*f;
	char			*cause = NULL;
	uint64_t		 t0, total;
	size_t			 i;

	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		f = frames->v[i % frames->n];
		if (nostr_parse_message(f, strlen(f), &msg, &cause) != 0 ||
		    msg.kind != NOSTR_EVENT ||
		    (verify && nostr_verify(msg.event, &cause) != 0) ||
		    (p = nostr_event_post(msg.event, "https://njump.me/",
		    &cause)) == NULL) {
			fprintf(stderr, "bench: nostr frame %zu: %s\n",
			    i % frames->n + 1, cause != NULL ? cause :
			    "not an EVENT");
			free(cause);
			nostr_msg_clear(&msg);
			return -1;
		}
		post_free(p);
		nostr_msg_clear(&msg);
	}
	total = bench_now_ns() - t0;
	printf("nostr parse: signature verification %s, %zu events, "
	    "%.0f events/s, %.1f us/event\n", verify ? "on" : "off", n,
	    (double)n / ((double)total / 1e9), (double)total / 1e3 / (double)n);
	return 0;
}

static int
bench_nostr(const char *corpus, long long max)
{
	const char	*slash = strrchr(corpus, '/');
	char		*path, *line = NULL;
	size_t		 cap = 0, n;
	ssize_t		 len;
	struct strv	 frames;
	FILE		*f;
	int		 rv = -1;

	path = slash != NULL ? xasprintf("%.*s/%s", (int)(slash - corpus),
	    corpus, BENCH_NOSTR_FILE) : xstrdup(BENCH_NOSTR_FILE);
	if ((f = fopen(path, "r")) == NULL) {
		printf("nostr parse: skipped, %s: %s\n", path, strerror(errno));
		free(path);
		return 0;
	}
	strv_init(&frames);
	while ((len = getline(&line, &cap, f)) > 0) {
		while (len > 0 &&
		    (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len > 0)
			strv_add(&frames, line);
	}
	free(line);
	fclose(f);
	n = max < BENCH_NOSTR_EVENTS ? (size_t)max : BENCH_NOSTR_EVENTS;
	if (frames.n == 0)
		fprintf(stderr, "bench: %s: no frames\n", path);
	else {
		printf("nostr corpus: %s, %zu relay frames replayed as %zu "
		    "events\n", path, frames.n, n);
		if (bench_nostr_run(&frames, n, true) == 0 &&
		    bench_nostr_run(&frames, n, false) == 0)
			rv = 0;
	}
	strv_free(&frames);
	free(path);
	return rv;
}

/*
 * Mastodon streaming messages (mastodon-stream-public.jsonl beside the
 * Jetstream corpus: recorded Status JSON, wrapped here in the update
 * envelope the streaming API sends): message to post, with latency
 * percentiles.  The payload is parsed twice, as the protocol demands.
 */
#define BENCH_MASTODON_EVENTS	50000
#define BENCH_MASTODON_FILE	"mastodon-stream-public.jsonl"

/* Each recorded status as {"stream":["public"],"event":"update",...}. */
static void
bench_mastodon_load(FILE *f, struct strv *msgs)
{
	char	*line = NULL, *s;
	size_t	 cap = 0;
	ssize_t	 len;
	json_t	*env;

	while ((len = getline(&line, &cap, f)) > 0) {
		while (len > 0 &&
		    (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		env = json_pack("{s:[s], s:s, s:s}", "stream", "public",
		    "event", "update", "payload", line);
		if (env == NULL)
			continue;
		s = json_dumps(env, JSON_COMPACT);
		json_decref(env);
		if (s != NULL)
			strv_take(msgs, s);
	}
	free(line);
}

static int
bench_mastodon_run(const struct strv *msgs, size_t n, uint64_t *lat)
{
	struct mastodon_event	 ev;
	const char		*m;
	char			*cause = NULL;
	uint64_t		 t0, t1, total = 0;
	size_t			 i;

	for (i = 0; i < n; i++) {
		m = msgs->v[i % msgs->n];
		t0 = bench_now_ns();
		if (mastodon_parse_message(m, strlen(m), "mastodon.social",
		    &ev, &cause) != 0 || ev.kind != MASTODON_STATUS) {
			fprintf(stderr, "bench: mastodon message %zu: %s\n",
			    i % msgs->n + 1, cause != NULL ? cause :
			    "not a status");
			free(cause);
			mastodon_event_clear(&ev);
			return -1;
		}
		mastodon_event_clear(&ev);
		t1 = bench_now_ns();
		lat[i] = t1 - t0;
		total += t1 - t0;
	}
	qsort(lat, n, sizeof(*lat), bench_cmp_u64);
	printf("mastodon parse: %zu events, %.0f events/s, p50 %.1f us, "
	    "p99 %.1f us\n", n, (double)n / ((double)total / 1e9),
	    (double)lat[n / 2] / 1e3, (double)lat[(n * 99) / 100] / 1e3);
	return 0;
}

static int
bench_mastodon(const char *corpus, long long max)
{
	const char	*slash = strrchr(corpus, '/');
	char		*path;
	struct strv	 msgs;
	uint64_t	*lat;
	size_t		 n;
	FILE		*f;
	int		 rv = -1;

	path = slash != NULL ? xasprintf("%.*s/%s", (int)(slash - corpus),
	    corpus, BENCH_MASTODON_FILE) : xstrdup(BENCH_MASTODON_FILE);
	f = fopen(path, "r");
	if (f == NULL) {
		printf("mastodon parse: skipped, %s: %s\n", path,
		    strerror(errno));
		free(path);
		return 0;
	}
	strv_init(&msgs);
	bench_mastodon_load(f, &msgs);
	fclose(f);
	n = max < BENCH_MASTODON_EVENTS ? (size_t)max : BENCH_MASTODON_EVENTS;
	if (msgs.n == 0)
		fprintf(stderr, "bench: %s: no statuses\n", path);
	else {
		printf("mastodon corpus: %s, %zu statuses replayed as %zu "
		    "streaming messages\n", path, msgs.n, n);
		lat = xcalloc(n, sizeof(*lat));
		rv = bench_mastodon_run(&msgs, n, lat);
		free(lat);
	}
	strv_free(&msgs);
	free(path);
	return rv;
}

int
main(int argc, char **argv)
{
	struct bench_corpus	 c;
	const char		*path = "tests/data/jetstream-corpus.jsonl";
	const char		*errstr = NULL;
	uint64_t		*lat, *rlat;
	long long		 n = 200000;
	char			*end;
	int			 ch, rv = 1;

	while ((ch = getopt(argc, argv, "n:")) != -1) {
		switch (ch) {
		case 'n':
			errno = 0;
			n = strtoll(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || n < 1 ||
			    n > 100000000)
				errstr = optarg;
			break;
		default:
			errstr = "";
			break;
		}
	}
	if (errstr != NULL || argc - optind > 1) {
		fprintf(stderr, "usage: %s [-n events] [corpus.jsonl]\n",
		    argv[0]);
		return 2;
	}
	if (optind < argc)
		path = argv[optind];

	/* The store's migration notice is not a benchmark figure. */
	log_set_level(LOG_WARNING);
	memset(&c, 0, sizeof(c));
	if (bench_load(path, &c) != 0)
		goto out;
	printf("corpus: %s, %zu post events replayed as %lld unique posts\n",
	    path, c.n, n);
	lat = xcalloc((size_t)n, sizeof(*lat));
	rlat = xcalloc((size_t)n, sizeof(*rlat));
	if (bench_route(&c, (size_t)n, lat, rlat) == 0 &&
	    bench_store(&c, (size_t)n, lat) == 0)
		rv = 0;
	free(rlat);
	free(lat);
	if (rv == 0 && bench_nostr(path, n) != 0)
		rv = 1;
	if (rv == 0 && bench_mastodon(path, n) != 0)
		rv = 1;
out:
	bench_corpus_free(&c);
	return rv;
}
