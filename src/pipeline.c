/* Dedupe, route and record one post, with its watchers' copies. */
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"

/* The rule a muted author's dropped post is put down to. */
static const char pipeline_muted[] = "muted";

/* Add the watchers in w not listed yet and not muting p's author. */
static int
pipeline_add_watchers(struct store *st, const struct post *p,
    const char **dests, size_t *n, const struct strv *w)
{
	size_t	i, j;
	int	rc;

	for (i = 0; w != NULL && i < w->n; i++) {
		for (j = 0; j < *n && strcmp(dests[j], w->v[i]) != 0; j++)
			continue;
		if (j < *n)
			continue;
		rc = store_muted(st, w->v[i], p);
		if (rc < 0)
			return -1;
		if (rc == 0)
			dests[(*n)++] = w->v[i];
	}
	return 0;
}

/*
 * Record p for d->team and every team watching it: watchers of the
 * owner, and of the rule that routed the conversation (a reply in a
 * thread, rule "thread", counts under its conversation's first rule,
 * so a rule's watchers follow the whole conversation).
 */
static int
pipeline_record(struct store *st, const struct router *rt,
    const struct post *p, const struct decision *d)
{
	const struct strv	*tw, *rw;
	const char		**dests;
	char			*first = NULL;
	int64_t			 conv;
	size_t			 n = 1;
	int			 rc;

	if (router_watches_rules(rt) && strcmp(d->rule, "thread") == 0 &&
	    store_conversation_origin(st, p->platform, post_root(p), &conv,
	    &first) < 0)
		return -1;
	tw = router_team_watchers(rt, d->team);
	rw = router_rule_watchers(rt, first != NULL ? first : d->rule);
	dests = xcalloc(1 + (tw ? tw->n : 0) + (rw ? rw->n : 0),
	    sizeof(*dests));
	/* The owner first: a watcher list never repeats it. */
	dests[0] = d->team;
	rc = pipeline_add_watchers(st, p, dests, &n, tw);
	if (rc == 0)
		rc = pipeline_add_watchers(st, p, dests, &n, rw);
	if (rc == 0)
		rc = store_record(st, p, d->team, d->rule, dests, n);
	free(dests);
	free(first);
	return rc < 0 ? -1 : rc;
}

int
pipeline_post(struct store *st, const struct router *rt, struct post *p,
    struct decision *d)
{
	char		*owner = NULL;
	int		 rc;

	rc = store_post_seen(st, p->platform, p->id);
	if (rc != 0)
		return rc == 1 ? 0 : -1;
	/* A reply that names only its parent joins the parent's thread. */
	if (p->reply_root == NULL && p->reply_parent != NULL &&
	    store_post_root(st, p->platform, p->reply_parent,
	    &p->reply_root) < 0)
		return -1;
	if (p->reply_root != NULL && store_conversation_owner(st,
	    p->platform, p->reply_root, &owner) < 0)
		return -1;
	router_decide(rt, p, owner, d);
	free(owner);
	if (d->action != ROUTE_TEAM)
		return 1;
	if (p->author_handle == NULL)
		p->author_handle = store_handle_get(st, p->author);
	/* After the handle: a mute may name the author by either. */
	rc = store_muted(st, d->team, p);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		d->action = ROUTE_DROP;
		d->team = NULL;
		d->rule = pipeline_muted;
		return 1;
	}
	return pipeline_record(st, rt, p, d);
}
