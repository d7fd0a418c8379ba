/*
 * The state tools an operator runs beside the daemon:
 *
 *   switchboard outbox list [--destination NAME] [--state STATE] [-n N]
 *   switchboard outbox retry (ID... | --destination NAME)
 *   switchboard outbox drop (ID... | --destination NAME) --yes-really-drop
 *   switchboard conversations list [--team T] [--open | --resolved] [-n N]
 *   switchboard conversations show CODE
 *   switchboard backup [--force] FILE
 *
 * Each takes -c FILE and -s DIR as "switchboard audit" does and opens
 * the store of the state directory as a second connection, which WAL
 * allows while the daemon runs.  They never create or migrate a store.
 * The daemon notices an operator's change to its outbox within a few
 * seconds (it watches the store's data version).
 */
#ifndef SB_STATE_CMD_H
#define SB_STATE_CMD_H

#include <stdbool.h>
#include <stdio.h>

/* Whether name ("outbox", "conversations", "backup") is a state tool. */
bool	state_cmd_known(const char *name);

/*
 * Run the state tool argv[0] with its arguments argv[1..argc-1]
 * (options may come anywhere after the tool's action).  config_path
 * and state_dir are what the options before the tool's name gave
 * (state_dir may be NULL).  Results go to out, errors to stderr.
 * Returns the exit code: 0, 1 on an error (no store, a store error,
 * an unknown id or code, nothing matched), 2 on a usage error or a
 * drop without --yes-really-drop.
 */
int	state_cmd(int argc, char **argv, const char *config_path,
	    const char *state_dir, FILE *out);

#endif
