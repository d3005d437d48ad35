# tests/txn_stats.mk — INFO's txn_* counters (RESP EXEC, native TXN)
# against the real fickled (HARNESS_*: tests/server.mk).
check_PROGRAMS += tests/test_txn_stats
TESTS += tests/test_txn_stats
tests_test_txn_stats_SOURCES = tests/test_txn_stats.c $(HARNESS_SOURCES)
tests_test_txn_stats_CPPFLAGS = $(HARNESS_CPPFLAGS)
tests_test_txn_stats_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_txn_stats_LDADD = client/libfickle.la $(CHECK_LIBS)
