# tests/txn.mk — the native TXN (docs/protocol.md, TXN): the body parser
# alone, libfickle and fickle-cli against the real fickled, isolation and
# crash tests.
check_PROGRAMS += tests/test_txn_parse
TESTS += tests/test_txn_parse
tests_test_txn_parse_SOURCES = tests/test_txn_parse.c tests/doc_hex.h tests/doc_hex.c
tests_test_txn_parse_CPPFLAGS = $(AM_CPPFLAGS) -DFICKLE_DOCS_DIR='"$(top_srcdir)/docs"'
tests_test_txn_parse_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBEVENT_CFLAGS)
tests_test_txn_parse_LDADD = client/libfickle.la frontend/libfickle_proto.a $(PROTO_LIBS) $(CHECK_LIBS)

# libfickle against the real fickled (HARNESS_*, LOAD_UTIL_SOURCES: tests/server.mk, tests/persist_server.mk).
check_PROGRAMS += tests/test_txn_server
TESTS += tests/test_txn_server
tests_test_txn_server_SOURCES = tests/test_txn_server.c $(LOAD_UTIL_SOURCES) $(HARNESS_SOURCES)
tests_test_txn_server_CPPFLAGS = $(HARNESS_CPPFLAGS) -DFICKLED_TEST_PATH='"$(abs_top_builddir)/tests/fickled_test"'
tests_test_txn_server_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_txn_server_LDADD = client/libfickle.la $(CHECK_LIBS)

# libFuzzer target for the TXN body parser, built by hand (see the command at the top of the file).
EXTRA_DIST += tests/fuzz_txn.c
