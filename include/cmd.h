/*
 * Chat commands ("/sb show K7QX"): the table of commands, as tmux's
 * cmd_table[].  cmd.c splits the text, finds the entry by its exact
 * name and checks the argument count before exec runs; each command
 * family lives in its own cmd_<family>.c and exports only its entries.
 * Commands answer in text that goes back to the one user who typed them
 * (an ephemeral message); they never post to a channel themselves.
 */
#ifndef SB_CMD_H
#define SB_CMD_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
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

struct cmd_entry;

/* One command being run.  Everything is borrowed except out. */
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
};

struct cmd_entry {
	const char	*name;
	int		 min_args;
	int		 max_args;	/* -1: unbounded */
	const char	*usage;		/* "CODE TEAM": the arguments */
	int		 flags;		/* CMD_REST */
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

/* Set up ctx for one command; the caller fills the borrowed fields. */
void		 cmd_ctx_init(struct cmd_ctx *, struct store *,
		    const struct config *);
void		 cmd_ctx_clear(struct cmd_ctx *);

/*
 * Run the command in text (everything after "/sb"): its answer is left
 * in ctx->out.  Empty text and "help" list the commands; an unknown
 * name gets a short help, a wrong argument count its usage line.
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

/* The JSON body of an answer: {"response_type":"ephemeral" (or
 * "in_channel"), "text":...}; Slack and Mattermost both accept it.
 * Caller frees. */
char		*cmd_answer_json(const char *text, bool in_channel);

#endif
