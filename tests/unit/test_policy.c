/*
 * The reply policy: who may act (from a real config file), how each
 * network counts length, and the code of conduct, on real post text
 * from tests/data/jetstream-corpus.jsonl and on hand-made attacks.
 * Grapheme counts marked "ICU" were taken from Intl.Segmenter (node
 * 20, ICU 74), an independent UAX #29 implementation.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#include "cfg.h"
#include "config.h"
#include "policy.h"
#include "text.h"

#define CORPUS	"tests/data/jetstream-corpus.jsonl"

/* The "text" of the post record on line n of the corpus.  Caller frees. */
static char *
corpus_text(int n)
{
	json_error_t	 err;
	json_t		*root, *text;
	char		*line, *out;

	line = test_line(CORPUS, n);
	root = json_loads(line, 0, &err);
	if (root == NULL)
		fail_msg("%s:%d: %s", CORPUS, n, err.text);
	text = json_object_get(json_object_get(json_object_get(root,
	    "commit"), "record"), "text");
	assert_true(json_is_string(text));
	out = xstrdup(json_string_value(text));
	json_decref(root);
	free(line);
	return out;
}

/* A reply group built in memory; lists are NULL-terminated. */
static void
reply_init(struct reply_conf *r, const char *const *blocked,
    const char *const *domains, const char *sign_off)
{
	memset(r, 0, sizeof(*r));
	for (; blocked != NULL && *blocked != NULL; blocked++)
		strv_add(&r->blocked_words, *blocked);
	r->links_restricted = domains != NULL;
	for (; domains != NULL && *domains != NULL; domains++)
		strv_add(&r->allowed_domains, *domains);
	r->sign_off = xstrdup(sign_off);
}

static void
reply_clear(struct reply_conf *r)
{
	strv_free(&r->blocked_words);
	strv_free(&r->allowed_domains);
	strv_free(&r->private_rules);
	free(r->sign_off);
}

static void
account_init(struct account_conf *a, const char *type, size_t max_length)
{
	memset(a, 0, sizeof(*a));
	a->type = (char *)type;
	a->max_length = max_length;
}

/* policy_check must pass. */
static void
assert_ok(const struct reply_conf *r, const struct account_conf *a,
    const char *text)
{
	char	*cause = NULL;

	if (policy_check(r, a, text, &cause) != 0)
		fail_msg("refused \"%s\": %s", text, cause);
	assert_null(cause);
}

/* policy_check must refuse with exactly want. */
static void
assert_refused(const struct reply_conf *r, const struct account_conf *a,
    const char *text, const char *want)
{
	char	*cause = NULL;

	if (policy_check(r, a, text, &cause) != -1)
		fail_msg("accepted \"%s\", wanted: %s", text, want);
	assert_non_null(cause);
	assert_string_equal(cause, want);
	free(cause);
}

static struct config *
load_replies(void)
{
	struct cfg_errors	 errs;
	struct config		*c;

	cfg_errors_init(&errs);
	c = config_load("tests/conf/good/replies.conf", &errs);
	if (c == NULL)
		fail_msg("%s", errs.msgs.n > 0 ? errs.msgs.v[0] : "?");
	cfg_errors_free(&errs);
	return c;
}

static void
test_user_in(void **state)
{
	struct strv	list;

	(void)state;
	strv_init(&list);
	assert_false(policy_user_in(&list, "U1", "alice"));
	assert_false(policy_user_in(NULL, "U1", "alice"));
	strv_add(&list, "U024BE7LH");
	strv_add(&list, "Alice");
	strv_add(&list, "@zoë");
	/* Ids exactly; names without case and with or without '@'. */
	assert_true(policy_user_in(&list, "U024BE7LH", NULL));
	assert_false(policy_user_in(&list, "u024be7lh", NULL));
	assert_true(policy_user_in(&list, "U999", "alice"));
	assert_true(policy_user_in(&list, "U999", "@ALICE"));
	assert_true(policy_user_in(&list, NULL, "ZOË"));
	assert_false(policy_user_in(&list, "U999", "alicia"));
	assert_false(policy_user_in(&list, "U999", "@"));
	assert_false(policy_user_in(&list, NULL, NULL));
	assert_false(policy_user_in(&list, "", ""));
	/* A user named after an admin's id is not that admin. */
	assert_false(policy_user_in(&list, "U666", "u024be7lh"));
	assert_false(policy_user_in(&list, "U666", "U024BE7LH"));
	/* Ids are exact: a name's spelling in another case is no id. */
	assert_false(policy_user_in(&list, "alice", NULL));
	strv_add(&list, "*");
	assert_true(policy_user_in(&list, "U999", NULL));
	assert_true(policy_user_in(&list, NULL, NULL));
	strv_free(&list);
}

/* Who may do what, from tests/conf/good/replies.conf. */
static void
test_allows_matrix(void **state)
{
	static const struct {
		const char	*team, *id, *name;
		bool		 draft, publish, approve, manage, admin;
	} cases[] = {
		/* care: publishers Alice, U024BE7LH; drafters "*";
		 * spokespeople carol; managers dave, Erin. */
		{ "care", "U0ROOT", "root", 1, 1, 1, 1, 1 },
		{ "care", "UADMIN0001", NULL, 1, 1, 1, 1, 1 },
		{ "care", "U0CAROL", "Carol", 1, 1, 1, 1, 0 },
		{ "care", "U0DAVE", "dave", 1, 0, 0, 1, 0 },
		{ "care", "U0ERIN", "@erin", 1, 0, 0, 1, 0 },
		{ "care", "U0ALICE", "alice", 1, 1, 0, 0, 0 },
		{ "care", "U024BE7LH", "someone", 1, 1, 0, 0, 0 },
		{ "care", "U0MALLORY", "mallory", 1, 0, 0, 0, 0 },
		/* pr lists nobody: only admins. */
		{ "pr", "U0CAROL", "carol", 0, 0, 0, 0, 0 },
		{ "pr", "U0ALICE", "alice", 0, 0, 0, 0, 0 },
		{ "pr", "U0X", "ROOT", 1, 1, 1, 1, 1 },
		/* No team (a channel no team owns): only admins. */
		{ NULL, "U0CAROL", "carol", 0, 0, 0, 0, 0 },
		{ NULL, "UADMIN0001", "x", 1, 1, 1, 1, 1 },
	};
	static const enum policy_action actions[] = {
		POLICY_DRAFT, POLICY_PUBLISH, POLICY_APPROVE, POLICY_MANAGE,
		POLICY_ADMIN
	};
	struct config		*c;
	const struct team_conf	*t;
	bool			 want[5], got;
	size_t			 i, j;

	(void)state;
	c = load_replies();
	for (i = 0; i < nitems(cases); i++) {
		t = cases[i].team == NULL ? NULL : config_team(c,
		    cases[i].team);
		assert_true(cases[i].team == NULL || t != NULL);
		want[0] = cases[i].draft;
		want[1] = cases[i].publish;
		want[2] = cases[i].approve;
		want[3] = cases[i].manage;
		want[4] = cases[i].admin;
		for (j = 0; j < nitems(actions); j++) {
			got = policy_allows(c, t, cases[i].id, cases[i].name,
			    actions[j]);
			if (got != want[j])
				fail_msg("case %zu (%s, %s) action %zu: got %d",
				    i, cases[i].id, cases[i].name ?
				    cases[i].name : "-", j, got);
		}
	}
	/* Without a config nobody is an admin, but the team still decides. */
	t = config_team(c, "care");
	assert_true(policy_allows(NULL, t, "U0CAROL", "carol",
	    POLICY_APPROVE));
	assert_false(policy_allows(NULL, NULL, "U0ROOT", "root",
	    POLICY_DRAFT));
	config_free(c);
}

static void
test_length_code_points(void **state)
{
	char	*ru;

	(void)state;
	assert_int_equal(policy_length("nostr", ""), 0);
	assert_int_equal(policy_length("nostr", "héllo"), 5);
	assert_int_equal(policy_length("nostr", "👨‍👩‍👧‍👦"), 7);
	assert_int_equal(policy_length(NULL, "日本語"), 3);
	assert_int_equal(policy_length("matrix", "a\r\nb"), 4);
	/* Nostr counts a URL as what it is. */
	assert_int_equal(policy_length("nostr", "https://acme.example/x"), 22);
	/* Invalid UTF-8: every byte counts one. */
	assert_int_equal(policy_length("nostr", "\xff\xfe"), 2);
	assert_int_equal(policy_length("nostr", "a\xe2\x82"), 3);
	assert_int_equal(policy_length("nostr", "\xc0\xaf!"), 3);
	assert_int_equal(policy_length("nostr", "\xed\xa0\x80"), 3);
	assert_int_equal(policy_length("bluesky", "\xff\xfe"), 2);
	assert_int_equal(policy_length("mastodon", "\x80x"), 2);
	assert_int_equal(policy_length("nostr", NULL), 0);
	/* Corpus line 144: Cyrillic and emoji, 75 code points (ICU). */
	ru = corpus_text(144);
	assert_int_equal(policy_length("nostr", ru), 75);
	assert_int_equal(policy_length("mastodon", ru), 75);
	free(ru);
}

static void
test_length_mastodon(void **state)
{
	(void)state;
	/* Every URL counts 23, longer or shorter. */
	assert_int_equal(policy_length("mastodon", "see https://acme.example/"
	    "a/very/long/path/that/goes/on?with=query&and=more#frag today"),
	    4 + 23 + 6);
	assert_int_equal(policy_length("mastodon", "http://a.co"), 23);
	assert_int_equal(policy_length("mastodon", "HTTPS://ACME.EXAMPLE"),
	    23);
	assert_int_equal(policy_length("mastodon", "https://a.example "
	    "https://b.example"), 23 + 1 + 23);
	/* Sentence punctuation is not part of the URL. */
	assert_int_equal(policy_length("mastodon", "Read "
	    "https://acme.example/help."), 5 + 23 + 1);
	assert_int_equal(policy_length("mastodon",
	    "(https://acme.example/faq)"), 1 + 23 + 1);
	assert_int_equal(policy_length("mastodon",
	    "https://en.wikipedia.org/wiki/Acme_(company)"), 23);
	/* Not URLs: a bare www name, a scheme with nothing after it, a
	 * scheme glued to a word. */
	assert_int_equal(policy_length("mastodon", "www.acme.example"), 16);
	assert_int_equal(policy_length("mastodon", "https://"), 8);
	assert_int_equal(policy_length("mastodon", "xhttps://a.example"), 18);
	/* Around the URL, code points, emoji included. */
	assert_int_equal(policy_length("mastodon", "🎉 https://acme.example/"
	    "summer 🎉"), 1 + 1 + 23 + 1 + 1);
	assert_int_equal(policy_length("mastodon",
	    "ｈｔｔｐｓ://acme.example"), 5 + 3 + 12);
}

static void
test_length_bluesky(void **state)
{
	static const struct {
		const char	*text;
		size_t		 graphemes;	/* ICU */
	} cases[] = {
		{ "👨‍👩‍👧‍👦", 1 },	/* ZWJ family */
		{ "🧑🏻‍🤝‍🧑🏿", 1 },	/* ZWJ with skin tones */
		{ "👩🏽‍💻!", 2 },
		{ "❤️‍🔥", 1 },
		{ "🏳️‍🌈", 1 },		/* VS16 then ZWJ */
		{ "👍🏽", 1 },		/* skin tone */
		{ "🇫🇷🇩🇪", 2 },		/* flags: pairs of indicators */
		{ "🇫🇷🇩", 2 },
		{ "🏴\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067"
		    "\U000E007F", 1 },	/* England: tag sequence */
		{ "1️⃣", 1 },		/* keycap */
		{ "e\xcc\x81te\xcc\x81", 3 },	/* combining acute */
		{ "Z\xcd\x91\xcd\x9b\xcc\xbe", 1 },	/* stacked marks */
		{ "a\r\nb", 3 },		/* CRLF is one */
		{ "\n\xcc\x81", 2 },	/* no mark joins a newline */
		{ " \xcc\x81", 1 },
		{ "\xe2\x80\x8d\xe2\x80\x8d", 1 },	/* lone ZWJs */
		{ "한국어", 3 },
		{ "\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8", 1 },	/* jamo L V T */
		{ "שָׁלוֹם", 4 },		/* Hebrew points */
		{ "ภาษาไทย", 7 },	/* Thai: U+0E32 is a letter */
		{ "ไม้", 2 },		/* ... U+0E49 a mark */
		{ "がﾞ", 1 },		/* halfwidth voicing mark */
	};
	static const struct {
		int	line;
		size_t	graphemes;	/* ICU */
	} posts[] = {
		{ 4, 56 }, { 26, 8 }, { 46, 225 }, { 110, 299 }, { 134, 299 },
		{ 144, 75 },
	};
	char	*text;
	size_t	 i;

	(void)state;
	for (i = 0; i < nitems(cases); i++)
		if (policy_length("bluesky", cases[i].text) !=
		    cases[i].graphemes)
			fail_msg("\"%s\": %zu graphemes, want %zu",
			    cases[i].text, policy_length("bluesky",
			    cases[i].text), cases[i].graphemes);
	for (i = 0; i < nitems(posts); i++) {
		text = corpus_text(posts[i].line);
		assert_int_equal(policy_length("bluesky", text),
		    posts[i].graphemes);
		free(text);
	}
	/*
	 * Devanagari conjuncts: Unicode 15.1 keeps "स्ते" together (ICU
	 * says 3); this count does not, so it says 4: never fewer than
	 * the network counts.
	 */
	assert_int_equal(policy_length("bluesky", "नमस्ते"), 4);
}

/* Every post in the corpus was accepted by Bluesky: none counts > 300. */
static void
test_length_corpus(void **state)
{
	char		*all, *line, *save = NULL;
	json_t		*root, *text;
	size_t		 posts = 0, g, cp;

	(void)state;
	all = test_slurp(CORPUS, NULL);
	for (line = strtok_r(all, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		root = json_loads(line, 0, NULL);
		assert_non_null(root);
		text = json_object_get(json_object_get(json_object_get(root,
		    "commit"), "record"), "text");
		if (json_is_string(text)) {
			g = policy_length("bluesky", json_string_value(text));
			cp = policy_length("nostr", json_string_value(text));
			assert_true(g <= 300);
			assert_true(g <= cp);
			assert_true(policy_length("mastodon",
			    json_string_value(text)) <= cp);
			posts++;
		}
		json_decref(root);
	}
	assert_true(posts >= 17);
	free(all);
}

static void
test_check_empty(void **state)
{
	struct account_conf	a;
	char			*cause = (char *)"untouched";

	(void)state;
	account_init(&a, "mastodon", 500);
	assert_refused(NULL, &a, "", "the reply is empty");
	assert_refused(NULL, &a, " \t\r\n ", "the reply is empty");
	/* No-break, ideographic and zero-width spaces are blank too. */
	assert_refused(NULL, &a, "\xc2\xa0\xe3\x80\x80\xe2\x80\x8b",
	    "the reply is empty");
	assert_int_equal(policy_check(NULL, &a, NULL, &cause), -1);
	assert_string_equal(cause, "the reply is empty");
	free(cause);
	assert_ok(NULL, &a, " ok ");
	assert_ok(NULL, NULL, "no account, no limit");
}

static void
test_check_length(void **state)
{
	struct account_conf	 a;
	struct buf		 b;
	char			*post, *text;
	size_t			 i;

	(void)state;
	/* A real post (corpus line 110, 299 characters), twice over. */
	post = corpus_text(110);
	text = xasprintf("%s %s %.12s", post, post, post);
	account_init(&a, "mastodon", 500);
	assert_int_equal(policy_length("mastodon", text), 612);
	assert_refused(NULL, &a, text, "too long: 612 characters; Mastodon "
	    "allows 500");
	a.max_length = 612;
	assert_ok(NULL, &a, text);
	a.max_length = 611;
	assert_refused(NULL, &a, text, "too long: 612 characters; Mastodon "
	    "allows 611");
	/* The same text as Nostr counts it. */
	account_init(&a, "nostr", 2000);
	assert_ok(NULL, &a, text);
	a.max_length = 600;
	assert_refused(NULL, &a, text, "too long: 612 characters; Nostr "
	    "allows 600");
	free(text);
	free(post);

	/* Bluesky: 300 families are 300 graphemes (2100 code points). */
	account_init(&a, "bluesky", 300);
	buf_init(&b);
	for (i = 0; i < 300; i++)
		buf_adds(&b, "👨‍👩‍👧‍👦");
	assert_ok(NULL, &a, b.data);
	buf_adds(&b, "🇫🇷");
	assert_refused(NULL, &a, b.data, "too long: 301 characters; Bluesky "
	    "allows 300");
	buf_free(&b);

	/* Mastodon: long links count 23. */
	account_init(&a, "mastodon", 30);
	assert_ok(NULL, &a, "Help: https://acme.example/support/articles/"
	    "how-to-reset-your-router-to-factory-settings");
}

static void
test_check_blocked(void **state)
{
	static const char *const blocked[] = {
		"idiot", "shut up", "Дурак", NULL
	};
	struct reply_conf	r;
	char			*ja;

	(void)state;
	reply_init(&r, blocked, NULL, NULL);
	assert_refused(&r, NULL, "You IDIOT!", "contains the blocked word "
	    "\"idiot\"");
	assert_refused(&r, NULL, "please SHUT   up now", "contains the "
	    "blocked phrase \"shut up\"");
	assert_refused(&r, NULL, "shut-up", "contains the blocked phrase "
	    "\"shut up\"");
	assert_refused(&r, NULL, "Ну ты ДУРАК", "contains the blocked word "
	    "\"Дурак\"");
	/* The one earliest in the text is named. */
	assert_refused(&r, NULL, "Shut up, idiot", "contains the blocked "
	    "phrase \"shut up\"");
	assert_refused(&r, NULL, "idiot, shut up", "contains the blocked "
	    "word \"idiot\"");
	/* Whole words only. */
	assert_ok(&r, NULL, "No idiots here, nothing idiotic");
	assert_ok(&r, NULL, "Shut upstairs windows; shut the door up");
	assert_ok(&r, NULL, "Дураки");
	/* A real post has none of them. */
	ja = corpus_text(4);
	assert_ok(&r, NULL, ja);
	free(ja);
	reply_clear(&r);
}

static void
test_check_links(void **state)
{
	static const char *const domains[] = {
		"acme.example", "acmestore.example", NULL
	};
	static const char *const none[] = { NULL };
	static const char *const allowed[] = {
		"See https://acme.example/help",
		"https://help.acme.example/a?b=c#d",
		"HTTPS://Help.ACME.example./x",
		"https://acme.example:8443/",
		"www.acme.example/help and www.acmestore.example.",
		"(https://acmestore.example/sale)",
		"http://user@acme.example/",
		"Read https://acme.example.",
		"no links at all",
	};
	static const struct {
		const char	*text, *host;
	} refused[] = {
		{ "https://acme.example.evil.net/login",
		    "acme.example.evil.net" },
		{ "https://evilacme.example", "evilacme.example" },
		{ "https://acme.example@evil.net/", "evil.net" },
		{ "https://evil.net\\@acme.example/", "evil.net" },
		{ "http://evil.net/?u=https://acme.example", "evil.net" },
		{ "www.evil.net", "www.evil.net" },
		{ "ok https://acme.example then HTTP://EVIL.NET", "evil.net" },
		{ "https://xn--acm-bla.example", "xn--acm-bla.example" },
		{ "https://[::1]:8080/", "[::1]" },
	};
	struct reply_conf	 r, open;
	char			*want;
	size_t			 i;

	(void)state;
	reply_init(&r, NULL, domains, NULL);
	for (i = 0; i < nitems(allowed); i++)
		assert_ok(&r, NULL, allowed[i]);
	for (i = 0; i < nitems(refused); i++) {
		want = xasprintf("links to \"%s\", which is not an allowed "
		    "domain (allowed: acme.example, acmestore.example)",
		    refused[i].host);
		assert_refused(&r, NULL, refused[i].text, want);
		free(want);
	}
	reply_clear(&r);

	/* allowed_domains = []: no links at all. */
	reply_init(&r, NULL, none, NULL);
	assert_true(r.links_restricted);
	assert_refused(&r, NULL, "More at https://acme.example/news",
	    "links to \"acme.example\": this team's replies may not contain "
	    "links");
	assert_refused(&r, NULL, "More at www.acme.example",
	    "links to \"www.acme.example\": this team's replies may not "
	    "contain links");
	assert_refused(&r, NULL, "https://@/", "links to \"https://@/\": "
	    "this team's replies may not contain links");
	assert_ok(&r, NULL, "Thanks, we are on it.");
	reply_clear(&r);

	/* No allowed_domains: any link. */
	reply_init(&open, NULL, NULL, NULL);
	for (i = 0; i < nitems(refused); i++)
		assert_ok(&open, NULL, refused[i].text);
	reply_clear(&open);
}

static void
test_check_sign_off(void **state)
{
	struct reply_conf	r;

	(void)state;
	reply_init(&r, NULL, NULL, "-- Acme Care");
	assert_ok(&r, NULL, "Thanks, fixed! -- Acme Care");
	assert_ok(&r, NULL, "Merci !\n-- Acme Care \n\n");
	assert_ok(&r, NULL, "-- Acme Care");
	assert_refused(&r, NULL, "Thanks, fixed!", "does not end with the "
	    "sign-off \"-- Acme Care\"");
	assert_refused(&r, NULL, "-- Acme Care: thanks", "does not end with "
	    "the sign-off \"-- Acme Care\"");
	assert_refused(&r, NULL, "Thanks -- acme care", "does not end with "
	    "the sign-off \"-- Acme Care\"");
	reply_clear(&r);
}

/* Several problems: the first in the order of the checks is named. */
static void
test_check_order(void **state)
{
	static const char *const blocked[] = { "idiot", NULL };
	static const char *const domains[] = { "acme.example", NULL };
	struct reply_conf	r;
	struct account_conf	a;

	(void)state;
	reply_init(&r, blocked, domains, "-- Acme");
	account_init(&a, "mastodon", 40);
	assert_refused(&r, &a, "idiot https://evil.net/ and a long tail of "
	    "words", "too long: 54 characters; Mastodon allows 40");
	assert_refused(&r, &a, "idiot https://evil.net/", "contains the "
	    "blocked word \"idiot\"");
	assert_refused(&r, &a, "see https://evil.net/", "links to "
	    "\"evil.net\", which is not an allowed domain (allowed: "
	    "acme.example)");
	assert_refused(&r, &a, "see https://acme.example/", "does not end "
	    "with the sign-off \"-- Acme\"");
	assert_ok(&r, &a, "see https://acme.example/ -- Acme");
	reply_clear(&r);
}

static void
test_private(void **state)
{
	struct reply_conf	r;

	(void)state;
	reply_init(&r, NULL, NULL, NULL);
	assert_false(policy_private(&r, "care/health"));
	strv_add(&r.private_rules, "health");
	strv_add(&r.private_rules, "legal");
	assert_true(policy_private(&r, "health"));
	assert_true(policy_private(&r, "care/health"));
	assert_true(policy_private(&r, "pr/legal"));
	assert_false(policy_private(&r, "care/complaints"));
	assert_false(policy_private(&r, "care/healthy"));
	assert_false(policy_private(&r, "thread"));
	assert_false(policy_private(&r, "fallback"));
	assert_false(policy_private(&r, "care/"));
	assert_false(policy_private(&r, ""));
	assert_false(policy_private(&r, NULL));
	assert_false(policy_private(NULL, "health"));
	reply_clear(&r);
}

/* The real config: its code of conduct on its accounts. */
static void
test_check_config(void **state)
{
	struct config			*c;
	const struct team_conf		*t;
	const struct account_conf	*a;
	char				*ru, *text;

	(void)state;
	c = load_replies();
	t = config_team(c, "care");
	a = config_team_account(c, t, "bluesky");
	ru = corpus_text(144);
	text = xasprintf("%s -- Acme Care", ru);
	assert_ok(&t->reply, a, text);
	assert_refused(&t->reply, a, ru, "does not end with the sign-off "
	    "\"-- Acme Care\"");
	free(text);
	text = xasprintf("%s https://ACME.example/ru -- Acme Care", ru);
	assert_ok(&t->reply, config_team_account(c, t, "mastodon"), text);
	free(text);
	assert_true(policy_private(&t->reply, "care/health"));
	assert_false(policy_private(&config_team(c, "pr")->reply,
	    "care/health"));
	free(ru);
	config_free(c);
}

/*
 * Random mixes of the pieces the scanners look for, cut anywhere: no
 * crash (ASan), and the counts keep their order.
 */
static void
test_garbage(void **state)
{
	static const char *const pieces[] = {
		"https://", "HTTP://", "www.", "acme.example", "@", "\\", "(",
		")", ".", " ", "\r\n", "\xe2\x80\x8d", "\xf0\x9f\x87\xab",
		"\xf0\x9f\x91\xa8", "\xcc\x81", "\xef\xb8\x8f",
		"\xf0\x9f\x8f\xbd", "\xe1\x84\x80", "\xe1\x85\xa1",
		"\xea\xb0\x80", "\xff", "\xc3", "\xe2\x82", "idiot", "shut",
		"up", "-- Acme", "\xe3\x80\x80", "[::1]:", "/", "?", "x"
	};
	static const char *const blocked[] = { "idiot", "shut up", NULL };
	static const char *const domains[] = { "acme.example", NULL };
	struct reply_conf	 r;
	struct account_conf	 a;
	struct buf		 b;
	unsigned int		 seed = 12345, i, j, n;
	size_t			 g, cp, m, urls;
	const char		*p;
	char			*cause;
	int			 rc;

	(void)state;
	reply_init(&r, blocked, domains, "-- Acme");
	account_init(&a, "bluesky", 300);
	buf_init(&b);
	for (i = 0; i < 5000; i++) {
		buf_reset(&b);
		buf_adds(&b, "");
		seed = seed * 1103515245 + 12345;
		n = (seed >> 16) % 24;
		for (j = 0; j < n; j++) {
			seed = seed * 1103515245 + 12345;
			buf_adds(&b, pieces[(seed >> 16) % nitems(pieces)]);
		}
		/* Cut anywhere, also inside a UTF-8 sequence. */
		seed = seed * 1103515245 + 12345;
		b.data[(seed >> 16) % (b.len + 1)] = '\0';
		g = policy_length("bluesky", b.data);
		cp = policy_length("nostr", b.data);
		m = policy_length("mastodon", b.data);
		assert_true(cp <= strlen(b.data));
		assert_true(g <= cp);
		/* A URL has 8 code points or more ("http://x") and counts
		 * 23: at most 15 more each. */
		for (urls = 0, p = b.data; (p = strstr(p, "://")) != NULL;
		    p++)
			urls++;
		assert_true(m <= cp + 15 * urls);
		assert_true(g > 0 || cp == 0);
		cause = NULL;
		rc = policy_check(&r, &a, b.data, &cause);
		assert_true(rc == 0 || rc == -1);
		assert_true((rc == -1) == (cause != NULL));
		free(cause);
	}
	buf_free(&b);
	reply_clear(&r);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_user_in),
		cmocka_unit_test(test_allows_matrix),
		cmocka_unit_test(test_length_code_points),
		cmocka_unit_test(test_length_mastodon),
		cmocka_unit_test(test_length_bluesky),
		cmocka_unit_test(test_length_corpus),
		cmocka_unit_test(test_check_empty),
		cmocka_unit_test(test_check_length),
		cmocka_unit_test(test_check_blocked),
		cmocka_unit_test(test_check_links),
		cmocka_unit_test(test_check_sign_off),
		cmocka_unit_test(test_check_order),
		cmocka_unit_test(test_private),
		cmocka_unit_test(test_check_config),
		cmocka_unit_test(test_garbage),
	};
	const char	*top = getenv("SB_SRCDIR");

	/* tests/conf/good/replies.conf names its secret files relatively
	 * and one secret by environment. */
	if (top != NULL && chdir(top) != 0) {
		perror(top);
		return 1;
	}
	setenv("SB_TEST_BSKY_PASSWORD", "abcd-efgh-ijkl-mnop", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
