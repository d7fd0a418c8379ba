/*
 * Routing: which team owns a post.  Pure: compiled from a config, reads
 * a post and the conversation's current owner, writes a decision.
 *
 * Order: global drop rules; then the owner of the conversation the post
 * replies into (sticky ownership); then team rules, highest priority
 * first (ties: config order); then the fallback team if the post
 * mentions the brand; else the post is ignored.
 */
#ifndef SB_ROUTER_H
#define SB_ROUTER_H

#include <stdbool.h>

#include "config.h"
#include "post.h"
#include "util.h"

enum route_action {
	ROUTE_IGNORE,	/* no team wants it; not recorded */
	ROUTE_DROP,	/* matched a drop rule: noise */
	ROUTE_TEAM	/* team owns it */
};

struct decision {
	enum route_action	 action;
	const char		*team;	/* ROUTE_TEAM: team name (borrowed) */
	/* What decided: "team/rule", "thread" (sticky), "fallback",
	 * "drop/RULE" (borrowed; valid while the router lives). */
	const char		*rule;
};

struct router;

/* Compile every rule of cfg.  NULL with *cause on a bad pattern. */
struct router	*router_new(const struct config *cfg, char **cause);
void		 router_free(struct router *);

/*
 * Decide for post.  owner is the team that owns the conversation the
 * post belongs to, or NULL; an owner that is not a configured team is
 * ignored.
 */
void	router_decide(const struct router *, const struct post *,
	    const char *owner, struct decision *out);

/*
 * Watchers (README "Watchers"): the teams that watch the posts team
 * owns, or the posts rule ("team/rule") routed; NULL if none.  Borrowed:
 * valid while the router lives.
 */
const struct strv *router_team_watchers(const struct router *,
	    const char *team);
const struct strv *router_rule_watchers(const struct router *,
	    const char *rule);
/* Whether any team watches a rule (a thread's first rule then counts). */
bool	router_watches_rules(const struct router *);

#endif
