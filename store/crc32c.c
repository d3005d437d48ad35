/*
 * crc32c.c — CRC32C through ISA-L (see crc32c.h for why a library).
 */
#include "config.h"

#include <isa-l/crc.h>

#include "store/crc32c.h"

/* crc32_iscsi takes an int length: feed it at most 1 GiB at a time. */
#define CRC_STEP ((size_t)1 << 30)

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
    /* crc32_iscsi neither inverts its seed nor its result; the caller's crc
     * is the finished (inverted) value of the bytes so far. */
    unsigned int c = ~crc;
    unsigned char *p = (unsigned char *)(uintptr_t)buf; /* ISA-L only reads it */
    while (len > 0) {
        size_t n = len < CRC_STEP ? len : CRC_STEP;
        c = crc32_iscsi(p, (int)n, c);
        p += n;
        len -= n;
    }
    return ~c;
}
