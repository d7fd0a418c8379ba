/* The generic JSON webhook adapter: the normalised post and the routing
 * decision as JSON, signed with HMAC-SHA256 so the receiver can verify
 * who sent it and when. */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sink.h"
#include "text.h"

/* The signature scheme's version, in the signed string and the header. */
#define SINK_WEBHOOK_VERSION	"v1"
#define SINK_WEBHOOK_HEX	(2 * EVP_MAX_MD_SIZE + 1)

struct sink_webhook_settings {
	char	*secret;	/* the HMAC key, as configured */
};

static const char *const sink_webhook_keys[] = { "secret", NULL };

static const char *const sink_webhook_kinds[] = {
	[DELIVERY_POST] = "post",
	[DELIVERY_EDIT] = "edit",
	[DELIVERY_DELETE] = "delete",
	[DELIVERY_NOTE] = "note"
};

/* s as a JSON string, invalid UTF-8 bytes as U+FFFD; null for NULL. */
static json_t *
sink_webhook_string(const char *s)
{
	struct sink_walk	 w;
	struct buf		 b;
	json_t			*v;

	if (s == NULL)
		return json_null();
	v = json_string(s);
	if (v != NULL)
		return v;
	buf_init(&b);
	buf_adds(&b, "");
	sink_walk_init(&w, s);
	while (sink_walk_next(&w)) {
		if (w.cp == SINK_WALK_INVALID)
			buf_adds(&b, SINK_REPLACEMENT);
		else
			buf_add(&b, w.p, w.len);
	}
	v = json_string(b.data);
	buf_free(&b);
	return v != NULL ? v : json_string("");
}

/*
 * The post as post_to_json() writes it (the same form the store keeps),
 * with any field it had to leave out for invalid UTF-8 put back with
 * U+FFFD in place of the bad bytes: the receiver gets every field.
 */
static json_t *
sink_webhook_post(const struct post *p)
{
	static const struct {
		const char	*name;
		size_t		 offset;
	} strings[] = {
#define SINK_WEBHOOK_FIELD(f) { #f, offsetof(struct post, f) }
		SINK_WEBHOOK_FIELD(platform),
		SINK_WEBHOOK_FIELD(id),
		SINK_WEBHOOK_FIELD(cid),
		SINK_WEBHOOK_FIELD(author),
		SINK_WEBHOOK_FIELD(author_handle),
		SINK_WEBHOOK_FIELD(text),
		SINK_WEBHOOK_FIELD(created_at),
		SINK_WEBHOOK_FIELD(reply_root),
		SINK_WEBHOOK_FIELD(reply_parent),
		SINK_WEBHOOK_FIELD(reply_root_cid),
		SINK_WEBHOOK_FIELD(reply_parent_cid),
		SINK_WEBHOOK_FIELD(url),
		SINK_WEBHOOK_FIELD(visibility),
	}, lists[] = {
		SINK_WEBHOOK_FIELD(langs),
		SINK_WEBHOOK_FIELD(mentions),
		SINK_WEBHOOK_FIELD(hashtags),
		SINK_WEBHOOK_FIELD(links),
#undef SINK_WEBHOOK_FIELD
	};
	json_t			*o = post_to_json(p), *a;
	const char		*s;
	const struct strv	*l;
	size_t			 i, j;

	for (i = 0; i < nitems(strings); i++) {
		s = *(char *const *)((const char *)p + strings[i].offset);
		if (s != NULL && json_object_get(o, strings[i].name) == NULL)
			json_object_set_new(o, strings[i].name,
			    sink_webhook_string(s));
	}
	for (i = 0; i < nitems(lists); i++) {
		l = (const struct strv *)((const char *)p + lists[i].offset);
		if (l->n == 0 || json_array_size(json_object_get(o,
		    lists[i].name)) == l->n)
			continue;
		a = json_array();
		for (j = 0; j < l->n; j++)
			json_array_append_new(a, sink_webhook_string(l->v[j]));
		json_object_set_new(o, lists[i].name, a);
	}
	return o;
}

/*
 * One delivery: what it is, where it goes, who decided, which chat
 * message roots its conversation here, and the post.
 */
static json_t *
sink_webhook_delivery(const struct delivery *d)
{
	json_t	*o = json_object();

	json_object_set_new(o, "delivery", json_integer(d->id));
	json_object_set_new(o, "kind", json_string((size_t)d->kind <
	    nitems(sink_webhook_kinds) ? sink_webhook_kinds[d->kind] :
	    "unknown"));
	json_object_set_new(o, "destination",
	    sink_webhook_string(d->destination));
	json_object_set_new(o, "team", sink_webhook_string(d->team));
	json_object_set_new(o, "rule", sink_webhook_string(d->rule));
	json_object_set_new(o, "code", sink_webhook_string(d->code));
	json_object_set_new(o, "thread", sink_webhook_string(d->thread));
	json_object_set_new(o, "message", sink_webhook_string(d->message));
	if (d->kind == DELIVERY_NOTE)
		json_object_set_new(o, "note", sink_webhook_string(d->note));
	json_object_set_new(o, "post", d->post != NULL ?
	    sink_webhook_post(d->post) : json_null());
	return o;
}

/*
 * Sign the request's body: the receiver recomputes
 * hex(HMAC-SHA256(secret, "v1:" + timestamp + ":" + body)) over the raw
 * bytes it got, compares it in constant time with the signature after
 * "v1=", and refuses a timestamp far from its clock (a replay).
 */
static int
sink_webhook_sign(const struct chat_conf *chat, struct http_request *req,
    const char *ids, char **cause)
{
	const struct sink_webhook_settings	*s = chat->settings;
	unsigned char				 mac[EVP_MAX_MD_SIZE];
	unsigned int				 maclen = 0;
	char					 hex[SINK_WEBHOOK_HEX];
	struct buf				 base;
	long long				 ts = now_wall_ms() / 1000;

	buf_init(&base);
	buf_printf(&base, SINK_WEBHOOK_VERSION ":%lld:", ts);
	buf_add(&base, req->body, req->body_len);
	if (HMAC(EVP_sha256(), s->secret, (int)strlen(s->secret),
	    (const unsigned char *)base.data, base.len, mac,
	    &maclen) == NULL) {
		buf_free(&base);
		*cause = xstrdup("webhook: HMAC failed");
		return -1;
	}
	buf_free(&base);
	hex_encode(mac, maclen, hex);
	strv_take(&req->headers, xasprintf("X-Switchboard-Delivery: %s", ids));
	strv_take(&req->headers, xasprintf("X-Switchboard-Timestamp: %lld",
	    ts));
	strv_take(&req->headers, xasprintf("X-Switchboard-Signature: "
	    SINK_WEBHOOK_VERSION "=%s", hex));
	return 0;
}

static int
sink_webhook_ready(const struct chat_conf *chat, char **cause)
{
	const struct sink_webhook_settings	*s = chat->settings;

	if (chat->webhook_url == NULL || *chat->webhook_url == '\0') {
		*cause = xstrdup("webhook: no webhook_url");
		return -1;
	}
	if (s == NULL || s->secret == NULL || *s->secret == '\0') {
		*cause = xstrdup("webhook: no secret to sign with");
		return -1;
	}
	return 0;
}

static int
sink_webhook_format(const struct chat_conf *chat, const struct delivery *d,
    struct http_request *req, char **cause)
{
	char	*id;
	int	 rc;

	if (sink_webhook_ready(chat, cause) != 0)
		return -1;
	if (sink_json_request(req, "webhook", chat->webhook_url,
	    "application/json", sink_webhook_delivery(d), cause) != 0)
		return -1;
	id = xasprintf("%lld", (long long)d->id);
	rc = sink_webhook_sign(chat, req, id, cause);
	free(id);
	return rc;
}

/*
 * Several posts at once: {"kind": "digest", "destination": ...,
 * "deliveries": [each as above]}, signed the same way; the delivery
 * header lists every id, comma-separated.  Nothing is shortened: a
 * machine reads it.
 */
static int
sink_webhook_format_digest(const struct chat_conf *chat,
    const struct delivery *const *d, size_t n, struct http_request *req,
    char **cause)
{
	struct buf	 ids;
	json_t		*all, *msg;
	size_t		 i;
	int		 rc;

	if (sink_webhook_ready(chat, cause) != 0)
		return -1;
	if (n == 0) {
		*cause = xstrdup("webhook: empty digest");
		return -1;
	}
	all = json_array();
	buf_init(&ids);
	for (i = 0; i < n; i++) {
		json_array_append_new(all, sink_webhook_delivery(d[i]));
		buf_printf(&ids, "%s%lld", i > 0 ? "," : "",
		    (long long)d[i]->id);
	}
	msg = json_pack("{s:s, s:o, s:o}", "kind", "digest", "destination",
	    sink_webhook_string(d[0]->destination), "deliveries", all);
	rc = sink_json_request(req, "webhook", chat->webhook_url,
	    "application/json", msg, cause);
	if (rc == 0)
		rc = sink_webhook_sign(chat, req, ids.data, cause);
	buf_free(&ids);
	return rc;
}

/*
 * Any 2xx is delivered.  A receiver that wants later posts of a
 * conversation to name a message of its own answers {"id": "..."}:
 * that id comes back as "thread" (and "message" for edits).
 */
static enum sink_result
sink_webhook_response(const struct chat_conf *chat,
    const struct http_response *resp, struct sink_answer *a)
{
	enum sink_result	 result;
	json_t			*body = NULL, *id;

	(void)chat;
	result = sink_classify(resp, a);
	if (result != SINK_OK || resp->body == NULL || resp->body_len == 0)
		return result;
	body = json_loadb(resp->body, resp->body_len, 0, NULL);
	id = json_object_get(body, "id");
	if (json_is_string(id) && json_string_length(id) > 0 &&
	    json_string_length(id) <= 256)
		a->message_id = xstrdup(json_string_value(id));
	json_decref(body);
	return result;
}

static void
sink_webhook_settings_free(void *p)
{
	struct sink_webhook_settings	*s = p;

	if (s == NULL)
		return;
	free(s->secret);
	free(s);
}

static int
sink_webhook_configure(struct chat_conf *chat, const config_setting_t *group,
    struct cfg_errors *errs)
{
	struct sink_webhook_settings	*s = xcalloc(1, sizeof(*s));

	chat->settings = s;
	if (group == NULL)
		return -1;
	if (cfg_string(group, "secret", CFG_SECRET | CFG_REQUIRED, NULL,
	    &s->secret, errs) != 1)
		return -1;
	/* A short key makes a forgeable signature. */
	if (strlen(s->secret) < 16) {
		cfg_error(errs, group, "secret: must be at least 16 "
		    "characters");
		return -1;
	}
	return 0;
}

const struct sink_ops sink_webhook_ops = {
	.type = "webhook",
	.keys = sink_webhook_keys,
	.needs_url = 1,
	/* A receiver of our own: as fast as a chat server. */
	.default_rate = 10.0,
	.default_burst = 20,
	.configure = sink_webhook_configure,
	.settings_free = sink_webhook_settings_free,
	.format = sink_webhook_format,
	.format_digest = sink_webhook_format_digest,
	.response = sink_webhook_response
};
