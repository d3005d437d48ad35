# tests/resp.mk — RESP command semantics and Redis client compatibility against the real fickled.
# Each program compares fickled's replies with a redis-server it starts itself
# (skipped if absent); test_resp_commands also runs redis-py and redis-benchmark.
RESP_TEST_CPPFLAGS = $(HARNESS_CPPFLAGS) -DABS_TOP_SRCDIR='"$(abs_top_srcdir)"'
RESP_TEST_SOURCES = tests/resp_check.h tests/resp_check.c $(HARNESS_SOURCES)

check_PROGRAMS += tests/test_resp_commands tests/test_resp_keys
TESTS += tests/test_resp_commands tests/test_resp_keys
EXTRA_DIST += tests/redis_py_compat.py

tests_test_resp_commands_SOURCES = tests/test_resp_commands.c $(RESP_TEST_SOURCES)
tests_test_resp_commands_CPPFLAGS = $(RESP_TEST_CPPFLAGS)
tests_test_resp_commands_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_resp_commands_LDADD = $(CHECK_LIBS)

tests_test_resp_keys_SOURCES = tests/test_resp_keys.c $(RESP_TEST_SOURCES)
tests_test_resp_keys_CPPFLAGS = $(RESP_TEST_CPPFLAGS)
tests_test_resp_keys_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_resp_keys_LDADD = $(CHECK_LIBS)
