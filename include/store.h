/*
 * Durable state in SQLite (WAL): posts seen, conversations, the outbox
 * of pending deliveries, source cursors.  The only file that speaks SQL.
 *
 * Writes happen inside a transaction opened with store_begin(); the
 * caller commits once per burst, so a post, its conversation, its
 * deliveries and the source cursor that passed it become durable
 * together or not at all.
 */
#ifndef SB_STORE_H
#define SB_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "post.h"
#include "util.h"

struct store;

/* Open (creating and migrating) DIR/switchboard.db; dir ":memory:" for
 * a private in-memory store.  NULL with *cause on error. */
struct store	*store_open(const char *dir, char **cause);
void		 store_close(struct store *);
int		 store_schema_version(struct store *);

int	store_begin(struct store *);	/* no-op if already open */
int	store_commit(struct store *);	/* no-op if none open */
void	store_rollback(struct store *);
bool	store_in_transaction(const struct store *);

/* 1 if platform/id was recorded before, 0 if not, -1 on error. */
int	store_post_seen(struct store *, const char *platform, const char *id);

/*
 * The team owning the conversation rooted at root: 1 and *team (caller
 * frees), 0 if unknown, -1 on error.
 */
int	store_conversation_owner(struct store *, const char *platform,
	    const char *root, char **team);

/*
 * Record a routed post: insert it (dedupe key platform+id), create its
 * conversation if new (owned by team, with a fresh short code), and
 * queue one delivery per destination.  Returns 1 if recorded, 0 if the
 * post was already known (nothing changed), -1 on error.
 */
int	store_record(struct store *, const struct post *, const char *team,
	    const char *rule, const char *const *destinations, size_t ndest);

/* Mark a post id deleted by its author (kept; noted for later). */
int	store_post_deleted(struct store *, const char *platform,
	    const char *id);

/*
 * The root of the conversation the recorded post platform/id belongs
 * to: 1 and *root (caller frees), 0 if the post is unknown, -1 on error.
 * For networks whose replies name only their parent (Mastodon).
 */
int	store_post_root(struct store *, const char *platform, const char *id,
	    char **root);

/* What a delivery tells a team. */
enum delivery_kind {
	DELIVERY_POST,		/* a new post */
	DELIVERY_EDIT,		/* its author edited it: the new text */
	DELIVERY_DELETE		/* its author deleted it */
};

/*
 * A recorded post was edited (kind DELIVERY_EDIT: edited replaces the
 * stored content) or deleted (DELIVERY_DELETE: edited is NULL): queue a
 * note to the team that owns its conversation now.  Returns 1 if
 * queued, 0 if there is nothing new to note (the post was never
 * recorded, or this exact edit or the deletion was noted before), -1
 * on error.
 */
int	store_record_change(struct store *, const char *platform,
	    const char *id, enum delivery_kind kind,
	    const struct post *edited);

/* Source cursors: opaque strings. get returns NULL if none; caller frees. */
int	 store_cursor_set(struct store *, const char *source,
	    const char *value);
char	*store_cursor_get(struct store *, const char *source);

/* Author handles learned from identity events. */
int	 store_handle_set(struct store *, const char *author,
	    const char *handle);
char	*store_handle_get(struct store *, const char *author);

/* One queued delivery with everything a sink needs to render it. */
struct delivery {
	int64_t		 id;
	enum delivery_kind kind;
	char		*destination;	/* team name whose chat gets it */
	char		*team;		/* owning team */
	char		*rule;		/* what decided */
	char		*code;		/* conversation short code */
	struct post	*post;
	int		 attempts;	/* failed attempts so far */
	int64_t		 next_try_ms;	/* wall clock */
};
void	delivery_free(struct delivery *);

/*
 * The oldest pending delivery for destination: 1 and *out filled
 * (delivery_free it), 0 if none, -1 on error.
 */
int	store_outbox_head(struct store *, const char *destination,
	    struct delivery *out);
/* Destinations with pending deliveries, each once, sorted; initialises
 * out (strv_free it). */
int	store_outbox_destinations(struct store *, struct strv *out);
/* done/retry/fail return -1 for an unknown id. */
int	store_outbox_done(struct store *, int64_t id);
int	store_outbox_retry(struct store *, int64_t id, int64_t next_try_ms,
	    const char *error);
int	store_outbox_fail(struct store *, int64_t id, const char *error);
/* Rows in a state ("pending", "done", "failed"; NULL: all). */
int	store_outbox_count(struct store *, const char *state, int64_t *n);

/* A conversation as commands see it. */
struct conversation {
	int64_t		 id;
	char		*platform;
	char		*root;		/* root post id */
	char		*team;		/* owning team */
	char		*code;		/* short code, as stored (upper case) */
	bool		 open;		/* status 'open', else 'resolved' */
	int64_t		 created_ms;
	int64_t		 updated_ms;
	int64_t		 nposts;	/* posts recorded in it */
	struct post	*first;		/* its oldest post, or NULL */
};
void	conversation_free(struct conversation *);	/* clears; NULL ok */

/*
 * The conversation with code (case-insensitive): the open one if any,
 * else the most recently updated resolved one.  1 and *out filled
 * (conversation_free it), 0 if none, -1 on error.
 */
int	store_conversation_by_code(struct store *, const char *code,
	    struct conversation *out);
/* Give conversation id to team: later posts in it are routed there.
 * 0, or -1 on error or an unknown id. */
int	store_conversation_set_team(struct store *, int64_t id,
	    const char *team);
/*
 * Open or resolve conversation id.  0, 1 if reopening is refused
 * because another open conversation uses the same code, -1 on error or
 * an unknown id.
 */
int	store_conversation_set_status(struct store *, int64_t id, bool open);
/*
 * The open conversations owned by team, oldest first: *out is an array
 * of *n (conversations_free it).  0 or -1.
 */
int	store_conversations_open(struct store *, const char *team,
	    struct conversation **out, size_t *n);
void	conversations_free(struct conversation *, size_t n);

/* One recorded post of a conversation. */
struct conversation_post {
	struct post	*post;
	bool		 deleted;	/* its author deleted it */
};
/*
 * Up to max posts of conversation id, oldest first (in the order they
 * were recorded): *out is an array of *n (conversation_posts_free it).
 * Rows whose stored post cannot be read are skipped.  0 or -1.
 */
int	store_conversation_posts(struct store *, int64_t id, size_t max,
	    struct conversation_post **out, size_t *n);
void	conversation_posts_free(struct conversation_post *, size_t n);

#endif
