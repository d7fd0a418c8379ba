/*
 * "switchboard audit": the audit log (every chat command and every
 * publish attempt) printed for people.  It opens the store of the
 * configured state directory as a second reader, which WAL allows while
 * the daemon runs.
 */
#ifndef SB_AUDIT_CMD_H
#define SB_AUDIT_CMD_H

#include <stdio.h>

/*
 * Print the log to out, oldest first, one line per entry:
 * TIME<TAB>USER<TAB>TEAM<TAB>CODE<TAB>ACTION<TAB>RESULT<TAB>TEXT, with
 * TIME in UTC ("2024-05-01T10:00:00Z"), USER "name (id)", an absent
 * field "-", and a backslash, tab, newline or carriage return in a
 * field written as \\, \t, \n or \r.
 *
 * The store is DIR/switchboard.db for state_dir, else the config's
 * general.state_directory (config_path is then loaded).  count (NULL:
 * all) keeps the newest N entries; since ("YYYY-MM-DD", NULL: all)
 * those from that day on, UTC.  Returns the exit code: 0, 1 on an
 * error, 2 on a bad count or date (errors go to stderr).
 */
int	audit_cmd(const char *config_path, const char *state_dir,
	    const char *count, const char *since, FILE *out);

#endif
