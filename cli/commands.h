/* SPDX-License-Identifier: MIT */
/* The subcommands: each parses its own arguments and returns the exit status. */
#ifndef NESTVMM_CLI_COMMANDS_H
#define NESTVMM_CLI_COMMANDS_H

#include <stdint.h>

int cmd_bench(int argc, char **argv);
int cmd_run(int argc, char **argv);

/* "nestvmm: " + message on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A --mem above the host's RAM is refused up front (one line, -ENOMEM)
 * rather than found out by the OOM killer in the middle of a boot. 0 if it
 * fits or the host's size is unknown.
 */
int check_mem_fits_host(uint64_t mem_size);

/* vm_monotonic_ns() at the start of main(): where --stats' "launch" is. */
extern uint64_t cli_launch_ns;

#endif
