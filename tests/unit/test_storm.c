/*
 * Storm detection on synthetic traffic with known rates: a steady rate
 * never alerts, a spike alerts once with its figures, top words and
 * examples, a calm-down follows, min_posts and the cold start keep
 * quiet, rules storm independently.  Alerts are read back from a real
 * store, as the outbox would send them.
 */
#include <stdbool.h>
#include <time.h>

#include "harness.h"
#include "storm.h"
#include "store.h"

#define T0	(1714557600LL * 1000000)	/* a multiple of every slot */
#define SEC	1000000LL
#define MIN	(60 * SEC)

struct fixture {
	struct store		*st;
	struct storms		*storms;
	struct storm_conf	 conf;
	int			 seq;		/* post ids */
	int64_t			 last_conv;	/* of the latest post fed */
};

static int
setup(void **state)
{
	struct fixture	*f = xcalloc(1, sizeof(*f));
	char		*cause = NULL;

	f->st = store_open(":memory:", &cause);
	if (f->st == NULL)
		fail_msg("store_open: %s", cause);
	f->storms = storms_new();
	/* Fine and coarse slots are both 6 s here: exact baselines. */
	f->conf.alert_team = xstrdup("pr");
	f->conf.factor = 4;
	f->conf.min_posts = 10;
	f->conf.window_s = 60;
	f->conf.baseline_s = 3000;
	f->conf.calm_s = 120;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	storms_free(f->storms);
	store_close(f->st);
	free(f->conf.alert_team);
	free(f);
	return 0;
}

/* Record one post for team/rule, seen at t and written at written
 * (0: no created_at), and count it. */
static void
feed_written(struct fixture *f, const char *team, const char *rule,
    int64_t t, int64_t written, const char *text)
{
	struct post	*p = post_new();
	const char	*dest[1] = { team };
	size_t		 i, n;
	char		*label;

	f->seq++;
	p->platform = xstrdup("bluesky");
	p->id = xasprintf("at://did:plc:u%d/app.bsky.feed.post/%d", f->seq,
	    f->seq);
	p->author = xasprintf("did:plc:u%d", f->seq);
	p->author_handle = xasprintf("user%d.example", f->seq);
	p->text = xstrdup(text);
	p->time_us = t;
	if (written > 0) {
		time_t		secs = (time_t)(written / SEC);
		struct tm	tm;
		char		iso[32];

		gmtime_r(&secs, &tm);
		strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
		p->created_at = xstrdup(iso);
	}
	/* As the parsers give them: lower case, without '#'. */
	for (i = 0; text[i] != '\0'; i++)
		if (text[i] == '#' && (i == 0 || text[i - 1] == ' ')) {
			n = strcspn(text + i + 1, " ,.:!?");
			strv_take(&p->hashtags, xstrndup(text + i + 1, n));
		}
	label = rule != NULL ? xasprintf("%s/%s", team, rule) : NULL;
	assert_int_equal(store_record(f->st, p, team, label ? label : "thread",
	    dest, 1), 1);
	assert_int_equal(store_conversation_origin(f->st, p->platform, p->id,
	    &f->last_conv, NULL), 1);
	assert_int_equal(storms_count(f->storms, &f->conf, f->st, p, team,
	    label, f->last_conv), 0);
	free(label);
	post_free(p);
}

static void
feed(struct fixture *f, const char *team, const char *rule, int64_t t,
    const char *text)
{
	feed_written(f, team, rule, t, 0, text);
}

/* Take every queued note to the alert team, oldest first. */
static void
drain(struct fixture *f, struct strv *notes, struct strv *codes)
{
	struct delivery	d;

	strv_init(notes);
	if (codes != NULL)
		strv_init(codes);
	while (store_outbox_head(f->st, "pr", &d) == 1) {
		assert_int_equal(d.kind, DELIVERY_NOTE);
		strv_add(notes, d.note);
		if (codes != NULL)
			strv_add(codes, d.code);
		assert_int_equal(store_outbox_done(f->st, d.id, NULL), 0);
		delivery_free(&d);
	}
}

static const char *const steady_texts[] = {
	"loving the new season of the show",
	"what a great episode tonight #tv",
	"anyone else watching the finale",
	"the soundtrack is so good",
	"binge weekend with friends",
	"that cliffhanger though",
};

static const char *const spike_texts[] = {
	"login down, total outage #outage",
	"outage again, cannot login",
	"is the site down? outage everywhere",
	"outage: login fails",
};

/* Posts every 3 s from start (inclusive) to end (exclusive), at +1 s
 * and +4 s of each 6 s slot: exactly 20 a minute. */
static void
steady(struct fixture *f, const char *team, const char *rule,
    int64_t start, int64_t end)
{
	int64_t	t;
	int	i = 0;

	for (t = start + SEC; t < end; t += 3 * SEC)
		feed(f, team, rule, t, steady_texts[i++ %
		    nitems(steady_texts)]);
}

/* Steady posts for the whole span, and from spike_start a post every
 * 0.5 s as well until spike_end. */
static void
traffic(struct fixture *f, const char *rule, int64_t start, int64_t end,
    int64_t spike_start, int64_t spike_end, const char *const *spike,
    size_t nspike)
{
	int64_t	t, ts = spike_start;
	int	i = 0, j = 0;

	for (t = start + SEC; t < end; t += 3 * SEC) {
		while (ts < spike_end && ts < t) {
			feed(f, "care", rule, ts, spike[j++ % nspike]);
			ts += SEC / 2;
		}
		feed(f, "care", rule, t, steady_texts[i++ %
		    nitems(steady_texts)]);
	}
}

static void
test_steady(void **state)
{
	struct fixture	*f = *state;
	struct strv	 notes;

	/* Two hours at 20 a minute: over min_posts, never over 4x. */
	steady(f, "care", "complaints", T0, T0 + 120 * MIN);
	drain(f, &notes, NULL);
	assert_int_equal(notes.n, 0);
	assert_false(storms_active(f->storms, "care"));
	assert_int_equal(storms_started(f->storms), 0);
	strv_free(&notes);
}

static void
test_spike(void **state)
{
	struct fixture	*f = *state;
	struct strv	 notes, codes;
	int64_t		 spike = T0 + 60 * MIN;
	const char	*want, *e;

	traffic(f, "complaints", T0, spike, 0, 0, NULL, 0);
	/* Three minutes of 2 posts a second on top. */
	traffic(f, "complaints", spike, spike + 3 * MIN, spike,
	    spike + 3 * MIN, spike_texts, nitems(spike_texts));
	assert_true(storms_active(f->storms, "care"));
	assert_false(storms_active(f->storms, "sales"));
	drain(f, &notes, &codes);
	assert_int_equal(notes.n, 1);
	/*
	 * The threshold is 4 x 20.0 = 80 and each post adds one, so the
	 * alert comes at exactly 80.  Words: outage in every spike post,
	 * login in 3 of 4, down in 2 of 4; the steady words come 1 in 6.
	 */
	want = "Storm: care/complaints at 80 posts in 1 min, 4.0x the "
	    "usual 20.0; top words: outage, login, down; hashtags: "
	    "#outage, #tv; e.g. ";
	if (strncmp(notes.v[0], want, strlen(want)) != 0)
		fail_msg("alert: %s", notes.v[0]);
	/* Examples: the latest posts, newest first, by code and author. */
	e = notes.v[0] + strlen(want);
	assert_non_null(strstr(e, " @user"));
	assert_non_null(strstr(e, ": "));
	/* The alert is a note on the conversation that tipped it over. */
	assert_int_equal(strlen(codes.v[0]) >= 4, 1);
	assert_non_null(strstr(e, codes.v[0]));
	assert_int_equal(storms_started(f->storms), 1);
	strv_free(&notes);
	strv_free(&codes);

	/* Back to steady: calm after calm_s, once, in the same thread. */
	traffic(f, "complaints", spike + 3 * MIN, spike + 10 * MIN, 0, 0,
	    NULL, 0);
	drain(f, &notes, NULL);
	assert_int_equal(notes.n, 1);
	if (strcmp(notes.v[0], "Storm over: care/complaints back to 19 "
	    "posts in 1 min") != 0 && strcmp(notes.v[0], "Storm over: "
	    "care/complaints back to 20 posts in 1 min") != 0)
		fail_msg("calm-down: %s", notes.v[0]);
	assert_false(storms_active(f->storms, "care"));
	strv_free(&notes);
}

/* The examples name the tipping post's conversation and author. */
static void
test_spike_examples(void **state)
{
	struct fixture		*f = *state;
	struct strv		 notes;
	struct conversation	 c;
	int64_t			 t;
	char			*ex;
	int			 i;

	steady(f, "care", "complaints", T0, T0 + 30 * MIN);
	/* Until the storm starts: the last post fed tipped it. */
	for (i = 0, t = T0 + 30 * MIN; i < 200 &&
	    !storms_active(f->storms, "care"); i++, t += SEC / 4)
		feed(f, "care", "complaints", t, "outage\n\tagain");
	drain(f, &notes, NULL);
	assert_int_equal(notes.n, 1);
	assert_int_equal(store_conversation_get(f->st, f->last_conv, &c), 1);
	/* Newest first: the post that tipped it was the last one fed... */
	ex = xasprintf("; e.g. %s @user", c.code);
	assert_non_null(strstr(notes.v[0], ex));
	/* ...with its white space made one line. */
	assert_non_null(strstr(notes.v[0], ": outage again, "));
	free(ex);
	conversation_free(&c);
	strv_free(&notes);
}

static void
test_min_posts(void **state)
{
	struct fixture	*f = *state;
	struct strv	 notes;
	const char	*want;
	int64_t		 t;
	int		 i;

	/* Night: one post every ten minutes for an hour. */
	for (t = T0 + SEC; t < T0 + 60 * MIN; t += 10 * MIN)
		feed(f, "care", "complaints", t, "quiet night");
	/* Five in a minute: fifty times the usual, but under min_posts. */
	for (i = 0; i < 5; i++)
		feed(f, "care", "complaints", t + i * 5 * SEC, "still up");
	drain(f, &notes, NULL);
	assert_int_equal(notes.n, 0);
	/* Five more make ten: now it is news, at exactly min_posts. */
	for (; i < 10; i++)
		feed(f, "care", "complaints", t + i * 5 * SEC, "outage here");
	drain(f, &notes, NULL);
	assert_int_equal(notes.n, 1);
	want = "Storm: care/complaints at 10 posts in 1 min, ";
	if (strncmp(notes.v[0], want, strlen(want)) != 0)
		fail_msg("alert: %s", notes.v[0]);
	strv_free(&notes);
}

static void
test_cold_start(void **state)
{
	struct fixture	*f = *state;
	struct strv	 notes;
	int64_t		 t;
	int		 i = 0;

	/*
	 * Started in the middle of 100 posts a minute, the first post
	 * seen a stray older one (a source's rewind): the few seconds
	 * before the window would make a baseline of one post.
	 */
	feed(f, "care", "complaints", T0 + SEC, "older post");
	for (t = T0 + 50 * SEC; t < T0 + 30 * MIN; t += 600 * 1000)
		feed(f, "care", "complaints", t, spike_texts[i++ % 4]);
	drain(f, &notes, NULL);
	assert_int_equal(notes.n, 0);
	assert_false(storms_active(f->storms, "care"));
	strv_free(&notes);

	/* After the same history, a real spike is one. */
	for (i = 0; i < 500; i++, t += 100 * 1000)
		feed(f, "care", "complaints", t, "outage");
	drain(f, &notes, NULL);
	assert_int_equal(notes.n, 1);
	strv_free(&notes);
}

static void
test_two_rules(void **state)
{
	struct fixture	*f = *state;
	struct strv	 notes;
	int64_t		 t, a = T0 + 40 * MIN, b = T0 + 50 * MIN;
	int		 i = 0;

	/* Both rules steady at 20 a minute, the team at 40. */
	for (t = T0 + SEC; t < T0 + 70 * MIN; t += 3 * SEC) {
		feed(f, "care", "complaints", t, steady_texts[i %
		    nitems(steady_texts)]);
		feed(f, "care", "billing", t + SEC, steady_texts[(i + 3) %
		    nitems(steady_texts)]);
		i++;
		/* complaints storms from a for 2 min, billing from b. */
		if (t >= a && t < a + 2 * MIN)
			for (int j = 0; j < 6; j++)
				feed(f, "care", "complaints", t + j * SEC / 3,
				    "outage login down");
		if (t >= b && t < b + 2 * MIN)
			for (int j = 0; j < 6; j++)
				feed(f, "care", "billing", t + j * SEC / 3,
				    "charged twice refund");
	}
	drain(f, &notes, NULL);
	/* The team's own storm is the rules' news: not told twice. */
	assert_int_equal(notes.n, 4);
	assert_int_equal(strncmp(notes.v[0], "Storm: care/complaints at ",
	    26), 0);
	/* Equal counts: alphabetical. */
	assert_non_null(strstr(notes.v[0], "top words: down, login, "
	    "outage;"));
	assert_int_equal(strncmp(notes.v[1], "Storm over: care/complaints "
	    "back to ", 36), 0);
	assert_int_equal(strncmp(notes.v[2], "Storm: care/billing at ", 23),
	    0);
	assert_non_null(strstr(notes.v[2], "top words: charged, refund, "
	    "twice;"));
	assert_int_equal(strncmp(notes.v[3], "Storm over: care/billing back "
	    "to ", 32), 0);
	assert_int_equal(storms_started(f->storms), 2);
	assert_false(storms_active(f->storms, "care"));
	strv_free(&notes);
}

/* Thousands of distinct words: the table stays capped, the storm's
 * word still comes out on top. */
static void
test_many_words(void **state)
{
	struct fixture	*f = *state;
	struct strv	 notes;
	char		*text;
	int64_t		 t;
	int		 i;

	steady(f, "care", "complaints", T0, T0 + 30 * MIN);
	for (i = 0, t = T0 + 30 * MIN; i < 400; i++, t += SEC / 8) {
		text = xasprintf("outage word%dx word%dy word%dz", i, i, i);
		feed(f, "care", "complaints", t, text);
		free(text);
	}
	drain(f, &notes, NULL);
	assert_int_equal(notes.n, 1);
	assert_non_null(strstr(notes.v[0], "; top words: outage"));
	strv_free(&notes);
}

/*
 * No alert team: storms are off and nothing is counted; turning them
 * off (a reload) ends a storm under way, or its team would stay on
 * digests.
 */
/*
 * A catch-up after a gap: half an hour of ordinary posts arrives within
 * a few seconds (Mastodon's backfill after a reconnect).  Counted when
 * written they are the usual rate, not a storm; counted when seen (no
 * created_at, the control) the same burst is one.
 */
static void
catch_up(struct fixture *f, bool written)
{
	int64_t	gap = T0 + 60 * MIN, back = T0 + 90 * MIN, w;
	int	i = 0;

	steady(f, "care", "complaints", T0, gap);
	for (w = gap + SEC; w < back; w += 3 * SEC, i++)
		feed_written(f, "care", "complaints", back + i * (SEC / 200),
		    written ? w : 0, steady_texts[i % nitems(steady_texts)]);
	steady(f, "care", "complaints", back + 5 * SEC, back + 20 * MIN);
}

static void
test_catch_up(void **state)
{
	struct fixture	*f = *state;
	struct strv	 notes;

	catch_up(f, true);
	drain(f, &notes, NULL);
	assert_int_equal(notes.n, 0);
	assert_int_equal(storms_started(f->storms), 0);
	strv_free(&notes);
}

static void
test_catch_up_control(void **state)
{
	struct fixture	*f = *state;
	struct strv	 notes;

	catch_up(f, false);
	drain(f, &notes, NULL);
	assert_true(notes.n >= 1);
	assert_non_null(strstr(notes.v[0], "Storm"));
	strv_free(&notes);
}

static void
test_disabled(void **state)
{
	struct fixture	*f = *state;
	struct strv	 notes;
	char		*team = f->conf.alert_team;
	int64_t		 t;
	int		 i;

	steady(f, "care", "complaints", T0, T0 + 30 * MIN);
	for (i = 0, t = T0 + 30 * MIN; i < 200; i++, t += SEC / 4)
		feed(f, "care", "complaints", t, "outage");
	assert_true(storms_active(f->storms, "care"));
	drain(f, &notes, NULL);
	assert_int_equal(notes.n, 1);
	strv_free(&notes);

	f->conf.alert_team = NULL;
	feed(f, "care", "complaints", t, "outage");
	assert_false(storms_active(f->storms, "care"));
	/* A quiet half hour, then what would be a storm if they were on. */
	for (i = 0; i < 180; i++, t += 10 * SEC)
		feed(f, "care", "complaints", t, "quiet");
	for (i = 0; i < 400; i++, t += SEC / 4)
		feed(f, "care", "complaints", t, "outage");
	drain(f, &notes, NULL);
	assert_int_equal(notes.n, 0);
	assert_false(storms_active(f->storms, "care"));
	strv_free(&notes);
	f->conf.alert_team = team;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_steady, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spike, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spike_examples, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_min_posts, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cold_start, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_two_rules, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_many_words, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_catch_up, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_catch_up_control, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_disabled, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
