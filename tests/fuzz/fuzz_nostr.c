/*
 * libFuzzer target: a Nostr relay message, and the event it carries
 * through the id serialiser, the signature check and the post builder.
 */
#include <stdlib.h>

#include <jansson.h>

#include "fuzz.h"
#include "nostr.h"
#include "post.h"

static void
fuzz_event(const json_t *event)
{
	struct post	*p;
	char		*cause = NULL;
	char		*s;

	s = nostr_serialize(event, &cause);
	free(s);
	free(cause);
	cause = NULL;
	(void)nostr_verify(event, &cause);
	free(cause);
	cause = NULL;
	p = nostr_event_post(event, "https://njump.me/", &cause);
	post_free(p);
	free(cause);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nostr_msg	 msg;
	json_t			*j;
	char			*cause = NULL;

	fuzz_quiet();
	memset(&msg, 0, sizeof(msg));
	if (nostr_parse_message((const char *)data, size, &msg, &cause) == 0) {
		if (msg.event != NULL)
			fuzz_event(msg.event);
		nostr_msg_clear(&msg);
	}
	free(cause);

	/*
	 * The parser refuses malformed events before the serialiser sees
	 * them; a bare object reaches it directly, whatever its fields.
	 */
	j = json_loadb((const char *)data, size, 0, NULL);
	if (j != NULL && json_is_object(j))
		fuzz_event(j);
	json_decref(j);
	return 0;
}
