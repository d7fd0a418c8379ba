/*
 * The Prometheus text format of metrics.c: every family announced by
 * HELP and TYPE before its samples, label values escaped, series in a
 * stable order, counters adding up, gauges replaced, and the per-family
 * cap that sends new label values to "other".
 */
#include <math.h>
#include <stdbool.h>

#include "harness.h"
#include "metrics.h"

/* The sample line of name with exactly these labels, or NULL. */
static const char *
find_line(const char *text, const char *prefix)
{
	const char	*p = text;
	size_t		 n = strlen(prefix);

	while (p != NULL && *p != '\0') {
		if (strncmp(p, prefix, n) == 0 && p[n] == ' ')
			return p;
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return NULL;
}

/* The value of the sample line prefix (name{labels}); fails if absent. */
static double
value_of(const char *text, const char *prefix)
{
	const char	*line = find_line(text, prefix);

	if (line == NULL)
		fail_msg("no sample %s in:\n%s", prefix, text);
	return strtod(line + strlen(prefix) + 1, NULL);
}

/*
 * The strict structure check: each line is "# HELP name text",
 * "# TYPE name counter|gauge" right after its HELP, or a sample of the
 * family last announced: name, optional {k="v",...} with only \\, \"
 * and \n escapes, one space, a number.  Counters end in _total.  Each
 * family is announced once.  Returns the number of samples.
 */
static size_t
check_format(const char *text)
{
	char		 family[128] = "", help[128] = "", seen[160];
	const char	*p = text, *q;
	size_t		 samples = 0, families = 0, len;
	char		*end;

	assert_true(strlen(text) > 0);
	assert_int_equal(text[strlen(text) - 1], '\n');
	while (*p != '\0') {
		len = strcspn(p, "\n");
		if (strncmp(p, "# HELP ", 7) == 0) {
			q = p + 7;
			len = strcspn(q, " \n");
			assert_true(len > 0 && len < sizeof(help));
			memcpy(help, q, len);
			help[len] = '\0';
			/* Announced once. */
			snprintf(seen, sizeof(seen), "# HELP %s ", help);
			assert_ptr_equal(strstr(text, seen), p);
			assert_null(strstr(p + 1, seen));
			family[0] = '\0';
			families++;
		} else if (strncmp(p, "# TYPE ", 7) == 0) {
			q = p + 7;
			len = strlen(help);
			assert_true(len > 0);
			assert_memory_equal(q, help, len);
			assert_int_equal(q[len], ' ');
			q += len + 1;
			if (strncmp(q, "counter\n", 8) == 0) {
				assert_true(len > 6 && strncmp(help + len - 6,
				    "_total", 6) == 0);
			} else
				assert_true(strncmp(q, "gauge\n", 6) == 0);
			strcpy(family, help);
		} else {
			assert_true(family[0] != '\0');
			len = strlen(family);
			assert_memory_equal(p, family, len);
			q = p + len;
			if (*q == '{') {
				q++;
				while (*q != '}') {
					while ((*q >= 'a' && *q <= 'z') ||
					    *q == '_')
						q++;
					assert_int_equal(*q++, '=');
					assert_int_equal(*q++, '"');
					for (; *q != '"'; q++) {
						assert_true(*q != '\n' &&
						    *q != '\0');
						if (*q == '\\') {
							q++;
							assert_non_null(
							    strchr("\\\"n",
							    *q));
						}
					}
					q++;
					if (*q == ',')
						q++;
					else
						assert_int_equal(*q, '}');
				}
				q++;
			}
			assert_int_equal(*q++, ' ');
			if (strncmp(q, "NaN", 3) != 0 &&
			    strncmp(q, "+Inf", 4) != 0) {
				strtod(q, &end);
				assert_true(end > q && *end == '\n');
			}
			samples++;
		}
		p += strcspn(p, "\n");
		assert_int_equal(*p, '\n');
		p++;
	}
	assert_int_equal(families, METRICS_NFAMILIES);
	return samples;
}

/* Samples of a fresh registry: the families without labels, and the
 * build info. */
static size_t
baseline(void)
{
	struct metrics	*m = metrics_new();
	char		*text = metrics_render(m);
	size_t		 n = check_format(text);

	free(text);
	metrics_free(m);
	return n;
}

static void
test_empty(void **state)
{
	struct metrics	*m = metrics_new();
	char		*text = metrics_render(m);

	(void)state;
	/* Families without labels have their sample; others none yet,
	 * except the build info. */
	check_format(text);
	assert_non_null(strstr(text, "# HELP switchboard_posts_dropped_total "
	    "Posts that matched a drop rule.\n# TYPE "
	    "switchboard_posts_dropped_total counter\n"
	    "switchboard_posts_dropped_total 0\n"));
	assert_non_null(strstr(text, "\nswitchboard_build_info{version=\""));
	assert_null(strstr(text, "switchboard_posts_routed_total{"));
	free(text);
	metrics_free(m);
}

static void
test_counts(void **state)
{
	struct metrics	*m = metrics_new();
	char		*text;

	(void)state;
	metrics_count(m, METRICS_ROUTED, "care", "care/english", 2);
	metrics_count(m, METRICS_ROUTED, "care", "care/english", 3);
	metrics_count(m, METRICS_ROUTED, "care", "fallback", 1);
	metrics_count(m, METRICS_DELIVERIES, "sales", "retried", 1);
	metrics_count(m, METRICS_EVENTS, "bluesky", NULL, 7);
	metrics_count(m, METRICS_EVENTS, "bluesky", NULL, 0);
	assert_true(metrics_get(m, METRICS_ROUTED, "care", "care/english") ==
	    5);
	assert_true(metrics_get(m, METRICS_ROUTED, "care", "nope") == 0);
	text = metrics_render(m);
	assert_int_equal(check_format(text), baseline() + 4);
	assert_true(value_of(text, "switchboard_posts_routed_total"
	    "{team=\"care\",rule=\"care/english\"}") == 5);
	assert_true(value_of(text, "switchboard_posts_routed_total"
	    "{team=\"care\",rule=\"fallback\"}") == 1);
	assert_true(value_of(text, "switchboard_deliveries_total"
	    "{destination=\"sales\",result=\"retried\"}") == 1);
	assert_true(value_of(text, "switchboard_events_received_total"
	    "{source=\"bluesky\"}") == 7);
	/* Sorted by labels: care/english before fallback. */
	assert_true(strstr(text, "rule=\"care/english\"") <
	    strstr(text, "rule=\"fallback\""));
	free(text);
	metrics_free(m);
}

static void
test_escaping(void **state)
{
	struct metrics	*m = metrics_new();
	char		*text;
	struct buf	 b;

	(void)state;
	buf_init(&b);
	metrics_escape(&b, "a\"b\\c\nd}e,f=g");
	assert_string_equal(b.data, "a\\\"b\\\\c\\nd}e,f=g");
	buf_free(&b);
	metrics_count(m, METRICS_ROUTED, "te\"am", "r\\ule\n", 4);
	metrics_count(m, METRICS_COMMANDS, "", NULL, 1);
	text = metrics_render(m);
	check_format(text);
	assert_true(value_of(text, "switchboard_posts_routed_total"
	    "{team=\"te\\\"am\",rule=\"r\\\\ule\\n\"}") == 4);
	/* A missing value is an empty one, never a missing label. */
	assert_true(value_of(text, "switchboard_commands_total"
	    "{command=\"\",result=\"\"}") == 1);
	free(text);
	metrics_free(m);
}

static void
test_gauges(void **state)
{
	struct metrics	*m = metrics_new();
	char		*text;

	(void)state;
	metrics_set(m, METRICS_SOURCE_LAG, "bluesky", NULL, 2.5);
	metrics_set(m, METRICS_SOURCE_LAG, "nostr", NULL, 1.0);
	metrics_set(m, METRICS_SOURCE_LAG, "nostr", NULL, 12345678.0);
	metrics_set(m, METRICS_OUTBOX_OLDEST, "care", NULL, NAN);
	metrics_set(m, METRICS_CONFIG_ERRORS, NULL, NULL, 3);
	text = metrics_render(m);
	check_format(text);
	assert_non_null(strstr(text, "\nswitchboard_source_lag_seconds"
	    "{source=\"bluesky\"} 2.500\n"));
	assert_non_null(strstr(text, "\nswitchboard_source_lag_seconds"
	    "{source=\"nostr\"} 12345678\n"));
	assert_non_null(strstr(text, "\nswitchboard_outbox_oldest_age_seconds"
	    "{destination=\"care\"} NaN\n"));
	assert_non_null(strstr(text, "\nswitchboard_config_errors 3\n"));
	free(text);
	metrics_clear(m, METRICS_SOURCE_LAG);
	text = metrics_render(m);
	check_format(text);
	assert_null(strstr(text, "switchboard_source_lag_seconds{"));
	free(text);
	metrics_free(m);
}

/* A family is full at METRICS_SERIES_MAX: new values count as "other",
 * known ones still count as themselves. */
static void
test_cap(void **state)
{
	struct metrics	*m = metrics_new();
	char		 name[32], *text;
	int		 i;

	(void)state;
	for (i = 0; i < METRICS_SERIES_MAX; i++) {
		snprintf(name, sizeof(name), "team%04d", i);
		metrics_count(m, METRICS_ROUTED, name, "r", 1);
	}
	metrics_count(m, METRICS_ROUTED, "late1", "r", 2);
	metrics_count(m, METRICS_ROUTED, "late2", "x", 3);
	metrics_count(m, METRICS_ROUTED, "team0007", "r", 1);
	text = metrics_render(m);
	assert_int_equal(check_format(text),
	    baseline() + METRICS_SERIES_MAX + 1);
	assert_true(value_of(text, "switchboard_posts_routed_total"
	    "{team=\"other\",rule=\"other\"}") == 5);
	assert_true(value_of(text, "switchboard_posts_routed_total"
	    "{team=\"team0007\",rule=\"r\"}") == 2);
	assert_null(strstr(text, "late1"));
	free(text);
	metrics_free(m);
}

static void
test_null(void **state)
{
	char	*text;

	(void)state;
	metrics_count(NULL, METRICS_ROUTED, "a", "b", 1);
	metrics_set(NULL, METRICS_SOURCE_LAG, "a", NULL, 1);
	metrics_clear(NULL, METRICS_SOURCE_LAG);
	assert_true(metrics_get(NULL, METRICS_ROUTED, "a", "b") == 0);
	text = metrics_render(NULL);
	assert_string_equal(text, "");
	free(text);
	metrics_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_gauges),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
