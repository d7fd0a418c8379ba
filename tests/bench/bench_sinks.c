/*
 * Formatting cost per chat platform: every recorded Jetstream post as a
 * delivery (a new post, and a digest of 20), rendered by each adapter
 * into its HTTP request, as the outbox does before sending.  Prints
 * messages/s and latency percentiles per platform.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "http.h"
#include "jetstream.h"
#include "log.h"
#include "sink.h"
#include "util.h"

#define BENCH_ROUNDS	20000	/* messages per platform */
#define BENCH_DIGEST	20	/* posts per digest */

/* One team per platform; the URLs are never contacted. */
static const char bench_conf[] =
    "sources = ( { name = \"r\"; type = \"replay\"; file = \"%s\"; } );\n"
    "teams = (\n"
    " { name = \"slack-webhook\"; chat = { type = \"slack\"; webhook_url ="
    " \"https://hooks.slack.com/services/T/B/x\"; }; },\n"
    " { name = \"slack-api\"; chat = { type = \"slack\"; token = \"xoxb-1\";"
    " channel = \"C1\"; }; },\n"
    " { name = \"mattermost\"; chat = { type = \"mattermost\"; webhook_url ="
    " \"https://mm.example/hooks/x\"; }; },\n"
    " { name = \"discord\"; chat = { type = \"discord\"; webhook_url ="
    " \"https://discord.com/api/webhooks/1/x\"; }; },\n"
    " { name = \"teams\"; chat = { type = \"teams\"; webhook_url ="
    " \"https://example.logic.azure.com/x\"; }; },\n"
    " { name = \"matrix\"; chat = { type = \"matrix\"; homeserver ="
    " \"https://matrix.example.org\"; room_id = \"!a:example.org\";"
    " access_token = \"t\"; }; },\n"
    " { name = \"webhook\"; chat = { type = \"webhook\"; webhook_url ="
    " \"https://receiver.example/x\"; secret = \"0123456789abcdef0123\";"
    " }; }\n"
    ");\n";

static uint64_t
bench_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int
bench_cmp(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Every post event of the corpus. */
static size_t
bench_posts(const char *path, struct post ***out)
{
	struct jetstream_event	 ev;
	struct post		**v = NULL;
	char			*line = NULL, *cause = NULL;
	size_t			 cap = 0, n = 0;
	ssize_t			 len;
	FILE			*f = fopen(path, "r");

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		if (jetstream_parse(line, (size_t)len, &ev, &cause) != 0) {
			free(cause);
			cause = NULL;
			continue;
		}
		if (ev.kind == JETSTREAM_POST) {
			v = xrealloc(v, (n + 1) * sizeof(*v));
			v[n++] = ev.post;
			ev.post = NULL;
		}
		jetstream_event_clear(&ev);
	}
	free(line);
	fclose(f);
	*out = v;
	return n;
}

static void
bench_platform(const struct team_conf *t, struct post **posts, size_t np)
{
	struct delivery		 d[BENCH_DIGEST];
	const struct delivery	*dp[BENCH_DIGEST];
	struct http_request	 req;
	uint64_t		*lat = xcalloc(BENCH_ROUNDS, sizeof(*lat));
	uint64_t		 t0, start, total, bytes = 0, dbytes = 0;
	char			*cause = NULL;
	size_t			 i, j;

	memset(d, 0, sizeof(d));
	for (j = 0; j < BENCH_DIGEST; j++) {
		d[j].id = (int64_t)j + 1;
		d[j].kind = DELIVERY_POST;
		d[j].destination = (char *)t->name;
		d[j].team = (char *)t->name;
		d[j].rule = (char *)"care/complaints";
		d[j].code = (char *)"K7QX";
		d[j].post = posts[j % np];
		dp[j] = &d[j];
	}
	start = bench_now_ns();
	for (i = 0; i < BENCH_ROUNDS; i++) {
		d[0].post = posts[i % np];
		d[0].id = (int64_t)i + 1;
		http_request_init(&req);
		t0 = bench_now_ns();
		if (t->chat.ops->format(&t->chat, &d[0], &req, &cause) != 0) {
			fprintf(stderr, "%s: %s\n", t->name, cause);
			exit(1);
		}
		lat[i] = bench_now_ns() - t0;
		bytes += req.body_len;
		http_request_clear(&req);
	}
	total = bench_now_ns() - start;
	qsort(lat, BENCH_ROUNDS, sizeof(*lat), bench_cmp);
	if (t->chat.ops->format_digest != NULL) {
		http_request_init(&req);
		if (t->chat.ops->format_digest(&t->chat, dp, BENCH_DIGEST, &req,
		    &cause) != 0) {
			fprintf(stderr, "%s digest: %s\n", t->name, cause);
			exit(1);
		}
		dbytes = req.body_len;
		http_request_clear(&req);
	}
	printf("%-14s %d messages, %.0f messages/s, p50 %.1f us, p99 %.1f "
	    "us, %.0f bytes/message, digest of %d: %llu bytes\n", t->name,
	    BENCH_ROUNDS, BENCH_ROUNDS / (total / 1e9),
	    lat[BENCH_ROUNDS / 2] / 1e3, lat[BENCH_ROUNDS * 99 / 100] / 1e3,
	    (double)bytes / BENCH_ROUNDS, BENCH_DIGEST,
	    (unsigned long long)dbytes);
	free(lat);
}

int
main(int argc, char **argv)
{
	struct cfg_errors	 errs;
	struct config		*cfg;
	struct post		**posts;
	char			 path[] = "/tmp/sb-bench-sinks-XXXXXX";
	FILE			*f;
	size_t			 np, i;
	int			 fd;

	if (argc != 2) {
		fprintf(stderr, "usage: bench_sinks CORPUS.jsonl\n");
		return 2;
	}
	log_open();
	log_set_level(LOG_WARNING);
	np = bench_posts(argv[1], &posts);
	if (np == 0) {
		fprintf(stderr, "%s: too few posts\n", argv[1]);
		return 1;
	}
	fd = mkstemp(path);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		perror(path);
		return 1;
	}
	fprintf(f, bench_conf, argv[1]);
	fclose(f);
	cfg_errors_init(&errs);
	cfg = config_load(path, &errs);
	unlink(path);
	if (cfg == NULL) {
		for (i = 0; i < errs.msgs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs.v[i]);
		return 1;
	}
	cfg_errors_free(&errs);
	printf("corpus: %s, %zu posts\n", argv[1], np);
	for (i = 0; i < cfg->nteams; i++)
		bench_platform(&cfg->teams[i], posts, np);
	config_free(cfg);
	for (i = 0; i < np; i++)
		post_free(posts[i]);
	free(posts);
	return 0;
}
