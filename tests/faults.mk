# tests/faults.mk — fault injection: a test-only shim (tests/faultshim.c,
# LD_PRELOADed into the real fickled, never installed) makes write, pwrite,
# fsync, rename, open, ftruncate and mmap fail on demand; test_faults
# drives it (tests/faultctl.c) and checks what clients, the log and a
# restart see. The shim is built without the sanitizers: it is loaded
# first, before their runtime.
# A plain rule, not libtool: the aarch64 CI stage configures
# --disable-shared (qemu cannot run libtool's wrapper scripts), and the
# shim must be a shared object all the same.
tests/faultshim.so: $(srcdir)/tests/faultshim.c $(srcdir)/tests/faultshim.h config.h
	$(AM_V_CC)$(CC) $(DEFS) $(DEFAULT_INCLUDES) $(AM_CPPFLAGS) $(CPPFLAGS) -std=gnu11 -fPIC -shared \
	  -fvisibility=hidden $(WARN_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $(srcdir)/tests/faultshim.c -ldl
CLEANFILES += tests/faultshim.so
EXTRA_DIST += tests/faultshim.c tests/faultshim.h

check_PROGRAMS += tests/test_faults
TESTS += tests/test_faults
tests_test_faults_SOURCES = tests/test_faults.c tests/faultctl.h tests/faultctl.c tests/native_client.h \
	tests/native_client.c $(LOAD_UTIL_SOURCES) $(HARNESS_SOURCES)
tests_test_faults_CPPFLAGS = $(HARNESS_CPPFLAGS) -DFAULTSHIM_PATH='"$(abs_top_builddir)/tests/faultshim.so"'
tests_test_faults_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_faults_LDADD = $(CHECK_LIBS)
tests_test_faults_DEPENDENCIES = tests/faultshim.so
