# Unit tests: one cmocka program per module, linked against libcore.a.
if HAVE_CMOCKA
UNIT_TESTS = \
	tests/unit/test_cmd \
	tests/unit/test_config \
	tests/unit/test_jetstream \
	tests/unit/test_json_scan \
	tests/unit/test_mastodon \
	tests/unit/test_metrics \
	tests/unit/test_nostr \
	tests/unit/test_pipeline \
	tests/unit/test_policy \
	tests/unit/test_publish \
	tests/unit/test_router \
	tests/unit/test_sink \
	tests/unit/test_sink_platforms \
	tests/unit/test_slash \
	tests/unit/test_socket_mode_msg \
	tests/unit/test_store \
	tests/unit/test_storm \
	tests/unit/test_text \
	tests/unit/test_util
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
endif

tests_unit_test_cmd_SOURCES = tests/unit/test_cmd.c tests/unit/harness.h
tests_unit_test_cmd_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_cmd_LDADD = $(TEST_LDADD)
tests_unit_test_config_SOURCES = tests/unit/test_config.c tests/unit/harness.h
tests_unit_test_config_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_config_LDADD = $(TEST_LDADD)
tests_unit_test_jetstream_SOURCES = tests/unit/test_jetstream.c tests/unit/harness.h
tests_unit_test_jetstream_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_jetstream_LDADD = $(TEST_LDADD)
tests_unit_test_json_scan_SOURCES = tests/unit/test_json_scan.c tests/unit/harness.h
tests_unit_test_json_scan_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_json_scan_LDADD = $(TEST_LDADD)
tests_unit_test_mastodon_SOURCES = tests/unit/test_mastodon.c tests/unit/harness.h
tests_unit_test_mastodon_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_mastodon_LDADD = $(TEST_LDADD)
tests_unit_test_metrics_SOURCES = tests/unit/test_metrics.c tests/unit/harness.h
tests_unit_test_metrics_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_metrics_LDADD = $(TEST_LDADD)
tests_unit_test_nostr_SOURCES = tests/unit/test_nostr.c tests/unit/harness.h
tests_unit_test_nostr_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_nostr_LDADD = $(TEST_LDADD)
tests_unit_test_pipeline_SOURCES = tests/unit/test_pipeline.c tests/unit/harness.h
tests_unit_test_pipeline_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_pipeline_LDADD = $(TEST_LDADD)
tests_unit_test_policy_SOURCES = tests/unit/test_policy.c tests/unit/harness.h
tests_unit_test_policy_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_policy_LDADD = $(TEST_LDADD)
tests_unit_test_publish_SOURCES = tests/unit/test_publish.c tests/unit/harness.h
tests_unit_test_publish_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_publish_LDADD = $(TEST_LDADD)
tests_unit_test_router_SOURCES = tests/unit/test_router.c tests/unit/harness.h
tests_unit_test_router_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_router_LDADD = $(TEST_LDADD)
tests_unit_test_sink_SOURCES = tests/unit/test_sink.c tests/unit/harness.h
tests_unit_test_sink_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_sink_LDADD = $(TEST_LDADD)
tests_unit_test_sink_platforms_SOURCES = tests/unit/test_sink_platforms.c \
	tests/unit/harness.h
tests_unit_test_sink_platforms_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_sink_platforms_LDADD = $(TEST_LDADD)
tests_unit_test_slash_SOURCES = tests/unit/test_slash.c tests/unit/harness.h
tests_unit_test_slash_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_slash_LDADD = $(TEST_LDADD)
tests_unit_test_socket_mode_msg_SOURCES = \
	tests/unit/test_socket_mode_msg.c tests/unit/harness.h
tests_unit_test_socket_mode_msg_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_socket_mode_msg_LDADD = $(TEST_LDADD)
tests_unit_test_store_SOURCES = tests/unit/test_store.c tests/unit/harness.h
tests_unit_test_store_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_store_LDADD = $(TEST_LDADD)
tests_unit_test_storm_SOURCES = tests/unit/test_storm.c tests/unit/harness.h
tests_unit_test_storm_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_storm_LDADD = $(TEST_LDADD)
tests_unit_test_text_SOURCES = tests/unit/test_text.c tests/unit/harness.h
tests_unit_test_text_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_text_LDADD = $(TEST_LDADD)
tests_unit_test_util_SOURCES = tests/unit/test_util.c tests/unit/harness.h
tests_unit_test_util_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_util_LDADD = $(TEST_LDADD)

EXTRA_DIST += tests/data tests/conf
