# tests/protocol.mk — unit tests of the protocol layer (frontend/local.mk).
check_PROGRAMS += tests/test_resp_parse tests/test_native_parse
TESTS += tests/test_resp_parse tests/test_native_parse

tests_test_resp_parse_SOURCES = tests/test_resp_parse.c
tests_test_resp_parse_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBEVENT_CFLAGS)
tests_test_resp_parse_LDADD = frontend/libfickle_proto.a $(PROTO_LIBS) $(CHECK_LIBS)

tests_test_native_parse_SOURCES = tests/test_native_parse.c tests/doc_hex.h tests/doc_hex.c
tests_test_native_parse_CPPFLAGS = $(AM_CPPFLAGS) -DFICKLE_DOCS_DIR='"$(top_srcdir)/docs"'
tests_test_native_parse_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBEVENT_CFLAGS)
tests_test_native_parse_LDADD = frontend/libfickle_proto.a $(PROTO_LIBS) $(CHECK_LIBS)
