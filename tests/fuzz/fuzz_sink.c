/*
 * libFuzzer target: every chat adapter's response reader on an HTTP
 * answer built from the input: the first line is the status, the lines
 * up to an empty one are headers, the rest is the body.  Slack and
 * Mattermost read it both as incoming webhooks and as their Web APIs.
 */
#include <ctype.h>
#include <stdlib.h>

#include <libconfig.h>

#include "config.h"
#include "fuzz.h"
#include "http.h"
#include "sink.h"

/* Adapters in API mode, configured once through their own configure(). */
static struct chat_conf	api_chats[2];
static size_t		napi;

static void
fuzz_api(const struct sink_ops *ops, const char *text)
{
	struct chat_conf	*chat = &api_chats[napi];
	struct cfg_errors	 errs;
	config_t		 cfg;

	memset(chat, 0, sizeof(*chat));
	chat->type = (char *)ops->type;
	chat->ops = ops;
	config_init(&cfg);
	cfg_errors_init(&errs);
	if (config_read_string(&cfg, text) == CONFIG_TRUE &&
	    ops->configure(chat, config_lookup(&cfg, "chat"), &errs) == 0 &&
	    chat->settings != NULL)
		napi++;
	cfg_errors_free(&errs);
	config_destroy(&cfg);
}

static void
fuzz_init(void)
{
	fuzz_quiet();
	fuzz_api(&sink_slack_ops, "chat = { token = \"xoxb-1-fuzz\"; "
	    "channel = \"C0FUZZ\"; api_url = \"http://127.0.0.1:9/api/\"; };");
	fuzz_api(&sink_mattermost_ops, "chat = { token = \"mm-fuzz\"; "
	    "channel = \"4xp9rgw1sjbt8q7zmyhkeo3n6c\"; "
	    "url = \"http://127.0.0.1:9/\"; };");
}

/* The next line of [*p, end) without its "\r\n" or "\n"; NULL at end. */
static char *
fuzz_line(const char **p, const char *end)
{
	const char	*nl;
	char		*s;
	size_t		 n;

	if (*p >= end)
		return NULL;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	n = (size_t)((nl != NULL ? nl : end) - *p);
	if (n > 0 && (*p)[n - 1] == '\r')
		n--;
	s = xstrndup(*p, n);
	*p = nl != NULL ? nl + 1 : end;
	return s;
}

static void
fuzz_one(const struct chat_conf *chat, const struct http_response *resp)
{
	struct sink_answer	a;

	sink_answer_init(&a);
	(void)chat->ops->response(chat, resp, &a);
	sink_answer_clear(&a);
	sink_answer_init(&a);
	(void)sink_classify(resp, &a);
	sink_answer_clear(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int		 ready;
	struct http_response	 resp;
	struct chat_conf	 chat;
	struct strv		 headers;
	const char		*p = (const char *)data;
	const char		*end = p + size;
	const char		*ra;
	char			*line, *body, *c;
	size_t			 i;

	if (!ready) {
		fuzz_init();
		ready = 1;
	}
	memset(&resp, 0, sizeof(resp));
	strv_init(&headers);
	line = fuzz_line(&p, end);
	resp.status = line != NULL ? strtol(line, NULL, 10) % 1000 : 0;
	if (resp.status < 0)
		resp.status = -resp.status;
	free(line);
	while ((line = fuzz_line(&p, end)) != NULL && line[0] != '\0') {
		/* libcurl's header names reach the sinks lower-cased. */
		for (c = line; *c != '\0' && *c != ':'; c++)
			*c = (char)tolower((unsigned char)*c);
		strv_take(&headers, line);
	}
	free(line);
	body = fuzz_str((const uint8_t *)p, (size_t)(end - p));
	resp.body = body;
	resp.body_len = (size_t)(end - p);
	resp.headers = &headers;
	resp.error = resp.status == 0 ? "Connection refused" : NULL;
	resp.retry_after = -1;
	if ((ra = http_response_header(&resp, "retry-after")) != NULL)
		resp.retry_after = strtod(ra, NULL);
	/* http.c hands on a delay in seconds, never NaN or negative. */
	if (!(resp.retry_after >= 0 && resp.retry_after <= 1e6))
		resp.retry_after = -1;

	for (i = 0; sink_table[i] != NULL; i++) {
		if (sink_table[i]->response == NULL)
			continue;
		memset(&chat, 0, sizeof(chat));
		chat.type = (char *)sink_table[i]->type;
		chat.ops = sink_table[i];
		fuzz_one(&chat, &resp);
	}
	for (i = 0; i < napi; i++)
		fuzz_one(&api_chats[i], &resp);

	strv_free(&headers);
	free(body);
	return 0;
}
