/*
 * Sink adapters: how a delivery becomes a chat message on one platform.
 * Adapters are pure: they build an HTTP request from a delivery and read
 * the platform's response; the outbox does the sending, rate limiting,
 * retrying and bookkeeping once for all of them.
 */
#ifndef SB_SINK_H
#define SB_SINK_H

#include <libconfig.h>

#include "cfg.h"
#include "config.h"
#include "http.h"
#include "store.h"

enum sink_result {
	SINK_OK,	/* delivered */
	SINK_RETRY,	/* try again later (429, 5xx, network) */
	SINK_FAIL	/* will never succeed: give up on this delivery */
};

struct sink_ops {
	const char	*type;		/* config: chat.type */
	/* Type-specific config keys, NULL-terminated (may be NULL). */
	const char *const *keys;
	int		 needs_url;	/* chat.webhook_url required */
	double		 default_rate;	/* messages per second */
	int		 default_burst;

	/* Optional: read type-specific keys into chat->settings. */
	int	(*configure)(struct chat_conf *chat,
		    const config_setting_t *group, struct cfg_errors *);
	void	(*settings_free)(void *);

	/*
	 * HTTP sinks: fill req (url, headers, body) for delivery d.
	 * Returns 0, or -1 with *cause (caller frees) if d cannot be sent.
	 */
	int	(*format)(const struct chat_conf *, const struct delivery *d,
		    struct http_request *req, char **cause);
	/*
	 * Optional: classify the response; NULL means sink_classify().
	 * *retry_after_s is set (seconds, >= 0) when the platform said
	 * when to retry.  *cause (caller frees) explains a non-OK result.
	 */
	enum sink_result (*response)(const struct chat_conf *,
		    const struct http_response *, double *retry_after_s,
		    char **cause);

	/* Local sinks (console): deliver now, no HTTP.  NULL for others. */
	enum sink_result (*write)(const struct chat_conf *,
		    const struct delivery *d, char **cause);
};

/* The registered adapter for type, or NULL. */
const struct sink_ops	*sink_find(const char *type);
/* All adapters, NULL-terminated (for tests and --help). */
extern const struct sink_ops *const sink_table[];

/*
 * Default response reading: 2xx OK; 429 RETRY honouring Retry-After;
 * 408, 5xx and transport errors RETRY; other statuses FAIL.
 */
enum sink_result sink_classify(const struct http_response *,
	    double *retry_after_s, char **cause);

/* Shared message parts, so every platform says the same things. */
const char	*sink_platform_name(const char *platform); /* "Bluesky" */
/* "@handle" when known, else the author id.  Caller frees. */
char		*sink_author(const struct post *);

extern const struct sink_ops sink_slack_ops;
extern const struct sink_ops sink_mattermost_ops;
extern const struct sink_ops sink_console_ops;

#endif
