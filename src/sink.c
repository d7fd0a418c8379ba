/* The sink registry and what every chat adapter shares: reading an HTTP
 * response into a sink_result, naming a post's author and network,
 * walking, cutting and encoding text, and building a JSON request. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink.h"
#include "text.h"

/* How much of an error body goes into a cause: enough for Slack's
 * "channel_not_found" or a Mattermost JSON error, short enough to log. */
#define SINK_CAUSE_BODY_MAX	200

/* Longest handle sink_author() renders; atproto handles are DNS names
 * (at most 253 bytes), anything longer is not a handle we trust. */
#define SINK_HANDLE_MAX		253

const struct sink_ops *const sink_table[] = {
	&sink_slack_ops,
	&sink_mattermost_ops,
	&sink_discord_ops,
	&sink_teams_ops,
	&sink_matrix_ops,
	&sink_webhook_ops,
	&sink_console_ops,
	NULL
};

static const struct {
	const char	*platform;
	const char	*name;
} sink_platforms[] = {
	{ "bluesky", "Bluesky" },
};

const struct sink_ops *
sink_find(const char *type)
{
	size_t	i;

	if (type == NULL)
		return NULL;
	for (i = 0; sink_table[i] != NULL; i++) {
		if (strcmp(sink_table[i]->type, type) == 0)
			return sink_table[i];
	}
	return NULL;
}

/*
 * An error body fit for a log line and the store: cut on a code point
 * boundary, control characters and invalid bytes turned into single
 * spaces or '?', so a hostile or binary body cannot break a log line.
 */
static char *
sink_clean_body(const char *body, size_t body_len)
{
	struct buf	 b;
	size_t		 n, len;
	uint32_t	 cp;
	const char	*s = body;

	buf_init(&b);
	buf_adds(&b, "");
	if (body == NULL)
		return buf_steal(&b);
	n = strnlen(body, body_len);
	if (n > SINK_CAUSE_BODY_MAX) {
		/* utf8_prefix needs a NUL-terminated string. */
		char	*copy = xstrndup(body, n);

		n = utf8_prefix(copy, SINK_CAUSE_BODY_MAX);
		free(copy);
	}
	while (n > 0) {
		len = utf8_decode(s, n, &cp);
		if (len == 0) {
			buf_addc(&b, '?');
			len = 1;
		} else if (text_control(cp)) {
			if (b.len > 0 && b.data[b.len - 1] != ' ')
				buf_addc(&b, ' ');
		} else if (cp == ' ') {
			if (b.len > 0 && b.data[b.len - 1] != ' ')
				buf_addc(&b, ' ');
		} else
			buf_add(&b, s, len);
		s += len;
		n -= len;
	}
	while (b.len > 0 && b.data[b.len - 1] == ' ')
		b.data[--b.len] = '\0';
	return buf_steal(&b);
}

void
sink_answer_init(struct sink_answer *a)
{
	a->retry_after_s = -1;
	a->message_id = NULL;
	a->cause = NULL;
}

void
sink_answer_clear(struct sink_answer *a)
{
	free(a->message_id);
	free(a->cause);
	sink_answer_init(a);
}

/*
 * The platform's own words for a non-OK answer: "HTTP 404:
 * channel_not_found", or "HTTP 503" when the body says nothing.
 */
static char *
sink_http_cause(const struct http_response *resp)
{
	char	*body, *cause;

	body = sink_clean_body(resp->body, resp->body_len);
	if (*body != '\0')
		cause = xasprintf("HTTP %ld: %s", resp->status, body);
	else
		cause = xasprintf("HTTP %ld", resp->status);
	free(body);
	return cause;
}

/* A previous cause (an adapter may call this twice) is replaced. */
enum sink_result
sink_classify(const struct http_response *resp, struct sink_answer *a)
{
	enum sink_result	result;

	free(a->cause);
	a->cause = NULL;
	if (resp->status >= 200 && resp->status <= 299)
		return SINK_OK;

	if (resp->status == 0) {
		a->cause = xasprintf("transport error: %s",
		    resp->error != NULL ? resp->error : "no response");
		return SINK_RETRY;
	}

	/* Slack and Mattermost say "permanent" with every other 4xx. */
	if (resp->status == 429 || resp->status == 408 ||
	    (resp->status >= 500 && resp->status <= 599))
		result = SINK_RETRY;
	else
		result = SINK_FAIL;
	if (result == SINK_RETRY && resp->retry_after >= 0)
		a->retry_after_s = resp->retry_after;
	a->cause = sink_http_cause(resp);
	return result;
}

const char *
sink_platform_name(const char *platform)
{
	size_t	i;

	if (platform == NULL)
		return "unknown network";
	for (i = 0; i < nitems(sink_platforms); i++) {
		if (strcmp(sink_platforms[i].platform, platform) == 0)
			return sink_platforms[i].name;
	}
	return platform;
}

const char *
sink_kind_label(const struct delivery *d)
{
	switch (d->kind) {
	case DELIVERY_EDIT:
		return "Edited by its author";
	case DELIVERY_DELETE:
		return "Deleted by its author";
	case DELIVERY_NOTE:
		return "Note";
	case DELIVERY_POST:
		break;
	}
	return NULL;
}

bool
sink_is_private(const struct post *p)
{
	return p->visibility != NULL && (strcmp(p->visibility, "direct") == 0 ||
	    strcmp(p->visibility, "private") == 0);
}

char *
sink_author(const struct post *p)
{
	const char	*h = p != NULL ? p->author_handle : NULL;

	if (h != NULL && *h != '\0' && strlen(h) <= SINK_HANDLE_MAX)
		return *h == '@' ? xstrdup(h) : xasprintf("@%s", h);
	return xstrdup(p != NULL && p->author != NULL ? p->author :
	    "unknown");
}

char *
sink_fit(const char *text, size_t start, size_t max,
    char *(*render)(const char *))
{
	size_t	 n = start, len;
	char	*cut, *out;

	for (;;) {
		cut = text_truncate(text, n);
		out = render(cut);
		free(cut);
		len = text_chars(out);
		if (len <= max || n <= 1)
			return out;
		free(out);
		if (n * max / len < n - 1)
			n = n * max / len;
		else
			n--;
	}
}

void
sink_url_encode(struct buf *b, const char *url)
{
	static const char	 safe[] = "-._~:/?#@!$&'*+,;=%";
	const unsigned char	*u;

	for (u = (const unsigned char *)url; *u != '\0'; u++) {
		if ((*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z') ||
		    (*u >= '0' && *u <= '9') || strchr(safe, *u) != NULL)
			buf_addc(b, (char)*u);
		else
			buf_printf(b, "%%%02X", *u);
	}
}

void
sink_digest_tail(struct buf *b, const struct post *p, size_t max,
    char *(*render)(const char *))
{
	char	*part, *author;
	size_t	 used;

	used = text_chars(b->data) + 1;
	if (used + 4 <= max) {
		buf_addc(b, ' ');
		author = sink_author(p);
		part = sink_fit(author, SINK_DIGEST_AUTHOR,
		    max - used < SINK_DIGEST_AUTHOR ? max - used :
		    SINK_DIGEST_AUTHOR, render);
		free(author);
		/* One character may escape to several: then none. */
		if (text_chars(part) <= max - used)
			buf_adds(b, part);
		free(part);
	}
	used = text_chars(b->data) + 2;
	if (used < max && p->text != NULL && *p->text != '\0') {
		part = sink_fit(p->text, SINK_DIGEST_TEXT, max - used, render);
		if (text_chars(part) <= max - used) {
			buf_adds(b, ": ");
			buf_adds(b, part);
		}
		free(part);
	}
}

char *
sink_langs(const struct post *p, size_t max)
{
	struct buf	 joined;
	char		*cut;
	size_t		 i;

	buf_init(&joined);
	buf_adds(&joined, "");
	for (i = 0; i < p->langs.n; i++) {
		if (i > 0)
			buf_adds(&joined, ", ");
		buf_adds(&joined, p->langs.v[i]);
	}
	cut = text_truncate(joined.data, max);
	buf_free(&joined);
	return cut;
}

void
sink_walk_init(struct sink_walk *w, const char *s)
{
	w->p = s != NULL ? s : "";
	w->len = 0;
	w->cp = 0;
}

int
sink_walk_next(struct sink_walk *w)
{
	w->p += w->len;
	if (*w->p == '\0')
		return 0;
	/* utf8_decode stops at the terminating NUL, so 4 bytes is safe. */
	w->len = utf8_decode(w->p, 4, &w->cp);
	if (w->len == 0) {
		w->len = 1;
		w->cp = SINK_WALK_INVALID;
	} else if (w->cp == '\r') {
		if (w->p[1] == '\n')
			w->len = 2;
		w->cp = '\n';
	}
	return 1;
}

int
sink_json_request(struct http_request *req, const char *type,
    const char *url, const char *content_type, json_t *msg, char **cause)
{
	if (msg == NULL) {
		/* The escapers emit valid UTF-8, so this is a bug. */
		*cause = xasprintf("%s: cannot build the JSON payload", type);
		return -1;
	}
	req->method = "POST";
	req->url = xstrdup(url);
	strv_take(&req->headers, xasprintf("Content-Type: %s",
	    content_type));
	req->body = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (req->body == NULL) {
		*cause = xasprintf("%s: cannot serialise the JSON payload",
		    type);
		return -1;
	}
	req->body_len = strlen(req->body);
	return 0;
}
