/*
 * Private to config.c, config_reply.c, config_watch.c and
 * config_include.c: the helpers they share while reading a file, and
 * the steps config.c calls in order.
 */
#ifndef SB_CONFIG_PARSE_H
#define SB_CONFIG_PARSE_H

#include "cfg.h"
#include "config.h"

/*
 * Refuse, with FILE:LINE, an @include in path (or in what it includes)
 * that names something other than a regular file under basedir:
 * libconfig 1.5 would exit() reading it.  0, or -1 with errs added.
 */
int	config_check_includes(const char *path, const char *basedir,
	    struct cfg_errors *);

/* g's required "name", [a-z0-9][a-z0-9_-]{0,31}; NULL if not. */
char	*config_name(const config_setting_t *g, struct cfg_errors *);
/* parent's optional group key: NULL when absent or (error) no group. */
const config_setting_t *config_group(const config_setting_t *parent,
	    const char *key, struct cfg_errors *);

/* The top-level accounts list into c; before the teams, which name them. */
void	config_accounts(struct config *c, const config_setting_t *root,
	    struct cfg_errors *);
/* team's reply group into t->reply; t's rules must be read already. */
void	config_reply(struct team_conf *t, const config_setting_t *team,
	    const struct config *c, struct cfg_errors *);
/* The top-level commands group into c->commands. */
void	config_commands(struct config *c, const config_setting_t *root,
	    struct cfg_errors *);
/* The top-level socket_mode group into c->socket_mode. */
void	config_socket_mode(struct config *c, const config_setting_t *root,
	    struct cfg_errors *);
/* Frees (secrets wiped) what the four above put in c; not c itself. */
void	config_reply_free(struct config *c);

/* Each team's watch group (teams is the list read into c->teams);
 * after every team, since it names their rules. */
void	config_watch(struct config *c, const config_setting_t *teams,
	    struct cfg_errors *);
/* The top-level storms group into c->storms; after the teams. */
void	config_storms(struct config *c, const config_setting_t *root,
	    struct cfg_errors *);
/* Frees what the two above put in c. */
void	config_watch_free(struct config *c);

#endif
