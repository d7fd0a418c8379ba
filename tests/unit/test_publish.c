/*
 * The pure parts of publishing: Bluesky record keys (TIDs), the facets
 * of a reply's text, the text composed for each network, and how a
 * Mastodon answer is classified.
 */
#include "harness.h"

#include "http.h"
#include "publish.h"

/* Values from the atproto TID spec and @atcute/tid's documentation. */
static void
test_tid_known(void **state)
{
	char		out[PUBLISH_TID_LEN + 1];
	int64_t		us;
	unsigned	clock_id;

	(void)state;
	publish_bluesky_tid(0, 0, out);
	assert_string_equal(out, "2222222222222");	/* spec: zero */
	publish_bluesky_tid(1724171495793000LL, 512, out);
	assert_string_equal(out, "3l25zusnsfck2");
	publish_bluesky_tid(1724171495793000LL, 816, out);
	assert_string_equal(out, "3l25zusnsfctk");
	assert_int_equal(publish_bluesky_tid_decode("3l25zusnsfctk", &us,
	    &clock_id), 0);
	assert_true(us == 1724171495793000LL);
	assert_int_equal(clock_id, 816);
	/* The spec's example is a TID; its time is in 2023. */
	assert_int_equal(publish_bluesky_tid_decode("3jzfcijpj2z2a", &us,
	    &clock_id), 0);
	assert_true(us > 1672531200000000LL && us < 1704067200000000LL);
	/* The largest: the top bit 0, the other 63 set. */
	publish_bluesky_tid((1LL << 53) - 1, 1023, out);
	assert_string_equal(out, "bzzzzzzzzzzzz");
	/* Only 10 bits of clock id and 53 of time are kept. */
	publish_bluesky_tid(1, 1024 + 5, out);
	assert_int_equal(publish_bluesky_tid_decode(out, &us, &clock_id), 0);
	assert_true(us == 1);
	assert_int_equal(clock_id, 5);
}

static void
test_tid_invalid(void **state)
{
	int64_t		us;
	unsigned	clock_id;

	(void)state;
	assert_int_equal(publish_bluesky_tid_decode("", &us, &clock_id), -1);
	assert_int_equal(publish_bluesky_tid_decode("3l25zusnsfct", &us,
	    &clock_id), -1);			/* 12 characters */
	assert_int_equal(publish_bluesky_tid_decode("3l25zusnsfctkk", &us,
	    &clock_id), -1);			/* 14 */
	assert_int_equal(publish_bluesky_tid_decode("kzzzzzzzzzzzz", &us,
	    &clock_id), -1);			/* top bit set */
	assert_int_equal(publish_bluesky_tid_decode("3l25zusnsfc1k", &us,
	    &clock_id), -1);			/* '1' is not base32-sort */
	assert_int_equal(publish_bluesky_tid_decode("3L25ZUSNSFCTK", &us,
	    &clock_id), -1);			/* upper case */
	assert_int_equal(publish_bluesky_tid_decode(NULL, &us, &clock_id),
	    -1);
}

/* Round trip and order over a spread of values. */
static void
test_tid_round_trip_sorted(void **state)
{
	char		prev[PUBLISH_TID_LEN + 1] = "";
	char		out[PUBLISH_TID_LEN + 1];
	int64_t		us, t = 1;
	unsigned	clock_id, c;
	int		i;

	(void)state;
	for (i = 0; i < 2000; i++) {
		c = (unsigned)(i * 37) % 1024;
		publish_bluesky_tid(t, c, out);
		assert_int_equal(strlen(out), PUBLISH_TID_LEN);
		assert_int_equal(publish_bluesky_tid_decode(out, &us,
		    &clock_id), 0);
		assert_true(us == t);
		assert_int_equal(clock_id, c);
		assert_true(strcmp(prev, out) < 0);
		memcpy(prev, out, sizeof(prev));
		/* Grow through every magnitude up to 2^53. */
		t += 1 + t / 60;
		if (t >= (1LL << 53))
			break;
	}
	assert_true(i > 500);
}

static void
test_rkey(void **state)
{
	struct reply	r;
	char		a[PUBLISH_TID_LEN + 1], b[PUBLISH_TID_LEN + 1];
	int64_t		us;
	unsigned	clock_id;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.id = 1042;
	r.created_ms = 1783175888090LL;
	r.key = xstrdup("abc0123456789abcdef0123456789abc");
	publish_bluesky_rkey(&r, a);
	publish_bluesky_rkey(&r, b);
	assert_string_equal(a, b);	/* every attempt the same key */
	assert_int_equal(publish_bluesky_tid_decode(a, &us, &clock_id), 0);
	assert_true(us == 1783175888090LL * 1000 + 42);
	assert_int_equal(clock_id, 0xabc & 0x3ff);
	/* Same millisecond, another reply: another key. */
	r.id = 1043;
	publish_bluesky_rkey(&r, b);
	assert_string_not_equal(a, b);
	/* A later reply sorts later. */
	r.id = 1042;
	r.created_ms++;
	publish_bluesky_rkey(&r, b);
	assert_true(strcmp(a, b) < 0);
	free(r.key);
}

/* The byte offsets count UTF-8 bytes, not characters. */
static void
test_facets_multibyte(void **state)
{
	const char		*text = "Caf\xc3\xa9 \xe2\x98\x95 see "
	    "https://example.com/\xc3\xbc?x=1. Thanks @alice.bsky.social!";
	struct publish_facet	*f;
	size_t			 n;

	(void)state;
	n = publish_bluesky_facets(text, &f);
	assert_int_equal(n, 2);
	assert_int_equal(f[0].start, 14);
	assert_int_equal(f[0].end, 40);
	assert_string_equal(f[0].uri, "https://example.com/\xc3\xbc?x=1");
	assert_null(f[0].handle);
	assert_int_equal(f[1].start, 49);
	assert_int_equal(f[1].end, 67);
	assert_string_equal(f[1].handle, "alice.bsky.social");
	assert_null(f[1].uri);
	assert_memory_equal(text + f[1].start, "@alice.bsky.social", 18);
	publish_facets_free(f, n);
}

static void
test_facets_edges(void **state)
{
	struct publish_facet	*f;
	size_t			 n;

	(void)state;
	/* Parentheses: around a link, and inside one. */
	n = publish_bluesky_facets("(https://a.example/x) and "
	    "https://en.wikipedia.org/wiki/Foo_(bar)", &f);
	assert_int_equal(n, 2);
	assert_string_equal(f[0].uri, "https://a.example/x");
	assert_int_equal(f[0].start, 1);
	assert_int_equal(f[0].end, 20);
	assert_string_equal(f[1].uri,
	    "https://en.wikipedia.org/wiki/Foo_(bar)");
	publish_facets_free(f, n);

	/* Not mentions: an email, a name without a dot, a number TLD. */
	n = publish_bluesky_facets("mail bob@example.com or @bob or "
	    "@bob.123 or @-x.com", &f);
	assert_int_equal(n, 0);
	publish_facets_free(f, n);

	/* A sentence's full stop is not part of the handle. */
	n = publish_bluesky_facets("ask @carol.example.org. or "
	    "(@dan.example.net)", &f);
	assert_int_equal(n, 2);
	assert_string_equal(f[0].handle, "carol.example.org");
	assert_int_equal(f[0].end - f[0].start, 18);
	assert_string_equal(f[1].handle, "dan.example.net");
	assert_int_equal(f[1].start, 28);
	publish_facets_free(f, n);

	/* Schemes alone, other schemes, links glued to a word. */
	n = publish_bluesky_facets("http:// https:/// ftp://x.org "
	    "xhttps://a.org HTTPS://B.ORG/", &f);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].uri, "HTTPS://B.ORG/");
	publish_facets_free(f, n);

	n = publish_bluesky_facets("", &f);
	assert_int_equal(n, 0);
	publish_facets_free(f, n);
}

static void
test_compose(void **state)
{
	struct account_conf	 masto, bsky;
	struct post		*p = post_new();
	char			*s;

	(void)state;
	memset(&masto, 0, sizeof(masto));
	memset(&bsky, 0, sizeof(bsky));
	masto.type = (char[]){ "mastodon" };
	bsky.type = (char[]){ "bluesky" };
	p->platform = xstrdup("mastodon");
	p->author = xstrdup("Alice@Example.social");
	p->author_handle = xstrdup("Alice@Example.social");

	s = publish_compose(&masto, p, "thanks, fixed");
	assert_string_equal(s, "@Alice@Example.social thanks, fixed");
	free(s);
	/* Already mentioned, in any case and anywhere. */
	s = publish_compose(&masto, p, "thanks @alice@example.SOCIAL!");
	assert_string_equal(s, "thanks @alice@example.SOCIAL!");
	free(s);
	/* Only the whole address counts. */
	s = publish_compose(&masto, p, "cc @alice@example.socialite");
	assert_string_equal(s, "@Alice@Example.social cc "
	    "@alice@example.socialite");
	free(s);
	s = publish_compose(&masto, p, "cc x@alice@example.social");
	assert_string_equal(s, "@Alice@Example.social cc "
	    "x@alice@example.social");
	free(s);
	/* Elsewhere the text stays as typed. */
	s = publish_compose(&bsky, p, "thanks");
	assert_string_equal(s, "thanks");
	free(s);
	/* No handle: the author id; neither: as typed. */
	free(p->author_handle);
	p->author_handle = NULL;
	s = publish_compose(&masto, p, "ok");
	assert_string_equal(s, "@Alice@Example.social ok");
	free(s);
	free(p->author);
	p->author = NULL;
	s = publish_compose(&masto, p, "ok");
	assert_string_equal(s, "ok");
	free(s);
	post_free(p);
}

static enum publish_result
classify(long status, const char *body, double retry_after, char **url,
    char **id, double *ra, char **cause)
{
	struct http_response	resp;

	memset(&resp, 0, sizeof(resp));
	resp.status = status;
	resp.body = body;
	resp.body_len = strlen(body);
	resp.retry_after = retry_after;
	if (status == 0)
		resp.error = "Connection refused";
	return publish_mastodon_classify(&resp, "s3cr3t-t0ken", url, id, ra,
	    cause);
}

static void
test_mastodon_classify(void **state)
{
	char	*url, *id, *cause;
	double	 ra;

	(void)state;
	assert_int_equal(classify(200, "{\"id\":\"110\",\"url\":\"https://m."
	    "example/@acme/110\",\"uri\":\"https://m.example/users/acme/"
	    "statuses/110\"}", -1, &url, &id, &ra, &cause), PUBLISH_OK);
	assert_string_equal(url, "https://m.example/@acme/110");
	assert_string_equal(id, "110");
	assert_null(cause);
	free(url);
	free(id);
	/* url is nullable: the uri then. */
	assert_int_equal(classify(200, "{\"id\":\"7\",\"url\":null,\"uri\":"
	    "\"https://m.example/users/acme/statuses/7\"}", -1, &url, &id,
	    &ra, &cause), PUBLISH_OK);
	assert_string_equal(url, "https://m.example/users/acme/statuses/7");
	free(url);
	free(id);
	/* 200 without a status: the same key will tell, later. */
	assert_int_equal(classify(200, "<html>", -1, &url, &id, &ra,
	    &cause), PUBLISH_RETRY);
	assert_null(url);
	assert_null(id);
	free(cause);

	assert_int_equal(classify(429, "{\"error\":\"Too many requests\"}",
	    30, &url, &id, &ra, &cause), PUBLISH_RETRY);
	assert_true(ra == 30);
	assert_string_equal(cause, "HTTP 429: Too many requests");
	free(cause);
	assert_int_equal(classify(503, "", -1, &url, &id, &ra, &cause),
	    PUBLISH_RETRY);
	assert_true(ra < 0);
	assert_string_equal(cause, "HTTP 503");
	free(cause);
	assert_int_equal(classify(408, "", -1, &url, &id, &ra, &cause),
	    PUBLISH_RETRY);
	free(cause);
	assert_int_equal(classify(0, "", -1, &url, &id, &ra, &cause),
	    PUBLISH_RETRY);
	assert_non_null(strstr(cause, "Connection refused"));
	free(cause);

	assert_int_equal(classify(422, "{\"error\":\"Validation failed: "
	    "Text character limit of 500 exceeded\"}", -1, &url, &id, &ra,
	    &cause), PUBLISH_FAIL);
	assert_string_equal(cause, "HTTP 422: Validation failed: Text "
	    "character limit of 500 exceeded");
	free(cause);
	assert_int_equal(classify(404, "{\"error\":\"Record not found\"}", -1,
	    &url, &id, &ra, &cause), PUBLISH_FAIL);
	free(cause);
	assert_int_equal(classify(403, "{\"error\":\"This action is not "
	    "allowed\"}", -1, &url, &id, &ra, &cause), PUBLISH_FAIL);
	free(cause);
	/* The token never shows, even if echoed; controls are flattened. */
	assert_int_equal(classify(401, "{\"error\":\"bad token s3cr3t-t0ken"
	    "\\nline\"}", -1, &url, &id, &ra, &cause), PUBLISH_FAIL);
	assert_null(strstr(cause, "s3cr3t"));
	assert_null(strchr(cause, '\n'));
	assert_string_equal(cause, "HTTP 401: bad token ************ line");
	free(cause);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tid_known),
		cmocka_unit_test(test_tid_invalid),
		cmocka_unit_test(test_tid_round_trip_sorted),
		cmocka_unit_test(test_rkey),
		cmocka_unit_test(test_facets_multibyte),
		cmocka_unit_test(test_facets_edges),
		cmocka_unit_test(test_compose),
		cmocka_unit_test(test_mastodon_classify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
