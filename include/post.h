/*
 * The normalised social post: what every source produces and what the
 * router, the store and the sinks read.  All strings are owned by the
 * post; optional ones are NULL when absent.
 */
#ifndef SB_POST_H
#define SB_POST_H

#include <jansson.h>
#include <stdint.h>

#include "util.h"

struct post {
	char		*platform;	/* "bluesky" */
	char		*id;		/* unique on the platform: at:// URI */
	char		*cid;		/* content id (Bluesky), or NULL */
	char		*author;	/* stable author id: a DID */
	char		*author_handle;	/* human handle when known, or NULL */
	char		*text;		/* plain text, never NULL */
	struct strv	 langs;		/* as given: "en", "en-US" */
	char		*created_at;	/* as given by the author's client */
	int64_t		 time_us;	/* when the source saw it (µs epoch) */
	char		*reply_root;	/* root post id if a reply, else NULL */
	char		*reply_parent;	/* parent post id if a reply */
	char		*reply_root_cid;   /* Bluesky: the strong refs' cids */
	char		*reply_parent_cid; /* of root and parent, or NULL */
	struct strv	 mentions;	/* mentioned account ids (DIDs) */
	struct strv	 hashtags;	/* lower-case, without '#', unique */
	struct strv	 links;		/* URLs */
	char		*url;		/* web link for people */
	char		*visibility;	/* Mastodon: "public", "unlisted",
					 * "private" or "direct"; else NULL */
};

struct post	*post_new(void);
void		 post_free(struct post *);

/* The conversation a post belongs to: its reply root, else itself. */
const char	*post_root(const struct post *);

/* Lossless round trip through JSON, for the store. */
json_t		*post_to_json(const struct post *);
struct post	*post_from_json(const json_t *);	/* NULL if malformed */

#endif
