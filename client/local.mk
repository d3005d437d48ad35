# client/local.mk — libfickle (native-protocol client library, installed with
# its headers and a pkg-config file) and fickle-cli. libfickle depends on
# nothing but libc; only fickle_* symbols are exported.
lib_LTLIBRARIES += client/libfickle.la
client_libfickle_la_SOURCES = \
	client/internal.h \
	client/conn.c \
	client/request.c \
	client/reply.c \
	client/ops.c \
	client/txn.c
client_libfickle_la_LDFLAGS = $(AM_LDFLAGS) -version-info 0:0:0 -export-symbols-regex '^fickle_[a-z]'

fickleincludedir = $(includedir)/fickle
fickleinclude_HEADERS = include/fickle/client.h include/fickle/protocol.h

pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = client/fickle.pc
EXTRA_DIST += client/fickle.pc.in

bin_PROGRAMS += client/fickle-cli
client_fickle_cli_SOURCES = client/cli.h client/fickle-cli.c client/cli_cmds.c
client_fickle_cli_CFLAGS = $(AM_CFLAGS) $(LIBEDIT_CFLAGS)
client_fickle_cli_LDADD = client/libfickle.la $(LIBEDIT_LIBS)

# Tests: the library and the CLI against an in-process fake server built on
# frontend's parser and encoders (tests/fake_server.c).
check_PROGRAMS += tests/test_client tests/test_cli
TESTS += tests/test_client tests/test_cli
FAKE_SERVER_SOURCES = tests/fake_server.h tests/fake_server.c
tests_test_client_SOURCES = tests/test_client.c $(FAKE_SERVER_SOURCES)
tests_test_client_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBEVENT_CFLAGS)
tests_test_client_LDADD = client/libfickle.la frontend/libfickle_proto.a $(PROTO_LIBS) $(CHECK_LIBS)

tests_test_cli_SOURCES = tests/test_cli.c tests/exec_util.h tests/exec_util.c $(FAKE_SERVER_SOURCES)
tests_test_cli_CPPFLAGS = $(AM_CPPFLAGS) -DFICKLE_CLI_PATH='"$(abs_top_builddir)/client/fickle-cli"'
tests_test_cli_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBEVENT_CFLAGS)
tests_test_cli_LDADD = frontend/libfickle_proto.a $(PROTO_LIBS) $(CHECK_LIBS)
