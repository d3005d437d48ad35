# tests/expiry_sweep.mk — the sweep's removals in key order with group
# searched preds: same preds as a head search, scattered expired keys,
# a removal failing mid-batch.
check_PROGRAMS += tests/test_expiry_sweep
TESTS += tests/test_expiry_sweep
tests_test_expiry_sweep_SOURCES = tests/test_expiry_sweep.c $(STORE_TEST_UTIL)
tests_test_expiry_sweep_CFLAGS = $(STORE_TEST_CFLAGS)
tests_test_expiry_sweep_LDADD = $(STORE_TEST_LDADD)
