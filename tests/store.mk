# tests/store.mk — unit, model, stress and crash tests of the store library.
# Every program links the test build of the store (crash points compiled in,
# FICKLE_TEST_HOOKS) and the shared helpers in tests/store_testutil.c.
STORE_TESTS = \
	tests/test_store_unit \
	tests/test_store_range \
	tests/test_store_write \
	tests/test_store_model \
	tests/test_store_stress \
	tests/test_store_crash
check_PROGRAMS += $(STORE_TESTS)
TESTS += $(STORE_TESTS)

STORE_TEST_UTIL = tests/store_testutil.c tests/store_testutil.h tests/robust_probe.c tests/robust_probe.h
STORE_TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(XXHASH_CFLAGS)
STORE_TEST_LDADD = store/libfickle_store_test.a $(STORE_LIBS) $(CHECK_LIBS)

tests_test_store_unit_SOURCES = tests/test_store_unit.c $(STORE_TEST_UTIL)
tests_test_store_unit_CFLAGS = $(STORE_TEST_CFLAGS)
tests_test_store_unit_LDADD = $(STORE_TEST_LDADD)

tests_test_store_range_SOURCES = tests/test_store_range.c $(STORE_TEST_UTIL)
tests_test_store_range_CFLAGS = $(STORE_TEST_CFLAGS)
tests_test_store_range_LDADD = $(STORE_TEST_LDADD)

tests_test_store_write_SOURCES = tests/test_store_write.c $(STORE_TEST_UTIL)
tests_test_store_write_CFLAGS = $(STORE_TEST_CFLAGS)
tests_test_store_write_LDADD = $(STORE_TEST_LDADD)

tests_test_store_model_SOURCES = tests/test_store_model.c $(STORE_TEST_UTIL)
tests_test_store_model_CFLAGS = $(STORE_TEST_CFLAGS)
tests_test_store_model_LDADD = $(STORE_TEST_LDADD)

tests_test_store_stress_SOURCES = tests/test_store_stress.c $(STORE_TEST_UTIL)
tests_test_store_stress_CFLAGS = $(STORE_TEST_CFLAGS)
tests_test_store_stress_LDADD = $(STORE_TEST_LDADD)

tests_test_store_crash_SOURCES = tests/test_store_crash.c $(STORE_TEST_UTIL)
tests_test_store_crash_CFLAGS = $(STORE_TEST_CFLAGS)
tests_test_store_crash_LDADD = $(STORE_TEST_LDADD)
