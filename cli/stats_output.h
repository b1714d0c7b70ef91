/* SPDX-License-Identifier: MIT */
/* --stats: gather a stopped VM's exit statistics and print them. */
#ifndef NESTVMM_CLI_STATS_OUTPUT_H
#define NESTVMM_CLI_STATS_OUTPUT_H

#include <stdio.h>

#include "cli/options.h"

struct vm;

struct stats_device;

/*
 * Merge every vCPU's statistics and print them to @f as a table or JSON,
 * with the @nr_devices devices' counters. 0 or -errno.
 */
int stats_output_print(FILE *f, struct vm *vm, enum stats_mode mode,
		       const struct stats_device *devices, unsigned int nr_devices);

#endif
