# tests/faults.mk — fault injection: a test-only shim (tests/faultshim.c,
# LD_PRELOADed into the real fickled, never installed) makes write, pwrite,
# fsync, rename, open, ftruncate and mmap fail on demand; test_faults
# drives it (tests/faultctl.c) and checks what clients, the log and a
# restart see. The shim is built without the sanitizers: it is loaded
# first, before their runtime.
check_LTLIBRARIES = tests/libfaultshim.la
tests_libfaultshim_la_SOURCES = tests/faultshim.c tests/faultshim.h
tests_libfaultshim_la_CPPFLAGS = $(AM_CPPFLAGS)
tests_libfaultshim_la_CFLAGS = -std=gnu11 -fvisibility=hidden $(WARN_CFLAGS)
tests_libfaultshim_la_LDFLAGS = -module -avoid-version -shared -rpath $(abs_builddir)/tests
tests_libfaultshim_la_LIBADD = -ldl

check_PROGRAMS += tests/test_faults
TESTS += tests/test_faults
tests_test_faults_SOURCES = tests/test_faults.c tests/faultctl.h tests/faultctl.c tests/native_client.h \
	tests/native_client.c $(LOAD_UTIL_SOURCES) $(HARNESS_SOURCES)
tests_test_faults_CPPFLAGS = $(HARNESS_CPPFLAGS) -DFAULTSHIM_PATH='"$(abs_top_builddir)/tests/.libs/libfaultshim.so"'
tests_test_faults_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_faults_LDADD = $(CHECK_LIBS)
