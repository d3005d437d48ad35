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
# bench/fsync_delay.so (a plain rule, like tests/faultshim.so: a preload
# library, not a program) emulates a disk slower to flush, for both servers.
EXTRA_DIST += bench/lib.sh bench/persist_bench.sh bench/fsync_delay.c
bench/fsync_delay.so: $(srcdir)/bench/fsync_delay.c
	$(AM_V_CC)$(CC) -shared -fPIC -O2 -fvisibility=hidden $(WARN_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $(srcdir)/bench/fsync_delay.c -ldl
CLEANFILES += bench/fsync_delay.so
.PHONY: bench-persist
bench-persist: supervisor/fickled bench/fsync_delay.so
	FICKLED=$(abs_top_builddir)/supervisor/fickled FSYNC_DELAY_LIB=$(abs_top_builddir)/bench/fsync_delay.so \
	  $(SHELL) $(srcdir)/bench/persist_bench.sh

# What a request costs the server (CPU, context switches, system calls),
# fickled against redis-server: a measure the machine's noise moves little.
EXTRA_DIST += bench/cpu_bench.sh
.PHONY: bench-cpu
bench-cpu: supervisor/fickled
	FICKLED=$(abs_top_builddir)/supervisor/fickled $(SHELL) $(srcdir)/bench/cpu_bench.sh
