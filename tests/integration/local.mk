# Integration tests: the built daemon against local servers that speak
# the real protocols (tests/fakes), on 127.0.0.1 only.
INTEGRATION_TESTS = \
	tests/integration/test_chaos.py \
	tests/integration/test_cli.py \
	tests/integration/test_delivery.py \
	tests/integration/test_dns.py \
	tests/integration/test_flood.py \
	tests/integration/test_hostile.py \
	tests/integration/test_install.sh \
	tests/integration/test_listener.py \
	tests/integration/test_mastodon.py \
	tests/integration/test_metrics.py \
	tests/integration/test_nostr.py \
	tests/integration/test_nostr_interop.py \
	tests/integration/test_notify.py \
	tests/integration/test_platforms.py \
	tests/integration/test_reload.py \
	tests/integration/test_reply.py \
	tests/integration/test_reply_nostr.py \
	tests/integration/test_resume.py \
	tests/integration/test_secrets.py \
	tests/integration/test_socket_mode.py \
	tests/integration/test_state_tools.py \
	tests/integration/test_store_failure.py \
	tests/integration/test_threads.py \
	tests/integration/test_storms.py \
	tests/integration/test_systemd.sh \
	tests/integration/test_watchers.py
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/sbtest.py \
	tests/fakes/jetstream_server.py tests/fakes/chat_server.py \
	tests/integration/sbnostr.py tests/fakes/nostr_relay.py \
	tests/fakes/mastodon_server.py tests/fakes/loopback.py \
	tests/fakes/slack_socket.py tests/fakes/bluesky_pds.py \
	tests/fakes/chat_platforms.py tests/check-secrets.sh \
	tests/valgrind.sh tests/valgrind.supp \
	tests/integration/slow_getaddrinfo.c

# The Nostr interop test runs a real relay and nostr-tools, installed by
# `npm ci` from this lockfile into the build tree (tests/interop/
# nostr-run), which make clean removes.  It exits 77 after a "1..0 #
# SKIP" plan when node or npm is missing; the TAP driver would count
# that status as an error, and the plan already says what happened (the
# .py tests always exit 0 otherwise, and a crash loses the plan).
EXTRA_DIST += tests/interop/nostr/package.json \
	tests/interop/nostr/package-lock.json tests/interop/nostr/relay.mjs \
	tests/interop/nostr/publish.mjs tests/interop/nostr/reply.mjs
AM_PY_LOG_DRIVER_FLAGS = --ignore-exit
clean-local: clean-local-nostr-interop
clean-local-nostr-interop:
	-rm -rf tests/interop/nostr-run tests/interop/nostr-reply-run
.PHONY: clean-local-nostr-interop
