# tests/abuse.mk — hostile clients and security defaults, against the real
# fickled (tests/harness.c).

check_PROGRAMS += tests/test_abuse
TESTS += tests/test_abuse
tests_test_abuse_SOURCES = tests/test_abuse.c tests/native_client.h tests/native_client.c $(HARNESS_SOURCES)
tests_test_abuse_CPPFLAGS = $(HARNESS_CPPFLAGS)
tests_test_abuse_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_abuse_LDADD = $(CHECK_LIBS)

check_PROGRAMS += tests/test_security
TESTS += tests/test_security
tests_test_security_SOURCES = tests/test_security.c tests/native_client.h tests/native_client.c $(HARNESS_SOURCES)
tests_test_security_CPPFLAGS = $(HARNESS_CPPFLAGS)
tests_test_security_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_security_LDADD = $(CHECK_LIBS)
