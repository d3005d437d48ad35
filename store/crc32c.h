/*
 * crc32c.h — CRC32C (Castagnoli, the iSCSI CRC of RFC 3720), the checksum
 * of every log record, segment header and snapshot block.
 *
 * Computed by Intel ISA-L's crc32_iscsi (Debian: libisal-dev), which picks
 * the CPU's CRC instructions at run time: SSE4.2 and PCLMUL on x86-64,
 * the ARMv8 CRC32 extension on arm64 (Cortex-A72 has its own path), and a
 * table elsewhere. This wrapper gives it the usual conventions.
 */
#ifndef FICKLE_STORE_CRC32C_H
#define FICKLE_STORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends crc (0 to start) over len bytes at buf and returns the new value,
 * pre- and post-inverted as standard, so that
 * crc32c(crc32c(0, a, n), b, m) == crc32c(0, a followed by b, n + m) and
 * crc32c(0, "123456789", 9) == 0xE3069283. buf may be NULL when len is 0.
 * Cannot fail. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif
