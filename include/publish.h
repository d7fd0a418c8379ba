/*
 * Publishing replies: the pump that takes pending replies from the
 * store, one at a time per account and in order, and hands each to the
 * adapter for its network (publish_mastodon.c, publish_bluesky.c,
 * publish_nostr.c).  Every adapter is idempotent across retries and
 * restarts (Mastodon's Idempotency-Key, a Bluesky record key checked
 * before creating, a Nostr event id), so a reply the store still lists
 * as pending after a crash is sent again without being posted twice.
 * The outcome goes into the store, the audit log and, as a note, into
 * the conversation's chat thread.
 */
#ifndef SB_PUBLISH_H
#define SB_PUBLISH_H

#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "store.h"

struct app;
struct http;
struct lws_context;
struct publisher;

enum publish_result {
	PUBLISH_OK,		/* published: url and id known */
	PUBLISH_RETRY,		/* try again later (429, 5xx, network) */
	PUBLISH_FAIL		/* will never succeed: refused */
};

/* One attempt at publishing one reply. */
struct publish_job {
	struct publisher	*pub;
	struct account_conf	*account;	/* a copy, owned by the job */
	struct reply		 reply;		/* owned by the job */
	void			*state;		/* the account's adapter
						 * state (sessions); kept by
						 * the pump across jobs */
	uv_loop_t		*loop;
	struct http		*http;
	struct lws_context	*lws;
	void			*data;		/* the adapter's, for this
						 * attempt only; start sets
						 * it, done and cancel free
						 * what it points to */
};

struct publish_ops {
	const char	*type;		/* account type = network */
	/*
	 * Begin one attempt at job->reply.  Exactly one publish_job_done()
	 * follows, possibly before start returns.
	 */
	void	(*start)(struct publish_job *);
	/*
	 * Optional: abandon a running attempt (shutdown): no
	 * publish_job_done() follows, and the adapter frees what it holds
	 * for the job (not the job itself).
	 */
	void	(*cancel)(struct publish_job *);
	/* Optional: free the account state start left in job->state. */
	void	(*state_free)(void *state);
};

/*
 * An attempt ended.  url and id for PUBLISH_OK (id may be NULL);
 * retry_after_s >= 0 when the network said when to retry, else -1;
 * cause explains RETRY and FAIL.  The job is freed here.
 */
void	publish_job_done(struct publish_job *, enum publish_result,
	    const char *url, const char *id, double retry_after_s,
	    const char *cause);

const struct publish_ops *publish_find(const char *type);

/*
 * The text to publish for what a person typed, replying to parent on
 * account's network: on Mastodon the parent author's "@acct " is put in
 * front unless the text already mentions them; elsewhere the text as
 * typed.  The policy checks this text.  Caller frees.
 */
char	*publish_compose(const struct account_conf *,
	    const struct post *parent, const char *text);

struct publisher	*publisher_new(struct app *);
/* Running attempts are cancelled: their replies stay pending. */
void			 publisher_free(struct publisher *);
/* Look for due work soon (a reply queued or approved, a reload). */
void			 publisher_kick(struct publisher *);
size_t			 publisher_in_flight(const struct publisher *);

/*
 * The pure parts of the adapters, exposed for tests.
 */
struct http_response;

/*
 * Mastodon's answer to POST /api/v1/statuses: PUBLISH_OK with *url and
 * *id (caller frees), or RETRY (429, 408, 5xx, no answer; *retry_after_s
 * from Retry-After or -1) or FAIL (other 4xx) with *cause carrying the
 * server's {"error"} text, with token masked should it appear.
 */
enum publish_result publish_mastodon_classify(const struct http_response *,
	    const char *token, char **url, char **id, double *retry_after_s,
	    char **cause);

/* Bluesky TIDs: 13 base32-sortable characters for a 53-bit microsecond
 * time and a 10-bit clock id.  decode: 0, or -1 if s is not a TID. */
#define PUBLISH_TID_LEN	13
void	publish_bluesky_tid(int64_t us, unsigned clock_id,
	    char out[PUBLISH_TID_LEN + 1]);
int	publish_bluesky_tid_decode(const char *s, int64_t *us,
	    unsigned *clock_id);
/* The record key of reply r: the same for every attempt, so a retry
 * finds the record an earlier attempt created. */
void	publish_bluesky_rkey(const struct reply *r,
	    char out[PUBLISH_TID_LEN + 1]);

/* A link or a mention in a post's text, by UTF-8 byte offsets. */
struct publish_facet {
	size_t	 start, end;	/* end exclusive */
	char	*uri;		/* a link: the URL; else NULL */
	char	*handle;	/* a mention: the handle, no '@'; else NULL */
};
/* The links (http and https URLs) and mentions (@handle.with.dots) of
 * text, in order, never overlapping: *out (free with
 * publish_facets_free) of the returned count. */
size_t	publish_bluesky_facets(const char *text, struct publish_facet **out);
void	publish_facets_free(struct publish_facet *, size_t n);

extern const struct publish_ops publish_mastodon_ops;
extern const struct publish_ops publish_bluesky_ops;
extern const struct publish_ops publish_nostr_ops;

#endif
