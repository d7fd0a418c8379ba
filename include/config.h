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
	/* Delivery that survives anything (README "Delivery"). */
	int			 down_after;	/* consecutive failed attempts
						 * before the destination is
						 * reported down (default 5) */
	int			 digest_after;	/* queued posts beyond which they
						 * go out as digests (default:
						 * a minute at the rate, >= 5) */
	int			 digest_max;	/* posts per digest (default 20) */
};

/*
 * A social account replies are published as (README "Replies").  One
 * account may serve several teams; a team has at most one per network.
 */
struct account_conf {
	char		*name;
	char		*type;		/* the network: "mastodon", "bluesky",
					 * "nostr" (a post's platform) */
	char		*base_url;	/* Mastodon instance, Bluesky PDS;
					 * NULL for Nostr.  No trailing '/' */
	char		*access_token;	/* secret: Mastodon */
	char		*identifier;	/* Bluesky handle or DID */
	char		*app_password;	/* secret: Bluesky */
	char		*secret_key;	/* secret: Nostr, 64 lower-case hex
					 * (an nsec in the file is decoded) */
	struct strv	 relays;	/* Nostr: ws:// or wss:// URLs */
	size_t		 max_length;	/* as the network counts (policy.h):
					 * Mastodon 500, Bluesky 300,
					 * Nostr 2000 by default */
	int		 timeout_ms;	/* per request or relay answer */
	int		 line;
};

/*
 * Who in a team's chat may do what, and what a reply may say.  User
 * lists hold chat user ids ("U024BE7LH") or names ("alice", '@'
 * optional, case-insensitive); "*" is everyone in the team's channel.
 */
struct reply_conf {
	struct strv	 accounts;	/* account names, one per network */
	struct strv	 publishers;	/* may publish a reply */
	struct strv	 drafters;	/* may only draft one */
	struct strv	 spokespeople;	/* publish, approve, override the
					 * private policy, hand the baton */
	struct strv	 managers;	/* assign, mute for the team */
	/* The code of conduct, checked before anything is published. */
	struct strv	 blocked_words;	/* words or phrases, case-insensitive */
	bool		 links_restricted; /* allowed_domains was given */
	struct strv	 allowed_domains; /* and subdomains; lower-case */
	char		*sign_off;	/* a reply must end with it; or NULL */
	/* Conversations first routed by one of these rules are answered
	 * with the invitation instead of the text. */
	struct strv	 private_rules;
	char		*private_invitation;	/* NULL iff private_rules empty */
};

struct team_conf {
	char			*name;
	struct chat_conf	 chat;
	struct reply_conf	 reply;
	struct rule_conf	*rules;
	size_t			 nrules;
	/*
	 * Watching (README "Watchers"): this team also gets a read-only copy
	 * of posts owned by these teams, or routed by these rules
	 * ("team/rule"), saying who owns the conversation.
	 */
	struct strv		 watch_teams;
	struct strv		 watch_rules;
	int			 line;
};

/*
 * Storm alerts (README "Storms"): a team's or rule's volume against
 * its own rolling baseline.  Enabled when alert_team is set.
 */
struct storm_conf {
	char		*alert_team;	/* who is told; NULL: no storm alerts */
	double		 factor;	/* current rate / baseline (default 4) */
	int		 min_posts;	/* in the window, to count (default 20) */
	int		 window_s;	/* current rate measured over (300) */
	int		 baseline_s;	/* baseline averaged over (86400) */
	int		 calm_s;	/* below threshold this long ends it (600) */
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

/* The chat commands themselves (README "Commands"). */
struct commands_conf {
	char		*name;		/* the command word shown in help: "/sb" */
	struct strv	 admins;	/* may do anything in any team,
					 * including a global mute */
};

/*
 * Slack Socket Mode: commands over a websocket the daemon opens, for a
 * daemon with no public address.  Enabled when app_token is set.
 */
struct socket_mode_conf {
	char		*app_token;	/* secret: "xapp-..."; NULL: off */
	char		*api_url;	/* default "https://slack.com/api" */
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
	struct account_conf	*accounts;
	size_t			 naccounts;
	struct commands_conf	 commands;
	struct socket_mode_conf	 socket_mode;
	struct storm_conf	 storms;
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

const struct account_conf *config_account(const struct config *,
			    const char *name);
/* The account team replies with on network (a post's platform), or
 * NULL if it has none. */
const struct account_conf *config_team_account(const struct config *,
			    const struct team_conf *, const char *network);
/* A deep copy, for work that may outlive a reload.  Free with
 * account_conf_free. */
struct account_conf	*account_conf_dup(const struct account_conf *);
void			 account_conf_free(struct account_conf *);

void	cfg_errors_init(struct cfg_errors *);
void	cfg_errors_free(struct cfg_errors *);

#endif
