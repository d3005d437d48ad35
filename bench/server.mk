# bench/server.mk — fickled against redis-server under redis-benchmark, plus
# fickled's native protocol under bench/native_bench (make bench-server).
# Not part of make check: it takes minutes and needs redis-server and redis-benchmark.
EXTRA_DIST += bench/server_bench.sh

# The native-protocol load generator (libfickle). An EXTRA_PROGRAM: built
# only by bench-server or `make bench/native_bench`, never by make or make
# check. -no-install: linked to the built libfickle.so directly, no wrapper.
EXTRA_PROGRAMS += bench/native_bench
bench_native_bench_SOURCES = bench/native_bench.c
bench_native_bench_LDADD = client/libfickle.la
bench_native_bench_LDFLAGS = $(AM_LDFLAGS) -no-install
CLEANFILES += bench/native_bench$(EXEEXT)

.PHONY: bench-server
bench-server: supervisor/fickled bench/native_bench$(EXEEXT)
	FICKLED=$(abs_top_builddir)/supervisor/fickled NATIVE_BENCH=$(abs_top_builddir)/bench/native_bench$(EXEEXT) \
	  $(SHELL) $(srcdir)/bench/server_bench.sh

# Durability: fsync always/everysec against Redis's AOF, restart times.
EXTRA_DIST += bench/lib.sh bench/persist_bench.sh
.PHONY: bench-persist
bench-persist: supervisor/fickled
	FICKLED=$(abs_top_builddir)/supervisor/fickled $(SHELL) $(srcdir)/bench/persist_bench.sh

# What a request costs the server (CPU, context switches, system calls),
# fickled against redis-server: a measure the machine's noise moves little.
EXTRA_DIST += bench/cpu_bench.sh
.PHONY: bench-cpu
bench-cpu: supervisor/fickled
	FICKLED=$(abs_top_builddir)/supervisor/fickled $(SHELL) $(srcdir)/bench/cpu_bench.sh
