# tests/multi.mk — RESP transactions (MULTI/EXEC/WATCH) against the real
# fickled and a reference Redis; isolation, crashes inside EXEC (with the
# crash-point build tests/fickled_test), a transaction larger than the ring.
check_PROGRAMS += tests/test_resp_multi
TESTS += tests/test_resp_multi
tests_test_resp_multi_SOURCES = tests/test_resp_multi.c $(RESP_TEST_SOURCES) $(LOAD_UTIL_SOURCES)
tests_test_resp_multi_CPPFLAGS = $(RESP_TEST_CPPFLAGS) -DFICKLED_TEST_PATH='"$(abs_top_builddir)/tests/fickled_test"'
tests_test_resp_multi_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_resp_multi_LDADD = $(CHECK_LIBS)

# The store's side: WATCH stamps, store_mget, _locked reads, store_write_error.
check_PROGRAMS += tests/test_store_watch
TESTS += tests/test_store_watch
tests_test_store_watch_SOURCES = tests/test_store_watch.c $(STORE_TEST_UTIL)
tests_test_store_watch_CFLAGS = $(STORE_TEST_CFLAGS)
tests_test_store_watch_LDADD = $(STORE_TEST_LDADD)
