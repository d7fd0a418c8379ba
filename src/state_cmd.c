/*
 * The operator's state tools: the outbox listed, retried and dropped,
 * conversations listed and shown, and the store backed up, from a
 * second connection beside the running daemon.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "state_cmd.h"
#include "store.h"
#include "text.h"

#define STATE_CMD_COUNT_MAX	1000000000L
#define STATE_CMD_EXCERPT	60	/* characters of a first post */
#define STATE_CMD_DROP_REASON	"dropped by an operator"

/* The options a tool may take besides -c and -s. */
#define STATE_OPT_DEST		0x01
#define STATE_OPT_STATE		0x02
#define STATE_OPT_COUNT		0x04
#define STATE_OPT_TEAM		0x08
#define STATE_OPT_STATUS	0x10
#define STATE_OPT_YES		0x20
#define STATE_OPT_FORCE		0x40

/* What the command line said. */
struct state_cmd_args {
	const struct state_cmd_action *action;
	const char	*config;
	const char	*state_dir;
	const char	*destination;
	const char	*state;
	const char	*team;
	long		 count;		/* -1: all */
	enum store_conv_status status;
	bool		 yes;
	bool		 force;
	char		*name;		/* "outbox list", for messages */
	char	       **argv;		/* the positional arguments */
	int		 argc;
	char		*dir;		/* the state directory used */
};

struct state_cmd_action {
	const char	*tool;
	const char	*action;	/* NULL: the tool has one action */
	const char	*usage;
	int		 options;	/* STATE_OPT_* allowed */
	int		 min_args;
	int		 max_args;	/* -1: unbounded */
	int		 (*run)(struct state_cmd_args *, FILE *);
};

static int	state_cmd_outbox_list(struct state_cmd_args *, FILE *);
static int	state_cmd_outbox_retry(struct state_cmd_args *, FILE *);
static int	state_cmd_outbox_drop(struct state_cmd_args *, FILE *);
static int	state_cmd_conv_list(struct state_cmd_args *, FILE *);
static int	state_cmd_conv_show(struct state_cmd_args *, FILE *);
static int	state_cmd_backup(struct state_cmd_args *, FILE *);

static const struct state_cmd_action state_cmd_actions[] = {
	{ "outbox", "list",
	    "[--destination NAME] [--state pending|done|failed] [-n N]",
	    STATE_OPT_DEST | STATE_OPT_STATE | STATE_OPT_COUNT, 0, 0,
	    state_cmd_outbox_list },
	{ "outbox", "retry", "(ID... | --destination NAME)",
	    STATE_OPT_DEST, 0, -1, state_cmd_outbox_retry },
	{ "outbox", "drop", "(ID... | --destination NAME) --yes-really-drop",
	    STATE_OPT_DEST | STATE_OPT_YES, 0, -1, state_cmd_outbox_drop },
	{ "conversations", "list", "[--team T] [--open | --resolved] [-n N]",
	    STATE_OPT_TEAM | STATE_OPT_STATUS | STATE_OPT_COUNT, 0, 0,
	    state_cmd_conv_list },
	{ "conversations", "show", "CODE", 0, 1, 1, state_cmd_conv_show },
	{ "backup", NULL, "[--force] FILE", STATE_OPT_FORCE, 1, 1,
	    state_cmd_backup }
};

bool
state_cmd_known(const char *name)
{
	size_t	i;

	for (i = 0; i < nitems(state_cmd_actions); i++)
		if (strcmp(state_cmd_actions[i].tool, name) == 0)
			return true;
	return false;
}

/* Every usage line of tool (NULL: of every tool), to stderr. */
static void
state_cmd_usage(const char *tool)
{
	const struct state_cmd_action	*a;
	size_t				 i;
	const char			*lead = "usage:";

	for (i = 0; i < nitems(state_cmd_actions); i++) {
		a = &state_cmd_actions[i];
		if (tool != NULL && strcmp(a->tool, tool) != 0)
			continue;
		fprintf(stderr, "%s switchboard %s%s%s [-c FILE] [-s DIR] %s\n",
		    lead, a->tool, a->action != NULL ? " " : "",
		    a->action != NULL ? a->action : "", a->usage);
		lead = "      ";
	}
}

/* The action argv names: argv[0] the tool, argv[1] its action if it has
 * actions.  NULL (usage printed) if there is none. */
static const struct state_cmd_action *
state_cmd_find(int argc, char **argv)
{
	const struct state_cmd_action	*a;
	size_t				 i;

	for (i = 0; i < nitems(state_cmd_actions); i++) {
		a = &state_cmd_actions[i];
		if (strcmp(a->tool, argv[0]) != 0)
			continue;
		if (a->action == NULL)
			return a;
		if (argc > 1 && strcmp(a->action, argv[1]) == 0)
			return a;
	}
	if (argc > 1 && argv[1][0] != '-')
		fprintf(stderr, "switchboard %s: unknown action: %s\n",
		    argv[0], argv[1]);
	else
		fprintf(stderr, "switchboard %s: which action?\n", argv[0]);
	state_cmd_usage(argv[0]);
	return NULL;
}

/* A count from 1 to STATE_CMD_COUNT_MAX, or -1. */
static long
state_cmd_count(const char *s)
{
	char	*end;
	long	 n;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < 1 || n > STATE_CMD_COUNT_MAX)
		return -1;
	return n;
}

/* An outbox id (a positive decimal), or -1. */
static int64_t
state_cmd_id(const char *s)
{
	char		*end;
	long long	 n;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < 1)
		return -1;
	return (int64_t)n;
}

/* The STATE_OPT_* an option's getopt value stands for; 0 for -c, -s. */
static int
state_cmd_option_bit(int ch)
{
	switch (ch) {
	case 'd':
		return STATE_OPT_DEST;
	case 'S':
		return STATE_OPT_STATE;
	case 'n':
		return STATE_OPT_COUNT;
	case 't':
		return STATE_OPT_TEAM;
	case 'o':
	case 'r':
		return STATE_OPT_STATUS;
	case 'y':
		return STATE_OPT_YES;
	case 'f':
		return STATE_OPT_FORCE;
	}
	return 0;
}

/* One option's value into args: 0, or 2 (said why) on a bad one. */
static int
state_cmd_option(struct state_cmd_args *args, int ch, const char *arg)
{
	const char	*name = args->name;

	switch (ch) {
	case 'c':
		args->config = arg;
		return 0;
	case 's':
		args->state_dir = arg;
		return 0;
	case 'd':
		args->destination = arg;
		return 0;
	case 'S':
		if (strcmp(arg, "pending") != 0 && strcmp(arg, "done") != 0 &&
		    strcmp(arg, "failed") != 0) {
			fprintf(stderr, "switchboard %s: --state %s: not "
			    "pending, done or failed\n", name, arg);
			return 2;
		}
		args->state = arg;
		return 0;
	case 'n':
		if ((args->count = state_cmd_count(arg)) < 0) {
			fprintf(stderr, "switchboard %s: -n %s: not a count "
			    "from 1 to %ld\n", name, arg, STATE_CMD_COUNT_MAX);
			return 2;
		}
		return 0;
	case 't':
		args->team = arg;
		return 0;
	case 'o':
	case 'r':
		if (args->status != STORE_CONV_ANY &&
		    args->status != (ch == 'o' ? STORE_CONV_OPEN :
		    STORE_CONV_RESOLVED)) {
			fprintf(stderr, "switchboard %s: --open and "
			    "--resolved exclude each other\n", name);
			return 2;
		}
		args->status = ch == 'o' ? STORE_CONV_OPEN :
		    STORE_CONV_RESOLVED;
		return 0;
	case 'y':
		args->yes = true;
		return 0;
	case 'f':
		args->force = true;
		return 0;
	}
	return 2;
}

/*
 * Parse the options and arguments after the action (argv[0] is the
 * action's name, or the tool's): 0, or 2 (said why) on a usage error.
 */
static int
state_cmd_parse(struct state_cmd_args *args, int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "config",		required_argument,	NULL, 'c' },
		{ "state-dir",		required_argument,	NULL, 's' },
		{ "destination",	required_argument,	NULL, 'd' },
		{ "state",		required_argument,	NULL, 'S' },
		{ "count",		required_argument,	NULL, 'n' },
		{ "team",		required_argument,	NULL, 't' },
		{ "open",		no_argument,		NULL, 'o' },
		{ "resolved",		no_argument,		NULL, 'r' },
		{ "yes-really-drop",	no_argument,		NULL, 'y' },
		{ "force",		no_argument,		NULL, 'f' },
		{ NULL,			0,			NULL, 0 }
	};
	const struct state_cmd_action	*a = args->action;
	int				 ch, rc, idx;

	/* 0, not 1: glibc then forgets main's "+" (stop at the first
	 * argument), so options may follow the ids as well. */
	optind = 0;
	opterr = 0;
	for (;;) {
		idx = -1;
		ch = getopt_long(argc, argv, ":c:s:n:", longopts, &idx);
		if (ch == -1)
			break;
		if (ch == '?' || ch == ':') {
			fprintf(stderr, "switchboard %s: %s: %s\n", args->name,
			    argv[optind - 1], ch == ':' ? "needs a value" :
			    "unknown option");
			state_cmd_usage(a->tool);
			return 2;
		}
		/* -n is the one short option a tool may not take. */
		if ((state_cmd_option_bit(ch) & ~a->options) != 0) {
			fprintf(stderr, "switchboard %s: %s%s: not an option "
			    "of this command\n", args->name,
			    idx >= 0 ? "--" : "-", idx >= 0 ?
			    longopts[idx].name : "n");
			state_cmd_usage(a->tool);
			return 2;
		}
		if ((rc = state_cmd_option(args, ch, optarg)) != 0)
			return rc;
	}
	args->argv = argv + optind;
	args->argc = argc - optind;
	if (args->argc < a->min_args ||
	    (a->max_args >= 0 && args->argc > a->max_args)) {
		state_cmd_usage(a->tool);
		return 2;
	}
	return 0;
}

/* The state directory: -s, else the config's.  NULL (said why). */
static char *
state_cmd_dir(const struct state_cmd_args *args)
{
	struct cfg_errors	 errs;
	struct config		*cfg;
	char			*dir;
	size_t			 i;

	if (args->state_dir != NULL)
		return xstrdup(args->state_dir);
	cfg_errors_init(&errs);
	cfg = config_load(args->config, &errs);
	for (i = 0; i < errs.msgs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs.v[i]);
	cfg_errors_free(&errs);
	if (cfg == NULL)
		return NULL;
	dir = xstrdup(cfg->state_directory);
	config_free(cfg);
	return dir;
}

/* The store the tools work on, or NULL (said why). */
static struct store *
state_cmd_store(struct state_cmd_args *args)
{
	struct store	*s;
	char		*cause = NULL;

	args->dir = state_cmd_dir(args);
	if (args->dir == NULL)
		return NULL;
	s = store_open_current(args->dir, &cause);
	if (s == NULL)
		fprintf(stderr, "switchboard: %s\n", cause != NULL ? cause :
		    args->dir);
	free(cause);
	return s;
}

/* s as one tab-separated field: '-' if absent, controls escaped. */
static void
state_cmd_field(FILE *out, const char *s, bool last)
{
	if (s == NULL || s[0] == '\0')
		fputc('-', out);
	for (; s != NULL && *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '\t')
			fputs("\\t", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else if (*s == '\r')
			fputs("\\r", out);
		else
			fputc(*s, out);
	}
	fputc(last ? '\n' : '\t', out);
}

/* A duration for people: "45s", "12m05s", "3h12m", "2d04h". */
static void
state_cmd_duration(int64_t ms, char *out, size_t len)
{
	int64_t	s = ms > 0 ? ms / 1000 : 0;

	if (s < 60)
		snprintf(out, len, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(out, len, "%lldm%02llds", (long long)(s / 60),
		    (long long)(s % 60));
	else if (s < 86400)
		snprintf(out, len, "%lldh%02lldm", (long long)(s / 3600),
		    (long long)(s % 3600 / 60));
	else
		snprintf(out, len, "%lldd%02lldh", (long long)(s / 86400),
		    (long long)(s % 86400 / 3600));
}

static void
state_cmd_outbox_row(FILE *out, const struct outbox_row *r, int64_t now)
{
	char	id[32], attempts[16], next[48], age[32], d[32];

	snprintf(id, sizeof(id), "%lld", (long long)r->id);
	snprintf(attempts, sizeof(attempts), "%d", r->attempts);
	if (r->state == NULL || strcmp(r->state, "pending") != 0)
		strcpy(next, "-");
	else if (r->next_try_ms <= now)
		strcpy(next, "now");
	else {
		state_cmd_duration(r->next_try_ms - now, d, sizeof(d));
		snprintf(next, sizeof(next), "in %s", d);
	}
	state_cmd_duration(now - r->created_ms, age, sizeof(age));
	state_cmd_field(out, id, false);
	state_cmd_field(out, r->destination, false);
	state_cmd_field(out, r->kind, false);
	state_cmd_field(out, r->state, false);
	state_cmd_field(out, r->code, false);
	state_cmd_field(out, attempts, false);
	state_cmd_field(out, next, false);
	state_cmd_field(out, age, false);
	state_cmd_field(out, r->last_error, true);
}

static int
state_cmd_outbox_list(struct state_cmd_args *args, FILE *out)
{
	struct outbox_row	*v;
	struct store		*s;
	int64_t			 now = now_wall_ms();
	size_t			 i, n;
	int			 rc = 1;

	if ((s = state_cmd_store(args)) == NULL)
		return 1;
	if (store_outbox_list(s, args->destination, args->state,
	    args->count > 0 ? (size_t)args->count : SIZE_MAX, &v, &n) != 0)
		fprintf(stderr, "switchboard: the outbox could not be read\n");
	else {
		for (i = 0; i < n; i++)
			state_cmd_outbox_row(out, &v[i], now);
		outbox_rows_free(v, n);
		rc = fflush(out) == 0 ? 0 : 1;
	}
	store_close(s);
	return rc;
}

/*
 * Either ids or --destination, not both: the rows an operator acts on.
 * Fills ids (argc of them); 0, or 2 (said why).
 */
static int
state_cmd_outbox_ids(const struct state_cmd_args *args, int64_t *ids)
{
	int	i;

	if ((args->argc > 0) == (args->destination != NULL)) {
		fprintf(stderr, "switchboard %s: give delivery ids or "
		    "--destination NAME, not both or neither\n", args->name);
		state_cmd_usage("outbox");
		return 2;
	}
	for (i = 0; i < args->argc; i++) {
		ids[i] = state_cmd_id(args->argv[i]);
		if (ids[i] < 0) {
			fprintf(stderr, "switchboard %s: %s: not a delivery "
			    "id (the first column of outbox list)\n",
			    args->name, args->argv[i]);
			return 2;
		}
	}
	return 0;
}

/*
 * Requeue or drop (or, dry, count) the chosen rows in one transaction,
 * all or none: an id that matches no row it may act on rolls the whole
 * back.  *total the rows; 0, or 1 (said why).
 */
static int
state_cmd_outbox_apply(struct state_cmd_args *args, struct store *s,
    const int64_t *ids, bool drop, bool dry, int64_t *total)
{
	int64_t	n, now = now_wall_ms();
	int	i, bad = 0, rc;

	*total = 0;
	if (store_begin(s) != 0) {
		fprintf(stderr, "switchboard: the store is busy or failed; "
		    "nothing changed\n");
		return 1;
	}
	for (i = 0; i < (args->argc > 0 ? args->argc : 1); i++) {
		if (drop)
			rc = store_outbox_drop(s, args->argc > 0 ? ids[i] : 0,
			    args->destination, STATE_CMD_DROP_REASON, dry, &n);
		else
			rc = store_outbox_requeue(s, args->argc > 0 ? ids[i] :
			    0, args->destination, now, &n);
		if (rc != 0) {
			store_rollback(s);
			fprintf(stderr, "switchboard: the store failed; "
			    "nothing changed\n");
			return 1;
		}
		if (n == 0 && args->argc > 0) {
			fprintf(stderr, "switchboard: delivery %lld: %s\n",
			    (long long)ids[i], drop ? "no such pending "
			    "delivery (done and failed ones stay as they are)"
			    : "no such pending or failed delivery (done ones "
			    "are never sent again)");
			bad++;
		}
		*total += n;
	}
	if (bad == 0 && *total == 0) {
		fprintf(stderr, "switchboard: destination %s has no %s "
		    "deliveries\n", args->destination, drop ? "pending" :
		    "pending or failed");
		bad++;
	}
	if (bad > 0 || dry) {
		store_rollback(s);
		if (bad > 0)
			fprintf(stderr, "switchboard: nothing changed\n");
		return bad > 0 ? 1 : 0;
	}
	if (store_commit(s) != 0) {
		store_rollback(s);
		fprintf(stderr, "switchboard: the store failed; nothing "
		    "changed\n");
		return 1;
	}
	return 0;
}

/* What the rows chosen are, for messages.  Caller frees. */
static char *
state_cmd_outbox_what(const struct state_cmd_args *args)
{
	if (args->destination != NULL)
		return xasprintf("of destination %s", args->destination);
	return xasprintf("(%d id%s given)", args->argc,
	    args->argc == 1 ? "" : "s");
}

static int
state_cmd_outbox_retry(struct state_cmd_args *args, FILE *out)
{
	struct store	*s;
	int64_t		*ids, n;
	char		*what;
	int		 rc;

	ids = xcalloc((size_t)args->argc + 1, sizeof(*ids));
	if ((rc = state_cmd_outbox_ids(args, ids)) != 0) {
		free(ids);
		return rc;
	}
	if ((s = state_cmd_store(args)) == NULL) {
		free(ids);
		return 1;
	}
	rc = state_cmd_outbox_apply(args, s, ids, false, false, &n);
	if (rc == 0) {
		what = state_cmd_outbox_what(args);
		fprintf(out, "%lld deliver%s %s due now; the daemon sends "
		    "%s within seconds (after the hold of a destination "
		    "that is down)\n", (long long)n, n == 1 ? "y" : "ies",
		    what, n == 1 ? "it" : "them");
		free(what);
		rc = fflush(out) == 0 ? 0 : 1;
	}
	store_close(s);
	free(ids);
	return rc;
}

static int
state_cmd_outbox_drop(struct state_cmd_args *args, FILE *out)
{
	struct store	*s;
	int64_t		*ids, n;
	char		*what;
	int		 rc;

	ids = xcalloc((size_t)args->argc + 1, sizeof(*ids));
	if ((rc = state_cmd_outbox_ids(args, ids)) != 0) {
		free(ids);
		return rc;
	}
	if ((s = state_cmd_store(args)) == NULL) {
		free(ids);
		return 1;
	}
	what = state_cmd_outbox_what(args);
	rc = state_cmd_outbox_apply(args, s, ids, true, !args->yes, &n);
	if (rc == 0 && !args->yes) {
		fprintf(stderr, "switchboard: this would drop %lld pending "
		    "deliver%s %s, which would then never be sent; nothing "
		    "changed.  Add --yes-really-drop to drop %s.\n",
		    (long long)n, n == 1 ? "y" : "ies", what,
		    n == 1 ? "it" : "them");
		rc = 2;
	} else if (rc == 0) {
		fprintf(out, "%lld deliver%s %s dropped: marked failed "
		    "(\"%s\")\n", (long long)n, n == 1 ? "y" : "ies", what,
		    STATE_CMD_DROP_REASON);
		rc = fflush(out) == 0 ? 0 : 1;
	}
	free(what);
	store_close(s);
	free(ids);
	return rc;
}

static void
state_cmd_conv_row(FILE *out, const struct conversation *c, int64_t now)
{
	char	posts[32], age[32], last[32], *first = NULL, *text, *who;

	snprintf(posts, sizeof(posts), "%lld", (long long)c->nposts);
	state_cmd_duration(now - c->created_ms, age, sizeof(age));
	state_cmd_duration(now - c->updated_ms, last, sizeof(last));
	if (c->first != NULL) {
		text = text_truncate(c->first->text != NULL ? c->first->text :
		    "", STATE_CMD_EXCERPT);
		if (c->first->author_handle != NULL)
			who = xasprintf("@%s", c->first->author_handle);
		else
			who = xstrdup(c->first->author);
		first = xasprintf("%s: %s", who, text);
		free(who);
		free(text);
	}
	state_cmd_field(out, c->code, false);
	state_cmd_field(out, c->team, false);
	state_cmd_field(out, c->open ? "open" : "resolved", false);
	state_cmd_field(out, c->platform, false);
	state_cmd_field(out, posts, false);
	state_cmd_field(out, age, false);
	state_cmd_field(out, last, false);
	state_cmd_field(out, c->claimed_name != NULL &&
	    c->claimed_name[0] != '\0' ? c->claimed_name : c->claimed_by,
	    false);
	state_cmd_field(out, first, true);
	free(first);
}

static int
state_cmd_conv_list(struct state_cmd_args *args, FILE *out)
{
	struct conversation	*v;
	struct store		*s;
	int64_t			 now = now_wall_ms();
	size_t			 i, n;
	int			 rc = 1;

	if ((s = state_cmd_store(args)) == NULL)
		return 1;
	if (store_conversations_list(s, args->team, args->status,
	    args->count > 0 ? (size_t)args->count : SIZE_MAX, &v, &n) != 0)
		fprintf(stderr, "switchboard: the conversations could not be "
		    "read\n");
	else {
		for (i = 0; i < n; i++)
			state_cmd_conv_row(out, &v[i], now);
		conversations_free(v, n);
		rc = fflush(out) == 0 ? 0 : 1;
	}
	store_close(s);
	return rc;
}

/*
 * The chat's own show command, run outside chat: the same text, plain
 * (as Mattermost gets it, unescaped), and no audit record, since no
 * chat user typed it.  show reads the store only.
 */
static int
state_cmd_conv_show(struct state_cmd_args *args, FILE *out)
{
	struct config	 cfg;
	struct cmd_ctx	 ctx;
	struct store	*s;
	enum cmd_retval	 r;
	int		 rc;

	if ((s = state_cmd_store(args)) == NULL)
		return 1;
	memset(&cfg, 0, sizeof(cfg));
	cmd_ctx_init(&ctx, s, &cfg);
	ctx.platform = SLASH_MATTERMOST;
	ctx.entry = &cmd_show_entry;
	r = cmd_show_entry.exec(&ctx, args->argc, args->argv);
	buf_addc(&ctx.out, '\0');
	if (r == CMD_OK) {
		fputs(ctx.out.data, out);
		if (ctx.out.len > 1 && ctx.out.data[ctx.out.len - 2] != '\n')
			fputc('\n', out);
		rc = fflush(out) == 0 ? 0 : 1;
	} else {
		fprintf(stderr, "switchboard: %s\n", ctx.out.data);
		rc = 1;
	}
	cmd_ctx_clear(&ctx);
	store_close(s);
	return rc;
}

/*
 * Whether path is the store itself or one of its files: a backup
 * written there (with --force) would destroy what it copies.
 */
static bool
state_cmd_is_store(const char *dir, const struct stat *target)
{
	static const char *const	 suffixes[] = {
		"", "-wal", "-shm", "-journal"
	};
	struct stat			 sb;
	char				*p;
	size_t				 i;
	bool				 same = false;

	for (i = 0; i < nitems(suffixes) && !same; i++) {
		p = xasprintf("%s/switchboard.db%s", dir, suffixes[i]);
		same = stat(p, &sb) == 0 && sb.st_dev == target->st_dev &&
		    sb.st_ino == target->st_ino;
		free(p);
	}
	return same;
}

/* Remove a failed copy and whatever SQLite left beside it. */
static void
state_cmd_unlink_copy(const char *tmp)
{
	static const char *const	 suffixes[] = {
		"-wal", "-shm", "-journal"
	};
	char				*p;
	size_t				 i;

	unlink(tmp);
	for (i = 0; i < nitems(suffixes); i++) {
		p = xasprintf("%s%s", tmp, suffixes[i]);
		unlink(p);
		free(p);
	}
}

/* fsync path (a file, or with dir set a directory): 0 or -1. */
static int
state_cmd_sync(const char *path, bool dir)
{
	int	fd, rc;

	fd = open(path, O_RDONLY | (dir ? O_DIRECTORY : 0));
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/*
 * Put the verified copy tmp at path.  Without force, link() fails if
 * path appeared meanwhile, so nothing is ever overwritten; a file
 * system without hard links gets a rename after a last look.
 */
static int
state_cmd_install(const char *tmp, const char *path, bool force)
{
	struct stat	sb;

	if (force)
		return rename(tmp, path);
	if (link(tmp, path) == 0) {
		unlink(tmp);
		return 0;
	}
	if (errno == EEXIST)
		return -1;
	if (lstat(path, &sb) == 0) {
		errno = EEXIST;
		return -1;
	}
	return rename(tmp, path);
}

static int
state_cmd_backup(struct state_cmd_args *args, FILE *out)
{
	const char	*path = args->argv[0];
	struct stat	 sb;
	char		*tmp = NULL, *cause = NULL, *dirc;
	int		 fd, rc = 1;

	args->dir = state_cmd_dir(args);
	if (args->dir == NULL)
		return 1;
	if (stat(path, &sb) == 0) {
		if (state_cmd_is_store(args->dir, &sb)) {
			fprintf(stderr, "switchboard: %s is the store itself; "
			    "back it up to another file\n", path);
			goto out;
		}
		if (!args->force) {
			fprintf(stderr, "switchboard: %s exists; add --force "
			    "to replace it\n", path);
			goto out;
		}
	}
	/* Written beside its final name, so a rename puts it in place. */
	tmp = xasprintf("%s.tmp-XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		fprintf(stderr, "switchboard: %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	close(fd);
	if (store_backup(args->dir, tmp, &cause) != 0) {
		fprintf(stderr, "switchboard: backup failed: %s\n", cause);
		state_cmd_unlink_copy(tmp);
		goto out;
	}
	if (state_cmd_sync(tmp, false) != 0 ||
	    state_cmd_install(tmp, path, args->force) != 0) {
		fprintf(stderr, "switchboard: %s: %s\n", path,
		    errno == EEXIST ? "appeared meanwhile; add --force to "
		    "replace it" : strerror(errno));
		state_cmd_unlink_copy(tmp);
		goto out;
	}
	dirc = xstrdup(path);
	state_cmd_sync(dirname(dirc), true);
	free(dirc);
	if (stat(path, &sb) != 0)
		sb.st_size = 0;
	fprintf(out, "%s: a copy of %s/switchboard.db, %lld bytes, "
	    "integrity checked\n", path, args->dir, (long long)sb.st_size);
	rc = fflush(out) == 0 ? 0 : 1;
out:
	free(cause);
	free(tmp);
	return rc;
}

int
state_cmd(int argc, char **argv, const char *config_path,
    const char *state_dir, FILE *out)
{
	struct state_cmd_args	 args;
	int			 rc;

	memset(&args, 0, sizeof(args));
	args.config = config_path;
	args.state_dir = state_dir;
	args.count = -1;
	args.status = STORE_CONV_ANY;
	args.action = state_cmd_find(argc, argv);
	if (args.action == NULL)
		return 2;
	if (args.action->action != NULL) {
		args.name = xasprintf("%s %s", argv[0], argv[1]);
		argc--;
		argv++;
	} else
		args.name = xstrdup(argv[0]);
	rc = state_cmd_parse(&args, argc, argv);
	if (rc == 0)
		rc = args.action->run(&args, out);
	free(args.dir);
	free(args.name);
	return rc;
}
