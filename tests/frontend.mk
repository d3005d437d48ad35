# tests/frontend.mk — unit tests of the frontend's protocol-independent parts.
check_PROGRAMS += tests/test_ops
TESTS += tests/test_ops
tests_test_ops_SOURCES = tests/test_ops.c frontend/ops.c frontend/ops.h
tests_test_ops_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_ops_LDADD = frontend/libfickle_proto.a store/libfickle_store.a $(STORE_LIBS) $(CHECK_LIBS) -lm
