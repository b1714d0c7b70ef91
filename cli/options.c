/* SPDX-License-Identifier: MIT */
#include "cli/options.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
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

/* A decimal id below 2^32 - 1 ((uid_t)-1 means "unchanged" to the kernel). */
static int parse_id(const char *s, size_t len, unsigned int *out)
{
	char buf[16];
	uint64_t v;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (parse_uint(buf, 0, 0xfffffffeu, &v) < 0)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

static bool all_digits(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return len > 0;
}

int parse_user_spec(const char *s, unsigned int *uid, unsigned int *gid)
{
	const char *colon = strchr(s, ':');
	size_t ulen = colon ? (size_t)(colon - s) : strlen(s);
	char name[256];

	if (ulen == 0 || ulen >= sizeof(name) || (colon && colon[1] == '\0'))
		return -EINVAL;
	memcpy(name, s, ulen);
	name[ulen] = '\0';
	if (all_digits(name, ulen)) {
		const struct passwd *pw;

		if (parse_id(name, ulen, uid) < 0)
			return -EINVAL;
		pw = getpwuid((uid_t)*uid);
		*gid = pw ? (unsigned int)pw->pw_gid : *uid;
	} else {
		const struct passwd *pw = getpwnam(name);

		if (!pw)
			return -ENOENT;
		*uid = (unsigned int)pw->pw_uid;
		*gid = (unsigned int)pw->pw_gid;
	}
	if (colon) {
		const char *g = colon + 1;

		if (all_digits(g, strlen(g))) {
			if (parse_id(g, strlen(g), gid) < 0)
				return -EINVAL;
		} else {
			const struct group *gr = getgrnam(g);

			if (!gr)
				return -ENOENT;
			*gid = (unsigned int)gr->gr_gid;
		}
	}
	return 0;
}
