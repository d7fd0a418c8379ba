/* The string-keyed open-addressing hash map behind the router's indexes. */

#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "util.h"

/*
 * FNV-1a: keys are short words, where a simple byte loop beats the
 * set-up cost of stronger hashes; linear probing keeps lookups in one
 * or two cache lines at the load factor kept below.
 */
uint64_t
hmap_hash(const char *key)
{
	const unsigned char	*p = (const unsigned char *)key;
	uint64_t		 h = 0xcbf29ce484222325ULL;

	while (*p != '\0') {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	/* Mix the high bits down: the table index uses the low ones. */
	h ^= h >> 32;
	return h;
}

void
hmap_init(struct hmap *m)
{
	m->slots = NULL;
	m->cap = m->n = 0;
}

void
hmap_free(struct hmap *m)
{
	size_t	i;

	for (i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	hmap_init(m);
}

static struct hmap_entry *
hmap_find(const struct hmap *m, const char *key, uint64_t h)
{
	size_t			 mask = m->cap - 1, i = (size_t)h & mask;
	struct hmap_entry	*e;

	for (;;) {
		e = &m->slots[i];
		if (e->key == NULL)
			return e;
		if (e->hash == h && strcmp(e->key, key) == 0)
			return e;
		i = (i + 1) & mask;
	}
}

static void
hmap_grow(struct hmap *m)
{
	struct hmap_entry	*old = m->slots, *e;
	size_t			 oldcap = m->cap, i;

	m->cap = oldcap ? oldcap * 2 : 16;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	for (i = 0; i < oldcap; i++) {
		if (old[i].key == NULL)
			continue;
		e = hmap_find(m, old[i].key, old[i].hash);
		*e = old[i];
	}
	free(old);
}

void **
hmap_put(struct hmap *m, const char *key)
{
	struct hmap_entry	*e;
	uint64_t		 h = hmap_hash(key);

	/* At most half full, so probe runs stay short and always end. */
	if ((m->n + 1) * 2 > m->cap)
		hmap_grow(m);
	e = hmap_find(m, key, h);
	if (e->key == NULL) {
		e->key = xstrdup(key);
		e->hash = h;
		e->value = NULL;
		m->n++;
	}
	return &e->value;
}

void *
hmap_get(const struct hmap *m, const char *key)
{
	if (m->n == 0)
		return NULL;
	return hmap_find(m, key, hmap_hash(key))->value;
}

void *
hmap_get_hashed(const struct hmap *m, const char *key, uint64_t hash)
{
	if (m->n == 0)
		return NULL;
	return hmap_find(m, key, hash)->value;
}

bool
hmap_next(const struct hmap *m, size_t *iter, const char **key,
    void **value)
{
	while (*iter < m->cap) {
		const struct hmap_entry	*e = &m->slots[(*iter)++];

		if (e->key == NULL)
			continue;
		if (key != NULL)
			*key = e->key;
		if (value != NULL)
			*value = e->value;
		return true;
	}
	return false;
}
