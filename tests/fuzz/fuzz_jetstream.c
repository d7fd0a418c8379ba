/* libFuzzer target: one Jetstream frame through jetstream_parse. */
#include <stdlib.h>

#include "fuzz.h"
#include "jetstream.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jetstream_event	 ev;
	char			*cause = NULL;
	char			*url;

	fuzz_quiet();
	memset(&ev, 0, sizeof(ev));
	/* The frame is not NUL-terminated on the wire either. */
	if (jetstream_parse((const char *)data, size, &ev, &cause) == 0)
		jetstream_event_clear(&ev);
	free(cause);
	/* An at:// URI taken from a frame becomes a web link. */
	if (size < 4096) {
		char	*s = fuzz_str(data, size);

		url = jetstream_web_url(s);
		free(url);
		free(s);
	}
	return 0;
}
