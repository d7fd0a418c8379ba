/*
 * The outbox: deliveries of posts and notes to chat destinations, read
 * one by one or in batches, settled, and the chat messages they became.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_impl.h"

/* Most deliveries store_outbox_batch reads at once: a digest is one
 * chat message, and no platform shows thousands of lines in one. */
#define STORE_BATCH_MAX	1000

/*
 * A delivery row as store_outbox_row reads it.  Its thread is the first
 * message of its conversation in its destination; its message, the
 * first that showed its post there (a note's shows no post).
 */
#define STORE_OUTBOX_SELECT						\
	"SELECT o.id, o.destination, o.team, o.rule, c.code, p.json,"	\
	" o.attempts, o.next_try_ms, o.kind, o.note,"			\
	" (SELECT m.message_id FROM chat_messages m"			\
	"  WHERE m.destination = o.destination"			\
	"  AND m.conversation = o.conversation ORDER BY m.id LIMIT 1),"	\
	" (SELECT m.message_id FROM chat_messages m"			\
	"  WHERE m.destination = o.destination"			\
	"  AND m.post_platform = o.post_platform"			\
	"  AND m.post_id = o.post_id AND m.kind != 'note'"		\
	"  ORDER BY m.id LIMIT 1)"					\
	" FROM outbox o"						\
	" JOIN conversations c ON c.id = o.conversation"		\
	" JOIN posts p ON p.platform = o.post_platform"		\
	"  AND p.id = o.post_id"

const struct store_stmt store_outbox_stmts[] = {
	{ STORE_OUTBOX_HEAD, "outbox head",
	    STORE_OUTBOX_SELECT
	    " WHERE o.destination = ?1 AND o.state = 'pending'"
	    " ORDER BY o.id LIMIT 1" },
	/* Columns as the head; the caller stops at the first row that is
	 * not a due post, so ?2 bounds the rows read, not only returned. */
	{ STORE_OUTBOX_BATCH, "outbox batch",
	    STORE_OUTBOX_SELECT
	    " WHERE o.destination = ?1 AND o.state = 'pending'"
	    " ORDER BY o.id LIMIT ?2" },
	{ STORE_OUTBOX_DEPTH, "outbox depth",
	    "SELECT count(*), coalesce(min(created_ms), 0) FROM outbox"
	    " WHERE destination = ?1 AND state = 'pending'" },
	{ STORE_OUTBOX_DESTS, "outbox dests",
	    "SELECT DISTINCT destination FROM outbox WHERE state = 'pending'"
	    " ORDER BY destination" },
	{ STORE_OUTBOX_DONE, "outbox done",
	    "UPDATE outbox SET state = 'done' WHERE id = ?1" },
	{ STORE_OUTBOX_MESSAGE, "outbox message",
	    "INSERT INTO chat_messages (destination, conversation,"
	    " post_platform, post_id, kind, message_id, time_ms)"
	    " SELECT destination, conversation, post_platform, post_id, kind,"
	    " ?2, ?3 FROM outbox WHERE id = ?1" },
	{ STORE_OUTBOX_RETRY, "outbox retry",
	    "UPDATE outbox SET attempts = attempts + 1, next_try_ms = ?2,"
	    " last_error = ?3 WHERE id = ?1" },
	{ STORE_OUTBOX_FAIL, "outbox fail",
	    "UPDATE outbox SET state = 'failed', last_error = ?2"
	    " WHERE id = ?1" },
	{ STORE_OUTBOX_COUNT, "outbox count",
	    "SELECT count(*) FROM outbox WHERE ?1 IS NULL OR state = ?1" },
	/* Threaded under the latest post: where the team is talking. */
	{ STORE_NOTE_INSERT, "note insert",
	    "INSERT INTO outbox (destination, conversation, post_platform,"
	    " post_id, team, rule, state, attempts, next_try_ms, created_ms,"
	    " kind, note)"
	    " SELECT ?2, c.id, p.platform, p.id, c.team, p.rule, 'pending', 0,"
	    " ?4, ?4, 'note', ?3 FROM conversations c"
	    " JOIN posts p ON p.conversation = c.id WHERE c.id = ?1"
	    " ORDER BY p.rowid DESC LIMIT 1" },
	{ STORE_NSTMT, NULL, NULL }
};

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
	free(d->thread);
	free(d->message);
	memset(d, 0, sizeof(*d));
}

void
deliveries_free(struct delivery *v, size_t n)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		delivery_free(&v[i]);
	free(v);
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

static enum delivery_kind
store_delivery_kind(const char *kind)
{
	if (kind == NULL)
		return DELIVERY_POST;
	if (strcmp(kind, "edit") == 0)
		return DELIVERY_EDIT;
	if (strcmp(kind, "delete") == 0)
		return DELIVERY_DELETE;
	if (strcmp(kind, "note") == 0)
		return DELIVERY_NOTE;
	return DELIVERY_POST;
}

/* Fill out from the current STORE_OUTBOX_SELECT row; takes p. */
static void
store_outbox_row(sqlite3_stmt *st, struct post *p, struct delivery *out)
{
	out->id = sqlite3_column_int64(st, 0);
	out->destination = store_column_text(st, 1);
	out->team = store_column_text(st, 2);
	out->rule = store_column_text(st, 3);
	out->code = store_column_text(st, 4);
	out->post = p;
	out->attempts = sqlite3_column_int(st, 6);
	out->next_try_ms = sqlite3_column_int64(st, 7);
	out->kind = store_delivery_kind(
	    (const char *)sqlite3_column_text(st, 8));
	if (out->kind == DELIVERY_NOTE)
		out->note = store_column_text(st, 9);
	out->thread = store_column_text(st, 10);
	out->message = store_column_text(st, 11);
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
	store_outbox_row(st, p, out);
	sqlite3_reset(st);
	return 1;
}

/*
 * An unreadable post ends the batch like any other non-post: the head
 * will meet it next and fail it, as it always does.
 */
int
store_outbox_batch(struct store *s, const char *destination, size_t max,
    int64_t now_ms, struct delivery **out, size_t *n)
{
	sqlite3_stmt	*st = s->stmt[STORE_OUTBOX_BATCH];
	struct delivery	*v = NULL;
	struct post	*p;
	size_t		 len = 0;
	int		 rc;

	*out = NULL;
	*n = 0;
	if (max == 0)
		return 0;
	if (max > STORE_BATCH_MAX)
		max = STORE_BATCH_MAX;
	v = xcalloc(max, sizeof(*v));
	for (rc = store_query(s, STORE_OUTBOX_BATCH, "tl", destination,
	    (int64_t)max); rc == 1; rc = store_next(s, STORE_OUTBOX_BATCH)) {
		if (store_delivery_kind((const char *)sqlite3_column_text(st,
		    8)) != DELIVERY_POST ||
		    sqlite3_column_int64(st, 7) > now_ms)
			break;
		p = store_head_post(st, sqlite3_column_int64(st, 0));
		if (p == NULL)
			break;
		store_outbox_row(st, p, &v[len++]);
	}
	sqlite3_reset(st);
	if (rc < 0) {
		deliveries_free(v, len);
		return -1;
	}
	if (len == 0) {
		free(v);
		v = NULL;
	}
	*out = v;
	*n = len;
	return 0;
}

int
store_outbox_depth(struct store *s, const char *destination, int64_t *n,
    int64_t *oldest_ms)
{
	sqlite3_stmt	*st = s->stmt[STORE_OUTBOX_DEPTH];

	*n = 0;
	*oldest_ms = 0;
	if (store_query(s, STORE_OUTBOX_DEPTH, "t", destination) != 1)
		return -1;
	*n = sqlite3_column_int64(st, 0);
	*oldest_ms = sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	return 0;
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
		store_error(s, s->stmt_name[STORE_OUTBOX_DESTS]);
		strv_free(out);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
store_outbox_changed(struct store *s, int64_t id, int rc)
{
	return store_row_changed(s, "outbox row", id, rc);
}

/*
 * The message and the state change together: in the caller's
 * transaction if one is open, else in one of their own, so a crash
 * never leaves a delivery done whose thread root was not kept.
 */
int
store_outbox_done(struct store *s, int64_t id, const char *message_id)
{
	bool	own = !store_in_transaction(s);
	int	rc;

	if (message_id == NULL)
		return store_outbox_changed(s, id,
		    store_exec(s, STORE_OUTBOX_DONE, "l", id));
	if (own && store_begin(s) != 0)
		return -1;
	rc = store_outbox_changed(s, id,
	    store_exec(s, STORE_OUTBOX_DONE, "l", id));
	if (rc == 0)
		rc = store_exec(s, STORE_OUTBOX_MESSAGE, "ltl", id, message_id,
		    now_wall_ms());
	if (own) {
		if (rc == 0)
			rc = store_commit(s);
		if (rc != 0)
			store_rollback(s);
	}
	return rc;
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

/*
 * What operators do to the outbox (switchboard outbox) runs once per
 * command, from its own process: prepared per call, not kept.
 */

void
outbox_rows_free(struct outbox_row *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(v[i].destination);
		free(v[i].kind);
		free(v[i].state);
		free(v[i].code);
		free(v[i].last_error);
	}
	free(v);
}

/* The newest max rows, given back oldest first. */
int
store_outbox_list(struct store *s, const char *destination, const char *state,
    size_t max, struct outbox_row **out, size_t *n)
{
	sqlite3_stmt		*st;
	struct outbox_row	*v = NULL, *r;
	size_t			 len = 0, cap = 0;
	int			 rc;

	*out = NULL;
	*n = 0;
	if (store_prepare_now(s, "SELECT * FROM (SELECT o.id, o.destination,"
	    " o.kind, o.state, c.code, o.attempts, o.next_try_ms,"
	    " o.created_ms, o.last_error FROM outbox o"
	    " JOIN conversations c ON c.id = o.conversation"
	    " WHERE (?1 IS NULL OR o.destination = ?1)"
	    " AND (?2 IS NULL OR o.state = ?2)"
	    " ORDER BY o.id DESC LIMIT ?3) ORDER BY id", "outbox list",
	    &st) != 0)
		return -1;
	sqlite3_bind_text(st, 1, destination, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			v = xrealloc(v, cap * sizeof(*v));
		}
		r = &v[len++];
		r->id = sqlite3_column_int64(st, 0);
		r->destination = store_column_text(st, 1);
		r->kind = store_column_text(st, 2);
		r->state = store_column_text(st, 3);
		r->code = store_column_text(st, 4);
		r->attempts = sqlite3_column_int(st, 5);
		r->next_try_ms = sqlite3_column_int64(st, 6);
		r->created_ms = sqlite3_column_int64(st, 7);
		r->last_error = store_column_text(st, 8);
	}
	if (rc != SQLITE_DONE) {
		store_error(s, "outbox list");
		sqlite3_finalize(st);
		outbox_rows_free(v, len);
		return -1;
	}
	sqlite3_finalize(st);
	*out = v;
	*n = len;
	return 0;
}

/*
 * Run an operator's change, or count what it would change (sql then
 * returns the count as its one row), with ?1 the id, ?2 the
 * destination, ?3 a time and ?4 a text: those sql names are bound.
 * *n is the rows changed or counted.  0 or -1.
 */
static int
store_outbox_operate(struct store *s, const char *sql, const char *what,
    int64_t id, const char *destination, int64_t time_ms, const char *text,
    int64_t *n)
{
	sqlite3_stmt	*st;
	int		 rc = SQLITE_OK, np;

	*n = 0;
	if (store_prepare_now(s, sql, what, &st) != 0)
		return -1;
	np = sqlite3_bind_parameter_count(st);
	if (np >= 1)
		rc = sqlite3_bind_int64(st, 1, id);
	if (rc == SQLITE_OK && np >= 2)
		rc = sqlite3_bind_text(st, 2, destination, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && np >= 3)
		rc = sqlite3_bind_int64(st, 3, time_ms);
	if (rc == SQLITE_OK && np >= 4)
		rc = sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*n = sqlite3_column_int64(st, 0);
		rc = SQLITE_DONE;
	} else if (rc == SQLITE_DONE)
		*n = sqlite3_changes(s->db);
	if (rc != SQLITE_DONE)
		store_error(s, what);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The rows an operator names: one id, or all of a destination (so
 * its index is used). */
static const char *
store_outbox_chosen(const char *destination)
{
	return destination == NULL ? "id = ?1" : "destination = ?2";
}

int
store_outbox_requeue(struct store *s, int64_t id, const char *destination,
    int64_t now_ms, int64_t *n)
{
	char	*sql;
	int	 rc;

	sql = xasprintf("UPDATE outbox SET state = 'pending', next_try_ms = ?3"
	    " WHERE %s AND state != 'done'", store_outbox_chosen(destination));
	rc = store_outbox_operate(s, sql, "outbox requeue", id, destination,
	    now_ms, NULL, n);
	free(sql);
	return rc;
}

int
store_outbox_drop(struct store *s, int64_t id, const char *destination,
    const char *reason, bool dry_run, int64_t *n)
{
	char	*sql;
	int	 rc;

	if (dry_run)
		sql = xasprintf("SELECT count(*) FROM outbox WHERE %s"
		    " AND state = 'pending'", store_outbox_chosen(destination));
	else
		sql = xasprintf("UPDATE outbox SET state = 'failed',"
		    " last_error = ?4 WHERE %s AND state = 'pending'",
		    store_outbox_chosen(destination));
	rc = store_outbox_operate(s, sql, dry_run ? "outbox drop count" :
	    "outbox drop", id, destination, 0, reason, n);
	free(sql);
	return rc;
}
