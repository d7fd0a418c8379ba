/* The command table: splitting a command's text, lookup, arity, help. */
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static enum cmd_retval	cmd_help_exec(struct cmd_ctx *, int, char **);
static enum cmd_retval	cmd_later_exec(struct cmd_ctx *, int, char **);

static const struct cmd_entry cmd_help_entry = {
	.name = "help",
	.min_args = 0,
	.max_args = 1,
	.usage = "[command]",
	.exec = cmd_help_exec
};

/*
 * Commands that publish into a channel or a network come with the
 * publishing path; until then they say so rather than "unknown".
 */
#define CMD_LATER(n) {							\
	.name = n, .min_args = 0, .max_args = -1, .usage = "",		\
	.flags = CMD_REST, .exec = cmd_later_exec			\
}
static const struct cmd_entry cmd_later_entries[] = {
	CMD_LATER("reply"),
	CMD_LATER("claim"),
	CMD_LATER("baton"),
	CMD_LATER("mute"),
	CMD_LATER("drafts")
};

/* The help lists them in this order. */
static const struct cmd_entry *const cmd_table[] = {
	&cmd_show_entry,
	&cmd_assign_entry,
	&cmd_resolve_entry,
	&cmd_reopen_entry,
	&cmd_queue_entry,
	&cmd_help_entry,
	&cmd_later_entries[0],
	&cmd_later_entries[1],
	&cmd_later_entries[2],
	&cmd_later_entries[3],
	&cmd_later_entries[4]
};

static const char *
cmd_name(const struct cmd_ctx *ctx)
{
	return ctx->command != NULL && ctx->command[0] != '\0' ?
	    ctx->command : "/sb";
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
	buf_init(&ctx->out);
}

void
cmd_ctx_clear(struct cmd_ctx *ctx)
{
	buf_free(&ctx->out);
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

static void
cmd_usage(struct cmd_ctx *ctx, const struct cmd_entry *e)
{
	cmd_print(ctx, "usage: %s %s%s%s", cmd_name(ctx), e->name,
	    e->usage[0] != '\0' ? " " : "", e->usage);
}

/* The names of the commands that work now, for the short help. */
static void
cmd_list(struct cmd_ctx *ctx)
{
	struct buf	b;
	size_t		i;

	buf_init(&b);
	for (i = 0; i < nitems(cmd_table); i++) {
		if (cmd_table[i]->exec == cmd_later_exec)
			continue;
		buf_adds(&b, i > 0 ? ", " : "");
		buf_adds(&b, cmd_table[i]->name);
	}
	cmd_print(ctx, "commands: %s; %s help COMMAND for its usage", b.data,
	    cmd_name(ctx));
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
		return CMD_OK;
	}
	cmd_print(ctx, "switchboard commands:");
	for (i = 0; i < nitems(cmd_table); i++) {
		e = cmd_table[i];
		if (e->exec != cmd_later_exec)
			cmd_print(ctx, "%s %s%s%s", cmd_name(ctx), e->name,
			    e->usage[0] != '\0' ? " " : "", e->usage);
	}
	return CMD_OK;
}

static enum cmd_retval
cmd_later_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	/* The name is ours, not the user's: no escaping needed. */
	return cmd_error(ctx, "%s: not available yet", ctx->entry->name);
}

enum cmd_retval
cmd_run(struct cmd_ctx *ctx, const char *text)
{
	const struct cmd_entry	*e;
	const char		*p = text != NULL ? text : "";
	struct strv		 args;
	char			*name, *shown;
	size_t			 len;
	enum cmd_retval		 rc;

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
	/* Without CMD_REST every word counts, so extra ones are refused. */
	if (e->flags & CMD_REST)
		cmd_split(p + len, e->max_args, true, &args);
	else
		cmd_split(p + len, -1, false, &args);
	if ((int)args.n < e->min_args || (e->max_args >= 0 &&
	    (int)args.n > e->max_args)) {
		cmd_usage(ctx, e);
		strv_free(&args);
		return CMD_ERROR;
	}
	ctx->entry = e;
	rc = e->exec(ctx, (int)args.n, args.v);
	ctx->entry = NULL;
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
