/*
 * Publishing a reply on Bluesky: an XRPC session kept per account, the
 * mentions resolved to DIDs, and a post record whose key is derived from
 * the reply itself, so an attempt first asks whether an earlier one
 * already created it.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http.h"
#include "log.h"
#include "publish.h"

#define PUBLISH_BLUESKY_POST		"app.bsky.feed.post"
#define PUBLISH_BLUESKY_FACET		"app.bsky.richtext.facet#"
/* createSession is limited to 30 per 5 minutes per account. */
#define PUBLISH_BLUESKY_LOGIN_GAP_MS	(60 * 1000)
#define PUBLISH_BLUESKY_ERROR_MAX	200
#define PUBLISH_BLUESKY_HANDLE_MAX	253

static const char publish_bluesky_b32[] = "234567abcdefghijklmnopqrstuvwxyz";

/* The account's session: kept by the pump across attempts. */
struct publish_bluesky_session {
	char	*did;
	char	*access;		/* accessJwt, or NULL: log in */
	char	*refresh;		/* refreshJwt */
	int64_t	 login_after_ms;	/* monotonic: no createSession
					 * before then (0: any time) */
};

enum publish_bluesky_step {
	PUBLISH_BLUESKY_LOGIN,		/* createSession */
	PUBLISH_BLUESKY_REFRESH,	/* refreshSession */
	PUBLISH_BLUESKY_RESOLVE,	/* resolveHandle, one mention */
	PUBLISH_BLUESKY_GET,		/* getRecord: made already? */
	PUBLISH_BLUESKY_CREATE		/* createRecord */
};

struct publish_bluesky_call;

/* One attempt: job->data. */
struct publish_bluesky_job {
	struct publish_job		*job;
	struct publish_bluesky_call	*call;	/* in flight, or NULL */
	char				 rkey[PUBLISH_TID_LEN + 1];
	struct publish_facet		*facets;
	size_t				 nfacets;
	char				**dids;	/* per facet, mentions */
	size_t				 resolved; /* facets looked at */
	bool				 checked; /* getRecord: not there */
	bool				 refreshed; /* refresh tried once */
};

/* One request; outlives a cancelled attempt until curl ends it. */
struct publish_bluesky_call {
	struct publish_bluesky_job	*bj;	/* NULL once cancelled */
	enum publish_bluesky_step	 step;
};

static void	publish_bluesky_next(struct publish_bluesky_job *);
static void	publish_bluesky_done(void *, const struct http_response *);

void
publish_bluesky_tid(int64_t us, unsigned clock_id,
    char out[PUBLISH_TID_LEN + 1])
{
	uint64_t	v;
	int		i;

	/* Top bit 0, 53 bits of microseconds, 10 of clock id. */
	v = (((uint64_t)us & ((UINT64_C(1) << 53) - 1)) << 10) |
	    (clock_id & 0x3ff);
	for (i = PUBLISH_TID_LEN - 1; i >= 0; i--) {
		out[i] = publish_bluesky_b32[v & 31];
		v >>= 5;
	}
	out[PUBLISH_TID_LEN] = '\0';
}

int
publish_bluesky_tid_decode(const char *s, int64_t *us, unsigned *clock_id)
{
	const char	*c;
	uint64_t	 v = 0;
	size_t		 i;

	if (s == NULL || strlen(s) != PUBLISH_TID_LEN)
		return -1;
	for (i = 0; i < PUBLISH_TID_LEN; i++) {
		if (s[i] == '\0' || (c = strchr(publish_bluesky_b32,
		    s[i])) == NULL)
			return -1;
		/* The first character carries only 4 bits: top bit 0. */
		if (i == 0 && c - publish_bluesky_b32 >= 16)
			return -1;
		v = (v << 5) | (uint64_t)(c - publish_bluesky_b32);
	}
	*us = (int64_t)(v >> 10);
	*clock_id = (unsigned)(v & 0x3ff);
	return 0;
}

void
publish_bluesky_rkey(const struct reply *r, char out[PUBLISH_TID_LEN + 1])
{
	unsigned	clock_id = 0;
	int64_t		us, id = r->id < 0 ? -r->id : r->id;
	int		i, d;

	/* Two replies of the same millisecond differ by their ids. */
	us = (r->created_ms > 0 ? r->created_ms : 0) * 1000 + id % 1000;
	for (i = 0; r->key != NULL && i < 3 && r->key[i] != '\0'; i++) {
		d = isdigit((unsigned char)r->key[i]) ? r->key[i] - '0' :
		    tolower((unsigned char)r->key[i]) - 'a' + 10;
		clock_id = clock_id << 4 | (unsigned)(d & 15);
	}
	publish_bluesky_tid(us, clock_id & 0x3ff, out);
}

/* A handle by atproto's syntax: dot-separated labels of letters,
 * digits and inner hyphens, at least two, the last not a number. */
static bool
publish_bluesky_handle_ok(const char *h, size_t n)
{
	size_t	i, start = 0, labels = 0;

	if (n == 0 || n > PUBLISH_BLUESKY_HANDLE_MAX)
		return false;
	for (i = 0; i <= n; i++) {
		if (i < n && h[i] != '.')
			continue;
		if (i == start || i - start > 63 || h[start] == '-' ||
		    h[i - 1] == '-')
			return false;
		labels++;
		if (i == n && isdigit((unsigned char)h[start]))
			return false;
		start = i + 1;
	}
	return labels >= 2;
}

static bool
publish_bluesky_url_end(char c)
{
	return c == '\0' || (unsigned char)c <= ' ' || c == 0x7f;
}

/* Length of the link at s, or 0: http(s)://, up to white space, less
 * the punctuation a sentence puts after it. */
static size_t
publish_bluesky_link(const char *s)
{
	size_t	n, skip, i;
	bool	paren = false;

	if (strncasecmp(s, "https://", 8) == 0)
		skip = 8;
	else if (strncasecmp(s, "http://", 7) == 0)
		skip = 7;
	else
		return 0;
	for (n = skip; !publish_bluesky_url_end(s[n]); n++)
		;
	for (i = 0; i < n; i++)
		if (s[i] == '(')
			paren = true;
	while (n > skip && (strchr(".,;:!?\"'", s[n - 1]) != NULL ||
	    (s[n - 1] == ')' && !paren)))
		n--;
	if (n == skip || s[skip] == '/' || s[skip] == '.')
		return 0;	/* no host */
	return n;
}

/* Length of the mention at s ('@' included), or 0. */
static size_t
publish_bluesky_mention(const char *s)
{
	size_t	n;

	if (*s != '@')
		return 0;
	for (n = 1; isalnum((unsigned char)s[n]) || s[n] == '.' ||
	    s[n] == '-'; n++)
		;
	while (n > 1 && s[n - 1] == '.')
		n--;
	return publish_bluesky_handle_ok(s + 1, n - 1) ? n : 0;
}

size_t
publish_bluesky_facets(const char *text, struct publish_facet **out)
{
	struct publish_facet	*f = NULL;
	size_t			 n = 0, i = 0, len;
	bool			 mention;

	while (text[i] != '\0') {
		/* A facet starts a word, or follows an opening paren. */
		if (i > 0 && !isspace((unsigned char)text[i - 1]) &&
		    text[i - 1] != '(') {
			i++;
			continue;
		}
		mention = false;
		if ((len = publish_bluesky_link(text + i)) == 0)
			mention = (len = publish_bluesky_mention(text + i)) > 0;
		if (len == 0) {
			i++;
			continue;
		}
		f = xrealloc(f, (n + 1) * sizeof(*f));
		memset(&f[n], 0, sizeof(f[n]));
		f[n].start = i;
		f[n].end = i + len;
		if (mention)
			f[n].handle = xstrndup(text + i + 1, len - 1);
		else
			f[n].uri = xstrndup(text + i, len);
		n++;
		i += len;
	}
	*out = f;
	return n;
}

void
publish_facets_free(struct publish_facet *f, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(f[i].uri);
		free(f[i].handle);
	}
	free(f);
}

static void
publish_bluesky_session_free(void *state)
{
	struct publish_bluesky_session	*s = state;

	if (s == NULL)
		return;
	free(s->did);
	free(s->access);
	free(s->refresh);
	free(s);
}

static void
publish_bluesky_logout(struct publish_bluesky_session *s)
{
	free(s->access);
	free(s->refresh);
	s->access = s->refresh = NULL;
}

static void
publish_bluesky_job_free(struct publish_bluesky_job *bj)
{
	size_t	i;

	for (i = 0; i < bj->nfacets; i++)
		free(bj->dids[i]);
	free(bj->dids);
	publish_facets_free(bj->facets, bj->nfacets);
	free(bj);
}

/* End the attempt: the job is gone afterwards. */
static void
publish_bluesky_finish(struct publish_bluesky_job *bj,
    enum publish_result result, const char *url, const char *id,
    double retry_after_s, const char *cause)
{
	struct publish_job	*job = bj->job;

	job->data = NULL;
	publish_bluesky_job_free(bj);
	publish_job_done(job, result, url, id, retry_after_s, cause);
}

/* "HTTP 400 InvalidRequest: text" from an XRPC error answer; *name is
 * the error name (borrowed from j, which the caller decrefs). */
static char *
publish_bluesky_cause(const char *what, const struct http_response *resp,
    json_t **j, const char **name)
{
	const char	*e, *m;
	struct buf	 b;
	size_t		 i;

	*j = json_loadb(resp->body, resp->body_len, 0, NULL);
	e = json_string_value(json_object_get(*j, "error"));
	m = json_string_value(json_object_get(*j, "message"));
	*name = e;
	if (resp->status == 0)
		return xasprintf("%s: no answer from the server: %s", what,
		    resp->error != NULL ? resp->error : "unknown error");
	buf_init(&b);
	buf_printf(&b, "%s: HTTP %ld", what, resp->status);
	if (e != NULL || m != NULL)
		buf_adds(&b, " ");
	/* The server's words: one line, bounded. */
	for (i = 0; e != NULL && e[i] != '\0' &&
	    i < PUBLISH_BLUESKY_ERROR_MAX; i++)
		buf_addc(&b, (unsigned char)e[i] < ' ' ? ' ' : e[i]);
	if (e != NULL && m != NULL)
		buf_adds(&b, ": ");
	for (i = 0; m != NULL && m[i] != '\0' &&
	    i < PUBLISH_BLUESKY_ERROR_MAX; i++)
		buf_addc(&b, (unsigned char)m[i] < ' ' ? ' ' : m[i]);
	return buf_steal(&b);
}

/* Whether an unsuccessful answer may succeed later. */
static bool
publish_bluesky_transient(const struct http_response *resp)
{
	return resp->status == 0 || resp->status == 408 ||
	    resp->status == 429 || (resp->status >= 500 &&
	    resp->status <= 599);
}

/* End the attempt on an unsuccessful answer: RETRY or FAIL. */
static void
publish_bluesky_fail(struct publish_bluesky_job *bj, const char *what,
    const struct http_response *resp)
{
	json_t		*j;
	const char	*name;
	char		*cause = publish_bluesky_cause(what, resp, &j, &name);

	json_decref(j);
	if (publish_bluesky_transient(resp))
		publish_bluesky_finish(bj, PUBLISH_RETRY, NULL, NULL,
		    resp->status != 0 ? resp->retry_after : -1, cause);
	else
		publish_bluesky_finish(bj, PUBLISH_FAIL, NULL, NULL, -1,
		    cause);
	free(cause);
}

static void
publish_bluesky_send(struct publish_bluesky_job *bj,
    enum publish_bluesky_step step, const char *method, char *url,
    const char *bearer, json_t *body)
{
	struct publish_bluesky_call	*call = xcalloc(1, sizeof(*call));
	struct http_request		 req;

	http_request_init(&req);
	req.method = method;
	req.url = url;
	if (bearer != NULL)
		strv_take(&req.headers, xasprintf("Authorization: Bearer %s",
		    bearer));
	if (body != NULL) {
		strv_add(&req.headers, "Content-Type: application/json");
		req.body = json_dumps(body, JSON_COMPACT);
		req.body_len = strlen(req.body);
		json_decref(body);
	}
	call->bj = bj;
	call->step = step;
	bj->call = call;
	if (http_start(bj->job->http, &req, bj->job->account->timeout_ms,
	    publish_bluesky_done, call) != 0) {
		free(call);
		bj->call = NULL;
		http_request_clear(&req);
		publish_bluesky_finish(bj, PUBLISH_RETRY, NULL, NULL, -1,
		    "cannot start an HTTP request");
		return;
	}
	http_request_clear(&req);
}

static char *
publish_bluesky_xrpc(const struct publish_bluesky_job *bj, const char *nsid)
{
	return xasprintf("%s/xrpc/%s", bj->job->account->base_url, nsid);
}

static void
publish_bluesky_login(struct publish_bluesky_job *bj)
{
	struct publish_bluesky_session	*s = bj->job->state;
	const struct account_conf	*acc = bj->job->account;
	int64_t				 now = now_mono_ms(), wait;
	char				*cause;
	json_t				*body;

	if (now < s->login_after_ms) {
		wait = s->login_after_ms - now;
		cause = xasprintf("Bluesky login: at most one a minute, next "
		    "in %lld s", (long long)(wait + 999) / 1000);
		publish_bluesky_finish(bj, PUBLISH_RETRY, NULL, NULL,
		    (double)wait / 1000.0, cause);
		free(cause);
		return;
	}
	body = json_pack("{s:s, s:s}", "identifier", acc->identifier,
	    "password", acc->app_password);
	if (body == NULL) {
		publish_bluesky_finish(bj, PUBLISH_FAIL, NULL, NULL, -1,
		    "the account's identifier or app_password is not UTF-8");
		return;
	}
	s->login_after_ms = now + PUBLISH_BLUESKY_LOGIN_GAP_MS;
	log_info("publish %s: logging in to %s", acc->name, acc->base_url);
	publish_bluesky_send(bj, PUBLISH_BLUESKY_LOGIN, "POST",
	    publish_bluesky_xrpc(bj, "com.atproto.server.createSession"), NULL,
	    body);
}

static void
publish_bluesky_resolve(struct publish_bluesky_job *bj, const char *handle)
{
	struct buf	url;
	const char	*c;

	buf_init(&url);
	buf_printf(&url, "%s/xrpc/com.atproto.identity.resolveHandle?handle=",
	    bj->job->account->base_url);
	/* Handle characters need no escaping; anything else is refused
	 * by publish_bluesky_handle_ok already. */
	for (c = handle; *c != '\0'; c++)
		buf_addc(&url, (char)tolower((unsigned char)*c));
	publish_bluesky_send(bj, PUBLISH_BLUESKY_RESOLVE, "GET",
	    buf_steal(&url), NULL, NULL);
}

static void
publish_bluesky_get(struct publish_bluesky_job *bj)
{
	struct publish_bluesky_session	*s = bj->job->state;

	publish_bluesky_send(bj, PUBLISH_BLUESKY_GET, "GET", xasprintf(
	    "%s/xrpc/com.atproto.repo.getRecord?repo=%s&collection="
	    PUBLISH_BLUESKY_POST "&rkey=%s", bj->job->account->base_url,
	    s->did, bj->rkey), NULL, NULL);
}

/* createdAt: ISO 8601 UTC with milliseconds, as the lexicon prefers. */
static char *
publish_bluesky_time(int64_t ms)
{
	struct tm	tm;
	time_t		t;
	char		date[32];

	if (ms < 0)
		ms = 0;
	t = (time_t)(ms / 1000);
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	return xasprintf("%s.%03dZ", date, (int)(ms % 1000));
}

static json_t *
publish_bluesky_ref(const char *uri, const char *cid)
{
	return json_pack("{s:s, s:s}", "uri", uri, "cid", cid);
}

static json_t *
publish_bluesky_facets_json(const struct publish_bluesky_job *bj)
{
	json_t	*a = json_array(), *feature;
	size_t	 i;

	for (i = 0; i < bj->nfacets; i++) {
		const struct publish_facet	*f = &bj->facets[i];

		if (f->uri != NULL)
			feature = json_pack("{s:s, s:s}", "$type",
			    PUBLISH_BLUESKY_FACET "link", "uri", f->uri);
		else if (bj->dids[i] != NULL)
			feature = json_pack("{s:s, s:s}", "$type",
			    PUBLISH_BLUESKY_FACET "mention", "did",
			    bj->dids[i]);
		else
			continue;	/* a handle nobody has */
		json_array_append_new(a, json_pack("{s:{s:I, s:I}, s:[o]}",
		    "index", "byteStart", (json_int_t)f->start, "byteEnd",
		    (json_int_t)f->end, "features", feature));
	}
	return a;
}

static void
publish_bluesky_create(struct publish_bluesky_job *bj)
{
	struct publish_bluesky_session	*s = bj->job->state;
	const struct reply		*r = &bj->job->reply;
	const struct post		*parent = r->parent;
	json_t				*record, *root, *parent_ref, *facets;
	char				*created;

	/* The thread's root; the parent itself if it starts the thread. */
	if (parent->reply_root != NULL && parent->reply_root_cid != NULL)
		root = publish_bluesky_ref(parent->reply_root,
		    parent->reply_root_cid);
	else
		root = publish_bluesky_ref(parent->id, parent->cid);
	parent_ref = publish_bluesky_ref(parent->id, parent->cid);
	created = publish_bluesky_time(r->created_ms);
	record = NULL;
	if (root != NULL && parent_ref != NULL)
		record = json_pack("{s:s, s:s, s:s, s:{s:O, s:O}}", "$type",
		    PUBLISH_BLUESKY_POST, "text", r->text, "createdAt",
		    created, "reply", "root", root, "parent", parent_ref);
	json_decref(root);
	json_decref(parent_ref);
	free(created);
	if (parent->langs.n > 0)
		json_object_set_new(record, "langs", json_pack("[s]",
		    parent->langs.v[0]));
	if (record == NULL) {
		/* jansson refuses text that is not UTF-8. */
		publish_bluesky_finish(bj, PUBLISH_FAIL, NULL, NULL, -1,
		    "the reply or the post replied to is not valid UTF-8");
		return;
	}
	facets = publish_bluesky_facets_json(bj);
	if (json_array_size(facets) > 0)
		json_object_set_new(record, "facets", facets);
	else
		json_decref(facets);
	publish_bluesky_send(bj, PUBLISH_BLUESKY_CREATE, "POST",
	    publish_bluesky_xrpc(bj, "com.atproto.repo.createRecord"),
	    s->access, json_pack("{s:s, s:s, s:s, s:o}", "repo", s->did,
	    "collection", PUBLISH_BLUESKY_POST, "rkey", bj->rkey, "record",
	    record));
}

/* The next request the attempt needs. */
static void
publish_bluesky_next(struct publish_bluesky_job *bj)
{
	struct publish_bluesky_session	*s = bj->job->state;

	if (s->access == NULL || s->did == NULL) {
		publish_bluesky_login(bj);
		return;
	}
	while (bj->resolved < bj->nfacets &&
	    bj->facets[bj->resolved].handle == NULL)
		bj->resolved++;
	if (bj->resolved < bj->nfacets) {
		publish_bluesky_resolve(bj, bj->facets[bj->resolved].handle);
		return;
	}
	if (!bj->checked)
		publish_bluesky_get(bj);
	else
		publish_bluesky_create(bj);
}

/* The post is there: at://DID/app.bsky.feed.post/RKEY. */
static void
publish_bluesky_published(struct publish_bluesky_job *bj, const json_t *j)
{
	struct publish_bluesky_session	*s = bj->job->state;
	const char			*uri;
	char				*url, *made;

	made = xasprintf("at://%s/" PUBLISH_BLUESKY_POST "/%s", s->did,
	    bj->rkey);
	uri = json_string_value(json_object_get(j, "uri"));
	if (uri == NULL || *uri == '\0')
		uri = made;
	url = xasprintf("https://bsky.app/profile/%s/post/%s", s->did,
	    bj->rkey);
	publish_bluesky_finish(bj, PUBLISH_OK, url, uri, -1, NULL);
	free(url);
	free(made);
}

static void
publish_bluesky_tokens(struct publish_bluesky_job *bj,
    const struct http_response *resp, const char *what)
{
	struct publish_bluesky_session	*s = bj->job->state;
	json_t				*j;
	const char			*a, *r, *d;
	char				*cause;

	j = json_loadb(resp->body, resp->body_len, 0, NULL);
	a = json_string_value(json_object_get(j, "accessJwt"));
	r = json_string_value(json_object_get(j, "refreshJwt"));
	d = json_string_value(json_object_get(j, "did"));
	if (a == NULL || r == NULL || (d == NULL && s->did == NULL) ||
	    (d != NULL && strncmp(d, "did:", 4) != 0)) {
		json_decref(j);
		publish_bluesky_logout(s);
		cause = xasprintf("%s: an answer without a session", what);
		publish_bluesky_finish(bj, PUBLISH_RETRY, NULL, NULL, -1,
		    cause);
		free(cause);
		return;
	}
	publish_bluesky_logout(s);
	s->access = xstrdup(a);
	s->refresh = xstrdup(r);
	if (d != NULL) {
		free(s->did);
		s->did = xstrdup(d);
	}
	json_decref(j);
	publish_bluesky_next(bj);
}

static void
publish_bluesky_login_done(struct publish_bluesky_job *bj,
    const struct http_response *resp)
{
	struct publish_bluesky_session	*s = bj->job->state;

	/* Told when to come back: that, not our own minute (at least a
	 * second, against a server that says "now" forever). */
	if (resp->status == 429 && resp->retry_after >= 0)
		s->login_after_ms = now_mono_ms() +
		    (resp->retry_after < 1 ? 1000 :
		    resp->retry_after > 3600 ? 3600 * 1000 :
		    (int64_t)(resp->retry_after * 1000));
	if (resp->status == 200)
		publish_bluesky_tokens(bj, resp, "Bluesky login");
	else
		publish_bluesky_fail(bj, "Bluesky login", resp);
}

static void
publish_bluesky_refresh_done(struct publish_bluesky_job *bj,
    const struct http_response *resp)
{
	struct publish_bluesky_session	*s = bj->job->state;

	if (resp->status == 200) {
		publish_bluesky_tokens(bj, resp, "Bluesky session refresh");
		return;
	}
	if (publish_bluesky_transient(resp)) {
		publish_bluesky_fail(bj, "Bluesky session refresh", resp);
		return;
	}
	/* The refresh token is spent too: log in again. */
	log_info("publish %s: session refresh refused (HTTP %ld)",
	    bj->job->account->name, resp->status);
	publish_bluesky_logout(s);
	publish_bluesky_next(bj);
}

static void
publish_bluesky_resolve_done(struct publish_bluesky_job *bj,
    const struct http_response *resp)
{
	json_t		*j;
	const char	*did;

	if (resp->status != 200 && publish_bluesky_transient(resp)) {
		publish_bluesky_fail(bj, "Bluesky handle lookup", resp);
		return;
	}
	if (resp->status == 200) {
		j = json_loadb(resp->body, resp->body_len, 0, NULL);
		did = json_string_value(json_object_get(j, "did"));
		if (did != NULL && strncmp(did, "did:", 4) == 0)
			bj->dids[bj->resolved] = xstrdup(did);
		json_decref(j);
	}
	/* Otherwise nobody has that handle: plain text, no mention. */
	if (bj->dids[bj->resolved] == NULL)
		log_info("publish %s: @%s is nobody's handle; no mention",
		    bj->job->account->name, bj->facets[bj->resolved].handle);
	bj->resolved++;
	publish_bluesky_next(bj);
}

static void
publish_bluesky_get_done(struct publish_bluesky_job *bj,
    const struct http_response *resp)
{
	json_t		*j;
	const char	*name;
	char		*cause;

	if (resp->status == 200) {
		/* An earlier attempt created it (its answer was lost). */
		j = json_loadb(resp->body, resp->body_len, 0, NULL);
		log_info("publish %s: reply %lld was already published",
		    bj->job->account->name, (long long)bj->job->reply.id);
		publish_bluesky_published(bj, j);
		json_decref(j);
		return;
	}
	cause = publish_bluesky_cause("Bluesky getRecord", resp, &j, &name);
	if (resp->status == 400 && name != NULL &&
	    strcmp(name, "RecordNotFound") == 0) {
		json_decref(j);
		free(cause);
		bj->checked = true;
		publish_bluesky_next(bj);
		return;
	}
	json_decref(j);
	free(cause);
	publish_bluesky_fail(bj, "Bluesky getRecord", resp);
}

static void
publish_bluesky_create_done(struct publish_bluesky_job *bj,
    const struct http_response *resp)
{
	struct publish_bluesky_session	*s = bj->job->state;
	json_t				*j;
	const char			*name;
	char				*cause;
	bool				 expired;

	if (resp->status == 200) {
		j = json_loadb(resp->body, resp->body_len, 0, NULL);
		publish_bluesky_published(bj, j);
		json_decref(j);
		return;
	}
	cause = publish_bluesky_cause("Bluesky createRecord", resp, &j,
	    &name);
	expired = (resp->status == 400 || resp->status == 401) &&
	    name != NULL && (strcmp(name, "ExpiredToken") == 0 ||
	    strcmp(name, "InvalidToken") == 0);
	json_decref(j);
	if (!expired) {
		free(cause);
		publish_bluesky_fail(bj, "Bluesky createRecord", resp);
		return;
	}
	if (!bj->refreshed && s->refresh != NULL) {
		bj->refreshed = true;
		log_info("publish %s: %s; refreshing the session",
		    bj->job->account->name, cause);
		free(cause);
		publish_bluesky_send(bj, PUBLISH_BLUESKY_REFRESH, "POST",
		    publish_bluesky_xrpc(bj,
		    "com.atproto.server.refreshSession"), s->refresh, NULL);
		return;
	}
	/* Refused right after a refresh or a login: start over later. */
	publish_bluesky_logout(s);
	publish_bluesky_finish(bj, PUBLISH_RETRY, NULL, NULL, -1, cause);
	free(cause);
}

static void
publish_bluesky_done(void *arg, const struct http_response *resp)
{
	struct publish_bluesky_call	*call = arg;
	struct publish_bluesky_job	*bj = call->bj;
	enum publish_bluesky_step	 step = call->step;

	free(call);
	if (bj == NULL)
		return;		/* cancelled */
	bj->call = NULL;
	if (resp->aborted)
		return;		/* shutting down: publisher_free cancels */
	switch (step) {
	case PUBLISH_BLUESKY_LOGIN:
		publish_bluesky_login_done(bj, resp);
		break;
	case PUBLISH_BLUESKY_REFRESH:
		publish_bluesky_refresh_done(bj, resp);
		break;
	case PUBLISH_BLUESKY_RESOLVE:
		publish_bluesky_resolve_done(bj, resp);
		break;
	case PUBLISH_BLUESKY_GET:
		publish_bluesky_get_done(bj, resp);
		break;
	case PUBLISH_BLUESKY_CREATE:
		publish_bluesky_create_done(bj, resp);
		break;
	}
}

static void
publish_bluesky_start(struct publish_job *job)
{
	const struct account_conf	*acc = job->account;
	const struct post		*parent = job->reply.parent;
	struct publish_bluesky_job	*bj;
	const char			*why = NULL;

	if (job->state == NULL)
		job->state = xcalloc(1, sizeof(struct publish_bluesky_session));
	if (acc->base_url == NULL || acc->identifier == NULL ||
	    acc->app_password == NULL)
		why = "the account has no base_url, identifier or app_password";
	else if (parent == NULL || parent->platform == NULL ||
	    strcmp(parent->platform, "bluesky") != 0 || parent->id == NULL ||
	    strncmp(parent->id, "at://", 5) != 0)
		why = "the post replied to is not a Bluesky post";
	else if (parent->cid == NULL || *parent->cid == '\0')
		why = "the post replied to has no cid, which Bluesky needs "
		    "to reply to it";
	if (why != NULL) {
		publish_job_done(job, PUBLISH_FAIL, NULL, NULL, -1, why);
		return;
	}
	bj = xcalloc(1, sizeof(*bj));
	bj->job = job;
	job->data = bj;
	publish_bluesky_rkey(&job->reply, bj->rkey);
	bj->nfacets = publish_bluesky_facets(job->reply.text, &bj->facets);
	bj->dids = xcalloc(bj->nfacets + 1, sizeof(*bj->dids));
	publish_bluesky_next(bj);
}

static void
publish_bluesky_cancel(struct publish_job *job)
{
	struct publish_bluesky_job	*bj = job->data;

	if (bj == NULL)
		return;
	if (bj->call != NULL)
		bj->call->bj = NULL;	/* curl's end frees it */
	publish_bluesky_job_free(bj);
	job->data = NULL;
}

const struct publish_ops publish_bluesky_ops = {
	"bluesky",
	publish_bluesky_start,
	publish_bluesky_cancel,
	publish_bluesky_session_free
};
