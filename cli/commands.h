/* SPDX-License-Identifier: MIT */
/* The subcommands: each parses its own arguments and returns the exit status. */
#ifndef NESTVMM_CLI_COMMANDS_H
#define NESTVMM_CLI_COMMANDS_H

int cmd_bench(int argc, char **argv);
int cmd_run(int argc, char **argv);

/* "nestvmm: " + message on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
