/*
 * Sink adapters: how a delivery becomes a chat message on one platform.
 * Adapters are pure: they build an HTTP request from a delivery and read
 * the platform's response; the outbox does the sending, rate limiting,
 * retrying and bookkeeping once for all of them.
 */
#ifndef SB_SINK_H
#define SB_SINK_H

#include <jansson.h>
#include <libconfig.h>
#include <stdint.h>

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
/*
 * What kind of note a delivery is, for its first line: NULL for a new
 * post, "Edited by its author", "Deleted by its author", or "Note" for
 * switchboard's own text (delivery.note).
 */
const char	*sink_kind_label(const struct delivery *);
/* Whether the post was not public: a direct or followers-only mention. */
bool		 sink_is_private(const struct post *);

/* "@handle" when known, else the author id.  Caller frees. */
char		*sink_author(const struct post *);

/*
 * Helpers for sink adapters: text work that more than one adapter does
 * the same way.  Not part of the adapter contract above.
 */

/* U+FFFD: what adapters show for invalid bytes and control characters. */
#define SINK_REPLACEMENT	"\xef\xbf\xbd"

/*
 * Walking user text one code point at a time, as every escaper does:
 *
 *	sink_walk_init(&w, s);
 *	while (sink_walk_next(&w))
 *		... w.cp, and its bytes w.p[0 .. w.len - 1] ...
 *
 * A byte that does not start valid UTF-8 is one step with cp
 * SINK_WALK_INVALID.  CR, LF and CRLF are each one step with cp '\n'
 * (w.p still holds the bytes as written), so every adapter ends lines
 * the same way.
 */
#define SINK_WALK_INVALID	UINT32_MAX	/* never a code point */
struct sink_walk {
	const char	*p;	/* this step's bytes in the text */
	size_t		 len;	/* how many */
	uint32_t	 cp;
};
/* Start before the first code point of s (NULL walks ""). */
void		 sink_walk_init(struct sink_walk *, const char *s);
/* Step to the next code point: 1, or 0 at the end of s. */
int		 sink_walk_next(struct sink_walk *);

/*
 * render(text) for text cut so that the result has at most max code
 * points.  Rendering (escaping, quoting) lengthens text unevenly, and
 * cutting its output could split an escape, so the raw text is cut
 * instead (text_truncate): first to start code points, then shorter in
 * proportion to the excess, by at least one each time, down to one.
 * Returns what render returned for the last cut (caller frees).
 */
char		*sink_fit(const char *text, size_t start, size_t max,
		    char *(*render)(const char *));
/*
 * Append url with everything but letters, digits and -._~:/?#@!$&'*+,;=%
 * percent-encoded: what stays cannot end a Markdown link destination
 * or a Slack <url|label> early.
 */
void		 sink_url_encode(struct buf *, const char *url);
/* The post's languages as "en-US, en", cut to max code points.
 * Caller frees. */
char		*sink_langs(const struct post *, size_t max);
/*
 * Fill the request as a POST of msg, compact, to url with the given
 * Content-Type.  Takes msg's reference; NULL means json_pack failed.
 * Returns 0, or -1 with *cause ("type: ...", caller frees).
 */
int		 sink_json_request(struct http_request *, const char *type,
		    const char *url, const char *content_type, json_t *msg,
		    char **cause);

extern const struct sink_ops sink_slack_ops;
extern const struct sink_ops sink_mattermost_ops;
extern const struct sink_ops sink_console_ops;

#endif
