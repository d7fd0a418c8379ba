/* The table of source adapters. */
#include <string.h>

#include "source.h"

const struct source_ops *const source_table[] = {
	&source_jetstream_ops,
	&source_replay_ops,
	NULL
};

const struct source_ops *
source_find(const char *type)
{
	size_t	i;

	for (i = 0; source_table[i] != NULL; i++)
		if (strcmp(source_table[i]->type, type) == 0)
			return source_table[i];
	return NULL;
}
