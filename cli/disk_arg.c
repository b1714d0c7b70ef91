/* SPDX-License-Identifier: MIT */
/* Parsing of --disk PATH[,ro][,engine=...][,cache=...]. */
#include "cli/disk_arg.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/spec_words.h"

/*
 * Copy PATH out of @arg, turning ",," into ",", and point *@opts at what
 * follows the first single comma (NULL when none).
 */
static char *take_path(const char *arg, const char **opts)
{
	size_t len = strlen(arg), n = 0;
	char *path = malloc(len + 1);

	if (!path)
		return NULL;
	*opts = NULL;
	for (size_t i = 0; i < len; i++) {
		if (arg[i] == ',') {
			if (arg[i + 1] != ',') {
				*opts = arg + i + 1;
				break;
			}
			i++;
		}
		path[n++] = arg[i];
	}
	path[n] = '\0';
	return path;
}

static int parse_option(struct disk_spec *spec, const char *opt, const char *w, size_t len,
			unsigned int *seen, char *why, size_t why_len)
{
	enum { SEEN_RO = 1, SEEN_ENGINE = 2, SEEN_CACHE = 4 };
	const char *eq = memchr(w, '=', len);
	size_t klen = eq ? (size_t)(eq - w) : len;
	const char *v = eq ? eq + 1 : NULL;
	size_t vlen = eq ? len - klen - 1 : 0;
	unsigned int bit;

	if (len == 0)
		return spec_refuse(why, why_len,
				   "%s: empty option (a comma in the path is written ,,)", opt);
	if (spec_word_is(w, klen, "ro"))
		bit = SEEN_RO;
	else if (spec_word_is(w, klen, "engine"))
		bit = SEEN_ENGINE;
	else if (spec_word_is(w, klen, "cache"))
		bit = SEEN_CACHE;
	else
		return spec_refuse(why, why_len,
				   "%s: unknown option '%.*s' (expected ro, engine= or cache=)",
				   opt, (int)len, w);
	if (*seen & bit)
		return spec_refuse(why, why_len, "%s: option '%.*s' given twice", opt, (int)klen,
				   w);
	*seen |= bit;

	if (bit == SEEN_RO) {
		if (eq)
			return spec_refuse(why, why_len, "%s: option 'ro' takes no value ('%.*s')",
					   opt, (int)len, w);
		spec->read_only = true;
		return 0;
	}
	if (bit == SEEN_ENGINE) {
		if (v && spec_word_is(v, vlen, "io_uring"))
			spec->engine = BLK_ENGINE_IO_URING;
		else if (v && spec_word_is(v, vlen, "aio"))
			spec->engine = BLK_ENGINE_AIO;
		else if (v && spec_word_is(v, vlen, "sync"))
			spec->engine = BLK_ENGINE_SYNC;
		else
			return spec_refuse(why, why_len,
					   "%s: bad engine '%.*s' (expected io_uring, aio or sync)",
					   opt, (int)vlen, v ? v : "");
		return 0;
	}
	if (v && spec_word_is(v, vlen, "writeback"))
		spec->cache = BLK_CACHE_WRITEBACK;
	else if (v && spec_word_is(v, vlen, "none"))
		spec->cache = BLK_CACHE_NONE;
	else
		return spec_refuse(why, why_len,
				   "%s: bad cache '%.*s' (expected writeback or none)", opt,
				   (int)vlen, v ? v : "");
	return 0;
}

int disk_spec_parse_as(struct disk_spec *spec, const char *opt, const char *arg, char *why,
		       size_t why_len)
{
	const char *opts;
	unsigned int seen = 0;
	char *path;
	int r;

	memset(spec, 0, sizeof(*spec));
	spec->engine = BLK_ENGINE_IO_URING;
	spec->cache = BLK_CACHE_WRITEBACK;
	if (why && why_len)
		why[0] = '\0';
	if (!arg)
		return spec_refuse(why, why_len, "%s: empty path", opt);
	path = take_path(arg, &opts);
	if (!path)
		return spec_refuse(why, why_len, "%s: out of memory", opt);
	if (!path[0]) {
		free(path);
		return spec_refuse(why, why_len, "%s: empty path in '%s'", opt, arg);
	}
	while (opts) {
		const char *comma = strchr(opts, ',');
		size_t len = comma ? (size_t)(comma - opts) : strlen(opts);

		r = parse_option(spec, opt, opts, len, &seen, why, why_len);
		if (r < 0) {
			free(path);
			spec->path = NULL;
			return r;
		}
		opts = comma ? comma + 1 : NULL;
	}
	spec->path = path;
	return 0;
}

void disk_spec_free(struct disk_spec *spec)
{
	free((char *)spec->path);
	spec->path = NULL;
}

int disk_spec_parse(struct disk_spec *spec, const char *arg, char *why, size_t why_len)
{
	return disk_spec_parse_as(spec, "--disk", arg, why, why_len);
}
