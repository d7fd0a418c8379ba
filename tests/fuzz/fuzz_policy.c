/*
 * libFuzzer target: a reply's text through the length counters of every
 * network and the code-of-conduct check, with a fixed team policy.
 */
#include <stdlib.h>

#include "config.h"
#include "fuzz.h"
#include "policy.h"

static const char *const networks[] = {
	"mastodon", "bluesky", "nostr", "other"
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reply_conf	 r;
	struct account_conf	 a;
	char			*text, *cause = NULL;
	size_t			 i;

	fuzz_quiet();
	text = fuzz_str(data, size);
	for (i = 0; i < sizeof(networks) / sizeof(networks[0]); i++)
		(void)policy_length(networks[i], text);

	memset(&r, 0, sizeof(r));
	strv_add(&r.blocked_words, "darn");
	strv_add(&r.blocked_words, "heck no");
	strv_add(&r.blocked_words, "\xc3\xa9t\xc3\xa9");
	r.links_restricted = true;
	strv_add(&r.allowed_domains, "example.org");
	strv_add(&r.allowed_domains, "xn--bcher-kva.example");
	r.sign_off = xstrdup("^sb");
	for (i = 0; i < sizeof(networks) / sizeof(networks[0]); i++) {
		memset(&a, 0, sizeof(a));
		a.type = (char *)networks[i];
		a.max_length = 300;
		(void)policy_check(&r, &a, text, &cause);
		free(cause);
		cause = NULL;
	}
	/* No sign-off and no link rule: the other branches. */
	free(r.sign_off);
	r.sign_off = NULL;
	r.links_restricted = false;
	memset(&a, 0, sizeof(a));
	a.type = (char *)"mastodon";
	a.max_length = 500;
	(void)policy_check(&r, &a, text, &cause);
	free(cause);

	strv_free(&r.blocked_words);
	strv_free(&r.allowed_domains);
	free(text);
	return 0;
}
