/*
 * exec_util.c — run binaries built here through an emulator when the tests
 * ask for one, and scale waits for slow (emulated) runs. See exec_util.h.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/exec_util.h"

#define MAX_WRAP_WORDS 8
#define MAX_ARGS 128

int fk_execv(const char *path, const char *const *argv)
{
    const char *wrap = getenv("FICKLE_TEST_EXEC");
    if (wrap == NULL || *wrap == '\0')
        return execv(path, (char *const *)argv);
    char words[256];
    if (strlen(wrap) >= sizeof(words)) {
        errno = E2BIG;
        return -1;
    }
    strcpy(words, wrap);
    const char *nargv[MAX_ARGS];
    size_t n = 0;
    for (char *save = NULL, *w = strtok_r(words, " ", &save); w && n < MAX_WRAP_WORDS;
         w = strtok_r(NULL, " ", &save))
        nargv[n++] = w;
    nargv[n++] = path; /* the emulator runs path, with argv[1..] */
    for (size_t i = 1; argv[0] && argv[i]; i++) {
        if (n + 1 >= MAX_ARGS) {
            errno = E2BIG;
            return -1;
        }
        nargv[n++] = argv[i];
    }
    nargv[n] = NULL;
    return execvp(nargv[0], (char *const *)nargv);
}

int fk_slow_factor(void)
{
    const char *s = getenv("FICKLE_TEST_SLOW");
    char *end;
    long f = s ? strtol(s, &end, 10) : 1;
    if (s == NULL || *s == '\0' || *end != '\0' || f < 1 || f > 100)
        return 1;
    return (int)f;
}

int fk_slow_ms(int ms)
{
    long long v = (long long)ms * fk_slow_factor();
    return v > INT_MAX ? INT_MAX : (int)v;
}
