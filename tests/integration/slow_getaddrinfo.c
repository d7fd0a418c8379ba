/*
 * A resolver that is slow or fails for chosen names, preloaded into the
 * daemon by test_dns.py (LD_PRELOAD): SB_SLOW_DNS="NAME=SECONDS" makes
 * getaddrinfo(NAME) sleep that long and then answer as for 127.0.0.1;
 * SB_FAIL_DNS="NAME" answers EAI_NONAME for it.  Every other name goes
 * to the real getaddrinfo.  No lookup ever leaves the machine.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*getaddrinfo_fn)(const char *, const char *,
    const struct addrinfo *, struct addrinfo **);

int
getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res)
{
	getaddrinfo_fn	 real;
	const char	*slow = getenv("SB_SLOW_DNS");
	const char	*fail = getenv("SB_FAIL_DNS");
	const char	*eq;

	*(void **)&real = dlsym(RTLD_NEXT, "getaddrinfo");
	if (node != NULL && fail != NULL && strcmp(node, fail) == 0)
		return EAI_NONAME;
	if (node != NULL && slow != NULL && (eq = strchr(slow, '=')) != NULL &&
	    strlen(node) == (size_t)(eq - slow) &&
	    strncmp(node, slow, (size_t)(eq - slow)) == 0) {
		sleep((unsigned)atoi(eq + 1));
		node = "127.0.0.1";
	}
	return real(node, service, hints, res);
}
