/*
 * "switchboard route": a dry run of the router over recorded Jetstream
 * frames.  No network, no state on disk.
 */
#ifndef SB_ROUTE_CMD_H
#define SB_ROUTE_CMD_H

#include <stdio.h>

/*
 * Route every post in the file at path (one Jetstream message per line)
 * with the config at config_path, printing to out one line per post:
 * TEAM<TAB>RULE<TAB>POST_ID<TAB>EXCERPT, where TEAM is a team name,
 * "drop" or "ignore".  Returns the process exit code.
 */
int	route_cmd(const char *config_path, const char *path, FILE *out);

#endif
