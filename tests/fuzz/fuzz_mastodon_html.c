/* libFuzzer target: status HTML to plain text and to its links. */
#include <stdlib.h>

#include "fuzz.h"
#include "mastodon.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strv	 links;
	char		*html, *text;

	fuzz_quiet();
	html = fuzz_str(data, size);
	text = mastodon_html_text(html);
	free(text);
	strv_init(&links);
	mastodon_html_links(html, &links);
	strv_free(&links);
	free(html);
	return 0;
}
