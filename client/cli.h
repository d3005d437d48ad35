/*
 * client/cli.h — fickle-cli's internal interface between its main program
 * (fickle-cli.c: options, connection, interactive loop, word splitting) and
 * its commands (cli_cmds.c: argument parsing, calls, output). Output
 * formats and exit statuses are specified in docs/client.md.
 */
#ifndef FICKLE_CLIENT_CLI_H
#define FICKLE_CLIENT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "fickle/client.h"

/* Exit statuses, ordered by severity. */
enum {
    CLI_OK = 0,     /* the command succeeded */
    CLI_SERVER = 1, /* the server answered with an error status */
    CLI_USAGE = 2,  /* bad options, unknown command, bad arguments */
    CLI_CONN = 3,   /* cannot connect, or the connection failed */
};

/* One command word: bytes and length (interactive input may hold NULs). */
typedef struct {
    char *p;
    size_t len;
} cli_arg_t;

typedef struct {
    /* where and how to connect (set by main) */
    const char *host, *path, *user, *password;
    unsigned port;
    int timeout_ms;
    fickle_t *conn; /* NULL until the first command needs it */
    bool raw;       /* print values as they are, not escaped */
    bool quit;      /* set by the quit command */
} cli_t;

/* Makes cli->conn usable: connects (again) if it is NULL or has failed,
 * and authenticates if a password was given. Returns CLI_OK, or prints the
 * error and returns CLI_CONN (CLI_SERVER if AUTH was refused). Commands
 * call it after checking their arguments, so usage errors never need a
 * server. Defined in fickle-cli.c. */
int cli_connect(cli_t *cli);

/* Runs one command (argv[0] is its name, any case) on cli->conn, printing
 * results to stdout and errors to stderr. Returns a CLI_* status. */
int cli_run(cli_t *cli, int argc, cli_arg_t *argv);

/* Prints the command list (the help command's text) to f. */
void cli_help(FILE *f);

#endif
