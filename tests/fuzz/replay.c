/*
 * replay.c — the regression side of the fuzzers: a Check program that
 * feeds every file of one harness's seed corpus (tests/fuzz/corpus/<name>/)
 * and of its crash regressions (tests/fuzz/regressions/<name>/) to that
 * harness's LLVMFuzzerTestOneInput, built with the normal compiler and no
 * libFuzzer. A harness that aborts (a failed check) or trips a sanitizer
 * fails the test. Built once per harness: FUZZ_NAME and FUZZ_DIR come from
 * tests/fuzz/fuzz.mk.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_util.h"

/* Reads a whole file into a malloc'd buffer of exactly its size, so that
 * the harness's reads past the end trip ASan as they would under libFuzzer. */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "fopen %s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
    }
    ck_assert_msg(!ferror(f), "fread %s: %s", path, strerror(errno));
    fclose(f);
    uint8_t *exact = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(exact);
    memcpy(exact, buf, n);
    free(buf);
    *len = n;
    return exact;
}

/* Replays every regular file of dir; returns how many. A missing dir
 * counts as empty. */
static unsigned replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        ck_assert_msg(errno == ENOENT, "opendir %s: %s", dir, strerror(errno));
        return 0;
    }
    unsigned n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        size_t len;
        uint8_t *data = slurp(path, &len);
        fprintf(stderr, "replay %s (%zu bytes)\n", path, len);
        LLVMFuzzerTestOneInput(data, len);
        free(data);
        n++;
    }
    closedir(d);
    return n;
}

START_TEST(corpus_replays)
{
    unsigned n = replay_dir(FUZZ_DIR "/corpus/" FUZZ_NAME);
    ck_assert_msg(n > 0, "no seed files in %s", FUZZ_DIR "/corpus/" FUZZ_NAME);
}
END_TEST

START_TEST(regressions_replay)
{
    unsigned n = replay_dir(FUZZ_DIR "/regressions/" FUZZ_NAME);
    fprintf(stderr, "%u regression files for %s\n", n, FUZZ_NAME);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fuzz-replay-" FUZZ_NAME);
    TCase *tc = tcase_create("replay");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, corpus_replays);
    tcase_add_test(tc, regressions_replay);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
