/*
 * client/fickle-cli.c — fickle-cli, the command-line client of fickle's
 * native protocol: options, the (lazy, re-)connection, one-shot mode
 * (`fickle-cli get k`) and interactive mode (libedit when built with it,
 * else plain stdio), with Redis-like quoting of words. The commands
 * themselves are in cli_cmds.c; usage is in docs/client.md.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_LIBEDIT
#include <editline/readline.h>
#endif

#include "client/cli.h"

static void usage(FILE *f)
{
    fputs("usage: fickle-cli [-h host] [-p port] [-s socket] [-a password] [-u user] [-t timeout-ms] [-r]\n"
          "                  [command [arg ...]]\n"
          "\n"
          "  -h, --host HOST        server host (default 127.0.0.1)\n"
          "  -p, --port PORT        native protocol port (default 7070)\n"
          "  -s, --socket PATH      Unix socket instead of host and port\n"
          "  -a, --password PASS    authenticate with AUTH after connecting\n"
          "  -u, --user USER        user name for AUTH (default: the default user)\n"
          "  -t, --timeout MS       connect and I/O timeout in ms (default 5000, 0 = none)\n"
          "  -r, --raw              print values as they are (default: escape control bytes)\n"
          "      --help             this text\n"
          "\n"
          "With a command, runs it and exits: 0 ok, 1 server error reply, 2 usage error,\n"
          "3 connection error. Without one, reads commands from standard input.\n\n",
          f);
    cli_help(f);
}

int cli_connect(cli_t *cli)
{
    if (fickle_usable(cli->conn))
        return CLI_OK;
    fickle_close(cli->conn);
    cli->conn = NULL;
    fickle_options_t o;
    fickle_options_init(&o);
    o.timeout_ms = cli->timeout_ms;
    int rc = cli->path ? fickle_connect_unix(&cli->conn, cli->path, &o)
                       : fickle_connect(&cli->conn, cli->host, (uint16_t)cli->port, &o);
    if (rc == FICKLE_OK && cli->password)
        rc = fickle_auth(cli->conn, cli->user, cli->password);
    if (rc == FICKLE_OK)
        return CLI_OK;
    fprintf(stderr, "(error) %s: %s\n", rc > 0 ? "AUTH" : "cannot connect", fickle_errstr(cli->conn));
    fickle_close(cli->conn);
    cli->conn = NULL;
    return rc > 0 ? CLI_SERVER : CLI_CONN;
}

/* ---- word splitting ------------------------------------------------------------------ */

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* One escape inside "...": \xHH, \n \r \t \b \a, or \c for c. Advances *p. */
static char unescape(const char **p)
{
    const char *s = *p;
    if (s[1] == 'x' && hexval(s[2]) >= 0 && hexval(s[3]) >= 0) {
        *p += 4;
        return (char)(hexval(s[2]) * 16 + hexval(s[3]));
    }
    *p += 2;
    switch (s[1]) {
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'b': return '\b';
    case 'a': return '\a';
    default: return s[1];
    }
}

/* Decodes one word at *p into *w (NUL-terminated). Returns its length, or
 * -1 for unbalanced quotes or a closing quote not followed by a space. */
static long word(const char **p, char *w)
{
    const char *s = *p;
    char *o = w, q = 0;
    for (;;) {
        if (q && !*s)
            return -1;
        if (q == '"' && *s == '\\' && s[1]) {
            *o++ = unescape(&s);
        } else if (q == '\'' && *s == '\\' && s[1] == '\'') {
            *o++ = '\'';
            s += 2;
        } else if (q && *s == q) {
            s++;
            if (*s && !strchr(" \t\r\n", *s))
                return -1;
            break;
        } else if (q) {
            *o++ = *s++;
        } else if (!*s || strchr(" \t\r\n", *s)) {
            break;
        } else if (*s == '"' || *s == '\'') {
            q = *s++;
        } else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    *p = s;
    return o - w;
}

/* Splits line into words (quoting as Redis's: "..." with escapes, '...'
 * with \' only). *words (count returned) point into *buf; the caller frees
 * both. Returns -1 on a quoting error, -2 out of memory. */
static int split(const char *line, cli_arg_t **words, char **buf)
{
    size_t len = strlen(line);
    int n = 0;
    *words = malloc((len / 2 + 1) * sizeof(**words));
    char *w = *buf = malloc(2 * len + 2);
    if (!*words || !*buf)
        return -2;
    for (const char *p = line;;) {
        while (*p && strchr(" \t\r\n", *p))
            p++;
        if (!*p)
            return n;
        long wl = word(&p, w);
        if (wl < 0)
            return -1;
        (*words)[n++] = (cli_arg_t){w, (size_t)wl};
        w += wl + 1;
    }
}

/* ---- modes --------------------------------------------------------------------------- */

static int one_shot(cli_t *cli, int argc, char **argv)
{
    cli_arg_t *a = malloc((size_t)argc * sizeof(*a));
    if (!a) {
        fputs("(error) out of memory\n", stderr);
        return CLI_CONN;
    }
    for (int i = 0; i < argc; i++)
        a[i] = (cli_arg_t){argv[i], strlen(argv[i])};
    int rc = cli_run(cli, argc, a);
    free(a);
    return rc;
}

/* The next line without its newline (malloc'd), or NULL at the end. */
static char *read_line(bool tty, const char *prompt)
{
#ifdef HAVE_LIBEDIT
    if (tty) {
        char *l = readline(prompt);
        if (l && *l)
            add_history(l);
        return l;
    }
#endif
    if (tty) {
        fputs(prompt, stdout);
        fflush(stdout);
    }
    char *l = NULL;
    size_t cap = 0;
    ssize_t n = getline(&l, &cap, stdin);
    if (n < 0) {
        free(l);
        return NULL;
    }
    while (n && (l[n - 1] == '\n' || l[n - 1] == '\r'))
        l[--n] = '\0';
    return l;
}

static int run_line(cli_t *cli, const char *line)
{
    cli_arg_t *words;
    char *buf;
    int n = split(line, &words, &buf), rc = CLI_OK;
    if (n == -1) {
        fputs("(error) usage: unbalanced quotes\n", stderr);
        rc = CLI_USAGE;
    } else if (n == -2) {
        fputs("(error) out of memory\n", stderr);
        rc = CLI_CONN;
    } else if (n > 0) {
        rc = cli_run(cli, n, words);
    }
    fflush(stdout);
    free(words);
    free(buf);
    return rc;
}

/* Reads commands until EOF or quit. On a terminal, exits 0 (errors were
 * shown as they came); otherwise with the worst status of any command. */
static int interactive(cli_t *cli)
{
    int rc = cli_connect(cli);
    if (rc != CLI_OK)
        return rc;
    bool tty = isatty(STDIN_FILENO);
    char prompt[300];
    if (cli->path)
        snprintf(prompt, sizeof(prompt), "%s> ", cli->path);
    else
        snprintf(prompt, sizeof(prompt), "%s:%u> ", cli->host, cli->port);
    int worst = CLI_OK;
    char *line;
    while (!cli->quit && (line = read_line(tty, prompt))) {
        rc = run_line(cli, line);
        free(line);
        worst = rc > worst ? rc : worst;
    }
    if (tty && !cli->quit)
        putchar('\n');
    return tty ? CLI_OK : worst;
}

/* ---- options ------------------------------------------------------------------------- */

static bool to_uint(const char *s, unsigned long max, unsigned long *v)
{
    char *end;
    errno = 0;
    if (!*s || *s < '0' || *s > '9')
        return false;
    *v = strtoul(s, &end, 10);
    return !errno && !*end && *v <= max;
}

/* Fills cli from the options; returns CLI_OK or CLI_USAGE (printed), or
 * -1 after --help. */
static int options(cli_t *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'h'},  {"port", required_argument, NULL, 'p'},
        {"socket", required_argument, NULL, 's'}, {"password", required_argument, NULL, 'a'},
        {"user", required_argument, NULL, 'u'},  {"timeout", required_argument, NULL, 't'},
        {"raw", no_argument, NULL, 'r'},         {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    bool tcp = false;
    unsigned long v;
    int ch;
    while ((ch = getopt_long(argc, argv, "+h:p:s:a:u:t:r", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h': cli->host = optarg, tcp = true; break;
        case 's': cli->path = optarg; break;
        case 'a': cli->password = optarg; break;
        case 'u': cli->user = optarg; break;
        case 'r': cli->raw = true; break;
        case 'H': usage(stdout); return -1;
        case 'p':
            if (!to_uint(optarg, 65535, &v) || !v)
                return fprintf(stderr, "fickle-cli: bad port '%s'\n", optarg), CLI_USAGE;
            cli->port = (unsigned)v, tcp = true;
            break;
        case 't':
            if (!to_uint(optarg, 86400000, &v))
                return fprintf(stderr, "fickle-cli: bad timeout '%s'\n", optarg), CLI_USAGE;
            cli->timeout_ms = (int)v;
            break;
        default:
            fputs("Try 'fickle-cli --help'.\n", stderr);
            return CLI_USAGE;
        }
    }
    if (cli->path && tcp)
        return fputs("fickle-cli: give -s, or -h/-p, not both\n", stderr), CLI_USAGE;
    if (cli->user && !cli->password)
        return fputs("fickle-cli: -u needs -a\n", stderr), CLI_USAGE;
    return CLI_OK;
}

int main(int argc, char **argv)
{
    cli_t cli = {.host = "127.0.0.1", .port = FICKLE_DEFAULT_PORT, .timeout_ms = 5000};
    int rc = options(&cli, argc, argv);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    if (optind < argc)
        rc = one_shot(&cli, argc - optind, argv + optind);
    else
        rc = interactive(&cli);
    fickle_close(cli.conn);
    return rc;
}
