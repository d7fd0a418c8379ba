/*
 * Asynchronous HTTP client: libcurl's multi interface driven by the
 * daemon's libuv loop.  Never blocks.
 */
#ifndef SB_HTTP_H
#define SB_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "util.h"

struct http_request {
	const char	*method;	/* "POST" (default when NULL), "GET",
					 * "PUT", "PATCH"; a body is sent
					 * whenever there is one */
	char		*url;
	struct strv	 headers;	/* "Name: value" */
	char		*body;		/* may be NULL */
	size_t		 body_len;
};
void	http_request_init(struct http_request *);
void	http_request_clear(struct http_request *);

struct http_response {
	long		 status;	/* 0 if no HTTP response arrived */
	const char	*error;		/* transport error text, or NULL */
	const char	*body;		/* NUL-terminated, may be "" */
	size_t		 body_len;
	double		 retry_after;	/* seconds from Retry-After, or -1 */
	const struct strv *headers;	/* "name: value", names lower-case */
	bool		 aborted;	/* http_free ended it: not an answer */
};

/* Value of header name (lower-case) in resp, or NULL. */
const char *http_response_header(const struct http_response *,
	    const char *name);

typedef void (*http_done_fn)(void *arg, const struct http_response *);

struct http;

struct http	*http_new(uv_loop_t *);
/* Aborts transfers still running: their callbacks get aborted = true. */
void		 http_free(struct http *);

/*
 * Start req (copied); done is called once from the loop when it ends.
 * Returns 0, or -1 if the transfer could not be started.
 */
int	 http_start(struct http *, const struct http_request *req,
	    long timeout_ms, http_done_fn done, void *arg);
size_t	 http_active(const struct http *);

#endif
