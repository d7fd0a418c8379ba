/*
 * The daemon's configuration: one immutable object built from a
 * libconfig file.  Reload builds a new one, validates it completely and
 * only then swaps it in.
 */
#ifndef SB_CONFIG_H
#define SB_CONFIG_H

#include <libconfig.h>
#include <stdbool.h>

#include "cfg.h"
#include "util.h"

struct source_ops;
struct sink_ops;

/* A rule: which posts a team owns (see README "Routing"). */
struct rule_conf {
	char		*name;
	int		 priority;	/* higher wins; ties: config order */
	/* Content: the rule matches if ANY of these matches
	 * (or if all four are empty). */
	struct strv	 keywords;	/* words or phrases, case-insensitive */
	struct strv	 hashtags;	/* lower-case, without '#' */
	struct strv	 mentions;	/* account ids, e.g. DIDs */
	struct strv	 patterns;	/* POSIX extended regex, icase */
	/* Filters: each non-empty one must hold. */
	struct strv	 authors;	/* only these authors */
	struct strv	 exclude_authors;
	struct strv	 languages;	/* primary subtags: "en", "fr" */
	int		 line;
};

/* A team's chat destination. */
struct chat_conf {
	char			*type;		/* "slack", "mattermost", ... */
	const struct sink_ops	*ops;
	char			*webhook_url;	/* secret; NULL for console */
	double			 rate;		/* messages per second */
	int			 burst;		/* messages allowed at once */
	int			 timeout_ms;	/* per HTTP request */
	void			*settings;	/* ops->configure's, or NULL */
	char			*channel_id;	/* the chat's channel id, whose
						 * slash commands act for this
						 * team; NULL: none */
};

struct team_conf {
	char			*name;
	struct chat_conf	 chat;
	struct rule_conf	*rules;
	size_t			 nrules;
	int			 line;
};

struct source_conf {
	char			*name;
	char			*type;		/* "jetstream", "replay" */
	const struct source_ops	*ops;
	void			*settings;	/* owned by ops->settings_free */
	char			*fingerprint;	/* equal => unchanged on reload */
	int			 line;
};

struct routing_conf {
	char		*fallback_team;	/* NULL: unmatched brand posts ignored */
	struct rule_conf brand;		/* what "mentions the brand" means */
	struct rule_conf *drop;		/* noise dropped before any team, */
	size_t		 ndrop;		/* tried in config order */
};

/*
 * The HTTP listener for slash commands (README "Slash commands").  The
 * listener reads the secrets from the live config on every request, so
 * a reload changes them; address and port need a restart.
 */
struct listener_conf {
	bool		 enabled;	/* the group is present and not off */
	char		*address;	/* IPv4 or IPv6 literal */
	int		 port;
	size_t		 max_body;	/* bytes; larger bodies get 413 */
	char		*slack_signing_secret;	/* secret; NULL: no Slack */
	char		*mattermost_token;	/* secret; NULL: no Mattermost */
};

struct config {
	char			*path;
	char			*state_directory;
	int			 log_level;
	int			 shutdown_timeout_ms;
	struct source_conf	*sources;
	size_t			 nsources;
	struct team_conf	*teams;
	size_t			 nteams;
	struct routing_conf	 routing;
	struct listener_conf	 listener;
};

/*
 * Load and validate path.  On success returns the config; on failure
 * returns NULL and fills errs->msgs with every "FILE:LINE: message".
 */
struct config	*config_load(const char *path, struct cfg_errors *errs);
void		 config_free(struct config *);

const struct team_conf	*config_team(const struct config *, const char *);
const struct source_conf *config_source(const struct config *, const char *);
/* The team whose chat.channel_id is channel_id, or NULL. */
const struct team_conf	*config_team_by_channel(const struct config *,
			    const char *channel_id);

void	cfg_errors_init(struct cfg_errors *);
void	cfg_errors_free(struct cfg_errors *);

#endif
