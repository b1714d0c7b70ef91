/* SPDX-License-Identifier: MIT */
/* What the parsers of comma-separated option values (--disk, --net) share. */
#ifndef NESTVMM_CLI_SPEC_WORDS_H
#define NESTVMM_CLI_SPEC_WORDS_H

#include <stdbool.h>
#include <stddef.h>

/* Write the refusal into @why (if any) and return -EINVAL. */
int spec_refuse(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Whether the word [w, w + len) is @name. */
bool spec_word_is(const char *w, size_t len, const char *name);

#endif
