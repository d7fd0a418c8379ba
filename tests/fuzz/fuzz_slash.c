/*
 * libFuzzer target: a slash-command request as the listener gets it:
 * the form body for both platforms, the Slack signature check with a
 * fixed secret, and the Mattermost token check.  The input is split at
 * its first two newlines into timestamp, signature and body, so both
 * headers and body are fuzzed.
 */
#include <stdlib.h>
#include <time.h>

#include "fuzz.h"
#include "slash.h"

#define SECRET	"8f742231b10e8888abcd99yyyzzz85a5"
#define NOW	((time_t)1531420618)

/* The next line of [*p, end), NUL-terminated; NULL when none is left. */
static char *
fuzz_line(const char **p, const char *end)
{
	const char	*nl = memchr(*p, '\n', (size_t)(end - *p));
	char		*s;

	if (nl == NULL)
		return NULL;
	s = xstrndup(*p, (size_t)(nl - *p));
	*p = nl + 1;
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct slash_replay	*replay;
	struct slash_request		 req;
	const char			*p = (const char *)data;
	const char			*end = p + size;
	char				*ts, *sig = NULL, *cause = NULL;
	char				*s;

	fuzz_quiet();
	if (replay == NULL)
		replay = slash_replay_new();

	/* The whole input as a form body, for each platform. */
	memset(&req, 0, sizeof(req));
	if (slash_form_parse((const char *)data, size, SLASH_SLACK, &req,
	    &cause) == 0)
		slash_request_clear(&req);
	free(cause);
	cause = NULL;
	memset(&req, 0, sizeof(req));
	if (slash_form_parse((const char *)data, size, SLASH_MATTERMOST, &req,
	    &cause) == 0)
		slash_request_clear(&req);
	free(cause);
	cause = NULL;

	s = slash_form_unescape((const char *)data, size, NULL);
	free(s);

	/* Headers, then the body they sign. */
	if ((ts = fuzz_line(&p, end)) != NULL)
		sig = fuzz_line(&p, end);
	if (ts != NULL && sig != NULL) {
		(void)slash_slack_verify(SECRET, ts, sig, p, (size_t)(end - p),
		    NOW, replay, &cause);
		free(cause);
		cause = NULL;
		/* A full cache must not grow without bound. */
		if (slash_replay_count(replay) >= SLASH_REPLAY_MAX) {
			slash_replay_free(replay);
			replay = NULL;
		}
		(void)slash_mattermost_verify("mm-token", sig, &cause);
		free(cause);
	}
	free(ts);
	free(sig);
	return 0;
}
