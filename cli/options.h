/* SPDX-License-Identifier: MIT */
/* Parsing of command-line values: sizes, counts, and the --stats mode. */
#ifndef NESTVMM_CLI_OPTIONS_H
#define NESTVMM_CLI_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * "512M", "2G", "1024k", "4096" (bytes), "1.5G" is refused. Suffixes K/M/G/T,
 * either case, optional "iB"/"B". Returns 0 or -EINVAL (syntax), -ERANGE
 * (overflow or zero).
 */
int parse_size(const char *s, uint64_t *out);

/* Decimal unsigned integer in [min, max]. 0, -EINVAL or -ERANGE. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

enum stats_mode { STATS_OFF = 0, STATS_TABLE, STATS_JSON };

/* The value of --stats[=table|json]; NULL (no value) means table. 0 or -EINVAL. */
int parse_stats_mode(const char *value, enum stats_mode *out);

/*
 * --user USER[:GROUP]: a name or a number each. Without GROUP: the user's
 * primary group when USER names a password entry, else the same number as
 * the user. Returns 0, -EINVAL (syntax) or -ENOENT (no such user or group).
 */
int parse_user_spec(const char *s, unsigned int *uid, unsigned int *gid);

/*
 * --nested MODE, shared by run and bench: the parser is nested_parse_mode()
 * (vmm/nested.h); its help lines live here, once.
 */
#define NESTED_OPTION_HELP                                                                         \
	"      --nested MODE     SVM/VMX for the guest: auto (default) what the host's\n"          \
	"                        KVM offers, on (an error if it offers none), off (hidden)\n"

#endif
