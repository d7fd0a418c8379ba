# Fuzzing: libFuzzer targets, one per parser of outside input, built by
# "make fuzz" in a build configured with CC=clang --enable-fuzz (README
# "Fuzzing").  Seed corpora are generated from tests/data into the build
# directory; tests/fuzz/regress holds inputs that once crashed.
FUZZ_NAMES = config jetstream json_scan mastodon mastodon_html nostr \
	policy sink slash socket_mode
FUZZ_TARGETS = tests/fuzz/fuzz_config tests/fuzz/fuzz_jetstream \
	tests/fuzz/fuzz_json_scan tests/fuzz/fuzz_mastodon \
	tests/fuzz/fuzz_mastodon_html tests/fuzz/fuzz_nostr \
	tests/fuzz/fuzz_policy tests/fuzz/fuzz_sink tests/fuzz/fuzz_slash \
	tests/fuzz/fuzz_socket_mode
# Built only by "make fuzz", never by "make" or "make check".
EXTRA_PROGRAMS += $(FUZZ_TARGETS)
SB_FUZZ_CFLAGS = $(AM_CFLAGS)
SB_FUZZ_LIBS = libcore.a $(SB_LIBS)
SB_FUZZ_LINK = -fsanitize=fuzzer,address,undefined

EXTRA_DIST += tests/fuzz/fuzz.h tests/fuzz/smoke.sh tests/fuzz/seeds.py \
	tests/fuzz/lsan.supp \
	tests/fuzz/dict tests/fuzz/regress

tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c
tests_fuzz_fuzz_config_CFLAGS = $(SB_FUZZ_CFLAGS)
tests_fuzz_fuzz_config_LDFLAGS = $(SB_FUZZ_LINK)
tests_fuzz_fuzz_config_LDADD = $(SB_FUZZ_LIBS)
tests_fuzz_fuzz_jetstream_SOURCES = tests/fuzz/fuzz_jetstream.c
tests_fuzz_fuzz_jetstream_CFLAGS = $(SB_FUZZ_CFLAGS)
tests_fuzz_fuzz_jetstream_LDFLAGS = $(SB_FUZZ_LINK)
tests_fuzz_fuzz_jetstream_LDADD = $(SB_FUZZ_LIBS)
tests_fuzz_fuzz_json_scan_SOURCES = tests/fuzz/fuzz_json_scan.c
tests_fuzz_fuzz_json_scan_CFLAGS = $(SB_FUZZ_CFLAGS)
tests_fuzz_fuzz_json_scan_LDFLAGS = $(SB_FUZZ_LINK)
tests_fuzz_fuzz_json_scan_LDADD = $(SB_FUZZ_LIBS)
tests_fuzz_fuzz_mastodon_SOURCES = tests/fuzz/fuzz_mastodon.c
tests_fuzz_fuzz_mastodon_CFLAGS = $(SB_FUZZ_CFLAGS)
tests_fuzz_fuzz_mastodon_LDFLAGS = $(SB_FUZZ_LINK)
tests_fuzz_fuzz_mastodon_LDADD = $(SB_FUZZ_LIBS)
tests_fuzz_fuzz_mastodon_html_SOURCES = tests/fuzz/fuzz_mastodon_html.c
tests_fuzz_fuzz_mastodon_html_CFLAGS = $(SB_FUZZ_CFLAGS)
tests_fuzz_fuzz_mastodon_html_LDFLAGS = $(SB_FUZZ_LINK)
tests_fuzz_fuzz_mastodon_html_LDADD = $(SB_FUZZ_LIBS)
tests_fuzz_fuzz_nostr_SOURCES = tests/fuzz/fuzz_nostr.c
tests_fuzz_fuzz_nostr_CFLAGS = $(SB_FUZZ_CFLAGS)
tests_fuzz_fuzz_nostr_LDFLAGS = $(SB_FUZZ_LINK)
tests_fuzz_fuzz_nostr_LDADD = $(SB_FUZZ_LIBS)
tests_fuzz_fuzz_policy_SOURCES = tests/fuzz/fuzz_policy.c
tests_fuzz_fuzz_policy_CFLAGS = $(SB_FUZZ_CFLAGS)
tests_fuzz_fuzz_policy_LDFLAGS = $(SB_FUZZ_LINK)
tests_fuzz_fuzz_policy_LDADD = $(SB_FUZZ_LIBS)
tests_fuzz_fuzz_sink_SOURCES = tests/fuzz/fuzz_sink.c
tests_fuzz_fuzz_sink_CFLAGS = $(SB_FUZZ_CFLAGS)
tests_fuzz_fuzz_sink_LDFLAGS = $(SB_FUZZ_LINK)
tests_fuzz_fuzz_sink_LDADD = $(SB_FUZZ_LIBS)
tests_fuzz_fuzz_slash_SOURCES = tests/fuzz/fuzz_slash.c
tests_fuzz_fuzz_slash_CFLAGS = $(SB_FUZZ_CFLAGS)
tests_fuzz_fuzz_slash_LDFLAGS = $(SB_FUZZ_LINK)
tests_fuzz_fuzz_slash_LDADD = $(SB_FUZZ_LIBS)
tests_fuzz_fuzz_socket_mode_SOURCES = tests/fuzz/fuzz_socket_mode.c
tests_fuzz_fuzz_socket_mode_CFLAGS = $(SB_FUZZ_CFLAGS)
tests_fuzz_fuzz_socket_mode_LDFLAGS = $(SB_FUZZ_LINK)
tests_fuzz_fuzz_socket_mode_LDADD = $(SB_FUZZ_LIBS)

CLEANFILES += $(FUZZ_TARGETS)

if ENABLE_FUZZ

fuzz: $(FUZZ_TARGETS)
	$(AM_V_GEN)rm -rf tests/fuzz/corpus && \
	    $(PYTHON3) $(srcdir)/tests/fuzz/seeds.py $(srcdir) tests/fuzz/corpus
	@for t in $(FUZZ_NAMES); do \
	    echo "run: LSAN_OPTIONS=suppressions=$(srcdir)/tests/fuzz/lsan.supp" \
	        "tests/fuzz/fuzz_$$t -max_total_time=N -timeout=5" \
	        "-dict=$(srcdir)/tests/fuzz/dict/$$t.dict" \
	        "tests/fuzz/corpus/$$t"; \
	done
	@echo "or all: sh $(srcdir)/tests/fuzz/smoke.sh tests/fuzz N"
else
fuzz:
	@echo "make fuzz: configure with CC=clang --enable-fuzz (README \"Fuzzing\")" >&2
	@exit 1
endif

mostlyclean-local: clean-fuzz
clean-fuzz:
	rm -rf tests/fuzz/corpus tests/fuzz/crash-* tests/fuzz/work

.PHONY: fuzz clean-fuzz
