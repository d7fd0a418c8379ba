/*
 * Slash commands as chat servers send them: checking that a request
 * really comes from Slack (signed body, fresh timestamp, not replayed)
 * or Mattermost (shared token), and decoding its form body.  Pure: no
 * I/O, the clock is an argument.
 */
#ifndef SB_SLASH_H
#define SB_SLASH_H

#include <stddef.h>
#include <time.h>

/* How far a Slack timestamp may be from our clock, either way. */
#define SLASH_MAX_SKEW		300
/* Replay cache entries: more valid requests in one window are refused. */
#define SLASH_REPLAY_MAX	4096

enum slash_platform {
	SLASH_SLACK,
	SLASH_MATTERMOST
};

/* A decoded command; absent fields are "" (never NULL after parsing). */
struct slash_request {
	enum slash_platform	 platform;
	char			*team_id;
	char			*channel_id;
	char			*user_id;
	char			*user_name;
	char			*command;	/* "/switchboard" */
	char			*text;		/* everything after it */
	char			*response_url;
	char			*trigger_id;
};

struct slash_replay;

/* Recently accepted Slack (timestamp, signature) pairs. */
struct slash_replay	*slash_replay_new(void);
void			 slash_replay_free(struct slash_replay *);
size_t			 slash_replay_count(const struct slash_replay *);

/*
 * Verify a Slack request: signature is X-Slack-Signature, timestamp
 * X-Slack-Request-Timestamp (either may be NULL: missing), body the raw
 * bytes.  Checks, in order, the header shapes, the timestamp against now
 * (SLASH_MAX_SKEW), the HMAC (constant time) and, if replay is not
 * NULL, that the pair was not accepted before (it is then remembered).
 * 0, or -1 with *cause (no secret in it).
 */
int	slash_slack_verify(const char *secret, const char *timestamp,
	    const char *signature, const char *body, size_t len, time_t now,
	    struct slash_replay *replay, char **cause);

/*
 * Verify a Mattermost request: authorization is the Authorization
 * header (NULL: missing), which must be "Token <token>", the token
 * compared in constant time.  0, or -1 with *cause.
 */
int	slash_mattermost_verify(const char *token, const char *authorization,
	    char **cause);

/*
 * Decode an application/x-www-form-urlencoded body ('+' and %XX, every
 * value valid UTF-8 without NUL, sizes limited; a key given twice is
 * refused) into req; command must be present.  Unknown keys are
 * ignored.  0, or -1 with *cause and req cleared.
 */
int	slash_form_parse(const char *body, size_t len,
	    enum slash_platform platform, struct slash_request *req,
	    char **cause);
void	slash_request_clear(struct slash_request *);

/* Percent-decode one form component (also '+' to space) into a new
 * NUL-terminated string; NULL on a bad escape, NUL byte or bad UTF-8. */
char	*slash_form_unescape(const char *s, size_t len, size_t *outlen);

#endif
