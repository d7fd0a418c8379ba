/*
 * One post through the pipeline: dedupe, find the conversation's owner,
 * route, and record the post with its conversation and deliveries.  The
 * daemon, the dry run and the benchmark all go through here, so they
 * decide alike.
 */
#ifndef SB_PIPELINE_H
#define SB_PIPELINE_H

#include "post.h"
#include "router.h"
#include "store.h"

/*
 * Inside the caller's transaction.  Returns 1 with *d filled (for
 * ROUTE_TEAM the post is recorded and its deliveries queued: to the
 * team, and a copy to each team watching that team or the rule that
 * routed the conversation, unless it muted the author), 0 if the
 * post was recorded before (nothing changed), -1 on a store error.  May
 * fill p->author_handle from the store.  A post by an author muted for
 * the team it would go to (store_muted) becomes ROUTE_DROP with rule
 * "muted" and is not recorded.
 */
int	pipeline_post(struct store *, const struct router *, struct post *p,
	    struct decision *d);

#endif
