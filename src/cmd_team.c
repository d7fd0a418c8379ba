/*
 * A team's voice and filters: who holds the baton (the one person who
 * speaks for the team besides its spokespeople) and which authors are
 * muted, for the team or for every team.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"
#include "nostr.h"

#define CMD_TEAM_NAME_MAX	80	/* a chat user's id or name */
#define CMD_TEAM_AUTHOR_MAX	256	/* a handle, DID or key */

static enum cmd_retval	cmd_team_baton_exec(struct cmd_ctx *, int, char **);
static enum cmd_retval	cmd_team_mute(struct cmd_ctx *, int, char **);
static enum cmd_retval	cmd_team_unmute(struct cmd_ctx *, int, char **);

const struct cmd_entry cmd_baton_entry = {
	.name = "baton",
	.min_args = 0,
	.max_args = 1,
	.usage = "[@user|off]",
	.summary = "who speaks for the team: while someone holds the baton "
	    "only they and the spokespeople publish",
	.exec = cmd_team_baton_exec
};

const struct cmd_entry cmd_mute_entry = {
	.name = "mute",
	.min_args = 1,
	.max_args = 2,
	.usage = "AUTHOR [global]",
	.summary = "drop an author's posts for this team (managers), or for "
	    "every team (admins); AUTHOR: @handle, DID, npub or hex key",
	.exec = cmd_team_mute
};

const struct cmd_entry cmd_unmute_entry = {
	.name = "unmute",
	.min_args = 1,
	.max_args = 2,
	.usage = "AUTHOR [global]",
	.summary = "route an author's posts again",
	.exec = cmd_team_unmute
};

/*
 * The holder is matched by chat user id; a holder named in Mattermost
 * style ("@alice") has no id, and is matched by name.
 */
int
cmd_team_baton(const struct cmd_ctx *ctx, const struct team_conf *team,
    char **name, bool *mine)
{
	char		*id = NULL, *held = NULL;
	const char	*me = ctx->user_name, *them;
	int		 rc;

	*name = NULL;
	*mine = false;
	rc = store_baton_get(ctx->store, team->name, &id, &held);
	if (rc != 1)
		return rc < 0 ? -1 : 0;
	if (id != NULL && id[0] != '\0')
		*mine = strcmp(id, ctx->user_id) == 0;
	else if (held != NULL && me != NULL) {
		them = held[0] == '@' ? held + 1 : held;
		me = me[0] == '@' ? me + 1 : me;
		*mine = me[0] != '\0' && strcasecmp(them, me) == 0;
	}
	if (held != NULL && held[0] != '\0') {
		*name = held;
		free(id);
	} else {
		*name = id != NULL ? id : xstrdup("?");
		free(held);
	}
	return 1;
}

static bool
cmd_team_chars(const char *s, size_t len, const char *extra)
{
	size_t	i;

	if (len == 0 || len > CMD_TEAM_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    strchr(extra, s[i]) != NULL))
			return false;
	return true;
}

/*
 * A chat user as Slack sends a mention (<@U024BE7LH|alice>,
 * <@U024BE7LH>) or as typed (@alice, Mattermost and Slack without
 * escaping): *id and *name, either may be NULL (caller frees).  -1 if
 * arg is none of these.
 */
static int
cmd_team_mention(const char *arg, char **id, char **name)
{
	const char	*end, *bar;
	size_t		 len = strlen(arg);

	*id = *name = NULL;
	if (len > 3 && arg[0] == '<' && arg[1] == '@' && arg[len - 1] == '>') {
		end = arg + len - 1;
		bar = memchr(arg, '|', len);
		if (bar == NULL)
			bar = end;
		if (!cmd_team_chars(arg + 2, (size_t)(bar - arg - 2), ""))
			return -1;
		if (bar != end && !cmd_team_chars(bar + 1,
		    (size_t)(end - bar - 1), "._-"))
			return -1;
		*id = xstrndup(arg + 2, (size_t)(bar - arg - 2));
		if (bar != end)
			*name = xstrndup(bar + 1, (size_t)(end - bar - 1));
		return 0;
	}
	if (arg[0] == '@' && cmd_team_chars(arg + 1, len - 1, "._-")) {
		*name = xstrdup(arg + 1);
		return 0;
	}
	return -1;
}

/* The user as the announcement names them: a real mention on Slack
 * when the id is known, so they are told.  Caller frees. */
static char *
cmd_team_mention_text(const struct cmd_ctx *ctx, const char *id,
    const char *name)
{
	if (id != NULL && ctx->platform == SLASH_SLACK)
		return xasprintf("<@%s>", id);
	return xasprintf("@%s", name != NULL ? name : id);
}

static enum cmd_retval
cmd_team_baton_show(struct cmd_ctx *ctx, const struct team_conf *team)
{
	char	*name, *shown;
	bool	 mine;
	int	 rc;

	rc = cmd_team_baton(ctx, team, &name, &mine);
	if (rc < 0)
		return cmd_store_failed(ctx);
	if (rc == 0) {
		cmd_print(ctx, "nobody holds the baton for %s: its publishers "
		    "reply", team->name);
		return CMD_OK;
	}
	shown = cmd_escape(ctx, name);
	cmd_print(ctx, "%s holds the baton for %s%s", shown, team->name,
	    mine ? " (you)" : "");
	free(shown);
	free(name);
	return CMD_OK;
}

static enum cmd_retval
cmd_team_baton_off(struct cmd_ctx *ctx, const struct team_conf *team)
{
	char	*name, *shown, *who;
	bool	 mine;
	int	 rc;

	if (!cmd_allowed(ctx, team, POLICY_APPROVE))
		return cmd_error(ctx, "only a spokesperson of %s may take the "
		    "baton back", team->name);
	rc = cmd_team_baton(ctx, team, &name, &mine);
	if (rc < 0)
		return cmd_store_failed(ctx);
	if (rc == 0) {
		cmd_print(ctx, "nobody holds the baton for %s", team->name);
		return CMD_OK;
	}
	if (store_baton_set(ctx->store, team->name, NULL, NULL) != 0) {
		free(name);
		return cmd_store_failed(ctx);
	}
	who = cmd_escape(ctx, cmd_who(ctx));
	shown = cmd_escape(ctx, name);
	cmd_print(ctx, "%s took the baton for %s back from %s: its "
	    "publishers reply again", who, team->name, shown);
	ctx->in_channel = true;
	free(shown);
	free(who);
	free(name);
	return CMD_OK;
}

/*
 * baton [@user|off].  A spokesperson hands the baton to anyone; its
 * holder may pass it on.  The channel sees every hand-over.
 */
static enum cmd_retval
cmd_team_baton_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct team_conf	*team;
	char			*id, *name, *held = NULL, *to, *who, *shown;
	bool			 mine = false;
	int			 rc;

	team = cmd_team(ctx);
	if (team == NULL)
		return cmd_error(ctx, "this channel belongs to no team");
	if (argc == 0)
		return cmd_team_baton_show(ctx, team);
	if (strcmp(argv[0], "off") == 0)
		return cmd_team_baton_off(ctx, team);
	if (cmd_team_mention(argv[0], &id, &name) != 0)
		return cmd_error(ctx, "usage: %s baton %s",
		    cmd_command_name(ctx), cmd_baton_entry.usage);
	rc = cmd_team_baton(ctx, team, &held, &mine);
	if (rc < 0) {
		free(id);
		free(name);
		return cmd_store_failed(ctx);
	}
	if (!mine && !cmd_allowed(ctx, team, POLICY_APPROVE)) {
		cmd_print(ctx, "only a spokesperson of %s or the baton's "
		    "holder may hand it over", team->name);
		free(held);
		free(id);
		free(name);
		return CMD_ERROR;
	}
	if (store_baton_set(ctx->store, team->name, id != NULL ? id : "",
	    name) != 0) {
		free(held);
		free(id);
		free(name);
		return cmd_store_failed(ctx);
	}
	to = cmd_team_mention_text(ctx, id, name);
	who = cmd_escape(ctx, cmd_who(ctx));
	shown = held != NULL ? cmd_escape(ctx, held) : NULL;
	if (shown != NULL)
		cmd_print(ctx, "%s handed the baton for %s to %s (from %s)",
		    who, team->name, to, shown);
	else
		cmd_print(ctx, "%s handed the baton for %s to %s", who,
		    team->name, to);
	cmd_print(ctx, "until it moves on, only %s and the spokespeople "
	    "publish replies", to);
	ctx->in_channel = true;
	free(shown);
	free(who);
	free(to);
	free(held);
	free(id);
	free(name);
	return CMD_OK;
}

/*
 * AUTHOR as the store keeps mutes: a handle without its '@'
 * ("alice.bsky.social", "user@instance"), a DID as typed, a Nostr key
 * as lower-case hex (an npub is converted).  NULL with the answer
 * written if it is none of these.
 */
static char *
cmd_team_author(struct cmd_ctx *ctx, const char *arg)
{
	char	*plain, *a, hex[65], *shown;
	size_t	 len, i;

	plain = cmd_unescape(ctx, arg);
	a = plain[0] == '@' ? plain + 1 : plain;
	len = strlen(a);
	if (len >= 5 && strncmp(a, "npub1", 5) == 0) {
		if (nostr_key_hex(a, hex) != 0)
			goto bad;
		free(plain);
		return xstrdup(hex);
	}
	if (len == 64 && nostr_key_hex(a, hex) == 0) {
		free(plain);
		return xstrdup(hex);
	}
	if (len == 0 || len > CMD_TEAM_AUTHOR_MAX)
		goto bad;
	for (i = 0; i < len; i++)
		if (!((a[i] >= 'a' && a[i] <= 'z') ||
		    (a[i] >= 'A' && a[i] <= 'Z') ||
		    (a[i] >= '0' && a[i] <= '9') ||
		    strchr("._-:@%", a[i]) != NULL))
			goto bad;
	a = xstrdup(a);
	free(plain);
	return a;
bad:
	shown = cmd_escape(ctx, plain);
	cmd_print(ctx, "\"%s\" is no author: give a handle "
	    "(@alice.bsky.social, @user@instance), a DID, an npub or a hex "
	    "key", shown);
	free(shown);
	free(plain);
	return NULL;
}

/*
 * mute and unmute: a team's managers for the team whose channel this
 * is, the admins for every team (from any channel).
 */
static enum cmd_retval
cmd_team_mute_change(struct cmd_ctx *ctx, int argc, char **argv, bool mute)
{
	const struct team_conf	*team = cmd_team(ctx);
	const char		*scope, *where;
	char			*author, *shown;
	bool			 global = argc == 2;
	int			 rc;

	if (global && strcmp(argv[1], "global") != 0)
		return cmd_error(ctx, "usage: %s %s %s", cmd_command_name(ctx),
		    ctx->entry->name, ctx->entry->usage);
	if (global) {
		if (!cmd_allowed(ctx, team, POLICY_ADMIN))
			return cmd_error(ctx, "only an admin may %s an author "
			    "for every team", ctx->entry->name);
		scope = STORE_MUTE_GLOBAL;
		where = "every team";
	} else {
		if (team == NULL)
			return cmd_error(ctx, "this channel belongs to no "
			    "team (an admin may %s AUTHOR global)",
			    ctx->entry->name);
		if (!cmd_allowed(ctx, team, POLICY_MANAGE))
			return cmd_error(ctx, "only a manager of %s may %s "
			    "authors", team->name, ctx->entry->name);
		scope = team->name;
		where = team->name;
	}
	author = cmd_team_author(ctx, argv[0]);
	if (author == NULL)
		return CMD_ERROR;
	if (mute)
		rc = store_mute_set(ctx->store, scope, author, cmd_who(ctx));
	else
		rc = store_mute_clear(ctx->store, scope, author);
	if (rc < 0) {
		free(author);
		return cmd_store_failed(ctx);
	}
	shown = cmd_escape(ctx, author);
	if (rc == 0)
		cmd_print(ctx, "%s %s for %s", shown, mute ?
		    "was already muted" : "was not muted", where);
	else {
		ctx->in_channel = true;
		if (mute)
			cmd_print(ctx, "%s muted for %s: their posts are "
			    "dropped", shown, where);
		else
			cmd_print(ctx, "%s unmuted for %s: their posts are "
			    "routed again", shown, where);
	}
	free(shown);
	free(author);
	return CMD_OK;
}

static enum cmd_retval
cmd_team_mute(struct cmd_ctx *ctx, int argc, char **argv)
{
	return cmd_team_mute_change(ctx, argc, argv, true);
}

static enum cmd_retval
cmd_team_unmute(struct cmd_ctx *ctx, int argc, char **argv)
{
	return cmd_team_mute_change(ctx, argc, argv, false);
}
