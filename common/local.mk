# common/local.mk — logging and the supervisor's shared runtime page: code
# every fickled process (supervisor, workers, persister) links.
noinst_LIBRARIES += common/libfickle_common.a
common_libfickle_common_a_SOURCES = \
	common/log.h \
	common/log.c \
	common/runtime.h \
	common/runtime.c
