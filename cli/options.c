/* SPDX-License-Identifier: MIT */
#include "cli/options.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	char digits[24];
	const char *p = s;
	unsigned int shift = 0;
	size_t n = 0;
	uint64_t v;
	int r;

	if (!s)
		return -EINVAL;
	while (isdigit((unsigned char)*p)) {
		if (n + 1 >= sizeof(digits))
			return -ERANGE;
		digits[n++] = *p++;
	}
	digits[n] = '\0';
	if (n == 0)
		return -EINVAL;
	switch (tolower((unsigned char)*p)) {
	case '\0':
		break;
	case 'k':
		shift = 10;
		break;
	case 'm':
		shift = 20;
		break;
	case 'g':
		shift = 30;
		break;
	case 't':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (*p) {
		p++;
		if (strcasecmp(p, "ib") != 0 && strcasecmp(p, "b") != 0 && *p)
			return -EINVAL;
	}
	r = parse_uint(digits, 1, UINT64_MAX, &v);
	if (r < 0)
		return r;
	if (v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

int parse_stats_mode(const char *value, enum stats_mode *out)
{
	if (!value || strcmp(value, "table") == 0)
		*out = STATS_TABLE;
	else if (strcmp(value, "json") == 0)
		*out = STATS_JSON;
	else
		return -EINVAL;
	return 0;
}
