/*
 * Bluesky Jetstream v1 frames (one JSON object per websocket message),
 * parsed into normalised posts.  Pure: no I/O, no state.
 */
#ifndef SB_JETSTREAM_H
#define SB_JETSTREAM_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "post.h"

enum jetstream_kind {
	JETSTREAM_POST,		/* app.bsky.feed.post create (or update) */
	JETSTREAM_DELETE,	/* app.bsky.feed.post delete */
	JETSTREAM_IDENTITY,	/* handle change */
	JETSTREAM_OTHER		/* account events, other collections */
};

struct jetstream_event {
	enum jetstream_kind	 kind;
	int64_t			 time_us;	/* the cursor; always set */
	struct post		*post;		/* JETSTREAM_POST; caller frees */
	bool			 updated;	/* JETSTREAM_POST: an edit of a
						 * post created before */
	char			*id;		/* JETSTREAM_DELETE: at:// URI */
	char			*did;		/* JETSTREAM_IDENTITY */
	char			*handle;	/* JETSTREAM_IDENTITY, may be NULL */
};

/*
 * Parse one frame of len bytes (not NUL-terminated).  Returns 0 and
 * fills ev, or -1 with *cause (caller frees) for malformed JSON, a
 * missing field or a wrong type.  A well-formed event of an unknown
 * kind or collection is JETSTREAM_OTHER, not an error.
 */
int	jetstream_parse(const char *buf, size_t len,
	    struct jetstream_event *ev, char **cause);
void	jetstream_event_clear(struct jetstream_event *);

/* "https://bsky.app/profile/DID/post/RKEY" for an at:// post URI. */
char	*jetstream_web_url(const char *at_uri);

/*
 * The subscribe URL: base + wantedCollections=app.bsky.feed.post, each
 * wanted DID, and cursor if cursor_us > 0.  Caller frees.
 */
char	*jetstream_url(const char *base, const struct strv *wanted_dids,
	    int64_t cursor_us);

#endif
