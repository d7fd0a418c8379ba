/*
 * Outgoing HTTP on the daemon's loop: libcurl's multi interface with its
 * sockets watched by uv_poll and its timeout by a uv_timer (the pattern
 * of curl's docs/examples/multi-uv.c).
 */
#include <ctype.h>
#include <curl/curl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"

struct http {
	uv_loop_t	*loop;
	CURLM		*multi;
	uv_timer_t	 timer;
	size_t		 active;
	struct http_xfer *xfers;	/* in flight, for http_free */
	struct http_sock *socks;	/* watched, for http_free */
};

/* One transfer in flight. */
struct http_xfer {
	struct http		*http;
	CURL			*easy;
	struct curl_slist	*headers;
	char			*body;
	struct buf		 response;
	struct strv		 resp_headers;
	http_done_fn		 done;
	void			*arg;
	char			 errbuf[CURL_ERROR_SIZE];
	struct http_xfer	*prev, *next;
};

/* Per-socket poll handle, owned by curl's socket callback. */
struct http_sock {
	uv_poll_t	 poll;
	curl_socket_t	 fd;
	struct http	*http;
	struct http_sock *prev, *next;
};

/* Doubly linked list helpers for xfers and socks. */
#define LIST_LINK(head, e) do {						\
	(e)->prev = NULL;						\
	(e)->next = (head);						\
	if ((head) != NULL)						\
		(head)->prev = (e);					\
	(head) = (e);							\
} while (0)
#define LIST_UNLINK(head, e) do {					\
	if ((e)->prev != NULL)						\
		(e)->prev->next = (e)->next;				\
	else								\
		(head) = (e)->next;					\
	if ((e)->next != NULL)						\
		(e)->next->prev = (e)->prev;				\
} while (0)

void
http_request_init(struct http_request *r)
{
	memset(r, 0, sizeof(*r));
	strv_init(&r->headers);
}

void
http_request_clear(struct http_request *r)
{
	free(r->url);
	free(r->body);
	strv_free(&r->headers);
	http_request_init(r);
}

const char *
http_response_header(const struct http_response *resp, const char *name)
{
	size_t	i, n = strlen(name);

	if (resp->headers == NULL)
		return NULL;
	for (i = 0; i < resp->headers->n; i++) {
		const char	*h = resp->headers->v[i];

		if (strncmp(h, name, n) == 0 && h[n] == ':') {
			h += n + 1;
			while (*h == ' ' || *h == '\t')
				h++;
			return h;
		}
	}
	return NULL;
}

/* Seconds to wait from a Retry-After value (delta or HTTP date), or -1. */
static double
http_retry_after(const char *v)
{
	char	*end;
	double	 s;
	time_t	 t;

	if (v == NULL || *v == '\0')
		return -1;
	s = strtod(v, &end);
	if (end != v && (*end == '\0' || isspace((unsigned char)*end)))
		return !isfinite(s) ? -1 : s < 0 ? 0 : s;
	t = curl_getdate(v, NULL);
	if (t < 0)
		return -1;
	s = difftime(t, time(NULL));
	return s < 0 ? 0 : s;
}

static size_t
http_write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct http_xfer	*x = arg;
	size_t			 len = size * n;

	/* Platforms answer with short bodies; cap what we keep. */
	if (x->response.len < 1024 * 1024)
		buf_add(&x->response, p, len);
	return len;
}

static size_t
http_header_cb(char *p, size_t size, size_t n, void *arg)
{
	struct http_xfer	*x = arg;
	size_t			 len = size * n, i, colon;
	char			*h;

	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	h = xstrndup(p, len);
	colon = strcspn(h, ":");
	if (h[colon] == ':') {
		for (i = 0; i < colon; i++)
			h[i] = (char)tolower((unsigned char)h[i]);
		strv_take(&x->resp_headers, h);
	} else {
		/* A new status line (redirect, 100-continue): start over. */
		if (strncmp(h, "HTTP/", 5) == 0)
			strv_free(&x->resp_headers);
		free(h);
	}
	return size * n;
}

static void
http_xfer_free(struct http_xfer *x)
{
	curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->headers);
	free(x->body);
	buf_free(&x->response);
	strv_free(&x->resp_headers);
	free(x);
}

static void
http_check_done(struct http *h)
{
	CURLMsg			*m;
	int			 left;
	struct http_xfer	*x;
	struct http_response	 resp;

	while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		curl_multi_remove_handle(h->multi, m->easy_handle);
		LIST_UNLINK(h->xfers, x);
		h->active--;
		memset(&resp, 0, sizeof(resp));
		resp.retry_after = -1;
		if (m->data.result == CURLE_OK) {
			curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE,
			    &resp.status);
			resp.headers = &x->resp_headers;
			resp.retry_after = http_retry_after(
			    http_response_header(&resp, "retry-after"));
		} else
			resp.error = x->errbuf[0] ? x->errbuf :
			    curl_easy_strerror(m->data.result);
		resp.body = x->response.data ? x->response.data : "";
		resp.body_len = x->response.len;
		x->done(x->arg, &resp);
		http_xfer_free(x);
	}
}

static void
http_poll_cb(uv_poll_t *p, int status, int events)
{
	struct http_sock	*s = p->data;
	int			 flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(s->http->multi, s->fd, flags, &running);
	http_check_done(s->http);
}

static void
http_sock_closed(uv_handle_t *h)
{
	free(h->data);
}

static int
http_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
    void *socketp)
{
	struct http		*h = userp;
	struct http_sock	*s = socketp;
	int			 events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			LIST_UNLINK(h->socks, s);
			uv_poll_stop(&s->poll);
			uv_close((uv_handle_t *)&s->poll, http_sock_closed);
			curl_multi_assign(h->multi, fd, NULL);
		}
		return 0;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->fd = fd;
		s->http = h;
		uv_poll_init_socket(h->loop, &s->poll, fd);
		s->poll.data = s;
		LIST_LINK(h->socks, s);
		curl_multi_assign(h->multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	uv_poll_start(&s->poll, events, http_poll_cb);
	return 0;
}

static void
http_timer_cb(uv_timer_t *t)
{
	struct http	*h = t->data;
	int		 running;

	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	http_check_done(h);
}

static int
http_timeout_cb(CURLM *multi, long ms, void *userp)
{
	struct http	*h = userp;

	(void)multi;
	if (ms < 0)
		uv_timer_stop(&h->timer);
	else
		uv_timer_start(&h->timer, http_timer_cb, ms == 0 ? 1 : ms, 0);
	return 0;
}

struct http *
http_new(uv_loop_t *loop)
{
	struct http	*h = xcalloc(1, sizeof(*h));

	h->loop = loop;
	h->multi = curl_multi_init();
	if (h->multi == NULL) {
		free(h);
		return NULL;
	}
	uv_timer_init(loop, &h->timer);
	h->timer.data = h;
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, http_socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, http_timeout_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	return h;
}

static void
http_timer_closed(uv_handle_t *t)
{
	free(t->data);
}

void
http_free(struct http *h)
{
	struct http_xfer	*x;
	struct http_sock	*s;

	if (h == NULL)
		return;
	while ((x = h->xfers) != NULL) {
		struct http_response	resp;

		LIST_UNLINK(h->xfers, x);
		curl_multi_remove_handle(h->multi, x->easy);
		memset(&resp, 0, sizeof(resp));
		resp.error = "aborted";
		resp.body = "";
		resp.retry_after = -1;
		resp.aborted = true;
		x->done(x->arg, &resp);
		http_xfer_free(x);
	}
	curl_multi_cleanup(h->multi);
	while ((s = h->socks) != NULL) {
		LIST_UNLINK(h->socks, s);
		uv_poll_stop(&s->poll);
		uv_close((uv_handle_t *)&s->poll, http_sock_closed);
	}
	uv_close((uv_handle_t *)&h->timer, http_timer_closed);
}

int
http_start(struct http *h, const struct http_request *req, long timeout_ms,
    http_done_fn done, void *arg)
{
	struct http_xfer	*x = xcalloc(1, sizeof(*x));
	size_t			 i;
	const char		*method = req->method ? req->method : "POST";

	x->http = h;
	x->done = done;
	x->arg = arg;
	buf_init(&x->response);
	strv_init(&x->resp_headers);
	x->easy = curl_easy_init();
	if (x->easy == NULL) {
		free(x);
		return -1;
	}
	for (i = 0; i < req->headers.n; i++)
		x->headers = curl_slist_append(x->headers, req->headers.v[i]);
	/* No "Expect: 100-continue" round trip for small bodies. */
	x->headers = curl_slist_append(x->headers, "Expect:");
	curl_easy_setopt(x->easy, CURLOPT_URL, req->url);
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, http_header_cb);
	curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    timeout_ms < 10000 ? timeout_ms : 10000);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x->easy, CURLOPT_USERAGENT,
	    "switchboard/" PACKAGE_VERSION);
	/* PUT and PATCH carry a body too (Matrix send, message edits):
	 * POSTFIELDS sends it, CUSTOMREQUEST names the method. */
	if (strcmp(method, "POST") == 0 || req->body != NULL) {
		x->body = xstrndup(req->body ? req->body : "",
		    req->body ? req->body_len : 0);
		curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, x->body);
		curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(req->body ? req->body_len : 0));
	}
	if (strcmp(method, "POST") != 0 && strcmp(method, "GET") != 0)
		curl_easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST, method);
	if (curl_multi_add_handle(h->multi, x->easy) != CURLM_OK) {
		http_xfer_free(x);
		return -1;
	}
	LIST_LINK(h->xfers, x);
	h->active++;
	return 0;
}

size_t
http_active(const struct http *h)
{
	return h->active;
}
