/*
 * What the store's files share and nothing else may use: the connection,
 * its prepared statements and the helpers that run them.
 */
#ifndef SB_STORE_IMPL_H
#define SB_STORE_IMPL_H

#include <sqlite3.h>

#include "store.h"

/*
 * Every statement the store runs more than once, prepared at open.  Each
 * file's SQL is in its own table; the ids are one enum so the
 * connection keeps them in one array.
 */
enum store_stmt_id {
	/* store.c */
	STORE_BEGIN,
	STORE_COMMIT,
	STORE_ROLLBACK,
	STORE_CURSOR_SET,
	STORE_CURSOR_GET,
	STORE_HANDLE_SET,
	STORE_HANDLE_GET,
	/* store_conversation.c */
	STORE_POST_SEEN,
	STORE_POST_INSERT,
	STORE_POST_DELETED,
	STORE_CONV_FIND,
	STORE_CONV_TOUCH,
	STORE_CONV_INSERT,
	STORE_CONV_OWNER,
	STORE_UNDO_OUTBOX,
	STORE_UNDO_POST,
	STORE_UNDO_CONV,
	STORE_OUTBOX_INSERT,
	STORE_POST_FIND,
	STORE_POST_UPDATE,
	STORE_POST_DELETE_ONCE,
	STORE_CHANGE_INSERT,
	STORE_CONV_BY_CODE,
	STORE_CONV_OPEN_TEAM,
	STORE_CONV_EXISTS,
	STORE_CONV_SET_TEAM,
	STORE_CONV_SET_STATUS,
	STORE_CONV_POSTS,
	/* store_outbox.c */
	STORE_OUTBOX_HEAD,
	STORE_OUTBOX_BATCH,
	STORE_OUTBOX_DEPTH,
	STORE_OUTBOX_DESTS,
	STORE_OUTBOX_DONE,
	STORE_OUTBOX_MESSAGE,
	STORE_OUTBOX_RETRY,
	STORE_OUTBOX_FAIL,
	STORE_OUTBOX_COUNT,
	STORE_NOTE_INSERT,
	/* store_team.c */
	STORE_CONV_CLAIM,
	STORE_CNOTE_ADD,
	STORE_CNOTES,
	STORE_BATON_GET,
	STORE_BATON_SET,
	STORE_BATON_DROP,
	STORE_MUTE_SET,
	STORE_MUTE_CLEAR,
	STORE_MUTE_COUNT,
	STORE_MUTED,
	/* store_reply.c */
	STORE_REPLY_ADD,
	STORE_REPLY_GET,
	STORE_REPLY_HEAD,
	STORE_REPLY_ACCOUNTS,
	STORE_REPLY_DONE,
	STORE_REPLY_RETRY,
	STORE_REPLY_FAIL,
	STORE_REPLY_DECIDE,
	STORE_REPLY_EXISTS,
	STORE_REPLIES_CONV,
	STORE_REPLIES_TEAM,
	STORE_REPLY_COUNT,
	STORE_AUDIT_ADD,
	STORE_AUDIT_LIST,
	STORE_NSTMT
};

/* A statement with the name its errors are logged under. */
struct store_stmt {
	enum store_stmt_id	 id;
	const char		*name;
	const char		*sql;
};

/* Each file's statements for store_open, ended by a NULL sql. */
extern const struct store_stmt store_conversation_stmts[];
extern const struct store_stmt store_outbox_stmts[];
extern const struct store_stmt store_team_stmts[];
extern const struct store_stmt store_reply_stmts[];

struct store {
	sqlite3		*db;
	sqlite3_stmt	*stmt[STORE_NSTMT];
	const char	*stmt_name[STORE_NSTMT];
	struct buf	 json;		/* reused for each record's post */
	/*
	 * Rows in mutes, or -1 if unknown (after a rollback): spares
	 * store_muted a query per post while nobody is muted.  Only this
	 * connection writes mutes (chat commands in the daemon).
	 */
	int64_t		 nmutes;
};

/* store.c: running the statements. */
int	 store_error(struct store *, const char *what);
int	 store_exec(struct store *, enum store_stmt_id, const char *fmt, ...);
int	 store_query(struct store *, enum store_stmt_id, const char *fmt, ...);
int	 store_next(struct store *, enum store_stmt_id);
int	 store_get_int(struct store *, enum store_stmt_id, const char *fmt,
	     const char *arg, int64_t *n);
char	*store_column_text(sqlite3_stmt *, int col);
int	 store_get_text(struct store *, enum store_stmt_id, const char *k1,
	     const char *k2, char **out);
int	 store_row_changed(struct store *, const char *what, int64_t id,
	     int rc);
int	 store_prepare_now(struct store *, const char *sql, const char *what,
	     sqlite3_stmt **);

/* store_conversation.c: what the queues and the team's records check. */
struct post	*store_post_parse(const char *text, const char *what);
int		 store_conversation_known(struct store *, int64_t id);
int		 store_conversation_changed(struct store *, int64_t id);

#endif
