/*
 * libFuzzer target: json_scan_parse on the input, then a walk over every
 * token with the accessors a parser would use.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "json_scan.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_scan_token	 storage[64];
	struct json_scan	 js;
	int64_t			 v;
	char			*s;
	int			 i, flags;

	fuzz_quiet();
	for (flags = 0; flags <= JSON_SCAN_ANY; flags++) {
		json_scan_init(&js, storage, 64);
		if (json_scan_parse(&js, (const char *)data, size, flags) == 0) {
			for (i = 0; i < js.ntok; i++) {
				switch (json_scan_type(&js, i)) {
				case JSON_SCAN_STRING:
					s = json_scan_strdup(&js, i);
					free(s);
					(void)json_scan_streq(&js, i, "kind");
					break;
				case JSON_SCAN_NUMBER:
					(void)json_scan_int(&js, i, &v);
					break;
				case JSON_SCAN_OBJECT:
					(void)json_scan_member(&js, i, "commit");
					break;
				default:
					break;
				}
			}
		}
		json_scan_free(&js);
	}
	return 0;
}
