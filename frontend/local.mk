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
	frontend/native_reply.c
frontend_libfickle_proto_a_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS)

# What a program linking the protocol library also needs.
PROTO_LIBS = $(LIBEVENT_LIBS) -lm
