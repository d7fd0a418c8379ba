/*
 * Posts and the conversations they form: recording a post with its
 * conversation, code and deliveries, its edits and deletions, and
 * reading conversations back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_impl.h"

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

/*
 * A post's deliveries are written with it (and taken back with it), so
 * their INSERT is here; store_outbox.c reads and settles them.
 */
const struct store_stmt store_conversation_stmts[] = {
	{ STORE_POST_SEEN, "post seen",
	    "SELECT 1 FROM posts WHERE platform = ?1 AND id = ?2" },
	{ STORE_POST_INSERT, "post insert",
	    "INSERT INTO posts (platform, id, conversation, author, team,"
	    " rule, json, seen_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)" },
	{ STORE_POST_DELETED, "post deleted",
	    "UPDATE posts SET deleted = 1 WHERE platform = ?1 AND id = ?2" },
	{ STORE_CONV_FIND, "conv find",
	    "SELECT id FROM conversations WHERE platform = ?1 AND root = ?2" },
	{ STORE_CONV_TOUCH, "conv touch",
	    "UPDATE conversations SET updated_ms = ?2 WHERE id = ?1" },
	/* Any unique conflict is the code: the caller knows root is new. */
	{ STORE_CONV_INSERT, "conv insert",
	    "INSERT INTO conversations (platform, root, team, code, status,"
	    " created_ms, updated_ms)"
	    " VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?5)"
	    " ON CONFLICT DO NOTHING" },
	{ STORE_CONV_OWNER, "conv owner",
	    "SELECT team FROM conversations"
	    " WHERE platform = ?1 AND root = ?2" },
	{ STORE_UNDO_OUTBOX, "undo outbox",
	    "DELETE FROM outbox WHERE post_platform = ?1 AND post_id = ?2" },
	{ STORE_UNDO_POST, "undo post",
	    "DELETE FROM posts WHERE platform = ?1 AND id = ?2" },
	{ STORE_UNDO_CONV, "undo conv",
	    "DELETE FROM conversations WHERE id = ?1" },
	{ STORE_OUTBOX_INSERT, "outbox insert",
	    "INSERT INTO outbox (destination, conversation, post_platform,"
	    " post_id, team, rule, state, attempts, next_try_ms, created_ms)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?7, ?7)" },
	{ STORE_POST_FIND, "post find",
	    "SELECT c.root FROM posts p"
	    " JOIN conversations c ON c.id = p.conversation"
	    " WHERE p.platform = ?1 AND p.id = ?2" },
	/* Only a real change counts: replays of an edit note nothing. */
	{ STORE_POST_UPDATE, "post update",
	    "UPDATE posts SET json = ?3 WHERE platform = ?1 AND id = ?2"
	    " AND json != ?3" },
	{ STORE_POST_DELETE_ONCE, "post delete once",
	    "UPDATE posts SET deleted = 1 WHERE platform = ?1 AND id = ?2"
	    " AND deleted = 0" },
	/* The note goes to whoever owns the conversation now. */
	{ STORE_CHANGE_INSERT, "change insert",
	    "INSERT INTO outbox (destination, conversation, post_platform,"
	    " post_id, team, rule, state, attempts, next_try_ms, created_ms,"
	    " kind)"
	    " SELECT c.team, c.id, p.platform, p.id, c.team, p.rule,"
	    " 'pending', 0, ?3, ?3, ?4 FROM posts p"
	    " JOIN conversations c ON c.id = p.conversation"
	    " WHERE p.platform = ?1 AND p.id = ?2" },
	/* Columns as store_conversation_row reads them.  A resolved code
	 * may be reused: the open holder wins, then the latest resolved. */
	{ STORE_CONV_BY_CODE, "conv by code",
	    "SELECT " STORE_CONV_COLUMNS " FROM conversations c"
	    " WHERE c.code = ?1"
	    " ORDER BY c.status = 'open' DESC, c.updated_ms DESC, c.id DESC"
	    " LIMIT 1" },
	{ STORE_CONV_OPEN_TEAM, "conv open by team",
	    "SELECT " STORE_CONV_COLUMNS " FROM conversations c"
	    " WHERE c.team = ?1 AND c.status = 'open'"
	    " ORDER BY c.created_ms, c.id" },
	{ STORE_CONV_EXISTS, "conv exists",
	    "SELECT 1 FROM conversations WHERE id = ?1" },
	{ STORE_CONV_SET_TEAM, "conv set team",
	    "UPDATE conversations SET team = ?2, updated_ms = ?3"
	    " WHERE id = ?1" },
	/* Reopening must not break the unique open code: checked here so
	 * the caller gets an answer, not a constraint error. */
	{ STORE_CONV_SET_STATUS, "conv set status",
	    "UPDATE conversations SET status = ?2, updated_ms = ?3"
	    " WHERE id = ?1 AND (?2 != 'open' OR NOT EXISTS"
	    " (SELECT 1 FROM conversations o WHERE o.code = conversations.code"
	    "  AND o.status = 'open' AND o.id != conversations.id))" },
	{ STORE_CONV_POSTS, "conv posts",
	    "SELECT json, deleted FROM posts WHERE conversation = ?1"
	    " ORDER BY rowid LIMIT ?2" },
	{ STORE_NSTMT, NULL, NULL }
};

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
struct post *
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
int
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

/* 0 if conversation id exists, -1 (logged) if not or on error. */
int
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

/*
 * Watchers and storms.  These statements are prepared per call: they
 * run once per routed post at most, and a table of their own keeps
 * them apart from the outbox's.
 */

int
store_conversation_get(struct store *s, int64_t id, struct conversation *out)
{
	sqlite3_stmt	*st;
	int		 rc;

	memset(out, 0, sizeof(*out));
	if (store_prepare_now(s, "SELECT " STORE_CONV_COLUMNS
	    " FROM conversations c WHERE c.id = ?1", "conv get", &st) != 0)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		store_conversation_row(st, out);
		rc = 1;
	} else
		rc = rc == SQLITE_DONE ? 0 : store_error(s, "conv get");
	sqlite3_finalize(st);
	return rc;
}

int
store_conversation_origin(struct store *s, const char *platform,
    const char *root, int64_t *id, char **rule)
{
	sqlite3_stmt	*st;
	int		 rc;

	*id = 0;
	if (rule != NULL)
		*rule = NULL;
	if (store_prepare_now(s, "SELECT c.id, (SELECT p.rule FROM posts p"
	    " WHERE p.conversation = c.id ORDER BY p.rowid LIMIT 1)"
	    " FROM conversations c WHERE c.platform = ?1 AND c.root = ?2",
	    "conv origin", &st) != 0)
		return -1;
	sqlite3_bind_text(st, 1, platform, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, root, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		if (rule != NULL)
			*rule = store_column_text(st, 1);
		rc = 1;
	} else
		rc = rc == SQLITE_DONE ? 0 : store_error(s, "conv origin");
	sqlite3_finalize(st);
	return rc;
}

int
store_conversations_list(struct store *s, const char *team,
    enum store_conv_status status, size_t max, struct conversation **out,
    size_t *n)
{
	static const char *const	 statuses[] = {
		[STORE_CONV_ANY] = NULL,
		[STORE_CONV_OPEN] = "open",
		[STORE_CONV_RESOLVED] = "resolved"
	};
	sqlite3_stmt			*st;
	struct conversation		*v = NULL;
	size_t				 len = 0, cap = 0;
	int				 rc;

	*out = NULL;
	*n = 0;
	if ((unsigned)status >= nitems(statuses)) {
		log_err("store: conversations list: bad status %d", status);
		return -1;
	}
	/* The newest max by creation, given back oldest first. */
	if (store_prepare_now(s, "SELECT * FROM (SELECT " STORE_CONV_COLUMNS
	    " FROM conversations c WHERE (?1 IS NULL OR c.team = ?1)"
	    " AND (?2 IS NULL OR c.status = ?2)"
	    " ORDER BY c.created_ms DESC, c.id DESC LIMIT ?3)"
	    " ORDER BY 7, 1", "conv list", &st) != 0)
		return -1;
	sqlite3_bind_text(st, 1, team, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, statuses[status], -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			v = xrealloc(v, cap * sizeof(*v));
		}
		store_conversation_row(st, &v[len++]);
	}
	if (rc != SQLITE_DONE) {
		store_error(s, "conv list");
		sqlite3_finalize(st);
		conversations_free(v, len);
		return -1;
	}
	sqlite3_finalize(st);
	*out = v;
	*n = len;
	return 0;
}
