/*
 * libFuzzer target: config_load on the input written to a file (it
 * reads a path, as the daemon does).  The file lives under /tmp, one per
 * process, written and removed for each input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

static char	path[64];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg_errors	 errs;
	struct config		*c;
	FILE			*f;
	int			 ok;

	fuzz_quiet();
	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/sb-fuzz-config-%ld.conf",
		    (long)getpid());
	if ((f = fopen(path, "wb")) == NULL)
		return 0;
	ok = size == 0 || fwrite(data, 1, size, f) == size;
	if (fclose(f) != 0 || !ok) {
		unlink(path);
		return 0;
	}
	cfg_errors_init(&errs);
	c = config_load(path, &errs);
	/* Removed at once: libFuzzer ends without running atexit. */
	unlink(path);
	config_free(c);
	cfg_errors_free(&errs);
	return 0;
}
