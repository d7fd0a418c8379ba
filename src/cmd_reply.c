/*
 * Replies from chat: who may speak for a team, what is published
 * (the private policy, the code of conduct), drafts and their approval.
 * Nothing here talks to a network: a reply is queued in the store and
 * the publisher (publish.c) takes it from there.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "publish.h"
#include "text.h"

#define CMD_REPLY_DRAFT_CHARS	60	/* of each draft listed */
#define CMD_REPLY_DRAFTS_MAX	20	/* drafts listed */
#define CMD_REPLY_ID_DIGITS	15	/* a reply id, "D12" or "12" */

/* What the user who typed a reply may do with it. */
enum cmd_reply_right {
	CMD_REPLY_REFUSED,
	CMD_REPLY_DRAFT,
	CMD_REPLY_PUBLISH
};

/* A reply being written: what was asked and what it will be. */
struct cmd_reply_job {
	const struct team_conf		*team;
	const struct account_conf	*account;
	struct conversation		 conv;
	long				 nth;	/* 1-based; 0: the latest */
	bool				 public;	/* --public */
	char				*typed;	/* plain text as typed */
	struct conversation_post	*posts;
	size_t				 nposts;
};

static enum cmd_retval	cmd_reply_exec(struct cmd_ctx *, int, char **);
static enum cmd_retval	cmd_reply_approve(struct cmd_ctx *, int, char **);
static enum cmd_retval	cmd_reply_reject(struct cmd_ctx *, int, char **);
static enum cmd_retval	cmd_reply_drafts(struct cmd_ctx *, int, char **);

const struct cmd_entry cmd_reply_entry = {
	.name = "reply",
	.min_args = 2,
	.max_args = 2,
	.usage = "CODE[:N] [--public] TEXT",
	.summary = "publish TEXT as the team's account, in reply to the "
	    "conversation's latest post (or post N as show numbers them)",
	.flags = CMD_REST | CMD_CODE,
	.exec = cmd_reply_exec
};

const struct cmd_entry cmd_approve_entry = {
	.name = "approve",
	.min_args = 1,
	.max_args = 1,
	.usage = "DRAFT",
	.summary = "publish a draft (spokespeople)",
	.exec = cmd_reply_approve
};

const struct cmd_entry cmd_reject_entry = {
	.name = "reject",
	.min_args = 1,
	.max_args = 1,
	.usage = "DRAFT",
	.summary = "drop a draft (spokespeople)",
	.exec = cmd_reply_reject
};

const struct cmd_entry cmd_drafts_entry = {
	.name = "drafts",
	.min_args = 0,
	.max_args = 0,
	.usage = "",
	.summary = "this channel's team's drafts waiting for a spokesperson",
	.exec = cmd_reply_drafts
};

static void
cmd_reply_job_clear(struct cmd_reply_job *job)
{
	conversation_free(&job->conv);
	conversation_posts_free(job->posts, job->nposts);
	free(job->typed);
}

/*
 * "K7QX" or "K7QX:2" into *code (caller frees) and *nth (0 without a
 * number).  -1 if the number is not one.
 */
static int
cmd_reply_target(const char *arg, char **code, long *nth)
{
	const char	*colon = strchr(arg, ':'), *p;
	long		 n = 0;

	*code = NULL;
	*nth = 0;
	if (colon == NULL) {
		*code = xstrdup(arg);
		return 0;
	}
	if (colon == arg || colon[1] == '\0')
		return -1;
	for (p = colon + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || n > 100000)
			return -1;
		n = n * 10 + (*p - '0');
	}
	if (n < 1)
		return -1;
	*code = xstrndup(arg, (size_t)(colon - arg));
	*nth = n;
	return 0;
}

/*
 * The text part of "[--public] TEXT": *public set and the text after
 * it, or NULL if there is no text.
 */
static const char *
cmd_reply_text(const char *rest, bool *public)
{
	static const char	 flag[] = "--public";
	const char		*p = rest;

	*public = false;
	if (strncmp(p, flag, sizeof(flag) - 1) == 0 &&
	    (p[sizeof(flag) - 1] == '\0' || p[sizeof(flag) - 1] == ' ' ||
	    p[sizeof(flag) - 1] == '\t' || p[sizeof(flag) - 1] == '\n')) {
		*public = true;
		p += sizeof(flag) - 1;
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
	}
	return *p != '\0' ? p : NULL;
}

/*
 * Whether the user may publish, only draft, or not reply at all.  While
 * someone holds the baton only they and the spokespeople publish;
 * everyone else who may write a reply writes a draft.  The holder
 * publishes whatever list they are on: a spokesperson handed it over.
 * -1 on a store error.
 */
static int
cmd_reply_right(struct cmd_ctx *ctx, const struct team_conf *team,
    enum cmd_reply_right *right, char **holder)
{
	bool	mine;
	int	rc;

	*holder = NULL;
	if (cmd_allowed(ctx, team, POLICY_APPROVE)) {
		*right = CMD_REPLY_PUBLISH;
		return 0;
	}
	rc = cmd_team_baton(ctx, team, holder, &mine);
	if (rc < 0)
		return -1;
	if (rc == 1 && mine)
		*right = CMD_REPLY_PUBLISH;
	else if (rc == 0 && cmd_allowed(ctx, team, POLICY_PUBLISH))
		*right = CMD_REPLY_PUBLISH;
	else if (cmd_allowed(ctx, team, POLICY_DRAFT))
		*right = CMD_REPLY_DRAFT;
	else
		*right = CMD_REPLY_REFUSED;
	return 0;
}

/*
 * The post replied to: the N-th as show numbers them, or the latest
 * that its author did not delete.  NULL with the answer written.
 */
static const struct post *
cmd_reply_parent(struct cmd_ctx *ctx, struct cmd_reply_job *job)
{
	size_t	max, i;

	max = job->nth > 0 ? (size_t)job->nth : (size_t)job->conv.nposts;
	if (store_conversation_posts(ctx->store, job->conv.id,
	    max > 0 ? max : 1, &job->posts, &job->nposts) != 0) {
		cmd_store_failed(ctx);
		return NULL;
	}
	if (job->nth > 0) {
		if ((size_t)job->nth > job->nposts) {
			cmd_print(ctx, "%s has no post %ld (it has %zu)",
			    job->conv.code, job->nth, job->nposts);
			return NULL;
		}
		if (job->posts[job->nth - 1].deleted) {
			cmd_print(ctx, "post %ld of %s was deleted by its "
			    "author", job->nth, job->conv.code);
			return NULL;
		}
		return job->posts[job->nth - 1].post;
	}
	for (i = job->nposts; i > 0; i--)
		if (!job->posts[i - 1].deleted)
			return job->posts[i - 1].post;
	cmd_print(ctx, "%s has no post left to reply to: its authors "
	    "deleted them", job->conv.code);
	return NULL;
}

/*
 * Everything before the text: the conversation is this team's, nobody
 * else claimed it, the team has an account on its network.
 */
static enum cmd_retval
cmd_reply_prepare(struct cmd_ctx *ctx, const char *target,
    struct cmd_reply_job *job)
{
	char	*code, *holder;

	if (cmd_reply_target(target, &code, &job->nth) != 0) {
		holder = cmd_escape(ctx, target);
		cmd_print(ctx, "\"%s\" is no CODE or CODE:N (N counts the "
		    "posts as show numbers them)", holder);
		free(holder);
		return CMD_ERROR;
	}
	if (cmd_conversation_owned(ctx, code, &job->team, &job->conv) !=
	    CMD_OK) {
		free(code);
		return CMD_ERROR;
	}
	free(code);
	if (job->conv.claimed_by != NULL &&
	    strcmp(job->conv.claimed_by, ctx->user_id) != 0) {
		holder = cmd_escape(ctx, job->conv.claimed_name != NULL &&
		    job->conv.claimed_name[0] != '\0' ?
		    job->conv.claimed_name : job->conv.claimed_by);
		cmd_print(ctx, "claimed by %s: only they reply to %s until "
		    "they (or a spokesperson) %s unclaim %s", holder,
		    job->conv.code, cmd_command_name(ctx), job->conv.code);
		free(holder);
		return CMD_ERROR;
	}
	job->account = config_team_account(ctx->config, job->team,
	    job->conv.platform);
	if (job->account == NULL)
		return cmd_error(ctx, "%s has no %s account to reply with "
		    "(teams.reply.accounts)", job->team->name,
		    job->conv.platform);
	return CMD_OK;
}

/* Queue the reply and answer; the text is final and checked. */
static enum cmd_retval
cmd_reply_queue(struct cmd_ctx *ctx, struct cmd_reply_job *job,
    const struct post *parent, const char *text, bool draft,
    const char *holder)
{
	struct reply	 r;
	int64_t		 id;
	const char	*name = ctx->user_name;
	char		*shown;

	memset(&r, 0, sizeof(r));
	r.state = draft ? REPLY_DRAFT : REPLY_PENDING;
	r.conversation = job->conv.id;
	r.code = job->conv.code;
	r.team = job->team->name;
	r.account = job->account->name;
	r.parent = (struct post *)parent;
	r.text = (char *)text;
	r.user_id = (char *)ctx->user_id;
	r.user_name = (char *)(name != NULL && name[0] != '\0' ? name :
	    NULL);
	if (store_reply_add(ctx->store, &r, &id) != 0)
		return cmd_store_failed(ctx);
	if (!draft) {
		ctx->queued = true;
		cmd_print(ctx, "reply R%lld to %s queued as %s; the result "
		    "will be posted in the thread", (long long)id,
		    job->conv.code, job->account->name);
		return CMD_OK;
	}
	/* The spokespeople are in the channel: they see what waits. */
	ctx->in_channel = true;
	cmd_print(ctx, "draft D%lld waits for a spokesperson: %s approve "
	    "D%lld", (long long)id, cmd_command_name(ctx), (long long)id);
	if (holder != NULL) {
		shown = cmd_escape(ctx, holder);
		cmd_print(ctx, "(%s holds the baton for %s)", shown,
		    job->team->name);
		free(shown);
	}
	shown = cmd_escape(ctx, cmd_who(ctx));
	cmd_print(ctx, "%s, by %s:", job->conv.code, shown);
	free(shown);
	shown = cmd_escape(ctx, text);
	cmd_print(ctx, "%s", shown);
	free(shown);
	return CMD_OK;
}

/*
 * reply CODE[:N] [--public] TEXT.  The checks run in the order a person
 * can fix them: where, whose, who may, what.
 */
static enum cmd_retval
cmd_reply_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct cmd_reply_job	 job;
	const struct post	*parent;
	enum cmd_reply_right	 right;
	const char		*text, *said;
	char			*final = NULL, *cause = NULL, *holder = NULL;
	bool			 private;
	enum cmd_retval		 ret = CMD_ERROR;

	(void)argc;
	memset(&job, 0, sizeof(job));
	said = cmd_reply_text(argv[1], &job.public);
	if (said == NULL)
		return cmd_error(ctx, "usage: %s reply %s",
		    cmd_command_name(ctx), cmd_reply_entry.usage);
	if (cmd_reply_prepare(ctx, argv[0], &job) != CMD_OK)
		goto out;
	if (cmd_reply_right(ctx, job.team, &right, &holder) != 0) {
		ret = cmd_store_failed(ctx);
		goto out;
	}
	if (right == CMD_REPLY_REFUSED) {
		cmd_print(ctx, "you may not reply for %s: ask a spokesperson",
		    job.team->name);
		goto out;
	}
	if (job.public && !cmd_allowed(ctx, job.team, POLICY_APPROVE)) {
		cmd_print(ctx, "only a spokesperson may reply --public");
		goto out;
	}
	parent = cmd_reply_parent(ctx, &job);
	if (parent == NULL)
		goto out;
	job.typed = cmd_unescape(ctx, said);
	private = policy_private(&job.team->reply, job.conv.first_rule) &&
	    job.team->reply.private_invitation != NULL;
	text = private && !job.public ? job.team->reply.private_invitation :
	    job.typed;
	final = publish_compose(job.account, parent, text);
	if (policy_check(&job.team->reply, job.account, final, &cause) !=
	    0) {
		cmd_print(ctx, "not sent: %s", cause != NULL ? cause :
		    "the code of conduct refuses it");
		goto out;
	}
	ret = cmd_reply_queue(ctx, &job, parent, final,
	    right == CMD_REPLY_DRAFT, holder);
	if (ret == CMD_OK && private && !job.public)
		cmd_print(ctx, "%s falls under %s's private policy: the "
		    "invitation goes out instead of your text (a "
		    "spokesperson may reply --public)", job.conv.code,
		    job.team->name);
out:
	free(cause);
	free(final);
	free(holder);
	cmd_reply_job_clear(&job);
	return ret;
}

/* "D12", "d12" or "12": the reply id, or -1. */
static int64_t
cmd_reply_draft_id(const char *arg)
{
	const char	*p = arg;
	int64_t		 id = 0;
	size_t		 n = 0;

	if (*p == 'D' || *p == 'd')
		p++;
	for (; *p != '\0'; p++, n++) {
		if (*p < '0' || *p > '9' || n >= CMD_REPLY_ID_DIGITS)
			return -1;
		id = id * 10 + (*p - '0');
	}
	return n > 0 && id > 0 ? id : -1;
}

/*
 * The draft named by arg, of the team whose channel this is, decided by
 * one of its spokespeople: CMD_OK with *r (reply_free it) and *team, or
 * CMD_ERROR with the answer written.
 */
static enum cmd_retval
cmd_reply_draft(struct cmd_ctx *ctx, const char *arg, const char *verb,
    struct reply *r, const struct team_conf **team)
{
	static const char *const states[] = {
		[REPLY_DRAFT] = "a draft",
		[REPLY_PENDING] = "approved and waits to be published",
		[REPLY_DONE] = "published",
		[REPLY_FAILED] = "approved, and its publishing failed",
		[REPLY_REJECTED] = "rejected"
	};
	char	*shown;
	int64_t	 id;
	int	 rc;

	*team = cmd_team(ctx);
	if (*team == NULL)
		return cmd_error(ctx, "this channel belongs to no team");
	id = cmd_reply_draft_id(arg);
	rc = id > 0 ? store_reply_get(ctx->store, id, r) : 0;
	if (rc < 0)
		return cmd_store_failed(ctx);
	if (rc == 0) {
		shown = cmd_escape(ctx, arg);
		cmd_print(ctx, "no draft \"%s\"", shown);
		free(shown);
		return CMD_ERROR;
	}
	free(ctx->code);
	ctx->code = xstrdup(r->code);
	if (strcmp(r->team, (*team)->name) != 0) {
		cmd_print(ctx, "D%lld belongs to %s: it is decided in that "
		    "team's channel", (long long)r->id, r->team);
		reply_free(r);
		return CMD_ERROR;
	}
	if (!cmd_allowed(ctx, *team, POLICY_APPROVE)) {
		cmd_print(ctx, "only a spokesperson of %s may %s drafts",
		    (*team)->name, verb);
		reply_free(r);
		return CMD_ERROR;
	}
	if (r->state != REPLY_DRAFT) {
		cmd_print(ctx, "D%lld is not a draft: it was %s",
		    (long long)r->id, states[r->state]);
		reply_free(r);
		return CMD_ERROR;
	}
	return CMD_OK;
}

/*
 * The text is checked again against the code of conduct as configured
 * now: a draft may have waited through a reload that blocked a word.
 */
static enum cmd_retval
cmd_reply_approve(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct team_conf		*team;
	const struct account_conf	*account;
	struct reply			 r;
	char				*cause = NULL, *who;
	enum cmd_retval			 ret = CMD_ERROR;
	int				 rc;

	(void)argc;
	if (cmd_reply_draft(ctx, argv[0], "approve", &r, &team) != CMD_OK)
		return CMD_ERROR;
	/* A reload may have taken the account from the team since. */
	account = config_account(ctx->config, r.account);
	if (account == NULL || config_team_account(ctx->config, team,
	    account->type) != account) {
		cmd_print(ctx, "D%lld cannot be published: %s is no longer "
		    "one of %s's accounts", (long long)r.id, r.account,
		    team->name);
		goto out;
	}
	if (policy_check(&team->reply, account, r.text, &cause) != 0) {
		cmd_print(ctx, "D%lld not approved: %s", (long long)r.id,
		    cause != NULL ? cause : "the code of conduct refuses it");
		goto out;
	}
	rc = store_reply_decide(ctx->store, r.id, true, cmd_who(ctx));
	if (rc < 0) {
		ret = cmd_store_failed(ctx);
		goto out;
	}
	if (rc == 1) {
		cmd_print(ctx, "D%lld is not a draft any more",
		    (long long)r.id);
		goto out;
	}
	ctx->queued = true;
	ctx->in_channel = true;
	who = cmd_escape(ctx, cmd_who(ctx));
	cmd_print(ctx, "D%lld approved by %s: reply R%lld to %s queued as "
	    "%s; the result will be posted in the thread", (long long)r.id,
	    who, (long long)r.id, r.code, account->name);
	free(who);
	ret = CMD_OK;
out:
	free(cause);
	reply_free(&r);
	return ret;
}

static enum cmd_retval
cmd_reply_reject(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct team_conf	*team;
	struct reply		 r;
	char			*who;
	enum cmd_retval		 ret = CMD_ERROR;
	int			 rc;

	(void)argc;
	if (cmd_reply_draft(ctx, argv[0], "reject", &r, &team) != CMD_OK)
		return CMD_ERROR;
	rc = store_reply_decide(ctx->store, r.id, false, cmd_who(ctx));
	if (rc < 0)
		ret = cmd_store_failed(ctx);
	else if (rc == 1)
		cmd_print(ctx, "D%lld is not a draft any more",
		    (long long)r.id);
	else {
		ctx->in_channel = true;
		who = cmd_escape(ctx, cmd_who(ctx));
		cmd_print(ctx, "D%lld for %s rejected by %s", (long long)r.id,
		    r.code, who);
		free(who);
		ret = CMD_OK;
	}
	reply_free(&r);
	return ret;
}

static enum cmd_retval
cmd_reply_drafts(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct team_conf	*team;
	struct reply		*v;
	size_t			 i, n;
	char			*t, *p, *who, *what;

	(void)argc;
	(void)argv;
	team = cmd_team(ctx);
	if (team == NULL)
		return cmd_error(ctx, "this channel belongs to no team");
	if (store_replies(ctx->store, 0, team->name, REPLY_DRAFT, &v,
	    &n) != 0)
		return cmd_store_failed(ctx);
	if (n == 0)
		cmd_print(ctx, "%s: no drafts", team->name);
	else
		cmd_print(ctx, "%s: %zu draft%s, oldest first (%s approve "
		    "DRAFT, %s reject DRAFT):", team->name, n,
		    n == 1 ? "" : "s", cmd_command_name(ctx),
		    cmd_command_name(ctx));
	for (i = 0; i < n && i < CMD_REPLY_DRAFTS_MAX; i++) {
		t = text_truncate(v[i].text != NULL ? v[i].text : "",
		    CMD_REPLY_DRAFT_CHARS);
		for (p = t; *p != '\0'; p++)
			if (*p == '\n' || *p == '\r' || *p == '\t')
				*p = ' ';
		who = cmd_escape(ctx, v[i].user_name != NULL ?
		    v[i].user_name : v[i].user_id != NULL ? v[i].user_id :
		    "?");
		what = cmd_escape(ctx, t);
		cmd_print(ctx, "D%lld for %s by %s: %s", (long long)v[i].id,
		    v[i].code, who, what);
		free(what);
		free(who);
		free(t);
	}
	if (n > CMD_REPLY_DRAFTS_MAX)
		cmd_print(ctx, "… and %zu more", n - CMD_REPLY_DRAFTS_MAX);
	replies_free(v, n);
	return CMD_OK;
}
