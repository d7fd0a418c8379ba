# Integration tests: the built daemon against local servers that speak
# the real protocols (tests/fakes), on 127.0.0.1 only.
INTEGRATION_TESTS = \
	tests/integration/test_cli.py \
	tests/integration/test_delivery.py \
	tests/integration/test_notify.py \
	tests/integration/test_resume.py \
	tests/integration/test_secrets.py \
	tests/integration/test_store_failure.py \
	tests/integration/test_systemd.sh
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/sbtest.py \
	tests/fakes/jetstream_server.py tests/fakes/chat_server.py
