/* The SQLite state file: its schema and migrations, and every SQL statement. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <jansson.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "log.h"
#include "store.h"

/*
 * Another process (an operator's sqlite3 shell) may hold the lock for a
 * moment; waiting longer would stall the one loop thread.
 */
#define STORE_BUSY_MS		2000

/*
 * Codes are short because people type them in chat.  Crockford base32
 * without I, L, O and U, so nothing reads as a digit or a rude word.
 */
static const char store_code_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
#define STORE_CODE_MAX		6

/* Draws per length before growing the code: 4, then 5, then 6 chars. */
static const struct {
	size_t	len;
	int	tries;
} store_code_plan[] = {
	{ 4, 4 },
	{ 5, 4 },
	{ 6, 16 }
};

/*
 * Schema migrations: step i upgrades user_version i to i + 1, in its own
 * transaction.  Append new steps; never edit a released one.
 */
static const char *const store_migrations[] = {
	/* 0 -> 1: the first schema. */
	"CREATE TABLE conversations ("
	"  id INTEGER PRIMARY KEY,"
	"  platform TEXT NOT NULL,"
	"  root TEXT NOT NULL,"
	"  team TEXT NOT NULL,"
	"  code TEXT NOT NULL COLLATE NOCASE,"
	"  status TEXT NOT NULL DEFAULT 'open'"
	"    CHECK (status = 'open' OR status = 'resolved'),"
	"  created_ms INTEGER NOT NULL,"
	"  updated_ms INTEGER NOT NULL,"
	"  UNIQUE (platform, root));"
	"CREATE UNIQUE INDEX conversations_open_code"
	"  ON conversations (code COLLATE NOCASE) WHERE status = 'open';"
	"CREATE TABLE posts ("
	"  platform TEXT NOT NULL,"
	"  id TEXT NOT NULL,"
	"  conversation INTEGER NOT NULL REFERENCES conversations (id),"
	"  author TEXT NOT NULL,"
	"  team TEXT NOT NULL,"
	"  rule TEXT,"
	"  json TEXT NOT NULL,"
	"  seen_ms INTEGER NOT NULL,"
	"  deleted INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (platform, id));"
	"CREATE INDEX posts_conversation ON posts (conversation);"
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  destination TEXT NOT NULL,"
	"  conversation INTEGER NOT NULL REFERENCES conversations (id),"
	"  post_platform TEXT NOT NULL,"
	"  post_id TEXT NOT NULL,"
	"  team TEXT NOT NULL,"
	"  rule TEXT,"
	/* Not IN (...): SQLite builds a temporary table for that per row. */
	"  state TEXT NOT NULL DEFAULT 'pending'"
	"    CHECK (state = 'pending' OR state = 'done' OR state = 'failed'),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_try_ms INTEGER NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  last_error TEXT,"
	"  FOREIGN KEY (post_platform, post_id)"
	"    REFERENCES posts (platform, id));"
	"CREATE INDEX outbox_destination ON outbox (destination, state, id);"
	"CREATE TABLE cursors ("
	"  source TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL,"
	"  updated_ms INTEGER NOT NULL);"
	"CREATE TABLE handles ("
	"  author TEXT PRIMARY KEY,"
	"  handle TEXT NOT NULL,"
	"  updated_ms INTEGER NOT NULL);",
	/* 1 -> 2: deliveries that note an edit or a deletion. */
	"ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'post'"
	"  CHECK (kind = 'post' OR kind = 'edit' OR kind = 'delete');",
	/*
	 * 2 -> 3: replies from chat and what teams keep about a
	 * conversation.  SQLite cannot alter a CHECK, so the outbox is
	 * rebuilt to take notes (nothing references it, so no foreign key
	 * needs switching off).
	 */
	"CREATE TABLE outbox_new ("
	"  id INTEGER PRIMARY KEY,"
	"  destination TEXT NOT NULL,"
	"  conversation INTEGER NOT NULL REFERENCES conversations (id),"
	"  post_platform TEXT NOT NULL,"
	"  post_id TEXT NOT NULL,"
	"  team TEXT NOT NULL,"
	"  rule TEXT,"
	"  state TEXT NOT NULL DEFAULT 'pending'"
	"    CHECK (state = 'pending' OR state = 'done' OR state = 'failed'),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_try_ms INTEGER NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  last_error TEXT,"
	"  kind TEXT NOT NULL DEFAULT 'post'"
	"    CHECK (kind = 'post' OR kind = 'edit' OR kind = 'delete'"
	"    OR kind = 'note'),"
	"  note TEXT CHECK (kind != 'note' OR note IS NOT NULL),"
	"  FOREIGN KEY (post_platform, post_id)"
	"    REFERENCES posts (platform, id));"
	"INSERT INTO outbox_new (id, destination, conversation, post_platform,"
	"  post_id, team, rule, state, attempts, next_try_ms, created_ms,"
	"  last_error, kind)"
	"  SELECT id, destination, conversation, post_platform, post_id, team,"
	"  rule, state, attempts, next_try_ms, created_ms, last_error, kind"
	"  FROM outbox;"
	"DROP TABLE outbox;"
	"ALTER TABLE outbox_new RENAME TO outbox;"
	"CREATE INDEX outbox_destination ON outbox (destination, state, id);"
	"ALTER TABLE conversations ADD COLUMN claimed_by TEXT;"
	"ALTER TABLE conversations ADD COLUMN claimed_name TEXT;"
	"CREATE TABLE notes ("
	"  id INTEGER PRIMARY KEY,"
	"  conversation INTEGER NOT NULL REFERENCES conversations (id),"
	"  time_ms INTEGER NOT NULL,"
	"  user_id TEXT,"
	"  user_name TEXT,"
	"  text TEXT NOT NULL);"
	"CREATE INDEX notes_conversation ON notes (conversation, id);"
	"CREATE TABLE batons ("
	"  team TEXT PRIMARY KEY,"
	"  user_id TEXT NOT NULL,"
	"  user_name TEXT,"
	"  time_ms INTEGER NOT NULL);"
	/* author as store_mute_author leaves it: lower case, no '@'. */
	"CREATE TABLE mutes ("
	"  id INTEGER PRIMARY KEY,"
	"  scope TEXT NOT NULL,"
	"  author TEXT NOT NULL,"
	"  by_user TEXT,"
	"  time_ms INTEGER NOT NULL,"
	"  UNIQUE (scope, author));"
	/* The parent by reference: the post as recorded, kept by the
	 * foreign key. */
	"CREATE TABLE replies ("
	"  id INTEGER PRIMARY KEY,"
	"  state TEXT NOT NULL CHECK (state = 'draft' OR state = 'pending'"
	"    OR state = 'done' OR state = 'failed' OR state = 'rejected'),"
	"  conversation INTEGER NOT NULL REFERENCES conversations (id),"
	"  team TEXT,"
	"  account TEXT NOT NULL,"
	"  parent_platform TEXT NOT NULL,"
	"  parent_id TEXT NOT NULL,"
	"  text TEXT NOT NULL,"
	"  key TEXT NOT NULL UNIQUE,"
	"  user_id TEXT,"
	"  user_name TEXT,"
	"  approved_by TEXT,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_try_ms INTEGER NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  url TEXT,"
	"  published_id TEXT,"
	"  error TEXT,"
	"  FOREIGN KEY (parent_platform, parent_id)"
	"    REFERENCES posts (platform, id));"
	"CREATE INDEX replies_account ON replies (account, state, id);"
	"CREATE INDEX replies_conversation ON replies (conversation, id);"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  time_ms INTEGER NOT NULL,"
	"  user_id TEXT,"
	"  user_name TEXT,"
	"  team TEXT,"
	"  code TEXT,"
	"  action TEXT NOT NULL,"
	"  text TEXT,"
	"  result TEXT NOT NULL);"
	"CREATE INDEX audit_time ON audit (time_ms, id);",
};
#define STORE_VERSION	((int)nitems(store_migrations))

/* Every statement the store runs more than once, prepared at open. */
enum store_stmt_id {
	STORE_BEGIN,
	STORE_COMMIT,
	STORE_ROLLBACK,
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
	STORE_OUTBOX_HEAD,
	STORE_OUTBOX_DESTS,
	STORE_OUTBOX_DONE,
	STORE_OUTBOX_RETRY,
	STORE_OUTBOX_FAIL,
	STORE_OUTBOX_COUNT,
	STORE_CURSOR_SET,
	STORE_CURSOR_GET,
	STORE_HANDLE_SET,
	STORE_HANDLE_GET,
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
	STORE_NOTE_INSERT,
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

/* A conversation row, its post count and its oldest post. */
#define STORE_CONV_COLUMNS						\
	"c.id, c.platform, c.root, c.team, c.code, c.status,"		\
	" c.created_ms, c.updated_ms,"					\
	" (SELECT count(*) FROM posts p WHERE p.conversation = c.id),"	\
	" (SELECT p.json FROM posts p WHERE p.conversation = c.id"	\
	"  ORDER BY p.rowid LIMIT 1),"					\
	" (SELECT p.rule FROM posts p WHERE p.conversation = c.id"	\
	"  ORDER BY p.rowid LIMIT 1),"					\
	" c.claimed_by, c.claimed_name"

/* A reply row with its conversation's code and its parent's JSON. */
#define STORE_REPLY_SELECT						\
	"SELECT r.id, r.state, r.conversation, c.code, r.team, r.account,"	\
	" p.json, r.text, r.key, r.user_id, r.user_name, r.approved_by,"	\
	" r.attempts, r.next_try_ms, r.created_ms, r.url, r.published_id,"	\
	" r.error FROM replies r"					\
	" JOIN conversations c ON c.id = r.conversation"		\
	" LEFT JOIN posts p ON p.platform = r.parent_platform"		\
	"  AND p.id = r.parent_id"

/* Each statement with the name its errors are logged under. */
static const struct {
	const char	*name;
	const char	*sql;
} store_sql[STORE_NSTMT] = {
	[STORE_BEGIN] = { "begin", "BEGIN IMMEDIATE" },
	[STORE_COMMIT] = { "commit", "COMMIT" },
	[STORE_ROLLBACK] = { "rollback", "ROLLBACK" },
	[STORE_POST_SEEN] = { "post seen",
	    "SELECT 1 FROM posts WHERE platform = ?1 AND id = ?2" },
	[STORE_POST_INSERT] = { "post insert",
	    "INSERT INTO posts (platform, id, conversation, author, team,"
	    " rule, json, seen_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)" },
	[STORE_POST_DELETED] = { "post deleted",
	    "UPDATE posts SET deleted = 1 WHERE platform = ?1 AND id = ?2" },
	[STORE_CONV_FIND] = { "conv find",
	    "SELECT id FROM conversations WHERE platform = ?1 AND root = ?2" },
	[STORE_CONV_TOUCH] = { "conv touch",
	    "UPDATE conversations SET updated_ms = ?2 WHERE id = ?1" },
	/* Any unique conflict is the code: the caller knows root is new. */
	[STORE_CONV_INSERT] = { "conv insert",
	    "INSERT INTO conversations (platform, root, team, code, status,"
	    " created_ms, updated_ms)"
	    " VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?5)"
	    " ON CONFLICT DO NOTHING" },
	[STORE_CONV_OWNER] = { "conv owner",
	    "SELECT team FROM conversations"
	    " WHERE platform = ?1 AND root = ?2" },
	[STORE_UNDO_OUTBOX] = { "undo outbox",
	    "DELETE FROM outbox WHERE post_platform = ?1 AND post_id = ?2" },
	[STORE_UNDO_POST] = { "undo post",
	    "DELETE FROM posts WHERE platform = ?1 AND id = ?2" },
	[STORE_UNDO_CONV] = { "undo conv",
	    "DELETE FROM conversations WHERE id = ?1" },
	[STORE_OUTBOX_INSERT] = { "outbox insert",
	    "INSERT INTO outbox (destination, conversation, post_platform,"
	    " post_id, team, rule, state, attempts, next_try_ms, created_ms)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?7, ?7)" },
	[STORE_OUTBOX_HEAD] = { "outbox head",
	    "SELECT o.id, o.destination, o.team, o.rule, c.code, p.json,"
	    " o.attempts, o.next_try_ms, o.kind, o.note FROM outbox o"
	    " JOIN conversations c ON c.id = o.conversation"
	    " JOIN posts p ON p.platform = o.post_platform"
	    "  AND p.id = o.post_id"
	    " WHERE o.destination = ?1 AND o.state = 'pending'"
	    " ORDER BY o.id LIMIT 1" },
	[STORE_OUTBOX_DESTS] = { "outbox dests",
	    "SELECT DISTINCT destination FROM outbox WHERE state = 'pending'"
	    " ORDER BY destination" },
	[STORE_OUTBOX_DONE] = { "outbox done",
	    "UPDATE outbox SET state = 'done' WHERE id = ?1" },
	[STORE_OUTBOX_RETRY] = { "outbox retry",
	    "UPDATE outbox SET attempts = attempts + 1, next_try_ms = ?2,"
	    " last_error = ?3 WHERE id = ?1" },
	[STORE_OUTBOX_FAIL] = { "outbox fail",
	    "UPDATE outbox SET state = 'failed', last_error = ?2"
	    " WHERE id = ?1" },
	[STORE_OUTBOX_COUNT] = { "outbox count",
	    "SELECT count(*) FROM outbox WHERE ?1 IS NULL OR state = ?1" },
	[STORE_CURSOR_SET] = { "cursor set",
	    "INSERT INTO cursors (source, value, updated_ms)"
	    " VALUES (?1, ?2, ?3)"
	    " ON CONFLICT (source) DO UPDATE SET value = excluded.value,"
	    " updated_ms = excluded.updated_ms" },
	[STORE_CURSOR_GET] = { "cursor get",
	    "SELECT value FROM cursors WHERE source = ?1" },
	[STORE_HANDLE_SET] = { "handle set",
	    "INSERT INTO handles (author, handle, updated_ms)"
	    " VALUES (?1, ?2, ?3)"
	    " ON CONFLICT (author) DO UPDATE SET handle = excluded.handle,"
	    " updated_ms = excluded.updated_ms" },
	[STORE_HANDLE_GET] = { "handle get",
	    "SELECT handle FROM handles WHERE author = ?1" },
	[STORE_POST_FIND] = { "post find",
	    "SELECT c.root FROM posts p"
	    " JOIN conversations c ON c.id = p.conversation"
	    " WHERE p.platform = ?1 AND p.id = ?2" },
	/* Only a real change counts: replays of an edit note nothing. */
	[STORE_POST_UPDATE] = { "post update",
	    "UPDATE posts SET json = ?3 WHERE platform = ?1 AND id = ?2"
	    " AND json != ?3" },
	[STORE_POST_DELETE_ONCE] = { "post delete once",
	    "UPDATE posts SET deleted = 1 WHERE platform = ?1 AND id = ?2"
	    " AND deleted = 0" },
	/* The note goes to whoever owns the conversation now. */
	[STORE_CHANGE_INSERT] = { "change insert",
	    "INSERT INTO outbox (destination, conversation, post_platform,"
	    " post_id, team, rule, state, attempts, next_try_ms, created_ms,"
	    " kind)"
	    " SELECT c.team, c.id, p.platform, p.id, c.team, p.rule,"
	    " 'pending', 0, ?3, ?3, ?4 FROM posts p"
	    " JOIN conversations c ON c.id = p.conversation"
	    " WHERE p.platform = ?1 AND p.id = ?2" },
	/* Columns as store_conversation_row reads them.  A resolved code
	 * may be reused: the open holder wins, then the latest resolved. */
	[STORE_CONV_BY_CODE] = { "conv by code",
	    "SELECT " STORE_CONV_COLUMNS " FROM conversations c"
	    " WHERE c.code = ?1"
	    " ORDER BY c.status = 'open' DESC, c.updated_ms DESC, c.id DESC"
	    " LIMIT 1" },
	[STORE_CONV_OPEN_TEAM] = { "conv open by team",
	    "SELECT " STORE_CONV_COLUMNS " FROM conversations c"
	    " WHERE c.team = ?1 AND c.status = 'open'"
	    " ORDER BY c.created_ms, c.id" },
	[STORE_CONV_EXISTS] = { "conv exists",
	    "SELECT 1 FROM conversations WHERE id = ?1" },
	[STORE_CONV_SET_TEAM] = { "conv set team",
	    "UPDATE conversations SET team = ?2, updated_ms = ?3"
	    " WHERE id = ?1" },
	/* Reopening must not break the unique open code: checked here so
	 * the caller gets an answer, not a constraint error. */
	[STORE_CONV_SET_STATUS] = { "conv set status",
	    "UPDATE conversations SET status = ?2, updated_ms = ?3"
	    " WHERE id = ?1 AND (?2 != 'open' OR NOT EXISTS"
	    " (SELECT 1 FROM conversations o WHERE o.code = conversations.code"
	    "  AND o.status = 'open' AND o.id != conversations.id))" },
	[STORE_CONV_POSTS] = { "conv posts",
	    "SELECT json, deleted FROM posts WHERE conversation = ?1"
	    " ORDER BY rowid LIMIT ?2" },
	/* Threaded under the latest post: where the team is talking. */
	[STORE_NOTE_INSERT] = { "note insert",
	    "INSERT INTO outbox (destination, conversation, post_platform,"
	    " post_id, team, rule, state, attempts, next_try_ms, created_ms,"
	    " kind, note)"
	    " SELECT ?2, c.id, p.platform, p.id, c.team, p.rule, 'pending', 0,"
	    " ?4, ?4, 'note', ?3 FROM conversations c"
	    " JOIN posts p ON p.conversation = c.id WHERE c.id = ?1"
	    " ORDER BY p.rowid DESC LIMIT 1" },
	[STORE_CONV_CLAIM] = { "conv claim",
	    "UPDATE conversations SET claimed_by = ?2, claimed_name = ?3"
	    " WHERE id = ?1" },
	[STORE_CNOTE_ADD] = { "conversation note add",
	    "INSERT INTO notes (conversation, time_ms, user_id, user_name,"
	    " text) VALUES (?1, ?2, ?3, ?4, ?5)" },
	[STORE_CNOTES] = { "conversation notes",
	    "SELECT time_ms, user_id, user_name, text FROM notes"
	    " WHERE conversation = ?1 ORDER BY id LIMIT ?2" },
	[STORE_BATON_GET] = { "baton get",
	    "SELECT user_id, user_name FROM batons WHERE team = ?1" },
	[STORE_BATON_SET] = { "baton set",
	    "INSERT INTO batons (team, user_id, user_name, time_ms)"
	    " VALUES (?1, ?2, ?3, ?4)"
	    " ON CONFLICT (team) DO UPDATE SET user_id = excluded.user_id,"
	    " user_name = excluded.user_name, time_ms = excluded.time_ms" },
	[STORE_BATON_DROP] = { "baton drop",
	    "DELETE FROM batons WHERE team = ?1" },
	[STORE_MUTE_SET] = { "mute set",
	    "INSERT INTO mutes (scope, author, by_user, time_ms)"
	    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (scope, author) DO NOTHING" },
	[STORE_MUTE_CLEAR] = { "mute clear",
	    "DELETE FROM mutes WHERE scope = ?1 AND author = ?2" },
	[STORE_MUTE_COUNT] = { "mute count",
	    "SELECT count(*) FROM mutes" },
	[STORE_MUTED] = { "muted",
	    "SELECT 1 FROM mutes WHERE (scope = ?1 OR scope = '"
	    STORE_MUTE_GLOBAL "') AND (author = ?2 OR author = ?3) LIMIT 1" },
	/* No row inserted: the parent post was never recorded. */
	[STORE_REPLY_ADD] = { "reply add",
	    "INSERT INTO replies (state, conversation, team, account,"
	    " parent_platform, parent_id, text, key, user_id, user_name,"
	    " approved_by, attempts, next_try_ms, created_ms)"
	    " SELECT ?1, ?2, ?3, ?4, p.platform, p.id, ?7, ?8, ?9, ?10, ?11, 0,"
	    " ?12, ?13 FROM posts p WHERE p.platform = ?5 AND p.id = ?6" },
	[STORE_REPLY_GET] = { "reply get",
	    STORE_REPLY_SELECT " WHERE r.id = ?1" },
	/* Like the outbox head: next_try_ms is the caller's to honour. */
	[STORE_REPLY_HEAD] = { "reply head",
	    STORE_REPLY_SELECT " WHERE r.account = ?1 AND r.state = 'pending'"
	    " ORDER BY r.id LIMIT 1" },
	[STORE_REPLY_ACCOUNTS] = { "reply accounts",
	    "SELECT DISTINCT account FROM replies WHERE state = 'pending'"
	    " ORDER BY account" },
	[STORE_REPLY_DONE] = { "reply done",
	    "UPDATE replies SET state = 'done', url = ?2, published_id = ?3"
	    " WHERE id = ?1" },
	[STORE_REPLY_RETRY] = { "reply retry",
	    "UPDATE replies SET attempts = attempts + 1, next_try_ms = ?2,"
	    " error = ?3 WHERE id = ?1" },
	[STORE_REPLY_FAIL] = { "reply fail",
	    "UPDATE replies SET state = 'failed', error = ?2 WHERE id = ?1" },
	[STORE_REPLY_DECIDE] = { "reply decide",
	    "UPDATE replies SET"
	    " state = CASE WHEN ?2 THEN 'pending' ELSE 'rejected' END,"
	    " approved_by = CASE WHEN ?2 THEN ?3 ELSE approved_by END"
	    " WHERE id = ?1 AND state = 'draft'" },
	[STORE_REPLY_EXISTS] = { "reply exists",
	    "SELECT 1 FROM replies WHERE id = ?1" },
	[STORE_REPLIES_CONV] = { "replies by conversation",
	    STORE_REPLY_SELECT " WHERE r.conversation = ?1 ORDER BY r.id" },
	[STORE_REPLIES_TEAM] = { "replies by team",
	    STORE_REPLY_SELECT " WHERE r.team = ?1 AND r.state = ?2"
	    " ORDER BY r.id" },
	[STORE_REPLY_COUNT] = { "reply count",
	    "SELECT count(*) FROM replies WHERE state = ?1" },
	[STORE_AUDIT_ADD] = { "audit add",
	    "INSERT INTO audit (time_ms, user_id, user_name, team, code,"
	    " action, text, result) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)" },
	/* The newest max, turned round to read oldest first. */
	[STORE_AUDIT_LIST] = { "audit list",
	    "SELECT id, time_ms, user_id, user_name, team, code, action, text,"
	    " result FROM (SELECT * FROM audit WHERE time_ms >= ?1"
	    " ORDER BY time_ms DESC, id DESC LIMIT ?2)"
	    " ORDER BY time_ms, id" },
};

struct store {
	sqlite3		*db;
	sqlite3_stmt	*stmt[STORE_NSTMT];
	struct buf	 json;		/* reused for each record's post */
	/*
	 * Rows in mutes, or -1 if unknown (after a rollback): spares
	 * store_muted a query per post while nobody is muted.  Only this
	 * connection writes mutes (chat commands in the daemon).
	 */
	int64_t		 nmutes;
};

/* Log the connection's current error once; always -1 for the caller. */
static int
store_error(struct store *s, const char *what)
{
	log_err("store: %s: %s", what, sqlite3_errmsg(s->db));
	return -1;
}

/*
 * Bind parameters 1.. from fmt: 't' a const char * (NULL binds SQL
 * NULL), 'l' an int64_t.  Strings are SQLITE_STATIC: they must outlive
 * the step, which every caller resets before returning.
 */
static int
store_vbind(struct store *s, enum store_stmt_id id, const char *fmt,
    va_list ap)
{
	sqlite3_stmt	*st = s->stmt[id];
	const char	*t;
	int		 i, rc = SQLITE_OK;

	for (i = 0; fmt[i] != '\0' && rc == SQLITE_OK; i++) {
		switch (fmt[i]) {
		case 't':
			t = va_arg(ap, const char *);
			rc = sqlite3_bind_text(st, i + 1, t, -1, SQLITE_STATIC);
			break;
		case 'l':
			rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
			break;
		default:
			rc = SQLITE_MISUSE;
			break;
		}
	}
	if (rc != SQLITE_OK) {
		store_error(s, store_sql[id].name);
		sqlite3_reset(st);
		return -1;
	}
	return 0;
}

/*
 * Bind and take the first step: 1 with the statement left on its first
 * row (the caller reads it, then resets), 0 if no row (already reset),
 * -1 on error (logged, reset).
 */
static int
store_vquery(struct store *s, enum store_stmt_id id, const char *fmt,
    va_list ap)
{
	sqlite3_stmt	*st = s->stmt[id];
	int		 rc;

	if (store_vbind(s, id, fmt, ap) != 0)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE)
		store_error(s, store_sql[id].name);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Bind and step a statement whose rows, if any, are not wanted: 0 or -1. */
static int
store_exec(struct store *s, enum store_stmt_id id, const char *fmt, ...)
{
	va_list	ap;
	int	rc;

	va_start(ap, fmt);
	rc = store_vquery(s, id, fmt, ap);
	va_end(ap);
	if (rc == 1)
		sqlite3_reset(s->stmt[id]);
	return rc < 0 ? -1 : 0;
}

/* store_vquery with the arguments inline. */
static int
store_query(struct store *s, enum store_stmt_id id, const char *fmt, ...)
{
	va_list	ap;
	int	rc;

	va_start(ap, fmt);
	rc = store_vquery(s, id, fmt, ap);
	va_end(ap);
	return rc;
}

/* The next row of a statement being read: 1, 0 at its end, -1 (logged). */
static int
store_next(struct store *s, enum store_stmt_id id)
{
	int	rc = sqlite3_step(s->stmt[id]);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_error(s, store_sql[id].name);
}

/* A one-integer query (a count) with fmt "" or "t": 0 with *n, or -1. */
static int
store_get_int(struct store *s, enum store_stmt_id id, const char *fmt,
    const char *arg, int64_t *n)
{
	int	rc;

	*n = 0;
	rc = store_query(s, id, fmt, arg);	/* "": arg unread */
	if (rc != 1)
		return -1;
	*n = sqlite3_column_int64(s->stmt[id], 0);
	sqlite3_reset(s->stmt[id]);
	return 0;
}

/* An owned copy of a text column, NULL for SQL NULL. */
static char *
store_column_text(sqlite3_stmt *st, int col)
{
	return xstrdup((const char *)sqlite3_column_text(st, col));
}

/* A single-text query by one or two keys: 1 and *out, 0, or -1. */
static int
store_get_text(struct store *s, enum store_stmt_id id, const char *k1,
    const char *k2, char **out)
{
	int	rc;

	*out = NULL;
	if (k2 != NULL)
		rc = store_query(s, id, "tt", k1, k2);
	else
		rc = store_query(s, id, "t", k1);
	if (rc != 1)
		return rc;
	*out = store_column_text(s->stmt[id], 0);
	sqlite3_reset(s->stmt[id]);
	return 1;
}

/* PRAGMA user_version, or -1 with *cause. */
static int
store_read_version(sqlite3 *db, char **cause)
{
	sqlite3_stmt	*st;
	int		 v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st,
	    NULL) != SQLITE_OK) {
		*cause = xasprintf("%s", sqlite3_errmsg(db));
		return -1;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	else
		*cause = xasprintf("%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return v;
}

/* Run SQL that returns nothing useful; *cause on error. */
static int
store_run(sqlite3 *db, const char *sql, char **cause)
{
	char	*msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		*cause = xasprintf("%s", msg != NULL ? msg :
		    sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/*
 * Bring the schema to STORE_VERSION one step at a time.  The version is
 * read again under the write lock of each step, so two daemons opening
 * the same file at once cannot both apply a step.
 */
static int
store_migrate(sqlite3 *db, char **cause)
{
	char	*sql;
	int	 v, rc;

	for (;;) {
		if (store_run(db, "BEGIN IMMEDIATE", cause) != 0)
			return -1;
		v = store_read_version(db, cause);
		if (v < 0)
			goto fail;
		if (v > STORE_VERSION) {
			*cause = xasprintf("schema version %d is newer than "
			    "this switchboard knows (%d)", v, STORE_VERSION);
			goto fail;
		}
		if (v == STORE_VERSION)
			return store_run(db, "COMMIT", cause);
		if (store_run(db, store_migrations[v], cause) != 0) {
			sql = *cause;
			*cause = xasprintf("migration to version %d: %s",
			    v + 1, sql);
			free(sql);
			goto fail;
		}
		sql = xasprintf("PRAGMA user_version = %d", v + 1);
		rc = store_run(db, sql, cause);
		free(sql);
		if (rc != 0 || store_run(db, "COMMIT", cause) != 0)
			goto fail;
		log_info("store: schema migrated to version %d", v + 1);
	}
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/*
 * WAL lets readers (an operator's sqlite3) work while the daemon writes;
 * NORMAL sync in WAL keeps the file consistent, losing at most the last
 * commits on power loss, which the sources replay from their cursors.
 * A burst dirties index pages all over the file; checkpointing every
 * 16 MiB of WAL instead of 4 copies each back less often (+8% records/s).
 */
static int
store_configure(sqlite3 *db, bool memory, char **cause)
{
	sqlite3_stmt	*st;
	const char	*mode;

	if (sqlite3_busy_timeout(db, STORE_BUSY_MS) != SQLITE_OK ||
	    store_run(db, "PRAGMA foreign_keys = ON", cause) != 0 ||
	    store_run(db, "PRAGMA synchronous = NORMAL", cause) != 0 ||
	    store_run(db, "PRAGMA wal_autocheckpoint = 4000", cause) != 0)
		goto fail;
	if (memory)
		return 0;
	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st,
	    NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		goto fail;
	}
	mode = (const char *)sqlite3_column_text(st, 0);
	if (mode == NULL || strcmp(mode, "wal") != 0)
		log_warn("store: journal mode is %s, not wal",
		    mode != NULL ? mode : "unknown");
	sqlite3_finalize(st);
	return 0;
fail:
	if (*cause == NULL)
		*cause = xasprintf("%s", sqlite3_errmsg(db));
	return -1;
}

static int
store_prepare(struct store *s, char **cause)
{
	size_t	i;
	int	rc;

	for (i = 0; i < STORE_NSTMT; i++) {
		rc = sqlite3_prepare_v3(s->db, store_sql[i].sql, -1,
		    SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL);
		if (rc != SQLITE_OK) {
			*cause = xasprintf("%s: %s", store_sql[i].name,
			    sqlite3_errmsg(s->db));
			return -1;
		}
	}
	return 0;
}

/* The database path for dir, creating dir (0700) if missing. */
static char *
store_path(const char *dir, char **cause)
{
	struct stat	sb;

	if (strcmp(dir, ":memory:") == 0)
		return xstrdup(dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		*cause = xasprintf("%s: %s", dir, strerror(errno));
		return NULL;
	}
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		*cause = xasprintf("%s: not a directory", dir);
		return NULL;
	}
	return xasprintf("%s/switchboard.db", dir);
}

struct store *
store_open(const char *dir, char **cause)
{
	struct store	*s;
	sqlite3		*db = NULL;
	char		*path, *why = NULL;
	bool		 memory;
	int		 v;

	*cause = NULL;
	if (dir == NULL || *dir == '\0') {
		*cause = xstrdup("store: no state directory");
		return NULL;
	}
	path = store_path(dir, &why);
	if (path == NULL)
		goto fail;
	memory = strcmp(path, ":memory:") == 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		why = xasprintf("%s", db != NULL ? sqlite3_errmsg(db) :
		    "cannot allocate");
		goto fail;
	}
	sqlite3_extended_result_codes(db, 1);
	/* Refuse a newer file before touching it, even its journal mode. */
	v = store_read_version(db, &why);
	if (v < 0)
		goto fail;
	if (v > STORE_VERSION) {
		why = xasprintf("schema version %d is newer than this "
		    "switchboard knows (%d)", v, STORE_VERSION);
		goto fail;
	}
	if (store_configure(db, memory, &why) != 0 ||
	    store_migrate(db, &why) != 0)
		goto fail;
	s = xcalloc(1, sizeof(*s));
	s->db = db;
	s->nmutes = -1;
	buf_init(&s->json);
	if (store_prepare(s, &why) != 0) {
		store_close(s);
		db = NULL;
		goto fail;
	}
	free(path);
	return s;
fail:
	*cause = xasprintf("store %s: %s", path != NULL ? path : dir, why);
	free(why);
	free(path);
	sqlite3_close(db);
	return NULL;
}

void
store_close(struct store *s)
{
	size_t	i;

	if (s == NULL)
		return;
	if (store_in_transaction(s)) {
		log_warn("store: closing with an open transaction; "
		    "rolling it back");
		store_rollback(s);
	}
	for (i = 0; i < STORE_NSTMT; i++)
		sqlite3_finalize(s->stmt[i]);
	if (sqlite3_close(s->db) != SQLITE_OK)
		store_error(s, "close");
	buf_free(&s->json);
	free(s);
}

int
store_schema_version(struct store *s)
{
	char	*cause = NULL;
	int	 v;

	v = store_read_version(s->db, &cause);
	if (v < 0) {
		log_err("store: user_version: %s", cause);
		free(cause);
	}
	return v;
}

int
store_begin(struct store *s)
{
	if (store_in_transaction(s))
		return 0;
	return store_exec(s, STORE_BEGIN, "");
}

int
store_commit(struct store *s)
{
	if (!store_in_transaction(s))
		return 0;
	return store_exec(s, STORE_COMMIT, "");
}

/* Even with no transaction left: SQLite may have rolled one back alone. */
void
store_rollback(struct store *s)
{
	s->nmutes = -1;
	if (store_in_transaction(s))
		store_exec(s, STORE_ROLLBACK, "");
}

/* SQLite itself knows: it may have rolled back on its own (IOERR, FULL). */
bool
store_in_transaction(const struct store *s)
{
	return sqlite3_get_autocommit(s->db) == 0;
}

int
store_post_seen(struct store *s, const char *platform, const char *id)
{
	int	rc;

	rc = store_query(s, STORE_POST_SEEN, "tt", platform, id);
	if (rc == 1)
		sqlite3_reset(s->stmt[STORE_POST_SEEN]);
	return rc;
}

int
store_conversation_owner(struct store *s, const char *platform,
    const char *root, char **team)
{
	char	*t;
	int	 rc;

	rc = store_get_text(s, STORE_CONV_OWNER, platform, root, &t);
	if (rc == 1)
		*team = t;
	return rc;
}

/* FNV-1a over platform, a separator and root. */
static uint64_t
store_code_hash(const char *platform, const char *root)
{
	uint64_t	 h = 0xcbf29ce484222325ULL;
	const char	*p;

	for (p = platform; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	h = (h ^ 0xff) * 0x100000001b3ULL;
	for (p = root; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	return h;
}

/* splitmix64's finaliser: each redraw gets independent-looking bits. */
static uint64_t
store_code_mix(uint64_t h)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

/* The len-character code of draw n for a root hashed to base. */
static void
store_code_draw(uint64_t base, int n, size_t len, char *code)
{
	uint64_t	h;
	size_t		i;

	h = store_code_mix(base + (uint64_t)n * 0x9e3779b97f4a7c15ULL);
	for (i = 0; i < len; i++) {
		code[i] = store_code_alphabet[h & 31];
		h >>= 5;
	}
	code[len] = '\0';
}

/*
 * Create the conversation for a root known to be new, with a code no
 * open conversation uses.  Codes derive from platform+root so a rebuilt
 * store tends to give the same ones; a taken code is redrawn, longer
 * after a few tries.
 */
static int
store_conversation_new(struct store *s, const char *platform,
    const char *root, const char *team, int64_t now, int64_t *id)
{
	char		code[STORE_CODE_MAX + 1];
	uint64_t	base = store_code_hash(platform, root);
	size_t		k;
	int		try, n = 0;

	for (k = 0; k < nitems(store_code_plan); k++) {
		for (try = 0; try < store_code_plan[k].tries; try++) {
			store_code_draw(base, n++, store_code_plan[k].len,
			    code);
			if (store_exec(s, STORE_CONV_INSERT, "ttttl", platform,
			    root, team, code, now) != 0)
				return -1;
			if (sqlite3_changes(s->db) == 1) {
				*id = sqlite3_last_insert_rowid(s->db);
				return 0;
			}
		}
	}
	log_err("store: no free conversation code for %s", root);
	return -1;
}

/*
 * The conversation rooted at root, created for team if new: its id, and
 * *created set if this call made it.
 */
static int
store_conversation(struct store *s, const char *platform, const char *root,
    const char *team, int64_t now, int64_t *id, bool *created)
{
	int	rc;

	*created = false;
	rc = store_query(s, STORE_CONV_FIND, "tt", platform, root);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		*id = sqlite3_column_int64(s->stmt[STORE_CONV_FIND], 0);
		sqlite3_reset(s->stmt[STORE_CONV_FIND]);
		return store_exec(s, STORE_CONV_TOUCH, "ll", *id, now);
	}
	if (store_conversation_new(s, platform, root, team, now, id) != 0)
		return -1;
	*created = true;
	return 0;
}

/* A JSON string: runs of plain bytes copied, only what JSON needs escaped. */
static void
store_json_string(struct buf *b, const char *str, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	char			 esc[7] = "\\u00";
	size_t			 i, run = 0;
	unsigned char		 c;

	buf_addc(b, '"');
	for (i = 0; i < len; i++) {
		c = (unsigned char)str[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(b, str + run, i - run);
		run = i + 1;
		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			buf_add(b, esc, 2);
		} else {
			esc[1] = 'u';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			buf_add(b, esc, 6);
		}
	}
	buf_add(b, str + run, len - run);
	buf_addc(b, '"');
}

/*
 * The JSON text of v, appended to b.  json_dumps took nearly a third of
 * store_record's time: it decodes UTF-8 character by character and
 * formats a pointer per container to detect cycles.  A json_t string is
 * valid UTF-8 already and a post has no cycles, so bytes are copied as
 * they are.  Reals (a post has none) go to jansson.
 */
static void
store_json_add(struct buf *b, json_t *v)
{
	const char	*key, *sep = "";
	json_t		*e;
	size_t		 i;
	char		*t, num[32];

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		buf_addc(b, '{');
		json_object_foreach(v, key, e) {
			buf_adds(b, sep);
			store_json_string(b, key, strlen(key));
			buf_addc(b, ':');
			store_json_add(b, e);
			sep = ",";
		}
		buf_addc(b, '}');
		break;
	case JSON_ARRAY:
		buf_addc(b, '[');
		json_array_foreach(v, i, e) {
			buf_adds(b, sep);
			store_json_add(b, e);
			sep = ",";
		}
		buf_addc(b, ']');
		break;
	case JSON_STRING:
		store_json_string(b, json_string_value(v),
		    json_string_length(v));
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		buf_adds(b, num);
		break;
	case JSON_TRUE:
		buf_adds(b, "true");
		break;
	case JSON_FALSE:
		buf_adds(b, "false");
		break;
	case JSON_NULL:
		buf_adds(b, "null");
		break;
	default:
		t = json_dumps(v, JSON_ENCODE_ANY);
		buf_adds(b, t != NULL ? t : "null");
		free(t);
		break;
	}
}

/*
 * Take back what a failed record wrote, leaving the rest of the burst.
 * Should that fail too, the whole transaction goes: the sources replay
 * from their cursor, which is safer than a post with half its
 * deliveries.
 */
static void
store_record_undo(struct store *s, const struct post *p, bool created,
    int64_t conv)
{
	if (!store_in_transaction(s))
		return;		/* SQLite already rolled back (IOERR, FULL) */
	if (store_exec(s, STORE_UNDO_OUTBOX, "tt", p->platform, p->id) == 0 &&
	    store_exec(s, STORE_UNDO_POST, "tt", p->platform, p->id) == 0 &&
	    (!created || store_exec(s, STORE_UNDO_CONV, "l", conv) == 0))
		return;
	log_err("store: cannot undo part of %s; rolling back the "
	    "transaction", p->id);
	store_rollback(s);
}

/* Everything store_record writes for a new post; undone on failure. */
static int
store_record_new(struct store *s, const struct post *p, const char *team,
    const char *rule, const char *const *dest, size_t ndest)
{
	json_t	*j;
	int64_t	 now = now_wall_ms(), conv = 0;
	size_t	 i;
	bool	 created = false;
	int	 rc;

	j = post_to_json(p);
	if (j == NULL) {
		log_err("store: post %s: cannot encode as JSON", p->id);
		return -1;
	}
	buf_reset(&s->json);
	store_json_add(&s->json, j);
	json_decref(j);
	rc = store_conversation(s, p->platform, post_root(p), team, now,
	    &conv, &created);
	if (rc == 0)
		rc = store_exec(s, STORE_POST_INSERT, "ttlttttl", p->platform,
		    p->id, conv, p->author, team, rule, s->json.data, now);
	for (i = 0; rc == 0 && i < ndest; i++)
		rc = store_exec(s, STORE_OUTBOX_INSERT, "tlttttl", dest[i],
		    conv, p->platform, p->id, team, rule, now);
	if (rc != 0)
		store_record_undo(s, p, created, conv);
	return rc;
}

/*
 * Each record is all-or-nothing inside the caller's burst.  Not with a
 * savepoint: its statement journal copies every page a record touches
 * and costs a fifth of the throughput; a failure is undone by hand
 * instead.  Without an open transaction the record is its own.
 */
int
store_record(struct store *s, const struct post *p, const char *team,
    const char *rule, const char *const *dest, size_t ndest)
{
	size_t	i;
	bool	own;
	int	rc;

	if (p == NULL || p->platform == NULL || p->id == NULL ||
	    p->author == NULL || team == NULL || (ndest > 0 && dest == NULL)) {
		log_err("store: record: post without platform, id or "
		    "author, or no team");
		return -1;
	}
	for (i = 0; i < ndest; i++) {
		if (dest[i] == NULL) {
			log_err("store: record %s: NULL destination", p->id);
			return -1;
		}
	}
	own = !store_in_transaction(s);
	if (own && store_begin(s) != 0)
		return -1;
	rc = store_query(s, STORE_POST_SEEN, "tt", p->platform, p->id);
	if (rc == 1) {
		sqlite3_reset(s->stmt[STORE_POST_SEEN]);
		rc = 0;
	} else if (rc == 0)
		rc = store_record_new(s, p, team, rule, dest, ndest) == 0 ?
		    1 : -1;
	if (own) {
		if (rc >= 0 && store_commit(s) != 0)
			rc = -1;
		store_rollback(s);
	}
	return rc;
}

int
store_post_deleted(struct store *s, const char *platform, const char *id)
{
	return store_exec(s, STORE_POST_DELETED, "tt", platform, id);
}

int
store_post_root(struct store *s, const char *platform, const char *id,
    char **root)
{
	return store_get_text(s, STORE_POST_FIND, platform, id, root);
}

int
store_record_change(struct store *s, const char *platform, const char *id,
    enum delivery_kind kind, const struct post *edited)
{
	json_t	*j;
	int	 rc;

	rc = store_post_seen(s, platform, id);
	if (rc != 1)
		return rc;
	if (kind == DELIVERY_EDIT) {
		if (edited == NULL || (j = post_to_json(edited)) == NULL)
			return -1;
		buf_reset(&s->json);
		store_json_add(&s->json, j);
		json_decref(j);
		if (store_exec(s, STORE_POST_UPDATE, "ttt", platform, id,
		    s->json.data) != 0)
			return -1;
	} else if (store_exec(s, STORE_POST_DELETE_ONCE, "tt", platform,
	    id) != 0)
		return -1;
	/* The same edit or delete seen again (a rewind, a second
	 * subscription) changes nothing and is not noted twice. */
	if (sqlite3_changes(s->db) == 0)
		return 0;
	if (store_exec(s, STORE_CHANGE_INSERT, "ttlt", platform, id,
	    now_wall_ms(), kind == DELIVERY_EDIT ? "edit" : "delete") != 0)
		return -1;
	return 1;
}

int
store_cursor_set(struct store *s, const char *source, const char *value)
{
	return store_exec(s, STORE_CURSOR_SET, "ttl", source, value,
	    now_wall_ms());
}

char *
store_cursor_get(struct store *s, const char *source)
{
	char	*v;

	store_get_text(s, STORE_CURSOR_GET, source, NULL, &v);
	return v;
}

int
store_handle_set(struct store *s, const char *author, const char *handle)
{
	return store_exec(s, STORE_HANDLE_SET, "ttl", author, handle,
	    now_wall_ms());
}

char *
store_handle_get(struct store *s, const char *author)
{
	char	*v;

	store_get_text(s, STORE_HANDLE_GET, author, NULL, &v);
	return v;
}

void
delivery_free(struct delivery *d)
{
	if (d == NULL)
		return;
	free(d->destination);
	free(d->team);
	free(d->rule);
	free(d->code);
	post_free(d->post);
	free(d->note);
	memset(d, 0, sizeof(*d));
}

/* The post stored as JSON on the current head row, or NULL. */
static struct post *
store_head_post(sqlite3_stmt *st, int64_t id)
{
	const char	*text = (const char *)sqlite3_column_text(st, 5);
	json_error_t	 err;
	json_t		*j;
	struct post	*p;

	j = json_loads(text != NULL ? text : "", 0, &err);
	if (j == NULL) {
		log_err("store: outbox %lld: stored post: %s",
		    (long long)id, err.text);
		return NULL;
	}
	p = post_from_json(j);
	if (p == NULL)
		log_err("store: outbox %lld: stored post is malformed",
		    (long long)id);
	json_decref(j);
	return p;
}

/*
 * A row whose stored post cannot be read is failed and skipped: leaving
 * it at the head would block its destination forever.
 */
int
store_outbox_head(struct store *s, const char *destination,
    struct delivery *out)
{
	sqlite3_stmt	*st = s->stmt[STORE_OUTBOX_HEAD];
	struct post	*p;
	const char	*kind;
	int64_t		 id;
	int		 rc;

	memset(out, 0, sizeof(*out));
	for (;;) {
		rc = store_query(s, STORE_OUTBOX_HEAD, "t", destination);
		if (rc != 1)
			return rc;
		id = sqlite3_column_int64(st, 0);
		p = store_head_post(st, id);
		if (p != NULL)
			break;
		sqlite3_reset(st);
		if (store_outbox_fail(s, id, "stored post unreadable") != 0)
			return -1;
	}
	out->id = id;
	out->destination = store_column_text(st, 1);
	out->team = store_column_text(st, 2);
	out->rule = store_column_text(st, 3);
	out->code = store_column_text(st, 4);
	out->post = p;
	out->attempts = sqlite3_column_int(st, 6);
	out->next_try_ms = sqlite3_column_int64(st, 7);
	kind = (const char *)sqlite3_column_text(st, 8);
	out->kind = kind == NULL ? DELIVERY_POST :
	    strcmp(kind, "edit") == 0 ? DELIVERY_EDIT :
	    strcmp(kind, "delete") == 0 ? DELIVERY_DELETE :
	    strcmp(kind, "note") == 0 ? DELIVERY_NOTE : DELIVERY_POST;
	if (out->kind == DELIVERY_NOTE)
		out->note = store_column_text(st, 9);
	sqlite3_reset(st);
	return 1;
}

/* out is initialised here (as strv_copy does); the caller strv_frees it. */
int
store_outbox_destinations(struct store *s, struct strv *out)
{
	sqlite3_stmt	*st = s->stmt[STORE_OUTBOX_DESTS];
	int		 rc;

	strv_init(out);
	for (;;) {
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
		strv_add(out, (const char *)sqlite3_column_text(st, 0));
	}
	if (rc != SQLITE_DONE) {
		store_error(s, store_sql[STORE_OUTBOX_DESTS].name);
		strv_free(out);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* After an update of one row by id: a missing row is a caller bug. */
static int
store_row_changed(struct store *s, const char *what, int64_t id, int rc)
{
	if (rc != 0)
		return -1;
	if (sqlite3_changes(s->db) != 1) {
		log_err("store: %s %lld not found", what, (long long)id);
		return -1;
	}
	return 0;
}

static int
store_outbox_changed(struct store *s, int64_t id, int rc)
{
	return store_row_changed(s, "outbox row", id, rc);
}

int
store_outbox_done(struct store *s, int64_t id)
{
	return store_outbox_changed(s, id,
	    store_exec(s, STORE_OUTBOX_DONE, "l", id));
}

int
store_outbox_retry(struct store *s, int64_t id, int64_t next_try_ms,
    const char *error)
{
	return store_outbox_changed(s, id,
	    store_exec(s, STORE_OUTBOX_RETRY, "llt", id, next_try_ms, error));
}

int
store_outbox_fail(struct store *s, int64_t id, const char *error)
{
	return store_outbox_changed(s, id,
	    store_exec(s, STORE_OUTBOX_FAIL, "lt", id, error));
}

int
store_outbox_count(struct store *s, const char *state, int64_t *n)
{
	return store_get_int(s, STORE_OUTBOX_COUNT, "t", state, n);
}

void
conversation_free(struct conversation *c)
{
	if (c == NULL)
		return;
	free(c->platform);
	free(c->root);
	free(c->team);
	free(c->code);
	post_free(c->first);
	free(c->first_rule);
	free(c->claimed_by);
	free(c->claimed_name);
	memset(c, 0, sizeof(*c));
}

void
conversations_free(struct conversation *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		conversation_free(&v[i]);
	free(v);
}

/* A post stored as JSON text, or NULL (logged) if it cannot be read. */
static struct post *
store_post_parse(const char *text, const char *what)
{
	json_error_t	 err;
	json_t		*j;
	struct post	*p;

	if (text == NULL)
		return NULL;
	j = json_loads(text, 0, &err);
	if (j == NULL) {
		log_err("store: %s: stored post: %s", what, err.text);
		return NULL;
	}
	p = post_from_json(j);
	if (p == NULL)
		log_err("store: %s: stored post is malformed", what);
	json_decref(j);
	return p;
}

/* The current row of a STORE_CONV_COLUMNS statement into out. */
static void
store_conversation_row(sqlite3_stmt *st, struct conversation *out)
{
	const char	*status = (const char *)sqlite3_column_text(st, 5);

	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(st, 0);
	out->platform = store_column_text(st, 1);
	out->root = store_column_text(st, 2);
	out->team = store_column_text(st, 3);
	out->code = store_column_text(st, 4);
	out->open = status != NULL && strcmp(status, "open") == 0;
	out->created_ms = sqlite3_column_int64(st, 6);
	out->updated_ms = sqlite3_column_int64(st, 7);
	out->nposts = sqlite3_column_int64(st, 8);
	out->first = store_post_parse((const char *)sqlite3_column_text(st,
	    9), "conversation");
	out->first_rule = store_column_text(st, 10);
	out->claimed_by = store_column_text(st, 11);
	out->claimed_name = store_column_text(st, 12);
}

int
store_conversation_by_code(struct store *s, const char *code,
    struct conversation *out)
{
	int	rc;

	memset(out, 0, sizeof(*out));
	rc = store_query(s, STORE_CONV_BY_CODE, "t", code);
	if (rc != 1)
		return rc;
	store_conversation_row(s->stmt[STORE_CONV_BY_CODE], out);
	sqlite3_reset(s->stmt[STORE_CONV_BY_CODE]);
	return 1;
}

/* After an update of one conversation by id: 0, or -1 if unknown. */
static int
store_conversation_changed(struct store *s, int64_t id)
{
	if (sqlite3_changes(s->db) == 1)
		return 0;
	log_err("store: conversation %lld not found", (long long)id);
	return -1;
}

int
store_conversation_set_team(struct store *s, int64_t id, const char *team)
{
	if (team == NULL ||
	    store_exec(s, STORE_CONV_SET_TEAM, "ltl", id, team,
	    now_wall_ms()) != 0)
		return -1;
	return store_conversation_changed(s, id);
}

int
store_conversation_set_status(struct store *s, int64_t id, bool open)
{
	int	rc;

	if (store_exec(s, STORE_CONV_SET_STATUS, "ltl", id,
	    open ? "open" : "resolved", now_wall_ms()) != 0)
		return -1;
	if (sqlite3_changes(s->db) == 1)
		return 0;
	/* Nothing changed: an unknown id, or the code is taken. */
	rc = store_query(s, STORE_CONV_EXISTS, "l", id);
	if (rc == 1) {
		sqlite3_reset(s->stmt[STORE_CONV_EXISTS]);
		return 1;
	}
	if (rc == 0)
		log_err("store: conversation %lld not found", (long long)id);
	return -1;
}

int
store_conversations_open(struct store *s, const char *team,
    struct conversation **out, size_t *n)
{
	sqlite3_stmt		*st = s->stmt[STORE_CONV_OPEN_TEAM];
	struct conversation	*v = NULL;
	size_t			 len = 0, cap = 0;
	int			 rc;

	*out = NULL;
	*n = 0;
	rc = store_query(s, STORE_CONV_OPEN_TEAM, "t", team);
	while (rc == 1) {
		if (len == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			v = xrealloc(v, cap * sizeof(*v));
		}
		store_conversation_row(st, &v[len++]);
		rc = store_next(s, STORE_CONV_OPEN_TEAM);
	}
	sqlite3_reset(st);
	if (rc < 0) {
		conversations_free(v, len);
		return -1;
	}
	*out = v;
	*n = len;
	return 0;
}

void
conversation_posts_free(struct conversation_post *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		post_free(v[i].post);
	free(v);
}

int
store_conversation_posts(struct store *s, int64_t id, size_t max,
    struct conversation_post **out, size_t *n)
{
	sqlite3_stmt		*st = s->stmt[STORE_CONV_POSTS];
	struct conversation_post *v;
	struct post		*p;
	size_t			 len = 0;
	int			 rc;

	*out = NULL;
	*n = 0;
	if (max == 0)
		return 0;
	v = xcalloc(max, sizeof(*v));
	rc = store_query(s, STORE_CONV_POSTS, "ll", id, (int64_t)max);
	while (rc == 1) {
		p = store_post_parse((const char *)sqlite3_column_text(st, 0),
		    "conversation post");
		if (p != NULL && len < max) {
			v[len].post = p;
			v[len++].deleted = sqlite3_column_int(st, 1) != 0;
		} else
			post_free(p);
		rc = store_next(s, STORE_CONV_POSTS);
	}
	sqlite3_reset(st);
	if (rc < 0) {
		conversation_posts_free(v, len);
		return -1;
	}
	*out = v;
	*n = len;
	return 0;
}

int
store_note_queue(struct store *s, int64_t conversation,
    const char *destination, const char *text)
{
	if (destination == NULL || text == NULL) {
		log_err("store: note: no destination or no text");
		return -1;
	}
	if (store_exec(s, STORE_NOTE_INSERT, "lttl", conversation, destination,
	    text, now_wall_ms()) != 0)
		return -1;
	if (sqlite3_changes(s->db) != 1) {
		log_err("store: note: conversation %lld not found or has no "
		    "post", (long long)conversation);
		return -1;
	}
	return 0;
}

int
store_conversation_claim(struct store *s, int64_t id, const char *user_id,
    const char *user_name)
{
	if (store_exec(s, STORE_CONV_CLAIM, "ltt", id, user_id,
	    user_id != NULL ? user_name : NULL) != 0)
		return -1;
	return store_conversation_changed(s, id);
}

/* 0 if conversation id exists, -1 (logged) if not or on error. */
static int
store_conversation_known(struct store *s, int64_t id)
{
	int	rc;

	rc = store_query(s, STORE_CONV_EXISTS, "l", id);
	if (rc == 1) {
		sqlite3_reset(s->stmt[STORE_CONV_EXISTS]);
		return 0;
	}
	if (rc == 0)
		log_err("store: conversation %lld not found", (long long)id);
	return -1;
}

int
store_conversation_note_add(struct store *s, int64_t conversation,
    const char *user_id, const char *user_name, const char *text)
{
	if (text == NULL) {
		log_err("store: conversation note without text");
		return -1;
	}
	if (store_conversation_known(s, conversation) != 0)
		return -1;
	return store_exec(s, STORE_CNOTE_ADD, "llttt", conversation,
	    now_wall_ms(), user_id, user_name, text);
}

void
conversation_notes_free(struct conversation_note *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(v[i].user_id);
		free(v[i].user_name);
		free(v[i].text);
	}
	free(v);
}

int
store_conversation_notes(struct store *s, int64_t conversation, size_t max,
    struct conversation_note **out, size_t *n)
{
	sqlite3_stmt		*st = s->stmt[STORE_CNOTES];
	struct conversation_note *v = NULL;
	size_t			 len = 0, cap = 0;
	int			 rc;

	*out = NULL;
	*n = 0;
	if (max == 0)
		return 0;
	rc = store_query(s, STORE_CNOTES, "ll", conversation,
	    max > INT64_MAX ? INT64_MAX : (int64_t)max);
	while (rc == 1) {
		if (len == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[len].time_ms = sqlite3_column_int64(st, 0);
		v[len].user_id = store_column_text(st, 1);
		v[len].user_name = store_column_text(st, 2);
		v[len++].text = store_column_text(st, 3);
		rc = store_next(s, STORE_CNOTES);
	}
	sqlite3_reset(st);
	if (rc < 0) {
		conversation_notes_free(v, len);
		return -1;
	}
	*out = v;
	*n = len;
	return 0;
}

int
store_baton_get(struct store *s, const char *team, char **user_id,
    char **user_name)
{
	sqlite3_stmt	*st = s->stmt[STORE_BATON_GET];
	int		 rc;

	*user_id = NULL;
	*user_name = NULL;
	rc = store_query(s, STORE_BATON_GET, "t", team);
	if (rc != 1)
		return rc;
	*user_id = store_column_text(st, 0);
	*user_name = store_column_text(st, 1);
	sqlite3_reset(st);
	return 1;
}

int
store_baton_set(struct store *s, const char *team, const char *user_id,
    const char *user_name)
{
	if (team == NULL) {
		log_err("store: baton without a team");
		return -1;
	}
	if (user_id == NULL)
		return store_exec(s, STORE_BATON_DROP, "t", team);
	return store_exec(s, STORE_BATON_SET, "tttl", team, user_id,
	    user_name, now_wall_ms());
}

/* author as mutes keep it: lower case, without leading '@'; NULL stays. */
static char *
store_mute_author(const char *author)
{
	char	*v, *p;

	if (author == NULL)
		return NULL;
	while (*author == '@')
		author++;
	v = xstrdup(author);
	for (p = v; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return v;
}

/* Set or clear (set false) one mute: 1 if it changed, 0 if not, -1. */
static int
store_mute_change(struct store *s, bool set, const char *scope,
    const char *author, const char *by_user)
{
	char	*a;
	int	 rc;

	if (scope == NULL || *scope == '\0' || author == NULL) {
		log_err("store: mute without a scope or an author");
		return -1;
	}
	a = store_mute_author(author);
	if (*a == '\0') {
		log_err("store: mute: empty author");
		free(a);
		return -1;
	}
	if (set)
		rc = store_exec(s, STORE_MUTE_SET, "tttl", scope, a, by_user,
		    now_wall_ms());
	else
		rc = store_exec(s, STORE_MUTE_CLEAR, "tt", scope, a);
	free(a);
	if (rc != 0)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return 0;
	if (s->nmutes >= 0)
		s->nmutes += set ? 1 : -1;
	return 1;
}

int
store_mute_set(struct store *s, const char *scope, const char *author,
    const char *by_user)
{
	return store_mute_change(s, true, scope, author, by_user);
}

int
store_mute_clear(struct store *s, const char *scope, const char *author)
{
	return store_mute_change(s, false, scope, author, NULL);
}

int
store_muted(struct store *s, const char *team, const struct post *p)
{
	char	*a, *h;
	int	 rc;

	if (s->nmutes < 0 &&
	    store_get_int(s, STORE_MUTE_COUNT, "", NULL, &s->nmutes) != 0) {
		s->nmutes = -1;
		return -1;
	}
	if (s->nmutes == 0 || p == NULL || p->author == NULL)
		return 0;
	a = store_mute_author(p->author);
	h = store_mute_author(p->author_handle);
	rc = store_query(s, STORE_MUTED, "ttt", team, a, h);
	if (rc == 1)
		sqlite3_reset(s->stmt[STORE_MUTED]);
	free(a);
	free(h);
	return rc;
}

/* Stored names of enum reply_state, in its order. */
static const char *const store_reply_states[] = {
	[REPLY_DRAFT] = "draft",
	[REPLY_PENDING] = "pending",
	[REPLY_DONE] = "done",
	[REPLY_FAILED] = "failed",
	[REPLY_REJECTED] = "rejected"
};

/* The stored name of state, or NULL (logged) for no such state. */
static const char *
store_reply_state_name(enum reply_state state)
{
	if ((unsigned)state >= nitems(store_reply_states)) {
		log_err("store: no reply state %d", (int)state);
		return NULL;
	}
	return store_reply_states[state];
}

/* The state stored as name; the CHECK allows nothing else. */
static enum reply_state
store_reply_state(const char *name)
{
	size_t	i;

	for (i = 0; name != NULL && i < nitems(store_reply_states); i++)
		if (strcmp(name, store_reply_states[i]) == 0)
			return (enum reply_state)i;
	return REPLY_FAILED;
}

void
reply_free(struct reply *r)
{
	if (r == NULL)
		return;
	free(r->code);
	free(r->team);
	free(r->account);
	post_free(r->parent);
	free(r->text);
	free(r->key);
	free(r->user_id);
	free(r->user_name);
	free(r->approved_by);
	free(r->url);
	free(r->published_id);
	free(r->error);
	memset(r, 0, sizeof(*r));
}

void
replies_free(struct reply *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		reply_free(&v[i]);
	free(v);
}

/* The current row of a STORE_REPLY_SELECT statement into out. */
static void
store_reply_row(sqlite3_stmt *st, struct reply *out)
{
	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(st, 0);
	out->state = store_reply_state((const char *)sqlite3_column_text(st,
	    1));
	out->conversation = sqlite3_column_int64(st, 2);
	out->code = store_column_text(st, 3);
	out->team = store_column_text(st, 4);
	out->account = store_column_text(st, 5);
	out->parent = store_post_parse((const char *)sqlite3_column_text(st,
	    6), "reply parent");
	out->text = store_column_text(st, 7);
	out->key = store_column_text(st, 8);
	out->user_id = store_column_text(st, 9);
	out->user_name = store_column_text(st, 10);
	out->approved_by = store_column_text(st, 11);
	out->attempts = sqlite3_column_int(st, 12);
	out->next_try_ms = sqlite3_column_int64(st, 13);
	out->created_ms = sqlite3_column_int64(st, 14);
	out->url = store_column_text(st, 15);
	out->published_id = store_column_text(st, 16);
	out->error = store_column_text(st, 17);
}

/* 32 lower-case hex characters from the system's CSPRNG: 0 or -1. */
static int
store_reply_key(char key[33])
{
	static const char	hex[] = "0123456789abcdef";
	unsigned char		raw[16];
	size_t			i;

	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		log_err("store: reply: no random bytes for its key");
		return -1;
	}
	for (i = 0; i < sizeof(raw); i++) {
		key[2 * i] = hex[raw[i] >> 4];
		key[2 * i + 1] = hex[raw[i] & 0xf];
	}
	key[32] = '\0';
	return 0;
}

int
store_reply_add(struct store *s, const struct reply *r, int64_t *id)
{
	char	key[33];

	*id = 0;
	if (r == NULL || (r->state != REPLY_DRAFT &&
	    r->state != REPLY_PENDING) || r->account == NULL ||
	    r->text == NULL || r->parent == NULL ||
	    r->parent->platform == NULL || r->parent->id == NULL) {
		log_err("store: reply add: not a draft or pending, or no "
		    "account, text or parent");
		return -1;
	}
	if (store_conversation_known(s, r->conversation) != 0 ||
	    store_reply_key(key) != 0)
		return -1;
	if (store_exec(s, STORE_REPLY_ADD, "tltttttttttll",
	    store_reply_states[r->state], r->conversation, r->team,
	    r->account, r->parent->platform, r->parent->id, r->text, key,
	    r->user_id, r->user_name, r->approved_by, r->next_try_ms,
	    now_wall_ms()) != 0)
		return -1;
	if (sqlite3_changes(s->db) != 1) {
		log_err("store: reply add: parent %s was never recorded",
		    r->parent->id);
		return -1;
	}
	*id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

int
store_reply_get(struct store *s, int64_t id, struct reply *out)
{
	int	rc;

	memset(out, 0, sizeof(*out));
	rc = store_query(s, STORE_REPLY_GET, "l", id);
	if (rc != 1)
		return rc;
	store_reply_row(s->stmt[STORE_REPLY_GET], out);
	sqlite3_reset(s->stmt[STORE_REPLY_GET]);
	return 1;
}

/*
 * As with the outbox, a reply whose parent cannot be read is failed:
 * it could never be published and would block the account's queue.
 */
int
store_reply_head(struct store *s, const char *account, struct reply *out)
{
	int64_t	id;
	int	rc;

	memset(out, 0, sizeof(*out));
	for (;;) {
		rc = store_query(s, STORE_REPLY_HEAD, "t", account);
		if (rc != 1)
			return rc;
		store_reply_row(s->stmt[STORE_REPLY_HEAD], out);
		sqlite3_reset(s->stmt[STORE_REPLY_HEAD]);
		if (out->parent != NULL)
			return 1;
		id = out->id;
		reply_free(out);
		if (store_reply_fail(s, id, "stored parent post unreadable") !=
		    0)
			return -1;
	}
}

int
store_reply_accounts(struct store *s, struct strv *out)
{
	int	rc;

	strv_init(out);
	while ((rc = store_next(s, STORE_REPLY_ACCOUNTS)) == 1)
		strv_add(out, (const char *)sqlite3_column_text(
		    s->stmt[STORE_REPLY_ACCOUNTS], 0));
	sqlite3_reset(s->stmt[STORE_REPLY_ACCOUNTS]);
	if (rc < 0) {
		strv_free(out);
		return -1;
	}
	return 0;
}

int
store_reply_done(struct store *s, int64_t id, const char *url,
    const char *published_id)
{
	return store_row_changed(s, "reply", id,
	    store_exec(s, STORE_REPLY_DONE, "ltt", id, url, published_id));
}

int
store_reply_retry(struct store *s, int64_t id, int64_t next_try_ms,
    const char *error)
{
	return store_row_changed(s, "reply", id,
	    store_exec(s, STORE_REPLY_RETRY, "llt", id, next_try_ms, error));
}

int
store_reply_fail(struct store *s, int64_t id, const char *error)
{
	return store_row_changed(s, "reply", id,
	    store_exec(s, STORE_REPLY_FAIL, "lt", id, error));
}

int
store_reply_decide(struct store *s, int64_t id, bool approve,
    const char *by_user)
{
	int	rc;

	if (store_exec(s, STORE_REPLY_DECIDE, "llt", id,
	    (int64_t)(approve ? 1 : 0), by_user) != 0)
		return -1;
	if (sqlite3_changes(s->db) == 1)
		return 0;
	/* Nothing changed: decided before, or no such reply. */
	rc = store_query(s, STORE_REPLY_EXISTS, "l", id);
	if (rc == 1) {
		sqlite3_reset(s->stmt[STORE_REPLY_EXISTS]);
		return 1;
	}
	if (rc == 0)
		log_err("store: reply %lld not found", (long long)id);
	return -1;
}

int
store_replies(struct store *s, int64_t conversation, const char *team,
    enum reply_state state, struct reply **out, size_t *n)
{
	enum store_stmt_id	 q;
	struct reply		*v = NULL;
	const char		*name;
	size_t			 len = 0, cap = 0;
	int			 rc;

	*out = NULL;
	*n = 0;
	if (conversation != 0) {
		q = STORE_REPLIES_CONV;
		rc = store_query(s, q, "l", conversation);
	} else if (team != NULL) {
		if ((name = store_reply_state_name(state)) == NULL)
			return -1;
		q = STORE_REPLIES_TEAM;
		rc = store_query(s, q, "tt", team, name);
	} else {
		log_err("store: replies: no conversation and no team");
		return -1;
	}
	while (rc == 1) {
		if (len == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			v = xrealloc(v, cap * sizeof(*v));
		}
		store_reply_row(s->stmt[q], &v[len++]);
		rc = store_next(s, q);
	}
	sqlite3_reset(s->stmt[q]);
	if (rc < 0) {
		replies_free(v, len);
		return -1;
	}
	*out = v;
	*n = len;
	return 0;
}

int
store_reply_count(struct store *s, enum reply_state state, int64_t *n)
{
	const char	*name = store_reply_state_name(state);

	*n = 0;
	if (name == NULL)
		return -1;
	return store_get_int(s, STORE_REPLY_COUNT, "t", name, n);
}

int
store_audit_add(struct store *s, const struct audit_entry *e)
{
	if (e == NULL || e->action == NULL || e->result == NULL) {
		log_err("store: audit entry without action or result");
		return -1;
	}
	return store_exec(s, STORE_AUDIT_ADD, "lttttttt",
	    e->time_ms > 0 ? e->time_ms : now_wall_ms(), e->user_id,
	    e->user_name, e->team, e->code, e->action, e->text, e->result);
}

void
audit_entries_free(struct audit_entry *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(v[i].user_id);
		free(v[i].user_name);
		free(v[i].team);
		free(v[i].code);
		free(v[i].action);
		free(v[i].text);
		free(v[i].result);
	}
	free(v);
}

int
store_audit_list(struct store *s, int64_t since_ms, size_t max,
    struct audit_entry **out, size_t *n)
{
	sqlite3_stmt		*st = s->stmt[STORE_AUDIT_LIST];
	struct audit_entry	*v = NULL, *e;
	size_t			 len = 0, cap = 0;
	int			 rc;

	*out = NULL;
	*n = 0;
	if (max == 0)
		return 0;
	rc = store_query(s, STORE_AUDIT_LIST, "ll", since_ms,
	    max > INT64_MAX ? INT64_MAX : (int64_t)max);
	while (rc == 1) {
		if (len == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			v = xrealloc(v, cap * sizeof(*v));
		}
		e = &v[len++];
		e->id = sqlite3_column_int64(st, 0);
		e->time_ms = sqlite3_column_int64(st, 1);
		e->user_id = store_column_text(st, 2);
		e->user_name = store_column_text(st, 3);
		e->team = store_column_text(st, 4);
		e->code = store_column_text(st, 5);
		e->action = store_column_text(st, 6);
		e->text = store_column_text(st, 7);
		e->result = store_column_text(st, 8);
		rc = store_next(s, STORE_AUDIT_LIST);
	}
	sqlite3_reset(st);
	if (rc < 0) {
		audit_entries_free(v, len);
		return -1;
	}
	*out = v;
	*n = len;
	return 0;
}
