# tests/fuzz/fuzz.mk — the libFuzzer harnesses (docs/testing.md).
#
# `make check` builds each harness with the normal compiler into a replay
# test, tests/test_fuzz_<name> (tests/fuzz/replay.c): every file of its seed corpus and of its
# crash regressions runs through it, so a crash once found stays fixed.
#
# `make fuzz` builds them with $(FUZZ_CC) -fsanitize=fuzzer,address,undefined
# into fuzz/ and runs each for FUZZ_TIME seconds (default 60) on a working
# corpus (fuzz/corpus-<name>/, seeded from tests/fuzz/corpus/<name>/);
# it fails on the first crash, leak, timeout or failed check, leaving the
# input in fuzz/artifacts/. FUZZ_ARGS adds libFuzzer options.
FUZZ_HARNESSES = proto record snapshot config store
FUZZ_TIME = 60
FUZZ_ARGS =

FUZZ_DEPS = tests/fuzz/fuzz_util.h tests/fuzz/fuzz_util.c
FUZZ_REPLAY = tests/fuzz/replay.c $(FUZZ_DEPS)
FUZZ_REPLAY_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
FUZZ_REPLAY_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_DIR='"$(abs_top_srcdir)/tests/fuzz"'

FUZZ_REPLAYS = tests/test_fuzz_proto tests/test_fuzz_record tests/test_fuzz_snapshot \
	tests/test_fuzz_config tests/test_fuzz_store
check_PROGRAMS += $(FUZZ_REPLAYS)
TESTS += $(FUZZ_REPLAYS)

tests_test_fuzz_proto_SOURCES = $(FUZZ_REPLAY) tests/fuzz/fuzz_proto.c
tests_test_fuzz_proto_CPPFLAGS = $(FUZZ_REPLAY_CPPFLAGS) -DFUZZ_NAME='"proto"'
tests_test_fuzz_proto_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_test_fuzz_proto_LDADD = frontend/libfickle_proto.a $(PROTO_LIBS) $(CHECK_LIBS)

tests_test_fuzz_record_SOURCES = $(FUZZ_REPLAY) tests/fuzz/fuzz_record.c
tests_test_fuzz_record_CPPFLAGS = $(FUZZ_REPLAY_CPPFLAGS) -DFUZZ_NAME='"record"'
tests_test_fuzz_record_CFLAGS = $(FUZZ_REPLAY_CFLAGS) $(XXHASH_CFLAGS)
tests_test_fuzz_record_LDADD = store/libfickle_store.a $(STORE_LIBS) $(CHECK_LIBS)

tests_test_fuzz_snapshot_SOURCES = $(FUZZ_REPLAY) tests/fuzz/fuzz_snapshot.c
tests_test_fuzz_snapshot_CPPFLAGS = $(FUZZ_REPLAY_CPPFLAGS) -DFUZZ_NAME='"snapshot"'
tests_test_fuzz_snapshot_CFLAGS = $(FUZZ_REPLAY_CFLAGS) $(XXHASH_CFLAGS)
tests_test_fuzz_snapshot_LDADD = persister/libfickle_persist.a store/libfickle_store.a $(PERSIST_LIBS) \
	$(STORE_LIBS) $(CHECK_LIBS)

tests_test_fuzz_config_SOURCES = $(FUZZ_REPLAY) tests/fuzz/fuzz_config.c supervisor/fickled_config.c
tests_test_fuzz_config_CPPFLAGS = $(FUZZ_REPLAY_CPPFLAGS) -DFUZZ_NAME='"config"'
tests_test_fuzz_config_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_test_fuzz_config_LDADD = common/libfickle_common.a store/libfickle_store.a $(STORE_LIBS) $(CHECK_LIBS)

tests_test_fuzz_store_SOURCES = $(FUZZ_REPLAY) tests/fuzz/fuzz_store.c $(STORE_TEST_UTIL)
tests_test_fuzz_store_CPPFLAGS = $(FUZZ_REPLAY_CPPFLAGS) -DFUZZ_NAME='"store"'
tests_test_fuzz_store_CFLAGS = $(FUZZ_REPLAY_CFLAGS) $(XXHASH_CFLAGS)
tests_test_fuzz_store_LDADD = store/libfickle_store.a $(STORE_LIBS) $(CHECK_LIBS)

EXTRA_DIST += tests/fuzz/corpus tests/fuzz/regressions tests/fuzz/smoke.sh

# ---- make fuzz: the same harnesses under libFuzzer ---------------------------------
FUZZ_CFLAGS = -g -O1 -std=gnu11 -pthread -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Wall -Wextra -Wno-unused-parameter
FUZZ_COMPILE = $(FUZZ_CC) $(FUZZ_CFLAGS) $(AM_CPPFLAGS) $(XXHASH_CFLAGS) $(ISAL_CFLAGS) $(CHECK_CFLAGS)
# The store library's .c files, from store/local.mk (so that a new file
# there is picked up here too), listed by the shell at build time.
FUZZ_STORE_C = `for f in $(STORE_SOURCES); do case $$f in *.c) echo $(top_srcdir)/$$f;; esac; done`
FUZZ_UTIL_C = $(top_srcdir)/tests/fuzz/fuzz_util.c

fuzz-check-cc:
	@if test "$(HAVE_FUZZER)" != yes; then \
	  echo "make fuzz: '$(FUZZ_CC)' cannot build libFuzzer targets (-fsanitize=fuzzer,address,undefined)." >&2; \
	  echo "make fuzz: install clang (apt-get install clang) and re-run configure, or set FUZZ_CC." >&2; \
	  exit 1; \
	fi
	@$(MKDIR_P) fuzz/artifacts

fuzz/fuzz_proto: fuzz-check-cc
	$(AM_V_CC)$(FUZZ_COMPILE) -o $@ $(top_srcdir)/tests/fuzz/fuzz_proto.c $(FUZZ_UTIL_C) \
	  $(top_srcdir)/frontend/command.c $(top_srcdir)/frontend/resp_parse.c \
	  $(top_srcdir)/frontend/resp_command.c $(top_srcdir)/frontend/native_parse.c -lm

fuzz/fuzz_record: fuzz-check-cc
	$(AM_V_CC)$(FUZZ_COMPILE) -o $@ $(top_srcdir)/tests/fuzz/fuzz_record.c $(FUZZ_UTIL_C) \
	  $(FUZZ_STORE_C) $(STORE_LIBS)

fuzz/fuzz_snapshot: fuzz-check-cc
	$(AM_V_CC)$(FUZZ_COMPILE) -o $@ $(top_srcdir)/tests/fuzz/fuzz_snapshot.c $(FUZZ_UTIL_C) \
	  $(top_srcdir)/persister/snapshot.c $(top_srcdir)/persister/pio.c $(top_srcdir)/persister/snaptake.c \
	  $(top_srcdir)/persister/logscan.c $(top_srcdir)/persister/segment.c $(FUZZ_STORE_C) $(STORE_LIBS)

fuzz/fuzz_config: fuzz-check-cc
	$(AM_V_CC)$(FUZZ_COMPILE) -o $@ $(top_srcdir)/tests/fuzz/fuzz_config.c $(FUZZ_UTIL_C) \
	  $(top_srcdir)/supervisor/fickled_config.c $(top_srcdir)/common/log.c $(FUZZ_STORE_C) $(STORE_LIBS)

fuzz/fuzz_store: fuzz-check-cc
	$(AM_V_CC)$(FUZZ_COMPILE) -o $@ $(top_srcdir)/tests/fuzz/fuzz_store.c $(FUZZ_UTIL_C) \
	  $(top_srcdir)/tests/store_testutil.c $(FUZZ_STORE_C) $(STORE_LIBS) $(CHECK_LIBS)

# Builds every harness (always: they are cheap next to a fuzzing run, and
# this way never stale).
fuzz-build: fuzz/fuzz_proto fuzz/fuzz_record fuzz/fuzz_snapshot fuzz/fuzz_config fuzz/fuzz_store

# Runs each harness in turn; the summary line of each (runs, cov, ft,
# exec/s) goes to the output, the whole log to fuzz/<name>.log.
fuzz: fuzz-build
	@set -e; for h in $(FUZZ_HARNESSES); do \
	  $(MKDIR_P) fuzz/corpus-$$h; \
	  echo "fuzz: $$h for $(FUZZ_TIME) s"; \
	  if ! ./fuzz/fuzz_$$h -max_total_time=$(FUZZ_TIME) -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
	       -artifact_prefix=fuzz/artifacts/$$h- $(FUZZ_ARGS) fuzz/corpus-$$h $(top_srcdir)/tests/fuzz/corpus/$$h \
	       > fuzz/$$h.log 2>&1; then \
	    tail -n 80 fuzz/$$h.log; \
	    echo "fuzz: $$h FAILED: the input is in fuzz/artifacts/ (full log fuzz/$$h.log)" >&2; \
	    exit 1; \
	  fi; \
	  grep -E '^#[0-9]+[[:space:]]+DONE|^stat::number_of_executed_units|^stat::average_exec_per_sec' fuzz/$$h.log; \
	done; echo "fuzz: no crash in $(FUZZ_HARNESSES)"

clean-local: clean-fuzz
clean-fuzz:
	rm -rf fuzz

.PHONY: fuzz fuzz-build fuzz-check-cc clean-fuzz

# The seed generator (tests/fuzz/gen_seeds.c): built on demand only.
EXTRA_PROGRAMS += tests/fuzz/gen_seeds
tests_fuzz_gen_seeds_SOURCES = tests/fuzz/gen_seeds.c
tests_fuzz_gen_seeds_LDADD = persister/libfickle_persist.a store/libfickle_store.a $(PERSIST_LIBS) $(STORE_LIBS)
CLEANFILES += tests/fuzz/gen_seeds
