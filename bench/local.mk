# bench/local.mk — benchmarks (built by `make bench`, never run by `make check`).
#
# Each benchmark compares fickle against a peer in the same run. They are
# EXTRA_PROGRAMS: built only when asked for, so `make` and `make check` never
# build or run them. `make bench` runs every benchmark with its default size;
# pass options through BENCH_STORE_FLAGS, e.g.
#   make bench BENCH_STORE_FLAGS='--keys 10000000'
# Other benchmarks hook in as further prerequisites of `bench`.
.PHONY: bench bench-store
bench: bench-store

BENCH_STORE_FLAGS =

if HAVE_LMDB
EXTRA_PROGRAMS += bench/store_bench
bench_store_bench_SOURCES = \
	bench/bench.h \
	bench/bench_common.c \
	bench/bench_fickle.c \
	bench/bench_lmdb.c \
	bench/store_bench.c
bench_store_bench_CFLAGS = $(AM_CFLAGS) $(LMDB_CFLAGS)
bench_store_bench_LDADD = store/libfickle_store.a $(STORE_LIBS) $(LMDB_LIBS)
CLEANFILES += bench/store_bench$(EXEEXT)

bench-store: bench/store_bench$(EXEEXT)
	./bench/store_bench$(EXEEXT) $(BENCH_STORE_FLAGS)
else
bench-store:
	@echo "bench-store: LMDB (the peer) was not found by configure: install liblmdb-dev and re-run configure" >&2
	@exit 1
endif
