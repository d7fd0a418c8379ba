/*
 * Small helpers every module uses: allocation that never returns NULL,
 * growable strings and string vectors, clocks, hex.
 */
#ifndef SB_UTIL_H
#define SB_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* Allocation: abort with a message on out-of-memory, never return NULL. */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);		/* xstrdup(NULL) returns NULL */
char	*xstrndup(const char *, size_t);
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));
char	*xvasprintf(const char *, va_list) __attribute__((format(printf, 1, 0)));

/* A growable byte buffer, always NUL-terminated after the first append. */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};
void	 buf_init(struct buf *);
void	 buf_free(struct buf *);
void	 buf_reset(struct buf *);		/* len = 0, keeps memory */
void	 buf_add(struct buf *, const void *, size_t);
void	 buf_adds(struct buf *, const char *);
void	 buf_addc(struct buf *, char);
void	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
char	*buf_steal(struct buf *);		/* caller frees; buf is reset */

/* A vector of owned strings. */
struct strv {
	char	**v;
	size_t	  n;
	size_t	  cap;
};
void	 strv_init(struct strv *);
void	 strv_free(struct strv *);
void	 strv_add(struct strv *, const char *);	/* copies */
void	 strv_take(struct strv *, char *);		/* takes ownership */
bool	 strv_contains(const struct strv *, const char *);
void	 strv_copy(struct strv *dst, const struct strv *src);

/* Clocks. */
int64_t	 now_mono_ms(void);		/* CLOCK_MONOTONIC, milliseconds */
int64_t	 now_wall_ms(void);		/* CLOCK_REALTIME, milliseconds */
int64_t	 now_wall_us(void);		/* CLOCK_REALTIME, microseconds */

/* Lower-case hex of len bytes into out (2 * len + 1 bytes). */
void	 hex_encode(const unsigned char *, size_t len, char *out);

/*
 * A copy of url fit for logs: scheme and host kept, the rest (which
 * carries tokens in webhook URLs) replaced by asterisks.  Caller frees.
 */
char	*redact_url(const char *url);

/*
 * Whether url uses secure_scheme ("https", "wss"), or plain_scheme
 * ("http", "ws") towards a loopback host (127.0.0.0/8, localhost,
 * [::1]) — plain text is for tests, never for the internet.
 */
bool	 url_scheme_ok(const char *url, const char *secure_scheme,
	    const char *plain_scheme);

/*
 * The contents of the regular file path (NUL-terminated, *len bytes),
 * at most max bytes; NULL with errno set, EINVAL when it is not a
 * regular file and EFBIG when it is larger than max.
 */
char	*read_regular_file(const char *path, size_t max, size_t *len);

/* Uniform random double in [0, 1) from a per-process seeded generator. */
double	 random_unit(void);

#endif
