/* Jetstream v1 frames to posts, deletes and handle changes; its URL. */
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jetstream.h"
#include "text.h"

#define JETSTREAM_COLLECTION	"app.bsky.feed.post"
#define JETSTREAM_FACET		"app.bsky.richtext.facet#"

/* Room for a JSON path in an error message, such as facets[3].features[1]. */
#define JETSTREAM_PATH_MAX	96

/*
 * An optional member: absent and JSON null both mean "not given".
 * Returns -1 with a cause naming path.key ("" is the top level) if it
 * is required and missing, or present with another type.
 */
static int
jetstream_member(const json_t *obj, const char *path, const char *key,
    bool required, int (*is_type)(const json_t *), const char *type,
    json_t **out, char **cause)
{
	json_t		*v = json_object_get(obj, key);
	const char	*dot = *path != '\0' ? "." : "";

	*out = NULL;
	if (v == NULL || (json_is_null(v) && !required)) {
		if (!required)
			return 0;
		*cause = xasprintf("missing %s%s%s", path, dot, key);
		return -1;
	}
	if (!is_type(v)) {
		*cause = xasprintf("%s%s%s is not %s", path, dot, key, type);
		return -1;
	}
	*out = v;
	return 0;
}

/* The json_is_* macros as functions, for jetstream_member. */
static int
jetstream_is_string(const json_t *v)
{
	return json_is_string(v);
}

static int
jetstream_is_object(const json_t *v)
{
	return json_is_object(v);
}

static int
jetstream_is_array(const json_t *v)
{
	return json_is_array(v);
}

static int
jetstream_is_integer(const json_t *v)
{
	return json_is_integer(v);
}

static int
jetstream_string(const json_t *obj, const char *path, const char *key,
    bool required, const char **out, char **cause)
{
	json_t	*v;

	*out = NULL;
	if (jetstream_member(obj, path, key, required, jetstream_is_string,
	    "a string", &v, cause) != 0)
		return -1;
	if (v != NULL)
		*out = json_string_value(v);
	return 0;
}

static int
jetstream_object(const json_t *obj, const char *path, const char *key,
    bool required, json_t **out, char **cause)
{
	return jetstream_member(obj, path, key, required, jetstream_is_object,
	    "an object", out, cause);
}

static int
jetstream_array(const json_t *obj, const char *path, const char *key,
    json_t **out, char **cause)
{
	return jetstream_member(obj, path, key, false, jetstream_is_array,
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
jetstream_strings(const json_t *obj, const char *path, const char *key,
    json_t **arr, char **cause)
{
	size_t	 i;
	json_t	*v;

	if (jetstream_array(obj, path, key, arr, cause) != 0)
		return -1;
	if (*arr == NULL)
		return 0;
	json_array_foreach(*arr, i, v) {
		if (!json_is_string(v)) {
			*cause = xasprintf("%s%s%s[%zu] is not a string", path,
			    *path != '\0' ? "." : "", key, i);
			return -1;
		}
	}
	return 0;
}

/* Add s to sv unless it is already there. */
static void
jetstream_add_unique(struct strv *sv, const char *s)
{
	if (!strv_contains(sv, s))
		strv_add(sv, s);
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


/* One facet feature; types other than mention, link and tag are ignored. */
static int
jetstream_feature(struct post *p, const json_t *feature, const char *path,
    char **cause)
{
	const char	*type, *value;

	if (!json_is_object(feature)) {
		*cause = xasprintf("%s is not an object", path);
		return -1;
	}
	if (jetstream_string(feature, path, "$type", true, &type, cause) != 0)
		return -1;
	if (strcmp(type, JETSTREAM_FACET "mention") == 0) {
		if (jetstream_string(feature, path, "did", true, &value,
		    cause) != 0)
			return -1;
		if (!jetstream_is_did(value)) {
			*cause = xasprintf("%s.did is not a DID", path);
			return -1;
		}
		jetstream_add_unique(&p->mentions, value);
	} else if (strcmp(type, JETSTREAM_FACET "link") == 0) {
		if (jetstream_string(feature, path, "uri", true, &value,
		    cause) != 0)
			return -1;
		jetstream_add_unique(&p->links, value);
	} else if (strcmp(type, JETSTREAM_FACET "tag") == 0) {
		if (jetstream_string(feature, path, "tag", true, &value,
		    cause) != 0)
			return -1;
		jetstream_add_tag(p, value);
	}
	return 0;
}

/* record.facets: mentions, links and tags, with their byte ranges unused. */
static int
jetstream_facets(struct post *p, const json_t *record, char **cause)
{
	char	 path[JETSTREAM_PATH_MAX];
	json_t	*facets, *facet, *features, *feature;
	size_t	 i, j;

	if (jetstream_array(record, "commit.record", "facets", &facets,
	    cause) != 0)
		return -1;
	if (facets == NULL)
		return 0;
	json_array_foreach(facets, i, facet) {
		snprintf(path, sizeof(path), "commit.record.facets[%zu]", i);
		if (!json_is_object(facet)) {
			*cause = xasprintf("%s is not an object", path);
			return -1;
		}
		if (jetstream_member(facet, path, "features", true,
		    jetstream_is_array, "an array", &features, cause) != 0)
			return -1;
		json_array_foreach(features, j, feature) {
			snprintf(path, sizeof(path),
			    "commit.record.facets[%zu].features[%zu]", i, j);
			if (jetstream_feature(p, feature, path, cause) != 0)
				return -1;
		}
	}
	return 0;
}

/* record.reply: both strong references are required by the lexicon. */
static int
jetstream_reply(struct post *p, const json_t *record, char **cause)
{
	json_t		*reply, *root, *parent;
	const char	*root_uri, *parent_uri;

	if (jetstream_object(record, "commit.record", "reply", false, &reply,
	    cause) != 0)
		return -1;
	if (reply == NULL)
		return 0;
	if (jetstream_object(reply, "commit.record.reply", "root", true,
	    &root, cause) != 0 ||
	    jetstream_object(reply, "commit.record.reply", "parent", true,
	    &parent, cause) != 0 ||
	    jetstream_string(root, "commit.record.reply.root", "uri", true,
	    &root_uri, cause) != 0 ||
	    jetstream_string(parent, "commit.record.reply.parent", "uri", true,
	    &parent_uri, cause) != 0)
		return -1;
	p->reply_root = xstrdup(root_uri);
	p->reply_parent = xstrdup(parent_uri);
	return 0;
}

/* The link card of record.embed (app.bsky.embed.external), if any. */
static int
jetstream_embed(struct post *p, const json_t *record, char **cause)
{
	json_t		*embed, *external;
	const char	*uri;

	if (jetstream_object(record, "commit.record", "embed", false, &embed,
	    cause) != 0)
		return -1;
	if (embed == NULL)
		return 0;
	if (jetstream_object(embed, "commit.record.embed", "external", false,
	    &external, cause) != 0)
		return -1;
	if (external == NULL)
		return 0;
	if (jetstream_string(external, "commit.record.embed.external", "uri",
	    false, &uri, cause) != 0)
		return -1;
	if (uri != NULL && *uri != '\0')
		jetstream_add_unique(&p->links, uri);
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
jetstream_record(struct post *p, const json_t *record, char **cause)
{
	const char	*text, *created;
	json_t		*langs, *tags, *v;
	size_t		 i;

	if (jetstream_string(record, "commit.record", "text", true, &text,
	    cause) != 0 ||
	    jetstream_string(record, "commit.record", "createdAt", false,
	    &created, cause) != 0 ||
	    jetstream_strings(record, "commit.record", "langs", &langs,
	    cause) != 0 ||
	    jetstream_strings(record, "commit.record", "tags", &tags,
	    cause) != 0)
		return -1;
	p->text = xstrdup(text);
	p->created_at = xstrdup(created);
	if (langs != NULL) {
		json_array_foreach(langs, i, v)
			strv_add(&p->langs, json_string_value(v));
	}
	if (jetstream_reply(p, record, cause) != 0 ||
	    jetstream_facets(p, record, cause) != 0 ||
	    jetstream_embed(p, record, cause) != 0)
		return -1;
	if (tags != NULL) {
		json_array_foreach(tags, i, v)
			jetstream_add_tag(p, json_string_value(v));
	}
	jetstream_text_tags(p, text, json_string_length(json_object_get(record,
	    "text")));
	return 0;
}

/* A post create or update; takes ownership of id. */
static int
jetstream_post(struct jetstream_event *ev, const json_t *commit,
    const char *did, char *id, char **cause)
{
	struct post	*p = post_new();
	json_t		*record;
	const char	*cid;

	p->id = id;
	if (jetstream_string(commit, "commit", "cid", false, &cid,
	    cause) != 0 ||
	    jetstream_object(commit, "commit", "record", true, &record,
	    cause) != 0 ||
	    jetstream_record(p, record, cause) != 0) {
		post_free(p);
		return -1;
	}
	p->platform = xstrdup("bluesky");
	p->cid = xstrdup(cid);
	p->author = xstrdup(did);
	p->time_us = ev->time_us;
	p->url = jetstream_web_url(id);
	ev->kind = JETSTREAM_POST;
	ev->post = p;
	return 0;
}

static int
jetstream_commit(struct jetstream_event *ev, const json_t *root,
    const char *did, char **cause)
{
	json_t		*commit;
	const char	*op, *collection, *rkey;
	char		*id;

	if (jetstream_object(root, "", "commit", true, &commit, cause) != 0 ||
	    jetstream_string(commit, "commit", "operation", true, &op,
	    cause) != 0 ||
	    jetstream_string(commit, "commit", "collection", true, &collection,
	    cause) != 0 ||
	    jetstream_string(commit, "commit", "rkey", true, &rkey,
	    cause) != 0)
		return -1;
	if (strcmp(collection, JETSTREAM_COLLECTION) != 0)
		return 0;
	if (!jetstream_is_rkey(rkey)) {
		*cause = xstrdup("commit.rkey is not a record key");
		return -1;
	}
	id = xasprintf("at://%s/%s/%s", did, collection, rkey);
	if (strcmp(op, "create") == 0 || strcmp(op, "update") == 0)
		return jetstream_post(ev, commit, did, id, cause);
	if (strcmp(op, "delete") == 0) {
		ev->kind = JETSTREAM_DELETE;
		ev->id = id;
		return 0;
	}
	free(id);
	return 0;
}

/* A handle change; Jetstream leaves the handle out when it is unknown. */
static int
jetstream_identity(struct jetstream_event *ev, const json_t *root,
    const char *did, char **cause)
{
	json_t		*identity;
	const char	*handle = NULL, *id_did = NULL;

	if (jetstream_object(root, "", "identity", false, &identity,
	    cause) != 0)
		return -1;
	if (identity != NULL &&
	    (jetstream_string(identity, "identity", "did", false, &id_did,
	    cause) != 0 ||
	    jetstream_string(identity, "identity", "handle", false, &handle,
	    cause) != 0))
		return -1;
	if (id_did != NULL && !jetstream_is_did(id_did)) {
		*cause = xstrdup("identity.did is not a DID");
		return -1;
	}
	ev->kind = JETSTREAM_IDENTITY;
	ev->did = xstrdup(id_did != NULL ? id_did : did);
	ev->handle = xstrdup(handle);
	return 0;
}

static int
jetstream_frame(struct jetstream_event *ev, const json_t *root,
    char **cause)
{
	const char	*did, *kind;
	json_t		*time_us;

	if (!json_is_object(root)) {
		*cause = xstrdup("frame is not a JSON object");
		return -1;
	}
	if (jetstream_string(root, "", "did", true, &did, cause) != 0 ||
	    jetstream_member(root, "", "time_us", true, jetstream_is_integer,
	    "an integer", &time_us, cause) != 0 ||
	    jetstream_string(root, "", "kind", true, &kind, cause) != 0)
		return -1;
	if (!jetstream_is_did(did)) {
		*cause = xstrdup("did is not a DID");
		return -1;
	}
	ev->time_us = json_integer_value(time_us);
	if (strcmp(kind, "commit") == 0)
		return jetstream_commit(ev, root, did, cause);
	if (strcmp(kind, "identity") == 0)
		return jetstream_identity(ev, root, did, cause);
	return 0;
}

/* ev is an output: whatever it held before is overwritten, not freed. */
int
jetstream_parse(const char *buf, size_t len, struct jetstream_event *ev,
    char **cause)
{
	json_t		*root;
	json_error_t	 error;
	char		*why = NULL;
	int		 rv;

	memset(ev, 0, sizeof(*ev));
	ev->kind = JETSTREAM_OTHER;
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &error);
	if (root == NULL) {
		why = xasprintf("invalid JSON at %d:%d: %s", error.line,
		    error.column, error.text);
		rv = -1;
	} else {
		rv = jetstream_frame(ev, root, &why);
		json_decref(root);
	}
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
