/*
 * The SQLite state file: opening it, its schema and migrations,
 * transactions, the prepared statements every store file runs, and
 * source cursors and author handles.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_impl.h"

/*
 * Another process (an operator's sqlite3 shell) may hold the lock for a
 * moment; waiting longer would stall the one loop thread.
 */
#define STORE_BUSY_MS		2000

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
	/*
	 * 3 -> 4: the chat messages deliveries became, so a conversation's
	 * later posts go into the thread its first message started and an
	 * edit can update the message that showed the post.  kind is the
	 * delivery's: a note's message shows no post of its own.
	 */
	"CREATE TABLE chat_messages ("
	"  id INTEGER PRIMARY KEY,"
	"  destination TEXT NOT NULL,"
	"  conversation INTEGER NOT NULL REFERENCES conversations (id),"
	"  post_platform TEXT NOT NULL,"
	"  post_id TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  message_id TEXT NOT NULL,"
	"  time_ms INTEGER NOT NULL);"
	"CREATE INDEX chat_messages_thread"
	"  ON chat_messages (destination, conversation, id);"
	"CREATE INDEX chat_messages_post"
	"  ON chat_messages (destination, post_platform, post_id, id);",
};
#define STORE_VERSION	((int)nitems(store_migrations))

/* This file's statements; the other files keep their own. */
static const struct store_stmt store_core_stmts[] = {
	{ STORE_BEGIN, "begin", "BEGIN IMMEDIATE" },
	{ STORE_COMMIT, "commit", "COMMIT" },
	{ STORE_ROLLBACK, "rollback", "ROLLBACK" },
	{ STORE_CURSOR_SET, "cursor set",
	    "INSERT INTO cursors (source, value, updated_ms)"
	    " VALUES (?1, ?2, ?3)"
	    " ON CONFLICT (source) DO UPDATE SET value = excluded.value,"
	    " updated_ms = excluded.updated_ms" },
	{ STORE_CURSOR_GET, "cursor get",
	    "SELECT value FROM cursors WHERE source = ?1" },
	{ STORE_HANDLE_SET, "handle set",
	    "INSERT INTO handles (author, handle, updated_ms)"
	    " VALUES (?1, ?2, ?3)"
	    " ON CONFLICT (author) DO UPDATE SET handle = excluded.handle,"
	    " updated_ms = excluded.updated_ms" },
	{ STORE_HANDLE_GET, "handle get",
	    "SELECT handle FROM handles WHERE author = ?1" },
	{ STORE_NSTMT, NULL, NULL }
};

/* Every file's statements, prepared once by store_open. */
static const struct store_stmt *const store_stmt_tables[] = {
	store_core_stmts,
	store_conversation_stmts,
	store_outbox_stmts,
	store_team_stmts,
	store_reply_stmts
};

/* Log the connection's current error once; always -1 for the caller. */
int
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
		store_error(s, s->stmt_name[id]);
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
		store_error(s, s->stmt_name[id]);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Bind and step a statement whose rows, if any, are not wanted: 0 or -1. */
int
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
int
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
int
store_next(struct store *s, enum store_stmt_id id)
{
	int	rc = sqlite3_step(s->stmt[id]);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_error(s, s->stmt_name[id]);
}

/* A one-integer query (a count) with fmt "" or "t": 0 with *n, or -1. */
int
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
char *
store_column_text(sqlite3_stmt *st, int col)
{
	return xstrdup((const char *)sqlite3_column_text(st, col));
}

/* A single-text query by one or two keys: 1 and *out, 0, or -1. */
int
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

/* After an update of one row by id: a missing row is a caller bug. */
int
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

/*
 * Prepare sql for one run: 0, or -1 (logged).  For queries run once per
 * routed post at most, which need no slot of their own.
 */
int
store_prepare_now(struct store *s, const char *sql, const char *what,
    sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) == SQLITE_OK)
		return 0;
	*st = NULL;
	return store_error(s, what);
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

/*
 * Each id must come from exactly one table: a statement left out would
 * be a NULL the first time it runs, so that is caught here instead.
 */
static int
store_prepare(struct store *s, char **cause)
{
	const struct store_stmt	*t;
	size_t			 i;
	int			 rc;

	for (i = 0; i < nitems(store_stmt_tables); i++) {
		for (t = store_stmt_tables[i]; t->sql != NULL; t++) {
			if (s->stmt[t->id] != NULL) {
				*cause = xasprintf("%s: prepared twice",
				    t->name);
				return -1;
			}
			rc = sqlite3_prepare_v3(s->db, t->sql, -1,
			    SQLITE_PREPARE_PERSISTENT, &s->stmt[t->id], NULL);
			if (rc != SQLITE_OK) {
				*cause = xasprintf("%s: %s", t->name,
				    sqlite3_errmsg(s->db));
				return -1;
			}
			s->stmt_name[t->id] = t->name;
		}
	}
	for (i = 0; i < STORE_NSTMT; i++) {
		if (s->stmt[i] == NULL) {
			*cause = xasprintf("statement %zu has no SQL", i);
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

int
store_data_version(struct store *s, int64_t *v)
{
	sqlite3_stmt	*st;
	int		 rc;

	*v = 0;
	if (store_prepare_now(s, "PRAGMA data_version", "data version",
	    &st) != 0)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	else
		store_error(s, "data version");
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* Open DIR/switchboard.db as it is: never created, never migrated. */
static sqlite3 *
store_open_raw(const char *dir, char **path, char **cause)
{
	sqlite3	*db = NULL;

	*path = xasprintf("%s/switchboard.db", dir);
	if (access(*path, F_OK) != 0) {
		*cause = xasprintf("%s: %s", *path, errno == ENOENT ?
		    "no store there (has the daemon run with this state "
		    "directory?)" : strerror(errno));
		return NULL;
	}
	if (sqlite3_open_v2(*path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		*cause = xasprintf("%s: %s", *path, db != NULL ?
		    sqlite3_errmsg(db) : "cannot allocate");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, STORE_BUSY_MS);
	return db;
}

/*
 * A tool must not migrate a store under a daemon of another version,
 * nor create one where the daemon never ran: it opens only a store
 * that exists and has this switchboard's schema.
 */
struct store *
store_open_current(const char *dir, char **cause)
{
	sqlite3	*db;
	char	*path, *why = NULL;
	int	 v;

	*cause = NULL;
	db = store_open_raw(dir, &path, cause);
	if (db == NULL) {
		free(path);
		return NULL;
	}
	v = store_read_version(db, &why);
	sqlite3_close(db);
	if (v < 0)
		*cause = xasprintf("%s: %s", path, why);
	else if (v < STORE_VERSION)
		*cause = xasprintf("%s has schema version %d and this "
		    "switchboard uses %d: run this version's daemon on it "
		    "first (it upgrades the store; back it up before)",
		    path, v, STORE_VERSION);
	else if (v > STORE_VERSION)
		*cause = xasprintf("%s has schema version %d, newer than "
		    "this switchboard knows (%d)", path, v, STORE_VERSION);
	free(why);
	free(path);
	if (*cause != NULL)
		return NULL;
	return store_open(dir, cause);
}

/* The copy at path opens, is intact and has version: 0, or -1 with
 * *cause. */
static int
store_backup_check(const char *path, int version, char **cause)
{
	sqlite3_stmt	*st = NULL;
	sqlite3		*db = NULL;
	const char	*ok;
	int		 v, rc = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		*cause = xasprintf("the copy does not open: %s",
		    db != NULL ? sqlite3_errmsg(db) : "cannot allocate");
		goto out;
	}
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st,
	    NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		*cause = xasprintf("the copy cannot be checked: %s",
		    sqlite3_errmsg(db));
		goto out;
	}
	ok = (const char *)sqlite3_column_text(st, 0);
	if (ok == NULL || strcmp(ok, "ok") != 0) {
		*cause = xasprintf("the copy is damaged: %s",
		    ok != NULL ? ok : "?");
		goto out;
	}
	v = store_read_version(db, cause);
	if (v < 0)
		goto out;
	if (v != version) {
		*cause = xasprintf("the copy has schema version %d, not %d",
		    v, version);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

/*
 * One step of every page: the copy is made inside one read transaction,
 * a single moment of the store, while the daemon (another connection)
 * keeps writing to its WAL.  Stepping in slices would restart the copy
 * each time the daemon commits.  The store is opened as it is, so a
 * backup taken before an upgrade keeps the old schema.
 */
int
store_backup(const char *dir, const char *path, char **cause)
{
	sqlite3_backup	*b;
	sqlite3		*src, *dst = NULL;
	char		*src_path;
	int		 version, rc = SQLITE_BUSY, tries, ret = -1;

	*cause = NULL;
	src = store_open_raw(dir, &src_path, cause);
	if (src == NULL)
		goto out;
	version = store_read_version(src, cause);
	if (version < 0)
		goto out;
	if (sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		*cause = xasprintf("%s: %s", path, dst != NULL ?
		    sqlite3_errmsg(dst) : "cannot allocate");
		goto out;
	}
	b = sqlite3_backup_init(dst, "main", src, "main");
	if (b == NULL) {
		*cause = xasprintf("%s: %s", path, sqlite3_errmsg(dst));
		goto out;
	}
	for (tries = 0; tries < STORE_BUSY_MS / 50; tries++) {
		rc = sqlite3_backup_step(b, -1);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY &&
		    rc != SQLITE_LOCKED)
			break;
		if (rc != SQLITE_OK)
			sqlite3_sleep(50);
	}
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		*cause = xasprintf("copying %s to %s: %s", src_path, path,
		    sqlite3_errstr(rc));
		goto out;
	}
	/* Closing the copy folds its WAL back into the one file. */
	rc = sqlite3_close(dst);
	dst = NULL;
	if (rc != SQLITE_OK) {
		*cause = xasprintf("%s: %s", path, sqlite3_errstr(rc));
		goto out;
	}
	ret = store_backup_check(path, version, cause);
out:
	sqlite3_close(dst);
	sqlite3_close(src);
	free(src_path);
	return ret;
}
