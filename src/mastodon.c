/* Mastodon streaming messages, REST pages and Status entities to posts. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_scan.h"
#include "mastodon.h"
#include "text.h"

/*
 * Longest id we take.  Mastodon's are 18 or 19 digits; other servers
 * speaking its API use base-62 or ULIDs of about 26 characters.
 */
#define MASTODON_ID_MAX		64

/*
 * Tokens on the stack for an envelope: it has seven or eight, unless a
 * server sends the payload as an object rather than a string.
 */
#define MASTODON_ENV_TOKENS	16

/* Longest acct: a 30-character user name at a 253-byte domain, padded. */
#define MASTODON_ACCT_MAX	512

/*
 * Ids become part of post ids and of REST query strings (min_id), so
 * only letters and digits get through, whatever the server sends.
 */
static bool
mastodon_id_ok(const char *s)
{
	size_t	n;

	for (n = 0; s[n] != '\0'; n++) {
		if ((unsigned)((unsigned char)s[n] - '0') >= 10 &&
		    (unsigned)(((unsigned char)s[n] | 0x20) - 'a') >= 26)
			return false;
	}
	return n > 0 && n <= MASTODON_ID_MAX;
}

/* A member holding an id (a string), or NULL with *cause. */
static const char *
mastodon_id_member(const json_t *obj, const char *what, const char *key,
    char **cause)
{
	const char	*id = json_string_value(json_object_get(obj, key));

	if (id == NULL)
		*cause = xasprintf("%s: missing %s", what, key);
	else if (!mastodon_id_ok(id))
		*cause = xasprintf("%s: %s is not an id", what, key);
	else
		return id;
	return NULL;
}

/*
 * acct is "user" for the instance's own accounts and "user@domain" for
 * the others; routing rules and chat messages need the full address,
 * the same for every instance that reports it.  NULL if acct is not
 * one (empty, spaces or controls, an '@' with nothing around it).
 */
static char *
mastodon_full_acct(const char *acct, const char *host)
{
	const char	*at;
	size_t		 n;

	if (acct == NULL || *acct == '\0' || *acct == '@')
		return NULL;
	for (n = 0; acct[n] != '\0'; n++) {
		if ((unsigned char)acct[n] <= ' ' || acct[n] == 0x7f)
			return NULL;
	}
	if (n > MASTODON_ACCT_MAX)
		return NULL;
	at = strchr(acct, '@');
	if (at == NULL)
		return xasprintf("%s@%s", acct, host);
	if (at[1] == '\0' || strchr(at + 1, '@') != NULL)
		return NULL;
	return xstrdup(acct);
}

/* A web link a person may follow: http(s) only, whatever the server says. */
static const char *
mastodon_web_url(const json_t *v)
{
	const char	*s = json_string_value(v);

	if (s == NULL || (strncmp(s, "https://", 8) != 0 &&
	    strncmp(s, "http://", 7) != 0))
		return NULL;
	return s;
}

/*
 * The lists: other servers speaking this API fill them loosely, so an
 * element that is not what Mastodon sends is passed over rather than
 * losing the whole status.
 */
static void
mastodon_post_lists(struct post *p, const json_t *status, const char *host)
{
	const json_t	*v;
	const char	*s;
	char		*t;
	size_t		 i;

	json_array_foreach(json_object_get(status, "mentions"), i, v) {
		t = mastodon_full_acct(json_string_value(json_object_get(v,
		    "acct")), host);
		if (t != NULL && !strv_contains(&p->mentions, t))
			strv_take(&p->mentions, t);
		else
			free(t);
	}
	json_array_foreach(json_object_get(status, "tags"), i, v) {
		s = json_string_value(json_object_get(v, "name"));
		if (s != NULL && *s == '#')
			s++;
		if (s == NULL || *s == '\0')
			continue;
		t = text_lower_str(s);
		if (!strv_contains(&p->hashtags, t))
			strv_take(&p->hashtags, t);
		else
			free(t);
	}
}

/* The post's text: the content as text, its content warning first. */
static char *
mastodon_post_text(const char *content, const json_t *status)
{
	const char	*cw = json_string_value(json_object_get(status,
			    "spoiler_text"));
	char		*text = mastodon_html_text(content), *t;

	if (cw == NULL || *cw == '\0')
		return text;
	t = xasprintf("CW: %s\n%s", cw, text);
	free(text);
	return t;
}

/* Hand a cause to the caller, who may pass NULL for none. */
static void
mastodon_cause(char **cause, char *why)
{
	if (cause != NULL)
		*cause = why;
	else
		free(why);
}

/* mastodon_status_post, with a cause always written on failure. */
static struct post *
mastodon_post(const json_t *status, const char *host, char **cause)
{
	const json_t	*account, *v;
	const char	*id, *content, *reply = NULL, *s;
	char		*author;
	struct post	*p;

	if (!json_is_object(status)) {
		*cause = xstrdup("status: not an object");
		return NULL;
	}
	v = json_object_get(status, "reblog");
	if (v != NULL && !json_is_null(v)) {
		*cause = xstrdup("status: a boost, not a post");
		return NULL;
	}
	id = mastodon_id_member(status, "status", "id", cause);
	if (id == NULL)
		return NULL;
	account = json_object_get(status, "account");
	if (!json_is_object(account)) {
		*cause = xstrdup("status: missing account");
		return NULL;
	}
	author = mastodon_full_acct(json_string_value(json_object_get(account,
	    "acct")), host);
	if (author == NULL) {
		*cause = xstrdup("status: account.acct missing or invalid");
		return NULL;
	}
	v = json_object_get(status, "content");
	content = json_string_value(v);
	if (content == NULL && v != NULL && !json_is_null(v)) {
		*cause = xstrdup("status: content is not a string");
		free(author);
		return NULL;
	}
	v = json_object_get(status, "in_reply_to_id");
	if (v != NULL && !json_is_null(v)) {
		reply = json_string_value(v);
		if (reply == NULL || !mastodon_id_ok(reply)) {
			*cause = xstrdup("status: in_reply_to_id is not an id");
			free(author);
			return NULL;
		}
	}

	p = post_new();
	p->platform = xstrdup("mastodon");
	p->id = xasprintf("%s/%s", host, id);
	p->author = author;
	p->author_handle = xstrdup(author);
	p->text = mastodon_post_text(content, status);
	s = json_string_value(json_object_get(status, "language"));
	if (s != NULL && *s != '\0')
		strv_add(&p->langs, s);
	p->created_at = xstrdup(json_string_value(json_object_get(status,
	    "created_at")));
	p->time_us = now_wall_us();
	if (reply != NULL)
		p->reply_parent = xasprintf("%s/%s", host, reply);
	s = mastodon_web_url(json_object_get(status, "url"));
	if (s == NULL)
		s = mastodon_web_url(json_object_get(status, "uri"));
	p->url = xstrdup(s);
	mastodon_post_lists(p, status, host);
	mastodon_html_links(content, &p->links);
	p->visibility = xstrdup(json_string_value(json_object_get(status,
	    "visibility")));
	return p;
}

struct post *
mastodon_status_post(const json_t *status, const char *host, char **cause)
{
	struct post	*p;
	char		*why = NULL;

	p = mastodon_post(status, host, &why);
	if (p == NULL)
		mastodon_cause(cause, why);
	return p;
}

void
mastodon_event_clear(struct mastodon_event *ev)
{
	if (ev == NULL)
		return;
	post_free(ev->post);
	free(ev->id);
	free(ev->status_id);
	free(ev->notification_id);
	free(ev->stream);
	memset(ev, 0, sizeof(*ev));
	ev->kind = MASTODON_OTHER;
}

/*
 * A Status (update, status.update, a mention's status) as an event of
 * kind.  A boost is OTHER: the post it carries is not its booster's,
 * and the original reaches us on its own if it matters.  Its id is
 * still given, for paging.
 */
static int
mastodon_status_event(const json_t *status, const char *host,
    enum mastodon_kind kind, struct mastodon_event *ev, char **cause)
{
	const json_t	*reblog = json_object_get(status, "reblog");
	const char	*id;

	if (!json_is_object(status)) {
		*cause = xstrdup("status: not an object");
		return -1;
	}
	id = mastodon_id_member(status, "status", "id", cause);
	if (id == NULL)
		return -1;
	if (reblog != NULL && !json_is_null(reblog)) {
		ev->kind = MASTODON_OTHER;
		ev->status_id = xstrdup(id);
		return 0;
	}
	ev->post = mastodon_post(status, host, cause);
	if (ev->post == NULL)
		return -1;
	ev->kind = kind;
	ev->status_id = xstrdup(id);
	return 0;
}

/*
 * A Notification: a mention becomes its status; every other type (and
 * a mention without a status) is OTHER.
 */
static int
mastodon_notification_event(const json_t *n, const char *host,
    struct mastodon_event *ev, char **cause)
{
	const json_t	*status;
	const char	*id, *type;

	if (!json_is_object(n)) {
		*cause = xstrdup("notification: not an object");
		return -1;
	}
	id = mastodon_id_member(n, "notification", "id", cause);
	if (id == NULL)
		return -1;
	type = json_string_value(json_object_get(n, "type"));
	if (type == NULL) {
		*cause = xstrdup("notification: missing type");
		return -1;
	}
	ev->kind = MASTODON_OTHER;
	ev->notification_id = xstrdup(id);
	status = json_object_get(n, "status");
	if (strcmp(type, "mention") != 0 || status == NULL ||
	    json_is_null(status))
		return 0;
	return mastodon_status_event(status, host, MASTODON_STATUS, ev,
	    cause);
}

/*
 * The payload of a message: a JSON text inside a string, parsed again.
 * An object in its place is taken as it is, for servers that do not
 * encode it twice.  Returns a new reference, or NULL with *cause.
 */
static json_t *
mastodon_payload(const struct json_scan *js, int payload, char **cause)
{
	const struct json_scan_token	*t = &js->tok[payload];
	json_error_t			 err;
	json_t				*v;
	char				*text;

	switch (json_scan_type(js, payload)) {
	case JSON_SCAN_OBJECT:
		v = json_loadb(js->buf + t->start, t->end - t->start, 0, &err);
		break;
	case JSON_SCAN_STRING:
		text = json_scan_strdup(js, payload);
		v = json_loads(text, 0, &err);
		free(text);
		break;
	default:
		*cause = xstrdup("payload missing or not a string");
		return NULL;
	}
	if (v == NULL) {
		*cause = xasprintf("payload: %s at column %d", err.text,
		    err.column);
		return NULL;
	}
	if (!json_is_object(v)) {
		*cause = xstrdup("payload: not an object");
		json_decref(v);
		return NULL;
	}
	return v;
}

static int
mastodon_on_status(const struct json_scan *js, int payload,
    const char *host, enum mastodon_kind kind, struct mastodon_event *ev,
    char **cause)
{
	json_t	*status = mastodon_payload(js, payload, cause);
	int	 rv;

	if (status == NULL)
		return -1;
	rv = mastodon_status_event(status, host, kind, ev, cause);
	json_decref(status);
	return rv;
}

static int
mastodon_on_update(const struct json_scan *js, int payload,
    const char *host, struct mastodon_event *ev, char **cause)
{
	return mastodon_on_status(js, payload, host, MASTODON_STATUS, ev,
	    cause);
}

static int
mastodon_on_edit(const struct json_scan *js, int payload, const char *host,
    struct mastodon_event *ev, char **cause)
{
	return mastodon_on_status(js, payload, host, MASTODON_EDIT, ev, cause);
}

/* delete: the payload is the bare id, not JSON inside the string. */
static int
mastodon_on_delete(const struct json_scan *js, int payload,
    const char *host, struct mastodon_event *ev, char **cause)
{
	char	*id = json_scan_strdup(js, payload);

	if (id == NULL || !mastodon_id_ok(id)) {
		*cause = xstrdup("delete: payload is not an id");
		free(id);
		return -1;
	}
	ev->kind = MASTODON_DELETE;
	ev->id = xasprintf("%s/%s", host, id);
	ev->status_id = id;
	return 0;
}

static int
mastodon_on_notification(const struct json_scan *js, int payload,
    const char *host, struct mastodon_event *ev, char **cause)
{
	json_t	*n = mastodon_payload(js, payload, cause);
	int	 rv;

	if (n == NULL)
		return -1;
	rv = mastodon_notification_event(n, host, ev, cause);
	json_decref(n);
	return rv;
}

/*
 * The events we act on.  The others (conversation, filters_changed,
 * announcement.*, notifications_merged, and whatever comes next) are
 * OTHER without a look at their payload.
 */
static const struct {
	const char	*event;
	int		 (*parse)(const struct json_scan *, int, const char *,
			     struct mastodon_event *, char **);
} mastodon_events[] = {
	{ "update", mastodon_on_update },
	{ "status.update", mastodon_on_edit },
	{ "delete", mastodon_on_delete },
	{ "notification", mastodon_on_notification }
};

/* stream[0], the stream a message came from; older servers send a string. */
static void
mastodon_stream_name(const struct json_scan *js, int env,
    struct mastodon_event *ev)
{
	int	v = json_scan_member(js, env, "stream");

	if (json_scan_type(js, v) == JSON_SCAN_ARRAY)
		v = js->tok[v].size > 0 ? v + 1 : -1;
	ev->stream = json_scan_strdup(js, v);
}

/*
 * Why the envelope is read with json_scan: with jansson, building its
 * tree took as long as parsing the payload (a Status) a second time.
 * The payload itself goes to jansson, as mastodon_status_post takes a
 * json_t.
 */
static int
mastodon_message(const char *buf, size_t len, const char *host,
    struct mastodon_event *ev, char **cause)
{
	struct json_scan_token	 tok[MASTODON_ENV_TOKENS];
	struct json_scan	 js;
	char			*error;
	size_t			 i;
	int			 event, rv = -1;

	memset(ev, 0, sizeof(*ev));
	ev->kind = MASTODON_OTHER;
	json_scan_init(&js, tok, nitems(tok));
	if (json_scan_parse(&js, buf, len, JSON_SCAN_ANY) != 0) {
		*cause = xasprintf("invalid JSON: %s at column %d", js.error,
		    js.error_column);
		goto out;
	}
	if (json_scan_type(&js, 0) != JSON_SCAN_OBJECT) {
		*cause = xstrdup("message is not an object");
		goto out;
	}
	event = json_scan_member(&js, 0, "event");
	if (json_scan_type(&js, event) != JSON_SCAN_STRING) {
		/* The server reports a bad subscription this way. */
		error = json_scan_strdup(&js, json_scan_member(&js, 0,
		    "error"));
		if (error != NULL)
			*cause = xasprintf("stream error: %s", error);
		else
			*cause = xstrdup("missing event");
		free(error);
		goto out;
	}
	mastodon_stream_name(&js, 0, ev);
	rv = 0;
	for (i = 0; i < nitems(mastodon_events); i++) {
		if (json_scan_streq(&js, event, mastodon_events[i].event)) {
			rv = mastodon_events[i].parse(&js, json_scan_member(&js,
			    0, "payload"), host, ev, cause);
			break;
		}
	}
out:
	json_scan_free(&js);
	if (rv != 0)
		mastodon_event_clear(ev);
	return rv;
}

int
mastodon_parse_message(const char *buf, size_t len, const char *host,
    struct mastodon_event *ev, char **cause)
{
	char	*why = NULL;
	int	 rv;

	rv = mastodon_message(buf, len, host, ev, &why);
	if (rv != 0)
		mastodon_cause(cause, why);
	return rv;
}

/* One page element as an event: 0, or -1 with *cause. */
static int
mastodon_page_item(const json_t *v, const char *host, bool notifications,
    struct mastodon_event *ev, char **cause)
{
	if (notifications)
		return mastodon_notification_event(v, host, ev, cause);
	return mastodon_status_event(v, host, MASTODON_STATUS, ev, cause);
}

/* Page order: by the id pages are cut by; equal ids keep their order. */
struct mastodon_page_entry {
	struct mastodon_event	ev;
	size_t			index;
	bool			notifications;
};

static int
mastodon_page_cmp(const void *a, const void *b)
{
	const struct mastodon_page_entry	*x = a, *y = b;
	int					 c;

	if (x->notifications)
		c = mastodon_id_cmp(x->ev.notification_id,
		    y->ev.notification_id);
	else
		c = mastodon_id_cmp(x->ev.status_id, y->ev.status_id);
	if (c != 0)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * Statuses give every element an event (a boost is OTHER, with its
 * id, so that paging goes past it); notifications give only mentions,
 * as the header promises.  Any malformed element fails the page: the
 * caller retries rather than stepping over a status it cannot read.
 */
static struct mastodon_page_entry *
mastodon_page_items(const json_t *arr, const char *host, bool notifications,
    size_t *np, char **cause)
{
	struct mastodon_page_entry	*e;
	const json_t			*v;
	char				*why = NULL;
	size_t				 i, n = 0;

	e = xcalloc(json_array_size(arr) + 1, sizeof(*e));
	json_array_foreach(arr, i, v) {
		if (mastodon_page_item(v, host, notifications, &e[n].ev,
		    &why) != 0) {
			*cause = xasprintf("page[%zu]: %s", i, why);
			free(why);
			/* A notification may fail after its id was kept. */
			mastodon_event_clear(&e[n].ev);
			while (n > 0)
				mastodon_event_clear(&e[--n].ev);
			free(e);
			return NULL;
		}
		if (notifications && e[n].ev.kind == MASTODON_OTHER) {
			mastodon_event_clear(&e[n].ev);
			continue;
		}
		e[n].index = i;
		e[n].notifications = notifications;
		n++;
	}
	*np = n;
	return e;
}

/* mastodon_parse_page, with a cause always written on failure. */
static int
mastodon_page(const char *body, size_t len, const char *host,
    bool notifications, struct mastodon_event **evs, char **cause)
{
	struct mastodon_page_entry	*e;
	json_error_t			 err;
	json_t				*arr;
	size_t				 i, n = 0;

	arr = json_loadb(body, len, 0, &err);
	if (arr == NULL) {
		*cause = xasprintf("invalid JSON: %s at column %d", err.text,
		    err.column);
		return -1;
	}
	if (!json_is_array(arr)) {
		*cause = xstrdup("page is not an array");
		json_decref(arr);
		return -1;
	}
	e = mastodon_page_items(arr, host, notifications, &n, cause);
	json_decref(arr);
	if (e == NULL)
		return -1;
	qsort(e, n, sizeof(*e), mastodon_page_cmp);
	if (n > 0)
		*evs = xcalloc(n, sizeof(**evs));
	for (i = 0; i < n; i++)
		(*evs)[i] = e[i].ev;
	free(e);
	return (int)n;
}

int
mastodon_parse_page(const char *body, size_t len, const char *host,
    bool notifications, struct mastodon_event **evs, char **cause)
{
	char	*why = NULL;
	int	 rv;

	*evs = NULL;
	rv = mastodon_page(body, len, host, notifications, evs, &why);
	if (rv < 0)
		mastodon_cause(cause, why);
	return rv;
}

int
mastodon_id_cmp(const char *a, const char *b)
{
	size_t	la, lb;
	int	c;

	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	/* Leading zeros do not change a number. */
	while (a[0] == '0' && a[1] != '\0')
		a++;
	while (b[0] == '0' && b[1] != '\0')
		b++;
	la = strlen(a);
	lb = strlen(b);
	if (la != lb)
		return la < lb ? -1 : 1;
	c = strcmp(a, b);
	return (c > 0) - (c < 0);
}
