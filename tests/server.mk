# tests/server.mk — integration tests: the real fickled, started in a
# temporary directory on free ports (tests/harness.c).
HARNESS_SOURCES = tests/harness.h tests/harness.c tests/exec_util.h tests/exec_util.c tests/robust_probe.h tests/robust_probe.c
HARNESS_CPPFLAGS = $(AM_CPPFLAGS) -DFICKLED_PATH='"$(abs_top_builddir)/supervisor/fickled"'

check_PROGRAMS += tests/test_server
TESTS += tests/test_server
tests_test_server_SOURCES = tests/test_server.c tests/native_client.h tests/native_client.c $(HARNESS_SOURCES)
tests_test_server_CPPFLAGS = $(HARNESS_CPPFLAGS)
tests_test_server_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_server_LDADD = $(CHECK_LIBS)
# (make check builds every program, fickled included, before it runs a test.)

check_PROGRAMS += tests/test_limits
TESTS += tests/test_limits
tests_test_limits_SOURCES = tests/test_limits.c tests/native_client.h tests/native_client.c $(HARNESS_SOURCES)
tests_test_limits_CPPFLAGS = $(HARNESS_CPPFLAGS)
tests_test_limits_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_limits_LDADD = $(CHECK_LIBS)

# fickled linked with the store's crash points (FICKLE_TEST_HOOKS): workers
# arm one from FICKLE_TEST_CRASH=<point>:<skip>. Never installed.
check_PROGRAMS += tests/fickled_test
tests_fickled_test_SOURCES = $(supervisor_fickled_SOURCES)
tests_fickled_test_CFLAGS = $(supervisor_fickled_CFLAGS)
tests_fickled_test_LDADD = $(FICKLED_LIBS) store/libfickle_store_test.a $(PROTO_LIBS) $(LIBEVENT_LIBS) \
	$(STORE_LIBS) $(JEMALLOC_LIBS) -lm

check_PROGRAMS += tests/test_crash_server
TESTS += tests/test_crash_server
tests_test_crash_server_SOURCES = tests/test_crash_server.c $(HARNESS_SOURCES)
tests_test_crash_server_CPPFLAGS = $(HARNESS_CPPFLAGS) -DFICKLED_TEST_PATH='"$(abs_top_builddir)/tests/fickled_test"'
tests_test_crash_server_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_crash_server_LDADD = $(CHECK_LIBS)

check_PROGRAMS += tests/test_native_server
TESTS += tests/test_native_server
tests_test_native_server_SOURCES = tests/test_native_server.c tests/native_client.h tests/native_client.c $(HARNESS_SOURCES)
tests_test_native_server_CPPFLAGS = $(HARNESS_CPPFLAGS)
tests_test_native_server_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_native_server_LDADD = $(CHECK_LIBS)

check_PROGRAMS += tests/test_client_server
TESTS += tests/test_client_server
tests_test_client_server_SOURCES = tests/test_client_server.c $(HARNESS_SOURCES)
tests_test_client_server_CPPFLAGS = $(HARNESS_CPPFLAGS) -DFICKLE_CLI_PATH='"$(abs_top_builddir)/client/fickle-cli"'
tests_test_client_server_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_client_server_LDADD = client/libfickle.la $(CHECK_LIBS)
