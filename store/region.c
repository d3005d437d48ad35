/*
 * region.c — create, validate, attach and close the shared region file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "store/alloc.h"
#include "store/hash.h"
#include "store/journal.h"
#include "store/sync.h"

typedef struct {
    uint64_t journal_off, bitmap_off, pagedesc_off, arena_off, arena_pages, ring_off;
} geometry_t;

static uint64_t round_page(uint64_t n)
{
    return (n + STORE_PAGE - 1) & ~(uint64_t)(STORE_PAGE - 1);
}

/* The layout is a pure function of the size and the ring size: attach
 * recomputes it and compares, so a header that lies about its offsets is
 * refused. The ring takes the region's last ring_size bytes. */
static bool compute_geometry(uint64_t size, uint64_t ring_size, geometry_t *g)
{
    if (ring_size % STORE_PAGE || ring_size > size / 2)
        return false;
    size -= ring_size;
    g->ring_off = size;
    g->journal_off = round_page(sizeof(region_hdr_t));
    g->bitmap_off = g->journal_off + round_page((uint64_t)STORE_JOURNAL_CAP * sizeof(journal_entry_t));
    uint64_t pages = size / STORE_PAGE; /* upper bound, shrunk below */
    for (;;) {
        g->pagedesc_off = g->bitmap_off + round_page((pages + 63) / 64 * 8);
        g->arena_off = g->pagedesc_off + round_page(pages);
        if (g->arena_off < size && (size - g->arena_off) / STORE_PAGE >= pages)
            break;
        if (g->arena_off >= size)
            return false;
        pages = (size - g->arena_off) / STORE_PAGE;
    }
    g->arena_pages = pages;
    return pages >= 64;
}

static void bind_geometry(struct store *st)
{
    region_hdr_t *h = st->hdr;
    st->journal = (journal_entry_t *)(st->base + h->journal_off);
    st->bitmap = (uint64_t *)(st->base + h->bitmap_off);
    st->pagedesc = (uint8_t *)(st->base + h->pagedesc_off);
    st->arena_off = h->arena_off;
    st->arena_pages = h->arena_pages;
    st->max_value = h->max_value_size;
    st->ring_off = h->ring_off;
    st->ring_size = h->ring_size;
    /* No walk can visit more items than fit in the region. */
    st->max_steps = st->size / 32 + STORE_MAX_LEVEL * 4;
}

static uint64_t realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static store_t *handle_new(const char *path, int fd, void *base, uint64_t size)
{
    store_t *st = calloc(1, sizeof(*st));
    if (st == NULL || (st->path = strdup(path)) == NULL) {
        free(st);
        return NULL;
    }
    st->fd = fd;
    st->base = base;
    st->size = size;
    st->hdr = base;
    st->clock = realtime_ms;
    st->ring_wait_ms = 2000;
    return st;
}

void store_reset_locked(struct store *st)
{
    region_hdr_t *h = st->hdr;
    alloc_reset(st);
    h->items = 0;
    h->expires = h->expiry_sum_s = 0;
    memset(h->sl_head, 0, sizeof(h->sl_head));
    h->sl_level = 1;
    /* Every key may have gone: WATCH compares against this. A plain store
     * (create, or a clear that is redone, never undone). */
    h->clear_lsn = h->next_lsn;
    hash_reset(st); /* cannot fail: the arena holds at least 64 pages */
}

static store_err_t init_header(store_t *st, const store_options_t *opt, const geometry_t *g)
{
    region_hdr_t *h = st->hdr;
    memset(h, 0, sizeof(*h));
    h->layout_version = STORE_LAYOUT_VERSION;
    h->page_size = STORE_PAGE;
    h->region_size = st->size;
    h->journal_off = g->journal_off;
    h->bitmap_off = g->bitmap_off;
    h->pagedesc_off = g->pagedesc_off;
    h->arena_off = g->arena_off;
    h->arena_pages = g->arena_pages;
    h->ring_off = g->ring_off;
    h->ring_size = opt->ring_size;
    h->max_value_size = opt->max_value_size ? opt->max_value_size : STORE_DEFAULT_MAX_VALUE;
    h->created_ms = realtime_ms();
    h->state = REGION_STATE_DIRTY;
    h->nclasses = alloc_init_classes(h);
    store_err_t err = sync_init(h);
    if (err != STORE_OK)
        return err;
    bind_geometry(st);
    store_reset_locked(st);
    journal_commit(st);
    /* Magic last: a creator that dies half-way leaves a region that
     * attach refuses instead of one that looks valid. */
    atomic_thread_fence(memory_order_release);
    ST64(&h->magic, STORE_MAGIC);
    return STORE_OK;
}

static store_err_t check_options(const store_options_t *opt)
{
    if (opt == NULL)
        return store_fail(STORE_INVALID, "no region options given");
    if (opt->size < STORE_MIN_REGION || opt->size > STORE_MAX_REGION)
        return store_fail(STORE_INVALID, "region size %llu out of range (%llu..%llu bytes)",
                          (unsigned long long)opt->size, (unsigned long long)STORE_MIN_REGION,
                          (unsigned long long)STORE_MAX_REGION);
    if (opt->size % STORE_PAGE)
        return store_fail(STORE_INVALID, "region size %llu is not a multiple of %u",
                          (unsigned long long)opt->size, STORE_PAGE);
    if (opt->max_value_size > STORE_MAX_VALUE_LIMIT)
        return store_fail(STORE_INVALID, "max value size %llu over the limit of %u bytes",
                          (unsigned long long)opt->max_value_size, STORE_MAX_VALUE_LIMIT);
    uint64_t maxv = opt->max_value_size ? opt->max_value_size : STORE_DEFAULT_MAX_VALUE;
    if (opt->ring_size && (opt->ring_size % STORE_PAGE || opt->ring_size > opt->size / 2 ||
                           opt->ring_size < store_ring_min(maxv)))
        return store_fail(STORE_INVALID,
                          "change ring of %llu bytes: it must be a multiple of %u, at most half the region, "
                          "and at least %llu bytes to hold a %llu-byte value",
                          (unsigned long long)opt->ring_size, STORE_PAGE,
                          (unsigned long long)store_ring_min(maxv), (unsigned long long)maxv);
    return STORE_OK;
}

uint64_t store_ring_min(uint64_t max_value_size)
{
    /* A record with the largest value and key, twice (ring_need), and
     * twice again: ring_check_room wants a single change in half the ring. */
    uint64_t rec = RECORD_HEADER_SIZE + 4 + 1 + RECORD_PUT_FIXED + STORE_MAX_KEY + max_value_size;
    return round_page(4 * ((rec + 7) & ~7ull));
}

static store_err_t check_space(const char *path, int fd, uint64_t size)
{
    struct statvfs vfs;
    if (fstatvfs(fd, &vfs) != 0)
        return store_fail(STORE_IO, "fstatvfs %s: %s", path, strerror(errno));
    uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    if (avail < size)
        return store_fail(STORE_NOMEM,
                          "%s: the file system has %llu bytes free, the region needs %llu "
                          "(grow /dev/shm or lower --memory)",
                          path, (unsigned long long)avail, (unsigned long long)size);
    return STORE_OK;
}

store_err_t store_create(const char *path, const store_options_t *opt, store_t **out)
{
    *out = NULL;
    store_err_t err = check_options(opt);
    geometry_t g;
    if (err != STORE_OK)
        return err;
    if (!compute_geometry(opt->size, opt->ring_size, &g))
        return store_fail(STORE_INVALID, "region size %llu too small", (unsigned long long)opt->size);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return store_fail(STORE_IO, "open %s (create): %s", path, strerror(errno));
    err = check_space(path, fd, opt->size);
    if (err == STORE_OK && ftruncate(fd, (off_t)opt->size) != 0)
        err = store_fail(STORE_IO, "ftruncate %s to %llu: %s", path, (unsigned long long)opt->size, strerror(errno));
    void *base = MAP_FAILED;
    if (err == STORE_OK) {
        base = mmap(NULL, opt->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (base == MAP_FAILED)
            err = store_fail(STORE_IO, "mmap %s (%llu bytes): %s", path, (unsigned long long)opt->size, strerror(errno));
    }
    store_t *st = NULL;
    if (err == STORE_OK && (st = handle_new(path, fd, base, opt->size)) == NULL)
        err = store_fail(STORE_NOMEM, "out of process memory");
    if (err == STORE_OK)
        err = init_header(st, opt, &g);
    if (err != STORE_OK) {
        if (base != MAP_FAILED)
            munmap(base, opt->size);
        if (st) {
            free(st->path);
            free(st);
        }
        close(fd);
        unlink(path);
        return err;
    }
    *out = st;
    return STORE_OK;
}

/* Refuses anything but a region of this layout whose recorded geometry is
 * exactly what its size implies. */
static store_err_t validate_header(const char *path, const region_hdr_t *h, uint64_t file_size)
{
    if (h->magic != STORE_MAGIC)
        return store_fail(STORE_CORRUPT, "%s: not a fickle region (bad magic)", path);
    if (h->layout_version != STORE_LAYOUT_VERSION)
        return store_fail(STORE_CORRUPT, "%s: region layout version %u, this build reads version %u", path,
                          h->layout_version, STORE_LAYOUT_VERSION);
    if (h->region_size != file_size)
        return store_fail(STORE_CORRUPT, "%s: header says %llu bytes but the file has %llu (truncated?)", path,
                          (unsigned long long)h->region_size, (unsigned long long)file_size);
    geometry_t g;
    if (h->page_size != STORE_PAGE || !compute_geometry(file_size, h->ring_size, &g) ||
        g.journal_off != h->journal_off || g.bitmap_off != h->bitmap_off || g.pagedesc_off != h->pagedesc_off ||
        g.arena_off != h->arena_off || g.arena_pages != h->arena_pages || g.ring_off != h->ring_off)
        return store_fail(STORE_CORRUPT, "%s: region geometry does not match its size", path);
    region_hdr_t probe;
    if (h->nclasses != alloc_init_classes(&probe) || h->max_value_size > STORE_MAX_VALUE_LIMIT ||
        h->max_value_size == 0)
        return store_fail(STORE_CORRUPT, "%s: region header fields out of range", path);
    return STORE_OK;
}

store_err_t store_attach(const char *path, store_t **out)
{
    *out = NULL;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return store_fail(STORE_IO, "open %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return store_fail(STORE_IO, "fstat %s: %s", path, strerror(e));
    }
    uint64_t size = (uint64_t)sb.st_size;
    if (size < STORE_MIN_REGION || size > STORE_MAX_REGION) {
        close(fd);
        return store_fail(STORE_CORRUPT, "%s: %llu bytes is no valid region size (truncated?)", path,
                          (unsigned long long)size);
    }
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        int e = errno;
        close(fd);
        return store_fail(STORE_IO, "mmap %s: %s", path, strerror(e));
    }
    store_err_t err = validate_header(path, base, size);
    store_t *st = NULL;
    if (err == STORE_OK && (st = handle_new(path, fd, base, size)) == NULL)
        err = store_fail(STORE_NOMEM, "out of process memory");
    if (err != STORE_OK) {
        munmap(base, size);
        close(fd);
        return err;
    }
    bind_geometry(st);
    *out = st;
    return STORE_OK;
}

void store_close(store_t *st)
{
    if (st == NULL)
        return;
    if (st->in_write) {
        /* A section left open would keep the mutex held by a live process
         * (no owner-death repair): undo it and let the next writer in. */
        store_log(0, "store_close %s inside a critical section: rolled back", st->path);
        store_write_abort(st);
    }
    if (munmap(st->base, st->size) != 0)
        store_log(0, "munmap %s: %s", st->path, strerror(errno));
    if (close(st->fd) != 0)
        store_log(0, "close %s: %s", st->path, strerror(errno));
    free(st->pending);
    free(st->scan_nodes);
    free(st->path);
    record_buf_free(&st->sec_ops);
    free(st);
}

int store_unlink(const char *path)
{
    return unlink(path);
}

void store_set_clock(store_t *st, store_clock_fn fn)
{
    st->clock = fn ? fn : realtime_ms;
}

uint64_t store_now_ms(const store_t *st)
{
    return st->clock();
}
