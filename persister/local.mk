# persister/local.mk — the persister's on-disk formats (CRC32C, log records,
# log segments, snapshots): a library the persister process, recovery and
# `fickled --check` link. No store, no ring: tests and fuzzers link it alone.
noinst_LIBRARIES += persister/libfickle_persist.a
persister_libfickle_persist_a_SOURCES = \
	persister/crc32c.h \
	persister/crc32c.c \
	persister/record.h \
	persister/record.c \
	persister/pio.h \
	persister/pio.c \
	persister/segment.h \
	persister/segment.c \
	persister/snapshot.h \
	persister/snapshot.c
persister_libfickle_persist_a_CFLAGS = $(AM_CFLAGS) $(ISAL_CFLAGS)

# What a program linking the persister library also needs.
PERSIST_LIBS = $(ISAL_LIBS)
