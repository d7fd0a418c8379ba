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

/* What a platform's answer said, besides the result.  Caller frees the
 * strings (sink_answer_clear). */
struct sink_answer {
	/*
	 * >= 0: send nothing more to this destination for this long: a
	 * 429's Retry-After / retry_after / X-RateLimit-Reset-After, or a
	 * rate-limit bucket a success left empty.  -1: no signal.
	 */
	double	 retry_after_s;
	/*
	 * SINK_OK: the platform's id of the message created or updated
	 * (Slack ts, Mattermost post id, Discord message id, Matrix event
	 * id), or NULL when it gives none (incoming webhooks).  The first
	 * one of a conversation in a destination roots its thread.
	 */
	char	*message_id;
	char	*cause;		/* why not SINK_OK, or NULL */
};
void	sink_answer_init(struct sink_answer *);
void	sink_answer_clear(struct sink_answer *);

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
	 * HTTP sinks: fill req (url, headers, body) for delivery d: in
	 * d->thread's thread when set; an edit or deletion of a post shown
	 * as d->message may update that message where the platform can.
	 * Returns 0, or -1 with *cause (caller frees) if d cannot be sent.
	 */
	int	(*format)(const struct chat_conf *, const struct delivery *d,
		    struct http_request *req, char **cause);
	/*
	 * Optional: n (>= 2) post deliveries as one digest message: one
	 * line per post with its code, author and the start of its text,
	 * within the platform's limits; posted in the channel, not a
	 * thread.  NULL: this platform gets no digests.
	 */
	int	(*format_digest)(const struct chat_conf *,
		    const struct delivery *const *d, size_t n,
		    struct http_request *req, char **cause);
	/*
	 * Optional: read the response into *a (initialised by the caller);
	 * NULL means sink_classify().
	 */
	enum sink_result (*response)(const struct chat_conf *,
		    const struct http_response *, struct sink_answer *a);

	/* Local sinks (console): deliver now, no HTTP.  NULL for others. */
	enum sink_result (*write)(const struct chat_conf *,
		    const struct delivery *d, char **cause);
	/* Optional, local sinks: format_digest's message, delivered now. */
	enum sink_result (*write_digest)(const struct chat_conf *,
		    const struct delivery *const *d, size_t n, char **cause);
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
	    struct sink_answer *);

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
/* A digest line's author and text excerpt: at most this many code
 * points each. */
#define SINK_DIGEST_AUTHOR	60
#define SINK_DIGEST_TEXT	80
/*
 * Append " @author: the first 80 characters" to a digest line that
 * holds its code in b (NUL-terminated), keeping the line within max
 * code points: the author, then the text, each rendered by render and
 * left out when it does not fit whole.
 */
void		 sink_digest_tail(struct buf *, const struct post *,
		    size_t max, char *(*render)(const char *));
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

extern const struct sink_ops sink_slack_ops;		/* webhook or Web API */
extern const struct sink_ops sink_mattermost_ops;	/* webhook or API v4 */
extern const struct sink_ops sink_discord_ops;
extern const struct sink_ops sink_teams_ops;
extern const struct sink_ops sink_matrix_ops;
extern const struct sink_ops sink_webhook_ops;		/* generic, signed */
extern const struct sink_ops sink_console_ops;

#endif
