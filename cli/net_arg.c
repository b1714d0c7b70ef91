/* SPDX-License-Identifier: MIT */
/* Parsing of --net tap[=NAME][,mac=...][,queues=N][,mtu=N][,engine=...]. */
#include "cli/net_arg.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/spec_words.h"
#include "net/tap.h"

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int net_mac_parse(const char *s, size_t len, uint8_t mac[6])
{
	uint8_t m[6];

	if (len != 17)
		return -EINVAL;
	for (unsigned int i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(mac, m, 6);
	return 0;
}

/* What the kernel's dev_valid_name() takes. */
static bool valid_ifname(const char *n, size_t len)
{
	if (len == 0 || len >= IFNAMSIZ || spec_word_is(n, len, ".") || spec_word_is(n, len, ".."))
		return false;
	for (size_t i = 0; i < len; i++)
		if (n[i] == '/' || n[i] == ':' || isspace((unsigned char)n[i]) ||
		    !isprint((unsigned char)n[i]))
			return false;
	return true;
}

static int parse_option(struct net_spec *spec, const char *w, size_t len, unsigned int *seen,
			char *why, size_t why_len)
{
	enum { SEEN_MAC = 1, SEEN_QUEUES = 2, SEEN_ENGINE = 4, SEEN_MTU = 8 };
	const char *eq = memchr(w, '=', len);
	size_t klen = eq ? (size_t)(eq - w) : len;
	const char *v = eq ? eq + 1 : "";
	size_t vlen = eq ? len - klen - 1 : 0;
	unsigned int bit;

	if (spec_word_is(w, klen, "mac"))
		bit = SEEN_MAC;
	else if (spec_word_is(w, klen, "queues"))
		bit = SEEN_QUEUES;
	else if (spec_word_is(w, klen, "engine"))
		bit = SEEN_ENGINE;
	else if (spec_word_is(w, klen, "mtu"))
		bit = SEEN_MTU;
	else
		return spec_refuse(
		    why, why_len,
		    "--net: unknown option '%.*s' (expected mac=, queues=, mtu= or engine=)",
		    (int)len, w);
	if (*seen & bit)
		return spec_refuse(why, why_len, "--net: option '%.*s' given twice", (int)klen, w);
	*seen |= bit;

	if (bit == SEEN_MAC) {
		if (net_mac_parse(v, vlen, spec->mac) < 0)
			return spec_refuse(why, why_len,
					   "--net: bad mac '%.*s' (expected six hex pairs, "
					   "like 02:00:00:00:00:01)",
					   (int)vlen, v);
		if (spec->mac[0] & 1)
			return spec_refuse(why, why_len, "--net: mac '%.*s' is a multicast address",
					   (int)vlen, v);
		if (!(spec->mac[0] | spec->mac[1] | spec->mac[2] | spec->mac[3] | spec->mac[4] |
		      spec->mac[5]))
			return spec_refuse(why, why_len, "--net: mac '%.*s' is all zeros",
					   (int)vlen, v);
		spec->mac_set = true;
		return 0;
	}
	if (bit == SEEN_QUEUES || bit == SEEN_MTU) {
		unsigned int lo = bit == SEEN_MTU ? NET_TAP_MIN_MTU : 1;
		unsigned int hi = bit == SEEN_MTU ? NET_TAP_MAX_MTU : NET_SPEC_MAX_QUEUES;
		unsigned int n = 0;

		for (size_t i = 0; i < vlen && n <= hi; i++)
			n = isdigit((unsigned char)v[i]) ? n * 10 + (unsigned int)(v[i] - '0')
							 : hi + 1;
		if (vlen == 0 || n < lo || n > hi)
			return spec_refuse(
			    why, why_len, "--net: %s '%.*s' is not a number from %u to %u",
			    bit == SEEN_MTU ? "mtu" : "queues", (int)vlen, v, lo, hi);
		if (bit == SEEN_MTU)
			spec->mtu = n;
		else
			spec->queues = n;
		return 0;
	}
	if (spec_word_is(v, vlen, "io_uring"))
		spec->engine = NET_ENGINE_IO_URING;
	else if (spec_word_is(v, vlen, "sync"))
		spec->engine = NET_ENGINE_SYNC;
	else
		return spec_refuse(why, why_len,
				   "--net: bad engine '%.*s' (expected io_uring or sync)",
				   (int)vlen, v);
	return 0;
}

int net_spec_parse(struct net_spec *spec, const char *arg, char *why, size_t why_len)
{
	const char *opts, *comma;
	size_t len;
	unsigned int seen = 0;
	int r;

	memset(spec, 0, sizeof(*spec));
	spec->engine = NET_ENGINE_IO_URING;
	if (why && why_len)
		why[0] = '\0';
	if (!arg)
		arg = "";
	comma = strchr(arg, ',');
	len = comma ? (size_t)(comma - arg) : strlen(arg);
	/* The backend: "tap" (the kernel names it) or "tap=NAME". */
	if (spec_word_is(arg, len, "tap")) {
		spec->tap[0] = '\0';
	} else if (len > 4 && memcmp(arg, "tap=", 4) == 0) {
		if (!valid_ifname(arg + 4, len - 4))
			return spec_refuse(
			    why, why_len,
			    "--net: '%.*s' is not an interface name (1 to %d characters, "
			    "no '/', ':' or spaces)",
			    (int)(len - 4), arg + 4, IFNAMSIZ - 1);
		memcpy(spec->tap, arg + 4, len - 4);
		spec->tap[len - 4] = '\0';
	} else {
		return spec_refuse(why, why_len,
				   "--net: '%.*s' is not a backend (expected tap or tap=NAME)",
				   (int)len, arg);
	}
	for (opts = comma ? comma + 1 : NULL; opts; opts = comma ? comma + 1 : NULL) {
		comma = strchr(opts, ',');
		len = comma ? (size_t)(comma - opts) : strlen(opts);
		if (len == 0)
			return spec_refuse(why, why_len, "--net: empty option in '%s'", arg);
		r = parse_option(spec, opts, len, &seen, why, why_len);
		if (r < 0)
			return r;
	}
	return 0;
}
