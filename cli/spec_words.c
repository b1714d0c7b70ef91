/* SPDX-License-Identifier: MIT */
#include "cli/spec_words.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int spec_refuse(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (why && why_len) {
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

bool spec_word_is(const char *w, size_t len, const char *name)
{
	return strlen(name) == len && memcmp(w, name, len) == 0;
}
