/*
 * Durable state in SQLite (WAL): posts seen, conversations, the outbox
 * of pending deliveries, source cursors, replies and the audit log.
 * The src/store*.c files are the only ones that speak SQL.
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
/* For tools beside the daemon: open DIR/switchboard.db only if it
 * exists and has this switchboard's schema, never creating or
 * migrating it.  NULL with *cause (what to do about it). */
struct store	*store_open_current(const char *dir, char **cause);
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
	DELIVERY_DELETE,	/* its author deleted it */
	DELIVERY_NOTE		/* switchboard's own text about the
				 * conversation (a reply's result, an
				 * assignment): in delivery.note */
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
	char		*note;		/* DELIVERY_NOTE: the text; else NULL */
	char		*thread;	/* the chat message that roots this
					 * conversation's thread in this
					 * destination, or NULL (none yet) */
	char		*message;	/* the chat message that showed this
					 * post here (for edits), or NULL */
};
void	delivery_free(struct delivery *);

/*
 * Queue a DELIVERY_NOTE with text to destination (a team name) about
 * conversation id; its post is the conversation's latest recorded post,
 * so the note lands in the conversation's thread.  0, or -1 on error or
 * an unknown conversation.
 */
int	store_note_queue(struct store *, int64_t conversation,
	    const char *destination, const char *text);

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
/* message_id (may be NULL) is the chat's id of the message sent: the
 * first one of a conversation in a destination roots its thread. */
int	store_outbox_done(struct store *, int64_t id, const char *message_id);
/*
 * Up to max due (next_try_ms <= now_ms) pending DELIVERY_POST
 * deliveries for destination, oldest first, stopping at the first one
 * that is another kind or not due, so order holds: *out is an array of
 * *n (deliveries_free it).  0 or -1.
 */
int	store_outbox_batch(struct store *, const char *destination,
	    size_t max, int64_t now_ms, struct delivery **out, size_t *n);
void	deliveries_free(struct delivery *, size_t n);
/* Pending deliveries for destination and the creation time of the
 * oldest (0 if none). */
int	store_outbox_depth(struct store *, const char *destination,
	    int64_t *n, int64_t *oldest_ms);
int	store_outbox_retry(struct store *, int64_t id, int64_t next_try_ms,
	    const char *error);
int	store_outbox_fail(struct store *, int64_t id, const char *error);
/* Rows in a state ("pending", "done", "failed"; NULL: all). */
int	store_outbox_count(struct store *, const char *state, int64_t *n);

/*
 * The outbox as an operator sees it ("switchboard outbox"), from a
 * second connection while the daemon runs.
 */
struct outbox_row {
	int64_t		 id;
	char		*destination;
	char		*kind;		/* "post", "edit", "delete", "note" */
	char		*state;		/* "pending", "done", "failed" */
	char		*code;		/* the conversation's code */
	int		 attempts;	/* failed attempts so far */
	int64_t		 next_try_ms;	/* wall clock */
	int64_t		 created_ms;
	char		*last_error;	/* or NULL */
};
void	outbox_rows_free(struct outbox_row *, size_t n);
/*
 * Rows of destination in state (either NULL: any), in queue order
 * (oldest first); of more than max, the newest max.  0 or -1.
 */
int	store_outbox_list(struct store *, const char *destination,
	    const char *state, size_t max, struct outbox_row **out,
	    size_t *n);
/*
 * An operator's retry or drop of row id (destination NULL) or of every
 * row of destination (id ignored); done rows are never touched.
 * requeue makes pending and failed rows pending and due at now_ms,
 * their attempts and last error kept.  drop marks pending rows failed
 * with reason (kept, never deleted); with dry_run it changes nothing.
 * *n is the number of rows changed (or that would be).  0 or -1.
 */
int	store_outbox_requeue(struct store *, int64_t id,
	    const char *destination, int64_t now_ms, int64_t *n);
int	store_outbox_drop(struct store *, int64_t id, const char *destination,
	    const char *reason, bool dry_run, int64_t *n);

/*
 * A counter that moves whenever another connection (another process)
 * commits to the store, and only then: the daemon polls it to notice an
 * operator's changes.  0 with *v, or -1.
 */
int	store_data_version(struct store *, int64_t *v);

/*
 * Copy DIR/switchboard.db, as of one moment, to the SQLite file path
 * with the online backup API (the daemon goes on writing meanwhile:
 * WAL), then check the copy: it opens, PRAGMA integrity_check says ok,
 * and it has the original's schema version.  The original is opened as
 * it is, never created or migrated.  path should not exist or be an
 * empty file; a database there is overwritten.  0, or -1 with *cause
 * (caller frees); the caller removes a failed copy.
 */
int	store_backup(const char *dir, const char *path, char **cause);

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
	char		*first_rule;	/* the rule that routed it, or NULL */
	char		*claimed_by;	/* chat user id, or NULL */
	char		*claimed_name;	/* their name as chat gave it, or NULL */
};
void	conversation_free(struct conversation *);	/* clears; NULL ok */

/*
 * The conversation with code (case-insensitive): the open one if any,
 * else the most recently updated resolved one.  1 and *out filled
 * (conversation_free it), 0 if none, -1 on error.
 */
int	store_conversation_by_code(struct store *, const char *code,
	    struct conversation *out);
/* Conversation id: 1 and *out (conversation_free it), 0 if unknown, -1. */
int	store_conversation_get(struct store *, int64_t id,
	    struct conversation *out);
/*
 * The conversation rooted at root: 1 with *id and, if rule is not
 * NULL, *rule (the rule that routed its first post, or NULL; caller
 * frees), 0 if unknown, -1 on error.
 */
int	store_conversation_origin(struct store *, const char *platform,
	    const char *root, int64_t *id, char **rule);
/*
 * Watchers (README "Watchers"): the destinations that got copies of
 * conversation id's posts while another team owned it, each once,
 * sorted; initialises out (strv_free it).  0 or -1.
 */
int	store_conversation_watchers(struct store *, int64_t id,
	    struct strv *out);
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
/*
 * Conversations for an operator ("switchboard conversations list"):
 * those of team (NULL: every team) with status (STORE_CONV_ANY, _OPEN,
 * _RESOLVED), oldest first; of more than max, the newest max.  0 or -1.
 */
enum store_conv_status {
	STORE_CONV_ANY,
	STORE_CONV_OPEN,
	STORE_CONV_RESOLVED
};
int	store_conversations_list(struct store *, const char *team,
	    enum store_conv_status, size_t max, struct conversation **out,
	    size_t *n);

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

/*
 * Claim conversation id for a chat user ("I'm on it"), or release it
 * with user_id NULL.  0, or -1 on error or an unknown id.  Whether the
 * claim may be taken is the caller's decision.
 */
int	store_conversation_claim(struct store *, int64_t id,
	    const char *user_id, const char *user_name);

/* Internal notes on a conversation ("note CODE TEXT"): never published. */
struct conversation_note {
	int64_t		 time_ms;
	char		*user_id;
	char		*user_name;
	char		*text;
};
int	store_conversation_note_add(struct store *, int64_t conversation,
	    const char *user_id, const char *user_name, const char *text);
/* Up to max notes, oldest first.  0 or -1. */
int	store_conversation_notes(struct store *, int64_t conversation,
	    size_t max, struct conversation_note **out, size_t *n);
void	conversation_notes_free(struct conversation_note *, size_t n);

/*
 * The baton: the one chat user who speaks for a team (with its
 * spokespeople).  get: 1 with *user_id and *user_name (caller frees),
 * 0 if nobody holds it, -1 on error.  set with user_id NULL drops it.
 */
int	store_baton_get(struct store *, const char *team, char **user_id,
	    char **user_name);
int	store_baton_set(struct store *, const char *team, const char *user_id,
	    const char *user_name);

/*
 * Muted authors: their posts are dropped for one team, or for every
 * team when scope is STORE_MUTE_GLOBAL.  author is an author id or a
 * handle, compared case-insensitively without a leading '@'.
 * set: 1 if newly muted, 0 if it already was; clear: 1 if removed, 0
 * if it was not muted; -1 on error.
 */
#define STORE_MUTE_GLOBAL	"*"
int	store_mute_set(struct store *, const char *scope, const char *author,
	    const char *by_user);
int	store_mute_clear(struct store *, const char *scope,
	    const char *author);
/*
 * Whether p (its author id or its handle) is muted for team or
 * globally: 1, 0, or -1 on error.  Cheap when nothing is muted: the
 * pipeline asks for every post.
 */
int	store_muted(struct store *, const char *team, const struct post *p);

/*
 * Replies published from chat: a durable queue per account, like the
 * outbox.  A reply is a draft until a spokesperson approves it, then
 * pending until it is published or fails for good.
 */
enum reply_state {
	REPLY_DRAFT,
	REPLY_PENDING,
	REPLY_DONE,
	REPLY_FAILED,
	REPLY_REJECTED
};

struct reply {
	int64_t		 id;
	enum reply_state state;
	int64_t		 conversation;
	char		*code;		/* the conversation's code */
	char		*team;		/* whose chat asked */
	char		*account;	/* account name (config) */
	struct post	*parent;	/* the post replied to, as recorded */
	char		*text;		/* exactly what is published */
	char		*key;		/* 32 lower-case hex, random, fixed at
					 * creation: the idempotency key */
	char		*user_id;	/* who wrote it in chat */
	char		*user_name;
	char		*approved_by;	/* spokesperson, or NULL */
	int		 attempts;	/* failed attempts so far */
	int64_t		 next_try_ms;	/* wall clock */
	int64_t		 created_ms;
	char		*url;		/* REPLY_DONE: link to it, or NULL */
	char		*published_id;	/* REPLY_DONE: its id on the network */
	char		*error;		/* the last failure, or NULL */
};
void	reply_free(struct reply *);	/* clears; NULL ok */

/*
 * Queue r (state REPLY_DRAFT or REPLY_PENDING; id, key, attempts,
 * created_ms, url, published_id and error are ignored and set here; the
 * parent post must be recorded).  0 with *id, or -1.
 */
int	store_reply_add(struct store *, const struct reply *r, int64_t *id);
/* 1 and *out, 0 if no such reply, -1 on error. */
int	store_reply_get(struct store *, int64_t id, struct reply *out);
/* The oldest pending reply of account: 1 and *out, 0 if none, -1. */
int	store_reply_head(struct store *, const char *account,
	    struct reply *out);
/* Accounts with pending replies, each once, sorted. */
int	store_reply_accounts(struct store *, struct strv *out);
int	store_reply_done(struct store *, int64_t id, const char *url,
	    const char *published_id);
int	store_reply_retry(struct store *, int64_t id, int64_t next_try_ms,
	    const char *error);
int	store_reply_fail(struct store *, int64_t id, const char *error);
/*
 * A draft approved (-> pending, approved_by set) or rejected.  0, 1 if
 * the reply is not a draft (nothing changed), -1 on error or an unknown
 * id.
 */
int	store_reply_decide(struct store *, int64_t id, bool approve,
	    const char *by_user);
/* Replies of a conversation in every state (team and state unread),
 * or with conversation 0 and team set, the team's replies in state (its
 * drafts, say); oldest first.  0 or -1. */
int	store_replies(struct store *, int64_t conversation, const char *team,
	    enum reply_state state, struct reply **out, size_t *n);
void	replies_free(struct reply *, size_t n);
int	store_reply_count(struct store *, enum reply_state, int64_t *n);

/*
 * The audit log: every command and every publish attempt, kept.
 * Fields may be NULL except action and result; add ignores id and
 * takes time_ms 0 as now.
 */
struct audit_entry {
	int64_t		 id;
	int64_t		 time_ms;
	char		*user_id;	/* chat user; NULL for the daemon */
	char		*user_name;
	char		*team;
	char		*code;		/* conversation code */
	char		*action;	/* "command", "publish" */
	char		*text;		/* the command as typed; the reply */
	char		*result;	/* "ok", "refused: ...", "published URL" */
};
int	store_audit_add(struct store *, const struct audit_entry *);
/* Entries with time_ms >= since_ms, at most max of the newest, oldest
 * first.  0 or -1. */
int	store_audit_list(struct store *, int64_t since_ms, size_t max,
	    struct audit_entry **out, size_t *n);
void	audit_entries_free(struct audit_entry *, size_t n);

#endif
