/*
 * A team's rules for speaking in public: who in its chat may do what,
 * and what a reply may say (the code of conduct).  Pure: reads the
 * config and the text, decides, explains a refusal in one line.
 */
#ifndef SB_POLICY_H
#define SB_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

enum policy_action {
	POLICY_DRAFT,		/* write a reply a spokesperson approves */
	POLICY_PUBLISH,		/* publish a reply directly */
	POLICY_APPROVE,		/* approve or reject drafts, override the
				 * private policy, hand the baton */
	POLICY_MANAGE,		/* assign, mute for the team */
	POLICY_ADMIN		/* mute for every team */
};

/*
 * Whether the chat user (id and name as the platform sent them; name
 * may be NULL) may do action in team.  Admins may do everything;
 * spokespeople everything but POLICY_ADMIN; managers POLICY_MANAGE;
 * publishers POLICY_PUBLISH and POLICY_DRAFT; drafters POLICY_DRAFT.
 * team NULL: only admins may.
 */
bool	policy_allows(const struct config *, const struct team_conf *,
	    const char *user_id, const char *user_name, enum policy_action);

/* Whether the user matches an entry of list (id, name, or "*"). */
bool	policy_user_in(const struct strv *list, const char *user_id,
	    const char *user_name);

/*
 * The length of text as network counts it against its limit: Mastodon
 * code points, every URL counting 23; Bluesky grapheme clusters; Nostr
 * and anything else code points.
 */
size_t	policy_length(const char *network, const char *text);

/*
 * Check a reply's final text against team's code of conduct and the
 * account's limits: not empty, at most account->max_length (as counted
 * above), no blocked word or phrase (whole words, case-insensitive),
 * links only to allowed domains if restricted, ending with the sign-off
 * if one is set.  0, or -1 with *cause (caller frees) naming the first
 * problem.
 */
int	policy_check(const struct reply_conf *, const struct account_conf *,
	    const char *text, char **cause);

/* Whether a conversation first routed by rule (may be NULL) falls under
 * the team's private policy. */
bool	policy_private(const struct reply_conf *, const char *rule);

#endif
