# persister/local.mk — the persister's on-disk files (log segments,
# snapshots; the record codec and CRC32C are in store/, which writes records
# into its change ring): a library the persister process, recovery and
# `fickled --check` link, on top of the store library.
noinst_LIBRARIES += persister/libfickle_persist.a
persister_libfickle_persist_a_SOURCES = \
	persister/pio.h \
	persister/pio.c \
	persister/segment.h \
	persister/segment.c \
	persister/snapshot.h \
	persister/snapshot.c
persister_libfickle_persist_a_CFLAGS = $(AM_CFLAGS) $(ISAL_CFLAGS)

# What a program linking the persister library also needs.
PERSIST_LIBS = $(ISAL_LIBS)

# The persister process's loop and the log directory scan (recovery,
# `fickled --check`), linked into fickled.
persister_libfickle_persist_a_SOURCES += \
	persister/logscan.h \
	persister/logscan.c \
	persister/persister.h \
	persister/persister.c

# Snapshots of the live store: taking and loading them (snaptake), and the
# persister's snapshot thread (snapper).
persister_libfickle_persist_a_SOURCES += \
	persister/snaptake.h \
	persister/snaptake.c \
	persister/snapper.h \
	persister/snapper.c
