# tests/persist.mk — unit tests of the persister's on-disk formats
# (persister/local.mk): CRC32C, records, segments, snapshots.
check_PROGRAMS += tests/test_persist_format
TESTS += tests/test_persist_format
tests_test_persist_format_SOURCES = tests/test_persist_format.c
tests_test_persist_format_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_persist_format_LDADD = persister/libfickle_persist.a store/libfickle_store.a $(STORE_LIBS) $(PERSIST_LIBS) $(CHECK_LIBS)
