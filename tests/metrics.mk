# tests/metrics.mk — the HTTP metrics/health endpoint (--metrics-port) of
# the real fickled: exposition format, values, health rules, limits.
check_PROGRAMS += tests/test_metrics
TESTS += tests/test_metrics
tests_test_metrics_SOURCES = tests/test_metrics.c $(HARNESS_SOURCES)
tests_test_metrics_CPPFLAGS = $(HARNESS_CPPFLAGS)
tests_test_metrics_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBEVENT_CFLAGS)
tests_test_metrics_LDADD = $(CHECK_LIBS)
