# bench/server.mk — fickled against redis-server under redis-benchmark (make bench-server).
# Not part of make check: it takes minutes and needs redis-server and redis-benchmark.
EXTRA_DIST += bench/server_bench.sh

.PHONY: bench-server
bench-server: supervisor/fickled
	FICKLED=$(abs_top_builddir)/supervisor/fickled $(SHELL) $(srcdir)/bench/server_bench.sh

# Durability: fsync always/everysec against Redis's AOF, restart times.
EXTRA_DIST += bench/lib.sh bench/persist_bench.sh
.PHONY: bench-persist
bench-persist: supervisor/fickled
	FICKLED=$(abs_top_builddir)/supervisor/fickled $(SHELL) $(srcdir)/bench/persist_bench.sh
