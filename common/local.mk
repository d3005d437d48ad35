# common/local.mk — logging, the supervisor's shared runtime page and the
# figures gathered from it (stats.c): code every fickled process
# (supervisor, workers, persister) links.
noinst_LIBRARIES += common/libfickle_common.a
common_libfickle_common_a_SOURCES = \
	common/log.h \
	common/log.c \
	common/runtime.h \
	common/runtime.c \
	common/stats.h \
	common/stats.c
