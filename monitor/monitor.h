/*
 * The monitor: instar's unprivileged front end.  It parses the command
 * line, opens files, talks to the worker and renders what comes back.
 * It never reads a byte of an image.
 */
#ifndef INSTAR_MONITOR_H
#define INSTAR_MONITOR_H

#include <stdbool.h>

/* Deepest backing chain instar follows; deeper chains are refused. */
#define INSTAR_CHAIN_MAX	64

int cmd_info(int argc, char **argv);
int cmd_rebase(int argc, char **argv);
int cmd_commit(int argc, char **argv);
int cmd_check(int argc, char **argv);

/* qemu-img's "Try ... --help" hint after a usage error; exits 1. */
void usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/*
 * The value of --output: true for json, false for human; anything else
 * is qemu-img's usage error for cmd.
 */
bool parse_output(const char *cmd, const char *arg);

#endif
