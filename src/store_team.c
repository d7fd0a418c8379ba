/*
 * What a team keeps about its conversations and its authors: claims,
 * notes, the baton, mutes, and who watches a conversation.
 */
#include <ctype.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_impl.h"

const struct store_stmt store_team_stmts[] = {
	{ STORE_CONV_CLAIM, "conv claim",
	    "UPDATE conversations SET claimed_by = ?2, claimed_name = ?3"
	    " WHERE id = ?1" },
	{ STORE_CNOTE_ADD, "conversation note add",
	    "INSERT INTO notes (conversation, time_ms, user_id, user_name,"
	    " text) VALUES (?1, ?2, ?3, ?4, ?5)" },
	{ STORE_CNOTES, "conversation notes",
	    "SELECT time_ms, user_id, user_name, text FROM notes"
	    " WHERE conversation = ?1 ORDER BY id LIMIT ?2" },
	{ STORE_BATON_GET, "baton get",
	    "SELECT user_id, user_name FROM batons WHERE team = ?1" },
	{ STORE_BATON_SET, "baton set",
	    "INSERT INTO batons (team, user_id, user_name, time_ms)"
	    " VALUES (?1, ?2, ?3, ?4)"
	    " ON CONFLICT (team) DO UPDATE SET user_id = excluded.user_id,"
	    " user_name = excluded.user_name, time_ms = excluded.time_ms" },
	{ STORE_BATON_DROP, "baton drop",
	    "DELETE FROM batons WHERE team = ?1" },
	{ STORE_MUTE_SET, "mute set",
	    "INSERT INTO mutes (scope, author, by_user, time_ms)"
	    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (scope, author) DO NOTHING" },
	{ STORE_MUTE_CLEAR, "mute clear",
	    "DELETE FROM mutes WHERE scope = ?1 AND author = ?2" },
	{ STORE_MUTE_COUNT, "mute count",
	    "SELECT count(*) FROM mutes" },
	{ STORE_MUTED, "muted",
	    "SELECT 1 FROM mutes WHERE (scope = ?1 OR scope = '"
	    STORE_MUTE_GLOBAL "') AND (author = ?2 OR author = ?3) LIMIT 1" },
	{ STORE_NSTMT, NULL, NULL }
};

int
store_conversation_claim(struct store *s, int64_t id, const char *user_id,
    const char *user_name)
{
	if (store_exec(s, STORE_CONV_CLAIM, "ltt", id, user_id,
	    user_id != NULL ? user_name : NULL) != 0)
		return -1;
	return store_conversation_changed(s, id);
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

/* Prepared per call, as store_conversation_get is: a command runs it. */
int
store_conversation_watchers(struct store *s, int64_t id, struct strv *out)
{
	sqlite3_stmt	*st;
	int		 rc;

	strv_init(out);
	/* A copy is a post delivery to another than the owner of then. */
	if (store_prepare_now(s, "SELECT DISTINCT destination FROM outbox"
	    " WHERE conversation = ?1 AND kind = 'post'"
	    " AND destination != team ORDER BY destination",
	    "conv watchers", &st) != 0)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		strv_add(out, (const char *)sqlite3_column_text(st, 0));
	if (rc != SQLITE_DONE) {
		store_error(s, "conv watchers");
		strv_free(out);
		strv_init(out);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}
