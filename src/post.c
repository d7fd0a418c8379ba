/* The normalised post: lifetime and its JSON form in the store. */
#include <stdlib.h>
#include <string.h>

#include "post.h"

struct post *
post_new(void)
{
	struct post	*p = xcalloc(1, sizeof(*p));

	strv_init(&p->langs);
	strv_init(&p->mentions);
	strv_init(&p->hashtags);
	strv_init(&p->links);
	return p;
}

void
post_free(struct post *p)
{
	if (p == NULL)
		return;
	free(p->platform);
	free(p->id);
	free(p->cid);
	free(p->author);
	free(p->author_handle);
	free(p->text);
	strv_free(&p->langs);
	free(p->created_at);
	free(p->reply_root);
	free(p->reply_parent);
	free(p->reply_root_cid);
	free(p->reply_parent_cid);
	strv_free(&p->mentions);
	strv_free(&p->hashtags);
	strv_free(&p->links);
	free(p->url);
	free(p->visibility);
	free(p);
}

const char *
post_root(const struct post *p)
{
	return p->reply_root != NULL ? p->reply_root : p->id;
}

/* The string members, by name, so both directions list them once. */
#define POST_STRINGS(X)							\
	X(platform) X(id) X(cid) X(author) X(author_handle) X(text)	\
	X(created_at) X(reply_root) X(reply_parent) X(reply_root_cid)	\
	X(reply_parent_cid) X(url) X(visibility)
#define POST_LISTS(X)							\
	X(langs) X(mentions) X(hashtags) X(links)

static json_t *
post_strv_json(const struct strv *sv)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < sv->n; i++)
		json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

json_t *
post_to_json(const struct post *p)
{
	json_t	*o = json_object();

#define X(f) if (p->f != NULL) json_object_set_new(o, #f, json_string(p->f));
	POST_STRINGS(X)
#undef X
#define X(f) if (p->f.n > 0) json_object_set_new(o, #f, post_strv_json(&p->f));
	POST_LISTS(X)
#undef X
	json_object_set_new(o, "time_us", json_integer(p->time_us));
	return o;
}

/* Copy an optional string member; -1 if present but not a string. */
static int
post_get_string(const json_t *o, const char *key, char **out)
{
	json_t	*v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = xstrdup(json_string_value(v));
	return 0;
}

static int
post_get_list(const json_t *o, const char *key, struct strv *out)
{
	json_t	*a = json_object_get(o, key), *v;
	size_t	 i;

	if (a == NULL)
		return 0;
	if (!json_is_array(a))
		return -1;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return -1;
		strv_add(out, json_string_value(v));
	}
	return 0;
}

struct post *
post_from_json(const json_t *o)
{
	struct post	*p;
	json_t		*t;

	if (!json_is_object(o))
		return NULL;
	p = post_new();
#define X(f) if (post_get_string(o, #f, &p->f) != 0) goto fail;
	POST_STRINGS(X)
#undef X
#define X(f) if (post_get_list(o, #f, &p->f) != 0) goto fail;
	POST_LISTS(X)
#undef X
	t = json_object_get(o, "time_us");
	if (json_is_integer(t))
		p->time_us = json_integer_value(t);
	if (p->platform == NULL || p->id == NULL)
		goto fail;
	if (p->text == NULL)
		p->text = xstrdup("");
	return p;
fail:
	post_free(p);
	return NULL;
}
