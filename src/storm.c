/*
 * Storm detection: per team and per rule, post counts in fixed rings of
 * time slots by the posts' own time, the rolling baseline they give,
 * and the alert and calm-down notes queued to storms.alert_team.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hmap.h"
#include "log.h"
#include "storm.h"
#include "text.h"
#include "util.h"

#define STORM_US		1000000LL
#define STORM_FINE		10	/* slots making up the current window */
#define STORM_COARSE_MAX	512	/* baseline slots, at most */
#define STORM_KEYS_MAX		4096	/* teams and rules tracked */
#define STORM_WORDS		128	/* distinct words kept per epoch */
#define STORM_WORD_BYTES	24	/* longer words are not counted */
#define STORM_MIN_WORD		3	/* code points: shorter ones neither */
#define STORM_SAMPLES		3	/* latest posts kept as examples */
#define STORM_AUTHOR_BYTES	64
#define STORM_TEXT_BYTES	160
#define STORM_TOP		3	/* words and hashtags named */
#define STORM_EXAMPLE_CHARS	60	/* of each example's text */
#define STORM_CLOCK_TRUST_US	(24 * 60 * 60 * STORM_US)

/*
 * Words too common to say anything about a storm, sorted for bsearch.
 * English only: a short list is enough, the count does the rest.  Link
 * fragments are here because Bluesky shortens links into the text.
 */
static const char *const storm_stop_words[] = {
	"about", "after", "all", "also", "and", "any", "are", "aren", "been",
	"being", "but", "can", "com", "could", "did", "didn", "does",
	"doesn", "don", "for", "from", "get", "got", "had", "has", "have",
	"her", "here", "him", "his", "how", "http", "https", "into", "isn",
	"its", "just", "like", "more", "not", "now", "one", "only", "org",
	"our", "out", "over", "really", "she", "should", "some", "than",
	"that", "the", "their", "them", "then", "there", "these", "they",
	"this", "those", "too", "very", "was", "wasn", "were", "what",
	"when", "which", "who", "why", "will", "with", "would", "www",
	"you", "your"
};

struct storm_word {
	uint64_t	hash;
	uint32_t	count;
	char		word[STORM_WORD_BYTES];
};

/*
 * Word counts of one epoch (window_s of post time): a capped table
 * with its own open-addressing index.  Two epochs are kept, so an
 * alert sees between one and two windows of words.
 */
struct storm_words {
	int64_t			epoch;		/* -1: unused */
	size_t			n;
	struct storm_word	v[STORM_WORDS];
	uint16_t		index[STORM_WORDS * 2];	/* 0, or i + 1 */
};

struct storm_sample {
	int64_t	conversation;
	char	author[STORM_AUTHOR_BYTES];
	char	text[STORM_TEXT_BYTES];
};

/* One team or one "team/rule". */
struct storm_key {
	char			*name;
	char			*team;
	bool			 is_rule;
	uint32_t		 fine[STORM_FINE];
	int64_t			 fine_head;	/* newest slot held, or -1 */
	uint32_t		*coarse;	/* storms->ncoarse slots */
	int64_t			 coarse_head;
	struct storm_words	 words[2];
	struct storm_sample	 samples[STORM_SAMPLES];
	uint64_t		 nsamples;	/* taken so far: ring's next */
	bool			 active;	/* in a storm */
	bool			 announced;	/* its alert was queued */
	int64_t			 last_hot_us;
	int64_t			 conversation;	/* where the alert went */
};

struct storms {
	struct hmap		  keys;		/* name -> struct storm_key */
	struct storm_key	**v;		/* the same, for walking */
	size_t			  n;
	size_t			  nactive;
	uint64_t		  started;
	bool			  full_logged;
	int64_t			  first_us;	/* first post's time, or -1 */
	int64_t			  now_us;	/* latest post time */
	/* The geometry the rings were built for (storms_geometry). */
	int			  window_s;
	int			  baseline_s;
	int64_t			  window_us;
	int64_t			  fine_us;
	int64_t			  coarse_us;
	int64_t			  nbase;	/* coarse slots in baseline_s */
	size_t			  ncoarse;
};

/* A key's figures at one moment. */
struct storm_rate {
	uint64_t	count;		/* posts in the current window */
	double		usual;		/* baseline, in posts per window */
	bool		cold;		/* too little history to judge */
};

static int
storm_stop_cmp(const void *a, const void *b)
{
	return strcmp(a, *(const char *const *)b);
}

static bool
storm_word_ok(const char *w)
{
	size_t	len = strlen(w);

	if (len >= STORM_WORD_BYTES || text_chars(w) < STORM_MIN_WORD)
		return false;
	if (strspn(w, "0123456789") == len)
		return false;
	return bsearch(w, storm_stop_words, nitems(storm_stop_words),
	    sizeof(storm_stop_words[0]), storm_stop_cmp) == NULL;
}

/* p's countable words, each once, and its hashtags as "#tag". */
static void
storm_post_words(const struct post *p, struct strv *out)
{
	struct strv	all;
	char		*tag;
	size_t		i;

	strv_init(out);
	strv_init(&all);
	text_words(p->text != NULL ? p->text : "", &all);
	for (i = 0; i < all.n; i++)
		if (storm_word_ok(all.v[i]) && !strv_contains(out, all.v[i]))
			strv_add(out, all.v[i]);
	strv_free(&all);
	for (i = 0; i < p->hashtags.n; i++) {
		tag = xasprintf("#%s", p->hashtags.v[i]);
		if (strlen(tag) < STORM_WORD_BYTES && !strv_contains(out, tag))
			strv_take(out, tag);
		else
			free(tag);
	}
}

static uint16_t *
storm_words_slot(struct storm_words *w, const char *word, uint64_t h)
{
	size_t			 mask = nitems(w->index) - 1;
	size_t			 i = (size_t)h & mask;
	const struct storm_word	*e;

	/* At most half full: the probe always ends. */
	for (;;) {
		if (w->index[i] == 0)
			return &w->index[i];
		e = &w->v[w->index[i] - 1];
		if (e->hash == h && strcmp(e->word, word) == 0)
			return &w->index[i];
		i = (i + 1) & mask;
	}
}

static void
storm_words_reset(struct storm_words *w, int64_t epoch)
{
	w->epoch = epoch;
	w->n = 0;
	memset(w->index, 0, sizeof(w->index));
}

/*
 * Full: forget the rarest words (at least one), so words that keep
 * coming, which a storm's do, stay and new ones find room.
 */
static void
storm_words_prune(struct storm_words *w)
{
	uint32_t	min = UINT32_MAX;
	size_t		i, n = 0;

	for (i = 0; i < w->n; i++)
		if (w->v[i].count < min)
			min = w->v[i].count;
	for (i = 0; i < w->n; i++)
		if (w->v[i].count > min)
			w->v[n++] = w->v[i];
	w->n = n;
	memset(w->index, 0, sizeof(w->index));
	for (i = 0; i < n; i++)
		*storm_words_slot(w, w->v[i].word, w->v[i].hash) =
		    (uint16_t)(i + 1);
}

static void
storm_words_add(struct storm_words *w, const char *word)
{
	uint64_t		 h = hmap_hash(word);
	uint16_t		*slot = storm_words_slot(w, word, h);
	struct storm_word	*e;

	if (*slot != 0) {
		if (w->v[*slot - 1].count < UINT32_MAX)
			w->v[*slot - 1].count++;
		return;
	}
	if (w->n == STORM_WORDS) {
		storm_words_prune(w);
		slot = storm_words_slot(w, word, h);
	}
	e = &w->v[w->n];
	e->hash = h;
	e->count = 1;
	memcpy(e->word, word, strlen(word) + 1);
	*slot = (uint16_t)++w->n;
}

/* Advance a ring so its newest slot is k, zeroing the slots it reuses. */
static void
storm_ring_advance(uint32_t *ring, size_t n, int64_t *head, int64_t k)
{
	int64_t	j;

	if (*head < 0 || k - *head >= (int64_t)n) {
		memset(ring, 0, n * sizeof(*ring));
		*head = k;
		return;
	}
	for (j = *head + 1; j <= k; j++)
		ring[j % (int64_t)n] = 0;
	if (k > *head)
		*head = k;
}

static void
storm_ring_add(uint32_t *ring, size_t n, int64_t *head, int64_t k)
{
	storm_ring_advance(ring, n, head, k);
	/* Older than the ring holds: nothing to count it in. */
	if (k <= *head - (int64_t)n)
		return;
	if (ring[k % (int64_t)n] < UINT32_MAX)
		ring[k % (int64_t)n]++;
}

static void
storm_key_free(struct storm_key *k)
{
	free(k->name);
	free(k->team);
	free(k->coarse);
	free(k);
}

static void
storms_clear(struct storms *s)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		storm_key_free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
	s->nactive = 0;
	hmap_free(&s->keys);
	s->first_us = -1;
	s->now_us = 0;
}

struct storms *
storms_new(void)
{
	struct storms	*s = xcalloc(1, sizeof(*s));

	hmap_init(&s->keys);
	s->first_us = -1;
	return s;
}

void
storms_free(struct storms *s)
{
	if (s == NULL)
		return;
	storms_clear(s);
	free(s);
}

static int64_t
storm_ceil_div(int64_t a, int64_t b)
{
	return (a + b - 1) / b;
}

/*
 * Slot sizes for conf: the window in STORM_FINE slots, the baseline in
 * at most STORM_COARSE_MAX.  Rings built for other sizes say nothing
 * about these, so a change (a reload) starts over, cold.
 */
static void
storms_geometry(struct storms *s, const struct storm_conf *conf)
{
	int64_t	baseline_us;

	if (s->window_s == conf->window_s && s->baseline_s == conf->baseline_s)
		return;
	if (s->n > 0)
		log_notice("storms: window or baseline changed; starting over");
	storms_clear(s);
	s->window_s = conf->window_s;
	s->baseline_s = conf->baseline_s;
	s->window_us = (int64_t)conf->window_s * STORM_US;
	baseline_us = (int64_t)conf->baseline_s * STORM_US;
	s->fine_us = storm_ceil_div(s->window_us, STORM_FINE);
	s->coarse_us = storm_ceil_div(baseline_us, STORM_COARSE_MAX);
	if (s->coarse_us < s->fine_us)
		s->coarse_us = s->fine_us;
	s->nbase = storm_ceil_div(baseline_us, s->coarse_us);
	/* From the baseline's first slot to now's. */
	s->ncoarse = (size_t)(s->nbase + storm_ceil_div(s->window_us +
	    s->fine_us, s->coarse_us) + 2);
}

static struct storm_key *
storm_key_get(struct storms *s, const char *name, const char *team,
    bool is_rule)
{
	struct storm_key	*k = hmap_get(&s->keys, name);

	if (k != NULL)
		return k;
	if (s->n >= STORM_KEYS_MAX) {
		if (!s->full_logged)
			log_warn("storms: %d teams and rules tracked; %s and "
			    "later ones are not", STORM_KEYS_MAX, name);
		s->full_logged = true;
		return NULL;
	}
	k = xcalloc(1, sizeof(*k));
	k->name = xstrdup(name);
	k->team = xstrdup(team);
	k->is_rule = is_rule;
	k->fine_head = k->coarse_head = -1;
	k->coarse = xcalloc(s->ncoarse, sizeof(*k->coarse));
	k->words[0].epoch = k->words[1].epoch = -1;
	*hmap_put(&s->keys, name) = k;
	s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	s->v[s->n++] = k;
	return k;
}

/* dst (size bytes) = src with white space runs as one space, cut whole. */
static void
storm_copy_line(char *dst, size_t size, const char *src)
{
	size_t	n = 0, len;
	bool	space = false;

	for (; *src != '\0' && n + 1 < size; src++) {
		if (strchr(" \t\r\n\v\f", *src) != NULL) {
			space = n > 0;
			continue;
		}
		if (space) {
			dst[n++] = ' ';
			space = false;
			if (n + 1 >= size)
				break;
		}
		dst[n++] = *src;
	}
	dst[n] = '\0';
	/* A cut may have split a character: end on a whole one. */
	len = utf8_prefix(dst, n);
	dst[len] = '\0';
}

static void
storm_key_count(struct storms *s, struct storm_key *k, int64_t t,
    const struct strv *words, const struct post *p, int64_t conversation)
{
	struct storm_sample	*sm;
	struct storm_words	*w;
	int64_t			 epoch = t / s->window_us;
	char			*author;
	size_t			 i;

	storm_ring_add(k->fine, STORM_FINE, &k->fine_head, t / s->fine_us);
	storm_ring_add(k->coarse, s->ncoarse, &k->coarse_head,
	    t / s->coarse_us);
	w = &k->words[epoch & 1];
	if (w->epoch < epoch)
		storm_words_reset(w, epoch);
	if (w->epoch == epoch)
		for (i = 0; i < words->n; i++)
			storm_words_add(w, words->v[i]);
	sm = &k->samples[k->nsamples++ % STORM_SAMPLES];
	sm->conversation = conversation;
	author = p->author_handle != NULL ? xasprintf("@%s",
	    p->author_handle) : xstrdup(p->author != NULL ? p->author : "?");
	storm_copy_line(sm->author, sizeof(sm->author), author);
	free(author);
	storm_copy_line(sm->text, sizeof(sm->text), p->text != NULL ?
	    p->text : "");
}

/* k's window count and baseline at now (rings advanced to it). */
static void
storm_measure(struct storms *s, struct storm_key *k, int64_t now,
    struct storm_rate *r)
{
	int64_t		ws, kend, lo, j, from, span, n = (int64_t)s->ncoarse;
	uint64_t	sum = 0;
	size_t		i;

	storm_ring_advance(k->fine, STORM_FINE, &k->fine_head,
	    now / s->fine_us);
	r->count = 0;
	for (i = 0; i < STORM_FINE; i++)
		r->count += k->fine[i];
	storm_ring_advance(k->coarse, s->ncoarse, &k->coarse_head,
	    now / s->coarse_us);
	/* The baseline: whole coarse slots before the window starts. */
	ws = (now / s->fine_us - (STORM_FINE - 1)) * s->fine_us;
	kend = ws / s->coarse_us;
	lo = kend - s->nbase;
	if (lo < 0)
		lo = 0;
	if (lo < s->first_us / s->coarse_us)
		lo = s->first_us / s->coarse_us;
	if (lo < k->coarse_head - n + 1)
		lo = k->coarse_head - n + 1;
	for (j = lo; j < kend; j++)
		sum += k->coarse[j % n];
	from = lo * s->coarse_us;
	if (from < s->first_us)
		from = s->first_us;
	span = kend * s->coarse_us - from;
	r->cold = s->first_us < 0 || now - s->first_us < 2 * s->window_us ||
	    ws < 0 || span <= 0;
	r->usual = r->cold ? 0 : (double)sum * (double)s->window_us /
	    (double)span;
}

static bool
storm_hot(const struct storm_conf *conf, const struct storm_rate *r)
{
	return !r->cold && r->count >= (uint64_t)conf->min_posts &&
	    (double)r->count >= conf->factor * r->usual;
}

/* "5 min", "1 h", "90 s" */
static void
storm_duration(struct buf *b, int seconds)
{
	if (seconds >= 3600 && seconds % 3600 == 0)
		buf_printf(b, "%d h", seconds / 3600);
	else if (seconds >= 60 && seconds % 60 == 0)
		buf_printf(b, "%d min", seconds / 60);
	else
		buf_printf(b, "%d s", seconds);
}

struct storm_top {
	const char	*word;
	uint32_t	 count;
};

static int
storm_top_cmp(const void *a, const void *b)
{
	const struct storm_top	*x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->word, y->word);
}

/*
 * "; top words: outage, login, down" from k's last two epochs at now:
 * hashtags (entries starting '#') or words, those seen at least twice.
 */
static void
storm_top(struct buf *b, const struct storm_key *k, int64_t epoch,
    bool tags, const char *label)
{
	struct storm_top	 v[2 * STORM_WORDS];
	const struct storm_words *w;
	size_t			 i, j, n = 0, shown = 0;

	for (i = 0; i < 2; i++) {
		w = &k->words[i];
		if (w->epoch != epoch && w->epoch != epoch - 1)
			continue;
		for (j = 0; j < w->n; j++) {
			if ((w->v[j].word[0] == '#') != tags)
				continue;
			v[n].word = w->v[j].word;
			v[n++].count = w->v[j].count;
		}
	}
	qsort(v, n, sizeof(*v), storm_top_cmp);
	/* The same word in both epochs: add up, keep the first. */
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (v[j].count > 0 &&
			    strcmp(v[i].word, v[j].word) == 0) {
				v[i].count += v[j].count;
				v[j].count = 0;
			}
	qsort(v, n, sizeof(*v), storm_top_cmp);
	for (i = 0; i < n && shown < STORM_TOP && v[i].count >= 2; i++) {
		buf_adds(b, shown++ == 0 ? label : ", ");
		buf_adds(b, v[i].word);
	}
}

/* "; e.g. K7QX @alice: text…, Q2MN @bob: …"; -1 on a store error. */
static int
storm_examples(struct buf *b, struct store *st, const struct storm_key *k)
{
	const struct storm_sample	*sm;
	struct conversation		 c;
	int64_t				 seen[STORM_SAMPLES];
	size_t				 i, j, nseen = 0;
	char				*cut;
	int				 rc;

	for (i = 0; i < STORM_SAMPLES && i < k->nsamples; i++) {
		/* Newest first. */
		sm = &k->samples[(k->nsamples - 1 - i) % STORM_SAMPLES];
		for (j = 0; j < nseen && seen[j] != sm->conversation; j++)
			continue;
		if (j < nseen)
			continue;
		rc = store_conversation_get(st, sm->conversation, &c);
		if (rc < 0)
			return -1;
		if (rc == 0)
			continue;
		buf_adds(b, nseen == 0 ? "; e.g. " : ", ");
		seen[nseen++] = sm->conversation;
		cut = text_truncate(sm->text[0] != '\0' ? sm->text :
		    "(no text)", STORM_EXAMPLE_CHARS);
		buf_printf(b, "%s %s: %s", c.code, sm->author, cut);
		free(cut);
		conversation_free(&c);
	}
	return 0;
}

static int
storm_alert(struct storms *s, const struct storm_conf *conf,
    struct store *st, const struct storm_key *k, const struct storm_rate *r,
    int64_t conversation)
{
	struct buf	b;
	int64_t		epoch = s->now_us / s->window_us;
	int		rc;

	buf_init(&b);
	buf_printf(&b, "Storm: %s at %llu posts in ", k->name,
	    (unsigned long long)r->count);
	storm_duration(&b, conf->window_s);
	if (r->usual > 0)
		buf_printf(&b, ", %.1fx the usual %.1f",
		    (double)r->count / r->usual, r->usual);
	else
		buf_adds(&b, ", usually none");
	storm_top(&b, k, epoch, false, "; top words: ");
	storm_top(&b, k, epoch, true, "; hashtags: ");
	rc = storm_examples(&b, st, k);
	if (rc == 0)
		rc = store_note_queue(st, conversation, conf->alert_team,
		    b.data);
	buf_free(&b);
	return rc;
}

/* Whether a storm of k's team or of one of its rules was announced. */
static bool
storm_related_announced(const struct storms *s, const struct storm_key *k)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		if (s->v[i] != k && s->v[i]->active && s->v[i]->announced &&
		    s->v[i]->is_rule != k->is_rule &&
		    strcmp(s->v[i]->team, k->team) == 0)
			return true;
	return false;
}

/*
 * Does a storm of k start now?  A team's storm that one of its rules
 * already announced (or the other way round) is the same news: it is
 * kept, for storms_active, but not announced twice.
 */
static int
storm_check_start(struct storms *s, const struct storm_conf *conf,
    struct store *st, struct storm_key *k, int64_t conversation)
{
	struct storm_rate	r;
	bool			announce;

	if (k->active)
		return 0;
	storm_measure(s, k, s->now_us, &r);
	if (!storm_hot(conf, &r))
		return 0;
	announce = !storm_related_announced(s, k);
	if (announce && storm_alert(s, conf, st, k, &r, conversation) != 0)
		return -1;
	k->active = true;
	k->announced = announce;
	k->last_hot_us = s->now_us;
	k->conversation = conversation;
	s->nactive++;
	if (announce)
		s->started++;
	log_notice("storm: %s at %llu posts in %d s, usually %.1f%s",
	    k->name, (unsigned long long)r.count, conf->window_s, r.usual,
	    announce ? "; alert queued" : "");
	return 0;
}

/* Storms whose rate stayed under the threshold for calm_s end. */
static int
storm_check_calm(struct storms *s, const struct storm_conf *conf,
    struct store *st)
{
	struct storm_rate	 r;
	struct storm_key	*k;
	struct buf		 b;
	size_t			 i;
	int			 rc;

	for (i = 0; i < s->n && s->nactive > 0; i++) {
		k = s->v[i];
		if (!k->active)
			continue;
		storm_measure(s, k, s->now_us, &r);
		if (storm_hot(conf, &r)) {
			k->last_hot_us = s->now_us;
			continue;
		}
		if (s->now_us - k->last_hot_us < (int64_t)conf->calm_s *
		    STORM_US)
			continue;
		if (k->announced) {
			buf_init(&b);
			buf_printf(&b, "Storm over: %s back to %llu posts in ",
			    k->name, (unsigned long long)r.count);
			storm_duration(&b, conf->window_s);
			rc = store_note_queue(st, k->conversation,
			    conf->alert_team, b.data);
			buf_free(&b);
			if (rc != 0)
				return -1;
		}
		k->active = false;
		s->nactive--;
		log_notice("storm over: %s at %llu posts in %d s", k->name,
		    (unsigned long long)r.count, conf->window_s);
	}
	return 0;
}

/* rule names one of team's own rules: "team/...". */
static bool
storm_rule_of(const char *rule, const char *team)
{
	size_t	len = strlen(team);

	return rule != NULL && strncmp(rule, team, len) == 0 &&
	    rule[len] == '/' && rule[len + 1] != '\0';
}

/*
 * "2024-05-01T10:00:00.123Z" or with a "+02:00" offset, as µs since the
 * epoch; -1 if it is not that.
 */
static int64_t
storm_iso_us(const char *s)
{
	struct tm	tm;
	int		n = 0, oh = 0, om = 0;
	int64_t		t;
	char		sign;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    &n) != 6 || n != 19)
		return -1;
	s += n;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			continue;
	if (*s == 'Z' && s[1] == '\0')
		sign = '+';
	else if ((*s == '+' || *s == '-') && sscanf(s + 1, "%2d:%2d%n", &oh,
	    &om, &n) == 2 && n == 5 && s[6] == '\0')
		sign = *s;
	else
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = (int64_t)timegm(&tm);
	t += (sign == '+' ? -1 : 1) * (oh * 3600 + om * 60);
	return t * 1000000;
}

/*
 * When a post counts: when it was written, if that is earlier than when
 * the source saw it.  A catch-up after a gap (Mastodon's backfill, a
 * Nostr re-subscription) delivers an hour of posts in a second; counted
 * when seen, that would look like a storm.  A client's clock is trusted
 * back one day at most.
 */
static int64_t
storm_post_time(const struct post *p)
{
	int64_t	seen = p->time_us > 0 ? p->time_us : now_wall_us();
	int64_t	written = storm_iso_us(p->created_at);

	if (written < 0 || written >= seen)
		return seen;
	if (written < seen - STORM_CLOCK_TRUST_US)
		return seen - STORM_CLOCK_TRUST_US;
	return written;
}

int
storms_count(struct storms *s, const struct storm_conf *conf,
    struct store *st, const struct post *p, const char *team,
    const char *rule, int64_t conversation_id)
{
	struct storm_key	*keys[2];
	struct strv		 words;
	size_t			 i, n = 0;
	int64_t			 t;
	int			 rc = 0;

	if (s == NULL)
		return 0;
	/* Turned off (a reload): no storm may outlive it, digesting. */
	if (conf == NULL || conf->alert_team == NULL || conf->window_s <= 0 ||
	    conf->baseline_s <= 0) {
		if (s->n > 0)
			storms_clear(s);
		return 0;
	}
	if (p == NULL || team == NULL)
		return 0;
	storms_geometry(s, conf);
	t = storm_post_time(p);
	/* History starts at the first post: an odd old one must not
	 * make a cold start look warm. */
	if (s->first_us < 0)
		s->first_us = t;
	if (t > s->now_us)
		s->now_us = t;
	/* The rule first: its storm is the more precise news. */
	if (storm_rule_of(rule, team))
		keys[n++] = storm_key_get(s, rule, team, true);
	keys[n++] = storm_key_get(s, team, team, false);
	storm_post_words(p, &words);
	for (i = 0; i < n; i++)
		if (keys[i] != NULL)
			storm_key_count(s, keys[i], t, &words, p,
			    conversation_id);
	strv_free(&words);
	for (i = 0; i < n && rc == 0; i++)
		if (keys[i] != NULL)
			rc = storm_check_start(s, conf, st, keys[i],
			    conversation_id);
	if (rc == 0 && s->nactive > 0)
		rc = storm_check_calm(s, conf, st);
	return rc;
}

bool
storms_active(const struct storms *s, const char *team)
{
	size_t	i;

	if (s == NULL || team == NULL)
		return false;
	for (i = 0; i < s->n && s->nactive > 0; i++)
		if (s->v[i]->active && strcmp(s->v[i]->team, team) == 0)
			return true;
	return false;
}

uint64_t
storms_started(const struct storms *s)
{
	return s != NULL ? s->started : 0;
}
