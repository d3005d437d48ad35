# tests/server.mk — integration tests: the real fickled, started in a
# temporary directory on free ports (tests/harness.c).
HARNESS_SOURCES = tests/harness.h tests/harness.c
HARNESS_CPPFLAGS = $(AM_CPPFLAGS) -DFICKLED_PATH='"$(abs_top_builddir)/supervisor/fickled"'

check_PROGRAMS += tests/test_server
TESTS += tests/test_server
tests_test_server_SOURCES = tests/test_server.c tests/native_client.h tests/native_client.c $(HARNESS_SOURCES)
tests_test_server_CPPFLAGS = $(HARNESS_CPPFLAGS)
tests_test_server_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_server_LDADD = $(CHECK_LIBS)
# (make check builds every program, fickled included, before it runs a test.)
