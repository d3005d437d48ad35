/*
 * fuzz_util.c — the harnesses' scratch file (fuzz_util.h).
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/fuzz/fuzz_util.h"

const char *fz_file(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fickle-fuzz", MFD_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "fz_file: memfd_create: %s\n", strerror(errno));
            abort();
        }
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0) {
        fprintf(stderr, "fz_file: ftruncate %s: %s\n", path, strerror(errno));
        abort();
    }
    size_t off = 0;
    while (off < size) {
        ssize_t n = pwrite(fd, data + off, size - off, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "fz_file: pwrite %s: %s\n", path, n < 0 ? strerror(errno) : "wrote nothing");
            abort();
        }
        off += (size_t)n;
    }
    return path;
}
