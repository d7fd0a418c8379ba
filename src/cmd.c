/*
 * The command table: splitting a command's text, lookup, arity, help,
 * the helpers every command shares, and the audit record of each run.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "log.h"

#define CMD_AUDIT_CODE_MAX	16	/* longer first words are no code */

static enum cmd_retval	cmd_help_exec(struct cmd_ctx *, int, char **);

static const struct cmd_entry cmd_help_entry = {
	.name = "help",
	.min_args = 0,
	.max_args = 1,
	.usage = "[command]",
	.summary = "the commands, or one command's usage",
	.exec = cmd_help_exec
};

/* The help lists them in this order: the daily work first. */
static const struct cmd_entry *const cmd_table[] = {
	&cmd_show_entry,
	&cmd_queue_entry,
	&cmd_reply_entry,
	&cmd_drafts_entry,
	&cmd_approve_entry,
	&cmd_reject_entry,
	&cmd_claim_entry,
	&cmd_unclaim_entry,
	&cmd_note_entry,
	&cmd_assign_entry,
	&cmd_resolve_entry,
	&cmd_reopen_entry,
	&cmd_baton_entry,
	&cmd_mute_entry,
	&cmd_unmute_entry,
	&cmd_help_entry
};

/* The chat's own name for it first: several slash commands may exist. */
const char *
cmd_command_name(const struct cmd_ctx *ctx)
{
	if (ctx->command != NULL && ctx->command[0] != '\0')
		return ctx->command;
	if (ctx->config != NULL && ctx->config->commands.name != NULL)
		return ctx->config->commands.name;
	return "/sb";
}

static bool
cmd_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f';
}

void
cmd_split(const char *text, int max, bool rest, struct strv *out)
{
	const char	*p = text, *start, *end;

	strv_init(out);
	if (text == NULL)
		return;
	for (;;) {
		while (cmd_space(*p))
			p++;
		if (*p == '\0' || (max >= 0 && (int)out->n >= max))
			break;
		start = p;
		if (rest && max >= 0 && (int)out->n == max - 1) {
			end = start + strlen(start);
			while (end > start && cmd_space(end[-1]))
				end--;
			strv_take(out, xstrndup(start, (size_t)(end - start)));
			break;
		}
		while (*p != '\0' && !cmd_space(*p))
			p++;
		strv_take(out, xstrndup(start, (size_t)(p - start)));
	}
}

const struct cmd_entry *
cmd_find(const char *name)
{
	size_t	i;

	for (i = 0; i < nitems(cmd_table); i++)
		if (strcmp(cmd_table[i]->name, name) == 0)
			return cmd_table[i];
	return NULL;
}

void
cmd_ctx_init(struct cmd_ctx *ctx, struct store *store,
    const struct config *config)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->store = store;
	ctx->config = config;
	ctx->platform = SLASH_SLACK;
	ctx->channel_id = "";
	ctx->user_id = "";
	ctx->now_ms = now_wall_ms();
	buf_init(&ctx->out);
}

void
cmd_ctx_clear(struct cmd_ctx *ctx)
{
	buf_free(&ctx->out);
	free(ctx->code);
	ctx->code = NULL;
}

static void
cmd_vprint(struct cmd_ctx *ctx, const char *fmt, va_list ap)
{
	char	*line;

	line = xvasprintf(fmt, ap);
	if (ctx->out.len > 0)
		buf_addc(&ctx->out, '\n');
	buf_adds(&ctx->out, line);
	free(line);
}

void
cmd_print(struct cmd_ctx *ctx, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	cmd_vprint(ctx, fmt, ap);
	va_end(ap);
}

enum cmd_retval
cmd_error(struct cmd_ctx *ctx, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	cmd_vprint(ctx, fmt, ap);
	va_end(ap);
	return CMD_ERROR;
}

/*
 * Slack reads &, < and > as markup (<!channel>, <URL|label>) and wants
 * them escaped; Mattermost shows text as it is.
 */
char *
cmd_escape(const struct cmd_ctx *ctx, const char *s)
{
	struct buf	b;

	if (ctx->platform != SLASH_SLACK)
		return xstrdup(s);
	buf_init(&b);
	buf_adds(&b, "");
	for (; *s != '\0'; s++) {
		if (*s == '&')
			buf_adds(&b, "&amp;");
		else if (*s == '<')
			buf_adds(&b, "&lt;");
		else if (*s == '>')
			buf_adds(&b, "&gt;");
		else
			buf_addc(&b, *s);
	}
	return buf_steal(&b);
}

/* Append s[0..len) with Slack's three entities decoded. */
static void
cmd_unescape_text(struct buf *b, const char *s, size_t len)
{
	static const struct {
		const char	*entity;
		char		 c;
	} ents[] = { { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' } };
	size_t	i, j, n;

	for (i = 0; i < len; i++) {
		for (j = 0; j < nitems(ents); j++) {
			n = strlen(ents[j].entity);
			if (len - i >= n &&
			    memcmp(s + i, ents[j].entity, n) == 0)
				break;
		}
		if (j == nitems(ents)) {
			buf_addc(b, s[i]);
			continue;
		}
		buf_addc(b, ents[j].c);
		i += strlen(ents[j].entity) - 1;
	}
}

/*
 * One piece of Slack markup, s[0..len) between '<' and '>': TARGET or
 * TARGET|LABEL.  A link stays its URL (what a reader of the reply can
 * follow), a mention its name.
 */
static void
cmd_unescape_markup(struct buf *b, const char *s, size_t len)
{
	const char	*bar, *label = NULL;
	size_t		 tlen = len, llen = 0, n;

	bar = memchr(s, '|', len);
	if (bar != NULL) {
		tlen = (size_t)(bar - s);
		label = bar + 1;
		llen = len - tlen - 1;
	}
	if (tlen > 0 && (s[0] == '@' || s[0] == '#')) {
		buf_addc(b, s[0]);
		if (label != NULL)
			cmd_unescape_text(b, label, llen);
		else
			cmd_unescape_text(b, s + 1, tlen - 1);
	} else if (tlen > 0 && s[0] == '!') {
		/* <!here>, <!subteam^S1|@team>, <!date^...|fallback> */
		if (label != NULL)
			cmd_unescape_text(b, label, llen);
		else {
			n = strcspn(s + 1, "^>");
			buf_addc(b, '@');
			cmd_unescape_text(b, s + 1, n < tlen - 1 ? n :
			    tlen - 1);
		}
	} else if (tlen >= 7 && strncmp(s, "mailto:", 7) == 0) {
		if (label != NULL)
			cmd_unescape_text(b, label, llen);
		else
			cmd_unescape_text(b, s + 7, tlen - 7);
	} else
		cmd_unescape_text(b, s, tlen);
}

char *
cmd_unescape(const struct cmd_ctx *ctx, const char *s)
{
	struct buf	 b;
	const char	*end;

	if (ctx->platform != SLASH_SLACK)
		return xstrdup(s);
	buf_init(&b);
	buf_adds(&b, "");
	while (*s != '\0') {
		/* Slack escapes a typed '<', so one here is markup. */
		if (*s == '<' && (end = strchr(s, '>')) != NULL) {
			cmd_unescape_markup(&b, s + 1, (size_t)(end - s - 1));
			s = end + 1;
			continue;
		}
		end = s + 1;
		while (*end != '\0' && *end != '<')
			end++;
		cmd_unescape_text(&b, s, (size_t)(end - s));
		s = end;
	}
	return buf_steal(&b);
}

const char *
cmd_who(const struct cmd_ctx *ctx)
{
	if (ctx->user_name != NULL && ctx->user_name[0] != '\0')
		return ctx->user_name;
	return ctx->user_id != NULL ? ctx->user_id : "";
}

const struct team_conf *
cmd_team(const struct cmd_ctx *ctx)
{
	return config_team_by_channel(ctx->config, ctx->channel_id);
}

bool
cmd_allowed(const struct cmd_ctx *ctx, const struct team_conf *team,
    enum policy_action action)
{
	const char	*name = ctx->user_name;

	if (name != NULL && name[0] == '\0')
		name = NULL;
	return policy_allows(ctx->config, team, ctx->user_id, name, action);
}

enum cmd_retval
cmd_store_failed(struct cmd_ctx *ctx)
{
	return cmd_error(ctx, "switchboard: the store failed; try again");
}

static void
cmd_usage(struct cmd_ctx *ctx, const struct cmd_entry *e)
{
	cmd_print(ctx, "usage: %s %s%s%s", cmd_command_name(ctx), e->name,
	    e->usage[0] != '\0' ? " " : "", e->usage);
}

/* The names of the commands, for the short help. */
static void
cmd_list(struct cmd_ctx *ctx)
{
	struct buf	b;
	size_t		i;

	buf_init(&b);
	for (i = 0; i < nitems(cmd_table); i++) {
		buf_adds(&b, i > 0 ? ", " : "");
		buf_adds(&b, cmd_table[i]->name);
	}
	cmd_print(ctx, "commands: %s; %s help COMMAND for its usage", b.data,
	    cmd_command_name(ctx));
	buf_free(&b);
}

static enum cmd_retval
cmd_help_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd_entry	*e;
	char			*name;
	size_t			 i;

	if (argc == 1) {
		e = cmd_find(argv[0]);
		if (e == NULL) {
			name = cmd_escape(ctx, argv[0]);
			cmd_print(ctx, "unknown command \"%s\"", name);
			free(name);
			cmd_list(ctx);
			return CMD_ERROR;
		}
		cmd_usage(ctx, e);
		cmd_print(ctx, "%s", e->summary);
		return CMD_OK;
	}
	cmd_print(ctx, "switchboard commands:");
	for (i = 0; i < nitems(cmd_table); i++) {
		e = cmd_table[i];
		cmd_print(ctx, "%s %s%s%s — %s", cmd_command_name(ctx),
		    e->name, e->usage[0] != '\0' ? " " : "", e->usage,
		    e->summary);
	}
	return CMD_OK;
}

/*
 * Find the command named by text's first word, split its arguments
 * into args (always initialised) and run it.  *ep: the entry, or NULL
 * if there is none.
 */
static enum cmd_retval
cmd_dispatch(struct cmd_ctx *ctx, const char *text,
    const struct cmd_entry **ep, struct strv *args)
{
	const struct cmd_entry	*e;
	const char		*p = text;
	char			*name, *shown;
	size_t			 len;
	enum cmd_retval		 rc;

	*ep = NULL;
	strv_init(args);
	while (cmd_space(*p))
		p++;
	len = 0;
	while (p[len] != '\0' && !cmd_space(p[len]))
		len++;
	if (len == 0)
		return cmd_help_exec(ctx, 0, NULL);
	name = xstrndup(p, len);
	e = cmd_find(name);
	if (e == NULL) {
		shown = cmd_escape(ctx, name);
		cmd_print(ctx, "unknown command \"%s\"", shown);
		free(shown);
		free(name);
		cmd_list(ctx);
		return CMD_ERROR;
	}
	free(name);
	*ep = e;
	/* Without CMD_REST every word counts, so extra ones are refused. */
	if (e->flags & CMD_REST)
		cmd_split(p + len, e->max_args, true, args);
	else
		cmd_split(p + len, -1, false, args);
	if ((int)args->n < e->min_args || (e->max_args >= 0 &&
	    (int)args->n > e->max_args)) {
		cmd_usage(ctx, e);
		return CMD_ERROR;
	}
	ctx->entry = e;
	rc = e->exec(ctx, (int)args->n, args->v);
	ctx->entry = NULL;
	return rc;
}

/*
 * The code typed as a command's first argument, upper case and without
 * a ":N" post number, or NULL if it cannot be one.  Caller frees.
 */
static char *
cmd_typed_code(const char *arg)
{
	size_t	len, i;
	char	*code;

	len = strcspn(arg, ":");
	if (len == 0 || len > CMD_AUDIT_CODE_MAX)
		return NULL;
	code = xstrndup(arg, len);
	for (i = 0; i < len; i++) {
		if (code[i] >= 'a' && code[i] <= 'z')
			code[i] = (char)(code[i] - 'a' + 'A');
		else if (!((code[i] >= 'A' && code[i] <= 'Z') ||
		    (code[i] >= '0' && code[i] <= '9'))) {
			free(code);
			return NULL;
		}
	}
	return code;
}

/*
 * Record the command in the audit log: who, where, what they typed and
 * the answer's first line if it was refused.  A failure is logged, not
 * shown: the command itself has run.
 */
static void
cmd_audit(struct cmd_ctx *ctx, const char *text, const struct cmd_entry *e,
    const struct strv *args, enum cmd_retval rc)
{
	const struct team_conf	*team = cmd_team(ctx);
	struct audit_entry	 a;
	const char		*out = ctx->out.len > 0 ? ctx->out.data : "";
	char			*code = NULL, *result;

	if (ctx->code != NULL)
		code = xstrdup(ctx->code);
	else if (e != NULL && (e->flags & CMD_CODE) && args->n > 0)
		code = cmd_typed_code(args->v[0]);
	if (rc == CMD_OK)
		result = xstrdup("ok");
	else
		result = xasprintf("refused: %.*s", (int)strcspn(out, "\n"),
		    out);
	memset(&a, 0, sizeof(a));
	a.time_ms = ctx->now_ms;
	a.user_id = (char *)ctx->user_id;
	a.user_name = (char *)(ctx->user_name != NULL &&
	    ctx->user_name[0] != '\0' ? ctx->user_name : NULL);
	a.team = team != NULL ? team->name : NULL;
	a.code = code;
	a.action = (char *)"command";
	a.text = (char *)text;
	a.result = result;
	if (store_audit_add(ctx->store, &a) != 0)
		log_err("command from %s: the audit log failed", ctx->user_id);
	free(code);
	free(result);
}

enum cmd_retval
cmd_run(struct cmd_ctx *ctx, const char *text)
{
	const struct cmd_entry	*e;
	struct strv		 args;
	enum cmd_retval		 rc;

	if (text == NULL)
		text = "";
	/*
	 * One transaction for what the command changes and its audit
	 * record; the caller commits (app_run_command) or it joins the
	 * open burst.
	 */
	if (store_begin(ctx->store) != 0)
		log_warn("command from %s: no transaction", ctx->user_id);
	rc = cmd_dispatch(ctx, text, &e, &args);
	cmd_audit(ctx, text, e, &args, rc);
	strv_free(&args);
	return rc;
}

char *
cmd_answer_json(const char *text, bool in_channel)
{
	json_t	*o;
	char	*s;

	o = json_pack("{s:s, s:s}", "response_type", in_channel ?
	    "in_channel" : "ephemeral", "text",
	    text != NULL ? text : "");
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}
