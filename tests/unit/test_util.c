/* util.c: buffers, string vectors, URL checks and redaction. */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static void
test_buf(void **state)
{
	struct buf	 b;
	char		*s;
	int		 i;

	(void)state;
	buf_init(&b);
	for (i = 0; i < 1000; i++)
		buf_printf(&b, "%d,", i);
	assert_int_equal(b.len, strlen(b.data));
	assert_true(strncmp(b.data, "0,1,2,", 6) == 0);
	assert_true(strstr(b.data, ",999,") != NULL);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	buf_add(&b, "a\0b", 3);
	assert_int_equal(b.len, 3);
	s = buf_steal(&b);
	assert_memory_equal(s, "a\0b", 4);
	assert_null(b.data);
	free(s);
	s = buf_steal(&b);		/* empty buffer: an empty string */
	assert_string_equal(s, "");
	free(s);
}

static void
test_strv(void **state)
{
	struct strv	a, b;

	(void)state;
	strv_init(&a);
	strv_add(&a, "x");
	strv_take(&a, xstrdup("y"));
	strv_copy(&b, &a);
	assert_int_equal(b.n, 2);
	assert_true(strv_contains(&b, "y"));
	assert_false(strv_contains(&b, "z"));
	assert_ptr_not_equal(a.v[0], b.v[0]);
	strv_free(&a);
	strv_free(&b);
	assert_int_equal(a.n, 0);
}

static void
test_url_scheme(void **state)
{
	(void)state;
	assert_true(url_scheme_ok("https://hooks.slack.com/x", "https",
	    "http"));
	assert_false(url_scheme_ok("https://", "https", "http"));
	assert_true(url_scheme_ok("http://127.0.0.1:8080/hooks", "https",
	    "http"));
	assert_true(url_scheme_ok("http://127.1.2.3/", "https", "http"));
	assert_true(url_scheme_ok("http://localhost:9/x", "https", "http"));
	assert_true(url_scheme_ok("http://localhost", "https", "http"));
	assert_true(url_scheme_ok("ws://[::1]:80/subscribe", "wss", "ws"));
	/* Plain text to anything but loopback is refused. */
	assert_false(url_scheme_ok("http://example.com/", "https", "http"));
	assert_false(url_scheme_ok("http://127.evil.example/", "https",
	    "http"));
	assert_false(url_scheme_ok("http://127.0.0.1.evil.example/", "https",
	    "http"));
	assert_false(url_scheme_ok("http://localhost.evil/", "https",
	    "http"));
	assert_false(url_scheme_ok("http://128.0.0.1/", "https", "http"));
	assert_false(url_scheme_ok("http://127.0.0.256/", "https", "http"));
	assert_false(url_scheme_ok("ftp://127.0.0.1/", "https", "http"));
	assert_false(url_scheme_ok("wss://x/", "https", "http"));
}

static void
test_redact(void **state)
{
	char	*r;

	(void)state;
	r = redact_url("https://hooks.slack.com/services/T0/B0/secret");
	assert_string_equal(r, "https://hooks.slack.com/***");
	assert_null(strstr(r, "secret"));
	free(r);
	r = redact_url("https://host");
	assert_string_equal(r, "https://host");
	free(r);
	r = redact_url("not a url");
	assert_string_equal(r, "***");
	free(r);
}

static void
test_hex_and_random(void **state)
{
	const unsigned char	 in[] = { 0x00, 0x9f, 0xff };
	char			 out[7];
	double			 r;
	int			 i;

	(void)state;
	hex_encode(in, sizeof(in), out);
	assert_string_equal(out, "009fff");
	for (i = 0; i < 10000; i++) {
		r = random_unit();
		assert_true(r >= 0.0 && r < 1.0);
	}
}

/* Contents of regular files only: a directory or a FIFO is refused at
 * once (a FIFO must not hang), a file over the limit too. */
static void
test_read_regular_file(void **state)
{
	char	 dir[] = "/tmp/sb-test-util-XXXXXX", *path, *fifo, *data;
	size_t	 len = 99;
	FILE	*f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/file", dir);
	fifo = xasprintf("%s/fifo", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("token\n", f);
	fclose(f);
	data = read_regular_file(path, 64, &len);
	assert_non_null(data);
	assert_int_equal(len, 6);
	assert_string_equal(data, "token\n");
	free(data);

	errno = 0;
	assert_null(read_regular_file(path, 5, &len));
	assert_int_equal(errno, EFBIG);
	errno = 0;
	assert_null(read_regular_file(dir, 64, &len));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	errno = 0;
	assert_null(read_regular_file(fifo, 64, &len));
	assert_int_equal(errno, EINVAL);
	unlink(fifo);
	errno = 0;
	assert_null(read_regular_file(fifo, 64, &len));
	assert_int_equal(errno, ENOENT);

	unlink(path);
	rmdir(dir);
	free(path);
	free(fifo);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_strv),
		cmocka_unit_test(test_url_scheme),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_hex_and_random),
		cmocka_unit_test(test_read_regular_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
