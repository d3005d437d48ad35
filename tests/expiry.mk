# tests/expiry.mk — expiry: the store's active sweep and counters (fake
# clock, crash points), and the real fickled's expiry (sweep, restarts,
# RESP forms compared with redis-server).
check_PROGRAMS += tests/test_expiry_store
TESTS += tests/test_expiry_store
tests_test_expiry_store_SOURCES = tests/test_expiry_store.c $(STORE_TEST_UTIL)
tests_test_expiry_store_CFLAGS = $(STORE_TEST_CFLAGS)
tests_test_expiry_store_LDADD = $(STORE_TEST_LDADD)

check_PROGRAMS += tests/test_expiry_resp tests/test_expiry_server
TESTS += tests/test_expiry_resp tests/test_expiry_server
tests_test_expiry_resp_SOURCES = tests/test_expiry_resp.c $(RESP_TEST_SOURCES)
tests_test_expiry_resp_CPPFLAGS = $(RESP_TEST_CPPFLAGS)
tests_test_expiry_resp_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_expiry_resp_LDADD = $(CHECK_LIBS)

tests_test_expiry_server_SOURCES = tests/test_expiry_server.c $(LOAD_UTIL_SOURCES) $(HARNESS_SOURCES)
tests_test_expiry_server_CPPFLAGS = $(HARNESS_CPPFLAGS)
tests_test_expiry_server_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_expiry_server_LDADD = $(CHECK_LIBS)
