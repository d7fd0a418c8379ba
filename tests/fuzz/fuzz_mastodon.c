/*
 * libFuzzer target: Mastodon input through every parser that reads it:
 * a streaming envelope, a Status entity, and a REST page of statuses or
 * notifications.
 */
#include <stdbool.h>
#include <stdlib.h>

#include <jansson.h>

#include "fuzz.h"
#include "mastodon.h"
#include "post.h"

#define HOST	"mastodon.example"

static void
fuzz_page(const uint8_t *data, size_t size, bool notifications)
{
	struct mastodon_event	*evs = NULL;
	char			*cause = NULL;
	int			 n, i;

	n = mastodon_parse_page((const char *)data, size, HOST, notifications,
	    &evs, &cause);
	for (i = 0; i < n; i++)
		mastodon_event_clear(&evs[i]);
	free(evs);
	free(cause);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mastodon_event	 ev;
	struct post		*p;
	json_t			*j;
	char			*cause = NULL;

	fuzz_quiet();
	memset(&ev, 0, sizeof(ev));
	if (mastodon_parse_message((const char *)data, size, HOST, &ev,
	    &cause) == 0)
		mastodon_event_clear(&ev);
	free(cause);
	cause = NULL;

	/* The same bytes as a bare Status entity (REST, and the payload). */
	j = json_loadb((const char *)data, size, 0, NULL);
	if (j != NULL && json_is_object(j)) {
		p = mastodon_status_post(j, HOST, &cause);
		post_free(p);
		free(cause);
	}
	json_decref(j);

	fuzz_page(data, size, false);
	fuzz_page(data, size, true);
	return 0;
}
