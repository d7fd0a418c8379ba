/*
 * Conversation commands: show, assign, resolve, reopen, a team's queue,
 * claims and internal notes.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "text.h"

#define CMD_CONVERSATION_SHOW_MAX	10	/* posts shown by show */
#define CMD_CONVERSATION_SHOW_CHARS	100	/* of each post's text */
#define CMD_CONVERSATION_QUEUE_MAX	20	/* conversations listed */
#define CMD_CONVERSATION_QUEUE_CHARS	60	/* of each first post */
#define CMD_CONVERSATION_NOTES_MAX	10	/* notes shown by show */
#define CMD_CONVERSATION_NOTE_CHARS	200	/* of each note */
#define CMD_CONVERSATION_REPLIES_MAX	10	/* replies shown by show */

static enum cmd_retval	cmd_conversation_show(struct cmd_ctx *, int,
			    char **);
static enum cmd_retval	cmd_conversation_assign(struct cmd_ctx *, int,
			    char **);
static enum cmd_retval	cmd_conversation_resolve(struct cmd_ctx *, int,
			    char **);
static enum cmd_retval	cmd_conversation_reopen(struct cmd_ctx *, int,
			    char **);
static enum cmd_retval	cmd_conversation_queue(struct cmd_ctx *, int,
			    char **);
static enum cmd_retval	cmd_conversation_claim(struct cmd_ctx *, int,
			    char **);
static enum cmd_retval	cmd_conversation_unclaim(struct cmd_ctx *, int,
			    char **);
static enum cmd_retval	cmd_conversation_note(struct cmd_ctx *, int,
			    char **);

const struct cmd_entry cmd_show_entry = {
	.name = "show",
	.min_args = 1,
	.max_args = 1,
	.usage = "CODE",
	.summary = "the conversation: its first posts, notes, replies "
	    "and who claimed it",
	.flags = CMD_CODE,
	.exec = cmd_conversation_show
};

const struct cmd_entry cmd_assign_entry = {
	.name = "assign",
	.min_args = 2,
	.max_args = 2,
	.usage = "CODE TEAM",
	.summary = "give the conversation to another team (managers)",
	.flags = CMD_CODE,
	.exec = cmd_conversation_assign
};

const struct cmd_entry cmd_resolve_entry = {
	.name = "resolve",
	.min_args = 1,
	.max_args = 1,
	.usage = "CODE",
	.summary = "mark the conversation resolved",
	.flags = CMD_CODE,
	.exec = cmd_conversation_resolve
};

const struct cmd_entry cmd_reopen_entry = {
	.name = "reopen",
	.min_args = 1,
	.max_args = 1,
	.usage = "CODE",
	.summary = "open a resolved conversation again",
	.flags = CMD_CODE,
	.exec = cmd_conversation_reopen
};

const struct cmd_entry cmd_queue_entry = {
	.name = "queue",
	.min_args = 0,
	.max_args = 0,
	.usage = "",
	.summary = "this channel's team's open conversations",
	.exec = cmd_conversation_queue
};

const struct cmd_entry cmd_claim_entry = {
	.name = "claim",
	.min_args = 1,
	.max_args = 1,
	.usage = "CODE",
	.summary = "say you are on it: only you reply to it until you "
	    "unclaim it",
	.flags = CMD_CODE,
	.exec = cmd_conversation_claim
};

const struct cmd_entry cmd_unclaim_entry = {
	.name = "unclaim",
	.min_args = 1,
	.max_args = 1,
	.usage = "CODE",
	.summary = "release your claim (or, for a spokesperson, anyone's)",
	.flags = CMD_CODE,
	.exec = cmd_conversation_unclaim
};

const struct cmd_entry cmd_note_entry = {
	.name = "note",
	.min_args = 2,
	.max_args = 2,
	.usage = "CODE TEXT",
	.summary = "an internal note on the conversation, never published",
	.flags = CMD_REST | CMD_CODE,
	.exec = cmd_conversation_note
};

enum cmd_retval
cmd_conversation_find(struct cmd_ctx *ctx, const char *code,
    struct conversation *c)
{
	char	*shown;
	int	 rc;

	rc = store_conversation_by_code(ctx->store, code, c);
	if (rc < 0)
		return cmd_store_failed(ctx);
	if (rc == 0) {
		shown = cmd_escape(ctx, code);
		cmd_print(ctx, "no conversation with code \"%s\"", shown);
		free(shown);
		return CMD_ERROR;
	}
	free(ctx->code);
	ctx->code = xstrdup(c->code);
	return CMD_OK;
}

enum cmd_retval
cmd_conversation_owned(struct cmd_ctx *ctx, const char *code,
    const struct team_conf **team, struct conversation *c)
{
	*team = cmd_team(ctx);
	if (*team == NULL)
		return cmd_error(ctx, "this channel belongs to no team");
	if (cmd_conversation_find(ctx, code, c) != CMD_OK)
		return CMD_ERROR;
	if (strcmp(c->team, (*team)->name) != 0) {
		cmd_print(ctx, "%s belongs to %s: it is answered from that "
		    "team's channel", c->code, c->team);
		conversation_free(c);
		return CMD_ERROR;
	}
	return CMD_OK;
}

/* Who holds c's claim, for an answer.  Caller frees. */
static char *
cmd_conversation_holder(const struct cmd_ctx *ctx,
    const struct conversation *c)
{
	return cmd_escape(ctx, c->claimed_name != NULL &&
	    c->claimed_name[0] != '\0' ? c->claimed_name : c->claimed_by);
}

/* Who wrote p, as people know them. */
static char *
cmd_conversation_author(const struct cmd_ctx *ctx, const struct post *p)
{
	char	*s, *e;

	if (p->author_handle == NULL)
		return cmd_escape(ctx, p->author);
	s = xasprintf("@%s", p->author_handle);
	e = cmd_escape(ctx, s);
	free(s);
	return e;
}

/* The first chars characters of p's text on one line, escaped. */
static char *
cmd_conversation_excerpt(const struct cmd_ctx *ctx, const struct post *p,
    size_t chars)
{
	char	*t, *e, *c;

	t = text_truncate(p->text != NULL ? p->text : "", chars);
	/* One line per post: a newline in a post would read as another. */
	for (c = t; *c != '\0'; c++)
		if (*c == '\n' || *c == '\r' || *c == '\t')
			*c = ' ';
	e = cmd_escape(ctx, t);
	free(t);
	return e;
}

/* The internal notes of conversation c, one line each. */
static int
cmd_conversation_show_notes(struct cmd_ctx *ctx,
    const struct conversation *c)
{
	struct conversation_note	*v;
	size_t				 i, n;
	char				*who, *what, *t, *p;

	if (store_conversation_notes(ctx->store, c->id,
	    CMD_CONVERSATION_NOTES_MAX, &v, &n) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		t = text_truncate(v[i].text != NULL ? v[i].text : "",
		    CMD_CONVERSATION_NOTE_CHARS);
		for (p = t; *p != '\0'; p++)
			if (*p == '\n' || *p == '\r' || *p == '\t')
				*p = ' ';
		who = cmd_escape(ctx, v[i].user_name != NULL &&
		    v[i].user_name[0] != '\0' ? v[i].user_name :
		    v[i].user_id != NULL ? v[i].user_id : "?");
		what = cmd_escape(ctx, t);
		cmd_print(ctx, "note by %s: %s", who, what);
		free(who);
		free(what);
		free(t);
	}
	conversation_notes_free(v, n);
	return 0;
}

/* One line for reply r: its number, state, author and outcome. */
static void
cmd_conversation_show_reply(struct cmd_ctx *ctx, const struct reply *r)
{
	static const char *const states[] = {
		[REPLY_DRAFT] = "draft",
		[REPLY_PENDING] = "pending",
		[REPLY_DONE] = "published",
		[REPLY_FAILED] = "failed",
		[REPLY_REJECTED] = "rejected"
	};
	char	*who, *detail = NULL;

	who = cmd_escape(ctx, r->user_name != NULL && r->user_name[0] !=
	    '\0' ? r->user_name : r->user_id != NULL ? r->user_id : "?");
	if (r->state == REPLY_DONE && r->url != NULL)
		detail = cmd_escape(ctx, r->url);
	else if (r->state == REPLY_FAILED && r->error != NULL)
		detail = cmd_escape(ctx, r->error);
	cmd_print(ctx, "%c%lld %s by %s%s%s",
	    r->state == REPLY_DRAFT || r->state == REPLY_REJECTED ? 'D' : 'R',
	    (long long)r->id, states[r->state], who,
	    detail != NULL ? ": " : "", detail != NULL ? detail : "");
	free(detail);
	free(who);
}

/* The replies written for conversation c, oldest first. */
static int
cmd_conversation_show_replies(struct cmd_ctx *ctx,
    const struct conversation *c)
{
	struct reply	*v;
	size_t		 i, n;

	/* With a conversation the store lists every state. */
	if (store_replies(ctx->store, c->id, NULL, REPLY_DRAFT, &v, &n) != 0)
		return -1;
	for (i = 0; i < n && i < CMD_CONVERSATION_REPLIES_MAX; i++)
		cmd_conversation_show_reply(ctx, &v[i]);
	if (n > CMD_CONVERSATION_REPLIES_MAX)
		cmd_print(ctx, "(%zu later replies not shown)",
		    n - CMD_CONVERSATION_REPLIES_MAX);
	replies_free(v, n);
	return 0;
}

static enum cmd_retval
cmd_conversation_show(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct conversation		 c;
	struct conversation_post	*v;
	size_t				 i, n;
	char				*who, *what, *holder = NULL;

	(void)argc;
	if (cmd_conversation_find(ctx, argv[0], &c) != CMD_OK)
		return CMD_ERROR;
	if (store_conversation_posts(ctx->store, c.id,
	    CMD_CONVERSATION_SHOW_MAX, &v, &n) != 0) {
		conversation_free(&c);
		return cmd_store_failed(ctx);
	}
	if (c.claimed_by != NULL)
		holder = cmd_conversation_holder(ctx, &c);
	cmd_print(ctx, "%s: %s, %s, %lld post%s%s%s", c.code, c.team,
	    c.open ? "open" : "resolved", (long long)c.nposts,
	    c.nposts == 1 ? "" : "s", holder != NULL ? ", claimed by " : "",
	    holder != NULL ? holder : "");
	free(holder);
	for (i = 0; i < n; i++) {
		who = cmd_conversation_author(ctx, v[i].post);
		what = cmd_conversation_excerpt(ctx, v[i].post,
		    CMD_CONVERSATION_SHOW_CHARS);
		cmd_print(ctx, "%zu. %s: %s%s", i + 1, who, what,
		    v[i].deleted ? " (deleted by its author)" : "");
		free(who);
		free(what);
	}
	if (c.nposts > (int64_t)n)
		cmd_print(ctx, "(%lld later posts not shown)",
		    (long long)(c.nposts - (int64_t)n));
	conversation_posts_free(v, n);
	if (cmd_conversation_show_notes(ctx, &c) != 0 ||
	    cmd_conversation_show_replies(ctx, &c) != 0) {
		conversation_free(&c);
		return cmd_store_failed(ctx);
	}
	conversation_free(&c);
	return CMD_OK;
}

/* The configured team names, for an answer that names a wrong one. */
static char *
cmd_conversation_teams(const struct cmd_ctx *ctx)
{
	struct buf	b;
	size_t		i;

	buf_init(&b);
	buf_adds(&b, "");
	for (i = 0; i < ctx->config->nteams; i++) {
		buf_adds(&b, i > 0 ? ", " : "");
		buf_adds(&b, ctx->config->teams[i].name);
	}
	return buf_steal(&b);
}

/*
 * Tell every team that got copies of c as a watcher what happened
 * (text), in its thread there; except skip, which hears it otherwise.
 */
static int
cmd_conversation_tell_watchers(struct cmd_ctx *ctx,
    const struct conversation *c, const char *skip, const char *text)
{
	struct strv	w;
	size_t		i;
	int		rc;

	rc = store_conversation_watchers(ctx->store, c->id, &w);
	for (i = 0; rc == 0 && i < w.n; i++)
		if (skip == NULL || strcmp(w.v[i], skip) != 0)
			rc = store_note_queue(ctx->store, c->id, w.v[i], text);
	strv_free(&w);
	return rc;
}

/*
 * Managers (and spokespeople, admins) of the team whose channel this
 * is, or of the team that owns the conversation, may give it away.
 */
static bool
cmd_conversation_may_assign(const struct cmd_ctx *ctx,
    const struct conversation *c)
{
	const struct team_conf	*here = cmd_team(ctx);

	if (here != NULL && cmd_allowed(ctx, here, POLICY_MANAGE))
		return true;
	return cmd_allowed(ctx, config_team(ctx->config, c->team),
	    POLICY_MANAGE);
}

static enum cmd_retval
cmd_conversation_assign(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct team_conf	*team;
	struct conversation	 c;
	char			*shown, *names, *note;
	int			 rc;

	(void)argc;
	team = config_team(ctx->config, argv[1]);
	if (team == NULL) {
		shown = cmd_escape(ctx, argv[1]);
		names = cmd_conversation_teams(ctx);
		cmd_print(ctx, "no team named \"%s\" (teams: %s)", shown,
		    names);
		free(names);
		free(shown);
		return CMD_ERROR;
	}
	if (cmd_conversation_find(ctx, argv[0], &c) != CMD_OK)
		return CMD_ERROR;
	if (!cmd_conversation_may_assign(ctx, &c)) {
		cmd_print(ctx, "you may not assign %s: only managers and "
		    "spokespeople of %s may", c.code, c.team);
		conversation_free(&c);
		return CMD_ERROR;
	}
	if (strcmp(c.team, team->name) == 0) {
		cmd_print(ctx, "%s already belongs to %s", c.code, c.team);
		conversation_free(&c);
		return CMD_OK;
	}
	if (store_conversation_set_team(ctx->store, c.id, team->name) != 0) {
		conversation_free(&c);
		return cmd_store_failed(ctx);
	}
	/* The new team hears of it in its own channel, in the thread. */
	note = xasprintf("%s was assigned to you by %s (from %s)", c.code,
	    cmd_who(ctx), c.team);
	rc = store_note_queue(ctx->store, c.id, team->name, note);
	free(note);
	if (rc == 0) {
		note = xasprintf("%s now belongs to %s", c.code, team->name);
		rc = cmd_conversation_tell_watchers(ctx, &c, team->name,
		    note);
		free(note);
	}
	if (rc != 0) {
		conversation_free(&c);
		return cmd_store_failed(ctx);
	}
	shown = cmd_escape(ctx, cmd_who(ctx));
	cmd_print(ctx, "%s: %s → %s by %s; its next posts go to %s", c.code,
	    c.team, team->name, shown, team->name);
	free(shown);
	ctx->in_channel = true;
	conversation_free(&c);
	return CMD_OK;
}

/* resolve and reopen: set the status to open. */
static enum cmd_retval
cmd_conversation_status(struct cmd_ctx *ctx, const char *code, bool open)
{
	struct conversation	c;
	enum cmd_retval		ret = CMD_OK;
	char			*note;
	int			rc;

	if (cmd_conversation_find(ctx, code, &c) != CMD_OK)
		return CMD_ERROR;
	if (c.open == open) {
		cmd_print(ctx, "%s is already %s", c.code,
		    open ? "open" : "resolved");
		conversation_free(&c);
		return CMD_OK;
	}
	rc = store_conversation_set_status(ctx->store, c.id, open);
	if (rc == 0) {
		note = xasprintf("%s %s by %s", c.code, open ? "reopened" :
		    "resolved", cmd_who(ctx));
		rc = cmd_conversation_tell_watchers(ctx, &c, NULL, note);
		free(note);
	}
	if (rc < 0)
		ret = cmd_store_failed(ctx);
	else if (rc == 1)
		ret = cmd_error(ctx, "cannot reopen %s: another open "
		    "conversation uses that code", c.code);
	else
		cmd_print(ctx, "%s %s", c.code, open ? "reopened" :
		    "resolved");
	conversation_free(&c);
	return ret;
}

static enum cmd_retval
cmd_conversation_resolve(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	return cmd_conversation_status(ctx, argv[0], false);
}

static enum cmd_retval
cmd_conversation_reopen(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	return cmd_conversation_status(ctx, argv[0], true);
}

/*
 * The caller's team is the one whose chat is this channel; people in
 * other channels have no queue.
 */
static enum cmd_retval
cmd_conversation_queue(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct team_conf	*team;
	struct conversation	*v;
	size_t			 i, n;
	char			*who, *what;

	(void)argc;
	(void)argv;
	team = config_team_by_channel(ctx->config, ctx->channel_id);
	if (team == NULL)
		return cmd_error(ctx, "this channel belongs to no team");
	if (store_conversations_open(ctx->store, team->name, &v, &n) != 0)
		return cmd_store_failed(ctx);
	if (n == 0)
		cmd_print(ctx, "%s: no open conversations", team->name);
	else
		cmd_print(ctx, "%s: %zu open conversation%s, oldest first:",
		    team->name, n, n == 1 ? "" : "s");
	for (i = 0; i < n && i < CMD_CONVERSATION_QUEUE_MAX; i++) {
		if (v[i].first == NULL) {
			cmd_print(ctx, "%s (%lld posts)", v[i].code,
			    (long long)v[i].nposts);
			continue;
		}
		who = cmd_conversation_author(ctx, v[i].first);
		what = cmd_conversation_excerpt(ctx, v[i].first,
		    CMD_CONVERSATION_QUEUE_CHARS);
		cmd_print(ctx, "%s (%lld post%s) %s: %s", v[i].code,
		    (long long)v[i].nposts, v[i].nposts == 1 ? "" : "s", who,
		    what);
		free(who);
		free(what);
	}
	if (n > CMD_CONVERSATION_QUEUE_MAX)
		cmd_print(ctx, "… and %zu more",
		    n - CMD_CONVERSATION_QUEUE_MAX);
	conversations_free(v, n);
	return CMD_OK;
}

/*
 * A claim is advisory inside the team ("I'm on it") and binding for
 * replies: only the holder may reply.  A spokesperson may take a claim
 * over (someone is away), and the channel is told whose it was.
 */
static enum cmd_retval
cmd_conversation_claim(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct team_conf	*team;
	struct conversation	 c;
	char			*holder = NULL, *who;
	const char		*name = ctx->user_name;

	(void)argc;
	if (cmd_conversation_owned(ctx, argv[0], &team, &c) != CMD_OK)
		return CMD_ERROR;
	if (c.claimed_by != NULL) {
		holder = cmd_conversation_holder(ctx, &c);
		if (strcmp(c.claimed_by, ctx->user_id) == 0) {
			cmd_print(ctx, "you already claimed %s", c.code);
			free(holder);
			conversation_free(&c);
			return CMD_OK;
		}
		if (!cmd_allowed(ctx, team, POLICY_APPROVE)) {
			cmd_print(ctx, "%s is claimed by %s: ask them, or a "
			    "spokesperson, to %s unclaim %s", c.code, holder,
			    cmd_command_name(ctx), c.code);
			free(holder);
			conversation_free(&c);
			return CMD_ERROR;
		}
	}
	if (store_conversation_claim(ctx->store, c.id, ctx->user_id,
	    name != NULL && name[0] != '\0' ? name : NULL) != 0) {
		free(holder);
		conversation_free(&c);
		return cmd_store_failed(ctx);
	}
	who = cmd_escape(ctx, cmd_who(ctx));
	if (holder != NULL)
		cmd_print(ctx, "%s claimed by %s (taken over from %s)", c.code,
		    who, holder);
	else
		cmd_print(ctx, "%s claimed by %s", c.code, who);
	ctx->in_channel = true;
	free(who);
	free(holder);
	conversation_free(&c);
	return CMD_OK;
}

static enum cmd_retval
cmd_conversation_unclaim(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct team_conf	*team;
	struct conversation	 c;
	char			*holder, *who;
	bool			 own;

	(void)argc;
	if (cmd_conversation_owned(ctx, argv[0], &team, &c) != CMD_OK)
		return CMD_ERROR;
	if (c.claimed_by == NULL) {
		cmd_print(ctx, "%s is not claimed", c.code);
		conversation_free(&c);
		return CMD_OK;
	}
	holder = cmd_conversation_holder(ctx, &c);
	own = strcmp(c.claimed_by, ctx->user_id) == 0;
	if (!own && !cmd_allowed(ctx, team, POLICY_APPROVE)) {
		cmd_print(ctx, "%s is claimed by %s: only they or a "
		    "spokesperson may unclaim it", c.code, holder);
		free(holder);
		conversation_free(&c);
		return CMD_ERROR;
	}
	if (store_conversation_claim(ctx->store, c.id, NULL, NULL) != 0) {
		free(holder);
		conversation_free(&c);
		return cmd_store_failed(ctx);
	}
	who = cmd_escape(ctx, cmd_who(ctx));
	if (own)
		cmd_print(ctx, "%s released by %s", c.code, who);
	else
		cmd_print(ctx, "%s released by %s (claimed by %s)", c.code,
		    who, holder);
	ctx->in_channel = true;
	free(who);
	free(holder);
	conversation_free(&c);
	return CMD_OK;
}

/*
 * The note's text as the channel sees it.  On Slack cmd_escape makes it
 * text; Mattermost shows text as it is, but a note is answered in the
 * channel under the bot's name, so a zero-width space after '@' keeps
 * @here, @channel, @all and @user from notifying anyone.
 */
static char *
cmd_conversation_note_shown(const struct cmd_ctx *ctx, const char *text)
{
	struct buf	b;

	if (ctx->platform != SLASH_MATTERMOST)
		return cmd_escape(ctx, text);
	buf_init(&b);
	buf_adds(&b, "");
	for (; *text != '\0'; text++) {
		buf_addc(&b, *text);
		if (*text == '@' && (text[1] == '_' ||
		    (text[1] >= 'a' && text[1] <= 'z') ||
		    (text[1] >= 'A' && text[1] <= 'Z') ||
		    (text[1] >= '0' && text[1] <= '9')))
			buf_adds(&b, "\xe2\x80\x8b");
	}
	return buf_steal(&b);
}

/*
 * Notes are for the team, so they are answered in the channel; they
 * are kept with the conversation and never leave the chat.
 */
static enum cmd_retval
cmd_conversation_note(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct conversation	 c;
	const char		*name = ctx->user_name;
	char			*text, *shown, *who;

	(void)argc;
	if (cmd_conversation_find(ctx, argv[0], &c) != CMD_OK)
		return CMD_ERROR;
	text = cmd_unescape(ctx, argv[1]);
	if (store_conversation_note_add(ctx->store, c.id, ctx->user_id,
	    name != NULL && name[0] != '\0' ? name : NULL, text) != 0) {
		free(text);
		conversation_free(&c);
		return cmd_store_failed(ctx);
	}
	shown = cmd_conversation_note_shown(ctx, text);
	who = cmd_escape(ctx, cmd_who(ctx));
	cmd_print(ctx, "note on %s by %s: %s", c.code, who, shown);
	ctx->in_channel = true;
	free(who);
	free(shown);
	free(text);
	conversation_free(&c);
	return CMD_OK;
}
