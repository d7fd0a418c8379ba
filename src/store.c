/* The SQLite state file: its schema and migrations, and every SQL statement. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <jansson.h>
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
	STORE_NSTMT
};

/* A conversation row, its post count and its oldest post. */
#define STORE_CONV_COLUMNS						\
	"c.id, c.platform, c.root, c.team, c.code, c.status,"		\
	" c.created_ms, c.updated_ms,"					\
	" (SELECT count(*) FROM posts p WHERE p.conversation = c.id),"	\
	" (SELECT p.json FROM posts p WHERE p.conversation = c.id"	\
	"  ORDER BY p.rowid LIMIT 1)"

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
	    " o.attempts, o.next_try_ms, o.kind FROM outbox o"
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
};

struct store {
	sqlite3		*db;
	sqlite3_stmt	*stmt[STORE_NSTMT];
	struct buf	 json;		/* reused for each record's post */
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

void
store_rollback(struct store *s)
{
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
	    strcmp(kind, "delete") == 0 ? DELIVERY_DELETE : DELIVERY_POST;
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

/* After an update of one outbox row by id: a missing row is a caller bug. */
static int
store_outbox_changed(struct store *s, int64_t id, int rc)
{
	if (rc != 0)
		return -1;
	if (sqlite3_changes(s->db) != 1) {
		log_err("store: outbox row %lld not found", (long long)id);
		return -1;
	}
	return 0;
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
	int	rc;

	*n = 0;
	rc = store_query(s, STORE_OUTBOX_COUNT, "t", state);
	if (rc != 1)
		return -1;
	*n = sqlite3_column_int64(s->stmt[STORE_OUTBOX_COUNT], 0);
	sqlite3_reset(s->stmt[STORE_OUTBOX_COUNT]);
	return 0;
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
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			rc = 1;
		else if (rc == SQLITE_DONE)
			rc = 0;
		else
			rc = store_error(s,
			    store_sql[STORE_CONV_OPEN_TEAM].name);
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
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			rc = 1;
		else if (rc == SQLITE_DONE)
			rc = 0;
		else
			rc = store_error(s, store_sql[STORE_CONV_POSTS].name);
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
