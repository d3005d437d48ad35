# tests/snapshot.mk — snapshots: the snapshot thread against a live store
# with concurrent writers (test_snapshot), and the real fickled's SAVE,
# BGSAVE, LASTSAVE, recovery from snapshot + log, log retention and the
# fallback to an older snapshot (test_snapshot_server).
check_PROGRAMS += tests/test_snapshot
TESTS += tests/test_snapshot
tests_test_snapshot_SOURCES = tests/test_snapshot.c tests/store_testutil.c tests/store_testutil.h
tests_test_snapshot_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(XXHASH_CFLAGS)
tests_test_snapshot_LDADD = persister/libfickle_persist.a common/libfickle_common.a store/libfickle_store_test.a \
	$(STORE_LIBS) $(PERSIST_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/test_snapshot_server
TESTS += tests/test_snapshot_server
tests_test_snapshot_server_SOURCES = tests/test_snapshot_server.c tests/native_client.h tests/native_client.c \
	$(HARNESS_SOURCES)
tests_test_snapshot_server_CPPFLAGS = $(HARNESS_CPPFLAGS)
tests_test_snapshot_server_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_snapshot_server_LDADD = $(CHECK_LIBS)
