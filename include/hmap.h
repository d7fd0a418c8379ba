/*
 * A small open-addressing hash map from strings to pointers, for
 * indexes that are built once and then read many times (the router's
 * word, hashtag and mention indexes).  There is no removal: a map is
 * filled, read, and freed as a whole.
 *
 * Keys are copied into the map.  Values are borrowed: the map never
 * frees them, so whoever stored them walks the map with hmap_next()
 * before hmap_free() if they own what they stored.
 */
#ifndef SB_HMAP_H
#define SB_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hmap_entry {
	char		*key;		/* owned; NULL marks an empty slot */
	uint64_t	 hash;
	void		*value;		/* borrowed */
};

struct hmap {
	struct hmap_entry	*slots;
	size_t			 cap;	/* 0 or a power of two */
	size_t			 n;	/* keys stored */
};

void	 hmap_init(struct hmap *);
/* Frees the keys and the table, not the values; the map is empty after. */
void	 hmap_free(struct hmap *);

/*
 * The value slot for key, inserting key with a NULL value if it is not
 * there yet.  The pointer is valid until the next hmap_put or hmap_free
 * (the table may grow).
 */
void	**hmap_put(struct hmap *, const char *key);

/* The value stored for key, or NULL if key is absent. */
void	*hmap_get(const struct hmap *, const char *key);

/*
 * The same lookup with the key's hash computed once by the caller, for
 * one key looked up in several maps.
 */
uint64_t hmap_hash(const char *key);
void	*hmap_get_hashed(const struct hmap *, const char *key, uint64_t hash);

/*
 * Iterate: start with *iter = 0; each call fills key and value (either
 * may be NULL) and returns true, or returns false at the end.  Order is
 * unspecified.
 */
bool	 hmap_next(const struct hmap *, size_t *iter, const char **key,
	    void **value);

#endif
