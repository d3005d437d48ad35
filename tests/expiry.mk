# tests/expiry.mk — expiry: the store's active sweep and counters (fake
# clock, crash points), and the real fickled's expiry (sweep, restarts,
# RESP forms compared with redis-server).
check_PROGRAMS += tests/test_expiry_store
TESTS += tests/test_expiry_store
tests_test_expiry_store_SOURCES = tests/test_expiry_store.c $(STORE_TEST_UTIL)
tests_test_expiry_store_CFLAGS = $(STORE_TEST_CFLAGS)
tests_test_expiry_store_LDADD = $(STORE_TEST_LDADD)
