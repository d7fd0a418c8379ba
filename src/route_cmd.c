/* The router's dry run over recorded frames, for trying rules. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "jetstream.h"
#include "log.h"
#include "pipeline.h"
#include "route_cmd.h"
#include "router.h"
#include "store.h"
#include "text.h"

#define ROUTE_EXCERPT_CHARS	60

static void
route_print(FILE *out, const struct post *p, const struct decision *d)
{
	const char	*team = "ignore", *rule = "-";
	char		*excerpt, *c;

	if (d->action == ROUTE_DROP) {
		team = "drop";
		rule = d->rule;
	} else if (d->action == ROUTE_TEAM) {
		team = d->team;
		rule = d->rule;
	}
	excerpt = text_truncate(p->text, ROUTE_EXCERPT_CHARS);
	for (c = excerpt; *c != '\0'; c++)
		if (*c == '\t' || *c == '\n' || *c == '\r')
			*c = ' ';
	fprintf(out, "%s\t%s\t%s\t%s\n", team, rule, p->id, excerpt);
	free(excerpt);
}

int
route_cmd(const char *config_path, const char *path, FILE *out)
{
	struct cfg_errors	 errs;
	struct config		*cfg;
	struct router		*router;
	struct store		*store;
	struct jetstream_event	 ev;
	struct decision		 d;
	FILE			*fp;
	char			*line = NULL, *cause = NULL;
	size_t			 cap = 0, i, bad = 0;
	ssize_t			 n;
	int			 rc = 1;

	cfg_errors_init(&errs);
	cfg = config_load(config_path, &errs);
	for (i = 0; i < errs.msgs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs.v[i]);
	cfg_errors_free(&errs);
	if (cfg == NULL)
		return 1;
	router = router_new(cfg, &cause);
	/* A private in-memory store keeps threads sticky within the run. */
	store = router ? store_open(":memory:", &cause) : NULL;
	fp = store ? fopen(path, "r") : NULL;
	if (router == NULL || store == NULL || fp == NULL) {
		fprintf(stderr, "switchboard: %s\n", cause ? cause : path);
		goto out;
	}
	while ((n = getline(&line, &cap, fp)) >= 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		if (n == 0)
			continue;
		if (jetstream_parse(line, (size_t)n, &ev, &cause) != 0) {
			bad++;
			free(cause);
			cause = NULL;
			continue;
		}
		if (ev.kind == JETSTREAM_POST &&
		    pipeline_post(store, router, ev.post, &d) == 1)
			route_print(out, ev.post, &d);
		jetstream_event_clear(&ev);
	}
	if (bad > 0)
		fprintf(stderr, "switchboard: %zu malformed lines skipped\n",
		    bad);
	rc = 0;
out:
	free(cause);
	free(line);
	if (fp != NULL)
		fclose(fp);
	store_close(store);
	router_free(router);
	config_free(cfg);
	return rc;
}
