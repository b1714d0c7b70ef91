/* SPDX-License-Identifier: MIT */
/* The value of --disk and --scsi: PATH[,ro][,engine=io_uring|aio|sync][,cache=writeback|none] */
#ifndef NESTVMM_CLI_DISK_ARG_H
#define NESTVMM_CLI_DISK_ARG_H

#include <stddef.h>

#include "block/block.h"

/*
 * Parse @arg into @spec. Defaults: read-write, engine=io_uring,
 * cache=writeback. A comma inside PATH is written ",," ("a,,b.img,ro" is
 * the file "a,b.img", read-only); options never contain commas.
 *
 * On success spec->path is a copy the caller owns: release it with
 * disk_spec_free() (@arg may be freed at once). Returns 0, or -EINVAL with
 * one line in @why naming the offending word; @spec then holds nothing to
 * free.
 */
int disk_spec_parse(struct disk_spec *spec, const char *arg, char *why, size_t why_len);
/* The same grammar for another option (--scsi): @opt names it in the messages. */
int disk_spec_parse_as(struct disk_spec *spec, const char *opt, const char *arg, char *why,
		       size_t why_len);

/* Free spec->path (safe on a zeroed or already freed spec). */
void disk_spec_free(struct disk_spec *spec);

#endif
