/* Jetstream v1 frames to posts, deletes and handle changes; its URL. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jetstream.h"
#include "json_scan.h"
#include "text.h"

#define JETSTREAM_COLLECTION	"app.bsky.feed.post"
#define JETSTREAM_FACET		"app.bsky.richtext.facet#"

/* Room for a JSON path in an error message, such as facets[3].features[1]. */
#define JETSTREAM_PATH_MAX	96

/*
 * Tokens on the stack (5 KiB): the recorded post frames have up to 102,
 * so only unusual frames allocate.
 */
#define JETSTREAM_TOKENS	256

/*
 * An optional member: absent and JSON null both mean "not given".
 * Returns -1 with a cause naming path.key ("" is the top level) if it
 * is required and missing, or present with another type.  *out is the
 * member's token, or -1.
 */
static int
jetstream_member(const struct json_scan *js, int obj, const char *path,
    const char *key, bool required,
    bool (*is_type)(const struct json_scan *, int), const char *type,
    int *out, char **cause)
{
	int		 v = json_scan_member(js, obj, key);
	const char	*dot = *path != '\0' ? "." : "";

	*out = -1;
	if (v == -1 || (json_scan_type(js, v) == JSON_SCAN_NULL &&
	    !required)) {
		if (!required)
			return 0;
		*cause = xasprintf("missing %s%s%s", path, dot, key);
		return -1;
	}
	if (!is_type(js, v)) {
		*cause = xasprintf("%s%s%s is not %s", path, dot, key, type);
		return -1;
	}
	*out = v;
	return 0;
}

/* Type tests for jetstream_member, as jansson's json_is_* had them. */
static bool
jetstream_is_string(const struct json_scan *js, int v)
{
	return json_scan_type(js, v) == JSON_SCAN_STRING;
}

static bool
jetstream_is_object(const struct json_scan *js, int v)
{
	return json_scan_type(js, v) == JSON_SCAN_OBJECT;
}

static bool
jetstream_is_array(const struct json_scan *js, int v)
{
	return json_scan_type(js, v) == JSON_SCAN_ARRAY;
}

/* A number without fraction or exponent: 1.0 is a real, as in jansson. */
static bool
jetstream_is_integer(const struct json_scan *js, int v)
{
	return json_scan_type(js, v) == JSON_SCAN_NUMBER &&
	    (js->tok[v].flags & JSON_SCAN_REAL) == 0;
}

/* A string member as its token; json_scan_strdup or _streq read it. */
static int
jetstream_string(const struct json_scan *js, int obj, const char *path,
    const char *key, bool required, int *out, char **cause)
{
	return jetstream_member(js, obj, path, key, required,
	    jetstream_is_string, "a string", out, cause);
}

static int
jetstream_object(const struct json_scan *js, int obj, const char *path,
    const char *key, bool required, int *out, char **cause)
{
	return jetstream_member(js, obj, path, key, required,
	    jetstream_is_object, "an object", out, cause);
}

static int
jetstream_array(const struct json_scan *js, int obj, const char *path,
    const char *key, int *out, char **cause)
{
	return jetstream_member(js, obj, path, key, false, jetstream_is_array,
	    "an array", out, cause);
}

/*
 * DIDs and record keys end up inside URIs and chat links, so only the
 * characters atproto allows in them get through (its DID and record-key
 * syntax, with '%' for did:web ports).
 */
static bool
jetstream_safe(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if ((unsigned)(((unsigned char)*s | 0x20) - 'a') < 26 ||
		    (unsigned)((unsigned char)*s - '0') < 10)
			continue;
		if (strchr("._:~%-", *s) == NULL)
			return false;
	}
	return true;
}

static bool
jetstream_is_did(const char *s)
{
	return strncmp(s, "did:", 4) == 0 && strlen(s) <= 2048 &&
	    jetstream_safe(s + 4);
}

/* "." and ".." would be path segments of their own in the web URL. */
static bool
jetstream_is_rkey(const char *s)
{
	return jetstream_safe(s) && strchr(s, '%') == NULL &&
	    strlen(s) <= 512 && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* A string-array member such as record.langs, checked element by element. */
static int
jetstream_strings(const struct json_scan *js, int obj, const char *path,
    const char *key, int *arr, char **cause)
{
	int	i, v;

	if (jetstream_array(js, obj, path, key, arr, cause) != 0)
		return -1;
	if (*arr == -1)
		return 0;
	JSON_SCAN_FOREACH_ELEMENT(js, *arr, i, v) {
		if (!jetstream_is_string(js, v)) {
			*cause = xasprintf("%s%s%s[%d] is not a string", path,
			    *path != '\0' ? "." : "", key, i);
			return -1;
		}
	}
	return 0;
}

/* Add s to sv unless it is already there; takes ownership of s. */
static void
jetstream_take_unique(struct strv *sv, char *s)
{
	if (strv_contains(sv, s))
		free(s);
	else
		strv_take(sv, s);
}

/* Hashtags compare without '#' and case-insensitively. */
static void
jetstream_add_tag(struct post *p, const char *tag)
{
	char	*t;

	if (*tag == '#')
		tag++;
	if (*tag == '\0')
		return;
	t = text_lower_str(tag);
	if (strv_contains(&p->hashtags, t))
		free(t);
	else
		strv_take(&p->hashtags, t);
}

/* A string token as a hashtag. */
static void
jetstream_add_tag_token(struct post *p, const struct json_scan *js, int v)
{
	char	*tag = json_scan_strdup(js, v);

	jetstream_add_tag(p, tag);
	free(tag);
}

/* One facet feature; types other than mention, link and tag are ignored. */
static int
jetstream_feature(struct post *p, const struct json_scan *js, int feature,
    const char *path, char **cause)
{
	int	 type, value;
	char	*did;

	if (!jetstream_is_object(js, feature)) {
		*cause = xasprintf("%s is not an object", path);
		return -1;
	}
	if (jetstream_string(js, feature, path, "$type", true, &type,
	    cause) != 0)
		return -1;
	if (json_scan_streq(js, type, JETSTREAM_FACET "mention")) {
		if (jetstream_string(js, feature, path, "did", true, &value,
		    cause) != 0)
			return -1;
		did = json_scan_strdup(js, value);
		if (!jetstream_is_did(did)) {
			free(did);
			*cause = xasprintf("%s.did is not a DID", path);
			return -1;
		}
		jetstream_take_unique(&p->mentions, did);
	} else if (json_scan_streq(js, type, JETSTREAM_FACET "link")) {
		if (jetstream_string(js, feature, path, "uri", true, &value,
		    cause) != 0)
			return -1;
		jetstream_take_unique(&p->links, json_scan_strdup(js, value));
	} else if (json_scan_streq(js, type, JETSTREAM_FACET "tag")) {
		if (jetstream_string(js, feature, path, "tag", true, &value,
		    cause) != 0)
			return -1;
		jetstream_add_tag_token(p, js, value);
	}
	return 0;
}

/* record.facets: mentions, links and tags, with their byte ranges unused. */
static int
jetstream_facets(struct post *p, const struct json_scan *js, int record,
    char **cause)
{
	char	path[JETSTREAM_PATH_MAX];
	int	facets, facet, features, feature, i, j;

	if (jetstream_array(js, record, "commit.record", "facets", &facets,
	    cause) != 0)
		return -1;
	if (facets == -1)
		return 0;
	JSON_SCAN_FOREACH_ELEMENT(js, facets, i, facet) {
		snprintf(path, sizeof(path), "commit.record.facets[%d]", i);
		if (!jetstream_is_object(js, facet)) {
			*cause = xasprintf("%s is not an object", path);
			return -1;
		}
		if (jetstream_member(js, facet, path, "features", true,
		    jetstream_is_array, "an array", &features, cause) != 0)
			return -1;
		JSON_SCAN_FOREACH_ELEMENT(js, features, j, feature) {
			snprintf(path, sizeof(path),
			    "commit.record.facets[%d].features[%d]", i, j);
			if (jetstream_feature(p, js, feature, path,
			    cause) != 0)
				return -1;
		}
	}
	return 0;
}

/* record.reply: both strong references are required by the lexicon. */
static int
jetstream_reply(struct post *p, const struct json_scan *js, int record,
    char **cause)
{
	int	reply, root, parent, root_uri, parent_uri, root_cid, parent_cid;

	if (jetstream_object(js, record, "commit.record", "reply", false,
	    &reply, cause) != 0)
		return -1;
	if (reply == -1)
		return 0;
	if (jetstream_object(js, reply, "commit.record.reply", "root", true,
	    &root, cause) != 0 ||
	    jetstream_object(js, reply, "commit.record.reply", "parent", true,
	    &parent, cause) != 0 ||
	    jetstream_string(js, root, "commit.record.reply.root", "uri", true,
	    &root_uri, cause) != 0 ||
	    jetstream_string(js, parent, "commit.record.reply.parent", "uri",
	    true, &parent_uri, cause) != 0 ||
	    jetstream_string(js, root, "commit.record.reply.root", "cid",
	    false, &root_cid, cause) != 0 ||
	    jetstream_string(js, parent, "commit.record.reply.parent", "cid",
	    false, &parent_cid, cause) != 0)
		return -1;
	p->reply_root = json_scan_strdup(js, root_uri);
	p->reply_parent = json_scan_strdup(js, parent_uri);
	/* A reply to this post must name the thread's root by cid too. */
	if (root_cid != -1)
		p->reply_root_cid = json_scan_strdup(js, root_cid);
	if (parent_cid != -1)
		p->reply_parent_cid = json_scan_strdup(js, parent_cid);
	return 0;
}

/* The link card of record.embed (app.bsky.embed.external), if any. */
static int
jetstream_embed(struct post *p, const struct json_scan *js, int record,
    char **cause)
{
	int	embed, external, uri;

	if (jetstream_object(js, record, "commit.record", "embed", false,
	    &embed, cause) != 0)
		return -1;
	if (embed == -1)
		return 0;
	if (jetstream_object(js, embed, "commit.record.embed", "external",
	    false, &external, cause) != 0)
		return -1;
	if (external == -1)
		return 0;
	if (jetstream_string(js, external, "commit.record.embed.external",
	    "uri", false, &uri, cause) != 0)
		return -1;
	if (uri != -1 && !json_scan_streq(js, uri, ""))
		jetstream_take_unique(&p->links, json_scan_strdup(js, uri));
	return 0;
}

/*
 * Whether cp belongs to a word by text_words' rules.  text.h does not
 * export its classifier, so ask text_words itself; this runs only around
 * a '#', never for every character.
 */
static bool
jetstream_is_word(uint32_t cp)
{
	char		s[5];
	struct strv	sv;
	bool		word;

	if (cp < 0x80)
		return (cp | 0x20) - 'a' < 26 || cp - '0' < 10;
	s[utf8_encode(cp, s)] = '\0';
	strv_init(&sv);
	text_words(s, &sv);
	word = sv.n > 0;
	strv_free(&sv);
	return word;
}

/* Whether the code point ending just before text + i is a word character. */
static bool
jetstream_after_word(const char *text, size_t i)
{
	uint32_t	cp;
	size_t		start = i, len;

	while (start > 0 && i - start < 4) {
		start--;
		if (((unsigned char)text[start] & 0xC0) != 0x80)
			break;
	}
	if (start == i)
		return false;
	len = utf8_decode(text + start, i - start, &cp);
	return len == i - start && jetstream_is_word(cp);
}

/*
 * Hashtags written in the text: '#' (or the fullwidth '＃') not inside a
 * word, then a run of word characters.  A run of digits alone ("#1") is
 * not a tag, as on Bluesky itself.
 */
static void
jetstream_text_tags(struct post *p, const char *text, size_t n)
{
	size_t		 i, hash, j, len;
	uint32_t	 cp;
	bool		 digits;
	char		*tag;

	for (i = 0; i < n; i++) {
		if (text[i] == '#')
			hash = 1;
		else if (n - i >= 3 && memcmp(text + i, "\xef\xbc\x83", 3) == 0)
			hash = 3;
		else
			continue;
		if (jetstream_after_word(text, i))
			continue;
		digits = true;
		for (j = i + hash; j < n; j += len) {
			len = utf8_decode(text + j, n - j, &cp);
			if (len == 0 || !jetstream_is_word(cp))
				break;
			if (cp < '0' || cp > '9')
				digits = false;
		}
		if (j > i + hash && !digits) {
			tag = xstrndup(text + i + hash, j - i - hash);
			jetstream_add_tag(p, tag);
			free(tag);
		}
		i = j - 1;
	}
}

static int
jetstream_record(struct post *p, const struct json_scan *js, int record,
    char **cause)
{
	int	text, created, langs, tags, i, v;

	if (jetstream_string(js, record, "commit.record", "text", true, &text,
	    cause) != 0 ||
	    jetstream_string(js, record, "commit.record", "createdAt", false,
	    &created, cause) != 0 ||
	    jetstream_strings(js, record, "commit.record", "langs", &langs,
	    cause) != 0 ||
	    jetstream_strings(js, record, "commit.record", "tags", &tags,
	    cause) != 0)
		return -1;
	p->text = json_scan_strdup(js, text);
	p->created_at = json_scan_strdup(js, created);
	if (langs != -1) {
		JSON_SCAN_FOREACH_ELEMENT(js, langs, i, v)
			strv_take(&p->langs, json_scan_strdup(js, v));
	}
	if (jetstream_reply(p, js, record, cause) != 0 ||
	    jetstream_facets(p, js, record, cause) != 0 ||
	    jetstream_embed(p, js, record, cause) != 0)
		return -1;
	if (tags != -1) {
		JSON_SCAN_FOREACH_ELEMENT(js, tags, i, v)
			jetstream_add_tag_token(p, js, v);
	}
	/* No NUL inside: json_scan refuses \u0000. */
	jetstream_text_tags(p, p->text, strlen(p->text));
	return 0;
}

/* A post create or update; takes ownership of id. */
static int
jetstream_post(struct jetstream_event *ev, const struct json_scan *js,
    int commit, const char *did, char *id, char **cause)
{
	struct post	*p = post_new();
	int		 record, cid;

	p->id = id;
	if (jetstream_string(js, commit, "commit", "cid", false, &cid,
	    cause) != 0 ||
	    jetstream_object(js, commit, "commit", "record", true, &record,
	    cause) != 0 ||
	    jetstream_record(p, js, record, cause) != 0) {
		post_free(p);
		return -1;
	}
	p->platform = xstrdup("bluesky");
	p->cid = json_scan_strdup(js, cid);
	p->author = xstrdup(did);
	p->time_us = ev->time_us;
	p->url = jetstream_web_url(id);
	ev->kind = JETSTREAM_POST;
	ev->post = p;
	return 0;
}

static int
jetstream_commit(struct jetstream_event *ev, const struct json_scan *js,
    const char *did, char **cause)
{
	int	 commit, op, collection, rkey_tok;
	char	*rkey, *id;

	if (jetstream_object(js, 0, "", "commit", true, &commit,
	    cause) != 0 ||
	    jetstream_string(js, commit, "commit", "operation", true, &op,
	    cause) != 0 ||
	    jetstream_string(js, commit, "commit", "collection", true,
	    &collection, cause) != 0 ||
	    jetstream_string(js, commit, "commit", "rkey", true, &rkey_tok,
	    cause) != 0)
		return -1;
	if (!json_scan_streq(js, collection, JETSTREAM_COLLECTION))
		return 0;
	rkey = json_scan_strdup(js, rkey_tok);
	if (!jetstream_is_rkey(rkey)) {
		free(rkey);
		*cause = xstrdup("commit.rkey is not a record key");
		return -1;
	}
	id = xasprintf("at://%s/%s/%s", did, JETSTREAM_COLLECTION, rkey);
	free(rkey);
	if (json_scan_streq(js, op, "create") ||
	    json_scan_streq(js, op, "update")) {
		ev->updated = json_scan_streq(js, op, "update");
		return jetstream_post(ev, js, commit, did, id, cause);
	}
	if (json_scan_streq(js, op, "delete")) {
		ev->kind = JETSTREAM_DELETE;
		ev->id = id;
		return 0;
	}
	free(id);
	return 0;
}

/* A handle change; Jetstream leaves the handle out when it is unknown. */
static int
jetstream_identity(struct jetstream_event *ev, const struct json_scan *js,
    const char *did, char **cause)
{
	int	 identity, handle = -1, id_did = -1;
	char	*new_did;

	if (jetstream_object(js, 0, "", "identity", false, &identity,
	    cause) != 0)
		return -1;
	if (identity != -1 &&
	    (jetstream_string(js, identity, "identity", "did", false, &id_did,
	    cause) != 0 ||
	    jetstream_string(js, identity, "identity", "handle", false,
	    &handle, cause) != 0))
		return -1;
	new_did = id_did != -1 ? json_scan_strdup(js, id_did) : xstrdup(did);
	if (!jetstream_is_did(new_did)) {
		free(new_did);
		*cause = xstrdup("identity.did is not a DID");
		return -1;
	}
	ev->kind = JETSTREAM_IDENTITY;
	ev->did = new_did;
	ev->handle = json_scan_strdup(js, handle);
	return 0;
}

/* The frame's root is token 0. */
static int
jetstream_frame(struct jetstream_event *ev, const struct json_scan *js,
    char **cause)
{
	int	 did_tok, kind, time_us, rv = 0;
	char	*did;

	if (!jetstream_is_object(js, 0)) {
		*cause = xstrdup("frame is not a JSON object");
		return -1;
	}
	if (jetstream_string(js, 0, "", "did", true, &did_tok, cause) != 0 ||
	    jetstream_member(js, 0, "", "time_us", true, jetstream_is_integer,
	    "an integer", &time_us, cause) != 0 ||
	    jetstream_string(js, 0, "", "kind", true, &kind, cause) != 0)
		return -1;
	did = json_scan_strdup(js, did_tok);
	if (!jetstream_is_did(did)) {
		free(did);
		*cause = xstrdup("did is not a DID");
		return -1;
	}
	json_scan_int(js, time_us, &ev->time_us);
	if (json_scan_streq(js, kind, "commit"))
		rv = jetstream_commit(ev, js, did, cause);
	else if (json_scan_streq(js, kind, "identity"))
		rv = jetstream_identity(ev, js, did, cause);
	free(did);
	return rv;
}

/*
 * ev is an output: whatever it held before is overwritten, not freed.
 * json_scan accepts what jansson's json_loadb(JSON_REJECT_DUPLICATES)
 * did, at a fraction of the cost, and the frame is read in place.
 */
int
jetstream_parse(const char *buf, size_t len, struct jetstream_event *ev,
    char **cause)
{
	struct json_scan_token	 tok[JETSTREAM_TOKENS];
	struct json_scan	 js;
	char			*why = NULL;
	int			 rv;

	memset(ev, 0, sizeof(*ev));
	ev->kind = JETSTREAM_OTHER;
	json_scan_init(&js, tok, JETSTREAM_TOKENS);
	if (json_scan_parse(&js, buf, len, 0) != 0) {
		why = xasprintf("invalid JSON at %d:%d (byte %zu): %s",
		    js.error_line, js.error_column, js.error_pos, js.error);
		rv = -1;
	} else
		rv = jetstream_frame(ev, &js, &why);
	json_scan_free(&js);
	if (rv != 0)
		jetstream_event_clear(ev);
	if (cause != NULL)
		*cause = why;
	else
		free(why);
	return rv;
}

void
jetstream_event_clear(struct jetstream_event *ev)
{
	if (ev == NULL)
		return;
	post_free(ev->post);
	free(ev->id);
	free(ev->did);
	free(ev->handle);
	memset(ev, 0, sizeof(*ev));
}

char *
jetstream_web_url(const char *at_uri)
{
	static const char	 mid[] = "/" JETSTREAM_COLLECTION "/";
	const char		*auth, *slash;
	char			*who, *url;

	if (at_uri == NULL || strncmp(at_uri, "at://", 5) != 0)
		return NULL;
	auth = at_uri + 5;
	slash = strchr(auth, '/');
	if (slash == NULL || slash == auth ||
	    strncmp(slash, mid, sizeof(mid) - 1) != 0 ||
	    !jetstream_is_rkey(slash + sizeof(mid) - 1))
		return NULL;
	who = xstrndup(auth, (size_t)(slash - auth));
	url = NULL;
	if (jetstream_safe(who))
		url = xasprintf("https://bsky.app/profile/%s/post/%s", who,
		    slash + sizeof(mid) - 1);
	free(who);
	return url;
}

/* RFC 3986 unreserved characters pass, and ':' which every DID has. */
static void
jetstream_url_escape(struct buf *b, const char *s)
{
	static const char	hex[] = "0123456789ABCDEF";
	unsigned char		c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if ((unsigned)((c | 0x20) - 'a') < 26 ||
		    (unsigned)(c - '0') < 10 ||
		    strchr("-._~:", c) != NULL) {
			buf_addc(b, (char)c);
			continue;
		}
		buf_addc(b, '%');
		buf_addc(b, hex[c >> 4]);
		buf_addc(b, hex[c & 15]);
	}
}

char *
jetstream_url(const char *base, const struct strv *wanted_dids,
    int64_t cursor_us)
{
	struct buf	b;
	size_t		i, n = strlen(base);

	buf_init(&b);
	buf_adds(&b, base);
	if (n == 0 || (base[n - 1] != '?' && base[n - 1] != '&'))
		buf_addc(&b, strchr(base, '?') != NULL ? '&' : '?');
	buf_adds(&b, "wantedCollections=" JETSTREAM_COLLECTION);
	for (i = 0; wanted_dids != NULL && i < wanted_dids->n; i++) {
		buf_adds(&b, "&wantedDids=");
		jetstream_url_escape(&b, wanted_dids->v[i]);
	}
	if (cursor_us > 0)
		buf_printf(&b, "&cursor=%" PRId64, cursor_us);
	return buf_steal(&b);
}
