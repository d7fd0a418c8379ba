/*
 * Publishing a reply on Mastodon: one POST /api/v1/statuses under the
 * reply's Idempotency-Key, so a retry within the server's hour returns
 * the status the first attempt made instead of posting again.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "log.h"
#include "publish.h"

#define PUBLISH_MASTODON_ERROR_MAX	200	/* bytes of a server's error */

enum publish_mastodon_step {
	PUBLISH_MASTODON_SEARCH,	/* the parent's id on our instance */
	PUBLISH_MASTODON_POST
};

/* One request in flight; outlives a cancelled job until curl ends. */
struct publish_mastodon_call {
	struct publish_job		*job;	/* NULL once cancelled */
	enum publish_mastodon_step	 step;
};

static void	publish_mastodon_done(void *, const struct http_response *);

/* "https://HOST[:PORT]/..." -> "host[:port]", lower-case, as the
 * Mastodon source names instances in post ids. */
static char *
publish_mastodon_host(const char *url)
{
	const char	*p = strstr(url, "://");
	char		*host, *c;

	p = p != NULL ? p + 3 : url;
	host = xstrndup(p, strcspn(p, "/?#"));
	for (c = host; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	return host;
}

/* The server's explanation, fit for a chat note and a log line. */
static char *
publish_mastodon_error(const struct http_response *resp, const char *token)
{
	json_t		*j = json_loadb(resp->body, resp->body_len, 0, NULL);
	const char	*e = json_string_value(json_object_get(j, "error"));
	struct buf	 b;
	char		*out, *hit;
	size_t		 i, n;

	if (e == NULL)
		e = json_string_value(json_object_get(j, "error_description"));
	if (e == NULL && j == NULL)
		e = resp->body;		/* a proxy's page, perhaps */
	buf_init(&b);
	buf_adds(&b, "");
	if (e != NULL) {
		n = strlen(e);
		for (i = 0; i < n && b.len < PUBLISH_MASTODON_ERROR_MAX; i++)
			buf_addc(&b, (unsigned char)e[i] < ' ' ? ' ' : e[i]);
	}
	json_decref(j);
	out = buf_steal(&b);
	/* The server has no reason to echo the token; if it does, the
	 * chat and the log still never show it. */
	while (token != NULL && *token != '\0' &&
	    (hit = strstr(out, token)) != NULL)
		memset(hit, '*', strlen(token));
	while ((n = strlen(out)) > 0 && out[n - 1] == ' ')
		out[n - 1] = '\0';
	return out;
}

enum publish_result
publish_mastodon_classify(const struct http_response *resp, const char *token,
    char **url, char **id, double *retry_after_s, char **cause)
{
	json_t			*j;
	const char		*u, *i;
	char			*e;
	enum publish_result	 result;

	*url = *id = *cause = NULL;
	*retry_after_s = -1;
	if (resp->status == 0) {
		*cause = xasprintf("no answer from the server: %s",
		    resp->error != NULL ? resp->error : "unknown error");
		return PUBLISH_RETRY;
	}
	if (resp->status >= 200 && resp->status <= 299) {
		j = json_loadb(resp->body, resp->body_len, 0, NULL);
		i = json_string_value(json_object_get(j, "id"));
		u = json_string_value(json_object_get(j, "url"));
		if (u == NULL || *u == '\0')
			u = json_string_value(json_object_get(j, "uri"));
		if (i != NULL && *i != '\0' && u != NULL && *u != '\0') {
			*url = xstrdup(u);
			*id = xstrdup(i);
		}
		json_decref(j);
		if (*id != NULL)
			return PUBLISH_OK;
		/* Posted or not, the same key gets the same answer. */
		*cause = xasprintf("HTTP %ld without a status id and link",
		    resp->status);
		return PUBLISH_RETRY;
	}
	if (resp->status == 429 || resp->status == 408 ||
	    (resp->status >= 500 && resp->status <= 599)) {
		result = PUBLISH_RETRY;
		*retry_after_s = resp->retry_after;
	} else
		result = PUBLISH_FAIL;
	e = publish_mastodon_error(resp, token);
	*cause = *e != '\0' ? xasprintf("HTTP %ld: %s", resp->status, e) :
	    xasprintf("HTTP %ld", resp->status);
	free(e);
	return result;
}

/* Mastodon keeps a reply as visible as what it answers, no more. */
static const char *
publish_mastodon_visibility(const char *v)
{
	if (v != NULL && (strcmp(v, "direct") == 0 ||
	    strcmp(v, "private") == 0 || strcmp(v, "unlisted") == 0))
		return v;
	return "public";
}

static void
publish_mastodon_auth(struct http_request *req, const struct publish_job *job)
{
	strv_take(&req->headers, xasprintf("Authorization: Bearer %s",
	    job->account->access_token));
}

/* Start req for job; on failure the job ends as a retry. */
static void
publish_mastodon_send(struct publish_job *job, struct http_request *req,
    enum publish_mastodon_step step)
{
	struct publish_mastodon_call	*call = xcalloc(1, sizeof(*call));

	call->job = job;
	call->step = step;
	job->data = call;
	if (http_start(job->http, req, job->account->timeout_ms,
	    publish_mastodon_done, call) != 0) {
		free(call);
		job->data = NULL;
		http_request_clear(req);
		publish_job_done(job, PUBLISH_RETRY, NULL, NULL, -1,
		    "cannot start an HTTP request");
		return;
	}
	http_request_clear(req);
}

static void
publish_mastodon_post(struct publish_job *job, const char *status_id)
{
	const struct post	*parent = job->reply.parent;
	struct http_request	 req;
	json_t			*body;

	body = json_pack("{s:s, s:s, s:s}", "status", job->reply.text,
	    "in_reply_to_id", status_id, "visibility",
	    publish_mastodon_visibility(parent->visibility));
	if (body == NULL) {
		/* jansson refuses text that is not UTF-8. */
		publish_job_done(job, PUBLISH_FAIL, NULL, NULL, -1,
		    "the reply is not valid UTF-8");
		return;
	}
	if (parent->langs.n == 1)
		json_object_set_new(body, "language",
		    json_string(parent->langs.v[0]));
	http_request_init(&req);
	req.method = "POST";
	req.url = xasprintf("%s/api/v1/statuses", job->account->base_url);
	publish_mastodon_auth(&req, job);
	strv_take(&req.headers, xasprintf("Idempotency-Key: %s",
	    job->reply.key));
	strv_add(&req.headers, "Content-Type: application/json");
	req.body = json_dumps(body, JSON_COMPACT);
	req.body_len = strlen(req.body);
	json_decref(body);
	publish_mastodon_send(job, &req, PUBLISH_MASTODON_POST);
}

/* Percent-encoding of a query value (RFC 3986 unreserved kept). */
static void
publish_mastodon_escape(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (isalnum((unsigned char)*s) || strchr("-._~", *s) != NULL)
			buf_addc(b, *s);
		else
			buf_printf(b, "%%%02X", (unsigned char)*s);
	}
}

/*
 * The parent came from another instance: ask ours for its copy (the
 * search resolves a URL the way a person pasting it would).
 */
static void
publish_mastodon_search(struct publish_job *job)
{
	const struct post	*parent = job->reply.parent;
	struct http_request	 req;
	struct buf		 url;

	if (parent->url == NULL) {
		publish_job_done(job, PUBLISH_FAIL, NULL, NULL, -1, "the post "
		    "replied to is on another instance and has no link");
		return;
	}
	buf_init(&url);
	buf_printf(&url, "%s/api/v2/search?type=statuses&resolve=true&"
	    "limit=1&q=", job->account->base_url);
	publish_mastodon_escape(&url, parent->url);
	http_request_init(&req);
	req.method = "GET";
	req.url = buf_steal(&url);
	publish_mastodon_auth(&req, job);
	publish_mastodon_send(job, &req, PUBLISH_MASTODON_SEARCH);
}

static void
publish_mastodon_found(struct publish_job *job,
    const struct http_response *resp)
{
	json_t		*j, *st;
	const char	*id;
	char		*url, *sid, *cause;
	double		 ra;
	enum publish_result r;

	if (resp->status != 200) {
		r = publish_mastodon_classify(resp, job->account->access_token,
		    &url, &sid, &ra, &cause);
		if (r == PUBLISH_OK)	/* 2xx but not 200: unexpected */
			r = PUBLISH_RETRY;
		publish_job_done(job, r, NULL, NULL, ra, cause);
		free(url);
		free(sid);
		free(cause);
		return;
	}
	j = json_loadb(resp->body, resp->body_len, 0, NULL);
	st = json_array_get(json_object_get(j, "statuses"), 0);
	id = json_string_value(json_object_get(st, "id"));
	if (id == NULL || *id == '\0') {
		json_decref(j);
		publish_job_done(job, PUBLISH_FAIL, NULL, NULL, -1,
		    "the post replied to cannot be found from this account's "
		    "instance");
		return;
	}
	sid = xstrdup(id);
	json_decref(j);
	publish_mastodon_post(job, sid);
	free(sid);
}

static void
publish_mastodon_done(void *arg, const struct http_response *resp)
{
	struct publish_mastodon_call	*call = arg;
	struct publish_job		*job = call->job;
	enum publish_mastodon_step	 step = call->step;
	enum publish_result		 r;
	char				*url, *id, *cause;
	double				 ra;

	free(call);
	if (job == NULL)
		return;		/* cancelled */
	job->data = NULL;
	if (resp->aborted)
		return;		/* shutting down: publisher_free cancels */
	if (step == PUBLISH_MASTODON_SEARCH) {
		publish_mastodon_found(job, resp);
		return;
	}
	r = publish_mastodon_classify(resp, job->account->access_token, &url,
	    &id, &ra, &cause);
	publish_job_done(job, r, url, id, ra, cause);
	free(url);
	free(id);
	free(cause);
}

static void
publish_mastodon_start(struct publish_job *job)
{
	const struct account_conf	*acc = job->account;
	const struct post		*parent = job->reply.parent;
	const char			*slash;
	char				*host, *mine;
	bool				 same;

	if (acc->base_url == NULL || acc->access_token == NULL) {
		publish_job_done(job, PUBLISH_FAIL, NULL, NULL, -1,
		    "the account has no base_url or access_token");
		return;
	}
	if (parent == NULL || parent->platform == NULL ||
	    strcmp(parent->platform, "mastodon") != 0 || parent->id == NULL ||
	    (slash = strrchr(parent->id, '/')) == NULL || slash[1] == '\0') {
		publish_job_done(job, PUBLISH_FAIL, NULL, NULL, -1,
		    "the post replied to is not a Mastodon status");
		return;
	}
	/* Ids are HOST/ID: an id is only good on its own instance. */
	host = xstrndup(parent->id, (size_t)(slash - parent->id));
	mine = publish_mastodon_host(acc->base_url);
	same = strcasecmp(host, mine) == 0;
	free(host);
	free(mine);
	if (same)
		publish_mastodon_post(job, slash + 1);
	else
		publish_mastodon_search(job);
}

static void
publish_mastodon_cancel(struct publish_job *job)
{
	struct publish_mastodon_call	*call = job->data;

	if (call != NULL)
		call->job = NULL;	/* curl's end frees it */
	job->data = NULL;
}

const struct publish_ops publish_mastodon_ops = {
	"mastodon",
	publish_mastodon_start,
	publish_mastodon_cancel,
	NULL
};
