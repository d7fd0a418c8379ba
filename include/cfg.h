/*
 * Typed access to libconfig settings with errors that name the file and
 * line: every helper appends "FILE:LINE: PATH: message" to a cfg_errors
 * list and never stops at the first error, so a user sees all of them.
 */
#ifndef SB_CFG_H
#define SB_CFG_H

#include <libconfig.h>
#include <stdbool.h>

#include "util.h"

struct cfg_errors {
	struct strv	msgs;		/* "FILE:LINE: message", in order */
	const char	*basedir;	/* relative file paths resolve here */
};

#define CFG_REQUIRED	0x1	/* missing key is an error */
#define CFG_SECRET	0x2	/* KEY, KEY_file or KEY_env (exactly one) */

void	cfg_error(struct cfg_errors *, const config_setting_t *,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "teams[2].rules[0].priority" for messages; caller frees. */
char	*cfg_path(const config_setting_t *);

/*
 * Every member of group must be named in keys (NULL-terminated) or in
 * extra (may be NULL); each other member is an "unknown key" error.
 * Secret keys listed as "webhook_url" also allow "_file" and "_env".
 */
void	cfg_check_keys(const config_setting_t *group,
	    const char *const *keys, const char *const *extra,
	    struct cfg_errors *);

/*
 * Readers: return 1 if the key was present and valid (out set), 0 if
 * absent (out set to the default), -1 on error (error recorded).
 */
/* Which of key, key_file or key_env is set in group, to point an error
 * at; group itself when none is. */
const config_setting_t *cfg_secret_setting(const config_setting_t *group,
	    const char *key);
int	cfg_string(const config_setting_t *group, const char *key, int flags,
	    const char *def, char **out, struct cfg_errors *);
int	cfg_int(const config_setting_t *group, const char *key, int flags,
	    long long min, long long max, long long def, long long *out,
	    struct cfg_errors *);
int	cfg_double(const config_setting_t *group, const char *key, int flags,
	    double min, double max, double def, double *out,
	    struct cfg_errors *);
int	cfg_bool(const config_setting_t *group, const char *key, int flags,
	    bool def, bool *out, struct cfg_errors *);
/* An array or list of strings; a single string is accepted as one item. */
int	cfg_strv(const config_setting_t *group, const char *key, int flags,
	    struct strv *out, struct cfg_errors *);
/* A path: relative ones are made absolute against errs->basedir. */
int	cfg_path_value(const config_setting_t *group, const char *key,
	    int flags, const char *def, char **out, struct cfg_errors *);

/*
 * Append to out, for each "*_file" string setting of group, its name
 * and the SHA-256 of the file it names now (relative to basedir): a
 * fingerprint that changes when a secret file is rewritten, without
 * holding the secret.
 */
void	cfg_file_digest(const config_setting_t *group, const char *basedir,
	    struct buf *out);

#endif
