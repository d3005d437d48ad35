/*
 * doc_hex.c — the hex-block reader of doc_hex.h.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/doc_hex.h"

size_t doc_hex(const char *path, const char *name, uint8_t *out, size_t cap)
{
    FILE *fp = fopen(path, "r");
    ck_assert_msg(fp != NULL, "cannot open %s", path);
    char marker[64], line[512];
    snprintf(marker, sizeof(marker), "<!-- hex:%s -->", name);
    int state = 0; /* 0 looking for marker, 1 for the fence, 2 in the block */
    size_t n = 0;
    while (fgets(line, sizeof(line), fp)) {
        if (state == 0 && strstr(line, marker))
            state = 1;
        else if (state == 1 && strncmp(line, "```", 3) == 0)
            state = 2;
        else if (state == 2 && strncmp(line, "```", 3) == 0)
            break;
        else if (state == 2) {
            char *hash = strchr(line, '#');
            if (hash)
                *hash = '\0';
            for (char *tok = strtok(line, " \t\n"); tok; tok = strtok(NULL, " \t\n")) {
                ck_assert_uint_lt(n, cap);
                out[n++] = (uint8_t)strtoul(tok, NULL, 16);
            }
        }
    }
    fclose(fp);
    ck_assert_msg(state == 2, "no hex block %s in %s", name, path);
    return n;
}
