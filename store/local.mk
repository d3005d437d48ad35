# store/local.mk — the shared-region store library, linked by every process.
# Two builds of one source: the production library, and a test build with
# crash points compiled in (FICKLE_TEST_HOOKS) for the crash tests.
STORE_SOURCES = \
	store/store.h \
	store/layout.h \
	store/region.c \
	store/sync.h \
	store/sync.c \
	store/journal.h \
	store/journal.c \
	store/alloc.h \
	store/alloc.c \
	store/hash.h \
	store/hash.c \
	store/skiplist.h \
	store/skiplist.c \
	store/prefetch.c \
	store/item.h \
	store/read.h \
	store/read.c \
	store/write.c \
	store/expire.h \
	store/expire.c \
	store/range.c \
	store/check.c \
	store/util.c \
	store/crc32c.h \
	store/crc32c.c \
	store/record.h \
	store/record.c \
	store/ring.h \
	store/ring.c \
	store/replay.h \
	store/replay.c

noinst_LIBRARIES += store/libfickle_store.a store/libfickle_store_test.a
store_libfickle_store_a_SOURCES = $(STORE_SOURCES)
store_libfickle_store_a_CFLAGS = $(AM_CFLAGS) $(XXHASH_CFLAGS) $(ISAL_CFLAGS)
store_libfickle_store_test_a_SOURCES = $(STORE_SOURCES)
store_libfickle_store_test_a_CPPFLAGS = $(AM_CPPFLAGS) -DFICKLE_TEST_HOOKS
store_libfickle_store_test_a_CFLAGS = $(AM_CFLAGS) $(XXHASH_CFLAGS) $(ISAL_CFLAGS)

# What a program linking the store also needs.
STORE_LIBS = $(XXHASH_LIBS) $(ISAL_LIBS)
