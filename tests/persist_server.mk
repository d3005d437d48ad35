# tests/persist_server.mk — durability tests of the real fickled: process
# groups, the persister and the ring under SIGKILL/SIGSTOP, and damaged
# logs (HARNESS_* come from tests/server.mk). tests/load_util.c is the
# write-load generator shared with tests/test_crash_server.
LOAD_UTIL_SOURCES = tests/load_util.h tests/load_util.c
tests_test_crash_server_SOURCES += $(LOAD_UTIL_SOURCES)

check_PROGRAMS += tests/test_persist_server
TESTS += tests/test_persist_server
tests_test_persist_server_SOURCES = tests/test_persist_server.c $(LOAD_UTIL_SOURCES) $(HARNESS_SOURCES)
tests_test_persist_server_CPPFLAGS = $(HARNESS_CPPFLAGS)
tests_test_persist_server_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_persist_server_LDADD = $(CHECK_LIBS)

check_PROGRAMS += tests/test_persist_damage
TESTS += tests/test_persist_damage
tests_test_persist_damage_SOURCES = tests/test_persist_damage.c $(LOAD_UTIL_SOURCES) $(HARNESS_SOURCES)
tests_test_persist_damage_CPPFLAGS = $(HARNESS_CPPFLAGS)
tests_test_persist_damage_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_persist_damage_LDADD = $(CHECK_LIBS)
