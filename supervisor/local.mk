# supervisor/local.mk — fickled, the server binary: configuration, data
# directory, sockets, the children it forks (workers, persister) and the
# HTTP metrics/health endpoint (fk-metrics, a child of its own).
bin_PROGRAMS += supervisor/fickled
supervisor_fickled_SOURCES = \
	supervisor/supervisor.h \
	supervisor/main.c \
	supervisor/loop.c \
	supervisor/recovery.c \
	supervisor/fickled_config.h \
	supervisor/fickled_config.c \
	supervisor/datadir.h \
	supervisor/datadir.c \
	supervisor/listen.h \
	supervisor/listen.c \
	supervisor/children.h \
	supervisor/children.c \
	supervisor/metrics.h \
	supervisor/metrics.c \
	supervisor/metrics_text.c
supervisor_fickled_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(XXHASH_CFLAGS)
FICKLED_LIBS = frontend/libfickle_frontend.a frontend/libfickle_proto.a persister/libfickle_persist.a \
	common/libfickle_common.a
supervisor_fickled_LDADD = $(FICKLED_LIBS) store/libfickle_store.a $(PROTO_LIBS) $(LIBEVENT_LIBS) \
	$(STORE_LIBS) $(JEMALLOC_LIBS) -lm
