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

struct publisher	*publisher_new(struct app *);
/* Running attempts are cancelled: their replies stay pending. */
void			 publisher_free(struct publisher *);
/* Look for due work soon (a reply queued or approved, a reload). */
void			 publisher_kick(struct publisher *);
size_t			 publisher_in_flight(const struct publisher *);

extern const struct publish_ops publish_mastodon_ops;
extern const struct publish_ops publish_bluesky_ops;
extern const struct publish_ops publish_nostr_ops;

#endif
