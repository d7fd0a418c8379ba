/* Conversation commands: show, assign, resolve, reopen and a team's queue. */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "text.h"

#define CMD_CONVERSATION_SHOW_MAX	10	/* posts shown by show */
#define CMD_CONVERSATION_SHOW_CHARS	100	/* of each post's text */
#define CMD_CONVERSATION_QUEUE_MAX	20	/* conversations listed */
#define CMD_CONVERSATION_QUEUE_CHARS	60	/* of each first post */

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

const struct cmd_entry cmd_show_entry = {
	.name = "show",
	.min_args = 1,
	.max_args = 1,
	.usage = "CODE",
	.exec = cmd_conversation_show
};

const struct cmd_entry cmd_assign_entry = {
	.name = "assign",
	.min_args = 2,
	.max_args = 2,
	.usage = "CODE TEAM",
	.exec = cmd_conversation_assign
};

const struct cmd_entry cmd_resolve_entry = {
	.name = "resolve",
	.min_args = 1,
	.max_args = 1,
	.usage = "CODE",
	.exec = cmd_conversation_resolve
};

const struct cmd_entry cmd_reopen_entry = {
	.name = "reopen",
	.min_args = 1,
	.max_args = 1,
	.usage = "CODE",
	.exec = cmd_conversation_reopen
};

const struct cmd_entry cmd_queue_entry = {
	.name = "queue",
	.min_args = 0,
	.max_args = 0,
	.usage = "",
	.exec = cmd_conversation_queue
};

static enum cmd_retval
cmd_conversation_store_failed(struct cmd_ctx *ctx)
{
	return cmd_error(ctx, "switchboard: the store failed; try again");
}

/*
 * The conversation named by code into c: CMD_OK, or CMD_ERROR with the
 * answer written.
 */
static enum cmd_retval
cmd_conversation_find(struct cmd_ctx *ctx, const char *code,
    struct conversation *c)
{
	char	*shown;
	int	 rc;

	rc = store_conversation_by_code(ctx->store, code, c);
	if (rc < 0)
		return cmd_conversation_store_failed(ctx);
	if (rc == 0) {
		shown = cmd_escape(ctx, code);
		cmd_print(ctx, "no conversation with code \"%s\"", shown);
		free(shown);
		return CMD_ERROR;
	}
	return CMD_OK;
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

static enum cmd_retval
cmd_conversation_show(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct conversation		 c;
	struct conversation_post	*v;
	size_t				 i, n;
	char				*who, *what;

	(void)argc;
	if (cmd_conversation_find(ctx, argv[0], &c) != CMD_OK)
		return CMD_ERROR;
	if (store_conversation_posts(ctx->store, c.id,
	    CMD_CONVERSATION_SHOW_MAX, &v, &n) != 0) {
		conversation_free(&c);
		return cmd_conversation_store_failed(ctx);
	}
	cmd_print(ctx, "%s: %s, %s, %lld post%s", c.code, c.team,
	    c.open ? "open" : "resolved", (long long)c.nposts,
	    c.nposts == 1 ? "" : "s");
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

static enum cmd_retval
cmd_conversation_assign(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct team_conf	*team;
	struct conversation	 c;
	char			*shown, *names;

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
	if (strcmp(c.team, team->name) == 0) {
		cmd_print(ctx, "%s already belongs to %s", c.code, c.team);
		conversation_free(&c);
		return CMD_OK;
	}
	if (store_conversation_set_team(ctx->store, c.id, team->name) != 0) {
		conversation_free(&c);
		return cmd_conversation_store_failed(ctx);
	}
	cmd_print(ctx, "%s: %s → %s; its next posts go to %s", c.code,
	    c.team, team->name, team->name);
	conversation_free(&c);
	return CMD_OK;
}

/* resolve and reopen: set the status to open. */
static enum cmd_retval
cmd_conversation_status(struct cmd_ctx *ctx, const char *code, bool open)
{
	struct conversation	c;
	enum cmd_retval		ret = CMD_OK;
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
	if (rc < 0)
		ret = cmd_conversation_store_failed(ctx);
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
		return cmd_conversation_store_failed(ctx);
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
