/*
 * Mastodon: streaming messages and REST pages parsed into normalised
 * posts, and status HTML turned into plain text.  Pure: no I/O.
 *
 * Post ids are "HOST/ID" (the instance's host and its status id), so
 * two instances never collide and a reply's in_reply_to_id maps to its
 * parent's post id on the same instance.
 */
#ifndef SB_MASTODON_H
#define SB_MASTODON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "post.h"

enum mastodon_kind {
	MASTODON_STATUS,	/* update, or a mention notification */
	MASTODON_EDIT,		/* status.update: a new version */
	MASTODON_DELETE,	/* delete: id only */
	MASTODON_OTHER		/* other events, other notifications */
};

struct mastodon_event {
	enum mastodon_kind	 kind;
	struct post		*post;	/* STATUS, EDIT; caller frees */
	char			*id;	/* DELETE: "HOST/ID" */
	char			*status_id; /* STATUS, EDIT, DELETE: raw ID */
	char			*notification_id; /* for notifications */
	char			*stream; /* stream[0] of the envelope, or NULL */
};

/*
 * One websocket message of the streaming API:
 * {"stream":[...],"event":"update","payload":"<JSON string>"}.  host
 * names the instance (for post ids).  0 and ev filled, or -1 with
 * *cause for malformed input; well-formed but uninteresting events are
 * MASTODON_OTHER.
 */
int	mastodon_parse_message(const char *buf, size_t len, const char *host,
	    struct mastodon_event *ev, char **cause);
void	mastodon_event_clear(struct mastodon_event *);

/* A Status entity as a post (NULL with *cause if malformed). */
struct post *mastodon_status_post(const json_t *status, const char *host,
	    char **cause);

/*
 * A REST page: a JSON array of Status entities, or of Notification
 * entities when notifications is true (mentions become their status,
 * other types are skipped).  Fills evs (caller frees each with
 * mastodon_event_clear, then the array) in ascending id order (pages
 * come newest first).  Returns the count, or -1 with *cause.
 */
int	mastodon_parse_page(const char *body, size_t len, const char *host,
	    bool notifications, struct mastodon_event **evs, char **cause);

/* Status HTML to plain text: paragraphs, line breaks, links as URLs,
 * mentions as @acct, entities decoded.  Caller frees. */
char	*mastodon_html_text(const char *html);

/* The hrefs of links in status HTML that are not mentions or hashtags,
 * decoded, each once, appended to out. */
void	mastodon_html_links(const char *html, struct strv *out);

/* Compare two Mastodon ids (decimal strings of any length). */
int	mastodon_id_cmp(const char *a, const char *b);

#endif
