/*
 * Chat commands ("/sb show K7QX"): the table of commands, as tmux's
 * cmd_table[].  cmd.c splits the text, finds the entry by its exact
 * name and checks the argument count before exec runs; each command
 * family lives in its own cmd_<family>.c and exports only its entries.
 * Commands answer in text that goes back to the one user who typed them
 * (an ephemeral message), or to everyone in the channel when the team
 * should see it (in_channel: a claim, a note, the baton).  cmd_run
 * records every command in the store's audit log.
 */
#ifndef SB_CMD_H
#define SB_CMD_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "policy.h"
#include "slash.h"
#include "store.h"
#include "util.h"

/* What exec returns; the answer text is in the context either way. */
enum cmd_retval {
	CMD_OK,
	CMD_ERROR
};

/* The last argument takes the rest of the line, spaces and all. */
#define CMD_REST	0x1
/* The first argument is a conversation code ("K7QX", "K7QX:2"): the
 * audit log records it even when no such conversation exists. */
#define CMD_CODE	0x2

struct cmd_entry;

/* One command being run.  Everything is borrowed except out and code. */
struct cmd_ctx {
	struct store		*store;
	const struct config	*config;
	enum slash_platform	 platform;	/* for escaping the answer */
	const char		*command;	/* as typed; NULL: "/sb" */
	const char		*channel_id;	/* where typed; may be "" */
	const char		*user_id;
	const char		*user_name;	/* may be "" */
	int64_t			 now_ms;	/* wall clock, for ages */
	struct buf		 out;		/* the answer so far */
	bool			 in_channel;	/* the answer is for everyone
						 * in the channel, not only
						 * the caller */
	bool			 queued;	/* a reply was queued or
						 * approved: kick the
						 * publisher */
	const struct cmd_entry	*entry;		/* the one running */
	char			*code;		/* the conversation acted on,
						 * for the audit log; set by
						 * cmd_conversation_find */
};

struct cmd_entry {
	const char	*name;
	int		 min_args;
	int		 max_args;	/* -1: unbounded */
	const char	*usage;		/* "CODE TEAM": the arguments */
	const char	*summary;	/* what it does, for help */
	int		 flags;		/* CMD_REST, CMD_CODE */
	/*
	 * Run with argv[0..argc-1] the arguments (the name not included;
	 * argc within the entry's bounds).  The answer goes to ctx->out
	 * through cmd_print or cmd_error; argv is borrowed.
	 */
	enum cmd_retval	 (*exec)(struct cmd_ctx *, int argc, char **argv);
};

/* The conversation commands (cmd_conversation.c). */
extern const struct cmd_entry	cmd_show_entry;
extern const struct cmd_entry	cmd_assign_entry;
extern const struct cmd_entry	cmd_resolve_entry;
extern const struct cmd_entry	cmd_reopen_entry;
extern const struct cmd_entry	cmd_queue_entry;
extern const struct cmd_entry	cmd_claim_entry;
extern const struct cmd_entry	cmd_unclaim_entry;
extern const struct cmd_entry	cmd_note_entry;

/* Replies and drafts (cmd_reply.c). */
extern const struct cmd_entry	cmd_reply_entry;
extern const struct cmd_entry	cmd_approve_entry;
extern const struct cmd_entry	cmd_reject_entry;
extern const struct cmd_entry	cmd_drafts_entry;

/* A team's voice and filters (cmd_team.c). */
extern const struct cmd_entry	cmd_baton_entry;
extern const struct cmd_entry	cmd_mute_entry;
extern const struct cmd_entry	cmd_unmute_entry;

/* Set up ctx for one command; the caller fills the borrowed fields. */
void		 cmd_ctx_init(struct cmd_ctx *, struct store *,
		    const struct config *);
void		 cmd_ctx_clear(struct cmd_ctx *);

/*
 * Run the command in text (everything after "/sb"): its answer is left
 * in ctx->out.  Empty text and "help" list the commands; an unknown
 * name gets a short help, a wrong argument count its usage line.
 * Every run, refused or not, adds an audit entry (action "command").
 * A store transaction is opened (store_begin) for the command's changes
 * and that entry; the caller commits it.
 */
enum cmd_retval	 cmd_run(struct cmd_ctx *, const char *text);

/* The entry named exactly name, or NULL. */
const struct cmd_entry *cmd_find(const char *name);

/*
 * Split text on white space into out (initialised here; strv_free it).
 * With rest, at most max words are made and the last takes the rest
 * of the line, trimmed at both ends; max < 0 means no limit.
 */
void		 cmd_split(const char *text, int max, bool rest,
		    struct strv *out);

/* Append one line to the answer; user-supplied text goes in through
 * cmd_escape so it cannot become a mention or a link. */
void		 cmd_print(struct cmd_ctx *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* cmd_print, and CMD_ERROR to return from exec. */
enum cmd_retval	 cmd_error(struct cmd_ctx *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* s made safe to show on ctx's platform.  Caller frees. */
char		*cmd_escape(const struct cmd_ctx *, const char *s);

/*
 * What the user typed, as plain text: Slack escapes '&', '<' and '>'
 * in a command's text and may send mentions, channels and links as
 * <@U024BE7LH|alice>, <#C1|general>, <https://x.example|x.example>;
 * these become "@alice", "#general" and the URL.  Mattermost sends the
 * text as typed.  Caller frees.
 */
char		*cmd_unescape(const struct cmd_ctx *, const char *s);

/* The command word as the user's chat calls it: ctx->command, else
 * commands.name, else "/sb". */
const char	*cmd_command_name(const struct cmd_ctx *);
/* Who typed the command, for answers and records: the user's name, or
 * their id when the chat sent no name. */
const char	*cmd_who(const struct cmd_ctx *);
/* The team whose channel the command was typed in, or NULL. */
const struct team_conf *cmd_team(const struct cmd_ctx *);
/* policy_allows for the user who typed the command. */
bool		 cmd_allowed(const struct cmd_ctx *, const struct team_conf *,
		    enum policy_action);
/* The answer to a failed store call; returns CMD_ERROR. */
enum cmd_retval	 cmd_store_failed(struct cmd_ctx *);
/*
 * The conversation named by code (case-insensitive) into *c
 * (conversation_free it) and its code into ctx->code: CMD_OK, or
 * CMD_ERROR with the answer written ("no conversation with code ...").
 */
enum cmd_retval	 cmd_conversation_find(struct cmd_ctx *, const char *code,
		    struct conversation *c);
/*
 * cmd_conversation_find for a conversation owned by the team whose
 * channel this is (*team): commands that speak or act for the team.
 * CMD_ERROR with the answer written if the channel is no team's or
 * another team owns it (the answer names it).
 */
enum cmd_retval	 cmd_conversation_owned(struct cmd_ctx *, const char *code,
		    const struct team_conf **team, struct conversation *c);

/*
 * Who holds team's baton (cmd_team.c): 1 with *name (their name, or id
 * if the chat gave none; caller frees) and *mine (the user who typed
 * the command holds it), 0 if nobody does, -1 on a store error.
 */
int		 cmd_team_baton(const struct cmd_ctx *,
		    const struct team_conf *, char **name, bool *mine);

/* The JSON body of an answer: {"response_type":"ephemeral" (or
 * "in_channel"), "text":...}; Slack and Mattermost both accept it.
 * Caller frees. */
char		*cmd_answer_json(const char *text, bool in_channel);

#endif
