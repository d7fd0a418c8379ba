/*
 * "switchboard status": a one-screen summary for a person.  Queues,
 * open conversations and pending replies come from the store (a second
 * reader, which WAL allows while the daemon runs); what only the
 * running daemon knows (source connections, lag, reconnects, which
 * destinations are down) from its GET /metrics on the listener.
 */
#ifndef SB_STATUS_CMD_H
#define SB_STATUS_CMD_H

#include <stdio.h>

/*
 * Print the summary to out.  The config (config_path) names the
 * sources, teams and accounts; the store is DIR/switchboard.db for
 * state_dir, else general.state_directory.  url ("http://HOST:PORT",
 * NULL: the configured listener's address and port) is where the
 * daemon answers; when it does not, the summary says "daemon not
 * reachable" and shows what the store knows.  Returns the exit code:
 * 0, 1 on an error (config, store), 2 on a bad url.
 */
int	status_cmd(const char *config_path, const char *state_dir,
	    const char *url, FILE *out);

#endif
