/* Dedupe, route and record one post. */
#include <stdlib.h>

#include "pipeline.h"

/* The rule a muted author's dropped post is put down to. */
static const char pipeline_muted[] = "muted";

int
pipeline_post(struct store *st, const struct router *rt, struct post *p,
    struct decision *d)
{
	const char	*dests[1];
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
	dests[0] = d->team;
	rc = store_record(st, p, d->team, d->rule, dests, 1);
	return rc < 0 ? -1 : rc;
}
