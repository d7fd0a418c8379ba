/*
 * What every libFuzzer target shares: the entry point's prototype, a
 * silenced log, and the input as a NUL-terminated copy.
 */
#ifndef SB_FUZZ_H
#define SB_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "log.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parsers log what they refuse; a fuzzer must not print per input. */
static inline void
fuzz_quiet(void)
{
	log_set_level(-1);
}

/* The input as a string: most parsers take NUL-terminated text. */
static inline char *
fuzz_str(const uint8_t *data, size_t size)
{
	char	*s = xmalloc(size + 1);

	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
