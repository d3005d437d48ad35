# frontend/local.mk — the frontend's pure protocol layer: the command
# structure, RESP2 and native parsers, and reply encoders. No store, no
# sockets: tests and fuzzers link it alone.
noinst_LIBRARIES += frontend/libfickle_proto.a
frontend_libfickle_proto_a_SOURCES = \
	include/fickle/protocol.h \
	frontend/command.h \
	frontend/command.c \
	frontend/resp_parse.h \
	frontend/resp_parse.c \
	frontend/resp_command.c \
	frontend/resp_reply.h \
	frontend/resp_reply.c \
	frontend/native_parse.h \
	frontend/native_parse.c \
	frontend/native_reply.h \
	frontend/native_reply.c \
	frontend/native_txn.h \
	frontend/native_txn.c
frontend_libfickle_proto_a_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS)

# What a program linking the protocol library also needs.
PROTO_LIBS = $(LIBEVENT_LIBS) -lm

# The worker: event loop, connections, both protocols' glue and the
# executor. Reaches the region only through store/store.h.
noinst_LIBRARIES += frontend/libfickle_frontend.a
frontend_libfickle_frontend_a_SOURCES = \
	frontend/ops.h \
	frontend/ops.c \
	frontend/exec.h \
	frontend/exec.c \
	frontend/info.c \
	frontend/resp_exec.h \
	frontend/resp_exec.c \
	frontend/resp_exec_server.c \
	frontend/resp_proto.c \
	frontend/resp_multi.h \
	frontend/resp_multi.c \
	frontend/native_exec.c \
	frontend/native_txn_exec.h \
	frontend/native_txn_exec.c \
	frontend/proto.h \
	frontend/conn.h \
	frontend/conn.c \
	frontend/conn_io.h \
	frontend/conn_io.c \
	frontend/worker.h \
	frontend/worker.c \
	frontend/expire_tick.c
frontend_libfickle_frontend_a_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS)
