# bench/expiry.mk — mass expiry against redis-server (make bench-expiry):
# a million keys expiring in one second, request latency meanwhile and the
# time until they are gone. Not part of make check (a minute or more).
EXTRA_DIST += bench/expiry_bench.sh

# The probe client reuses the tests' RESP client (tests/harness.c).
EXTRA_PROGRAMS += bench/expiry_probe
bench_expiry_probe_SOURCES = bench/expiry_probe.c $(HARNESS_SOURCES)
bench_expiry_probe_CPPFLAGS = $(HARNESS_CPPFLAGS)
bench_expiry_probe_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
bench_expiry_probe_LDADD = $(CHECK_LIBS)
CLEANFILES += bench/expiry_probe$(EXEEXT)

.PHONY: bench-expiry
bench-expiry: supervisor/fickled bench/expiry_probe$(EXEEXT)
	FICKLED=$(abs_top_builddir)/supervisor/fickled PROBE=$(abs_top_builddir)/bench/expiry_probe$(EXEEXT) \
	  $(SHELL) $(srcdir)/bench/expiry_bench.sh
