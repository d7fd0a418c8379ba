# Benchmarks print figures; they are built by "make bench", not run by
# make check (speed is measured, not asserted).
EXTRA_PROGRAMS = tests/bench/bench_pipeline tests/bench/bench_sinks
tests_bench_bench_pipeline_SOURCES = tests/bench/bench_pipeline.c
tests_bench_bench_pipeline_LDADD = libcore.a $(SB_LIBS)
tests_bench_bench_sinks_SOURCES = tests/bench/bench_sinks.c
tests_bench_bench_sinks_LDADD = libcore.a $(SB_LIBS)
CLEANFILES += $(EXTRA_PROGRAMS)

bench: tests/bench/bench_pipeline tests/bench/bench_sinks
	./tests/bench/bench_pipeline $(abs_top_srcdir)/tests/data/jetstream-corpus.jsonl
	./tests/bench/bench_sinks $(abs_top_srcdir)/tests/data/jetstream-corpus.jsonl

.PHONY: bench
