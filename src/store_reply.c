/*
 * The reply queue (drafts, approval, publishing per account) and the
 * audit log of what chat commands did.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_impl.h"

/* A reply row with its conversation's code and its parent's JSON. */
#define STORE_REPLY_SELECT						\
	"SELECT r.id, r.state, r.conversation, c.code, r.team, r.account,"	\
	" p.json, r.text, r.key, r.user_id, r.user_name, r.approved_by,"	\
	" r.attempts, r.next_try_ms, r.created_ms, r.url, r.published_id,"	\
	" r.error FROM replies r"					\
	" JOIN conversations c ON c.id = r.conversation"		\
	" LEFT JOIN posts p ON p.platform = r.parent_platform"		\
	"  AND p.id = r.parent_id"

const struct store_stmt store_reply_stmts[] = {
	/* No row inserted: the parent post was never recorded. */
	{ STORE_REPLY_ADD, "reply add",
	    "INSERT INTO replies (state, conversation, team, account,"
	    " parent_platform, parent_id, text, key, user_id, user_name,"
	    " approved_by, attempts, next_try_ms, created_ms)"
	    " SELECT ?1, ?2, ?3, ?4, p.platform, p.id, ?7, ?8, ?9, ?10, ?11, 0,"
	    " ?12, ?13 FROM posts p WHERE p.platform = ?5 AND p.id = ?6" },
	{ STORE_REPLY_GET, "reply get",
	    STORE_REPLY_SELECT " WHERE r.id = ?1" },
	/* Like the outbox head: next_try_ms is the caller's to honour. */
	{ STORE_REPLY_HEAD, "reply head",
	    STORE_REPLY_SELECT " WHERE r.account = ?1 AND r.state = 'pending'"
	    " ORDER BY r.id LIMIT 1" },
	{ STORE_REPLY_ACCOUNTS, "reply accounts",
	    "SELECT DISTINCT account FROM replies WHERE state = 'pending'"
	    " ORDER BY account" },
	{ STORE_REPLY_DONE, "reply done",
	    "UPDATE replies SET state = 'done', url = ?2, published_id = ?3"
	    " WHERE id = ?1" },
	{ STORE_REPLY_RETRY, "reply retry",
	    "UPDATE replies SET attempts = attempts + 1, next_try_ms = ?2,"
	    " error = ?3 WHERE id = ?1" },
	{ STORE_REPLY_FAIL, "reply fail",
	    "UPDATE replies SET state = 'failed', error = ?2 WHERE id = ?1" },
	{ STORE_REPLY_DECIDE, "reply decide",
	    "UPDATE replies SET"
	    " state = CASE WHEN ?2 THEN 'pending' ELSE 'rejected' END,"
	    " approved_by = CASE WHEN ?2 THEN ?3 ELSE approved_by END"
	    " WHERE id = ?1 AND state = 'draft'" },
	{ STORE_REPLY_EXISTS, "reply exists",
	    "SELECT 1 FROM replies WHERE id = ?1" },
	{ STORE_REPLIES_CONV, "replies by conversation",
	    STORE_REPLY_SELECT " WHERE r.conversation = ?1 ORDER BY r.id" },
	{ STORE_REPLIES_TEAM, "replies by team",
	    STORE_REPLY_SELECT " WHERE r.team = ?1 AND r.state = ?2"
	    " ORDER BY r.id" },
	{ STORE_REPLY_COUNT, "reply count",
	    "SELECT count(*) FROM replies WHERE state = ?1" },
	{ STORE_AUDIT_ADD, "audit add",
	    "INSERT INTO audit (time_ms, user_id, user_name, team, code,"
	    " action, text, result) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)" },
	/* The newest max, turned round to read oldest first. */
	{ STORE_AUDIT_LIST, "audit list",
	    "SELECT id, time_ms, user_id, user_name, team, code, action, text,"
	    " result FROM (SELECT * FROM audit WHERE time_ms >= ?1"
	    " ORDER BY time_ms DESC, id DESC LIMIT ?2)"
	    " ORDER BY time_ms, id" },
	{ STORE_NSTMT, NULL, NULL }
};

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
